//! What both tiers share: the limits of a run, the helper registry, the view of program
//! memory helpers and loads go through, and the errors a run can end with.
//!
//! Conventions (those of the conformance suite's runners): r1 = address of the input
//! memory (0 when it is empty), r2 = its length, r10 = top of a 512-byte stack frame; each
//! program-local call gets its own frame below the caller's and the callee-saved r6–r9
//! are restored on return. Addresses are host addresses of the two regions, so both tiers
//! see the same values.

use std::fmt;

/// Bytes of stack per call frame.
pub const STACK_SIZE: usize = 512;
/// Maximum number of simultaneously active frames (the entry function counts as one).
pub const MAX_CALL_DEPTH: usize = 8;

/// A helper function: receives r1–r5 and the program's memory (pointer arguments are
/// checked through [`Memory`]), returns the new r0 or a fault that stops the program.
pub type HelperFn =
    Box<dyn Fn(&[u64; 5], &mut Memory<'_>) -> Result<u64, HelperFault> + Send + Sync>;

/// A helper that needs nothing but its arguments (no program memory, no faults): the JIT calls
/// it straight from the machine code, as rbpf calls its helpers, where a [`HelperFn`] goes
/// through a bridge that builds its [`Memory`] view and catches its panics. Being
/// `extern "C"`, a plain helper that panics aborts the process.
pub type PlainHelper = extern "C" fn(u64, u64, u64, u64, u64) -> u64;

/// A registered helper, in one of the two forms.
enum Helper {
    Memory(HelperFn),
    Plain(PlainHelper),
}

/// A helper's refusal to continue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelperFault {
    /// A pointer argument does not designate `len` bytes of program memory.
    OutOfBounds {
        /// the address passed
        addr: u64,
        /// bytes needed
        len: u64,
    },
}

impl fmt::Display for HelperFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HelperFault::OutOfBounds { addr, len } => {
                write!(f, "{len} bytes at {addr:#x} are outside program memory")
            }
        }
    }
}

/// Helper functions callable with `call N` / `callx reg`, by id.
#[derive(Default)]
pub struct Helpers {
    // Sorted by id: a `call N` resolves its helper once, when it is compiled, to a position
    // here (`slot`), so the JIT's calls index instead of searching; `callx` and the
    // interpreter search (a few comparisons, no hashing).
    entries: Vec<(u32, String, Helper)>,
    unwind: Option<u32>,
}

