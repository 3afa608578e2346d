//! Reader and runner for bpf_conformance test files (`-- asm`, `-- raw`, `-- mem`,
//! `-- result`, `-- error` sections).
//!
//! Judging follows the public runner: a test with a `-- result` passes when the program
//! runs and r0 equals it; a test with a non-empty `-- error` passes only when loading or
//! running fails with exactly that message. A test that states neither fails, as does
//! one with no instructions.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::asm::assemble;
use crate::interp::{Helpers, Interpreter};
use crate::isa::RawInsn;

/// A parsed test file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestCase {
    /// The `-- asm` section, if any.
    pub asm: Option<String>,
    /// The `-- raw` section decoded to slots, if any (takes precedence over `asm`).
    pub raw: Option<Vec<RawInsn>>,
    /// Input memory bytes.
    pub mem: Vec<u8>,
    /// Expected r0.
    pub result: Option<u64>,
    /// Expected error message (absent when the section is missing or empty).
    pub error: Option<String>,
}

/// A malformed test file: 1-based line and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    None,
    Asm,
    Raw,
    Mem,
    Result,
    Error,
    Ignored,
}

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses the text of a test file.
pub fn parse_test(text: &str) -> Result<TestCase, ParseError> {
    let mut tc = TestCase::default();
    let mut section = Section::None;
    let mut asm = String::new();
    let mut has_asm = false;
    let mut raw = Vec::new();
    let mut has_raw = false;
    for (ln, line) in text.lines().enumerate() {
        let line_no = ln + 1;
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("--") {
            section = match name.trim() {
                "asm" => {
                    has_asm = true;
                    Section::Asm
                }
                "raw" => {
                    has_raw = true;
                    Section::Raw
                }
                "mem" => Section::Mem,
                "result" => Section::Result,
                "error" => Section::Error,
                _ => Section::Ignored,
            };
            if section == Section::Asm {
                // Keep line numbers of the file in assembler errors.
                asm.clear();
                asm.extend(std::iter::repeat_n('\n', line_no));
            }
            continue;
        }
        let content = trimmed.split('#').next().unwrap_or("").trim();
        let err = |message: String| ParseError {
            line: line_no,
            message,
        };
        match section {
            Section::Asm => {
                asm.push_str(line);
                asm.push('\n');
            }
            Section::None | Section::Ignored => {}
            _ if content.is_empty() => {}
            Section::Raw => {
                let toks: Vec<&str> = content.split_whitespace().collect();
                if toks.len() == 1 {
                    let w = parse_u64(toks[0])
                        .ok_or_else(|| err(format!("invalid instruction word `{}`", toks[0])))?;
                    raw.push(RawInsn::from_word(w));
                } else if toks.len() == 8 {
                    let mut b = [0u8; 8];
                    for (k, t) in toks.iter().enumerate() {
                        b[k] = u8::from_str_radix(t, 16)
                            .map_err(|_| err(format!("invalid byte `{t}`")))?;
                    }
                    raw.push(RawInsn::from_bytes(b));
                } else {
                    return Err(err(
                        "a raw line is one 64-bit word or 8 hex bytes".to_string()
                    ));
                }
            }
            Section::Mem => {
                for t in content.split_whitespace() {
                    tc.mem.push(
                        u8::from_str_radix(t, 16)
                            .map_err(|_| err(format!("invalid byte `{t}`")))?,
                    );
                }
            }
            Section::Result => {
                tc.result = Some(
                    parse_u64(content).ok_or_else(|| err(format!("invalid result `{content}`")))?,
                );
            }
            Section::Error => tc.error = Some(content.to_string()),
        }
    }
    if has_asm {
        tc.asm = Some(asm);
    }
    if has_raw {
        tc.raw = Some(raw);
    }
    Ok(tc)
}

/// An execution tier a test can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The interpreter ([`Interpreter`]).
    Interp,
}

impl Tier {
    /// All tiers, in the order reports list them.
    pub const ALL: [Tier; 1] = [Tier::Interp];

    /// Name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
        }
    }
}

/// Outcome of one test on one tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The expectation was met.
    Pass,
    /// Why the test failed.
    Fail(String),
}

impl TestCase {
    /// The program: the raw words if present, otherwise the assembled `asm` section.
    pub fn program(&self) -> Result<Vec<RawInsn>, String> {
        if let Some(raw) = &self.raw {
            if !raw.is_empty() || self.asm.is_none() {
                return Ok(raw.clone());
            }
        }
        match &self.asm {
            Some(src) => assemble(src).map_err(|e| format!("assembler: {e}")),
            None => Ok(Vec::new()),
        }
    }

