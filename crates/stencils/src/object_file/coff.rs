//! COFF rules: executable sections are code, readable ones data; implicit addends come from the
//! stored bytes. Sections the linker never maps are left out: `IMAGE_SCN_LNK_INFO` (`.drectve`),
//! `IMAGE_SCN_LNK_REMOVE` (`.llvm_addrsig`) and `IMAGE_SCN_MEM_DISCARDABLE` (`.debug$S`, which
//! CPython 3.14 wrongly copies into the data stencil and later versions skip).

use object::pe;
use object::read::coff::CoffSection;
use object::read::ObjectSection;
use object::SectionFlags;

use patchjit_vocab::Arch;

use crate::error::Error;
use crate::sections::SectionKind;

pub(super) fn classify(
    _file: &str,
    section: &CoffSection<'_, '_>,
) -> Result<Option<SectionKind>, Error> {
    let SectionFlags::Coff { characteristics: c } = section.flags() else {
        return Ok(None);
    };
    if c & (pe::IMAGE_SCN_LNK_INFO | pe::IMAGE_SCN_LNK_REMOVE | pe::IMAGE_SCN_MEM_DISCARDABLE) != 0
    {
        return Ok(None);
    }
    Ok(if c & pe::IMAGE_SCN_MEM_EXECUTE != 0 {
        Some(SectionKind::Code)
    } else if c & pe::IMAGE_SCN_MEM_READ != 0 {
        Some(SectionKind::Data)
    } else {
        None
    })
}

/// A name for an unsupported type where a common one is known, else the number.
pub(super) fn name(arch: Arch, typ: u16) -> String {
    let known = match (arch, typ) {
        (Arch::X86_64, pe::IMAGE_REL_AMD64_ADDR32) => "IMAGE_REL_AMD64_ADDR32",
        (Arch::X86_64, pe::IMAGE_REL_AMD64_ADDR32NB) => "IMAGE_REL_AMD64_ADDR32NB",
        (Arch::X86_64, pe::IMAGE_REL_AMD64_REL32_1) => "IMAGE_REL_AMD64_REL32_1",
        (Arch::X86_64, pe::IMAGE_REL_AMD64_REL32_4) => "IMAGE_REL_AMD64_REL32_4",
        (Arch::X86_64, pe::IMAGE_REL_AMD64_SECTION) => "IMAGE_REL_AMD64_SECTION",
        (Arch::X86_64, pe::IMAGE_REL_AMD64_SECREL) => "IMAGE_REL_AMD64_SECREL",
        (Arch::Aarch64, pe::IMAGE_REL_ARM64_ADDR32) => "IMAGE_REL_ARM64_ADDR32",
        (Arch::Aarch64, pe::IMAGE_REL_ARM64_ADDR32NB) => "IMAGE_REL_ARM64_ADDR32NB",
        (Arch::Aarch64, pe::IMAGE_REL_ARM64_BRANCH19) => "IMAGE_REL_ARM64_BRANCH19",
        (Arch::Aarch64, pe::IMAGE_REL_ARM64_BRANCH14) => "IMAGE_REL_ARM64_BRANCH14",
        (Arch::Aarch64, pe::IMAGE_REL_ARM64_REL21) => "IMAGE_REL_ARM64_REL21",
        (Arch::Aarch64, pe::IMAGE_REL_ARM64_SECREL) => "IMAGE_REL_ARM64_SECREL",
        (Arch::I686, pe::IMAGE_REL_I386_DIR32NB) => "IMAGE_REL_I386_DIR32NB",
        (Arch::I686, pe::IMAGE_REL_I386_SECTION) => "IMAGE_REL_I386_SECTION",
        (Arch::I686, pe::IMAGE_REL_I386_SECREL) => "IMAGE_REL_I386_SECREL",
        _ => return format!("COFF relocation type {typ:#x}"),
    };
    format!("{known} (COFF relocation type {typ:#x})")
}
