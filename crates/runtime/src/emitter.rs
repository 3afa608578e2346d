//! The emitter: turns a list of instructions (one stencil group each, plus operands and branch
//! destinations) into one executable unit, in two passes like CPython's `_PyJIT_Compile`:
//! pass 1 sums sizes and records where each instruction's code starts; pass 2 copies and patches
//! every group's data, then its code (so GOT-relaxing code patches can read finished slots).
//!
//! Layout: `[shim][instruction 0]…[instruction n-1][terminator][trampolines] | [data…]`, with the
//! data on its own pages after the code. The shim (optional) is the unit's entry; the terminator
//! (optional) catches the last instruction's fall-through, as CPython's `_FATAL_ERROR` does.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::memory::{DataProtection, ExecutableMemory, Placement, WritableMemory};
use crate::patch::{Footprint, PatchError, PatchTarget, AARCH64_TRAMPOLINE_SIZE};
use crate::stencil::{Hole, HoleValue, PatchKind, Stencil, StencilGroup, StencilTable};
use crate::visibility::{self, Registration};

/// A forward-declarable branch destination, bound to an instruction index with [`Emitter::bind`].
/// It remembers which emitter made it, so a label from another emitter is refused instead of
/// silently naming one of this emitter's labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label {
    emitter: u32,
    index: u32,
}

/// Where `_JIT_JUMP_TARGET` / `_JIT_ERROR_TARGET` of an instruction point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// An instruction index.
    Instruction(u32),
    Label(Label),
}

/// One instruction: the group to copy and the values its holes get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Instruction {
    /// Index into [`StencilTable::groups`] (see [`Emitter::group`]).
    pub group: u16,
    /// Value of `_JIT_OPARG` holes.
    pub oparg: u64,
    /// Value of `_JIT_OPERAND0` holes (`_HI`/`_LO` take its halves).
    pub operand0: u64,
    /// Value of `_JIT_OPERAND1` holes (`_HI`/`_LO` take its halves).
    pub operand1: u64,
    /// Value of `_JIT_TARGET` holes.
    pub target: u64,
    /// Where `_JIT_JUMP_TARGET` branches; required if the group's code uses it.
    pub jump_target: Option<Destination>,
    /// Where `_JIT_ERROR_TARGET` branches; required if the group's code uses it.
    pub error_target: Option<Destination>,
}

impl Instruction {
    /// An instruction of `group` with every value zero and no destinations.
    pub fn new(group: u16) -> Self {
        Instruction {
            group,
            ..Default::default()
        }
    }
}

/// Which section of a group a failing hole is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Code,
    Data,
}

/// Which of an instruction's branch destinations is meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchKind {
    Jump,
    Error,
}

/// Where in the program an error happened: the group, and the instruction (none for the shim
/// and terminator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub group: &'static str,
    pub instruction: Option<usize>,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.instruction {
            Some(i) => write!(f, "instruction {i} ({})", self.group),
            None => write!(f, "group {}", self.group),
        }
    }
}

/// Why a program could not be emitted.
#[derive(Debug)]
pub enum EmitError {
    /// A hole's value did not fit its instruction (see the [`PatchError`]); `hole` is its
    /// offset in the stencil (for the trampolines, in the trampoline area).
    Patch {
        site: Site,
        section: Section,
        hole: u32,
        error: PatchError,
    },
    /// A hole refers to a symbol the resolver given to [`Emitter::new`] did not provide.
    UnresolvedSymbol { site: Site, symbol: &'static str },
    /// An instruction's code uses `_JIT_JUMP_TARGET`/`_JIT_ERROR_TARGET` but none was set.
    MissingDestination { site: Site, branch: BranchKind },
    /// A destination names an instruction that does not exist or a label never bound.
    BadDestination {
        site: Site,
        branch: BranchKind,
        destination: Destination,
    },
    /// The last instruction continues past the end of the program and there is no terminator.
    FallsOffEnd { site: Site },
    /// A group index that is not in the table.
    NoSuchGroup { group: u16 },
    /// An instruction index past the end of the program.
    NoSuchInstruction { index: usize, len: usize },
    /// A client-defined value index past the table's `custom_values`.
    NoSuchCustomValue { value_id: u16, declared: usize },
    /// [`Emitter::bind`] got a label another emitter made, or one already bound.
    BadLabel { label: Label, problem: LabelProblem },
    /// [`Emitter::emit_into`] got the [`Layout`] of another emitter.
    ForeignLayout,
    /// [`Emitter::emit_into`]'s buffer cannot hold the layout at `data_offset`, `data_offset` is
    /// not 8-aligned, or `base + len` wraps the address space.
    BadBuffer {
        len: usize,
        base: u64,
        data_offset: usize,
        code_len: u32,
        data_len: u32,
    },
    /// The table is inconsistent (a hole outside its stencil, an unknown symbol index...).
    BadTable { group: &'static str, reason: String },
    /// The table was built for another architecture or calling-convention family (Windows,
    /// Apple, other) than the one running.
    ForeignTable { target: &'static str },
    /// The program needs more than 4 GiB of code or data, or 2^32 instructions or labels.
    TooLarge,
    /// Mapping or protecting memory failed.
    Memory(io::Error),
    /// [`Options::gdb`] was set but the crate was built without its `gdb-jit` feature.
    GdbUnavailable,
    /// [`Options::perf_map`] was set but the perf map could not be opened safely (e.g. another
    /// user planted a symlink at its path).
    PerfMap(io::Error),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Patch {
                site,
                section,
                hole,
                error,
            } => write!(f, "{site}, {section:?} stencil, hole at {hole:#x}: {error}"),
            EmitError::UnresolvedSymbol { site, symbol } => {
                write!(f, "{site}: symbol `{symbol}` was not given to the emitter")
            }
            EmitError::MissingDestination { site, branch } => {
                write!(f, "{site}: no {branch:?} destination set")
            }
            EmitError::BadDestination {
                site,
                branch,
                destination,
            } => {
                write!(
                    f,
                    "{site}: {branch:?} destination {destination:?} does not exist or is unbound"
                )
            }
            EmitError::FallsOffEnd { site } => {
                write!(
                    f,
                    "{site} continues past the end of the program and no terminator is set"
                )
            }
            EmitError::NoSuchGroup { group } => write!(f, "no stencil group {group} in the table"),
            EmitError::NoSuchInstruction { index, len } => {
                write!(
                    f,
                    "no instruction {index}: the program has {len} instructions"
                )
            }
            EmitError::NoSuchCustomValue { value_id, declared } => write!(
                f,
                "no client-defined hole value {value_id}: the table declares {declared}"
            ),
            EmitError::BadLabel { label, problem } => {
                let why = match problem {
                    LabelProblem::Foreign => "was made by another emitter",
                    LabelProblem::AlreadyBound => "is already bound",
                };
                write!(f, "label {} {why}", label.index)
            }
            EmitError::ForeignLayout => {
                f.write_str("the layout passed to emit_into belongs to another emitter")
            }
            EmitError::BadBuffer {
                len,
                base,
                data_offset,
                code_len,
                data_len,
            } => write!(
                f,
                "a {len}-byte buffer at {base:#x} with data at offset {data_offset:#x} cannot \
                 hold {code_len} code bytes and {data_len} data bytes (data must be 8-aligned, \
                 after the code, and the buffer must not wrap the address space)"
            ),
            EmitError::BadTable { group, reason } => write!(f, "stencil group {group}: {reason}"),
            EmitError::ForeignTable { target } => {
                write!(
                    f,
                    "stencil table is for {target}, which this machine cannot run"
                )
            }
            EmitError::TooLarge => f.write_str(
                "program is larger than 4 GiB of code or data, or has 2^32 instructions or labels",
            ),
            EmitError::Memory(e) => write!(f, "executable memory: {e}"),
            EmitError::PerfMap(e) => e.fmt(f),
            EmitError::GdbUnavailable => f.write_str(
                "GDB registration requested, but patchjit was built without its `gdb-jit` feature",
            ),
        }
    }
}

impl std::error::Error for EmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmitError::Patch { error, .. } => Some(error),
            EmitError::Memory(e) | EmitError::PerfMap(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Emitter::bind`] refused a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelProblem {
    /// Another emitter made it: its index means nothing here.
    Foreign,
    /// It was bound before; a label names exactly one instruction.
    AlreadyBound,
}

/// How the finished unit is placed, protected and made visible to tools.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Where the memory comes from (fresh mapping, near an address, or an arena).
    pub placement: Placement,
    /// Whether data pages end up read-only (default) or read+write.
    pub data_protection: DataProtection,
    /// Append one line per instruction to `/tmp/perf-<pid>.map` (for `perf report`). A path
    /// another user planted (a symlink, a file not ours) is [`EmitError::PerfMap`].
    pub perf_map: bool,
    /// Register the unit with GDB's JIT interface (one symbol per instruction). Needs the
    /// `gdb-jit` feature (on by default); without it, [`Emitter::finish`] refuses.
    pub gdb: bool,
}

/// Sizes and offsets from pass 1. It borrows its emitter, so the program cannot change while a
/// layout of it exists, and [`Emitter::emit_into`] refuses another emitter's layout. A stale
/// layout does not compile:
///
/// ```compile_fail,E0502
/// # use patchjit::{Emitter, Instruction, StencilTable};
/// # static TABLE: StencilTable = StencilTable {
/// #     target: "x86_64-unknown-linux-gnu", groups: &[], symbols: &[], custom_values: &[],
/// # };
/// let mut e = Emitter::new(&TABLE, &[]).unwrap();
/// let layout = e.layout().unwrap();
/// let _ = e.push(Instruction::new(0)); // error: `e` is borrowed by `layout`
/// let mut buf = [0u8; 64];
/// e.emit_into(&layout, &mut buf, 0x1000, 0).unwrap();
/// ```
#[derive(Clone)]
pub struct Layout<'e> {
    emitter: &'e Emitter<'e>,
    /// Code offset of each instruction.
    instruction_starts: Vec<u32>,
    /// Offset of the trampoline area (the end of the last group's code, 8-aligned).
    trampolines_offset: u32,
    /// Symbols that get a trampoline, in slot order.
    trampoline_symbols: Vec<u16>,
    code_len: u32,
    data_len: u32,
}

impl Layout<'_> {
    /// Code offset of each instruction, e.g. to map addresses back to instructions.
    pub fn instruction_starts(&self) -> &[u32] {
        &self.instruction_starts
    }

