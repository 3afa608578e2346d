//! Executable memory for one compiled unit, kept W^X: pages are writable while the unit is being
//! copied and patched, then code becomes read+execute and data read-only (or read+write), never
//! writable and executable at once. Code and data of a unit are adjacent (`[code pages][data
//! pages]`) so data is always within reach of PC-relative code. An [`Arena`] reserves address
//! space once and hands out page-aligned chunks, so many small units do not each pay for
//! `mmap`/`munmap`. A [`CodeHeap`] goes further where the system allows it: two views of one
//! memory object, one only writable and one only executable, so a unit costs no system call.
//!
//! On macOS arm64 code must live in a `MAP_JIT` mapping, writable or executable per thread
//! (`pthread_jit_write_protect_np`) rather than per page, and `mprotect` cannot change it. A
//! fresh unit's data therefore gets its own plain mapping over the data part of the reservation
//! (`MAP_FIXED`; `MAP_JIT` itself cannot be fixed), protected with `mprotect` like anywhere else.
//! Arena chunks cannot: a data page replaced that way could never again be code. Their data
//! stays in `MAP_JIT` pages, which are read+execute while code runs (never writable then), and
//! read+write data in an arena is refused there.

mod heap;

pub use heap::CodeHeap;
use heap::HeapUnit;

use std::cell::Cell;
use std::io;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

/// How a unit's data pages are protected after sealing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DataProtection {
    /// Read-only: GOT slots and constants (the default).
    #[default]
    ReadOnly,
    /// Read+write, for templates that keep mutable state in their data section.
    ReadWrite,
}

/// Where a unit's memory comes from.
#[derive(Clone, Debug, Default)]
pub enum Placement {
    /// A fresh mapping per unit, anywhere.
    #[default]
    Anywhere,
    /// A fresh mapping, preferably at this address (a hint: the OS may choose elsewhere).
    /// Tests use it to put code far (> 2 GiB) from a helper function.
    Near(usize),
    /// A chunk of a shared arena.
    Arena(Arc<Arena>),
    /// A chunk of a [`CodeHeap`]: where it is dual-mapped, no system call per unit.
    Heap(Arc<CodeHeap>),
}

/// The system page size.
pub fn page_size() -> usize {
    sys::page_size()
}

fn round_up(n: usize, to: usize) -> Option<usize> {
    Some(n.checked_add(to - 1)? & !(to - 1))
}

/// The page operations a unit's life is made of. `sys::Host` makes them on this machine; tests
/// drive the `MAP_JIT` scheme with recorded calls on any host.
trait Backend: Copy {
    /// Whether executable pages are `MAP_JIT`: read+write+execute, writable or executable per
    /// thread, never `mprotect`ed.
    const JIT: bool;
    /// Reserves address space: inaccessible, or (`JIT`) a `MAP_JIT` mapping.
    fn reserve(self, len: usize, hint: Option<usize>) -> io::Result<*mut u8>;
    /// Makes reserved pages read+write (`JIT`: they already are).
    fn commit(self, ptr: *mut u8, len: usize) -> io::Result<()>;
    /// Gives a fresh mapping's data pages a plain read+write mapping of their own, so they can
    /// be protected apart from the code (`JIT` only; elsewhere they already can).
    fn own_data_mapping(self, ptr: *mut u8, len: usize) -> io::Result<()>;
    /// Releases an arena chunk's pages (later reuse sees zeros) and makes them inaccessible.
    fn decommit(self, ptr: *mut u8, len: usize);
    /// Unmaps a whole reservation.
    fn release(self, ptr: *mut u8, len: usize);
    /// Code pages become read+execute (`JIT`: this thread's write mode ending does it).
    fn seal_code(self, ptr: *mut u8, len: usize) -> io::Result<()>;
    /// Data pages with their own mapping become read-only or read+write.
    fn protect_data(self, ptr: *mut u8, len: usize, data: DataProtection) -> io::Result<()>;
    /// Switches this thread between writing and executing `MAP_JIT` pages (`JIT` only).
    fn set_jit_writable(self, writable: bool);
    /// Makes freshly written instructions visible to instruction fetch.
    fn flush_icache(self, ptr: *mut u8, len: usize);
}

thread_local! {
    /// Units this thread is writing: its `MAP_JIT` write mode lasts while any is.
    static WRITERS: Cell<usize> = const { Cell::new(0) };
}

/// This thread's write mode for `MAP_JIT` pages while one unit is written. Dropping it — when
/// the unit is sealed, or when emission fails and the unit is dropped unsealed — returns the
/// thread to execute mode once no other unit on it is being written. Bound to its thread, as
/// the mode is.
struct WriteMode<B: Backend> {
    backend: B,
    _thread: PhantomData<*const ()>,
}

impl<B: Backend> WriteMode<B> {
    fn begin(backend: B) -> Self {
        if B::JIT {
            let writers = WRITERS.get();
            if writers == 0 {
                backend.set_jit_writable(true);
            }
            WRITERS.set(writers + 1);
        }
        WriteMode {
            backend,
            _thread: PhantomData,
        }
    }
}

impl<B: Backend> Drop for WriteMode<B> {
    fn drop(&mut self) {
        if B::JIT {
            let writers = WRITERS.get() - 1;
            WRITERS.set(writers);
            if writers == 0 {
                self.backend.set_jit_writable(false);
            }
        }
    }
}

/// Memory while it is being written: `[code][data]`, read+write (code and data each rounded
/// up to whole pages, or to [`CodeHeap::GRANULE`] bytes in a dual-mapped [`CodeHeap`]). Dropping
/// it unsealed frees it and ends this thread's write mode.
pub struct WritableMemory(Writable);

enum Writable {
    Pages(Writing<sys::Host>),
    Heap(HeapUnit),
}

/// Sealed memory: code read+execute, data read-only or read+write. Freed on drop.
pub struct ExecutableMemory(Executable);

