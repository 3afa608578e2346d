//! Hygiene checks: things that extract fine but make a stencil wrong or dangerous at run time.
//! Each violation names the stencil and says how to fix the template.

use std::fmt;

use patchjit_stencils::{
    Arch, Extraction, HoleValue, NarrowType, PatchKind, Stencil, StencilGroup, Target,
};

/// What the checks allow.
#[derive(Clone, Debug)]
pub struct Policy {
    /// External symbols stencils may reference; `None` allows any.
    pub allowed_symbols: Option<Vec<String>>,
    /// Groups that may *call* `_JIT_CONTINUE` (entry shims).
    pub shims: Vec<String>,
    /// Largest allowed code size of one stencil, in bytes.
    pub max_code_size: usize,
}

/// Which rule a stencil broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// References an external symbol not on the allowed list.
    DisallowedSymbol(String),
    /// Calls its continuation instead of tail-jumping to it.
    CallsContinuation,
    /// Data that points back into the stencil's code (a jump table).
    JumpTable,
    /// References the stack protector.
    StackProtector(String),
    /// Uses thread-local storage.
    ThreadLocal(String),
    /// A sign-extended narrow value (`PATCHJIT_OPERAND0_I32`) in a field that zero-extends it
    /// (x86-64 `R_X86_64_32`), which would mis-read every negative value.
    NarrowExtension(String),
    /// Code larger than the limit.
    TooLarge {
        /// The stencil's code size in bytes.
        size: usize,
        /// [`crate::Builder::max_code_size`]'s value.
        limit: usize,
    },
}

/// One broken rule in one stencil.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The stencil group (template stem) at fault.
    pub stencil: String,
    /// What it did wrong.
    pub rule: Rule,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stencil;
        match &self.rule {
            Rule::DisallowedSymbol(symbol) => write!(
                f,
                "stencil {s}: references external symbol `{symbol}`, which is not on the allowed \
                 list; declare it as a runtime helper and add it with `allow_symbols` \
                 (`--allow-symbol {symbol}`), or remove the reference from the template"
            ),
            Rule::CallsContinuation => write!(
                f,
                "stencil {s}: calls `_JIT_CONTINUE` instead of tail-jumping to it (the stack \
                 would grow at every instruction); end the template with PATCHJIT_CONTINUE(), \
                 which is a `musttail` return, and compute nothing after it (or list the template \
                 as a shim if it is the entry)"
            ),
            Rule::JumpTable => write!(
                f,
                "stencil {s}: its data holds addresses of its own code (a jump table, which the \
                 emitter cannot relocate); keep -fno-jump-tables, or rewrite the `switch` as \
                 if/else chains"
            ),
            Rule::StackProtector(symbol) => write!(
                f,
                "stencil {s}: references the stack protector (`{symbol}`); compile with \
                 -fno-stack-protector (do not pass -fstack-protector* flags)"
            ),
            Rule::ThreadLocal(what) => write!(
                f,
                "stencil {s}: uses thread-local storage ({what}), which stencils cannot address; \
                 pass the state through the stencil's parameters instead of a _Thread_local \
                 variable"
            ),
            Rule::NarrowExtension(value) => write!(
                f,
                "stencil {s}: clang put the narrow value {value} in a zero-extending field (x86-64 \
                 `R_X86_64_32`, an operation like `and`, `mul` or a plain move), where every \
                 negative value would read wrong; use the typed PATCHJIT_*_S32 form or the 64-bit \
                 value in this operation"
            ),
            Rule::TooLarge { size, limit } => write!(
                f,
                "stencil {s}: {size} bytes of code exceed the limit of {limit}; split the \
                 operation, move slow paths into a runtime helper, or raise `max_code_size`"
            ),
        }
    }
}

/// Checks every group of an extraction.
pub fn check(extraction: &Extraction, target: Target, policy: &Policy) -> Vec<Violation> {
    let mut out = Vec::new();
    for group in &extraction.groups {
        let mut report = |rule| {
            if !out
                .iter()
                .any(|v: &Violation| v.stencil == group.name && v.rule == rule)
            {
                out.push(Violation {
                    stencil: group.name.clone(),
                    rule,
                })
            }
        };
        for symbol in symbols(group, extraction) {
            if symbol.starts_with("__stack_chk") {
                report(Rule::StackProtector(symbol.to_string()));
            } else if symbol == "__tls_get_addr" || symbol.starts_with("_tlv_") {
                report(Rule::ThreadLocal(format!("`{symbol}`")));
            } else if let Some(allowed) = &policy.allowed_symbols {
                if !allowed.iter().any(|a| a == symbol) {
                    report(Rule::DisallowedSymbol(symbol.to_string()));
                }
            }
        }
        if !policy.shims.contains(&group.name) && calls_continuation(group, target) {
            report(Rule::CallsContinuation);
        }
        for hole in group.code.holes.iter().chain(&group.data.holes) {
            // An I32 value is the address itself (patchjit.h): a zero-extending field would
            // read negative values wrong.
            if hole.value.narrow() == Some(NarrowType::I32) && hole.patch == PatchKind::Abs32 {
                report(Rule::NarrowExtension(hole.value.name().to_string()));
            }
        }
        if group.code.body.len() > policy.max_code_size {
            report(Rule::TooLarge {
                size: group.code.body.len(),
                limit: policy.max_code_size,
            });
        }
    }
    out
}

