//! Executable memory for one compiled unit, kept W^X: pages are writable while the unit is being
//! copied and patched, then code becomes read+execute and data read-only (or read+write), never
//! writable and executable at once. Code and data of a unit share one allocation so data is
//! always within reach of PC-relative code. An [`Arena`] reserves address space once and hands
//! out page-aligned chunks, so many small units do not each pay for `mmap`/`munmap`.

use std::io;
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
}

/// The system page size.
pub fn page_size() -> usize {
    sys::page_size()
}

fn round_up(n: usize, to: usize) -> Option<usize> {
    Some(n.checked_add(to - 1)? & !(to - 1))
}

/// Page-aligned memory while it is being written: `[code pages][data pages]`, read+write.
pub struct WritableMemory {
    block: Block,
    code_size: usize,
    data_size: usize,
}

/// Sealed memory: code pages read+execute, data pages read-only or read+write. Freed on drop.
pub struct ExecutableMemory {
    block: Block,
    code_size: usize,
    data_size: usize,
}

impl WritableMemory {
    /// Allocates room for `code_len` code bytes and `data_len` data bytes, each rounded up to
    /// whole pages, zero-filled (stencils rely on it: trailing zero bytes are never copied).
    pub fn allocate(
        code_len: usize,
        data_len: usize,
        placement: &Placement,
    ) -> io::Result<WritableMemory> {
        let page = page_size();
        let too_big = || io::Error::new(io::ErrorKind::OutOfMemory, "unit size overflows");
        let code_size = round_up(code_len.max(1), page).ok_or_else(too_big)?;
        let data_size = round_up(data_len, page).ok_or_else(too_big)?;
        let total = code_size.checked_add(data_size).ok_or_else(too_big)?;
        let block = match placement {
            Placement::Anywhere => Block::map(total, None)?,
            Placement::Near(hint) => Block::map(total, Some(*hint))?,
            Placement::Arena(arena) => arena.allocate(total)?,
        };
        sys::begin_write(block.ptr, total)?;
        Ok(WritableMemory {
            block,
            code_size,
            data_size,
        })
    }

    /// Address of the first code byte.
    pub fn code_address(&self) -> usize {
        self.block.ptr as usize
    }

    /// Address of the first data byte (page-aligned, right after the code pages).
    pub fn data_address(&self) -> usize {
        self.block.ptr as usize + self.code_size
    }

    /// The whole unit, code pages then data pages.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the block is mapped read+write for `code_size + data_size` bytes and owned
        // exclusively by `self`.
        unsafe { std::slice::from_raw_parts_mut(self.block.ptr, self.code_size + self.data_size) }
    }

    /// Makes code executable and data read-only/read+write. `code_written` is how many code
    /// bytes were written (the instruction cache is flushed for exactly those).
    pub fn seal(self, code_written: usize, data: DataProtection) -> io::Result<ExecutableMemory> {
        let code_written = code_written.min(self.code_size);
        let ptr = self.block.ptr;
        sys::end_write(ptr, self.code_size + self.data_size)?;
        sys::flush_icache(ptr, code_written);
        sys::protect(ptr, self.code_size, sys::Protection::ReadExecute)?;
        if self.data_size > 0 {
            let protection = match data {
                DataProtection::ReadOnly => sys::Protection::Read,
                DataProtection::ReadWrite => sys::Protection::ReadWrite,
            };
            // SAFETY: data pages follow the code pages inside the same block.
            sys::protect(
                unsafe { ptr.add(self.code_size) },
                self.data_size,
                protection,
            )?;
        }
        Ok(ExecutableMemory {
            block: self.block,
            code_size: self.code_size,
            data_size: self.data_size,
        })
    }
}

impl ExecutableMemory {
    /// Address of the first code byte (read+execute).
    pub fn code_address(&self) -> usize {
        self.block.ptr as usize
    }

    /// Address of the first data byte (page-aligned, after the code pages).
    pub fn data_address(&self) -> usize {
        self.block.ptr as usize + self.code_size
    }

    /// Total mapped bytes (code pages + data pages).
    pub fn size(&self) -> usize {
        self.code_size + self.data_size
    }
}

/// A mapped, page-aligned block and who frees it.
struct Block {
    ptr: *mut u8,
    len: usize,
    owner: Owner,
}

enum Owner {
    Mapping,
    Arena(Arc<Arena>),
}

