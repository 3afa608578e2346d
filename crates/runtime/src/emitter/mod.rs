//! The emitter: turns a list of instructions (one stencil group each, plus operands and branch
//! destinations) into one executable unit, in two passes like CPython's `_PyJIT_Compile`:
//! pass 1 sums sizes and records where each instruction's code starts; pass 2 copies and patches
//! every group's data, then its code (so GOT-relaxing code patches can read finished slots).
//!
//! Layout: `[shim][instruction 0]…[instruction n-1][terminator][trampolines] | [data…]`, with the
//! data on its own pages after the code. The shim (optional) is the unit's entry; the terminator
//! (optional) catches the last instruction's fall-through, as CPython's `_FATAL_ERROR` does.

mod check;
mod emit;
mod error;
mod executable;
mod layout;
mod nop;
mod program;
#[cfg(test)]
mod tests;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::stencil::{PatchKind, StencilGroup, StencilTable};
use patchjit_vocab::{Arch, Target};

pub use error::{BranchKind, EmitError, LabelProblem, Section, Site};
pub use executable::{ExecutableCode, Options};
pub use layout::Layout;
pub use program::{Destination, Instruction, Label};

/// Source of [`Emitter`] identities, which tell its labels from other emitters'. Wraps after
/// 2^32 emitters; a clash needs two emitters 2^32 creations apart alive at once.
static NEXT_EMITTER: AtomicU32 = AtomicU32::new(0);

/// The largest alignment [`Emitter::align_code`] takes: every placement starts a unit's code
/// at a multiple of it (pages, or [`crate::CodeHeap::GRANULE`]).
pub const MAX_CODE_ALIGN: u32 = 64;
const _: () = assert!(crate::CodeHeap::GRANULE.is_multiple_of(MAX_CODE_ALIGN as usize));

/// No-ops before an instruction, so that it starts at a multiple of `align`.
#[derive(Clone, Copy, Debug)]
struct Padding {
    /// The instruction they precede (the instruction count when none followed yet: the
    /// terminator, or the next instruction pushed).
    before: u32,
    align: u32,
    len: u32,
}

