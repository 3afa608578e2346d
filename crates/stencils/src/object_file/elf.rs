//! ELF rules: allocated `SHT_PROGBITS`/`SHT_NOBITS` sections count (executable → code), every
//! other allocated section type is refused (as CPython refuses it), and RELA addends are explicit.

use object::elf;
use object::read::elf::{ElfSection64, SectionHeader};
use object::Endianness;

use patchjit_vocab::Arch;

use crate::error::Error;
use crate::sections::SectionKind;

pub(super) fn classify(
    file: &str,
    section: &ElfSection64<'_, '_, Endianness>,
) -> Result<Option<SectionKind>, Error> {
    let endian = section.elf_file().endian();
    let header = section.elf_section_header();
    let flags = header.sh_flags(endian);
    if flags & u64::from(elf::SHF_ALLOC) == 0 {
        return Ok(None);
    }
    match header.sh_type(endian) {
        elf::SHT_PROGBITS | elf::SHT_NOBITS => {}
        // Notes carry no stencil bytes.
        elf::SHT_NOTE => return Ok(None),
        other => {
            let name = object::read::ObjectSection::name(section).unwrap_or("?");
            return Err(Error::Unsupported {
                file: file.to_string(),
                message: match other {
                    elf::SHT_X86_64_UNWIND => format!(
                        "allocated section {name} holds unwind tables; compile with \
                         -fno-asynchronous-unwind-tables"
                    ),
                    _ => format!("allocated section {name} has section type {other:#x}"),
                },
            });
        }
    }
    Ok(Some(if flags & u64::from(elf::SHF_EXECINSTR) != 0 {
        SectionKind::Code
    } else {
        SectionKind::Data
    }))
}

/// A name for an unsupported type where a common one is known, else the number.
pub(super) fn name(arch: Arch, r_type: u32) -> String {
    let known = match (arch, r_type) {
        (Arch::X86_64, elf::R_X86_64_32) => "R_X86_64_32",
        (Arch::X86_64, elf::R_X86_64_32S) => "R_X86_64_32S",
        (Arch::X86_64, elf::R_X86_64_GOTPC32) => "R_X86_64_GOTPC32",
        (Arch::X86_64, elf::R_X86_64_GOTOFF64) => "R_X86_64_GOTOFF64",
        (Arch::X86_64, elf::R_X86_64_GOTPC64) => "R_X86_64_GOTPC64",
        (Arch::X86_64, elf::R_X86_64_GOT64) => "R_X86_64_GOT64",
        (Arch::X86_64, elf::R_X86_64_TPOFF32) => "R_X86_64_TPOFF32",
        (Arch::X86_64, elf::R_X86_64_GOTTPOFF) => "R_X86_64_GOTTPOFF",
        (Arch::Aarch64, elf::R_AARCH64_CONDBR19) => "R_AARCH64_CONDBR19",
        (Arch::Aarch64, elf::R_AARCH64_TSTBR14) => "R_AARCH64_TSTBR14",
        (Arch::Aarch64, elf::R_AARCH64_ADR_PREL_LO21) => "R_AARCH64_ADR_PREL_LO21",
        (Arch::Aarch64, elf::R_AARCH64_PREL32) => "R_AARCH64_PREL32",
        (Arch::Aarch64, elf::R_AARCH64_PREL64) => "R_AARCH64_PREL64",
        (Arch::Aarch64, elf::R_AARCH64_ABS32) => "R_AARCH64_ABS32",
        _ => return format!("ELF relocation type {r_type}"),
    };
    format!("{known} (ELF relocation type {r_type})")
}