    /// Code bytes including trampolines: what a buffer for [`Emitter::emit_into`] needs before
    /// the data.
    pub fn code_len(&self) -> u32 {
        self.code_len
    }

    /// Data bytes (each group's data starts 8-aligned).
    pub fn data_len(&self) -> u32 {
        self.data_len
    }
}

impl fmt::Debug for Layout<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layout")
            .field("instruction_starts", &self.instruction_starts)
            .field("trampolines_offset", &self.trampolines_offset)
            .field("trampoline_symbols", &self.trampoline_symbols)
            .field("code_len", &self.code_len)
            .field("data_len", &self.data_len)
            .finish()
    }
}

/// Source of [`Emitter`] identities, which tell its labels from other emitters'. Wraps after
/// 2^32 emitters; a clash needs two emitters 2^32 creations apart alive at once.
static NEXT_EMITTER: AtomicU32 = AtomicU32::new(0);

/// Builds one program from a stencil table.
pub struct Emitter<'t> {
    /// Identity stamped on this emitter's labels.
    id: u32,
    table: &'t StencilTable,
    /// Resolved address of each `table.symbols` entry.
    symbols: Vec<Option<u64>>,
    /// Groups already checked (on first use, so that an emitter costs nothing per unused group).
    checked: Vec<bool>,
    shim: Option<u16>,
    terminator: Option<u16>,
    instructions: Vec<Instruction>,
    /// Pass 1 for the instructions, done as they are pushed so that `layout` need not walk
    /// them again: each one's code offset counted from the first instruction.
    starts: Vec<u32>,
    /// Code bytes of the instructions pushed so far.
    code_end: u64,
    /// Their data bytes, each group's data rounded up to 8 (the next one starts aligned).
    data_rounded: u64,
    /// Padding that rounding added to the last instruction with data (not part of the unit).
    last_data_pad: u64,
    /// Symbols the pushed instructions may need a trampoline for.
    needs: Vec<bool>,
    /// `table.custom_values.len()` values per instruction.
    custom: Vec<u64>,
    labels: Vec<Option<u32>>,
    executor: u64,
}

/// Checks one stencil against the rules the patch functions and the emitter rely on: every
/// hole's footprint inside the stencil, symbol and custom-value indices in range, trampolines
/// only in code (the trampoline area is code) and with a symbol.
fn check_stencil(
    group: &'static str,
    section: Section,
    stencil: &Stencil,
    table: &StencilTable,
) -> Result<(), EmitError> {
    let which = match section {
        Section::Code => "code",
        Section::Data => "data",
    };
    let bad = |reason: String| EmitError::BadTable { group, reason };
    if stencil.body.len() > stencil.len as usize {
        return Err(bad(format!(
            "{which} body is longer than its declared length {}",
            stencil.len
        )));
    }
    for hole in stencil.holes {
        let footprint = Footprint::of(hole.patch);
        if hole.offset < footprint.before {
            // The bytes a relaxation reads and rewrites: the stencil's own where it has them
            // and no other hole writes them, a neighbour's (anything) before its start.
            let first = i64::from(hole.offset) - i64::from(footprint.before);
            let known: Vec<Option<u8>> = (first..i64::from(hole.offset))
                .map(|i| {
                    let i = u32::try_from(i).ok()?;
                    let written = stencil.holes.iter().any(|h| {
                        let f = Footprint::of(h.patch);
                        let span =
                            h.offset.saturating_sub(f.before)..h.offset.saturating_add(f.len);
                        !std::ptr::eq(h, hole) && span.contains(&i)
                    });
                    (!written).then(|| stencil.body.get(i as usize).copied().unwrap_or(0))
                })
                .collect();
            if Footprint::may_rewrite_before(hole.patch, &known) {
                return Err(bad(format!(
                    "{which} hole at {:#x} ({:?}) may be relaxed, rewriting the {} bytes \
                     before it, which are outside the stencil",
                    hole.offset, hole.patch, footprint.before
                )));
            }
        }
        if hole
            .offset
            .checked_add(footprint.len)
            .is_none_or(|end| end > stencil.len)
        {
            return Err(bad(format!(
                "{which} hole at {:#x} ({:?}, {} bytes) is outside the {}-byte stencil",
                hole.offset, hole.patch, footprint.len, stencil.len
            )));
        }
        if hole
            .symbol
            .is_some_and(|s| s as usize >= table.symbols.len())
        {
            return Err(bad(format!(
                "{which} hole at {:#x} names symbol index {:?}",
                hole.offset, hole.symbol
            )));
        }
        if let HoleValue::Custom(i) = hole.value {
            if i as usize >= table.custom_values.len() {
                return Err(bad(format!(
                    "{which} hole at {:#x} uses undeclared custom value {i}",
                    hole.offset
                )));
            }
        }
        if hole.patch == PatchKind::Aarch64Trampoline {
            if section == Section::Data {
                return Err(bad(format!(
                    "data hole at {:#x} is a trampoline branch; only code can branch",
                    hole.offset
                )));
            }
            if hole.symbol.is_none() {
                return Err(bad(format!(
                    "code trampoline hole at {:#x} has no symbol",
                    hole.offset
                )));
            }
        }
    }
    Ok(())
}

/// Whether code compiled for `triple` can run here: the same architecture and the same calling
/// convention family (Windows, Apple and other ELF systems differ in ABI details such as
/// argument registers on x86-64 and the platform register on AArch64).
fn host_runs(triple: &str) -> bool {
    let arch = triple.split('-').next().unwrap_or("");
    let arch = match arch {
        "i686" | "i386" => "x86",
        "arm64" => "aarch64",
        other => other,
    };
    let family = |os: &str| match os {
        "windows" => "windows",
        "macos" | "ios" => "apple",
        _ => "other",
    };
    let table_os = if triple.contains("windows") {
        "windows"
    } else if triple.contains("apple") || triple.contains("darwin") {
        "macos"
    } else {
        "linux"
    };
    arch == std::env::consts::ARCH && family(table_os) == family(std::env::consts::OS)
}

