//! Reader and runner for bpf_conformance test files (`-- asm`, `-- raw`, `-- mem`,
//! `-- result`, `-- error` sections).
//!
//! Judging follows the public runner: a test with a `-- result` passes when the program
//! runs and r0 equals it; a test with a non-empty `-- error` passes only when loading or
//! running fails with exactly that message. A test that states neither fails, as does
//! one with no instructions.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::asm::{assemble, AsmError};
use crate::interp::Interpreter;
use crate::isa::RawInsn;
use crate::verifier::VerifyError;
use crate::vm::{ExecError, Helpers};

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
    /// The copy-and-patch JIT ([`crate::jit::Jit`]).
    #[cfg(bpf_jit)]
    Jit,
}

impl Tier {
    /// All tiers this build has, in the order reports list them.
    #[cfg(bpf_jit)]
    pub const ALL: &'static [Tier] = &[Tier::Interp, Tier::Jit];
    /// All tiers this build has, in the order reports list them.
    #[cfg(not(bpf_jit))]
    pub const ALL: &'static [Tier] = &[Tier::Interp];

    /// Name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            #[cfg(bpf_jit)]
            Tier::Jit => "jit",
        }
    }

    /// The tier named `name` ([`Tier::name`]), if this build has it.
    pub fn from_name(name: &str) -> Option<Tier> {
        Tier::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// Verifies `prog`, prepares it for this tier and runs it once on `input`, within `budget`
    /// backward jumps and local calls if one is given
    /// ([`Interpreter::set_budget`]); the one way callers run a program on a tier chosen at
    /// run time.
    pub fn run(
        self,
        prog: Vec<RawInsn>,
        helpers: Helpers,
        budget: Option<u64>,
        input: &mut [u8],
    ) -> Result<u64, RunError> {
        match self {
            Tier::Interp => {
                let mut vm = Interpreter::new(prog, helpers).map_err(RunError::Verify)?;
                vm.set_budget(budget);
                vm.run(input).map_err(RunError::Exec)
            }
            #[cfg(bpf_jit)]
            Tier::Jit => {
                use crate::jit::{Jit, JitError};
                let options = patchjit::Options::default();
                match budget {
                    Some(b) => Jit::with_budget(prog, helpers, &options, b),
                    None => Jit::with_options(prog, helpers, &options),
                }
                .map_err(|e| match e {
                    JitError::Verify(e) => RunError::Verify(e),
                    e => RunError::Jit(e.to_string()),
                })?
                .run(input)
                .map_err(RunError::Exec)
            }
        }
    }
}

/// Why a test program could not produce a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// The `asm` section does not assemble.
    Assemble(AsmError),
    /// The file has no instructions.
    NoInstructions,
    /// The verifier rejected the program.
    Verify(VerifyError),
    /// The program faulted.
    Exec(ExecError),
    /// The JIT could not compile the verified program (an internal error).
    Jit(String),
}

impl RunError {
    /// The message without the stage prefix, for comparison with `-- error`.
    pub fn message(&self) -> String {
        match self {
            RunError::Assemble(e) => e.to_string(),
            RunError::NoInstructions => "test has no instructions".to_string(),
            RunError::Verify(e) => e.to_string(),
            RunError::Exec(e) => e.to_string(),
            RunError::Jit(e) => e.clone(),
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Assemble(e) => write!(f, "assembler: {e}"),
            RunError::NoInstructions => write!(f, "{}", self.message()),
            RunError::Verify(e) => write!(f, "verifier: {e}"),
            RunError::Exec(e) => write!(f, "runtime: {e}"),
            RunError::Jit(e) => write!(f, "jit: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Why a test failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The file could not be read.
    Io(String),
    /// The file is malformed.
    Parse(ParseError),
    /// No result although one was expected.
    Run(RunError),
    /// An error other than the expected one.
    WrongError {
        /// what happened
        got: RunError,
        /// the `-- error` text
        want: String,
    },
    /// The program returned although an error was expected.
    MissingError {
        /// r0
        got: u64,
        /// the `-- error` text
        want: String,
    },
    /// r0 differs from `-- result`.
    WrongResult {
        /// r0
        got: u64,
        /// the `-- result` value
        want: u64,
    },
    /// The file states neither a result nor an error.
    NoExpectation,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Io(e) => write!(f, "{e}"),
            Failure::Parse(e) => write!(f, "test file {e}"),
            Failure::Run(e) => write!(f, "{e}"),
            Failure::WrongError { got, want } => write!(f, "{got} (expected error `{want}`)"),
            Failure::MissingError { got, want } => {
                write!(f, "expected error `{want}`, program returned {got:#x}")
            }
            Failure::WrongResult { got, want } => write!(f, "r0 = {got:#x}, expected {want:#x}"),
            Failure::NoExpectation => {
                write!(
                    f,
                    "test gives neither an expected result nor an expected error"
                )
            }
        }
    }
}

/// Outcome of one test on one tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The expectation was met.
    Pass,
    /// Why the test failed.
    Fail(Failure),
}