/// External symbols a group's holes (including trampolines) refer to.
fn symbols<'a>(group: &'a StencilGroup, extraction: &'a Extraction) -> Vec<&'a str> {
    let mut out: Vec<&str> = [&group.code, &group.data]
        .into_iter()
        .flat_map(|s| s.holes.iter())
        .filter_map(|h| h.symbol.as_deref())
        .collect();
    out.extend(
        group
            .trampolines
            .iter()
            .filter_map(|&t| extraction.trampoline_symbols.get(t as usize))
            .map(String::as_str),
    );
    out.sort_unstable();
    out.dedup();
    out
}

/// True if the code calls (rather than jumps to) `_JIT_CONTINUE`, directly or through its GOT
/// slot.
fn calls_continuation(group: &StencilGroup, target: Target) -> bool {
    let code = &group.code;
    let continue_slots: Vec<i64> = group
        .data
        .holes
        .iter()
        .filter(|h| h.value == HoleValue::Continue)
        .map(|h| h.offset as i64)
        .collect();
    code.holes.iter().any(|hole| {
        let offset = hole.offset as usize;
        let direct = hole.value == HoleValue::Continue;
        let through_got = hole.value == HoleValue::Data
            && continue_slots
                .iter()
                .any(|&slot| slot == hole.addend || slot == hole.addend + 4);
        match target.arch() {
            Arch::X86_64 | Arch::I686 => {
                (direct && byte_at(code, offset.wrapping_sub(1)) == Some(0xe8))
                    || (through_got
                        && byte_at(code, offset.wrapping_sub(2)) == Some(0xff)
                        && byte_at(code, offset.wrapping_sub(1)) == Some(0x15))
            }
            Arch::Aarch64 => {
                // `bl` directly, or a GOT load followed (within a few instructions) by `blr`.
                (direct && word_at(code, offset).is_some_and(|w| w & 0xfc00_0000 == 0x9400_0000))
                    || (through_got
                        && (1..=4).any(|i| {
                            word_at(code, offset + 4 * i)
                                .is_some_and(|w| w & 0xffff_fc1f == 0xd63f_0000)
                        }))
            }
        }
    })
}

fn byte_at(stencil: &Stencil, offset: usize) -> Option<u8> {
    stencil.body.get(offset).copied()
}

fn word_at(stencil: &Stencil, offset: usize) -> Option<u32> {
    let bytes = stencil.body.get(offset..offset + 4)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Checks a template's object before extraction, for what extraction would only report as an
/// unsupported relocation: thread-local variables, and jump tables (data relocated against
/// code). An unreadable object yields nothing here; extraction reports it.
pub fn scan_object(stencil: &str, bytes: &[u8]) -> Vec<Violation> {
    use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionKind, SymbolKind};
    let mut out = Vec::new();
    let Ok(file) = object::File::parse(bytes) else {
        return out;
    };
    let mut report = |rule| {
        if !out.iter().any(|v: &Violation| v.rule == rule) {
            out.push(Violation {
                stencil: stencil.to_string(),
                rule,
            });
        }
    };
    for section in file.sections() {
        let from_data = !matches!(section.kind(), SectionKind::Text);
        for (_, relocation) in section.relocations() {
            let (kind, text_target) = match relocation.target() {
                RelocationTarget::Symbol(index) => match file.symbol_by_index(index) {
                    Ok(symbol) => {
                        if symbol.kind() == SymbolKind::Tls {
                            let name = symbol.name().unwrap_or("?").to_string();
                            report(Rule::ThreadLocal(format!("`{name}`")));
                        }
                        let in_text = symbol
                            .section_index()
                            .and_then(|i| file.section_by_index(i).ok())
                            .is_some_and(|s| s.kind() == SectionKind::Text);
                        (symbol.kind(), in_text)
                    }
                    Err(_) => continue,
                },
                RelocationTarget::Section(index) => (
                    SymbolKind::Section,
                    file.section_by_index(index)
                        .is_ok_and(|s| s.kind() == SectionKind::Text),
                ),
                _ => continue,
            };
            if from_data && text_target && kind != SymbolKind::Tls && is_loaded(section.kind()) {
                report(Rule::JumpTable);
            }
        }
    }
    out
}

/// Sections copied into a stencil's data (not debug info or unwind metadata).
fn is_loaded(kind: object::SectionKind) -> bool {
    use object::SectionKind as K;
    matches!(
        kind,
        K::Data
            | K::ReadOnlyData
            | K::ReadOnlyDataWithRel
            | K::ReadOnlyString
            | K::UninitializedData
    )
}
