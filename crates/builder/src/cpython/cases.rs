//! Finding CPython's micro-ops in `Python/executor_cases.c.h`, the way `Tools/jit` does, and
//! instantiating `Tools/jit/template.c` for each one.

/// One micro-op: its name and its whole `case NAME: { ... }` text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MicroOp {
    /// From `case` through the closing `}` (eight-space indented), inclusive.
    pub case_text: String,
    /// The `NAME` of `case NAME:`, which names the stencil and its `emit_NAME` function.
    pub name: String,
}

impl MicroOp {
    /// The template with every `CASE` replaced by this micro-op's case text.
    pub fn instantiate(&self, template: &str) -> String {
        template.replace("CASE", &self.case_text)
    }
}

const OPEN: &str = "\n        case ";
const CLOSE: &str = "\n        }";

/// Every `\n{8 spaces}case NAME: {\n ... \n{8 spaces}}` (shortest body), non-overlapping from the
/// left, sorted by case text then name: CPython's compile and output order.
pub fn find_micro_ops(executor_cases: &str) -> Vec<MicroOp> {
    let mut ops = Vec::new();
    let mut from = 0;
    while let Some(found) = executor_cases[from..].find(OPEN) {
        let newline = from + found;
        let case_start = newline + 1 + 8;
        match match_case(&executor_cases[case_start..]) {
            Some((name_len, case_len)) => {
                let text = &executor_cases[case_start..case_start + case_len];
                ops.push(MicroOp {
                    case_text: text.to_string(),
                    name: text["case ".len().."case ".len() + name_len].to_string(),
                });
                from = case_start + case_len;
            }
            None => from = newline + 1,
        }
    }
    ops.sort();
    ops
}

/// At `case NAME: {\n`: the name's length and the length of the case text, if it closes.
fn match_case(text: &str) -> Option<(usize, usize)> {
    let rest = text.strip_prefix("case ")?;
    let name_len = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let body_start = "case ".len() + name_len + ": {\n".len();
    if !rest[name_len..].starts_with(": {\n") {
        return None;
    }
    let close = text[body_start..].find(CLOSE)?;
    Some((name_len, body_start + close + CLOSE.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_sorts_cases() {
        let src = "switch (x) {\n        case _Z: {\n            a();\n            break;\n        }\n\n        case _A: {\n            if (x) {\n            }\n            break;\n        }\n            case _NESTED: {\n        }\n        case _B: {\n\n        }\n        case _OPEN: {\n            never closed";
        let ops = find_micro_ops(src);
        let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["_A", "_B", "_Z"]);
        assert_eq!(
            ops[0].case_text,
            "case _A: {\n            if (x) {\n            }\n            break;\n        }"
        );
        assert_eq!(ops[1].case_text, "case _B: {\n\n        }");
        assert_eq!(
            ops[0].instantiate("switch (op) { CASE } // CASE"),
            format!("switch (op) {{ {0} }} // {0}", ops[0].case_text)
        );
    }

    #[test]
    fn empty_body_needs_its_own_line() {
        // `{\n        }` has no newline left for the closing pattern, so the match runs on to
        // the next closing brace at eight spaces, like the regular expression does.
        let ops = find_micro_ops("\n        case _E: {\n        }\n        x;\n        }");
        assert_eq!(ops.len(), 1);
        assert_eq!(
            ops[0].case_text,
            "case _E: {\n        }\n        x;\n        }"
        );
    }
}