enum Executable {
    Pages(Sealed<sys::Host>),
    Heap(HeapUnit),
}

struct Writing<B: Backend> {
    /// Declared first: an unsealed unit leaves write mode before its pages are freed.
    write_mode: WriteMode<B>,
    block: Block<B>,
    code_size: usize,
    data_size: usize,
    /// Whether the data pages have their own mapping (else they share a `MAP_JIT` one).
    own_data: bool,
}

struct Sealed<B: Backend> {
    block: Block<B>,
    code_size: usize,
    data_size: usize,
}

/// Sizes of a unit's code and data, each rounded up to a multiple of `granule` (a power of two).
fn unit_sizes(code_len: usize, data_len: usize, granule: usize) -> io::Result<(usize, usize)> {
    let too_big = || io::Error::new(io::ErrorKind::OutOfMemory, "unit size overflows");
    let code_size = round_up(code_len.max(1), granule).ok_or_else(too_big)?;
    let data_size = round_up(data_len, granule).ok_or_else(too_big)?;
    code_size.checked_add(data_size).ok_or_else(too_big)?;
    Ok((code_size, data_size))
}

impl<B: Backend> Writing<B> {
    /// Starts writing `block`; `own_data` splits a fresh mapping's data pages off (`JIT`).
    fn begin(block: Block<B>, code_size: usize, own_data: bool) -> io::Result<Self> {
        let data_size = block.len - code_size;
        let own_data = own_data || !B::JIT;
        if B::JIT && own_data && data_size > 0 {
            // SAFETY: the data pages follow the code pages inside the block.
            let data = unsafe { block.ptr.add(code_size) };
            block.backend.own_data_mapping(data, data_size)?;
        }
        Ok(Writing {
            write_mode: WriteMode::begin(block.backend),
            block,
            code_size,
            data_size,
            own_data,
        })
    }

    fn seal(self, code_written: usize, data: DataProtection) -> io::Result<Sealed<B>> {
        let Writing {
            write_mode,
            block,
            code_size,
            data_size,
            own_data,
        } = self;
        drop(write_mode);
        if !own_data && data_size > 0 && data == DataProtection::ReadWrite {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "read+write data needs a fresh mapping here (Placement::Anywhere or Near): arena \
                 data shares MAP_JIT pages, never writable while code runs",
            ));
        }
        let ptr = block.ptr;
        block.backend.flush_icache(ptr, code_written.min(code_size));
        block.backend.seal_code(ptr, code_size)?;
        if own_data && data_size > 0 {
            // SAFETY: the data pages follow the code pages inside the block.
            let data_ptr = unsafe { ptr.add(code_size) };
            block.backend.protect_data(data_ptr, data_size, data)?;
        }
        Ok(Sealed {
            block,
            code_size,
            data_size,
        })
    }
}

impl WritableMemory {
    /// Allocates room for `code_len` code bytes and `data_len` data bytes, each rounded up to
    /// whole pages (in a dual-mapped [`CodeHeap`], to [`CodeHeap::GRANULE`] bytes), zero-filled
    /// (stencils rely on it: trailing zero bytes are never copied).
    pub fn allocate(
        code_len: usize,
        data_len: usize,
        placement: &Placement,
    ) -> io::Result<WritableMemory> {
        if let Placement::Heap(heap) = placement {
            let (code_size, data_size) = unit_sizes(code_len, data_len, CodeHeap::GRANULE)?;
            if let Some(unit) = heap.allocate(code_size, code_size + data_size) {
                return Ok(WritableMemory(Writable::Heap(unit)));
            }
        }
        let (code_size, data_size) = unit_sizes(code_len, data_len, page_size())?;
        let total = code_size + data_size;
        let host = sys::HOST;
        let (block, fresh) = match placement {
            Placement::Anywhere => (Block::map(host, total, None)?, true),
            Placement::Near(hint) => (Block::map(host, total, Some(*hint))?, true),
            Placement::Arena(arena) => (arena.allocate(total)?, false),
            Placement::Heap(heap) => match heap.arena() {
                // A heap without two views is an arena; a unit too big for it gets a mapping.
                Some(arena) => match arena.allocate(total) {
                    Ok(block) => (block, false),
                    Err(_) => (Block::map(host, total, None)?, true),
                },
                None => (Block::map(host, total, None)?, true),
            },
        };
        Writing::begin(block, code_size, fresh).map(|w| WritableMemory(Writable::Pages(w)))
    }

    /// Address of the first code byte, where it will run (in a dual-mapped heap, in the
    /// execute view: the bytes are written through [`WritableMemory::bytes_mut`]).
    pub fn code_address(&self) -> usize {
        match &self.0 {
            Writable::Pages(w) => w.block.ptr as usize,
            Writable::Heap(unit) => unit.exec_address(),
        }
    }

    /// Address of the first data byte (right after the code, aligned), where the code sees it.
    pub fn data_address(&self) -> usize {
        match &self.0 {
            Writable::Pages(w) => w.block.ptr as usize + w.code_size,
            Writable::Heap(unit) => unit.exec_address() + unit.code_size,
        }
    }

    /// The whole unit, code then data.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            // SAFETY: the block is mapped read+write (for this thread, in write mode) for
            // `code_size + data_size` bytes and owned exclusively by `self`.
            Writable::Pages(w) => unsafe {
                std::slice::from_raw_parts_mut(w.block.ptr, w.block.len)
            },
            Writable::Heap(unit) => unit.bytes_mut(),
        }
    }

    /// Makes code executable and data read-only/read+write. `code_written` is how many code
    /// bytes were written (the instruction cache is flushed for exactly those). A dual-mapped
    /// heap makes no system call here: its execute view already is read+execute, and its data
    /// is only read-only (read+write data is refused with [`io::ErrorKind::Unsupported`]).
    pub fn seal(self, code_written: usize, data: DataProtection) -> io::Result<ExecutableMemory> {
        match self.0 {
            Writable::Pages(w) => w
                .seal(code_written, data)
                .map(|s| ExecutableMemory(Executable::Pages(s))),
            Writable::Heap(unit) => unit
                .seal(code_written, data)
                .map(|u| ExecutableMemory(Executable::Heap(u))),
        }
    }
}

