//! Section alignments as the readers take them: a malformed one (not a power of two) is an
//! error naming the section, and a data section that needs more than a page is refused with
//! its name, on both readers, instead of a layout the emitter cannot give.

mod common;

use patchjit_stencils::{extract_objects, read_readobj_json, Error, Options, Target};

const TARGET: Target = Target::X86_64UnknownLinuxGnu;

/// `calls.c` compiled for x86-64 Linux, with `sh_addralign` of its (only) read-only data section
/// set to `align` (ELF64 section headers: `e_shoff` at 0x28, entries of 64 bytes, `sh_name`
/// at 0 and `sh_addralign` at 0x30).
fn with_alignment(align: u64) -> Vec<u8> {
    let mut bytes = common::compile(TARGET, "calls", &[]);
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap());
    let shoff = u64_at(&bytes, 0x28) as usize;
    let (count, strndx) = (u16_at(&bytes, 0x3C) as usize, u16_at(&bytes, 0x3E) as usize);
    let strtab = u64_at(&bytes, shoff + strndx * 64 + 0x18) as usize;
    let header = (0..count)
        .map(|i| shoff + i * 64)
        .find(|&h| {
            let at = strtab + u32::from_le_bytes(bytes[h..h + 4].try_into().unwrap()) as usize;
            let end = at + bytes[at..].iter().position(|&b| b == 0).unwrap();
            std::str::from_utf8(&bytes[at..end]).unwrap().contains(DATA)
        })
        .expect("calls.o has a read-only data section");
    bytes[header + 0x30..header + 0x38].copy_from_slice(&align.to_le_bytes());
    bytes
}

/// Part of the name of `calls.c`'s only data section, its string literal (`.rodata.str1.1`,
/// `.lrodata...` under the medium code model).
const DATA: &str = "rodata";

fn message(result: Result<impl Sized, Error>) -> String {
    match result {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_alignment_that_is_not_a_power_of_two_is_malformed() {
    let bytes = with_alignment(3);
    let m = message(extract_objects(
        &[("calls.o", &bytes)],
        Some(TARGET),
        &Options::default(),
    ));
    assert!(
        m.contains(DATA) && m.contains("alignment 3 is not a power of two"),
        "{m}"
    );
}

#[test]
fn data_that_needs_more_than_a_page_is_refused_by_both_readers() {
    let bytes = with_alignment(8192);
    let m = message(extract_objects(
        &[("calls.o", &bytes)],
        Some(TARGET),
        &Options::default(),
    ));
    assert!(m.contains("8192-byte alignment, more than a page"), "{m}");
    // llvm-readobj reads the same field from the same file.
    let dir = std::env::temp_dir().join(format!("patchjit-align-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("calls.o");
    std::fs::write(&path, &bytes).unwrap();
    let json = patchjit_test_support::readobj_json(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    let sections = read_readobj_json("calls.o", &json, TARGET).unwrap();
    let m = message(patchjit_stencils::extract(
        "calls.o",
        &[sections],
        &Options::default(),
    ));
    assert!(m.contains("8192-byte alignment, more than a page"), "{m}");
}
