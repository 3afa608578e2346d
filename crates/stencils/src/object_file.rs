//! Reads ELF, Mach-O and COFF object files with the `object` crate into the format-neutral
//! [`ObjectSections`], following CPython 3.14's `Tools/jit` rules for which sections count,
//! how symbol names are spelled and how implicit addends are read. Relocation types are matched
//! on their raw numbers (the `object` crate reports many of them, e.g. all AArch64 ELF ones, as
//! `Unknown`), so every supported type is decided here and every other one is an error naming
//! the file, section, offset and type.

mod coff;
mod elf;
mod macho;

use object::read::{File, Object, ObjectSection, ObjectSymbol, RelocationTarget, SymbolSection};
use object::{RelocationFlags, SymbolKind};

use patchjit_vocab::{Arch, Format, RelocKind, Target};

use crate::error::{malformed, Error};
use crate::limits::ZeroFill;
use crate::sections::{
    alignment, ObjectSections, RelocTarget, Relocation, Section, SectionKind, Symbol,
};
use crate::site::{symbol_name, RelocSite};

/// Parses one object file. `file` names it in errors. With `target: None` the target is
/// detected from the header (format + architecture); with `Some`, the header must agree.
pub fn read_object(
    file: &str,
    bytes: &[u8],
    target: Option<Target>,
) -> Result<ObjectSections, Error> {
    let parsed = File::parse(bytes).map_err(|e| malformed(file, e))?;
    let detected = detect(file, &parsed)?;
    if let Some(wanted) = target {
        if wanted.format() != detected.format() || wanted.arch() != detected.arch() {
            return Err(Error::Invalid {
                file: file.to_string(),
                group: None,
                message: format!("object is for {detected}, not for the requested target {wanted}"),
            });
        }
    }
    let target = target.unwrap_or(detected);
    let reader = Reader { file, target };
    match &parsed {
        File::Elf64(elf) => reader.read(elf, elf::classify),
        File::MachO64(macho) => reader.read(macho, macho::classify),
        File::Coff(coff) => reader.read(coff, coff::classify),
        // `detect` accepts only the three formats above.
        other => Err(Error::Unsupported {
            file: file.to_string(),
            message: format!("{:?} objects", other.format()),
        }),
    }
}

/// The target an object's header implies (the canonical triple of its format and machine).
fn detect(file: &str, parsed: &File<'_>) -> Result<Target, Error> {
    use object::Architecture as A;
    let format = match parsed {
        File::Elf64(_) => Some(Format::Elf),
        File::MachO64(_) => Some(Format::MachO),
        File::Coff(_) => Some(Format::Coff),
        _ => None,
    };
    let arch = match parsed.architecture() {
        A::X86_64 => Some(Arch::X86_64),
        A::Aarch64 => Some(Arch::Aarch64),
        A::I386 => Some(Arch::I686),
        _ => None,
    };
    format
        .zip(arch)
        .and_then(|(format, arch)| Target::canonical(format, arch))
        .ok_or_else(|| Error::Unsupported {
            file: file.to_string(),
            message: format!(
                "{:?} object for {:?}",
                parsed.format(),
                parsed.architecture()
            ),
        })
}

/// Format-specific decision for a section: `None` leaves it out of the stencils.
type Classify<S> = fn(&str, &S) -> Result<Option<SectionKind>, Error>;