// SAFETY: a block is plain memory owned by one unit; nothing in it is thread-bound.
unsafe impl Send for Block {}
// SAFETY: shared access only reads the pointer value.
unsafe impl Sync for Block {}

impl Block {
    fn map(len: usize, hint: Option<usize>) -> io::Result<Block> {
        let ptr = sys::reserve(len, hint)?;
        if let Err(e) = sys::commit(ptr, len) {
            sys::release(ptr, len);
            return Err(e);
        }
        Ok(Block {
            ptr,
            len,
            owner: Owner::Mapping,
        })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        match &self.owner {
            Owner::Mapping => sys::release(self.ptr, self.len),
            Owner::Arena(arena) => arena.free(self.ptr, self.len),
        }
    }
}

/// A reserved address range that units are carved out of. Chunks are page-aligned, zero-filled
/// when handed out, and returned to a free list (their pages released to the OS) when dropped.
pub struct Arena {
    base: *mut u8,
    size: usize,
    /// Free `(offset, len)` ranges, sorted by offset and coalesced.
    free: Mutex<Vec<(usize, usize)>>,
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
        let base = sys::reserve(size, hint)?;
        Ok(Arc::new(Arena {
            base,
            size,
            free: Mutex::new(vec![(0, size)]),
        }))
    }

    /// Start address of the reserved range.
    pub fn address(&self) -> usize {
        self.base as usize
    }

    /// Bytes not currently handed out.
    pub fn free_bytes(&self) -> usize {
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|&(_, len)| len)
            .sum()
    }

    fn allocate(self: &Arc<Arena>, len: usize) -> io::Result<Block> {
        let offset = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let index = free.iter().position(|&(_, l)| l >= len).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!("arena has no free run of {len} bytes"),
                )
            })?;
            let (offset, l) = free[index];
            if l == len {
                free.remove(index);
            } else {
                free[index] = (offset + len, l - len);
            }
            offset
        };
        // SAFETY: `offset + len` is inside the reserved range.
        let ptr = unsafe { self.base.add(offset) };
        if let Err(e) = sys::commit(ptr, len) {
            self.give_back(offset, len);
            return Err(e);
        }
        Ok(Block {
            ptr,
            len,
            owner: Owner::Arena(Arc::clone(self)),
        })
    }

    fn free(&self, ptr: *mut u8, len: usize) {
        sys::decommit(ptr, len);
        self.give_back(ptr as usize - self.base as usize, len);
    }

    fn give_back(&self, offset: usize, len: usize) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
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
        sys::release(self.base, self.size);
    }
}

#[cfg(unix)]
mod sys {
    use std::io;

    #[derive(Clone, Copy)]
    pub enum Protection {
        Read,
        ReadWrite,
        ReadExecute,
    }