impl<'t> Emitter<'t> {
    /// Resolves the table's symbols with `resolver` (name → address, e.g.
    /// `&[("helper", helper as usize)]`). Symbols the resolver lacks are only an error if an
    /// emitted hole needs them; each group is checked against the table when first used
    /// ([`EmitError::BadTable`] from `push`, `set_shim` or `set_terminator`).
    pub fn new(table: &'t StencilTable, resolver: &[(&str, usize)]) -> Result<Self, EmitError> {
        let symbols = table
            .symbols
            .iter()
            .map(|name| {
                resolver
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|&(_, a)| a as u64)
            })
            .collect();
        if table.groups.len() > u16::MAX as usize {
            return Err(EmitError::BadTable {
                group: "",
                reason: "more than 65535 groups".into(),
            });
        }
        Ok(Emitter {
            id: NEXT_EMITTER.fetch_add(1, Ordering::Relaxed),
            table,
            symbols,
            checked: vec![false; table.groups.len()],
            shim: None,
            terminator: None,
            instructions: Vec::new(),
            starts: Vec::new(),
            code_end: 0,
            data_rounded: 0,
            last_data_pad: 0,
            needs: vec![false; table.symbols.len()],
            custom: Vec::new(),
            labels: Vec::new(),
            executor: 0,
        })
    }

    /// Index of the group named `name`.
    pub fn group(&self, name: &str) -> Option<u16> {
        self.table
            .groups
            .iter()
            .position(|g| g.name == name)
            .map(|i| i as u16)
    }

    /// Index of the client-defined hole value `name` (for [`Emitter::set_custom`]).
    pub fn custom_value(&self, name: &str) -> Option<u16> {
        self.table
            .custom_values
            .iter()
            .position(|&n| n == name)
            .map(|i| i as u16)
    }

    /// Checks `group` the first time it is used: it exists, and its stencils are consistent
    /// with the table (holes inside the bodies, symbol indices in range). A table may be
    /// large and an emitter used for a short program, so unused groups cost nothing.
    /// Returns whether this was the first use.
    fn check_group(&mut self, group: u16) -> Result<bool, EmitError> {
        let Some(&checked) = self.checked.get(group as usize) else {
            return Err(EmitError::NoSuchGroup { group });
        };
        if !checked {
            let g = self.group_of(group);
            check_stencil(g.name, Section::Code, &g.code, self.table)?;
            check_stencil(g.name, Section::Data, &g.data, self.table)?;
            self.checked[group as usize] = true;
        }
        Ok(!checked)
    }

    /// Symbols `group`'s code may need a trampoline for.
    fn trampolines(&self, group: u16) -> impl Iterator<Item = u16> + 't {
        self.group_of(group)
            .code
            .holes
            .iter()
            .filter(|h| h.patch == PatchKind::Aarch64Trampoline)
            .filter_map(|h| h.symbol)
    }

    /// Emits `group` first, with no instruction: the unit's entry (e.g. a C-ABI to
    /// `preserve_none` shim that calls the first instruction).
    pub fn set_shim(&mut self, group: u16) -> Result<(), EmitError> {
        self.check_group(group)?;
        self.shim = Some(group);
        Ok(())
    }

    /// Emits `group` after the last instruction, with no instruction, so falling off the end
    /// lands somewhere defined.
    pub fn set_terminator(&mut self, group: u16) -> Result<(), EmitError> {
        self.check_group(group)?;
        self.terminator = Some(group);
        Ok(())
    }

    /// Appends an instruction and returns its index.
    pub fn push(&mut self, instruction: Instruction) -> Result<usize, EmitError> {
        // Destinations and labels name instructions with 32 bits.
        if self.instructions.len() >= u32::MAX as usize {
            return Err(EmitError::TooLarge);
        }
        let first_use = self.check_group(instruction.group)?;
        let start = u32::try_from(self.code_end).map_err(|_| EmitError::TooLarge)?;
        let group = self.group_of(instruction.group);
        let data = group.data.len as u64;
        if data != 0 {
            self.data_rounded += data.next_multiple_of(8);
            self.last_data_pad = data.next_multiple_of(8) - data;
        }
        if first_use {
            for s in self.trampolines(instruction.group) {
                self.needs[s as usize] = true;
            }
        }
        self.starts.push(start);
        self.code_end += group.code.len as u64;
        self.instructions.push(instruction);
        let n = self.table.custom_values.len();
        if n != 0 {
            self.custom.resize(self.custom.len() + n, 0);
        }
        Ok(self.instructions.len() - 1)
    }

    /// Makes room for `additional` more instructions, so pushing a program of known size
    /// does not reallocate. An impossible size is an error, not an abort.
    pub fn reserve(&mut self, additional: usize) -> Result<(), EmitError> {
        let too_big = || {
            EmitError::Memory(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("cannot reserve room for {additional} more instructions"),
            ))
        };
        let custom = additional
            .checked_mul(self.table.custom_values.len())
            .ok_or_else(too_big)?;
        self.instructions
            .try_reserve(additional)
            .and_then(|()| self.starts.try_reserve(additional))
            .and_then(|()| self.custom.try_reserve(custom))
            .map_err(|_| too_big())
    }

    /// Number of instructions pushed so far.
    pub fn len(&self) -> usize {
        self.instructions.len()
    }

    /// True before the first [`Emitter::push`].
    pub fn is_empty(&self) -> bool {
        self.instructions.is_empty()
    }

    /// Sets client-defined hole value `value_id` of instruction `index`.
    pub fn set_custom(&mut self, index: usize, value_id: u16, value: u64) -> Result<(), EmitError> {
        let n = self.table.custom_values.len();
        if index >= self.instructions.len() {
            return Err(EmitError::NoSuchInstruction {
                index,
                len: self.instructions.len(),
            });
        }
        if value_id as usize >= n {
            return Err(EmitError::NoSuchCustomValue {
                value_id,
                declared: n,
            });
        }
        self.custom[index * n + value_id as usize] = value;
        Ok(())
    }

    /// A new, unbound label.
    pub fn label(&mut self) -> Result<Label, EmitError> {
        let index = u32::try_from(self.labels.len()).map_err(|_| EmitError::TooLarge)?;
        self.labels.push(None);
        Ok(Label {
            emitter: self.id,
            index,
        })
    }

    /// Binds `label` to the next instruction to be pushed.
    pub fn bind(&mut self, label: Label) -> Result<(), EmitError> {
        let problem = |problem| EmitError::BadLabel { label, problem };
        let slot = (label.emitter == self.id)
            .then(|| self.labels.get_mut(label.index as usize))
            .flatten()
            .ok_or(problem(LabelProblem::Foreign))?;
        if slot.is_some() {
            return Err(problem(LabelProblem::AlreadyBound));
        }
        // `push` keeps the instruction count within 32 bits.
        *slot = Some(self.instructions.len() as u32);
        Ok(())
    }

    fn group_of(&self, index: u16) -> &'t StencilGroup {
        &self.table.groups[index as usize]
    }

    /// Pass 1: sizes, instruction starts and the trampolines needed. The instructions' part
    /// was done by [`Emitter::push`]; this adds the shim before them and the terminator after.
    pub fn layout(&self) -> Result<Layout<'_>, EmitError> {
        let shim = self.shim.map(|g| self.group_of(g));
        let terminator = self.terminator.map(|g| self.group_of(g));
        let code_of = |g: Option<&StencilGroup>| g.map_or(0, |g| g.code.len as u64);
        let data_of = |g: Option<&StencilGroup>| g.map_or(0, |g| g.data.len as u64);
        let shim_code = code_of(shim);
        let code = shim_code + self.code_end + code_of(terminator);
        // Each group's data starts 8-aligned: every piece but the last one with data rounds up.
        let (shim_data, terminator_data) = (data_of(shim), data_of(terminator));
        let pad = if terminator_data != 0 {
            terminator_data.next_multiple_of(8) - terminator_data
        } else if self.data_rounded != 0 {
            self.last_data_pad
        } else {
            shim_data.next_multiple_of(8) - shim_data
        };
        let data =
            shim_data.next_multiple_of(8) + self.data_rounded + terminator_data.next_multiple_of(8)
                - pad;
        let mut needs = self.needs.clone();
        for g in [self.shim, self.terminator].into_iter().flatten() {
            for s in self.trampolines(g) {
                needs[s as usize] = true;
            }
        }
        let shim_code = u32::try_from(shim_code).map_err(|_| EmitError::TooLarge)?;
        let instruction_starts = if shim_code == 0 {
            self.starts.clone()
        } else {
            let mut starts = Vec::with_capacity(self.starts.len());
            starts.extend(self.starts.iter().map(|&s| s.wrapping_add(shim_code)));
            starts
        };
        let trampolines_offset = code.next_multiple_of(8);
        let trampoline_symbols: Vec<u16> = (0..needs.len() as u16)
            .filter(|&s| needs[s as usize])
            .collect();
        let code_len =
            trampolines_offset + (trampoline_symbols.len() * AARCH64_TRAMPOLINE_SIZE) as u64;
        // Starts are below `code_len`, so they did not wrap when it fits in 32 bits.
        Ok(Layout {
            emitter: self,
            instruction_starts,
            trampolines_offset: u32::try_from(trampolines_offset)
                .map_err(|_| EmitError::TooLarge)?,
            trampoline_symbols,
            code_len: u32::try_from(code_len).map_err(|_| EmitError::TooLarge)?,
            data_len: u32::try_from(data).map_err(|_| EmitError::TooLarge)?,
        })
    }

    /// Pass 2 into `buf` as if `buf[0]` lived at address `base`: code at offset 0, data at
    /// `data_offset` (≥ [`Layout::code_len`], 8-aligned). `buf` must be zero-filled, because
    /// trailing zero bytes of stencils are not copied.
    pub fn emit_into(
        &self,
        layout: &Layout<'_>,
        buf: &mut [u8],
        base: u64,
        data_offset: usize,
    ) -> Result<(), EmitError> {
        if !std::ptr::eq(layout.emitter, self) {
            return Err(EmitError::ForeignLayout);
        }
        let data_end = data_offset.checked_add(layout.data_len as usize);
        if data_offset < layout.code_len as usize
            || data_offset & 7 != 0
            || data_end.is_none_or(|e| e > buf.len())
            || base.checked_add(buf.len() as u64).is_none()
        {
            return Err(EmitError::BadBuffer {
                len: buf.len(),
                base,
                data_offset,
                code_len: layout.code_len,
                data_len: layout.data_len,
            });
        }
        let mut run = Run {
            emitter: self,
            layout,
            target: PatchTarget::new(buf, base),
            data_offset,
            code: 0,
            data: 0,
        };
        if let Some(g) = self.shim {
            run.piece(g, None)?;
        }
        for i in 0..self.instructions.len() {
            run.piece(self.instructions[i].group, Some(i))?;
        }
        if let Some(g) = self.terminator {
            run.piece(g, None)?;
        }
        for (slot, &symbol) in layout.trampoline_symbols.iter().enumerate() {
            let address = self.symbols[symbol as usize].ok_or(EmitError::UnresolvedSymbol {
                site: Site {
                    group: "trampolines",
                    instruction: None,
                },
                symbol: self.table.symbols[symbol as usize],
            })?;
            let offset = layout.trampolines_offset as usize + slot * AARCH64_TRAMPOLINE_SIZE;
            run.target
                .write_aarch64_trampoline(offset, address)
                .map_err(|error| EmitError::Patch {
                    site: Site {
                        group: "trampolines",
                        instruction: None,
                    },
                    section: Section::Code,
                    hole: (slot * AARCH64_TRAMPOLINE_SIZE) as u32,
                    error,
                })?;
        }
        Ok(())
    }

    /// Lays out, allocates, copies, patches and seals the program.
    pub fn finish(self, options: &Options) -> Result<ExecutableCode, EmitError> {
        if !host_runs(self.table.target) {
            return Err(EmitError::ForeignTable {
                target: self.table.target,
            });
        }
        if options.gdb && !cfg!(feature = "gdb-jit") {
            return Err(EmitError::GdbUnavailable);
        }
        let mut layout = self.layout()?;
        let mut memory = WritableMemory::allocate(
            layout.code_len as usize,
            layout.data_len as usize,
            &options.placement,
        )
        .map_err(EmitError::Memory)?;
        let base = memory.code_address() as u64;
        let data_offset = memory.data_address() - memory.code_address();
        let emitter = &self;
        emitter.emit_into(&layout, memory.bytes_mut(), base, data_offset)?;
        let memory = memory
            .seal(layout.code_len as usize, options.data_protection)
            .map_err(EmitError::Memory)?;
        let shim_len = emitter.shim.map_or(0, |g| emitter.group_of(g).code.len);
        let names: Vec<&'static str> = emitter
            .instructions
            .iter()
            .map(|i| emitter.group_of(i.group).name)
            .collect();
        let starts = std::mem::take(&mut layout.instruction_starts);
        let registration = if options.perf_map || options.gdb {
            let mut symbols = Vec::with_capacity(names.len() + 1);
            if emitter.shim.is_some() {
                symbols.push((0, shim_len, "shim".to_string()));
            }
            for (i, (&start, name)) in starts.iter().zip(&names).enumerate() {
                let end = starts.get(i + 1).copied().unwrap_or_else(|| {
                    start + emitter.group_of(emitter.instructions[i].group).code.len
                });
                symbols.push((start, end - start, format!("patchjit:{i}:{name}")));
            }
            Some(
                visibility::register(
                    base as usize,
                    layout.code_len as usize,
                    &symbols,
                    options.perf_map,
                    options.gdb,
                )
                .map_err(EmitError::PerfMap)?,
            )
        } else {
            None
        };
        #[cfg(feature = "disassemble")]
        let regions = Regions {
            instructions_end: emitter
                .instructions
                .last()
                .zip(starts.last())
                .map_or(shim_len, |(i, &start)| {
                    start + emitter.group_of(i.group).code.len
                }),
            terminator_len: emitter
                .terminator
                .map_or(0, |g| emitter.group_of(g).code.len),
            names,
            shim_len,
            trampolines_offset: layout.trampolines_offset,
        };
        Ok(ExecutableCode {
            memory,
            starts,
            #[cfg(feature = "disassemble")]
            regions,
            code_len: layout.code_len as usize,
            _registration: registration,
        })
    }

    /// Sets the value of `_JIT_EXECUTOR` holes (default 0), e.g. a pointer to client state.
    pub fn set_executor(&mut self, executor: u64) {
        self.executor = executor;
    }
}

