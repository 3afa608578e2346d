//! Loader for relocatable eBPF ELF objects as produced by `clang -target bpf -O2 -c`.
//!
//! All executable sections are laid out one after another; program-local calls
//! between them are fixed up from their `R_BPF_64_32` relocations (the target slot in
//! the symbol's section is `st_value / 8 + imm + 1`, which covers both function
//! symbols, where clang writes `imm = -1`, and section symbols). Maps and global data
//! (`R_BPF_64_64` on `lddw`, `maps`/`.maps` sections) are reported as unsupported.
//! When the entry function is not at slot 0, `call local entry; exit` is prepended.

use std::collections::HashMap;
use std::fmt;

use object::{
    Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionKind, SymbolKind,
};

use crate::isa::{opcode, slots_from_bytes, Instruction, RawInsn, INSN_SIZE};

/// `R_BPF_64_64`: 64-bit immediate of a `lddw` (maps, global data).
pub const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_32`: 32-bit immediate of a call.
pub const R_BPF_64_32: u32 = 10;

/// Why an object cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The `object` crate could not parse the file.
    Parse(String),
    /// Not a 64-bit little-endian eBPF object.
    NotBpf(String),
    /// The object defines maps, which this engine does not provide.
    Maps(String),
    /// No function with the requested (or any global) name.
    NoEntry(String),
    /// A code section's size is not a multiple of 8.
    BadSection(String),
    /// A relocation this loader does not handle.
    UnsupportedRelocation {
        /// section holding the relocated instruction
        section: String,
        /// byte offset in that section
        offset: u64,
        /// ELF relocation type
        r_type: u32,
        /// symbol name
        symbol: String,
    },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::Parse(e) => write!(f, "cannot parse ELF: {e}"),
            ElfError::NotBpf(e) => write!(f, "not an eBPF object: {e}"),
            ElfError::Maps(s) => {
                write!(f, "section `{s}` defines BPF maps, which are not supported")
            }
            ElfError::NoEntry(e) => write!(f, "{e}"),
            ElfError::BadSection(e) => write!(f, "{e}"),
            ElfError::UnsupportedRelocation {
                section,
                offset,
                r_type,
                symbol,
            } => {
                let what = if *r_type == R_BPF_64_64 {
                    " (R_BPF_64_64: map or global data reference, not supported)"
                } else {
                    ""
                };
                write!(
                    f,
                    "unsupported relocation type {r_type}{what} at {section}+{offset:#x} against `{symbol}`"
                )
            }
        }
    }
}

impl std::error::Error for ElfError {}

/// A code section placed in the loaded image.
struct Placed {
    name: String,
    base: usize,
    slots: usize,
}

/// Loads the function `entry` (by default the only global function, or the global
/// `entry`/`main` when there are several) with every code section into one program.
pub fn load(data: &[u8], entry: Option<&str>) -> Result<Vec<RawInsn>, ElfError> {
    let file = object::File::parse(data).map_err(|e| ElfError::Parse(e.to_string()))?;
    if file.architecture() != object::Architecture::Bpf || !file.is_little_endian() || !file.is_64()
    {
        return Err(ElfError::NotBpf(format!(
            "architecture {:?}, little-endian {}, 64-bit {}",
            file.architecture(),
            file.is_little_endian(),
            file.is_64()
        )));
    }
    let mut image: Vec<RawInsn> = Vec::new();
    let mut placed: HashMap<object::SectionIndex, Placed> = HashMap::new();
    for sec in file.sections() {
        let name = sec.name().unwrap_or("?").to_string();
        if name == "maps" || name == ".maps" {
            return Err(ElfError::Maps(name));
        }
        if sec.kind() != SectionKind::Text || sec.size() == 0 {
            continue;
        }
        let bytes = sec.data().map_err(|e| ElfError::Parse(e.to_string()))?;
        let slots = slots_from_bytes(bytes)
            .map_err(|e| ElfError::BadSection(format!("section `{name}`: {e}")))?;
        placed.insert(
            sec.index(),
            Placed {
                name,
                base: image.len(),
                slots: slots.len(),
            },
        );
        image.extend(slots);
    }

    for (&idx, p) in &placed {
        let sec = file
            .section_by_index(idx)
            .map_err(|e| ElfError::Parse(e.to_string()))?;
        for (offset, rel) in sec.relocations() {
            let r_type = match rel.flags() {
                RelocationFlags::Elf { r_type } => r_type,
                _ => 0,
            };
            let sym = match rel.target() {
                RelocationTarget::Symbol(s) => file.symbol_by_index(s).ok(),
                _ => None,
            };
            let sym_name = sym
                .as_ref()
                .and_then(|s| s.name().ok())
                .unwrap_or("?")
                .to_string();
            let unsupported = || ElfError::UnsupportedRelocation {
                section: p.name.clone(),
                offset,
                r_type,
                symbol: sym_name.clone(),
            };
            let site = p.base + (offset as usize) / INSN_SIZE;
            let is_call = offset.is_multiple_of(INSN_SIZE as u64)
                && (offset as usize) / INSN_SIZE < p.slots
                && image[site].opcode == opcode::CALL
                && image[site].src == 1;
            if r_type != R_BPF_64_32 || !is_call {
                return Err(unsupported());
            }
            let sym = sym.ok_or_else(unsupported)?;
            let target_sec = sym
                .section_index()
                .and_then(|s| placed.get(&s))
                .ok_or_else(unsupported)?;
            let target = target_sec.base as i64
                + (sym.address() / INSN_SIZE as u64) as i64
                + image[site].imm as i64
                + 1;
            image[site].imm = i32::try_from(target - site as i64 - 1).map_err(|_| unsupported())?;
        }
    }

    let mut funcs: Vec<(String, usize, bool)> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text)
        .filter_map(|s| {
            let p = placed.get(&s.section_index()?)?;
            Some((
                s.name().ok()?.to_string(),
                p.base + (s.address() as usize) / INSN_SIZE,
                s.is_global(),
            ))
        })
        .collect();
    funcs.sort_by_key(|f| f.1);
    let start = match entry {
        Some(n) => funcs
            .iter()
            .find(|f| f.0 == n)
            .map(|f| f.1)
            .ok_or_else(|| {
                ElfError::NoEntry(format!(
                    "no function `{n}` in the object (functions: {})",
                    names(&funcs)
                ))
            })?,
        None => {
            let globals: Vec<&(String, usize, bool)> = funcs.iter().filter(|f| f.2).collect();
            match globals.as_slice() {
                [only] => only.1,
                [] => {
                    return Err(ElfError::NoEntry(
                        "the object has no global function".to_string(),
                    ))
                }
                many => many
                    .iter()
                    .find(|f| f.0 == "entry" || f.0 == "main")
                    .map(|f| f.1)
                    .ok_or_else(|| {
                        ElfError::NoEntry(format!(
                            "several global functions, choose the entry: {}",
                            names(&funcs)
                        ))
                    })?,
            }
        }
    };
    if start != 0 {
        // `call local entry; exit` makes the entry a function of its own for the verifier
        // (functions start at local-call targets); it costs one of the call frames.
        let mut prog = Vec::with_capacity(image.len() + 2);
        Instruction::CallLocal {
            off: start as i32 + 1,
        }
        .encode_into(&mut prog);
        Instruction::Exit.encode_into(&mut prog);
        prog.extend(image);
        return Ok(prog);
    }
    Ok(image)
}

fn names(funcs: &[(String, usize, bool)]) -> String {
    funcs
        .iter()
        .map(|f| f.0.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