impl Helpers {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) helper `id`.
    pub fn register(&mut self, id: u32, name: &str, f: HelperFn) {
        self.insert(id, name, Helper::Memory(f));
    }

    /// Registers (or replaces) helper `id` as a [`PlainHelper`].
    pub fn register_plain(&mut self, id: u32, name: &str, f: PlainHelper) {
        self.insert(id, name, Helper::Plain(f));
    }

    fn insert(&mut self, id: u32, name: &str, helper: Helper) {
        let entry = (id, name.to_string(), helper);
        match self.entries.binary_search_by_key(&id, |e| e.0) {
            Ok(at) => self.entries[at] = entry,
            Err(at) => self.entries.insert(at, entry),
        }
    }

    /// The plain helper at `slot`, if it is one the machine code may call directly (not the
    /// unwind helper, whose result decides whether the program goes on).
    pub(crate) fn plain(&self, slot: usize) -> Option<PlainHelper> {
        match &self.entries[slot] {
            (id, _, Helper::Plain(f)) if self.unwind != Some(*id) => Some(*f),
            _ => None,
        }
    }

    /// Marks helper `id` as the unwind helper: when it returns 0 the program stops with r0 = 0
    /// (the convention of uBPF's conformance plugin).
    pub fn set_unwind(&mut self, id: u32) {
        self.unwind = Some(id);
    }

    /// The position of helper `id`, for [`Helpers::call_slot`].
    pub(crate) fn slot(&self, id: u64) -> Option<usize> {
        let id = u32::try_from(id).ok()?;
        self.entries.binary_search_by_key(&id, |e| e.0).ok()
    }

    /// Calls helper `id` for the instruction at `pc`: `Some(r0)` to go on, `None` when the
    /// unwind helper returned 0 (the program stops with r0 = 0). Shared by both tiers.
    pub(crate) fn call(
        &self,
        pc: usize,
        id: u64,
        args: &[u64; 5],
        mem: &mut Memory<'_>,
    ) -> Result<Option<u64>, ExecError> {
        match self.slot(id) {
            Some(slot) => self.call_slot(pc, slot, args, mem),
            None => Err(ExecError::UnknownHelper { pc, id }),
        }
    }

    /// [`Helpers::call`] of the helper at `slot` (a [`Helpers::slot`] of this registry).
    pub(crate) fn call_slot(
        &self,
        pc: usize,
        slot: usize,
        args: &[u64; 5],
        mem: &mut Memory<'_>,
    ) -> Result<Option<u64>, ExecError> {
        let (k, _, helper) = &self.entries[slot];
        let r0 = match helper {
            Helper::Memory(f) => {
                f(args, mem).map_err(|fault| ExecError::HelperFault { pc, id: *k, fault })?
            }
            Helper::Plain(f) => f(args[0], args[1], args[2], args[3], args[4]),
        };
        Ok(if self.unwind == Some(*k) && r0 == 0 {
            None
        } else {
            Some(r0)
        })
    }

    /// Name of helper `id`, if registered.
    pub fn name(&self, id: u32) -> Option<&str> {
        let slot = self.slot(u64::from(id))?;
        Some(self.entries[slot].1.as_str())
    }

    /// uBPF's test helpers, which its conformance plugin registers, with uBPF's results:
    /// 0 `gather_bytes(a..e)` (the low bytes packed big-endian), 1 `memfrob(p, n)` (XOR 42 in
    /// place, returns 0), 2 `no_op()` (returns 0), 3 `sqrti(x)` (the square root of the whole
    /// 64-bit `x` in double precision, truncated), 4 `strcmp_ext(a, b)` (the first byte
    /// difference, sign-extended), 5 `unwind(x)` (returns x; set as the unwind helper).
    pub fn conformance() -> Self {
        let mut h = Helpers::new();
        h.register(
            0,
            "gather_bytes",
            Box::new(|a, _| {
                Ok(((a[0] & 0xff) << 32)
                    | ((a[1] & 0xff) << 24)
                    | ((a[2] & 0xff) << 16)
                    | ((a[3] & 0xff) << 8)
                    | (a[4] & 0xff))
            }),
        );
        h.register(
            1,
            "memfrob",
            Box::new(|a, mem| {
                mem.bytes(a[0], a[1])?.iter_mut().for_each(|b| *b ^= 42);
                Ok(0)
            }),
        );
        h.register(2, "no_op", Box::new(|_, _| Ok(0)));
        h.register(3, "sqrti", Box::new(|a, _| Ok((a[0] as f64).sqrt() as u64)));
        h.register(
            4,
            "strcmp_ext",
            Box::new(|a, mem| {
                let x = mem.c_str(a[0])?.to_vec();
                let y = mem.c_str(a[1])?;
                let (x, y) = (x.iter().chain([&0u8]), y.iter().chain([&0u8]));
                let diff = x
                    .zip(y)
                    .map(|(p, q)| *p as i32 - *q as i32)
                    .find(|d| *d != 0)
                    .unwrap_or(0);
                Ok(diff as i64 as u64)
            }),
        );
        h.register(5, "unwind", Box::new(|a, _| Ok(a[0])));
        h.set_unwind(5);
        h
    }
}

/// A runtime failure; `pc` is the index of the faulting instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// A load or store outside the input memory and the stack.
    OutOfBounds {
        /// instruction index
        pc: usize,
        /// first byte accessed
        addr: u64,
        /// access width
        size: usize,
        /// store (true) or load
        write: bool,
    },
    /// `call` of an id with no registered helper.
    UnknownHelper {
        /// instruction index
        pc: usize,
        /// helper id
        id: u64,
    },
    /// A local call beyond [`MAX_CALL_DEPTH`] frames.
    CallDepthExceeded {
        /// instruction index
        pc: usize,
    },
    /// The budget ran out (see [`crate::interp::Interpreter::set_budget`]).
    BudgetExhausted {
        /// the back-edge or local call that would have exceeded it
        pc: usize,
    },
    /// A helper stopped the program.
    HelperFault {
        /// instruction index of the call
        pc: usize,
        /// helper id
        id: u32,
        /// what went wrong
        fault: HelperFault,
    },
    /// Control reached a slot outside the program.
    PcOutOfRange {
        /// the slot index reached
        pc: usize,
    },
    /// An opcode the interpreter does not execute (only possible for unverified code).
    InvalidInstruction {
        /// instruction index
        pc: usize,
        /// opcode byte
        opcode: u8,
    },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::OutOfBounds {
                pc,
                addr,
                size,
                write,
            } => write!(
                f,
                "instruction {pc}: out-of-bounds {} of {size} bytes at address {addr:#x}",
                if *write { "store" } else { "load" }
            ),
            ExecError::UnknownHelper { pc, id } => {
                write!(f, "instruction {pc}: call to unknown helper {id}")
            }
            ExecError::CallDepthExceeded { pc } => write!(
                f,
                "instruction {pc}: call depth exceeds {MAX_CALL_DEPTH} frames"
            ),
            ExecError::BudgetExhausted { pc } => {
                write!(
                    f,
                    "instruction {pc}: budget exhausted (taken back-edges and local calls)"
                )
            }
            ExecError::HelperFault { pc, id, fault } => {
                write!(f, "instruction {pc}: helper {id}: {fault}")
            }
            ExecError::PcOutOfRange { pc } => {
                write!(f, "control reached slot {pc}, outside the program")
            }
            ExecError::InvalidInstruction { pc, opcode } => {
                write!(f, "instruction {pc}: invalid opcode {opcode:#04x}")
            }
        }
    }
}

