//! [`CodeHeap`]: units written through one view of a memory object and run from another.

use std::io;
use std::sync::Arc;

use super::{Arena, DataProtection, FreeList};

#[cfg(any(target_os = "linux", target_os = "android"))]
use super::sys::DualMapping;

/// Elsewhere no heap has two views.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
enum DualMapping {}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl DualMapping {
    fn remap_exec(&self, _offset: usize, _len: usize) -> io::Result<()> {
        match *self {}
    }

    fn mapped_here(&self) -> bool {
        match *self {}
    }
}

/// Code memory for many small units. On Linux it is one memory object mapped twice, a read+write
/// view the emitter writes through and a read+execute view the code runs from, both faulted in
/// when the heap is made. A unit is a bump of a free list and costs no system call: nothing is
/// mapped, protected or faulted per unit, and no page is ever writable and executable (the
/// write view never executes, the execute view is never writable). Where two views cannot be
/// made (other systems, no `memfd_create`, executable shared memory forbidden) the heap is an
/// [`Arena`] instead, with its page protections per unit, and says so
/// ([`CodeHeap::is_dual_mapped`]).
///
/// A unit's data sits right after its code in the execute view, so it is readable there and
/// never writable: read+write data is refused. A freed unit is zeroed through the write view
/// and retired (on x86-64, whose instruction fetch sees writes through either view, freed at
/// once); once nothing else is free, the retired ranges of the execute view are mapped
/// again and reused (a system call per run of retired pages, about once per heap's worth of
/// units: emulators such as qemu-user, which do not see writes through the other view, drop
/// stale translations then). A unit larger than what is free gets a fresh mapping of its own.
///
/// The views are not inherited by a child process (if they were, parent and child would
/// write code over each other's): in a child forked after the heap was made, new units get
/// fresh mappings, and units made before the fork cannot run there (dropping them is fine).
///
/// One heap serves any number of emitters and threads; keep it for the process's life:
///
/// ```
/// use patchjit::{CodeHeap, Options, Placement};
/// let heap = CodeHeap::new(4 << 20).unwrap(); // 4 MiB, faulted in now
/// let options = Options {
///     placement: Placement::Heap(heap),
///     ..Options::default()
/// };
/// # let _ = options; // emitter.finish(&options) places units there
/// ```
pub struct CodeHeap(Kind);

enum Kind {
    #[cfg_attr(
        not(any(target_os = "linux", target_os = "android")),
        allow(dead_code, reason = "only Linux makes two views")
    )]
    Dual(Views),
    Pages(Arc<Arena>),
}

/// The two views of one object and what of it is free.
struct Views {
    mapping: DualMapping,
    write: *mut u8,
    exec: *mut u8,
    size: usize,
    /// Ranges ready for units.
    free: FreeList,
    /// Ranges of dropped units (zeroed), free once their execute view is mapped again.
    retired: FreeList,
}

impl Views {
    /// Makes the retired ranges free, mapping the pages holding them again in the execute
    /// view. Those pages may hold live units too: mapping the same object at the same place
    /// keeps their bytes, and a thread running them meanwhile only takes a page fault. A range
    /// whose pages cannot be mapped again stays out of use.
    fn recycle(&self) {
        let retired = std::mem::take(&mut *self.retired.lock());
        let page = super::page_size();
        let pages = |&(offset, len): &(usize, usize)| {
            let end = (offset + len).next_multiple_of(page).min(self.size);
            (offset / page * page, end)
        };
        // Retired ranges are sorted: map each run of them whose pages meet at once.
        let mut first = 0;
        while first < retired.len() {
            let (start, mut end) = pages(&retired[first]);
            let mut last = first + 1;
            while last < retired.len() && pages(&retired[last]).0 <= end {
                end = end.max(pages(&retired[last]).1);
                last += 1;
            }
            if self.mapping.remap_exec(start, end - start).is_ok() {
                for &(offset, len) in &retired[first..last] {
                    self.free.give_back(offset, len);
                }
            }
            first = last;
        }
    }
}

// SAFETY: the views are only used for address arithmetic and for writing chunks that one unit
// owns at a time (the free list is locked).
unsafe impl Send for Views {}
// SAFETY: as above.
unsafe impl Sync for Views {}
// SAFETY: a unit owns its chunk of both views alone; the pointers are into them.
unsafe impl Send for HeapUnit {}
// SAFETY: shared access only reads the pointer values.
unsafe impl Sync for HeapUnit {}

impl CodeHeap {
    /// Units in a dual-mapped heap, and their code and data, start at multiples of this: a
    /// cache line, so no two units share one.
    pub const GRANULE: usize = 64;