    /// Runs the test on `tier` and judges the outcome.
    pub fn run(&self, tier: Tier) -> Outcome {
        match tier {
            Tier::Interp => self.judge(self.run_interp()),
        }
    }

    fn run_interp(&self) -> Result<u64, String> {
        let prog = self.program()?;
        if prog.is_empty() {
            return Err("test has no instructions".to_string());
        }
        let vm =
            Interpreter::new(prog, Helpers::conformance()).map_err(|e| format!("verifier: {e}"))?;
        let mut mem = self.mem.clone();
        vm.run(&mut mem).map_err(|e| format!("runtime: {e}"))
    }

    fn judge(&self, got: Result<u64, String>) -> Outcome {
        match (got, &self.result, &self.error) {
            (Err(e), _, Some(want)) => {
                let msg = e.split_once(": ").map(|(_, m)| m).unwrap_or(&e);
                if msg == want || e == *want {
                    Outcome::Pass
                } else {
                    Outcome::Fail(format!("{e} (expected error `{want}`)"))
                }
            }
            (Err(e), _, None) => Outcome::Fail(e),
            (Ok(v), _, Some(want)) => {
                Outcome::Fail(format!("expected error `{want}`, program returned {v:#x}"))
            }
            (Ok(_), None, None) => {
                Outcome::Fail("test gives neither an expected result nor an expected error".into())
            }
            (Ok(v), Some(want), None) if v == *want => Outcome::Pass,
            (Ok(v), Some(want), None) => Outcome::Fail(format!("r0 = {v:#x}, expected {want:#x}")),
        }
    }
}

/// Result of one file: its name and outcome.
#[derive(Clone, Debug)]
pub struct FileResult {
    /// File name without the `.data` extension.
    pub name: String,
    /// The outcome.
    pub outcome: Outcome,
}

/// Lists the `.data` files of `dir`, sorted by name.
pub fn test_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "data"));
    files.sort();
    Ok(files)
}

/// Runs one file on `tier` (I/O and parse errors are failures).
pub fn run_file(path: &Path, tier: Tier) -> FileResult {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let outcome = match std::fs::read_to_string(path) {
        Err(e) => Outcome::Fail(format!("cannot read {}: {e}", path.display())),
        Ok(text) => match parse_test(&text) {
            Err(e) => Outcome::Fail(format!("test file {e}")),
            Ok(tc) => tc.run(tier),
        },
    };
    FileResult { name, outcome }
}

/// Runs every `.data` file of `dir` on `tier` (or just `dir` when it is a file).
pub fn run_dir(dir: &Path, tier: Tier) -> std::io::Result<Vec<FileResult>> {
    if dir.is_file() {
        return Ok(vec![run_file(dir, tier)]);
    }
    Ok(test_files(dir)?.iter().map(|p| run_file(p, tier)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_raw_forms() {
        let tc = parse_test(
            "# c\n-- asm\nmov %r0, 1\nexit\n-- raw\n0x00000001000000b7\n95 00 00 00 00 00 00 00\n-- mem\naa bb\n-- result\n0x1\n",
        )
        .unwrap();
        assert_eq!(tc.mem, vec![0xaa, 0xbb]);
        assert_eq!(tc.result, Some(1));
        let raw = tc.raw.clone().unwrap();
        assert_eq!(raw[0], RawInsn::new(0xb7, 0, 0, 0, 1));
        assert_eq!(raw[1], RawInsn::new(0x95, 0, 0, 0, 0));
        assert_eq!(tc.run(Tier::Interp), Outcome::Pass);
    }

    #[test]
    fn wrong_result_and_missing_expectation_fail() {
        let tc = parse_test("-- asm\nmov %r0, 2\nexit\n-- result\n0x1\n").unwrap();
        assert!(matches!(tc.run(Tier::Interp), Outcome::Fail(_)));
        let tc = parse_test("-- asm\nmov %r0, 2\nexit\n-- error\n").unwrap();
        assert!(matches!(tc.run(Tier::Interp), Outcome::Fail(_)));
    }

    #[test]
    fn assembler_errors_keep_file_line_numbers() {
        let tc = parse_test("# x\n-- asm\nmov %r0, 1\nbogus\n-- result\n0x1\n").unwrap();
        match tc.run(Tier::Interp) {
            Outcome::Fail(m) => assert!(m.contains("line 4, column 1"), "{m}"),
            Outcome::Pass => panic!("bogus mnemonic passed"),
        }
    }
}
