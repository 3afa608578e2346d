//! The `.wast` spec-suite runner: every directive of a script is one check that passes or
//! fails, on one tier at a time, with the suite's `spectest` module registered.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use wast::core::{DataKind, ElemKind, ModuleField, ModuleKind};
use wast::core::{NanPattern, WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Index};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

use crate::module::Module;
use crate::spectest;
use crate::store::{CallError, Extern, InstantiateError, LinkError, Store};
use crate::tier::Tier;
use crate::types::Value;

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the directive.
    pub line: usize,
    /// What was expected and what happened.
    pub message: String,
}

/// The outcome of one script on one tier.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed, in script order.
    pub failures: Vec<Failure>,
}

/// Why a script could not be run at all.
#[derive(Debug)]
pub enum ScriptError {
    /// The script could not be read.
    Read(PathBuf, std::io::Error),
    /// The script is not valid `.wast` text: the parser's message at a 1-based position.
    Parse {
        /// The script.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The `spectest` host module could not be created.
    Spectest(LinkError),
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptError::Read(path, e) => write!(f, "{}: {e}", path.display()),
            ScriptError::Parse {
                path,
                line,
                column,
                message,
            } => write!(f, "{}:{line}:{column}: {message}", path.display()),
            ScriptError::Spectest(e) => write!(f, "spectest: {e}"),
        }
    }
}

impl std::error::Error for ScriptError {}

/// Runs the script at `path` on `tier`.
pub fn run_file(path: &Path, tier: Tier) -> Result<Report, ScriptError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScriptError::Read(path.into(), e))?;
    run_script(&text, path, tier)
}

/// Runs script `text` (read from `path`, for messages) on `tier`.
pub fn run_script(text: &str, path: &Path, tier: Tier) -> Result<Report, ScriptError> {
    let located = |e: wast::Error| {
        let (line, column) = e.span().linecol_in(text);
        ScriptError::Parse {
            path: path.into(),
            line: line + 1,
            column: column + 1,
            message: e.message(),
        }
    };
    // The suite's names.wast has bidirectional-override characters inside names on purpose.
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = ParseBuffer::new_with_lexer(lexer).map_err(located)?;
    let script = parser::parse::<Wast>(&buf).map_err(located)?;
    let mut runner = Runner::new(tier).map_err(ScriptError::Spectest)?;
    let mut report = Report::default();
    for directive in script.directives {
        let line = directive.span().linecol_in(text).0 + 1;
        match runner.directive(directive) {
            Ok(()) => report.passed += 1,
            Err(message) => report.failures.push(Failure { line, message }),
        }
    }
    Ok(report)
}

/// The state a script builds up: the store, named and registered instances.
struct Runner {
    store: Store,
    /// Module names `register`ed for imports, with their exports.
    registered: HashMap<String, Vec<(String, Extern)>>,
    /// Instances by `$id`.
    named: HashMap<String, u32>,
    /// The most recently instantiated module, the default target of `invoke` and `get`.
    current: Option<u32>,
}

type Check = Result<(), String>;

impl Runner {
    fn new(tier: Tier) -> Result<Runner, LinkError> {
        let mut store = Store::new(tier);
        let mut registered = HashMap::new();
        registered.insert("spectest".to_string(), spectest::instantiate(&mut store)?);
        Ok(Runner {
            store,
            registered,
            named: HashMap::new(),
            current: None,
        })
    }