    /// A heap of `size` bytes (rounded up to whole pages): dual-mapped and pre-faulted where
    /// the system allows it, else an [`Arena`] of that size. Only a failure to get memory at
    /// all is an error.
    pub fn new(size: usize) -> io::Result<Arc<CodeHeap>> {
        let size = super::round_up(size.max(1), super::page_size())
            .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "heap size overflows"))?;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Ok(mapping) = DualMapping::new(size) {
            return Ok(Arc::new(CodeHeap(Kind::Dual(Views {
                write: mapping.write,
                exec: mapping.exec,
                mapping,
                size,
                free: FreeList::new(size),
                retired: FreeList::empty(),
            }))));
        }
        CodeHeap::pages(size)
    }

    /// The fallback: an arena with per-unit page protections.
    pub(super) fn pages(size: usize) -> io::Result<Arc<CodeHeap>> {
        Ok(Arc::new(CodeHeap(Kind::Pages(Arena::new(size)?))))
    }

    /// Whether units live in two views of one object (no system call per unit) rather than in
    /// an arena whose pages are protected per unit.
    pub fn is_dual_mapped(&self) -> bool {
        matches!(self.0, Kind::Dual(_))
    }

    /// Bytes not currently handed out.
    pub fn free_bytes(&self) -> usize {
        match &self.0 {
            Kind::Dual(views) => views.free.free_bytes() + views.retired.free_bytes(),
            Kind::Pages(arena) => arena.free_bytes(),
        }
    }

    /// The arena, when the heap is not dual-mapped.
    pub(super) fn arena(&self) -> Option<&Arc<Arena>> {
        match &self.0 {
            Kind::Dual(_) => None,
            Kind::Pages(arena) => Some(arena),
        }
    }

    /// A unit of `len` bytes (code first, `code_size` of them), zero-filled; `None` when the
    /// heap is not dual-mapped or has no free run that long.
    pub(super) fn allocate(self: &Arc<CodeHeap>, code_size: usize, len: usize) -> Option<HeapUnit> {
        let Kind::Dual(views) = &self.0 else {
            return None;
        };
        // In a child forked after the heap was made, the views are not there.
        if !views.mapping.mapped_here() {
            return None;
        }
        let offset = views.free.take(len).or_else(|| {
            views.recycle();
            views.free.take(len)
        })?;
        // SAFETY: `offset + len` is inside the object, in both views.
        let (write, exec) = unsafe { (views.write.add(offset), views.exec.add(offset)) };
        Some(HeapUnit {
            heap: Arc::clone(self),
            write,
            exec,
            offset,
            code_size,
            len,
        })
    }
}

impl std::fmt::Debug for CodeHeap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Kind::Dual(views) => f
                .debug_struct("CodeHeap")
                .field("exec", &views.exec)
                .field("size", &views.size)
                .finish(),
            Kind::Pages(arena) => f.debug_tuple("CodeHeap").field(arena).finish(),
        }
    }
}

/// One unit's bytes in a dual-mapped heap, `[code][data]`; zeroed and given back on drop.
pub(super) struct HeapUnit {
    heap: Arc<CodeHeap>,
    /// The unit in the write view and in the execute view.
    write: *mut u8,
    exec: *mut u8,
    offset: usize,
    pub(super) code_size: usize,
    pub(super) len: usize,
}

impl HeapUnit {
    /// Where the unit runs.
    pub(super) fn exec_address(&self) -> usize {
        self.exec as usize
    }

    /// The unit through the write view. Only a unit being written hands this out
    /// ([`super::WritableMemory::bytes_mut`]): once sealed, nothing reaches the write view.
    pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the chunk is mapped read+write in the write view and owned by this unit
        // alone (the free list hands it out once); `&mut self` makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.write, self.len) }
    }

    /// Makes the written code visible to instruction fetch; nothing else changes.
    pub(super) fn seal(self, code_written: usize, data: DataProtection) -> io::Result<HeapUnit> {
        if data == DataProtection::ReadWrite && self.len > self.code_size {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "read+write data needs pages of its own (Placement::Anywhere, Near or Arena): \
                 a dual-mapped heap's data is read-only where the code runs",
            ));
        }
        #[cfg(all(
            target_arch = "aarch64",
            any(target_os = "linux", target_os = "android")
        ))]
        super::aarch64::flush_icache_aliased(
            self.write as usize,
            self.exec as usize,
            code_written.min(self.code_size),
        );
        #[cfg(not(all(
            target_arch = "aarch64",
            any(target_os = "linux", target_os = "android")
        )))]
        let _ = code_written;
        Ok(self)
    }
}