impl ExecutableMemory {
    /// Address of the first code byte (read+execute).
    pub fn code_address(&self) -> usize {
        match &self.0 {
            Executable::Pages(s) => s.block.ptr as usize,
            Executable::Heap(unit) => unit.exec_address(),
        }
    }

    /// Address of the first data byte (after the code).
    pub fn data_address(&self) -> usize {
        match &self.0 {
            Executable::Pages(s) => s.block.ptr as usize + s.code_size,
            Executable::Heap(unit) => unit.exec_address() + unit.code_size,
        }
    }

    /// Bytes the unit occupies: its code and data, rounded as [`WritableMemory::allocate`]
    /// rounds them.
    pub fn size(&self) -> usize {
        match &self.0 {
            Executable::Pages(s) => s.code_size + s.data_size,
            Executable::Heap(unit) => unit.len,
        }
    }
}

/// A mapped, page-aligned block and who frees it.
struct Block<B: Backend> {
    ptr: *mut u8,
    len: usize,
    owner: Owner,
    backend: B,
}

enum Owner {
    Mapping,
    Arena(Arc<Arena>),
}

// SAFETY: a block is plain memory owned by one unit; nothing in it is thread-bound.
unsafe impl<B: Backend + Send> Send for Block<B> {}
// SAFETY: shared access only reads the pointer value.
unsafe impl<B: Backend + Sync> Sync for Block<B> {}

impl<B: Backend> Block<B> {
    fn map(backend: B, len: usize, hint: Option<usize>) -> io::Result<Block<B>> {
        let ptr = backend.reserve(len, hint)?;
        // Owned from here: a failed commit releases the mapping.
        let block = Block {
            ptr,
            len,
            owner: Owner::Mapping,
            backend,
        };
        backend.commit(ptr, len)?;
        Ok(block)
    }
}

impl<B: Backend> Drop for Block<B> {
    fn drop(&mut self) {
        match &self.owner {
            Owner::Mapping => self.backend.release(self.ptr, self.len),
            Owner::Arena(arena) => arena.free(self.ptr, self.len),
        }
    }
}

/// Free `(offset, len)` ranges of an address range, sorted by offset and coalesced; chunks
/// are taken first-fit.
struct FreeList(Mutex<Vec<(usize, usize)>>);

impl FreeList {
    fn new(size: usize) -> FreeList {
        FreeList(Mutex::new(vec![(0, size)]))
    }

    /// For a dual-mapped heap's retired ranges.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn empty() -> FreeList {
        FreeList(Mutex::new(Vec::new()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, usize)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn free_bytes(&self) -> usize {
        self.lock().iter().map(|&(_, len)| len).sum()
    }

    /// The offset of a free run of `len` bytes, now taken.
    fn take(&self, len: usize) -> Option<usize> {
        let mut free = self.lock();
        let index = free.iter().position(|&(_, l)| l >= len)?;
        let (offset, l) = free[index];
        if l == len {
            free.remove(index);
        } else {
            free[index] = (offset + len, l - len);
        }
        Some(offset)
    }

    fn give_back(&self, offset: usize, len: usize) {
        let mut free = self.lock();
        let index = free.partition_point(|&(o, _)| o < offset);
        free.insert(index, (offset, len));
        if index + 1 < free.len() && free[index].0 + free[index].1 == free[index + 1].0 {
            free[index].1 += free[index + 1].1;
            free.remove(index + 1);
        }
        if index > 0 && free[index - 1].0 + free[index - 1].1 == free[index].0 {
            free[index - 1].1 += free[index].1;
            free.remove(index);
        }
    }
}

/// A reserved address range that units are carved out of. Chunks are page-aligned, zero-filled
/// when handed out, and returned to a free list (their pages released to the OS) when dropped.
pub struct Arena {
    base: *mut u8,
    size: usize,
    free: FreeList,
}

// SAFETY: the raw base pointer is only used for address arithmetic; the free list is locked.
unsafe impl Send for Arena {}
// SAFETY: as above.
unsafe impl Sync for Arena {}

impl Arena {
    /// Reserves `size` bytes of address space (no memory is committed until chunks are used).
    pub fn new(size: usize) -> io::Result<Arc<Arena>> {
        Arena::reserve(size, None)
    }

    /// Like [`Arena::new`], preferably at `hint`.
    pub fn near(size: usize, hint: usize) -> io::Result<Arc<Arena>> {
        Arena::reserve(size, Some(hint))
    }

    fn reserve(size: usize, hint: Option<usize>) -> io::Result<Arc<Arena>> {
        let size = round_up(size.max(1), page_size())
            .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "arena size overflows"))?;
        let base = sys::HOST.reserve(size, hint)?;
        Ok(Arc::new(Arena {
            base,
            size,
            free: FreeList::new(size),
        }))
    }

    /// Start address of the reserved range.
    pub fn address(&self) -> usize {
        self.base as usize
    }

    /// Bytes not currently handed out.
    pub fn free_bytes(&self) -> usize {
        self.free.free_bytes()
    }

    fn allocate(self: &Arc<Arena>, len: usize) -> io::Result<Block<sys::Host>> {
        let offset = self.free.take(len).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("arena has no free run of {len} bytes"),
            )
        })?;
        // SAFETY: `offset + len` is inside the reserved range.
        let ptr = unsafe { self.base.add(offset) };
        if let Err(e) = sys::HOST.commit(ptr, len) {
            self.free.give_back(offset, len);
            return Err(e);
        }
        Ok(Block {
            ptr,
            len,
            owner: Owner::Arena(Arc::clone(self)),
            backend: sys::HOST,
        })
    }

    fn free(&self, ptr: *mut u8, len: usize) {
        sys::HOST.decommit(ptr, len);
        self.free.give_back(ptr as usize - self.base as usize, len);
    }
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena")
            .field("address", &self.base)
            .field("size", &self.size)
            .finish()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        sys::HOST.release(self.base, self.size);
    }
}