    fn directive(&mut self, d: WastDirective<'_>) -> Check {
        match d {
            WastDirective::Module(mut module) => {
                let name = module.name();
                let bytes = encode(&mut module)?;
                let instance = self
                    .define(&bytes)
                    .map_err(|e| format!("module rejected: {e}"))?;
                // Only a module directive names an instance and makes it the current one.
                if let Some(id) = name {
                    self.named.insert(id.name().to_string(), instance);
                }
                self.current = Some(instance);
                Ok(())
            }
            WastDirective::AssertMalformed { module, .. }
            | WastDirective::AssertInvalid { module, .. } => rejected(module),
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                let inst = &self.store.instances[instance as usize];
                let exports = inst
                    .module
                    .exports
                    .iter()
                    .filter_map(|e| {
                        let ext = self.store.export(instance, &e.name)?;
                        Some((e.name.clone(), ext))
                    })
                    .collect();
                self.registered.insert(name.to_string(), exports);
                Ok(())
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke)?.map(drop).map_err(|e| e.to_string())
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let got = match exec {
                    WastExecute::Invoke(invoke) => self
                        .invoke(&invoke)?
                        .map_err(|e| format!("expected a return, got {e}"))?,
                    WastExecute::Get { module, global, .. } => vec![self.get(module, global)?],
                    WastExecute::Wat(_) => return Err("assert_return of a module".into()),
                };
                check_results(&results, &got)
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let trap = match exec {
                    WastExecute::Invoke(invoke) => match self.invoke(&invoke)? {
                        Err(CallError::Trap(t)) => t,
                        Err(e) => return Err(e.to_string()),
                        Ok(got) => {
                            return Err(format!("expected trap `{message}`, got {}", list(&got)))
                        }
                    },
                    WastExecute::Wat(mut module) => {
                        let bytes = encode_wat(&mut module)?;
                        match self.define(&bytes) {
                            Err(DefineError::Instantiate(InstantiateError::Start(t))) => t,
                            Err(e) => return Err(format!("expected trap `{message}`, got {e}")),
                            Ok(_) => {
                                return Err(format!(
                                    "expected trap `{message}`, module instantiated"
                                ))
                            }
                        }
                    }
                    WastExecute::Get { .. } => return Err("assert_trap of a global".into()),
                };
                let got = trap.kind.to_string();
                if got.starts_with(message) {
                    Ok(())
                } else {
                    Err(format!("expected trap `{message}`, got trap `{trap}`"))
                }
            }
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call)? {
                Err(CallError::Trap(t)) if t.kind.to_string().starts_with(message) => Ok(()),
                Err(e) => Err(format!("expected `{message}`, got {e}")),
                Ok(got) => Err(format!("expected `{message}`, got {}", list(&got))),
            },
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let bytes = encode_wat(&mut module)?;
                match self.define(&bytes) {
                    Err(DefineError::Instantiate(InstantiateError::Link(e)))
                        if e.to_string().starts_with(message) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(format!("expected link error `{message}`, got {e}")),
                    Ok(_) => Err(format!("expected link error `{message}`, module linked")),
                }
            }
            other => Err(format!(
                "not a WebAssembly 1.0 directive: {:?}",
                std::mem::discriminant(&other)
            )),
        }
    }

    /// Decodes and instantiates a module, returning its instance.
    fn define(&mut self, bytes: &[u8]) -> Result<u32, DefineError> {
        let module = Rc::new(Module::decode(bytes).map_err(DefineError::Decode)?);
        let registered = &self.registered;
        let resolve = |m: &str, n: &str| {
            registered
                .get(m)?
                .iter()
                .find(|(name, _)| name == n)
                .map(|&(_, e)| e)
        };
        self.store
            .instantiate(module, &resolve)
            .map_err(DefineError::Instantiate)
    }

    /// The instance a directive names, or the current one.
    fn instance(&self, id: Option<Id<'_>>) -> Result<u32, String> {
        match id {
            Some(id) => self
                .named
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("no module named ${}", id.name())),
            None => self
                .current
                .ok_or_else(|| "no module defined yet".to_string()),
        }
    }

    /// Calls the export an `invoke` names. The outer error is the script's (no such module,
    /// export or argument type); the inner result is the call's.
    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Result<Vec<Value>, CallError>, String> {
        let instance = self.instance(invoke.module)?;
        let Some(Extern::Func(addr)) = self.store.export(instance, invoke.name) else {
            return Err(format!("no function export `{}`", invoke.name));
        };
        let args = invoke.args.iter().map(arg).collect::<Result<Vec<_>, _>>()?;
        Ok(self.store.invoke(addr, &args))
    }

    fn get(&self, module: Option<Id<'_>>, global: &str) -> Result<Value, String> {
        let instance = self.instance(module)?;
        match self.store.export(instance, global) {
            Some(Extern::Global(addr)) => Ok(self.store.global_value(addr)),
            _ => Err(format!("no global export `{global}`")),
        }
    }
}

/// Why a module of a script did not become an instance.
enum DefineError {
    Decode(crate::module::DecodeError),
    Instantiate(InstantiateError),
}

impl fmt::Display for DefineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefineError::Decode(e) => write!(f, "{e}"),
            DefineError::Instantiate(e) => write!(f, "{e}"),
        }
    }
}

/// `assert_malformed` / `assert_invalid`: the text does not parse or encode, or wasmparser
/// rejects the binary.
fn rejected(mut module: QuoteWat<'_>) -> Check {
    let Ok(bytes) = encode(&mut module) else {
        return Ok(());
    };
    match Module::decode(&bytes) {
        Err(_) => Ok(()),
        Ok(_) => Err("module was accepted".into()),
    }
}