impl Drop for HeapUnit {
    fn drop(&mut self) {
        let heap = Arc::clone(&self.heap);
        let Kind::Dual(views) = &heap.0 else {
            return;
        };
        // A unit inherited across a fork is not mapped in the child: nothing to give back.
        if views.mapping.mapped_here() {
            // The next unit here relies on zeros, as on fresh pages.
            self.bytes_mut().fill(0);
            // x86-64 fetches instructions coherently with writes through any view of the same
            // memory: the range is free again at once. Elsewhere it waits for the execute view
            // to be mapped again (qemu-user, which CI runs AArch64 code on, keeps stale
            // translations of code rewritten through the other view until then).
            if cfg!(target_arch = "x86_64") {
                views.free.give_back(self.offset, self.len);
            } else {
                views.retired.give_back(self.offset, self.len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Placement, WritableMemory};
    use super::*;

    /// The permissions of the mapping holding `address` and its range, from /proc/self/maps
    /// (`rw-s`-style: `s` for a shared mapping).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn mapping(address: usize) -> (String, std::ops::Range<usize>) {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|l| {
                let (range, rest) = l.split_once(' ')?;
                let (a, b) = range.split_once('-')?;
                let a = usize::from_str_radix(a, 16).ok()?;
                let b = usize::from_str_radix(b, 16).ok()?;
                (a <= address && address < b).then(|| (rest[..4].to_string(), a..b))
            })
            .unwrap()
    }

    /// A function returning `value`, in this machine's code.
    fn returning(value: u16) -> Vec<u8> {
        if cfg!(target_arch = "aarch64") {
            // movz w0, #value; ret
            let movz = 0x5280_0000u32 | (u32::from(value) << 5);
            [movz.to_le_bytes(), 0xd65f_03c0u32.to_le_bytes()].concat()
        } else {
            // mov eax, value; ret
            let [lo, hi] = value.to_le_bytes();
            vec![0xB8, lo, hi, 0, 0, 0xC3]
        }
    }

    /// Writes `returning(value)` into a new unit of `placement` and seals it.
    fn unit(placement: &Placement, value: u16, data_len: usize) -> super::super::ExecutableMemory {
        let code = returning(value);
        let mut m = WritableMemory::allocate(code.len(), data_len, placement).unwrap();
        assert!(m.bytes_mut().iter().all(|&b| b == 0), "a new unit is zeros");
        m.bytes_mut()[..code.len()].copy_from_slice(&code);
        m.seal(code.len(), DataProtection::ReadOnly).unwrap()
    }