impl std::error::Error for ExecError {}

/// Memory regions visible to a running program: the input and the stack.
pub struct Memory<'a> {
    pub(crate) input: &'a mut [u8],
    pub(crate) input_base: u64,
    pub(crate) stack: &'a mut [u8],
    pub(crate) stack_base: u64,
}

impl<'a> Memory<'a> {
    /// The program's view of `input` and `stack`, addressed by their host addresses.
    pub(crate) fn new(input: &'a mut [u8], stack: &'a mut [u8]) -> Memory<'a> {
        Memory {
            input_base: input.as_ptr() as u64,
            input,
            stack_base: stack.as_ptr() as u64,
            stack,
        }
    }

    /// The `len` bytes at `addr`, if they lie inside one region (for helpers).
    pub fn bytes(&mut self, addr: u64, len: u64) -> Result<&mut [u8], HelperFault> {
        usize::try_from(len)
            .ok()
            .and_then(|n| self.locate(addr, n))
            .ok_or(HelperFault::OutOfBounds { addr, len })
    }

    /// The NUL-terminated string at `addr` (without the NUL), which must end inside
    /// the region it starts in.
    pub fn c_str(&mut self, addr: u64) -> Result<&[u8], HelperFault> {
        let fault = HelperFault::OutOfBounds { addr, len: 1 };
        let tail = self.tail(addr).ok_or(fault.clone())?;
        let n = tail.iter().position(|&b| b == 0).ok_or(fault)?;
        Ok(&tail[..n])
    }

    /// Everything from `addr` to the end of its region.
    fn tail(&mut self, addr: u64) -> Option<&mut [u8]> {
        let so = addr.wrapping_sub(self.stack_base);
        if so < self.stack.len() as u64 {
            return Some(&mut self.stack[so as usize..]);
        }
        let io = addr.wrapping_sub(self.input_base);
        if io < self.input.len() as u64 {
            return Some(&mut self.input[io as usize..]);
        }
        None
    }

    /// Finds the region slice and offset holding `[addr, addr + size)`.
    #[inline(always)]
    fn locate(&mut self, addr: u64, size: usize) -> Option<&mut [u8]> {
        let s = size as u64;
        let so = addr.wrapping_sub(self.stack_base);
        if so <= self.stack.len() as u64 && s <= self.stack.len() as u64 - so {
            let o = so as usize;
            return Some(&mut self.stack[o..o + size]);
        }
        let io = addr.wrapping_sub(self.input_base);
        if io <= self.input.len() as u64 && s <= self.input.len() as u64 - io {
            let o = io as usize;
            return Some(&mut self.input[o..o + size]);
        }
        None
    }

    #[inline(always)]
    pub(crate) fn load(&mut self, pc: usize, addr: u64, size: usize) -> Result<u64, ExecError> {
        let b = self.locate(addr, size).ok_or(ExecError::OutOfBounds {
            pc,
            addr,
            size,
            write: false,
        })?;
        let mut w = [0u8; 8];
        w[..size].copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }

    #[inline(always)]
    pub(crate) fn store(
        &mut self,
        pc: usize,
        addr: u64,
        size: usize,
        v: u64,
    ) -> Result<(), ExecError> {
        let b = self.locate(addr, size).ok_or(ExecError::OutOfBounds {
            pc,
            addr,
            size,
            write: true,
        })?;
        b.copy_from_slice(&v.to_le_bytes()[..size]);
        Ok(())
    }
}