#[cfg(unix)]
mod sys {
    use super::{Backend, DataProtection, WriteMode};
    use std::io;

    /// This machine's page operations: `mprotect`-based W^X, or `MAP_JIT` on macOS arm64.
    pub type Host = Scheme<Libc>;
    pub const HOST: Host = Scheme(Libc);

    pub fn page_size() -> usize {
        // SAFETY: sysconf has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if size > 0 {
            size as usize
        } else {
            4096
        }
    }

    /// Page protections the schemes ask for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Prot {
        None,
        Read,
        ReadWrite,
        ReadExecute,
    }

    /// The system calls the schemes are made of: `Libc` makes them, tests record them.
    pub trait Calls: Copy {
        /// Whether executable memory must be `MAP_JIT` (macOS arm64).
        const MAP_JIT: bool;
        /// An anonymous private mapping anywhere (near `hint`): inaccessible, or `MAP_JIT` and
        /// read+write+execute if `jit`.
        fn mmap(self, len: usize, hint: Option<usize>, jit: bool) -> io::Result<*mut u8>;
        /// An anonymous private mapping replacing `ptr..ptr+len` of one of ours (`MAP_FIXED`).
        fn mmap_fixed(self, ptr: *mut u8, len: usize, prot: Prot) -> io::Result<()>;
        fn mprotect(self, ptr: *mut u8, len: usize, prot: Prot) -> io::Result<()>;
        fn munmap(self, ptr: *mut u8, len: usize);
        /// Drops the pages' contents: they read back as zeros.
        fn discard(self, ptr: *mut u8, len: usize);
        /// `pthread_jit_write_protect_np(enabled)`.
        fn jit_write_protect(self, enabled: bool);
        fn flush_icache(self, ptr: *mut u8, len: usize);
    }

    /// W^X for unix from the calls `C` makes.
    #[derive(Clone, Copy)]
    pub struct Scheme<C>(pub C);

    impl<C: Calls> Backend for Scheme<C> {
        const JIT: bool = C::MAP_JIT;

        fn reserve(self, len: usize, hint: Option<usize>) -> io::Result<*mut u8> {
            self.0.mmap(len, hint, C::MAP_JIT)
        }

        fn commit(self, ptr: *mut u8, len: usize) -> io::Result<()> {
            if C::MAP_JIT {
                return Ok(());
            }
            self.0.mprotect(ptr, len, Prot::ReadWrite)
        }

        fn own_data_mapping(self, ptr: *mut u8, len: usize) -> io::Result<()> {
            self.0.mmap_fixed(ptr, len, Prot::ReadWrite)
        }

        fn decommit(self, ptr: *mut u8, len: usize) {
            if C::MAP_JIT {
                let _writing = WriteMode::begin(self);
                // SAFETY: the range is a chunk of our MAP_JIT mapping, writable on this thread
                // in write mode, and no unit uses it any more.
                unsafe { std::ptr::write_bytes(ptr, 0, len) };
                return;
            }
            self.0.discard(ptr, len);
            // Best effort: the pages are zero and unused either way.
            let _ = self.0.mprotect(ptr, len, Prot::None);
        }

        fn release(self, ptr: *mut u8, len: usize) {
            self.0.munmap(ptr, len);
        }

        fn seal_code(self, ptr: *mut u8, len: usize) -> io::Result<()> {
            if C::MAP_JIT {
                return Ok(());
            }
            self.0.mprotect(ptr, len, Prot::ReadExecute)
        }

        fn protect_data(self, ptr: *mut u8, len: usize, data: DataProtection) -> io::Result<()> {
            let prot = match data {
                DataProtection::ReadOnly => Prot::Read,
                DataProtection::ReadWrite => Prot::ReadWrite,
            };
            self.0.mprotect(ptr, len, prot)
        }

        fn set_jit_writable(self, writable: bool) {
            self.0.jit_write_protect(!writable);
        }

        fn flush_icache(self, ptr: *mut u8, len: usize) {
            self.0.flush_icache(ptr, len);
        }
    }

    /// The real system calls.
    #[derive(Clone, Copy)]
    pub struct Libc;

    fn prot_bits(prot: Prot) -> libc::c_int {
        match prot {
            Prot::None => libc::PROT_NONE,
            Prot::Read => libc::PROT_READ,
            Prot::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Prot::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
        }
    }

    #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
    const MAP_JIT_FLAG: libc::c_int = libc::MAP_JIT;
    #[cfg(not(all(target_os = "macos", target_arch = "aarch64")))]
    const MAP_JIT_FLAG: libc::c_int = 0;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    const MAP_NORESERVE: libc::c_int = libc::MAP_NORESERVE;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const MAP_NORESERVE: libc::c_int = 0;

    #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
    extern "C" {
        fn pthread_jit_write_protect_np(enabled: libc::c_int);
        fn sys_icache_invalidate(start: *mut libc::c_void, len: libc::size_t);
    }

    /// Forks this process descends through (each child counts one more), so that views made
    /// before a fork, which the child does not inherit (`MADV_DONTFORK`), are left alone there.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    static FORKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[cfg(any(target_os = "linux", target_os = "android"))]
    extern "C" fn count_fork() {
        FORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// One shared memory object of `size` bytes mapped twice, pre-faulted.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub struct DualMapping {
        /// The object, kept to map parts of it again ([`DualMapping::remap_exec`]).
        fd: libc::c_int,
        /// [`FORKS`] when the views were made.
        forks: usize,
        /// The read+write view.
        pub write: *mut u8,
        /// The read+execute view.
        pub exec: *mut u8,
        size: usize,
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    impl DualMapping {
        /// Creates the object and both views. Neither view is inherited by a forked child (the
        /// child could otherwise run code the parent rewrites). Fails where the object cannot
        /// be created or mapped executable (no `memfd_create`, `vm.memfd_noexec`, a policy
        /// against executable shared mappings).
        pub fn new(size: usize) -> io::Result<DualMapping> {
            // MFD_EXEC: executable even where `vm.memfd_noexec` seals new objects by default;
            // kernels before 6.3 do not know it (EINVAL) and need none.
            const MFD_EXEC: libc::c_uint = 0x10;
            let name = c"patchjit-code";
            let create = |flags: libc::c_uint| {
                // SAFETY: memfd_create takes a NUL-terminated name and flags.
                unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) }
            };
            static COUNT_FORKS: std::sync::Once = std::sync::Once::new();
            // SAFETY: registers a child-side fork handler that only bumps an atomic.
            COUNT_FORKS.call_once(|| unsafe {
                libc::pthread_atfork(None, None, Some(count_fork));
            });
            let mut fd = create(libc::MFD_CLOEXEC | MFD_EXEC);
            if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                fd = create(libc::MFD_CLOEXEC);
            }
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut views = DualMapping {
                fd: fd as libc::c_int,
                forks: FORKS.load(std::sync::atomic::Ordering::Relaxed),
                write: std::ptr::null_mut(),
                exec: std::ptr::null_mut(),
                size,
            };
            // SAFETY: sizing the object we just created.
            if unsafe { libc::ftruncate(views.fd, size as libc::off_t) } != 0 {
                return Err(io::Error::last_os_error());
            }
            views.write = views.map(None, 0, size, libc::PROT_READ | libc::PROT_WRITE)?;
            views.exec = views.map(None, 0, size, libc::PROT_READ | libc::PROT_EXEC)?;
            Ok(views)
        }

        /// Whether the views are mapped in this process: not in a child forked after they
        /// were made, where their addresses may hold anything.
        pub fn mapped_here(&self) -> bool {
            FORKS.load(std::sync::atomic::Ordering::Relaxed) == self.forks
        }

        /// Maps `len` bytes of the object from `offset`, at `at` (`MAP_FIXED`) or anywhere.
        fn map(
            &self,
            at: Option<*mut u8>,
            offset: usize,
            len: usize,
            prot: libc::c_int,
        ) -> io::Result<*mut u8> {
            let fixed = if at.is_some() { libc::MAP_FIXED } else { 0 };
            let flags = libc::MAP_SHARED | libc::MAP_POPULATE | fixed;
            let addr = at.unwrap_or(std::ptr::null_mut()).cast();
            // SAFETY: a shared mapping of our own object, anywhere or over a range of our own
            // execute view that no unit uses.
            let ptr = unsafe { libc::mmap(addr, len, prot, flags, self.fd, offset as libc::off_t) };
            if ptr == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: advice on the mapping just made.
            unsafe { libc::madvise(ptr, len, libc::MADV_DONTFORK) };
            Ok(ptr.cast())
        }

        /// Maps `[offset, offset + len)` of the execute view again, read+execute and
        /// pre-faulted, for code that is about to be written there anew: emulators that
        /// translate code (qemu-user) watch the pages they translated, not the write view, and
        /// drop their translations when the range is mapped again.
        pub fn remap_exec(&self, offset: usize, len: usize) -> io::Result<()> {
            // SAFETY: the range is inside the execute view.
            let at = unsafe { self.exec.add(offset) };
            self.map(Some(at), offset, len, libc::PROT_READ | libc::PROT_EXEC)
                .map(|_| ())
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    impl Drop for DualMapping {
        fn drop(&mut self) {
            for view in [self.write, self.exec] {
                if !view.is_null() && self.mapped_here() {
                    Libc.munmap(view, self.size);
                }
            }
            // SAFETY: the descriptor is ours; the mappings are gone.
            unsafe { libc::close(self.fd) };
        }
    }

    impl Calls for Libc {
        const MAP_JIT: bool = cfg!(all(target_os = "macos", target_arch = "aarch64"));

        fn mmap(self, len: usize, hint: Option<usize>, jit: bool) -> io::Result<*mut u8> {
            let (prot, extra) = if jit {
                (
                    libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                    MAP_JIT_FLAG,
                )
            } else {
                (libc::PROT_NONE, MAP_NORESERVE)
            };
            let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra;
            let addr = hint.unwrap_or(0) as *mut libc::c_void;
            // SAFETY: anonymous mapping without MAP_FIXED: the kernel picks a free range.
            let ptr = unsafe { libc::mmap(addr, len, prot, flags, -1, 0) };
            if ptr == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            Ok(ptr.cast())
        }

        fn mmap_fixed(self, ptr: *mut u8, len: usize, prot: Prot) -> io::Result<()> {
            let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED;
            // SAFETY: the range is part of a mapping we own that nothing refers to yet.
            let got = unsafe { libc::mmap(ptr.cast(), len, prot_bits(prot), flags, -1, 0) };
            if got == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }

        fn mprotect(self, ptr: *mut u8, len: usize, prot: Prot) -> io::Result<()> {
            if len == 0 {
                return Ok(());
            }
            // SAFETY: the range is page-aligned and inside a mapping we own.
            if unsafe { libc::mprotect(ptr.cast(), len, prot_bits(prot)) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }

        fn munmap(self, ptr: *mut u8, len: usize) {
            // SAFETY: `ptr..ptr+len` is a whole reservation of ours nothing refers to any more.
            unsafe { libc::munmap(ptr.cast(), len) };
        }

        fn discard(self, ptr: *mut u8, len: usize) {
            // SAFETY: the range is a chunk of a private anonymous mapping we own; after
            // MADV_DONTNEED it reads back as zeros.
            unsafe { libc::madvise(ptr.cast(), len, libc::MADV_DONTNEED) };
        }

        fn jit_write_protect(self, _enabled: bool) {
            #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
            // SAFETY: toggles this thread's view of MAP_JIT pages.
            unsafe {
                pthread_jit_write_protect_np(libc::c_int::from(_enabled))
            };
        }

        /// AArch64 has no coherent instruction cache; x86 needs nothing.
        fn flush_icache(self, _ptr: *mut u8, _len: usize) {
            #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
            // SAFETY: the range was just written and is mapped.
            unsafe {
                sys_icache_invalidate(_ptr.cast(), _len)
            };
            #[cfg(all(not(target_os = "macos"), target_arch = "aarch64"))]
            super::aarch64::flush_icache(_ptr as usize, _len);
        }
    }
}

#[cfg(all(not(target_os = "macos"), target_arch = "aarch64"))]
pub(crate) mod aarch64 {
    use std::arch::asm;

    /// Cleans the data cache to the point of unification and invalidates the instruction cache
    /// for `[start, start+len)`, line by line, as `__clear_cache` does.
    pub fn flush_icache(start: usize, len: usize) {
        flush_icache_aliased(start, start, len);
    }

    /// [`flush_icache`] for code written at `written` and run at `start`, another view of the
    /// same memory: the data cache is cleaned by the written addresses and the instruction
    /// cache invalidated by the executed ones (instruction caches may be virtually indexed).
    pub fn flush_icache_aliased(written: usize, start: usize, len: usize) {
        if len == 0 {
            return;
        }
        let ctr: u64;
        // SAFETY: CTR_EL0 is readable from EL0 on Linux and Windows.
        unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
        let dline = 4usize << ((ctr >> 16) & 0xF);
        let iline = 4usize << (ctr & 0xF);
        let mut a = written & !(dline - 1);
        while a < written + len {
            // SAFETY: cache maintenance by address on mapped memory.
            unsafe { asm!("dc cvau, {}", in(reg) a, options(nostack)) };
            a += dline;
        }
        let end = start + len;
        // SAFETY: barrier only.
        unsafe { asm!("dsb ish", options(nostack)) };
        let mut a = start & !(iline - 1);
        while a < end {
            // SAFETY: cache maintenance by address on mapped memory.
            unsafe { asm!("ic ivau, {}", in(reg) a, options(nostack)) };
            a += iline;
        }
        // SAFETY: barriers only.
        unsafe { asm!("dsb ish", "isb", options(nostack)) };
    }
}

#[cfg(windows)]
mod sys {
    use super::{Backend, DataProtection};
    use std::ffi::c_void;
    use std::io;
    use windows_sys::Win32::System::Diagnostics::Debug::FlushInstructionCache;
    use windows_sys::Win32::System::Memory::{
        VirtualAlloc, VirtualFree, VirtualProtect, MEM_COMMIT, MEM_DECOMMIT, MEM_RELEASE,
        MEM_RESERVE, PAGE_EXECUTE_READ, PAGE_NOACCESS, PAGE_PROTECTION_FLAGS, PAGE_READONLY,
        PAGE_READWRITE,
    };
    use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
    use windows_sys::Win32::System::Threading::GetCurrentProcess;

    pub fn page_size() -> usize {
        let mut info = SYSTEM_INFO::default();
        // SAFETY: GetSystemInfo fills the struct.
        unsafe { GetSystemInfo(&mut info) };
        info.dwPageSize as usize
    }

    /// VirtualAlloc/VirtualProtect W^X.
    #[derive(Clone, Copy)]
    pub struct Host;
    pub const HOST: Host = Host;

    fn protect(ptr: *mut u8, len: usize, new: PAGE_PROTECTION_FLAGS) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let mut old = 0;
        // SAFETY: the range is committed memory we own.
        if unsafe { VirtualProtect(ptr.cast(), len, new, &mut old) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    impl Backend for Host {
        const JIT: bool = false;

        fn reserve(self, len: usize, hint: Option<usize>) -> io::Result<*mut u8> {
            // SAFETY: reserving address space has no preconditions; a taken hint fails, so retry.
            let mut ptr = unsafe {
                VirtualAlloc(
                    hint.unwrap_or(0) as *const c_void,
                    len,
                    MEM_RESERVE,
                    PAGE_NOACCESS,
                )
            };
            if ptr.is_null() && hint.is_some() {
                // SAFETY: as above.
                ptr = unsafe { VirtualAlloc(std::ptr::null(), len, MEM_RESERVE, PAGE_NOACCESS) };
            }
            if ptr.is_null() {
                return Err(io::Error::last_os_error());
            }
            Ok(ptr.cast())
        }

        fn commit(self, ptr: *mut u8, len: usize) -> io::Result<()> {
            // SAFETY: the range lies in a reservation we own.
            if unsafe { VirtualAlloc(ptr.cast(), len, MEM_COMMIT, PAGE_READWRITE) }.is_null() {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }

        fn own_data_mapping(self, _ptr: *mut u8, _len: usize) -> io::Result<()> {
            Ok(())
        }

        fn decommit(self, ptr: *mut u8, len: usize) {
            // SAFETY: the range lies in a reservation we own; decommitted pages read back as
            // zeros.
            unsafe { VirtualFree(ptr.cast(), len, MEM_DECOMMIT) };
        }

        fn release(self, ptr: *mut u8, _len: usize) {
            // SAFETY: `ptr` is the base of a reservation we own.
            unsafe { VirtualFree(ptr.cast(), 0, MEM_RELEASE) };
        }

        fn seal_code(self, ptr: *mut u8, len: usize) -> io::Result<()> {
            protect(ptr, len, PAGE_EXECUTE_READ)
        }

        fn protect_data(self, ptr: *mut u8, len: usize, data: DataProtection) -> io::Result<()> {
            match data {
                DataProtection::ReadOnly => protect(ptr, len, PAGE_READONLY),
                DataProtection::ReadWrite => protect(ptr, len, PAGE_READWRITE),
            }
        }

        fn set_jit_writable(self, _writable: bool) {}

        fn flush_icache(self, ptr: *mut u8, len: usize) {
            // SAFETY: flushing a range of our own process.
            unsafe { FlushInstructionCache(GetCurrentProcess(), ptr.cast(), len) };
        }
    }
}

/// The unix schemes driven with recorded system calls, so the `MAP_JIT` sequence (macOS arm64)
/// is checked on any host.
#[cfg(all(test, unix))]
mod scheme_tests {
    use super::sys::{Calls, Prot, Scheme};
    use super::*;

    const BASE: usize = 0x10_0000;

    /// A call, with addresses as offsets from the fake mapping's base.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Call {
        Mmap { len: usize, jit: bool },
        MmapFixed { at: usize, len: usize, prot: Prot },
        Mprotect { at: usize, len: usize, prot: Prot },
        Munmap { at: usize, len: usize },
        Discard { at: usize, len: usize },
        JitWriteProtect(bool),
        FlushIcache { at: usize, len: usize },
    }
    use Call::*;

    /// Records calls and maps nothing: the pages are never touched.
    #[derive(Default)]
    struct Recording<const JIT: bool> {
        calls: Mutex<Vec<Call>>,
    }

    impl<const JIT: bool> Recording<JIT> {
        fn push(&self, call: Call) {
            self.calls.lock().unwrap().push(call);
        }
        fn take(&self) -> Vec<Call> {
            std::mem::take(&mut self.calls.lock().unwrap())
        }
    }

    fn at(ptr: *mut u8) -> usize {
        ptr as usize - BASE
    }

    impl<const JIT: bool> Calls for &Recording<JIT> {
        const MAP_JIT: bool = JIT;
        fn mmap(self, len: usize, _: Option<usize>, jit: bool) -> io::Result<*mut u8> {
            self.push(Mmap { len, jit });
            Ok(BASE as *mut u8)
        }
        fn mmap_fixed(self, ptr: *mut u8, len: usize, prot: Prot) -> io::Result<()> {
            self.push(MmapFixed {
                at: at(ptr),
                len,
                prot,
            });
            Ok(())
        }
        fn mprotect(self, ptr: *mut u8, len: usize, prot: Prot) -> io::Result<()> {
            self.push(Mprotect {
                at: at(ptr),
                len,
                prot,
            });
            Ok(())
        }
        fn munmap(self, ptr: *mut u8, len: usize) {
            self.push(Munmap { at: at(ptr), len });
        }
        fn discard(self, ptr: *mut u8, len: usize) {
            self.push(Discard { at: at(ptr), len });
        }
        fn jit_write_protect(self, enabled: bool) {
            self.push(JitWriteProtect(enabled));
        }
        fn flush_icache(self, ptr: *mut u8, len: usize) {
            self.push(FlushIcache { at: at(ptr), len });
        }
    }

    /// A fresh unit of one code page and one data page, being written.
    fn fresh<const JIT: bool>(calls: &Recording<JIT>) -> Writing<Scheme<&Recording<JIT>>> {
        let page = page_size();
        let block = Block::map(Scheme(calls), 2 * page, None).unwrap();
        Writing::begin(block, page, true).unwrap()
    }

    #[test]
    fn map_jit_unit_gets_its_own_data_mapping_and_ends_in_execute_mode() {
        let calls = Recording::<true>::default();
        let page = page_size();
        let writing = [
            Mmap {
                len: 2 * page,
                jit: true,
            },
            MmapFixed {
                at: page,
                len: page,
                prot: Prot::ReadWrite,
            },
            JitWriteProtect(false),
        ];
        // Emission failed: the unit is dropped unsealed, and the thread is back in execute mode.
        drop(fresh(&calls));
        let failed = [
            JitWriteProtect(true),
            Munmap {
                at: 0,
                len: 2 * page,
            },
        ];
        assert_eq!(calls.take(), [&writing[..], &failed].concat());

        let sealed = fresh(&calls).seal(10, DataProtection::ReadOnly).unwrap();
        let sealing = [
            JitWriteProtect(true),
            FlushIcache { at: 0, len: 10 },
            Mprotect {
                at: page,
                len: page,
                prot: Prot::Read,
            },
        ];
        assert_eq!(calls.take(), [&writing[..], &sealing].concat());
        drop(sealed);
        assert_eq!(
            calls.take(),
            [Munmap {
                at: 0,
                len: 2 * page
            }]
        );
    }

    #[test]
    fn write_mode_lasts_while_any_unit_on_the_thread_is_written() {
        let calls = Recording::<true>::default();
        let first = fresh(&calls);
        let second = fresh(&calls);
        let toggles = |calls: Vec<Call>| -> Vec<Call> {
            calls
                .into_iter()
                .filter(|c| matches!(c, JitWriteProtect(_)))
                .collect()
        };
        assert_eq!(toggles(calls.take()), [JitWriteProtect(false)]);
        let first = first.seal(1, DataProtection::ReadWrite).unwrap();
        assert_eq!(toggles(calls.take()), [], "second unit still being written");
        drop(second);
        assert_eq!(toggles(calls.take()), [JitWriteProtect(true)]);
        drop(first);
        // Another thread's write mode is its own.
        let other = std::thread::scope(|s| s.spawn(|| drop(fresh(&calls))).join());
        other.unwrap();
        assert_eq!(
            toggles(calls.take()),
            [JitWriteProtect(false), JitWriteProtect(true)]
        );
    }

    /// Arena chunks share the MAP_JIT reservation: read-only data is the execute-mode view,
    /// read+write data is refused (and the thread still ends in execute mode).
    #[test]
    fn map_jit_data_without_its_own_mapping_is_never_writable() {
        let calls = Recording::<true>::default();
        let page = page_size();
        let chunk = || {
            let block = Block::map(Scheme(&calls), 2 * page, None).unwrap();
            Writing::begin(block, page, false).unwrap()
        };
        let err = chunk().seal(4, DataProtection::ReadWrite).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        let recorded = calls.take();
        assert!(!recorded.iter().any(|c| matches!(c, MmapFixed { .. })));
        assert_eq!(
            recorded.last(),
            Some(&Munmap {
                at: 0,
                len: 2 * page
            })
        );
        assert_eq!(
            recorded
                .iter()
                .rev()
                .find(|c| matches!(c, JitWriteProtect(_))),
            Some(&JitWriteProtect(true))
        );
        drop(chunk().seal(4, DataProtection::ReadOnly).unwrap());
        assert!(!calls.take().iter().any(|c| matches!(c, Mprotect { .. })));
    }

    #[test]
    fn mprotect_unit_is_read_write_then_read_execute_and_read_only() {
        let calls = Recording::<false>::default();
        let page = page_size();
        drop(fresh(&calls).seal(10, DataProtection::ReadOnly).unwrap());
        assert_eq!(
            calls.take(),
            [
                Mmap {
                    len: 2 * page,
                    jit: false
                },
                Mprotect {
                    at: 0,
                    len: 2 * page,
                    prot: Prot::ReadWrite
                },
                FlushIcache { at: 0, len: 10 },
                Mprotect {
                    at: 0,
                    len: page,
                    prot: Prot::ReadExecute
                },
                Mprotect {
                    at: page,
                    len: page,
                    prot: Prot::Read
                },
                Munmap {
                    at: 0,
                    len: 2 * page
                },
            ]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page protection at `address` as the OS reports it, `rwx`-style.
    #[cfg(target_os = "linux")]
    fn protection(address: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|l| {
                let (range, rest) = l.split_once(' ')?;
                let (a, b) = range.split_once('-')?;
                let (a, b) = (
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                );
                (a <= address && address < b).then(|| rest[..3].to_string())
            })
            .unwrap()
    }

    /// The page protection at `address` as the OS reports it, `rwx`-style.
    #[cfg(windows)]
    fn protection(address: usize) -> String {
        use windows_sys::Win32::System::Memory::{
            VirtualQuery, MEMORY_BASIC_INFORMATION, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
            PAGE_READONLY, PAGE_READWRITE,
        };
        let mut info = MEMORY_BASIC_INFORMATION::default();
        let len = std::mem::size_of::<MEMORY_BASIC_INFORMATION>();
        // SAFETY: VirtualQuery fills at most `len` bytes of `info`.
        assert_eq!(
            unsafe { VirtualQuery(address as *const _, &mut info, len) },
            len
        );
        match info.Protect {
            PAGE_READONLY => "r--",
            PAGE_READWRITE => "rw-",
            PAGE_EXECUTE_READ => "r-x",
            PAGE_EXECUTE_READWRITE => "rwx",
            other => panic!("protection {other:#x}"),
        }
        .to_string()
    }

    #[test]
    fn code_and_data_pages_are_sealed_w_xor_x() {
        let mut m = WritableMemory::allocate(10, 20, &Placement::Anywhere).unwrap();
        let page = page_size();
        assert_eq!(m.data_address() - m.code_address(), page);
        assert!(m.bytes_mut().iter().all(|&b| b == 0));
        // x86-64: mov eax, 42; ret
        m.bytes_mut()[..6].copy_from_slice(&[0xB8, 42, 0, 0, 0, 0xC3]);
        m.bytes_mut()[page] = 7;
        let sealed = m.seal(6, DataProtection::ReadOnly).unwrap();
        assert_eq!(sealed.size(), 2 * page);
        #[cfg(any(target_os = "linux", windows))]
        {
            assert_eq!(protection(sealed.code_address()), "r-x");
            assert_eq!(protection(sealed.data_address()), "r--");
        }
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: the code above is a complete function returning an int.
            let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(sealed.code_address()) };
            assert_eq!(f(), 42);
        }
        // SAFETY: the data page is readable.
        assert_eq!(unsafe { *(sealed.data_address() as *const u8) }, 7);
    }

    #[test]
    fn arena_reuses_and_zeroes_chunks() {
        let page = page_size();
        let arena = Arena::new(16 * page).unwrap();
        let placement = Placement::Arena(Arc::clone(&arena));
        let mut a = WritableMemory::allocate(1, page + 1, &placement).unwrap();
        assert_eq!(a.code_address(), arena.address());
        a.bytes_mut().fill(0xAB);
        let b = WritableMemory::allocate(1, 0, &placement).unwrap();
        assert_eq!(b.code_address(), arena.address() + 3 * page);
        assert_eq!(arena.free_bytes(), 12 * page);
        let a = a.seal(1, DataProtection::ReadWrite).unwrap();
        drop(a);
        drop(b);
        assert_eq!(arena.free_bytes(), 16 * page, "chunks coalesce back");
        let mut c = WritableMemory::allocate(4 * page, 0, &placement).unwrap();
        assert_eq!(c.code_address(), arena.address());
        assert!(
            c.bytes_mut().iter().all(|&b| b == 0),
            "reused pages are zero"
        );
        assert!(WritableMemory::allocate(13 * page, 0, &placement).is_err());
    }

    #[test]
    fn near_placement_honours_a_free_hint() {
        let probe = WritableMemory::allocate(1, 0, &Placement::Anywhere).unwrap();
        // 64 GiB away (below, or above where the system maps low), 64 KiB aligned for Windows.
        let address = probe.code_address();
        let hint = address
            .checked_sub(64 << 30)
            .unwrap_or(address + (64 << 30))
            & !0xFFFF;
        drop(probe);
        let m = WritableMemory::allocate(1, 0, &Placement::Near(hint)).unwrap();
        assert_eq!(m.code_address(), hint);
    }
}