impl TestCase {
    /// The program: the raw words if present, otherwise the assembled `asm` section.
    pub fn program(&self) -> Result<Vec<RawInsn>, AsmError> {
        if let Some(raw) = &self.raw {
            if !raw.is_empty() || self.asm.is_none() {
                return Ok(raw.clone());
            }
        }
        match &self.asm {
            Some(src) => assemble(src),
            None => Ok(Vec::new()),
        }
    }

    /// Runs the test on `tier` and judges the outcome.
    pub fn run(&self, tier: Tier) -> Outcome {
        self.judge(self.execute(tier))
    }

    fn execute(&self, tier: Tier) -> Result<u64, RunError> {
        let prog = self.program().map_err(RunError::Assemble)?;
        if prog.is_empty() {
            return Err(RunError::NoInstructions);
        }
        let mut mem = self.mem.clone();
        tier.run(prog, Helpers::conformance(), None, &mut mem)
    }

    fn judge(&self, got: Result<u64, RunError>) -> Outcome {
        let fail = |f| Outcome::Fail(f);
        match (got, self.result, &self.error) {
            (Err(e), _, Some(want)) => {
                if e.message() == *want || e.to_string() == *want {
                    Outcome::Pass
                } else {
                    fail(Failure::WrongError {
                        got: e,
                        want: want.clone(),
                    })
                }
            }
            (Err(e), _, None) => fail(Failure::Run(e)),
            (Ok(got), _, Some(want)) => fail(Failure::MissingError {
                got,
                want: want.clone(),
            }),
            (Ok(_), None, None) => fail(Failure::NoExpectation),
            (Ok(got), Some(want), None) if got == want => Outcome::Pass,
            (Ok(got), Some(want), None) => fail(Failure::WrongResult { got, want }),
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
        Err(e) => Outcome::Fail(Failure::Io(format!("cannot read {}: {e}", path.display()))),
        Ok(text) => match parse_test(&text) {
            Err(e) => Outcome::Fail(Failure::Parse(e)),
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
        assert_eq!(
            tc.run(Tier::Interp),
            Outcome::Fail(Failure::WrongResult { got: 2, want: 1 })
        );
        let tc = parse_test("-- asm\nmov %r0, 2\nexit\n-- error\n").unwrap();
        assert_eq!(tc.run(Tier::Interp), Outcome::Fail(Failure::NoExpectation));
        // An expected error passes only when the message matches exactly.
        let tc = parse_test("-- asm\nmov %r0, 1\n-- error\ninstruction 0: control can fall off the end of the program or into the next function\n").unwrap();
        assert_eq!(tc.run(Tier::Interp), Outcome::Pass);
        let tc = parse_test("-- asm\nmov %r0, 1\n-- error\nInvalid\n").unwrap();
        assert!(matches!(
            tc.run(Tier::Interp),
            Outcome::Fail(Failure::WrongError { .. })
        ));
    }

    #[test]
    fn assembler_errors_keep_file_line_numbers() {
        let tc = parse_test("# x\n-- asm\nmov %r0, 1\nbogus\n-- result\n0x1\n").unwrap();
        match tc.run(Tier::Interp) {
            Outcome::Fail(Failure::Run(RunError::Assemble(e))) => {
                assert_eq!((e.line, e.column), (4, 1), "{e}")
            }
            other => panic!("bogus mnemonic gave {other:?}"),
        }
    }
}