/// State of pass 2.
struct Run<'e, 't, 'b> {
    emitter: &'e Emitter<'t>,
    layout: &'e Layout<'e>,
    target: PatchTarget<'b>,
    data_offset: usize,
    /// Code offset of the current piece.
    code: usize,
    /// Data offset (relative to `data_offset`) of the current piece.
    data: usize,
}

/// The addresses a piece's holes are computed from.
struct Frame<'i> {
    site_group: u16,
    instruction: Option<(usize, &'i Instruction)>,
    code: u64,
    data: u64,
    /// Address after this piece's code; `None` when nothing follows it.
    continue_to: Option<u64>,
}

impl Run<'_, '_, '_> {
    fn piece(&mut self, g: u16, index: Option<usize>) -> Result<(), EmitError> {
        let emitter = self.emitter;
        let group = emitter.group_of(g);
        let instruction = index.map(|i| (i, &emitter.instructions[i]));
        let falls_off = index.is_some_and(|i| i + 1 == emitter.instructions.len())
            && emitter.terminator.is_none();
        let code_at = self.code;
        let mut frame = Frame {
            site_group: g,
            instruction,
            code: self.target.base + code_at as u64,
            data: 0,
            continue_to: (!falls_off)
                .then_some(self.target.base + (code_at + group.code.len as usize) as u64),
        };
        if group.data.len != 0 {
            self.data = self.data.next_multiple_of(8);
            let data_at = self.data_offset + self.data;
            frame.data = self.target.base + data_at as u64;
            copy_small(&mut self.target.bytes[data_at..], group.data.body);
            for hole in group.data.holes {
                self.patch(&frame, hole, data_at, Section::Data)?;
            }
            self.data += group.data.len as usize;
        }
        copy_small(&mut self.target.bytes[code_at..], group.code.body);
        for hole in group.code.holes {
            self.patch(&frame, hole, code_at, Section::Code)?;
        }
        self.code += group.code.len as usize;
        Ok(())
    }

    fn site(&self, frame: &Frame) -> Site {
        Site {
            group: self.emitter.group_of(frame.site_group).name,
            instruction: frame.instruction.map(|(i, _)| i),
        }
    }

    fn destination(&self, frame: &Frame, branch: BranchKind) -> Result<u64, EmitError> {
        let site = || self.site(frame);
        let instruction = frame.instruction.map(|(_, ins)| ins);
        let destination = match branch {
            BranchKind::Jump => instruction.and_then(|i| i.jump_target),
            BranchKind::Error => instruction.and_then(|i| i.error_target),
        }
        .ok_or_else(|| EmitError::MissingDestination {
            site: site(),
            branch,
        })?;
        let index = match destination {
            Destination::Instruction(i) => Some(i),
            Destination::Label(l) => (l.emitter == self.emitter.id)
                .then(|| self.emitter.labels.get(l.index as usize).copied().flatten())
                .flatten(),
        };
        let start = index.and_then(|i| self.layout.instruction_starts.get(i as usize));
        let start = start.ok_or_else(|| EmitError::BadDestination {
            site: site(),
            branch,
            destination,
        })?;
        Ok(self.target.base + *start as u64)
    }

    #[inline(always)]
    fn patch(
        &mut self,
        frame: &Frame,
        hole: &Hole,
        at: usize,
        section: Section,
    ) -> Result<(), EmitError> {
        let emitter = self.emitter;
        let ins = frame.instruction.map(|(_, i)| i);
        let field = |f: fn(&Instruction) -> u64| ins.map_or(0, f);
        let base = match hole.value {
            HoleValue::Code => frame.code,
            HoleValue::Continue => frame.continue_to.ok_or_else(|| EmitError::FallsOffEnd {
                site: self.site(frame),
            })?,
            HoleValue::Data => frame.data,
            HoleValue::Executor => emitter.executor,
            HoleValue::Oparg => field(|i| i.oparg),
            HoleValue::Operand0 => field(|i| i.operand0),
            HoleValue::Operand0Hi => field(|i| i.operand0 >> 32),
            HoleValue::Operand0Lo => field(|i| i.operand0 & 0xFFFF_FFFF),
            HoleValue::Operand1 => field(|i| i.operand1),
            HoleValue::Operand1Hi => field(|i| i.operand1 >> 32),
            HoleValue::Operand1Lo => field(|i| i.operand1 & 0xFFFF_FFFF),
            HoleValue::Target => field(|i| i.target),
            HoleValue::JumpTarget => self.destination(frame, BranchKind::Jump)?,
            HoleValue::ErrorTarget => self.destination(frame, BranchKind::Error)?,
            HoleValue::Zero => 0,
            HoleValue::Custom(c) => match frame.instruction {
                Some((i, _)) => emitter.custom[i * emitter.table.custom_values.len() + c as usize],
                None => 0,
            },
        };
        let symbol = match hole.symbol {
            Some(s) => emitter.symbols[s as usize].ok_or_else(|| EmitError::UnresolvedSymbol {
                site: self.site(frame),
                symbol: emitter.table.symbols[s as usize],
            })?,
            None => 0,
        };
        let value = base.wrapping_add(symbol).wrapping_add(hole.addend as u64);
        let offset = at + hole.offset as usize;
        let mut kind = hole.patch;
        let mut value = value;
        if kind == PatchKind::Aarch64Trampoline {
            kind = PatchKind::Aarch64Branch26r;
            let location = self.target.base + offset as u64;
            let distance = value.wrapping_sub(location) as i64;
            if !(-(1i64 << 27)..(1i64 << 27)).contains(&distance) {
                let symbol = hole.symbol.unwrap_or(0);
                let slot = self
                    .layout
                    .trampoline_symbols
                    .binary_search(&symbol)
                    .unwrap_or(0);
                value = self.target.base
                    + self.layout.trampolines_offset as u64
                    + (slot * AARCH64_TRAMPOLINE_SIZE) as u64;
            }
        }
        self.target
            .apply(kind, offset, value)
            .map_err(|error| EmitError::Patch {
                site: self.site(frame),
                section,
                hole: hole.offset,
                error,
            })
    }
}