/// One relocation's row of the table (by its raw number) and the addend its entries give: the
/// RELA addend, or an AArch64 Mach-O `ARM64_RELOC_ADDEND` pair's (which CPython cannot read at
/// all). Stored addends are the `object` crate's "implicit" ones; the row's rule reads those.
fn decode(site: &RelocSite<'_>, reloc: &object::Relocation) -> Result<(RelocKind, i64), Error> {
    let arch = site.target.arch();
    let flags = reloc.flags();
    let (format, number) = match flags {
        RelocationFlags::Elf { r_type } => (Format::Elf, r_type),
        RelocationFlags::MachO { r_type, .. } => (Format::MachO, u32::from(r_type)),
        RelocationFlags::Coff { typ } => (Format::Coff, u32::from(typ)),
        other => return Err(site.unsupported(format!("{other:?}"))),
    };
    let name = || match flags {
        RelocationFlags::Elf { r_type } => elf::name(arch, r_type),
        RelocationFlags::MachO { r_type, .. } => macho::name(arch, r_type),
        RelocationFlags::Coff { typ } => coff::name(arch, typ),
        other => format!("{other:?}"),
    };
    if format == Format::Elf && reloc.has_implicit_addend() {
        return Err(site.unsupported(format!("{} in a REL (not RELA) section", name())));
    }
    let kind = site.kind(RelocKind::from_number(format, arch, number), name)?;
    let given = if reloc.has_implicit_addend() {
        0
    } else {
        reloc.addend()
    };
    Ok((kind, given))
}

struct Reader<'a> {
    file: &'a str,
    target: Target,
}

impl Reader<'_> {
    fn read<'data, 'file, O: Object<'data>>(
        &self,
        obj: &'file O,
        classify: Classify<O::Section<'file>>,
    ) -> Result<ObjectSections, Error> {
        let file = self.file;
        let mut sections = Vec::new();
        let mut zero_fill = ZeroFill::new(file);
        for section in obj.sections() {
            let name = section.name().map_err(|e| malformed(file, e))?;
            let Some(kind) = classify(file, &section)? else {
                continue;
            };
            let bytes = section_bytes(file, name, &section, &mut zero_fill)?;
            let index = section.index().0;
            let mut symbols = self.symbols_in(obj, index)?;
            if self.target.format() == Format::MachO {
                // Mach-O has no symbol types: any symbol in an instruction section is code, as
                // the llvm-readobj reader decides (the object crate only says so for __text).
                for symbol in &mut symbols {
                    symbol.function = kind == SectionKind::Code;
                }
            }
            let mut relocations = Vec::new();
            for (offset, reloc) in section.relocations() {
                let site = RelocSite {
                    file,
                    target: self.target,
                    section: name,
                    bytes: &bytes,
                    offset,
                };
                let (kind, given) = decode(&site, &reloc)?;
                let addend = site.addend(kind, given)?;
                let target = self.reloc_target(obj, &site, reloc.target())?;
                relocations.push(Relocation {
                    offset,
                    kind,
                    target,
                    addend,
                });
            }
            sections.push(Section {
                index,
                name: name.to_string(),
                kind,
                address: section.address(),
                align: alignment(file, name, section.align())?,
                bytes,
                symbols,
                relocations,
            });
        }
        Ok(ObjectSections {
            target: self.target,
            sections,
        })
    }

    /// Symbols defined in section `index`, in symbol-table order, names prefix-stripped.
    /// Section symbols (ELF) are named after their section, as `llvm-readobj` names them.
    fn symbols_in<'data, O: Object<'data>>(
        &self,
        obj: &O,
        index: usize,
    ) -> Result<Vec<Symbol>, Error> {
        let mut out = Vec::new();
        for symbol in obj.symbols() {
            if symbol.section() != SymbolSection::Section(object::SectionIndex(index)) {
                continue;
            }
            let name = self.symbol_name(obj, &symbol)?;
            if name.is_empty() {
                continue;
            }
            out.push(Symbol {
                name,
                value: symbol.address(),
                global: symbol.is_global(),
                function: symbol.kind() == SymbolKind::Text,
            });
        }
        Ok(out)
    }

    fn symbol_name<'data, O: Object<'data>>(
        &self,
        obj: &O,
        symbol: &O::Symbol<'_>,
    ) -> Result<String, Error> {
        let raw = symbol.name().map_err(|e| malformed(self.file, e))?;
        if raw.is_empty() && symbol.kind() == SymbolKind::Section {
            if let Some(index) = symbol.section_index() {
                let section = obj
                    .section_by_index(index)
                    .map_err(|e| malformed(self.file, e))?;
                return Ok(section
                    .name()
                    .map_err(|e| malformed(self.file, e))?
                    .to_string());
            }
        }
        Ok(symbol_name(self.target, raw))
    }

    fn reloc_target<'data, O: Object<'data>>(
        &self,
        obj: &O,
        site: &RelocSite<'_>,
        target: RelocationTarget,
    ) -> Result<RelocTarget, Error> {
        match target {
            RelocationTarget::Symbol(index) => {
                let symbol = obj
                    .symbol_by_index(index)
                    .map_err(|e| malformed(self.file, e))?;
                Ok(RelocTarget::Symbol(self.symbol_name(obj, &symbol)?))
            }
            RelocationTarget::Section(index) => Ok(RelocTarget::Section(index.0)),
            _ => Err(site.no_target()),
        }
    }
}

