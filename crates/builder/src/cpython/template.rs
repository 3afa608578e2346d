//! Splitting `Tools/jit/template.c` into a shared prefix (the includes and macros, the same for
//! every micro-op) and a per-micro-op rest, so the prefix can be parsed once into a clang
//! precompiled header. Parsing CPython's headers is most of each stencil's compile time, and a
//! precompiled header gives byte-identical objects.

/// The template cut at a top-level boundary before the first `CASE` or `_JIT_OPCODE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitTemplate<'a> {
    /// Complete declarations and preprocessor lines only: valid as a header on its own.
    pub prefix: &'a str,
    /// The rest, to be compiled after the prefix.
    pub rest: &'a str,
    /// 1-based line number of the first line of `rest` in the template (for `#line`), so
    /// `__LINE__` and diagnostics stay as in the full template.
    pub rest_line: usize,
}

impl SplitTemplate<'_> {
    /// The per-micro-op source: a `#line` directive, then the rest with `CASE` replaced.
    pub fn instantiate_rest(&self, case_text: &str) -> String {
        format!(
            "#line {}\n{}",
            self.rest_line,
            self.rest.replace("CASE", case_text)
        )
    }
}

/// Scanner state carried from line to line.
#[derive(Default)]
struct Scan {
    block_comment: bool,
    continued_directive: bool,
    conditional_depth: i32,
    brace_depth: i32,
    paren_depth: i32,
}

/// Splits the template after the last line, before any use of `CASE` or `_JIT_OPCODE`, where
/// no comment, directive, conditional block, brace or parenthesis is open and the last
/// declaration is complete. None if there is no such non-empty prefix.
pub fn split_template(template: &str) -> Option<SplitTemplate<'_>> {
    let mut scan = Scan::default();
    let mut split = None;
    let mut offset = 0;
    for (index, line) in template.split_inclusive('\n').enumerate() {
        if line.contains("CASE") || line.contains("_JIT_OPCODE") {
            break;
        }
        let text = line.trim_end_matches(['\n', '\r']);
        let trimmed = text.trim();
        let directive =
            scan.continued_directive || (!scan.block_comment && trimmed.starts_with('#'));
        if directive {
            if !scan.continued_directive {
                let word = trimmed[1..].trim_start();
                if word.starts_with("if") {
                    scan.conditional_depth += 1;
                } else if word.starts_with("endif") {
                    scan.conditional_depth -= 1;
                }
            }
            scan.continued_directive = text.ends_with('\\');
        } else {
            scan.code_line(text);
        }
        offset += line.len();
        let complete = directive
            || trimmed.is_empty()
            || trimmed.ends_with(';')
            || trimmed.ends_with('}')
            || trimmed.starts_with("//");
        if complete
            && !scan.continued_directive
            && !scan.block_comment
            && scan.conditional_depth == 0
            && scan.brace_depth == 0
            && scan.paren_depth == 0
        {
            split = Some((offset, index + 1));
        }
    }
    let (offset, lines) = split?;
    Some(SplitTemplate {
        prefix: &template[..offset],
        rest: &template[offset..],
        rest_line: lines + 1,
    })
}

impl Scan {
    /// Counts braces and parentheses outside comments and literals.
    fn code_line(&mut self, text: &str) {
        let mut chars = text.chars().peekable();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            if self.block_comment {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    self.block_comment = false;
                }
                continue;
            }
            if let Some(q) = quote {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '/' if chars.peek() == Some(&'/') => return,
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    self.block_comment = true;
                }
                '"' | '\'' => quote = Some(c),
                '{' => self.brace_depth += 1,
                '}' => self.brace_depth -= 1,
                '(' => self.paren_depth += 1,
                ')' => self.paren_depth -= 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_before_the_function_using_case() {
        let template = "#include \"a.h\"\n#ifdef X\n#define Y 1\n#endif\n#define M(A) \\\n    do { A; } while (0)\n/* a { comment\n */\nstatic int f(void)\n{\n    return '{';\n}\n\nint\n_JIT_ENTRY(void)\n{\n    switch (_JIT_OPCODE) { CASE }\n}\n";
        let split = split_template(template).unwrap();
        assert_eq!(split.prefix, "#include \"a.h\"\n#ifdef X\n#define Y 1\n#endif\n#define M(A) \\\n    do { A; } while (0)\n/* a { comment\n */\nstatic int f(void)\n{\n    return '{';\n}\n\n");
        assert_eq!(split.rest_line, 14);
        assert_eq!(
            split.instantiate_rest("case 1: {}"),
            "#line 14\nint\n_JIT_ENTRY(void)\n{\n    switch (_JIT_OPCODE) { case 1: {} }\n}\n"
        );
    }

    #[test]
    fn never_splits_inside_open_constructs() {
        // The only candidate boundaries are inside the conditional block.
        assert_eq!(split_template("#if A\n#define B\n\nCASE\n#endif\n"), None);
        assert_eq!(split_template("CASE"), None);
    }
}
