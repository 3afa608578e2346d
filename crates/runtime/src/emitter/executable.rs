//! The finished unit: sealed memory, instruction addresses, perf/GDB registration, listing.

use super::check::host_runs;
use super::{EmitError, Emitter};
use crate::memory::{CodeHeap, DataProtection, ExecutableMemory, Placement, WritableMemory};
use crate::visibility::{self, Registration};

/// How the finished unit is placed, protected and made visible to tools.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Where the memory comes from (fresh mapping, near an address, an arena, or a code heap:
    /// the cheapest for many small units, see [`crate::CodeHeap`]).
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

impl Emitter<'_> {
    /// Lays out, allocates, copies, patches and seals the program.
    pub fn finish(mut self, options: &Options) -> Result<ExecutableCode, EmitError> {
        if !host_runs(self.table.target) {
            return Err(EmitError::ForeignTable {
                target: self.table.target,
            });
        }
        if options.gdb && !cfg!(feature = "gdb-jit") {
            return Err(EmitError::GdbUnavailable);
        }
        let layout = self.layout()?;
        // A heap unit's data is only granule-aligned; data that needs more gets whole pages.
        let placement = match &options.placement {
            Placement::Heap(_) if layout.data_align as usize > CodeHeap::GRANULE => {
                &Placement::Anywhere
            }
            placement => placement,
        };
        let mut memory = WritableMemory::allocate(
            layout.code_len as usize,
            layout.data_len as usize,
            placement,
        )
        .map_err(EmitError::Memory)?;
        let base = memory.code_address() as u64;
        let data_offset = memory.data_address() - memory.code_address();
        self.emit_into(&layout, memory.bytes_mut(), base, data_offset)?;
        let code_len = layout.code_len;
        #[cfg(feature = "disassemble")]
        let trampolines_offset = layout.trampolines_offset;
        let memory = memory
            .seal(code_len as usize, options.data_protection)
            .map_err(EmitError::Memory)?;
        // The layout borrowed the starts; the unit keeps them.
        let starts = std::mem::take(&mut self.starts);
        let emitter = &self;
        let shim_len = emitter.shim.map_or(0, |g| emitter.group_of(g).code.len);
        let names = || -> Vec<&'static str> {
            emitter
                .instructions
                .iter()
                .map(|i| emitter.group_of(i.group).name)
                .collect()
        };
        let registration = if options.perf_map || options.gdb {
            let names = names();
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
                    code_len as usize,
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
            // After any gap `align_code` left before the terminator (which `layout` checked
            // fits in 32 bits).
            instructions_end: emitter.code_end as u32,
            terminator_len: emitter
                .terminator
                .map_or(0, |g| emitter.group_of(g).code.len),
            names: names(),
            shim_len,
            trampolines_offset,
        };
        Ok(ExecutableCode {
            memory,
            starts,
            #[cfg(feature = "disassemble")]
            regions,
            code_len: code_len as usize,
            _registration: registration,
        })
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
        // Code only exists where a table's target runs, so the host is a supported one.
        let arch = patchjit_vocab::Arch::host().unwrap_or(patchjit_vocab::Arch::X86_64);
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
