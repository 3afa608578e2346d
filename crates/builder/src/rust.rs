//! The Rust writer: an extraction becomes `pub static STENCILS: patchjit::StencilTable` plus one
//! index constant per group, as deterministic source (same extraction → same bytes).

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use patchjit_stencils::{Extraction, HoleValue, PatchKind, Stencil, Target};

use crate::variants::Variants;
use crate::Error;

/// What the header comment says the table was made from.
pub struct Provenance<'a> {
    /// Template file names (no directories, so the output does not depend on the checkout).
    pub templates: &'a [String],
}

/// A template's variants as an index array: `NAME[i][j]...` is the group of the variant whose
/// constants are the i-th, j-th... values of their domains.
pub struct VariantIndex {
    /// The template's stem, which names the array.
    stem: String,
    variants: Variants,
    /// Group indices, in [`Variants::combinations`] order.
    groups: Vec<u16>,
}

impl VariantIndex {
    /// Finds the group of every variant of the template `stem`, given the position of every
    /// group by name.
    pub fn new(
        stem: &str,
        variants: &Variants,
        position: &HashMap<&str, usize>,
    ) -> Result<VariantIndex, Error> {
        let groups = variants
            .combinations()
            .iter()
            .map(|values| {
                let name = variants.function_name(stem, values);
                let index = position.get(name.as_str()).ok_or_else(|| {
                    Error::Invalid(format!(
                        "template {stem}: variant {name} gave no stencil (does the template \
                         define its stencil with PATCHJIT_STENCIL?)"
                    ))
                })?;
                u16::try_from(*index).map_err(|_| {
                    Error::Invalid(format!(
                        "template {stem}: more than {} stencils in one table",
                        u16::MAX
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(VariantIndex {
            stem: stem.to_string(),
            variants: variants.clone(),
            groups,
        })
    }

    /// `[[u16; 11]; 10]` and its initializer, one innermost row per line.
    fn array(&self) -> (String, String) {
        let mut ty = "u16".to_string();
        for axis in self.variants.axes.iter().rev() {
            ty = format!("[{ty}; {}]", axis.values.len());
        }
        let row = self.variants.axes.last().map_or(1, |a| a.values.len());
        // The outermost brackets are the constant's own; the last axis is the row.
        let axes = &self.variants.axes;
        let outer = if axes.len() > 2 {
            &axes[1..axes.len() - 1]
        } else {
            &[]
        };
        let mut value = String::new();
        for (r, chunk) in self.groups.chunks(row).enumerate() {
            // Open the brackets of every outer axis this row starts.
            let mut stride = 1;
            let mut opens = 0;
            for axis in outer.iter().rev() {
                stride *= axis.values.len();
                if r % stride == 0 {
                    opens += 1;
                }
            }
            let numbers: Vec<String> = chunk.iter().map(u16::to_string).collect();
            if axes.len() == 1 {
                // The constant's own brackets are the row's.
                value.push_str(&numbers.join(", "));
                value.push_str(",\n");
                continue;
            }
            value.push_str(&"[".repeat(opens));
            value.push_str(&format!("[{}]", numbers.join(", ")));
            let mut stride = 1;
            let mut closes = 0;
            for axis in outer.iter().rev() {
                stride *= axis.values.len();
                if (r + 1) % stride == 0 {
                    closes += 1;
                }
            }
            value.push_str(&"]".repeat(closes));
            value.push_str(",\n");
        }
        (ty, value)
    }
}

/// Renders the module body (meant for `include!`, so it has no inner attributes or `//!`).
/// `custom_values` fixes the `HoleValue::Custom` indices (the declared order). Groups of a
/// template with variants get no constant of their own, but one index array per template.
pub fn render(
    extraction: &Extraction,
    target: Target,
    custom_values: &[String],
    provenance: &Provenance<'_>,
    indices: &[VariantIndex],
) -> Result<String, Error> {
    let in_index: HashSet<u16> = indices
        .iter()
        .flat_map(|i| i.groups.iter().copied())
        .collect();
    let constants = constant_names(extraction, indices)?;
    let mut symbols: Vec<String> = Vec::new();
    let mut groups = String::new();
    for group in &extraction.groups {
        let code = stencil(
            &group.code,
            &group.name,
            extraction,
            custom_values,
            &mut symbols,
        )?;
        let data = stencil(
            &group.data,
            &group.name,
            extraction,
            custom_values,
            &mut symbols,
        )?;
        writeln!(groups, "        ::patchjit::StencilGroup {{").unwrap();
        writeln!(groups, "            name: {:?},", group.name).unwrap();
        writeln!(groups, "            code: {code},").unwrap();
        writeln!(groups, "            data: {data},").unwrap();
        writeln!(groups, "            data_align: {},", group.data_align).unwrap();
        writeln!(groups, "        }},").unwrap();
    }
    let mut out = String::new();
    writeln!(
        out,
        "// @generated by patchjit-build {} for {}: do not edit.",
        env!("CARGO_PKG_VERSION"),
        target.triple()
    )
    .unwrap();
    writeln!(out, "// Templates: {}.", provenance.templates.join(", ")).unwrap();
    writeln!(
        out,
        "// Regenerate with the crate's build script (patchjit_build::Builder) or `patchjit build`."
    )
    .unwrap();
    out.push('\n');
    for (index, (group, name)) in extraction.groups.iter().zip(&constants).enumerate() {
        if in_index.contains(&(index as u16)) {
            continue;
        }
        writeln!(
            out,
            "/// Index of stencil group `{}` in [`STENCILS`] (for `patchjit::Instruction::group`).",
            group.name
        )
        .unwrap();
        writeln!(out, "pub const {name}: u16 = {index};").unwrap();
    }
    if in_index.len() < constants.len() {
        out.push('\n');
    }
    for index in indices {
        let axes: Vec<String> = index
            .variants
            .axes
            .iter()
            .map(|a| {
                let values: Vec<String> = a.values.iter().map(i64::to_string).collect();
                format!("{} in [{}]", a.name, values.join(", "))
            })
            .collect();
        let subscripts: String = index
            .variants
            .axes
            .iter()
            .map(|a| format!("[{}]", a.name.to_ascii_lowercase()))
            .collect();
        writeln!(
            out,
            "/// The {} variants of template `{}` ({}): `{}{subscripts}` is the index in \
             [`STENCILS`] of the variant with the values at those positions.",
            index.groups.len(),
            index.stem,
            axes.join(", "),
            constant_name(&index.stem),
        )
        .unwrap();
        let (ty, value) = index.array();
        writeln!(
            out,
            "pub const {}: {ty} = [\n{value}];",
            constant_name(&index.stem)
        )
        .unwrap();
        out.push('\n');
    }
    writeln!(
        out,
        "/// The {} stencil{} for `{}`.",
        extraction.groups.len(),
        if extraction.groups.len() == 1 {
            ""
        } else {
            "s"
        },
        target.triple()
    )
    .unwrap();
    writeln!(
        out,
        "pub static STENCILS: ::patchjit::StencilTable = ::patchjit::StencilTable {{"
    )
    .unwrap();
    writeln!(out, "    target: {:?},", target.triple()).unwrap();
    writeln!(out, "    groups: &[\n{groups}    ],").unwrap();
    writeln!(out, "    symbols: &{},", string_list(&symbols)).unwrap();
    writeln!(out, "    custom_values: &{},", string_list(custom_values)).unwrap();
    writeln!(out, "}};").unwrap();
    Ok(out)
}

/// `add` → `ADD`, `load-fast` → `LOAD_FAST`.
fn constant_name(group: &str) -> String {
    let mut name: String = group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || name == "_" {
        name.insert(0, '_');
    }
    name
}

/// Every group's constant name (variants' included: their names must not collide either),
/// refusing names that collide with each other, an index array or `STENCILS`.
fn constant_names(extraction: &Extraction, indices: &[VariantIndex]) -> Result<Vec<String>, Error> {
    let mut taken: HashSet<String> = HashSet::from(["STENCILS".to_string()]);
    for index in indices {
        let name = constant_name(&index.stem);
        if !taken.insert(name.clone()) {
            return Err(Error::Invalid(format!(
                "template {}: its index array `{name}` collides with another item of the \
                 generated module; rename the template",
                index.stem
            )));
        }
    }
    let mut names: Vec<String> = Vec::with_capacity(extraction.groups.len());
    for group in &extraction.groups {
        let name = constant_name(&group.name);
        if !taken.insert(name.clone()) {
            return Err(Error::Invalid(format!(
                "stencil {}: its index constant `{name}` collides with another item of the \
                 generated module; rename the template",
                group.name
            )));
        }
        names.push(name);
    }
    Ok(names)
}

fn string_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

fn intern(list: &mut Vec<String>, name: &str) -> usize {
    match list.iter().position(|s| s == name) {
        Some(i) => i,
        None => {
            list.push(name.to_string());
            list.len() - 1
        }
    }
}

fn stencil(
    stencil: &Stencil,
    group: &str,
    extraction: &Extraction,
    custom_values: &[String],
    symbols: &mut Vec<String>,
) -> Result<String, Error> {
    let bad = |why: String| Error::Invalid(format!("stencil {group}: {why}"));
    let len = u32::try_from(stencil.body.len()).map_err(|_| bad("larger than 4 GiB".into()))?;
    let trimmed = stencil
        .body
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i + 1);
    let mut out = format!("::patchjit::Stencil {{\n                len: {len},\n");
    if trimmed == 0 {
        out.push_str("                body: &[],\n");
    } else {
        // A byte string: one literal for rustc, where an array is one expression per byte
        // (thousands of stencils' worth compile several times faster this way).
        out.push_str("                body: b\"");
        for line in stencil.body[..trimmed].chunks(16) {
            out.push_str("\\\n                    ");
            for b in line {
                write!(out, "\\x{b:02x}").unwrap();
            }
        }
        out.push_str("\",\n");
    }
    if stencil.holes.is_empty() {
        out.push_str("                holes: &[],\n");
    } else {
        out.push_str("                holes: &[\n");
        for hole in &stencil.holes {
            let offset = u32::try_from(hole.offset)
                .map_err(|_| bad(format!("hole offset {:#x} too large", hole.offset)))?;
            let value = match &hole.value {
                HoleValue::Custom(name) => {
                    let index = custom_values
                        .iter()
                        .position(|v| v == name)
                        .ok_or_else(|| bad(format!("undeclared custom value {name}")))?;
                    format!("Custom({index})")
                }
                builtin => builtin.variant().to_string(),
            };
            let (symbol, addend) = if hole.patch == PatchKind::Aarch64Trampoline {
                let name = usize::try_from(hole.addend)
                    .ok()
                    .and_then(|i| extraction.trampoline_symbols.get(i))
                    .ok_or_else(|| bad(format!("trampoline ordinal {} unknown", hole.addend)))?;
                (Some(intern(symbols, name)), 0)
            } else {
                (
                    hole.symbol.as_deref().map(|s| intern(symbols, s)),
                    hole.addend,
                )
            };
            let symbol = match symbol {
                Some(index) => format!("Some({index})"),
                None => "None".to_string(),
            };
            writeln!(
                out,
                "                    ::patchjit::Hole {{ offset: {offset:#x}, patch: \
                 ::patchjit::PatchKind::{}, value: ::patchjit::HoleValue::{value}, symbol: \
                 {symbol}, addend: {addend} }},",
                hole.patch.variant()
            )
            .unwrap();
        }
        out.push_str("                ],\n");
    }
    out.push_str("            }");
    Ok(out)
}