    pub fn page_size() -> usize {
        // SAFETY: sysconf has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if size > 0 {
            size as usize
        } else {
            4096
        }
    }

    /// On Apple Silicon, executable memory must be a `MAP_JIT` mapping made RWX up front;
    /// writability is toggled per thread instead of with `mprotect`.
    const APPLE_JIT: bool = cfg!(all(target_os = "macos", target_arch = "aarch64"));

    pub fn reserve(len: usize, hint: Option<usize>) -> io::Result<*mut u8> {
        let (prot, flags) = if APPLE_JIT {
            (
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | map_jit(),
            )
        } else {
            (
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | map_noreserve(),
            )
        };
        let addr = hint.unwrap_or(0) as *mut libc::c_void;
        // SAFETY: anonymous mapping without MAP_FIXED: the kernel picks a free range.
        let ptr = unsafe { libc::mmap(addr, len, prot, flags, -1, 0) };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(ptr.cast())
    }

    #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
    fn map_jit() -> libc::c_int {
        libc::MAP_JIT
    }
    #[cfg(not(all(target_os = "macos", target_arch = "aarch64")))]
    fn map_jit() -> libc::c_int {
        0
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn map_noreserve() -> libc::c_int {
        libc::MAP_NORESERVE
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn map_noreserve() -> libc::c_int {
        0
    }

    pub fn commit(ptr: *mut u8, len: usize) -> io::Result<()> {
        if APPLE_JIT {
            return Ok(());
        }
        protect(ptr, len, Protection::ReadWrite)
    }

    /// Releases the pages' contents (later reuse sees zeros) and makes them inaccessible.
    pub fn decommit(ptr: *mut u8, len: usize) {
        if APPLE_JIT {
            begin_write(ptr, len).ok();
            // SAFETY: the range is a chunk of our mapping, writable on this thread now.
            unsafe { std::ptr::write_bytes(ptr, 0, len) };
            end_write(ptr, len).ok();
            return;
        }
        // SAFETY: the range is a chunk of a private anonymous mapping we own; after
        // MADV_DONTNEED it reads back as zeros.
        unsafe {
            libc::madvise(ptr.cast(), len, libc::MADV_DONTNEED);
            libc::mprotect(ptr.cast(), len, libc::PROT_NONE);
        }
    }

    pub fn release(ptr: *mut u8, len: usize) {
        // SAFETY: `ptr..ptr+len` is a whole mapping we created and nothing refers to it any more.
        unsafe { libc::munmap(ptr.cast(), len) };
    }

    pub fn protect(ptr: *mut u8, len: usize, protection: Protection) -> io::Result<()> {
        if APPLE_JIT || len == 0 {
            return Ok(());
        }
        let prot = match protection {
            Protection::Read => libc::PROT_READ,
            Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
        };
        // SAFETY: the range is page-aligned and inside a mapping we own.
        if unsafe { libc::mprotect(ptr.cast(), len, prot) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
    extern "C" {
        fn pthread_jit_write_protect_np(enabled: libc::c_int);
        fn sys_icache_invalidate(start: *mut libc::c_void, len: libc::size_t);
    }

    /// Makes `MAP_JIT` memory writable for this thread (no-op elsewhere: pages are RW already).
    pub fn begin_write(_ptr: *mut u8, _len: usize) -> io::Result<()> {
        #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
        // SAFETY: toggles this thread's view of MAP_JIT pages.
        unsafe {
            pthread_jit_write_protect_np(0)
        };
        Ok(())
    }

    pub fn end_write(_ptr: *mut u8, _len: usize) -> io::Result<()> {
        #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
        // SAFETY: as in `begin_write`.
        unsafe {
            pthread_jit_write_protect_np(1)
        };
        Ok(())
    }

    /// Makes freshly written instructions visible to instruction fetch (AArch64 has no coherent
    /// instruction cache; x86 needs nothing).
    pub fn flush_icache(_ptr: *mut u8, _len: usize) {
        #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
        // SAFETY: the range was just written and is mapped.
        unsafe {
            sys_icache_invalidate(_ptr.cast(), _len)
        };
        #[cfg(all(not(target_os = "macos"), target_arch = "aarch64"))]
        super::aarch64::flush_icache(_ptr as usize, _len);
    }
}

#[cfg(all(not(target_os = "macos"), target_arch = "aarch64"))]
mod aarch64 {
    use std::arch::asm;

    /// Cleans the data cache to the point of unification and invalidates the instruction cache
    /// for `[start, start+len)`, line by line, as `__clear_cache` does.
    pub fn flush_icache(start: usize, len: usize) {
        if len == 0 {
            return;
        }
        let ctr: u64;
        // SAFETY: CTR_EL0 is readable from EL0 on Linux and Windows.
        unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
        let dline = 4usize << ((ctr >> 16) & 0xF);
        let iline = 4usize << (ctr & 0xF);
        let end = start + len;
        let mut a = start & !(dline - 1);
        while a < end {
            // SAFETY: cache maintenance by address on mapped memory.
            unsafe { asm!("dc cvau, {}", in(reg) a, options(nostack)) };
            a += dline;
        }
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
    use std::ffi::c_void;
    use std::io;

    #[derive(Clone, Copy)]
    pub enum Protection {
        Read,
        ReadWrite,
        ReadExecute,
    }

    const MEM_COMMIT: u32 = 0x1000;
    const MEM_RESERVE: u32 = 0x2000;
    const MEM_DECOMMIT: u32 = 0x4000;
    const MEM_RELEASE: u32 = 0x8000;
    const PAGE_NOACCESS: u32 = 0x01;
    const PAGE_READONLY: u32 = 0x02;
    const PAGE_READWRITE: u32 = 0x04;
    const PAGE_EXECUTE_READ: u32 = 0x20;

    #[repr(C)]
    struct SystemInfo {
        processor_architecture: u16,
        reserved: u16,
        page_size: u32,
        minimum_application_address: *mut c_void,
        maximum_application_address: *mut c_void,
        active_processor_mask: usize,
        number_of_processors: u32,
        processor_type: u32,
        allocation_granularity: u32,
        processor_level: u16,
        processor_revision: u16,
    }

    #[link(name = "kernel32")]
    extern "system" {
        fn VirtualAlloc(address: *mut c_void, size: usize, kind: u32, protect: u32) -> *mut c_void;
        fn VirtualFree(address: *mut c_void, size: usize, kind: u32) -> i32;
        fn VirtualProtect(address: *mut c_void, size: usize, protect: u32, old: *mut u32) -> i32;
        fn FlushInstructionCache(process: *mut c_void, address: *const c_void, size: usize) -> i32;
        fn GetCurrentProcess() -> *mut c_void;
        fn GetSystemInfo(info: *mut SystemInfo);
    }

    pub fn page_size() -> usize {
        let mut info = std::mem::MaybeUninit::<SystemInfo>::zeroed();
        // SAFETY: GetSystemInfo fills the struct.
        unsafe {
            GetSystemInfo(info.as_mut_ptr());
            info.assume_init().page_size as usize
        }
    }

    pub fn reserve(len: usize, hint: Option<usize>) -> io::Result<*mut u8> {
        // SAFETY: reserving address space has no preconditions; a taken hint fails, so retry.
        let mut ptr = unsafe {
            VirtualAlloc(
                hint.unwrap_or(0) as *mut c_void,
                len,
                MEM_RESERVE,
                PAGE_NOACCESS,
            )
        };
        if ptr.is_null() && hint.is_some() {
            // SAFETY: as above.
            ptr = unsafe { VirtualAlloc(std::ptr::null_mut(), len, MEM_RESERVE, PAGE_NOACCESS) };
        }
        if ptr.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(ptr.cast())
    }

    pub fn commit(ptr: *mut u8, len: usize) -> io::Result<()> {
        // SAFETY: the range lies in a reservation we own.
        if unsafe { VirtualAlloc(ptr.cast(), len, MEM_COMMIT, PAGE_READWRITE) }.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub fn decommit(ptr: *mut u8, len: usize) {
        // SAFETY: the range lies in a reservation we own; decommitted pages read back as zeros.
        unsafe { VirtualFree(ptr.cast(), len, MEM_DECOMMIT) };
    }

    pub fn release(ptr: *mut u8, _len: usize) {
        // SAFETY: `ptr` is the base of a reservation we own.
        unsafe { VirtualFree(ptr.cast(), 0, MEM_RELEASE) };
    }

    pub fn protect(ptr: *mut u8, len: usize, protection: Protection) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let new = match protection {
            Protection::Read => PAGE_READONLY,
            Protection::ReadWrite => PAGE_READWRITE,
            Protection::ReadExecute => PAGE_EXECUTE_READ,
        };
        let mut old = 0;
        // SAFETY: the range is committed memory we own.
        if unsafe { VirtualProtect(ptr.cast(), len, new, &mut old) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub fn begin_write(_ptr: *mut u8, _len: usize) -> io::Result<()> {
        Ok(())
    }

    pub fn end_write(_ptr: *mut u8, _len: usize) -> io::Result<()> {
        Ok(())
    }

    pub fn flush_icache(ptr: *mut u8, len: usize) {
        // SAFETY: flushing a range of our own process.
        unsafe { FlushInstructionCache(GetCurrentProcess(), ptr.cast(), len) };
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
        #[repr(C)]
        struct MemoryBasicInformation {
            base_address: usize,
            allocation_base: usize,
            allocation_protect: u32,
            partition_id: u16,
            region_size: usize,
            state: u32,
            protect: u32,
            kind: u32,
        }
        #[link(name = "kernel32")]
        extern "system" {
            fn VirtualQuery(address: usize, info: *mut MemoryBasicInformation, len: usize)
                -> usize;
        }
        let mut info = std::mem::MaybeUninit::<MemoryBasicInformation>::zeroed();
        let len = std::mem::size_of::<MemoryBasicInformation>();
        // SAFETY: VirtualQuery fills at most `len` bytes of `info`.
        assert_eq!(
            unsafe { VirtualQuery(address, info.as_mut_ptr(), len) },
            len
        );
        // SAFETY: filled above.
        match unsafe { info.assume_init() }.protect {
            0x02 => "r--",
            0x04 => "rw-",
            0x20 => "r-x",
            0x40 => "rwx",
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
