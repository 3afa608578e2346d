//! Build-time variants: one template source, many stencils. A template declares compile-time
//! constants with finite domains on one line (in a comment):
//!
//! ```c
//! /* patchjit-variants: DST=0..=9 SRC=0..=10 */
//! ```
//!
//! and the build compiles every combination (here 110) into **one** object: a generated file
//! that, per combination, defines the constants and [`PATCHJIT_ENTRY_NAME`](crate::HEADER) and
//! includes the template again. One clang process per template instead of one per stencil is
//! what keeps thousands of stencils a quick build; extraction then gives one group per function
//! (`add64_reg__dst3_src5`), and the Rust writer emits an index array per template
//! (`ADD64_REG[dst][src]`), so a client picks a variant in O(1).
//!
//! A domain is an inclusive range `LO..=HI` or a list `1,2,4,8` of integers; the array is
//! indexed by position in the domain (`value - LO` for a range).

use std::path::Path;

use crate::Error;

/// The line marker that declares a template's variants.
pub const MARKER: &str = "patchjit-variants:";

/// Most stencils one template may expand to (a typo in a range should not compile for hours).
pub const MAX_VARIANTS: usize = 4096;

/// One compile-time constant and the values it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// A C identifier, defined as a macro in each variant.
    pub name: String,
    /// The domain, in index order (no duplicates).
    pub values: Vec<i64>,
}

/// The variants a template declares: the cartesian product of its axes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variants {
    /// In declaration order: the first axis is the outermost index.
    pub axes: Vec<Axis>,
}

impl Variants {
    /// Reads the `patchjit-variants:` line of a template's source, if it has one.
    pub fn declared(template: &Path, source: &str) -> Result<Option<Variants>, Error> {
        let mut found = None;
        for (number, line) in source.lines().enumerate() {
            let Some(at) = line.find(MARKER) else {
                continue;
            };
            let bad = |why: String| {
                Error::Invalid(format!(
                    "{}:{}: {why} (expected `{MARKER} NAME=LO..=HI NAME=A,B,C ...`)",
                    template.display(),
                    number + 1
                ))
            };
            if found.is_some() {
                return Err(bad("a second variants line".to_string()));
            }
            let spec = line[at + MARKER.len()..]
                .trim()
                .trim_end_matches("*/")
                .trim();
            let mut axes: Vec<Axis> = Vec::new();
            for item in spec.split_whitespace() {
                let (name, domain) = item
                    .split_once('=')
                    .ok_or_else(|| bad(format!("`{item}` has no `=`")))?;
                if !is_identifier(name) {
                    return Err(bad(format!("`{name}` is not a C identifier")));
                }
                if axes.iter().any(|a| a.name == name) {
                    return Err(bad(format!("`{name}` is declared twice")));
                }
                let values = domain_values(domain).map_err(|why| bad(format!("{name}: {why}")))?;
                axes.push(Axis {
                    name: name.to_string(),
                    values,
                });
            }
            if axes.is_empty() {
                return Err(bad("no constants declared".to_string()));
            }
            let variants = Variants { axes };
            if variants.count() > MAX_VARIANTS {
                return Err(bad(format!(
                    "{} variants; at most {MAX_VARIANTS} per template",
                    variants.count()
                )));
            }
            found = Some(variants);
        }
        Ok(found)
    }