/// Builds one program from a stencil table.
pub struct Emitter<'t> {
    /// Identity stamped on this emitter's labels.
    id: u32,
    table: &'t StencilTable,
    /// Resolved address of each `table.symbols` entry.
    symbols: Vec<Option<u64>>,
    /// Groups already checked, one bit each (on first use, so that an emitter costs next to
    /// nothing per unused group: a bit, for tables of thousands of variants).
    checked: Vec<u64>,
    shim: Option<u16>,
    terminator: Option<u16>,
    instructions: Vec<Instruction>,
    /// Pass 1 for the instructions, done as they are pushed so that `layout` need not walk
    /// them again: each one's code offset in the unit (the shim's code first), so that a
    /// layout borrows them as they are. Kept modulo 2^32: `layout` refuses a unit whose code
    /// does not fit in 32 bits, and below that they are exact.
    starts: Vec<u32>,
    /// End of the code of the instructions pushed so far, the shim's code included.
    code_end: u64,
    /// End of their data, each group's data at a multiple of its alignment, counted from a
    /// start aligned to `data_align`.
    data_end: u64,
    /// The largest alignment of their data (1 while none has data).
    data_align: u64,
    /// Gaps [`Emitter::align_code`] asked for, in instruction order.
    paddings: Vec<Padding>,
    /// The largest alignment asked for (1 while none was).
    code_align: u32,
    /// Symbols the pushed instructions may need a trampoline for.
    needs: Vec<bool>,
    /// `table.custom_values.len()` values per instruction.
    custom: Vec<u64>,
    labels: Vec<Option<u32>>,
    executor: u64,
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
            checked: vec![0; table.groups.len().div_ceil(64)],
            shim: None,
            terminator: None,
            instructions: Vec::new(),
            starts: Vec::new(),
            code_end: 0,
            data_end: 0,
            data_align: 1,
            paddings: Vec::new(),
            code_align: 1,
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
        let old = self.shim.map_or(0, |g| self.group_of(g).code.len);
        let new = self.group_of(group).code.len;
        if new != old {
            if self.paddings.is_empty() {
                // Instructions pushed before: move their code by the difference.
                let delta = new.wrapping_sub(old);
                for start in &mut self.starts {
                    *start = start.wrapping_add(delta);
                }
                self.code_end = self.code_end - u64::from(old) + u64::from(new);
            } else {
                // Their gaps change with where they start: lay them out again.
                self.relayout(new);
            }
        }
        self.shim = Some(group);
        Ok(())
    }

    /// Pads the code with no-ops so that the next instruction pushed (or the terminator)
    /// starts at a multiple of `align` bytes from the unit's start, which every placement
    /// puts at a multiple of [`MAX_CODE_ALIGN`]: what compilers do for loop heads, whose
    /// placement in fetch blocks can change a tight loop's speed by half. The instruction
    /// before falls through the no-ops; `align` is a power of two up to [`MAX_CODE_ALIGN`].
    pub fn align_code(&mut self, align: u32) -> Result<(), EmitError> {
        if !align.is_power_of_two() || align > MAX_CODE_ALIGN {
            return Err(EmitError::BadAlignment { align });
        }
        if self.arch().is_none() {
            return Err(EmitError::BadTable {
                group: "",
                reason: format!(
                    "unknown target {}: no no-ops to pad with",
                    self.table.target
                ),
            });
        }
        let len = (self.code_end.wrapping_neg() & u64::from(align - 1)) as u32;
        self.paddings.push(Padding {
            // `push` keeps the instruction count within 32 bits.
            before: self.instructions.len() as u32,
            align,
            len,
        });
        self.code_end += u64::from(len);
        self.code_align = self.code_align.max(align);
        Ok(())
    }

    /// [`Emitter::align_code`] for a loop head (the destination of a backward branch), by the
    /// table's architecture: 64 bytes on x86, a fetch line: one tight loop's time varied 2.6×
    /// with its offset modulo 64, and a 47-byte loop ran 2× slower at a 32-byte boundary,
    /// where it crossed a line, than at a 64-byte one (`docs/performance.md`); nothing
    /// elsewhere, not measured there.
    pub fn align_loop_head(&mut self) -> Result<(), EmitError> {
        match self.arch() {
            Some(Arch::X86_64 | Arch::I686) => self.align_code(MAX_CODE_ALIGN),
            _ => Ok(()),
        }
    }

    /// The instructions' starts and gaps again, after the shim's code, `shim_len` bytes, moved
    /// them (`set_shim` after pushes and alignments).
    #[cold]
    fn relayout(&mut self, shim_len: u32) {
        let mut end = u64::from(shim_len);
        let mut gaps = self.paddings.iter_mut().peekable();
        let mut pad = |end: &mut u64, i: usize| {
            while let Some(gap) = gaps.next_if(|g| g.before as usize == i) {
                gap.len = (end.wrapping_neg() & u64::from(gap.align - 1)) as u32;
                *end += u64::from(gap.len);
            }
        };
        for (i, instruction) in self.instructions.iter().enumerate() {
            pad(&mut end, i);
            // Modulo 2^32 (see `starts`).
            self.starts[i] = end as u32;
            end += u64::from(self.table.groups[instruction.group as usize].code.len);
        }
        pad(&mut end, self.instructions.len());
        self.code_end = end;
    }

    /// The architecture of the table's code, if its triple is one patchjit knows.
    fn arch(&self) -> Option<Arch> {
        Target::from_triple(self.table.target).map(Target::arch)
    }

    /// Emits `group` after the last instruction, with no instruction, so falling off the end
    /// lands somewhere defined.
    pub fn set_terminator(&mut self, group: u16) -> Result<(), EmitError> {
        self.check_group(group)?;
        self.terminator = Some(group);
        Ok(())
    }

    /// Appends an instruction and returns its index.
    #[inline(always)]
    pub fn push(&mut self, instruction: Instruction) -> Result<usize, EmitError> {
        let index = self.instructions.len();
        // Destinations and labels name instructions with 32 bits.
        if index >= u32::MAX as usize {
            return Err(EmitError::TooLarge);
        }
        let g = instruction.group;
        let group = if self.is_checked(g) {
            self.group_of(g)
        } else {
            self.first_use(g)?
        };
        // Modulo 2^32 (see `starts`).
        let start = self.code_end as u32;
        let data = group.data.len as u64;
        if data != 0 {
            // Checked on first use: a power of two.
            let align = u64::from(group.data_align);
            self.data_end = ((self.data_end + align - 1) & !(align - 1)) + data;
            self.data_align = self.data_align.max(align);
        }
        self.starts.push(start);
        self.code_end += group.code.len as u64;
        self.instructions.push(instruction);
        let n = self.table.custom_values.len();
        if n != 0 {
            self.custom.resize(self.custom.len() + n, 0);
        }
        Ok(index)
    }

    /// What `push` does the first time a group is pushed: check it, and note the symbols its
    /// code may need a trampoline for. Out of line, so that the per-instruction path stays
    /// small.
    #[cold]
    #[inline(never)]
    fn first_use(&mut self, group: u16) -> Result<&'t StencilGroup, EmitError> {
        if self.check_group(group)? {
            for s in self.trampolines(group) {
                self.needs[s as usize] = true;
            }
        }
        Ok(self.group_of(group))
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

    /// Whether `group` exists and has been checked.
    #[inline(always)]
    fn is_checked(&self, group: u16) -> bool {
        let g = group as usize;
        self.checked
            .get(g / 64)
            .is_some_and(|w| w >> (g % 64) & 1 != 0)
    }

    fn group_of(&self, index: u16) -> &'t StencilGroup {
        &self.table.groups[index as usize]
    }

    /// Sets the value of `_JIT_EXECUTOR` holes (default 0), e.g. a pointer to client state.
    pub fn set_executor(&mut self, executor: u64) {
        self.executor = executor;
    }
}