/// Copies `src` to the start of `dst` (`dst` is at least as long, checked by the layout).
/// Stencils are mostly a few dozen bytes, where a call to `memcpy` costs more than the copy:
/// sizes up to 32 use two overlapping loads and stores.
#[inline]
fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    let dst = &mut dst[..n];
    fn word<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
        b[at..at + N].try_into().expect("N bytes")
    }
    match n {
        0 => {}
        1..=3 => dst.copy_from_slice(src),
        4..=7 => {
            let (a, b) = (word::<4>(src, 0), word::<4>(src, n - 4));
            dst[..4].copy_from_slice(&a);
            dst[n - 4..].copy_from_slice(&b);
        }
        8..=15 => {
            let (a, b) = (word::<8>(src, 0), word::<8>(src, n - 8));
            dst[..8].copy_from_slice(&a);
            dst[n - 8..].copy_from_slice(&b);
        }
        16..=32 => {
            let (a, b) = (word::<16>(src, 0), word::<16>(src, n - 16));
            dst[..16].copy_from_slice(&a);
            dst[n - 16..].copy_from_slice(&b);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// A sealed, runnable program. Freed (and unregistered from perf/GDB) on drop.
pub struct ExecutableCode {
    memory: ExecutableMemory,
    starts: Vec<u32>,
    #[cfg(feature = "disassemble")]
    regions: Regions,
    code_len: usize,
    _registration: Option<Registration>,
}

/// What a listing needs beyond the instruction starts.
#[cfg(feature = "disassemble")]
struct Regions {
    /// Group name of each instruction.
    names: Vec<&'static str>,
    shim_len: u32,
    /// End of the last instruction's code, where the terminator (if any) starts.
    instructions_end: u32,
    terminator_len: u32,
    trampolines_offset: u32,
}

impl ExecutableCode {
    /// Address of the first code byte: the shim if one was set, else instruction 0.
    pub fn entry_address(&self) -> usize {
        self.memory.code_address()
    }

    /// The entry as a function pointer of type `F`.
    ///
    /// # Safety
    /// `F` must be a function-pointer type whose signature and calling convention match what
    /// the entry code expects (for a CPython-style shim: `extern "C" fn(...) -> ...`), and the
    /// pointer must not be called after `self` is dropped. An `F` that is not pointer-sized
    /// does not compile:
    ///
    /// ```compile_fail,E0080
    /// fn byte(code: &patchjit::ExecutableCode) -> u8 {
    ///     unsafe { code.entry() } // error: F must be a function pointer
    /// }
    /// # let _ = byte as fn(&_) -> u8;
    /// ```
    pub unsafe fn entry<F: Copy>(&self) -> F {
        const {
            assert!(
                std::mem::size_of::<F>() == std::mem::size_of::<usize>(),
                "F must be a function pointer"
            )
        };
        let address = self.entry_address();
        // SAFETY: size checked at compile time; validity is the caller's promise.
        unsafe { std::mem::transmute_copy(&address) }
    }

    /// Address where instruction `index`'s code starts.
    pub fn instruction_start(&self, index: usize) -> Option<usize> {
        self.starts
            .get(index)
            .map(|&s| self.memory.code_address() + s as usize)
    }

    /// Code bytes (including trampolines).
    pub fn code_len(&self) -> usize {
        self.code_len
    }

    /// The code as bytes, e.g. for a disassembler.
    pub fn code(&self) -> &[u8] {
        // SAFETY: the code pages are mapped readable for at least `code_len` bytes while `self`
        // lives.
        unsafe {
            std::slice::from_raw_parts(self.memory.code_address() as *const u8, self.code_len)
        }
    }

    /// Address of the data pages.
    pub fn data_address(&self) -> usize {
        self.memory.data_address()
    }

    /// A listing of the code as it runs (holes patched, relaxations applied): the shim, each
    /// instruction under its `patchjit:<index>:<group>` name (the perf map's and GDB's), then
    /// the trampolines, at their real addresses.
    #[cfg(feature = "disassemble")]
    pub fn disassemble(&self) -> String {
        use std::fmt::Write;
        let arch = if cfg!(target_arch = "aarch64") {
            patchjit_disasm::Arch::Aarch64
        } else if cfg!(target_arch = "x86") {
            patchjit_disasm::Arch::X86
        } else {
            patchjit_disasm::Arch::X86_64
        };
        let r = &self.regions;
        let code = self.code();
        let base = self.entry_address() as u64;
        let mut regions = Vec::with_capacity(self.starts.len() + 2);
        if r.shim_len > 0 {
            regions.push(("shim".to_string(), 0, r.shim_len));
        }
        for (i, (&start, name)) in self.starts.iter().zip(&r.names).enumerate() {
            let end = self
                .starts
                .get(i + 1)
                .copied()
                .unwrap_or(r.instructions_end);
            regions.push((format!("patchjit:{i}:{name}"), start, end));
        }
        if r.terminator_len > 0 {
            let end = r.instructions_end + r.terminator_len;
            regions.push(("terminator".to_string(), r.instructions_end, end));
        }
        if (r.trampolines_offset as usize) < code.len() {
            regions.push((
                "trampolines".to_string(),
                r.trampolines_offset,
                code.len() as u32,
            ));
        }
        let mut out = String::new();
        for (label, start, end) in regions {
            let _ = writeln!(out, "{label}:");
            let bytes = &code[start as usize..end as usize];
            let address = base + u64::from(start);
            for line in patchjit_disasm::decode(arch, bytes, address) {
                let _ = writeln!(
                    out,
                    "  {}",
                    patchjit_disasm::format_line(&line, bytes, address)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stencil::Hole;

    const fn hole(
        offset: u32,
        patch: PatchKind,
        value: HoleValue,
        symbol: Option<u16>,
        addend: i64,
    ) -> Hole {
        Hole {
            offset,
            patch,
            value,
            symbol,
            addend,
        }
    }

    const EMPTY: Stencil = Stencil {
        len: 0,
        body: &[],
        holes: &[],
    };

    /// Hand-assembled x86-64 groups: rax is the accumulator, the entry is called as
    /// `extern "sysv64" fn() -> u64`.
    static GROUPS: &[StencilGroup] = &[
        // movabs rax, OPERAND0; jmp CONTINUE
        StencilGroup {
            name: "load",
            code: Stencil {
                len: 15,
                body: &[0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0xE9],
                holes: &[
                    hole(2, PatchKind::Abs64, HoleValue::Operand0, None, 0),
                    hole(11, PatchKind::Rel32, HoleValue::Continue, None, -4),
                ],
            },
            data: EMPTY,
        },
        // movabs rcx, OPERAND0; add rax, rcx; jmp CONTINUE
        StencilGroup {
            name: "add",
            code: Stencil {
                len: 18,
                body: &[0x48, 0xB9, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x01, 0xC8, 0xE9],
                holes: &[
                    hole(2, PatchKind::Abs64, HoleValue::Operand0, None, 0),
                    hole(14, PatchKind::Rel32, HoleValue::Continue, None, -4),
                ],
            },
            data: EMPTY,
        },
        // test rax, rax; jz JUMP_TARGET; jmp CONTINUE
        StencilGroup {
            name: "jump_if_zero",
            code: Stencil {
                len: 14,
                body: &[0x48, 0x85, 0xC0, 0x0F, 0x84, 0, 0, 0, 0, 0xE9],
                holes: &[
                    hole(5, PatchKind::Rel32, HoleValue::JumpTarget, None, -4),
                    hole(10, PatchKind::Rel32, HoleValue::Continue, None, -4),
                ],
            },
            data: EMPTY,
        },
        // mov rdi, rax; sub rsp, 8; call [rip + GOT(helper)]; add rsp, 8; jmp CONTINUE
        // (the stack is realigned to 16 bytes for the call); data: GOT slot
        StencilGroup {
            name: "call",
            code: Stencil {
                len: 22,
                body: &[
                    0x48, 0x89, 0xC7, 0x48, 0x83, 0xEC, 0x08, 0xFF, 0x15, 0, 0, 0, 0, 0x48, 0x83,
                    0xC4, 0x08, 0xE9,
                ],
                holes: &[
                    hole(9, PatchKind::X86_64Rel32x, HoleValue::Data, None, -4),
                    hole(18, PatchKind::Rel32, HoleValue::Continue, None, -4),
                ],
            },
            data: Stencil {
                len: 8,
                body: &[],
                holes: &[hole(0, PatchKind::Abs64, HoleValue::Zero, Some(0), 0)],
            },
        },
        // ret
        StencilGroup {
            name: "ret",
            code: Stencil {
                len: 1,
                body: &[0xC3],
                holes: &[],
            },
            data: EMPTY,
        },
    ];

    /// The hand-assembled code is ABI-neutral (the helper is `sysv64` everywhere), so the table
    /// names the host's x86-64 triple.
    static TABLE: StencilTable = StencilTable {
        target: if cfg!(windows) {
            "x86_64-pc-windows-msvc"
        } else {
            "x86_64-unknown-linux-gnu"
        },
        groups: GROUPS,
        symbols: &["double_it"],
        custom_values: &[],
    };

    #[cfg(target_arch = "x86_64")]
    extern "sysv64" fn double_it(x: u64) -> u64 {
        x * 2
    }

    fn ins(e: &Emitter, name: &str, operand0: u64) -> Instruction {
        Instruction {
            operand0,
            ..Instruction::new(e.group(name).unwrap())
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn run(e: Emitter, options: &Options) -> u64 {
        let code = e.finish(options).unwrap();
        // SAFETY: the hand-assembled program is a function returning rax that follows the System V
        // convention (it clobbers rdi, which Windows callers expect preserved).
        let f: extern "sysv64" fn() -> u64 = unsafe { code.entry() };
        f()
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn runs_arithmetic_branches_and_a_helper_call() {
        let resolver = [("double_it", double_it as *const () as usize)];
        for (start, expected) in [(5, (5 + 1) * 2 + 100), (0, 100)] {
            let mut e = Emitter::new(&TABLE, &resolver).unwrap();
            let skip = e.label().unwrap();
            let load = ins(&e, "load", start);
            e.push(load).unwrap();
            let mut jz = ins(&e, "jump_if_zero", 0);
            jz.jump_target = Some(Destination::Label(skip));
            e.push(jz).unwrap();
            let add = ins(&e, "add", 1);
            e.push(add).unwrap();
            let call = ins(&e, "call", 0);
            e.push(call).unwrap();
            e.bind(skip).unwrap();
            let add = ins(&e, "add", 100);
            e.push(add).unwrap();
            let ret = ins(&e, "ret", 0);
            e.push(ret).unwrap();
            assert_eq!(run(e, &Options::default()), expected);
        }
    }

    /// The listing shows the patched, relaxed code under each instruction's name.
    #[cfg(all(feature = "disassemble", target_arch = "x86_64"))]
    #[test]
    fn disassembly_of_emitted_code() {
        let resolver = [("double_it", double_it as *const () as usize)];
        let mut e = Emitter::new(&TABLE, &resolver).unwrap();
        let load = ins(&e, "load", 5);
        e.push(load).unwrap();
        let call = ins(&e, "call", 0);
        e.push(call).unwrap();
        let ret = ins(&e, "ret", 0);
        e.push(ret).unwrap();
        let code = e
            .finish(&Options {
                placement: Placement::Near(
                    ((double_it as *const () as usize) + (512 << 20)) & !0xFFFF,
                ),
                ..Options::default()
            })
            .unwrap();
        let listing = code.disassemble();
        let lines: Vec<&str> = listing.lines().collect();
        let at = |i: usize| code.instruction_start(i).unwrap();
        assert_eq!(lines[0], "patchjit:0:load:", "{listing}");
        assert!(
            lines[1].starts_with(&format!("  {:>6x}: 48 b8 05 00", at(0))),
            "{listing}"
        );
        assert!(lines[1].ends_with("mov rax,5"), "{listing}");
        assert!(lines.contains(&"patchjit:1:call:"), "{listing}");
        // The GOT call was relaxed to `nop; call rel32` straight to the helper.
        let call_line = lines.iter().find(|l| l.contains(" call ")).expect("a call");
        assert!(
            call_line.ends_with(&format!("call {:016X}h", double_it as *const () as usize)),
            "{listing}"
        );
        assert_eq!(
            lines.last().map(|l| l.ends_with("ret")),
            Some(true),
            "{listing}"
        );
    }

    #[test]
    fn missing_destinations_symbols_and_fall_through_are_errors() {
        let mut e = Emitter::new(&TABLE, &[]).unwrap();
        let jz = ins(&e, "jump_if_zero", 0);
        e.push(jz).unwrap();
        let ret = ins(&e, "ret", 0);
        e.push(ret).unwrap();
        let layout = e.layout().unwrap();
        let mut buf = vec![0u8; 4096];
        let err = e.emit_into(&layout, &mut buf, 0x1000, 64).unwrap_err();
        assert!(
            matches!(
                err,
                EmitError::MissingDestination {
                    branch: BranchKind::Jump,
                    ..
                }
            ),
            "{err}"
        );

        let mut e = Emitter::new(&TABLE, &[]).unwrap();
        let call = ins(&e, "call", 0);
        e.push(call).unwrap();
        let ret = ins(&e, "ret", 0);
        e.push(ret).unwrap();
        let err = e
            .emit_into(&e.layout().unwrap(), &mut buf, 0x1000, 64)
            .unwrap_err();
        assert!(
            matches!(
                err,
                EmitError::UnresolvedSymbol {
                    symbol: "double_it",
                    ..
                }
            ),
            "{err}"
        );

        let mut e = Emitter::new(&TABLE, &[]).unwrap();
        let add = ins(&e, "add", 0);
        e.push(add).unwrap();
        let err = e
            .emit_into(&e.layout().unwrap(), &mut buf, 0x1000, 64)
            .unwrap_err();
        assert!(
            matches!(
                err,
                EmitError::FallsOffEnd {
                    site: Site {
                        instruction: Some(0),
                        ..
                    }
                }
            ),
            "{err}"
        );
        e.set_terminator(e.group("ret").unwrap()).unwrap();
        e.emit_into(&e.layout().unwrap(), &mut buf, 0x1000, 64)
            .unwrap();

        let mut e = Emitter::new(&TABLE, &[]).unwrap();
        let label = e.label().unwrap();
        let mut jz = ins(&e, "jump_if_zero", 0);
        jz.jump_target = Some(Destination::Label(label));
        e.push(jz).unwrap();
        e.set_terminator(e.group("ret").unwrap()).unwrap();
        let err = e
            .emit_into(&e.layout().unwrap(), &mut buf, 0x1000, 64)
            .unwrap_err();
        assert!(matches!(err, EmitError::BadDestination { .. }), "{err}");
        assert!(matches!(
            e.push(Instruction::new(99)),
            Err(EmitError::NoSuchGroup { group: 99 })
        ));
    }

    #[test]
    fn far_helper_keeps_the_indirect_call() {
        let mut e = Emitter::new(&TABLE, &[("double_it", 0x7000_0000_0000)]).unwrap();
        let call = ins(&e, "call", 0);
        e.push(call).unwrap();
        e.set_terminator(e.group("ret").unwrap()).unwrap();
        let layout = e.layout().unwrap();
        let mut buf = vec![0u8; 64];
        e.emit_into(&layout, &mut buf, 0x1000, 32).unwrap();
        assert_eq!(
            &buf[7..9],
            &[0xFF, 0x15],
            "helper far away: call stays indirect"
        );
        assert_eq!(
            &buf[32..40],
            &0x7000_0000_0000u64.to_le_bytes(),
            "GOT slot holds the helper"
        );
        assert_eq!(
            i32::from_le_bytes(buf[9..13].try_into().unwrap()),
            32 - 13,
            "call [rip+slot]"
        );
    }

    /// Hand-made hostile groups, each refused on first use with the rule it breaks, before a
    /// byte is written: none may make a patch touch another stencil's bytes.
    #[test]
    fn bad_tables_are_rejected() {
        const fn code(len: u32, body: &'static [u8], holes: &'static [Hole]) -> Stencil {
            Stencil { len, body, holes }
        }
        const fn group(name: &'static str, code: Stencil, data: Stencil) -> StencilGroup {
            StencilGroup { name, code, data }
        }
        const REL32X_SLOT: &[Hole] = &[hole(0, PatchKind::Abs64, HoleValue::Code, None, 0)];
        static BAD: &[StencilGroup] = &[
            group(
                "past_end",
                code(
                    4,
                    &[0; 4],
                    &[hole(2, PatchKind::Rel32, HoleValue::Zero, None, 0)],
                ),
                EMPTY,
            ),
            // `X86_64Rel32x` relaxes the two bytes before its offset: at offset 0 or 1 those
            // are the previous stencil's (say, one ending in `FF 15`).
            group(
                "rel32x_at_0",
                code(
                    4,
                    &[],
                    &[hole(0, PatchKind::X86_64Rel32x, HoleValue::Data, None, -4)],
                ),
                code(8, &[], REL32X_SLOT),
            ),
            group(
                "rel32x_at_1",
                code(
                    5,
                    &[0x15],
                    &[hole(1, PatchKind::X86_64Rel32x, HoleValue::Data, None, -4)],
                ),
                code(8, &[], REL32X_SLOT),
            ),
            // The ADRP+LDR pair rewrites 8 bytes: the LDR half would be the next stencil's.
            group(
                "pair_half_outside",
                code(
                    8,
                    &[],
                    &[hole(
                        4,
                        PatchKind::Aarch64Pair33rx,
                        HoleValue::Data,
                        None,
                        0,
                    )],
                ),
                EMPTY,
            ),
            group(
                "offset_overflows",
                code(
                    8,
                    &[],
                    &[hole(
                        u32::MAX - 2,
                        PatchKind::Abs64,
                        HoleValue::Zero,
                        None,
                        0,
                    )],
                ),
                EMPTY,
            ),
            group(
                "data_trampoline",
                EMPTY,
                code(
                    4,
                    &[],
                    &[hole(
                        0,
                        PatchKind::Aarch64Trampoline,
                        HoleValue::Zero,
                        Some(0),
                        0,
                    )],
                ),
            ),
            group(
                "trampoline_without_symbol",
                code(
                    4,
                    &[],
                    &[hole(
                        0,
                        PatchKind::Aarch64Trampoline,
                        HoleValue::Zero,
                        None,
                        0,
                    )],
                ),
                EMPTY,
            ),
            group(
                "unknown_symbol",
                code(
                    8,
                    &[],
                    &[hole(0, PatchKind::Abs64, HoleValue::Zero, Some(1), 0)],
                ),
                EMPTY,
            ),
            group(
                "undeclared_custom_value",
                code(
                    8,
                    &[],
                    &[hole(0, PatchKind::Abs64, HoleValue::Custom(0), None, 0)],
                ),
                EMPTY,
            ),
            group("long_body", code(1, &[0x90, 0x90], &[]), EMPTY),
        ];
        let table = StencilTable {
            target: "x86_64-unknown-linux-gnu",
            groups: BAD,
            symbols: &["far"],
            custom_values: &[],
        };
        for (g, (name, reason)) in [
            (
                "past_end",
                "code hole at 0x2 (Rel32, 4 bytes) is outside the 4-byte stencil",
            ),
            (
                "rel32x_at_0",
                "code hole at 0x0 (X86_64Rel32x) may be relaxed, rewriting the 2",
            ),
            (
                "rel32x_at_1",
                "code hole at 0x1 (X86_64Rel32x) may be relaxed, rewriting the 2",
            ),
            (
                "pair_half_outside",
                "code hole at 0x4 (Aarch64Pair33rx, 8 bytes) is outside",
            ),
            (
                "offset_overflows",
                "code hole at 0xfffffffd (Abs64, 8 bytes) is outside",
            ),
            ("data_trampoline", "data hole at 0x0 is a trampoline branch"),
            (
                "trampoline_without_symbol",
                "code trampoline hole at 0x0 has no symbol",
            ),
            (
                "unknown_symbol",
                "code hole at 0x0 names symbol index Some(1)",
            ),
            (
                "undeclared_custom_value",
                "code hole at 0x0 uses undeclared custom value 0",
            ),
            (
                "long_body",
                "code body is longer than its declared length 1",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            // Checked when first used, by push, set_shim and set_terminator alike.
            let mut e = Emitter::new(&table, &[("far", 0x1000)]).unwrap();
            let err = e.push(Instruction::new(g as u16)).unwrap_err();
            assert!(
                matches!(err, EmitError::BadTable { group, .. } if group == name),
                "{err}"
            );
            assert!(err.to_string().contains(reason), "{name}: {err}");
            assert!(matches!(
                e.set_shim(g as u16),
                Err(EmitError::BadTable { .. })
            ));
            assert!(matches!(
                e.set_terminator(g as u16),
                Err(EmitError::BadTable { .. })
            ));
            assert!(e.is_empty());
        }
        // At offset 1 after `E9` (COFF's `jmp rel32` to an import) no relaxation can match,
        // whatever the previous stencil ends with; after a byte another hole writes, one can.
        static JUMPS: &[StencilGroup] = &[
            group(
                "coff_jump",
                code(
                    5,
                    &[0xE9],
                    &[hole(1, PatchKind::X86_64Rel32x, HoleValue::Zero, None, -4)],
                ),
                EMPTY,
            ),
            group(
                "patched_modrm",
                code(
                    8,
                    &[],
                    &[
                        hole(0, PatchKind::Abs32, HoleValue::Oparg, None, 0),
                        hole(1, PatchKind::X86_64Rel32x, HoleValue::Zero, None, -4),
                    ],
                ),
                EMPTY,
            ),
        ];
        let jumps = StencilTable {
            groups: JUMPS,
            ..table
        };
        let mut e = Emitter::new(&jumps, &[]).unwrap();
        e.push(Instruction::new(0)).unwrap();
        let err = e.push(Instruction::new(1)).unwrap_err();
        assert!(
            err.to_string()
                .contains("hole at 0x1 (X86_64Rel32x) may be relaxed"),
            "{err}"
        );
        let foreign = StencilTable {
            target: "powerpc-unknown-linux-gnu",
            ..TABLE
        };
        let mut e = Emitter::new(&foreign, &[]).unwrap();
        e.push(Instruction::new(4)).unwrap();
        assert!(matches!(
            e.finish(&Options::default()),
            Err(EmitError::ForeignTable { .. })
        ));
    }

    /// Same architecture, other calling convention: refused too, never run with the wrong ABI.
    #[test]
    fn tables_for_another_os_family_are_refused() {
        let arch = std::env::consts::ARCH;
        let native = match std::env::consts::OS {
            "windows" => format!("{arch}-pc-windows-msvc"),
            "macos" => format!("{arch}-apple-darwin"),
            _ => format!("{arch}-unknown-linux-gnu"),
        };
        assert!(host_runs(&native), "{native}");
        for other in ["pc-windows-msvc", "apple-darwin", "unknown-linux-gnu"] {
            let triple = format!("{arch}-{other}");
            assert_eq!(host_runs(&triple), triple == native, "{triple}");
        }
        assert!(!host_runs("powerpc64le-unknown-linux-gnu"));
    }

    /// AArch64 `B` to an external symbol: plain (`Branch26r`) and with a trampoline.
    static A64: &[StencilGroup] = &[
        StencilGroup {
            name: "branch",
            code: Stencil {
                len: 8,
                body: &[0, 0, 0, 0x14, 0x1F, 0x20, 0x03, 0xD5],
                holes: &[hole(
                    0,
                    PatchKind::Aarch64Branch26r,
                    HoleValue::Zero,
                    Some(0),
                    0,
                )],
            },
            data: EMPTY,
        },
        StencilGroup {
            name: "call",
            code: Stencil {
                len: 8,
                body: &[0, 0, 0, 0x94, 0x1F, 0x20, 0x03, 0xD5],
                holes: &[hole(
                    0,
                    PatchKind::Aarch64Trampoline,
                    HoleValue::Zero,
                    Some(0),
                    0,
                )],
            },
            data: EMPTY,
        },
        // Two 64-bit words: the client value BIAS, and EXECUTOR + 3.
        StencilGroup {
            name: "custom",
            code: Stencil {
                len: 16,
                body: &[],
                holes: &[
                    hole(0, PatchKind::Abs64, HoleValue::Custom(1), None, 0),
                    hole(8, PatchKind::Abs64, HoleValue::Executor, None, 3),
                ],
            },
            data: EMPTY,
        },
    ];

    static A64_TABLE: StencilTable = StencilTable {
        target: "aarch64-unknown-linux-gnu",
        groups: A64,
        symbols: &["far"],
        custom_values: &["SCALE", "BIAS"],
    };

    fn emit_a64(group: &str, far: u64) -> Result<Vec<u8>, EmitError> {
        let mut e = Emitter::new(&A64_TABLE, &[("far", far as usize)])?;
        let g = e.group(group).unwrap();
        e.push(Instruction::new(g))?;
        let layout = e.layout()?;
        let mut buf = vec![0u8; 64];
        e.emit_into(&layout, &mut buf, 0x10_0000, 32)?;
        Ok(buf)
    }

    #[test]
    fn out_of_range_and_misaligned_branches_are_errors_with_their_site() {
        let ok = emit_a64("branch", 0x10_0000 + (1 << 27) - 4).unwrap();
        assert_eq!(
            u32::from_le_bytes(ok[..4].try_into().unwrap()),
            0x1400_0000 | 0x01FF_FFFF
        );
        let err = emit_a64("branch", 0x10_0000 + (1 << 27)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "instruction 0 (branch), Code stencil, hole at 0x0: cannot apply Aarch64Branch26r at \
             offset 0x0 with value 0x8100000: 0x8000000 does not fit in a signed 28-bit field: a \
             distance of +128 MiB, beyond the ±128 MiB B/BL reaches"
        );
        let EmitError::Patch {
            site,
            section,
            hole: 0,
            error,
        } = err
        else {
            panic!("{err}")
        };
        assert_eq!(
            site,
            Site {
                group: "branch",
                instruction: Some(0)
            }
        );
        assert_eq!(section, Section::Code);
        assert_eq!(
            (error.offset, error.kind, error.value),
            (0, PatchKind::Aarch64Branch26r, 0x10_0000 + (1 << 27))
        );
        assert!(matches!(
            error.problem,
            crate::PatchProblem::OutOfRange { bits: 28, .. }
        ));
        let err = emit_a64("branch", 0x10_0002).unwrap_err();
        assert!(
            matches!(
                err,
                EmitError::Patch {
                    error: PatchError {
                        problem: crate::PatchProblem::Misaligned { align: 4, .. },
                        ..
                    },
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn far_calls_go_through_a_trampoline() {
        let far = 0x10_0000u64 + (1 << 40);
        let buf = emit_a64("call", far).unwrap();
        // Code is 8 bytes; the trampoline area starts right after.
        assert_eq!(
            u32::from_le_bytes(buf[..4].try_into().unwrap()),
            0x9400_0002,
            "BL to the trampoline"
        );
        assert_eq!(
            u32::from_le_bytes(buf[8..12].try_into().unwrap()),
            0x5800_0048
        );
        assert_eq!(
            u32::from_le_bytes(buf[12..16].try_into().unwrap()),
            0xD61F_0100
        );
        assert_eq!(u64::from_le_bytes(buf[16..24].try_into().unwrap()), far);
        let near = emit_a64("call", 0x10_0000 + 0x400).unwrap();
        assert_eq!(
            u32::from_le_bytes(near[..4].try_into().unwrap()),
            0x9400_0100,
            "direct BL"
        );
    }

    #[test]
    fn foreign_unknown_and_rebound_labels_are_refused() {
        let mut other = Emitter::new(&TABLE, &[]).unwrap();
        let foreign = other.label().unwrap();
        let mut e = Emitter::new(&TABLE, &[]).unwrap();
        let own = e.label().unwrap();
        let problem = |err: EmitError| match err {
            EmitError::BadLabel { problem, .. } => problem,
            other => panic!("{other}"),
        };
        // Same index as `own`, made by another emitter.
        let err = e.bind(foreign).unwrap_err();
        assert_eq!(err.to_string(), "label 0 was made by another emitter");
        assert_eq!(problem(err), LabelProblem::Foreign);
        e.bind(own).unwrap();
        assert_eq!(
            problem(e.bind(own).unwrap_err()),
            LabelProblem::AlreadyBound
        );
        // A foreign label used as a destination is never resolved to one of `e`'s labels.
        let mut jz = ins(&e, "jump_if_zero", 0);
        jz.jump_target = Some(Destination::Label(foreign));
        e.push(jz).unwrap();
        e.set_terminator(e.group("ret").unwrap()).unwrap();
        let layout = e.layout().unwrap();
        let mut buf = vec![0u8; 64];
        let err = e.emit_into(&layout, &mut buf, 0x1000, 32).unwrap_err();
        assert!(matches!(err, EmitError::BadDestination { .. }), "{err}");
    }

    #[test]
    fn foreign_layouts_and_short_or_wrapping_buffers_are_refused() {
        let program = || {
            let mut e = Emitter::new(&TABLE, &[]).unwrap();
            let load = ins(&e, "load", 1);
            e.push(load).unwrap();
            let ret = ins(&e, "ret", 0);
            e.push(ret).unwrap();
            e
        };
        let (a, b) = (program(), program());
        let layout = a.layout().unwrap();
        let mut buf = vec![0u8; 64];
        let err = b.emit_into(&layout, &mut buf, 0x1000, 32).unwrap_err();
        assert!(matches!(err, EmitError::ForeignLayout), "{err}");
        // Code is 16 bytes (8-aligned), no data.
        assert_eq!((layout.code_len(), layout.data_len()), (16, 0));
        for (len, base, data_offset) in [
            (8, 0x1000, 16),         // shorter than the code
            (64, 0x1000, 8),         // data inside the code
            (64, 0x1000, 20),        // data not 8-aligned
            (64, u64::MAX - 32, 32), // addresses wrap
        ] {
            let err = a
                .emit_into(&layout, &mut buf[..len], base, data_offset)
                .unwrap_err();
            assert!(
                matches!(err, EmitError::BadBuffer { len: l, data_offset: d, .. } if l == len && d == data_offset),
                "{err}"
            );
        }
        a.emit_into(&layout, &mut buf[..16], 0x1000, 16).unwrap();
        assert_eq!(&buf[..2], &[0x48, 0xB8]);
    }

    #[test]
    fn impossible_reservations_are_errors() {
        let mut e = Emitter::new(&TABLE, &[]).unwrap();
        assert!(matches!(e.reserve(usize::MAX), Err(EmitError::Memory(_))));
        // Two custom values per instruction: the count overflows before any allocation.
        let mut e = Emitter::new(&A64_TABLE, &[]).unwrap();
        let err = e.reserve(usize::MAX / 2 + 1).unwrap_err();
        assert!(err.to_string().contains("cannot reserve room"), "{err}");
        e.reserve(100).unwrap();
    }

    #[test]
    fn executable_code_can_move_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ExecutableCode>();
    }

    #[test]
    fn custom_values_and_executor() {
        let mut e = Emitter::new(&A64_TABLE, &[]).unwrap();
        let g = e.group("custom").unwrap();
        let i = e.push(Instruction::new(g)).unwrap();
        let bias = e.custom_value("BIAS").unwrap();
        e.set_custom(i, bias, 0xABCD).unwrap();
        let err = e.set_custom(i, 7, 0).unwrap_err();
        assert!(
            matches!(
                err,
                EmitError::NoSuchCustomValue {
                    value_id: 7,
                    declared: 2
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "no client-defined hole value 7: the table declares 2"
        );
        let err = e.set_custom(1, bias, 0).unwrap_err();
        assert!(
            matches!(err, EmitError::NoSuchInstruction { index: 1, len: 1 }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "no instruction 1: the program has 1 instructions"
        );
        e.set_executor(0x1000);
        let layout = e.layout().unwrap();
        let mut buf = vec![0u8; 64];
        e.emit_into(&layout, &mut buf, 0x10_0000, 32).unwrap();
        assert_eq!(u64::from_le_bytes(buf[..8].try_into().unwrap()), 0xABCD);
        assert_eq!(u64::from_le_bytes(buf[8..16].try_into().unwrap()), 0x1003);
    }

    /// `push` keeps pass 1 incrementally; it must give what a walk over every piece gives,
    /// for any mix of data sizes (8-aligned starts) with and without shim and terminator.
    #[test]
    fn incremental_layout_matches_a_full_walk() {
        const fn stencil(len: u32) -> Stencil {
            Stencil {
                len,
                body: &[],
                holes: &[],
            }
        }
        const fn group(name: &'static str, code: u32, data: u32) -> StencilGroup {
            StencilGroup {
                name,
                code: stencil(code),
                data: stencil(data),
            }
        }
        static SIZED: &[StencilGroup] = &[
            group("a", 3, 0),
            group("b", 5, 1),
            group("c", 8, 7),
            group("d", 1, 8),
            group("e", 16, 13),
        ];
        static TABLE: StencilTable = StencilTable {
            target: "x86_64-unknown-linux-gnu",
            groups: SIZED,
            symbols: &[],
            custom_values: &[],
        };
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for round in 0..200 {
            let mut e = Emitter::new(&TABLE, &[]).unwrap();
            let shim = (round % 3 != 0).then_some((round % 5) as u16);
            let terminator = (round % 4 != 0).then_some((round / 5 % 5) as u16);
            if let Some(g) = shim {
                e.set_shim(g).unwrap();
            }
            let mut pieces: Vec<u16> = shim.into_iter().collect();
            let mut starts = Vec::new();
            for _ in 0..round % 23 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let g = (seed % 5) as u16;
                e.push(Instruction::new(g)).unwrap();
                pieces.push(g);
            }
            if let Some(g) = terminator {
                e.set_terminator(g).unwrap();
                pieces.push(g);
            }
            let (mut code, mut data) = (0u32, 0u32);
            for (i, &g) in pieces.iter().enumerate() {
                let is_instruction = i >= shim.is_some() as usize
                    && i < pieces.len() - terminator.is_some() as usize;
                if is_instruction {
                    starts.push(code);
                }
                code += SIZED[g as usize].code.len;
                let len = SIZED[g as usize].data.len;
                if len != 0 {
                    data = data.next_multiple_of(8) + len;
                }
            }
            let layout = e.layout().unwrap();
            assert_eq!(layout.instruction_starts(), starts, "round {round}");
            assert_eq!(layout.data_len(), data, "round {round}: {pieces:?}");
            assert_eq!(layout.code_len(), code.next_multiple_of(8), "round {round}");
        }
    }
}
