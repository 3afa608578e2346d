//! Bounded extraction (issue #13): a small object must not make extraction allocate or produce
//! more than a fixed amount, whatever its sizes say. Allocations are counted by this binary's
//! global allocator, so the memory bounds are exact and independent of the machine.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use patchjit_stencils::{extract, extract_objects, read_readobj_json, Error, Options, Target};

/// Counts the bytes live on the heap and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What the brief allows a refused object to cost.
const MAX_BYTES: usize = 100 << 20;
const MAX_TIME: Duration = Duration::from_secs(1);

/// Runs `f` alone (tests of this binary take turns) and returns its result with the most heap
/// it held at once beyond what was live before, and how long it took.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    static TURN: Mutex<()> = Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let start = Instant::now();
    let result = f();
    let elapsed = start.elapsed();
    (result, PEAK.load(Ordering::Relaxed) - before, elapsed)
}

/// Asserts that `result` is the refusal of `file` naming `section` (and `what`), and that it
/// came quickly and cheaply; returns the error.
fn assert_refused(
    (result, peak, elapsed): (Result<impl std::fmt::Debug, Error>, usize, Duration),
    file: &str,
    section: &str,
    what: &str,
) -> Error {
    let error = result.expect_err("extraction must refuse the object");
    let text = error.to_string();
    assert!(
        matches!(&error, Error::Invalid { file: f, .. } if f == file),
        "{text}"
    );
    let named = [":", " "].map(|end| format!("section {section}{end}"));
    assert!(named.iter().any(|n| text.contains(n.as_str())), "{text}");
    assert!(text.contains(what), "{text}");
    assert!(
        peak < MAX_BYTES,
        "{peak:#x} bytes on the heap at once: {text}"
    );
    assert!(elapsed < MAX_TIME, "{elapsed:?}: {text}");
    error
}

#[test]
fn two_256_mib_arrays_are_refused_at_once() {
    let flags = ["-fdata-sections"];
    let cases = [
        (Target::X86_64UnknownLinuxGnu, ".lbss.a"),
        (Target::Aarch64UnknownLinuxGnu, ".bss.a"),
        (Target::Aarch64AppleDarwin, "__bss"),
        (Target::X86_64AppleDarwin, "__bss"),
        (Target::X86_64PcWindowsMsvc, ".bss"),
        (Target::I686PcWindowsMsvc, ".bss"),
        (Target::Aarch64PcWindowsMsvc, ".bss"),
    ];
    for (target, section) in cases {
        let bytes = common::compile(target, "huge_bss", &flags);
        assert!(bytes.len() < 16 << 10, "{target}: {} bytes", bytes.len());
        let run = || extract_objects(&[("huge_bss.o", &bytes)], Some(target), &Options::default());
        assert_refused(measure(run), "huge_bss.o", section, "zero-fill");
    }
}

#[test]
fn the_readobj_route_has_the_same_zero_fill_limit() {
    let target = Target::X86_64UnknownLinuxGnu;
    let object = common::compile_to(target, "huge_bss", &["-fdata-sections"]);
    let json = patchjit_test_support::readobj_json(object.path());
    let run = || {
        let sections = read_readobj_json("huge_bss.json", &json, target)?;
        extract("huge_bss.o", &[sections], &Options::default())
    };
    assert_refused(measure(run), "huge_bss.json", ".lbss.a", "zero-fill");
}

/// The section headers of a COFF object: (offset of the header, name).
fn coff_sections(bytes: &[u8]) -> Vec<(usize, String)> {
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let count = u16_at(2);
    let first = 20 + u16_at(16);
    (0..count)
        .map(|i| {
            let at = first + 40 * i;
            let name = &bytes[at..at + 8];
            let len = name.iter().position(|&b| b == 0).unwrap_or(8);
            (at, String::from_utf8_lossy(&name[..len]).into_owned())
        })
        .collect()
}

#[test]
fn a_mutated_coff_bss_size_is_refused_at_once() {
    for target in [Target::X86_64PcWindowsMsvc, Target::I686PcWindowsMsvc] {
        // `multi` has one small BSS variable (`calls`).
        let original = common::compile(target, "multi", &["-ffunction-sections"]);
        let (header, _) = coff_sections(&original)
            .into_iter()
            .find(|(_, name)| name == ".bss")
            .expect("a .bss section");
        // Just under the old per-section limit (two such sections passed it), and the largest.
        for size in [0x0fff_fff0u32, 0xffff_fff0] {
            let mut bytes = original.clone();
            bytes[header + 16..header + 20].copy_from_slice(&size.to_le_bytes());
            let run = || extract_objects(&[("bss.obj", &bytes)], Some(target), &Options::default());
            assert_refused(measure(run), "bss.obj", ".bss", &format!("{size:#x}"));
        }
        // The unmutated object is fine.
        extract_objects(&[("bss.obj", &original)], Some(target), &Options::default()).unwrap();
    }
}

#[test]
fn groups_copying_shared_data_are_capped_in_total() {
    let flags = ["-ffunction-sections", "-fdata-sections"];
    let cases = [
        // 1 MiB copies: the seventeenth group crosses 16 MiB, code included the sixteenth.
        (
            Target::X86_64UnknownLinuxGnu,
            "1048576",
            ".lbss.shared",
            ["user15", "user16"],
        ),
        // 15 MiB copies: the second group crosses.
        (
            Target::X86_64UnknownLinuxGnu,
            "15728640",
            ".lbss.shared",
            ["user1", "user1"],
        ),
        // Mach-O groups are planned by copying their atoms: refused before any copy is made.
        (
            Target::Aarch64AppleDarwin,
            "15728640",
            "__bss",
            ["user1", "user1"],
        ),
    ];
    for (target, size, section, groups) in cases {
        let define = format!("-DSHARED_SIZE={size}");
        let bytes = common::compile(target, "shared_bss", &[&flags[..], &[&define]].concat());
        let run = || extract_objects(&[("shared.o", &bytes)], Some(target), &Options::default());
        let error = assert_refused(measure(run), "shared.o", section, "stencils");
        assert!(
            matches!(&error, Error::Invalid { group: Some(g), .. } if groups.contains(&g.as_str())),
            "{target} {size}: {error}"
        );
    }
}