    /// Runs a unit made by [`unit`].
    fn run(m: &super::super::ExecutableMemory) -> Option<u32> {
        if !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            return None;
        }
        // SAFETY: the unit holds a complete function returning an int, and outlives the call.
        let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(m.code_address()) };
        Some(f())
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn the_two_views_are_distinct_mappings_one_writable_one_executable() {
        let heap = CodeHeap::new(64 << 10).unwrap();
        assert!(
            heap.is_dual_mapped(),
            "memfd_create works on the test hosts"
        );
        let placement = Placement::Heap(Arc::clone(&heap));
        let code = returning(42);
        let mut m = WritableMemory::allocate(code.len(), 16, &placement).unwrap();
        let write = m.bytes_mut().as_ptr() as usize;
        let exec = m.code_address();
        m.bytes_mut()[..code.len()].copy_from_slice(&code);
        let m = m.seal(code.len(), DataProtection::ReadOnly).unwrap();
        let (write_perms, write_range) = mapping(write);
        let (exec_perms, exec_range) = mapping(exec);
        assert_eq!(write_perms, "rw-s");
        assert_eq!(exec_perms, "r-xs");
        assert!(write_range.end <= exec_range.start || exec_range.end <= write_range.start);
        assert_eq!(
            mapping(m.data_address()).0,
            "r-xs",
            "data is never writable"
        );
        if let Some(got) = run(&m) {
            assert_eq!(got, 42, "written through one view, run through the other");
        }
    }

    #[test]
    fn dropped_units_are_zeroed_and_reused() {
        let heap = CodeHeap::new(16 << 10).unwrap();
        if !heap.is_dual_mapped() {
            return; // the fallback is an arena, tested on its own
        }
        let total = heap.free_bytes();
        let placement = Placement::Heap(Arc::clone(&heap));
        let a = unit(&placement, 1, 100);
        let b = unit(&placement, 2, 0);
        let c = unit(&placement, 3, 0);
        // Code and data each rounded up to the granule, units back to back.
        assert_eq!(a.size(), CodeHeap::GRANULE + 128);
        assert_eq!(a.data_address(), a.code_address() + CodeHeap::GRANULE);
        assert_eq!(b.code_address(), a.code_address() + a.size());
        let (b_at, b_size) = (b.code_address(), b.size());
        assert_eq!(run(&b).unwrap_or(2), 2);
        // b is in the middle of a page, between live units.
        drop(b);
        assert_eq!(
            heap.free_bytes(),
            total - a.size() - c.size(),
            "b is free again"
        );
        // Take all that is ready: the next unit gets the retired range, its page mapped again.
        let ready = heap.free_bytes() - b_size;
        let filler = WritableMemory::allocate(ready, 0, &placement).unwrap();
        let d = unit(&placement, 4, 0);
        assert_eq!(
            d.code_address(),
            b_at,
            "the dropped unit's bytes are reused"
        );
        assert_eq!(run(&d).unwrap_or(4), 4, "the reused bytes run the new code");
        assert_eq!(run(&a).unwrap_or(1), 1, "its neighbours are intact");
        assert_eq!(run(&c).unwrap_or(3), 3);
        drop((a, c, d, filler));
        assert_eq!(heap.free_bytes(), total, "everything is given back");
    }

    /// A forked child does not have the views: it gets fresh mappings for new units, and
    /// dropping a unit it inherited touches nothing.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_forked_child_leaves_the_views_alone() {
        let heap = CodeHeap::new(16 << 10).unwrap();
        let placement = Placement::Heap(Arc::clone(&heap));
        let inherited = unit(&placement, 1, 0);
        let free = heap.free_bytes();
        // SAFETY: the child only allocates, runs its own new unit and exits without unwinding.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let fresh = unit(&placement, 2, 0);
            let ok = heap.free_bytes() == free && run(&fresh).unwrap_or(2) == 2;
            drop((fresh, inherited));
            let ok = ok && heap.free_bytes() == free;
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        assert!(pid > 0, "fork failed");
        let mut status = 0;
        // SAFETY: waits for the child just forked.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child: {status:#x}"
        );
        assert_eq!(
            run(&inherited).unwrap_or(1),
            1,
            "the parent's unit is intact"
        );
    }

    #[test]
    fn many_units_fill_the_heap_and_come_back() {
        let heap = CodeHeap::new(1 << 20).unwrap();
        let total = heap.free_bytes();
        let placement = Placement::Heap(Arc::clone(&heap));
        let units: Vec<_> = (0..2000u16)
            .map(|k| unit(&placement, k, usize::from(k % 3) * 40))
            .collect();
        for (k, m) in units.iter().enumerate() {
            assert_eq!(run(m).unwrap_or(k as u32), k as u32);
        }
        drop(units);
        assert_eq!(heap.free_bytes(), total);
    }

    #[test]
    fn a_unit_larger_than_the_heap_gets_its_own_mapping() {
        let heap = CodeHeap::new(16 << 10).unwrap();
        let total = heap.free_bytes();
        let placement = Placement::Heap(Arc::clone(&heap));
        let code = returning(7);
        let mut m = WritableMemory::allocate(64 << 10, 0, &placement).unwrap();
        m.bytes_mut()[..code.len()].copy_from_slice(&code);
        let m = m.seal(code.len(), DataProtection::ReadOnly).unwrap();
        assert_eq!(heap.free_bytes(), total, "the heap was not used");
        assert_eq!(run(&m).unwrap_or(7), 7);
    }

    #[test]
    fn read_write_data_is_refused_in_two_views_only() {
        let heap = CodeHeap::new(16 << 10).unwrap();
        let placement = Placement::Heap(Arc::clone(&heap));
        let m = WritableMemory::allocate(8, 8, &placement).unwrap();
        let sealed = m.seal(8, DataProtection::ReadWrite);
        if heap.is_dual_mapped() {
            assert_eq!(
                sealed.as_ref().err().unwrap().kind(),
                io::ErrorKind::Unsupported
            );
            let code_only = WritableMemory::allocate(8, 0, &placement).unwrap();
            assert!(code_only.seal(8, DataProtection::ReadWrite).is_ok());
        } else {
            assert!(sealed.is_ok());
        }
        drop(sealed);
        assert_eq!(heap.free_bytes(), 16 << 10, "every unit was freed");
    }

    /// Where two views cannot be made, the heap is an arena with per-unit protections.
    #[test]
    fn the_fallback_is_an_arena_sealed_w_xor_x() {
        let heap = CodeHeap::pages(16 << 10).unwrap();
        assert!(!heap.is_dual_mapped());
        let placement = Placement::Heap(Arc::clone(&heap));
        let m = unit(&placement, 5, 10);
        assert_eq!(
            m.data_address() - m.code_address(),
            super::super::page_size()
        );
        // qemu-user (the AArch64 CI) reports protections per host mapping, not per page.
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        {
            assert_eq!(&mapping(m.code_address()).0[..3], "r-x");
            assert_eq!(&mapping(m.data_address()).0[..3], "r--");
        }
        assert_eq!(run(&m).unwrap_or(5), 5);
        let big = unit(&placement, 6, 32 << 10);
        assert_eq!(
            run(&big).unwrap_or(6),
            6,
            "too big for the arena: a mapping of its own"
        );
    }
}