/// Encodes a script's module, reading segment identifiers the 1.0 way
/// ([`legacy_segment_ids`]).
fn encode(module: &mut QuoteWat<'_>) -> Result<Vec<u8>, String> {
    if let QuoteWat::Wat(wat) = module {
        legacy_segment_ids(wat);
    }
    module.encode().map_err(|e| format!("module text: {e}"))
}

fn encode_wat(wat: &mut Wat<'_>) -> Result<Vec<u8>, String> {
    legacy_segment_ids(wat);
    wat.encode().map_err(|e| format!("module text: {e}"))
}

/// In the 1.0 text format a segment has no identifier: `(data $m ...)` and `(elem $t ...)`
/// name the memory or table. The `wast` crate reads the current format, where that
/// identifier names the segment, so move it where 1.0 meant it.
fn legacy_segment_ids(wat: &mut Wat<'_>) {
    let Wat::Module(module) = wat else { return };
    let ModuleKind::Text(fields) = &mut module.kind else {
        return;
    };
    for field in fields {
        match field {
            ModuleField::Data(data) => {
                if let (Some(id), DataKind::Active { memory, .. }) = (data.id, &mut data.kind) {
                    *memory = Index::Id(id);
                    data.id = None;
                }
            }
            ModuleField::Elem(elem) => {
                if let (Some(id), ElemKind::Active { table, .. }) = (elem.id, &mut elem.kind) {
                    *table = Some(Index::Id(id));
                    elem.id = None;
                }
            }
            _ => {}
        }
    }
}

fn arg(a: &WastArg<'_>) -> Result<Value, String> {
    let WastArg::Core(a) = a else {
        return Err(format!("not a core argument: {a:?}"));
    };
    Ok(match a {
        WastArgCore::I32(v) => Value::I32(*v),
        WastArgCore::I64(v) => Value::I64(*v),
        WastArgCore::F32(v) => Value::F32(v.bits),
        WastArgCore::F64(v) => Value::F64(v.bits),
        other => return Err(format!("not a 1.0 argument: {other:?}")),
    })
}

fn list(values: &[Value]) -> String {
    let v: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("[{}]", v.join(", "))
}

/// Whether `got` is what the expected results describe, NaN patterns included.
fn check_results(expected: &[WastRet<'_>], got: &[Value]) -> Check {
    let fits = expected.len() == got.len()
        && expected.iter().zip(got).all(|(e, &g)| match e {
            WastRet::Core(e) => matches(e, g),
            _ => false,
        });
    if fits {
        Ok(())
    } else {
        let e: Vec<String> = expected
            .iter()
            .map(|e| match e {
                WastRet::Core(e) => describe(e),
                other => format!("{other:?}"),
            })
            .collect();
        Err(format!("expected [{}], got {}", e.join(", "), list(got)))
    }
}

/// A NaN pattern against a float's bits. `quiet_nan` is the width's all-ones exponent plus
/// quiet bit, `sign` its sign bit: `canonical` is exactly that (either sign), `arithmetic`
/// any NaN with both.
fn nan_matches<T: Copy>(
    p: &NanPattern<T>,
    bits: u64,
    quiet_nan: u64,
    sign: u64,
    exact: impl Fn(T) -> u64,
) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & !sign == quiet_nan,
        NanPattern::ArithmeticNan => bits & quiet_nan == quiet_nan,
        NanPattern::Value(v) => bits == exact(*v),
    }
}

fn matches(e: &WastRetCore<'_>, g: Value) -> bool {
    match (e, g) {
        (WastRetCore::I32(e), Value::I32(g)) => *e == g,
        (WastRetCore::I64(e), Value::I64(g)) => *e == g,
        (WastRetCore::F32(p), Value::F32(g)) => {
            nan_matches(p, g as u64, 0x7fc0_0000, 1 << 31, |v| v.bits as u64)
        }
        (WastRetCore::F64(p), Value::F64(g)) => {
            nan_matches(p, g, 0x7ff8_0000_0000_0000, 1 << 63, |v| v.bits)
        }
        (WastRetCore::Either(options), g) => options.iter().any(|o| matches(o, g)),
        _ => false,
    }
}

fn describe(e: &WastRetCore<'_>) -> String {
    match e {
        WastRetCore::I32(v) => Value::I32(*v).to_string(),
        WastRetCore::I64(v) => Value::I64(*v).to_string(),
        WastRetCore::F32(NanPattern::Value(v)) => Value::F32(v.bits).to_string(),
        WastRetCore::F64(NanPattern::Value(v)) => Value::F64(v.bits).to_string(),
        WastRetCore::F32(p) => format!("f32:{p:?}"),
        WastRetCore::F64(p) => format!("f64:{p:?}"),
        other => format!("{other:?}"),
    }
}