    /// How many stencils the template expands to.
    pub fn count(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// Every combination of values, the last axis varying fastest (the index arrays' order).
    pub fn combinations(&self) -> Vec<Vec<i64>> {
        let mut out = vec![Vec::new()];
        for axis in &self.axes {
            out = out
                .into_iter()
                .flat_map(|prefix| {
                    axis.values.iter().map(move |&v| {
                        let mut next = prefix.clone();
                        next.push(v);
                        next
                    })
                })
                .collect();
        }
        out
    }

    /// The function (and group) name of one combination: `add64_reg__dst3_src5`, a minus sign
    /// spelled `m` (`off_m1`).
    pub fn function_name(&self, stem: &str, values: &[i64]) -> String {
        let mut name = format!("{stem}_");
        for (axis, value) in self.axes.iter().zip(values) {
            let sign = if *value < 0 { "m" } else { "" };
            name.push_str(&format!(
                "_{}{sign}{}",
                axis.name.to_ascii_lowercase(),
                value.unsigned_abs()
            ));
        }
        name
    }

    /// The C source that compiles every variant of `template` (an absolute path) into one
    /// object.
    pub fn wrapper_source(&self, stem: &str, template: &Path) -> String {
        let mut out = format!(
            "/* @generated by patchjit-build: the {} variants of {stem}. */\n",
            self.count()
        );
        let include = format!(
            "#include \"{}\"\n",
            template
                .display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        );
        for values in self.combinations() {
            out.push_str(&format!(
                "#define PATCHJIT_ENTRY_NAME {}\n",
                self.function_name(stem, &values)
            ));
            for (axis, value) in self.axes.iter().zip(&values) {
                // Bare digits, so a template can paste them into a name (`r##DST`).
                let value = if *value < 0 {
                    format!("({value})")
                } else {
                    value.to_string()
                };
                out.push_str(&format!("#define {} {value}\n", axis.name));
            }
            out.push_str(&include);
            out.push_str("#undef PATCHJIT_ENTRY_NAME\n");
            for axis in &self.axes {
                out.push_str(&format!("#undef {}\n", axis.name));
            }
        }
        out
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `0..=9` or `1,2,4,8`.
fn domain_values(domain: &str) -> Result<Vec<i64>, String> {
    let number = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| format!("`{s}` is not an integer"))
    };
    let values: Vec<i64> = if let Some((lo, hi)) = domain.split_once("..=") {
        let (lo, hi) = (number(lo)?, number(hi)?);
        if lo > hi {
            return Err(format!("empty range {lo}..={hi}"));
        }
        if hi.abs_diff(lo) >= MAX_VARIANTS as u64 {
            return Err(format!("{lo}..={hi} has more than {MAX_VARIANTS} values"));
        }
        (lo..=hi).collect()
    } else if domain.contains("..") {
        return Err(format!("`{domain}`: write an inclusive range as LO..=HI"));
    } else {
        domain.split(',').map(number).collect::<Result<_, _>>()?
    };
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(format!("{v} is listed twice"));
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(source: &str) -> Result<Option<Variants>, Error> {
        Variants::declared(Path::new("t.c"), source)
    }

    #[test]
    fn ranges_lists_and_names() {
        let v =
            parse("#include \"x.h\"\n/* patchjit-variants: DST=0..=2 SIZE=1,2,8 OFF=-1..=0 */\n")
                .unwrap()
                .unwrap();
        assert_eq!(v.count(), 18);
        assert_eq!(v.axes[1].values, [1, 2, 8]);
        let combinations = v.combinations();
        assert_eq!(combinations[0], [0, 1, -1]);
        assert_eq!(combinations[1], [0, 1, 0]);
        assert_eq!(combinations[17], [2, 8, 0]);
        assert_eq!(v.function_name("ld", &[2, 8, -1]), "ld__dst2_size8_offm1");
        let wrapper = v.wrapper_source("ld", Path::new("/t/ld.c"));
        assert_eq!(wrapper.matches("#include \"/t/ld.c\"").count(), 18);
        assert!(
            wrapper.contains("#define PATCHJIT_ENTRY_NAME ld__dst0_size1_offm1\n#define DST 0\n")
        );
        assert_eq!(parse("int x;\n").unwrap(), None);
    }

    #[test]
    fn bad_declarations_name_the_line() {
        for (source, why) in [
            ("// patchjit-variants: DST=0..9", "LO..=HI"),
            ("// patchjit-variants: DST", "has no `=`"),
            ("// patchjit-variants: 1X=0", "not a C identifier"),
            ("// patchjit-variants: A=1 A=2", "declared twice"),
            ("// patchjit-variants: A=3..=1", "empty range"),
            ("// patchjit-variants: A=1,x", "`x` is not an integer"),
            ("// patchjit-variants: A=1,1", "listed twice"),
            ("// patchjit-variants:", "no constants"),
            ("// patchjit-variants: A=0..=99 B=0..=99", "at most 4096"),
            (
                "// patchjit-variants: A=0\n// patchjit-variants: B=0",
                "second",
            ),
        ] {
            let error = parse(source).unwrap_err().to_string();
            assert!(
                error.contains("t.c:") && error.contains(why),
                "{source}: {error}"
            );
        }
    }
}
