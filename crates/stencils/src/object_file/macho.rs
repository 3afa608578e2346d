//! Mach-O rules: every non-debug section counts (`S_ATTR_SOME_INSTRUCTIONS` → code); implicit
//! addends are read from the instruction bytes as CPython 3.14 reads them (the table's rules).

use object::macho;
use object::read::macho::MachOSection64;
use object::read::ObjectSection;
use object::{Endianness, RelocationFlags, SectionFlags};

use patchjit_vocab::{Arch, Format, RelocKind};

use crate::error::Error;
use crate::sections::SectionKind;
use crate::site::RelocSite;

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

/// The addend the entries give: an AArch64 `ARM64_RELOC_ADDEND` pair's (which CPython cannot
/// read at all); x86-64 addends are stored in the instruction (see the table's rules).
pub(super) fn relocation(
    site: &RelocSite<'_>,
    reloc: &object::Relocation,
) -> Result<(RelocKind, i64), Error> {
    let RelocationFlags::MachO { r_type, .. } = reloc.flags() else {
        return Err(site.unsupported(format!("{:?}", reloc.flags())));
    };
    let arch = site.target.arch();
    let kind = site.kind(
        RelocKind::from_number(Format::MachO, arch, u32::from(r_type)),
        || name(arch, r_type),
    )?;
    let given = if reloc.has_implicit_addend() {
        0
    } else {
        reloc.addend()
    };
    Ok((kind, given))
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
