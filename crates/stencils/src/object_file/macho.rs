//! Mach-O rules: every non-debug section counts (`S_ATTR_SOME_INSTRUCTIONS` → code); implicit
//! addends are read from the instruction bytes as CPython 3.14 reads them (the table's rules).

use object::macho;
use object::read::macho::MachOSection64;
use object::read::ObjectSection;
use object::{Endianness, SectionFlags};

use patchjit_vocab::Arch;

use crate::error::Error;
use crate::sections::SectionKind;

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

/// A name for an unsupported type where a common one is known, else the number.
pub(super) fn name(arch: Arch, r_type: u8) -> String {
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
