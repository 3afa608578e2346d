//! Mach-O rules: every non-debug section counts (`S_ATTR_SOME_INSTRUCTIONS` → code); implicit
//! addends are read from the instruction bytes as CPython 3.14 reads them.

use object::macho;
use object::read::macho::MachOSection64;
use object::read::ObjectSection;
use object::{Endianness, RelocationFlags, SectionFlags};

use super::RelocSite;
use crate::error::Error;
use crate::hole::RelocKind;
use crate::sections::SectionKind;
use crate::target::Arch;

pub(super) fn classify(
    _file: &str,
    section: &MachOSection64<'_, '_, Endianness>,
) -> Result<Option<SectionKind>, Error> {
    let SectionFlags::MachO { flags } = section.flags() else {
        return Ok(None);
    };
    if flags & macho::S_ATTR_DEBUG != 0 {
        return Ok(None);
    }
    Ok(Some(if flags & macho::S_ATTR_SOME_INSTRUCTIONS != 0 {
        SectionKind::Code
    } else {
        SectionKind::Data
    }))
}

/// Addends: x86-64 `GOT`, `GOT_LOAD`, `BRANCH` and `SIGNED` store a signed 32-bit displacement
/// (minus 4 for the PC bias); everything else gets 0, as in CPython (whose rules ignore the
/// embedded addend of `UNSIGNED`). An AArch64 `ARM64_RELOC_ADDEND` pair, which CPython cannot
/// read at all, contributes its addend.
pub(super) fn relocation(
    site: &RelocSite<'_>,
    reloc: &object::Relocation,
) -> Result<(RelocKind, i64), Error> {
    let RelocationFlags::MachO { r_type, .. } = reloc.flags() else {
        return Err(site.unsupported(format!("{:?}", reloc.flags())));
    };
    use RelocKind::*;
    let arch = site.target.arch();
    let kind = match (arch, r_type) {
        (Arch::X86_64, macho::X86_64_RELOC_UNSIGNED) => X86_64_RELOC_UNSIGNED,
        (Arch::X86_64, macho::X86_64_RELOC_SIGNED) => X86_64_RELOC_SIGNED,
        (Arch::X86_64, macho::X86_64_RELOC_BRANCH) => X86_64_RELOC_BRANCH,
        (Arch::X86_64, macho::X86_64_RELOC_GOT_LOAD) => X86_64_RELOC_GOT_LOAD,
        (Arch::X86_64, macho::X86_64_RELOC_GOT) => X86_64_RELOC_GOT,
        (Arch::Aarch64, macho::ARM64_RELOC_UNSIGNED) => ARM64_RELOC_UNSIGNED,
        (Arch::Aarch64, macho::ARM64_RELOC_BRANCH26) => ARM64_RELOC_BRANCH26,
        (Arch::Aarch64, macho::ARM64_RELOC_PAGE21) => ARM64_RELOC_PAGE21,
        (Arch::Aarch64, macho::ARM64_RELOC_PAGEOFF12) => ARM64_RELOC_PAGEOFF12,
        (Arch::Aarch64, macho::ARM64_RELOC_GOT_LOAD_PAGE21) => ARM64_RELOC_GOT_LOAD_PAGE21,
        (Arch::Aarch64, macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12) => ARM64_RELOC_GOT_LOAD_PAGEOFF12,
        _ => return Err(site.unsupported(name(arch, r_type))),
    };
    let addend = match kind {
        X86_64_RELOC_GOT | X86_64_RELOC_GOT_LOAD | X86_64_RELOC_BRANCH | X86_64_RELOC_SIGNED => {
            site.signed32_minus_4()?
        }
        _ if arch == Arch::Aarch64 && !reloc.has_implicit_addend() => reloc.addend(),
        _ => 0,
    };
    Ok((kind, addend))
}

fn name(arch: Arch, r_type: u8) -> String {
    let known = match (arch, r_type) {
        (Arch::X86_64, macho::X86_64_RELOC_SUBTRACTOR) => "X86_64_RELOC_SUBTRACTOR",
        (Arch::X86_64, macho::X86_64_RELOC_SIGNED_1) => "X86_64_RELOC_SIGNED_1",
        (Arch::X86_64, macho::X86_64_RELOC_SIGNED_2) => "X86_64_RELOC_SIGNED_2",
        (Arch::X86_64, macho::X86_64_RELOC_SIGNED_4) => "X86_64_RELOC_SIGNED_4",
        (Arch::X86_64, macho::X86_64_RELOC_TLV) => "X86_64_RELOC_TLV",
        (Arch::Aarch64, macho::ARM64_RELOC_SUBTRACTOR) => "ARM64_RELOC_SUBTRACTOR",
        (Arch::Aarch64, macho::ARM64_RELOC_POINTER_TO_GOT) => "ARM64_RELOC_POINTER_TO_GOT",
        (Arch::Aarch64, macho::ARM64_RELOC_TLVP_LOAD_PAGE21) => "ARM64_RELOC_TLVP_LOAD_PAGE21",
        (Arch::Aarch64, macho::ARM64_RELOC_TLVP_LOAD_PAGEOFF12) => {
            "ARM64_RELOC_TLVP_LOAD_PAGEOFF12"
        }
        _ => return format!("Mach-O relocation type {r_type}"),
    };
    format!("{known} (Mach-O relocation type {r_type})")
}