/// A section's contents; zero-fill sections (BSS) become zero bytes of their size.
fn section_bytes<'data, S: ObjectSection<'data>>(
    file: &str,
    name: &str,
    section: &S,
    zero_fill: &mut ZeroFill<'_>,
) -> Result<Vec<u8>, Error> {
    use object::SectionKind as K;
    match section.kind() {
        K::UninitializedData | K::UninitializedTls | K::Common => {
            zero_fill.take(name, section.size())
        }
        _ => Ok(section.data().map_err(|e| malformed(file, e))?.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use object::{elf, macho, pe};
    use patchjit_vocab::{Format, RelocKind};

    /// The vocabulary's raw numbers are the `object` crate's (an independent transcription of
    /// the formats' headers), row by row.
    #[test]
    fn relocation_numbers_agree_with_the_object_crate() {
        use RelocKind::*;
        let numbers: [(RelocKind, u32); 47] = [
            (R_X86_64_64, elf::R_X86_64_64),
            (R_X86_64_PC32, elf::R_X86_64_PC32),
            (R_X86_64_32, elf::R_X86_64_32),
            (R_X86_64_32S, elf::R_X86_64_32S),
            (R_X86_64_PLT32, elf::R_X86_64_PLT32),
            (R_X86_64_GOTPCREL, elf::R_X86_64_GOTPCREL),
            (R_X86_64_GOTPCRELX, elf::R_X86_64_GOTPCRELX),
            (R_X86_64_REX_GOTPCRELX, elf::R_X86_64_REX_GOTPCRELX),
            (R_AARCH64_ABS64, elf::R_AARCH64_ABS64),
            (R_AARCH64_ADD_ABS_LO12_NC, elf::R_AARCH64_ADD_ABS_LO12_NC),
            (R_AARCH64_ADR_GOT_PAGE, elf::R_AARCH64_ADR_GOT_PAGE),
            (R_AARCH64_ADR_PREL_PG_HI21, elf::R_AARCH64_ADR_PREL_PG_HI21),
            (R_AARCH64_CALL26, elf::R_AARCH64_CALL26),
            (R_AARCH64_CONDBR19, elf::R_AARCH64_CONDBR19),
            (R_AARCH64_JUMP26, elf::R_AARCH64_JUMP26),
            (R_AARCH64_LD64_GOT_LO12_NC, elf::R_AARCH64_LD64_GOT_LO12_NC),
            (
                R_AARCH64_LDST8_ABS_LO12_NC,
                elf::R_AARCH64_LDST8_ABS_LO12_NC,
            ),
            (
                R_AARCH64_LDST16_ABS_LO12_NC,
                elf::R_AARCH64_LDST16_ABS_LO12_NC,
            ),
            (
                R_AARCH64_LDST32_ABS_LO12_NC,
                elf::R_AARCH64_LDST32_ABS_LO12_NC,
            ),
            (
                R_AARCH64_LDST64_ABS_LO12_NC,
                elf::R_AARCH64_LDST64_ABS_LO12_NC,
            ),
            (
                R_AARCH64_LDST128_ABS_LO12_NC,
                elf::R_AARCH64_LDST128_ABS_LO12_NC,
            ),
            (R_AARCH64_MOVW_UABS_G0, elf::R_AARCH64_MOVW_UABS_G0),
            (R_AARCH64_MOVW_UABS_G0_NC, elf::R_AARCH64_MOVW_UABS_G0_NC),
            (R_AARCH64_MOVW_UABS_G1, elf::R_AARCH64_MOVW_UABS_G1),
            (R_AARCH64_MOVW_UABS_G1_NC, elf::R_AARCH64_MOVW_UABS_G1_NC),
            (R_AARCH64_MOVW_UABS_G2_NC, elf::R_AARCH64_MOVW_UABS_G2_NC),
            (R_AARCH64_MOVW_UABS_G3, elf::R_AARCH64_MOVW_UABS_G3),
            (X86_64_RELOC_BRANCH, macho::X86_64_RELOC_BRANCH.into()),
            (X86_64_RELOC_GOT, macho::X86_64_RELOC_GOT.into()),
            (X86_64_RELOC_GOT_LOAD, macho::X86_64_RELOC_GOT_LOAD.into()),
            (X86_64_RELOC_SIGNED, macho::X86_64_RELOC_SIGNED.into()),
            (X86_64_RELOC_UNSIGNED, macho::X86_64_RELOC_UNSIGNED.into()),
            (ARM64_RELOC_BRANCH26, macho::ARM64_RELOC_BRANCH26.into()),
            (
                ARM64_RELOC_GOT_LOAD_PAGE21,
                macho::ARM64_RELOC_GOT_LOAD_PAGE21.into(),
            ),
            (
                ARM64_RELOC_GOT_LOAD_PAGEOFF12,
                macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12.into(),
            ),
            (ARM64_RELOC_PAGE21, macho::ARM64_RELOC_PAGE21.into()),
            (ARM64_RELOC_PAGEOFF12, macho::ARM64_RELOC_PAGEOFF12.into()),
            (ARM64_RELOC_UNSIGNED, macho::ARM64_RELOC_UNSIGNED.into()),
            (IMAGE_REL_AMD64_ADDR64, pe::IMAGE_REL_AMD64_ADDR64.into()),
            (IMAGE_REL_AMD64_REL32, pe::IMAGE_REL_AMD64_REL32.into()),
            (IMAGE_REL_ARM64_ADDR64, pe::IMAGE_REL_ARM64_ADDR64.into()),
            (
                IMAGE_REL_ARM64_BRANCH26,
                pe::IMAGE_REL_ARM64_BRANCH26.into(),
            ),
            (
                IMAGE_REL_ARM64_PAGEBASE_REL21,
                pe::IMAGE_REL_ARM64_PAGEBASE_REL21.into(),
            ),
            (
                IMAGE_REL_ARM64_PAGEOFFSET_12A,
                pe::IMAGE_REL_ARM64_PAGEOFFSET_12A.into(),
            ),
            (
                IMAGE_REL_ARM64_PAGEOFFSET_12L,
                pe::IMAGE_REL_ARM64_PAGEOFFSET_12L.into(),
            ),
            (IMAGE_REL_I386_DIR32, pe::IMAGE_REL_I386_DIR32.into()),
            (IMAGE_REL_I386_REL32, pe::IMAGE_REL_I386_REL32.into()),
        ];
        assert_eq!(numbers.map(|(kind, _)| kind), RelocKind::ALL);
        for (kind, number) in numbers {
            assert_eq!(kind.number(), number, "{kind}");
            // The row's name is the object crate's constant's name, so its format is too.
            let prefix_format = match kind.name().split('_').next() {
                Some("R") => Format::Elf,
                Some("IMAGE") => Format::Coff,
                _ => Format::MachO,
            };
            assert_eq!(kind.format(), prefix_format, "{kind}");
        }
    }
}
