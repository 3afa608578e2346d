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
use object::SymbolKind;

use crate::error::Error;
use crate::hole::{PatchKind, RelocKind};
use crate::sections::{ObjectSections, RelocTarget, Relocation, Section, SectionKind, Symbol};
use crate::target::Target;

/// Largest zero-filled (BSS) section accepted, so a corrupt size cannot exhaust memory.
const MAX_ZERO_FILL: u64 = 1 << 28;

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
        File::Elf64(elf) => reader.read(elf, elf::classify, elf::relocation),
        File::MachO64(macho) => reader.read(macho, macho::classify, macho::relocation),
        File::Coff(coff) => reader.read(coff, coff::classify, coff::relocation),
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
    let target = match (parsed, parsed.architecture()) {
        (File::Elf64(_), A::X86_64) => Target::X86_64UnknownLinuxGnu,
        (File::Elf64(_), A::Aarch64) => Target::Aarch64UnknownLinuxGnu,
        (File::MachO64(_), A::X86_64) => Target::X86_64AppleDarwin,
        (File::MachO64(_), A::Aarch64) => Target::Aarch64AppleDarwin,
        (File::Coff(_), A::X86_64) => Target::X86_64PcWindowsMsvc,
        (File::Coff(_), A::Aarch64) => Target::Aarch64PcWindowsMsvc,
        (File::Coff(_), A::I386) => Target::I686PcWindowsMsvc,
        (_, arch) => {
            return Err(Error::Unsupported {
                file: file.to_string(),
                message: format!("{:?} object for {arch:?}", parsed.format()),
            })
        }
    };
    Ok(target)
}

pub(crate) fn malformed(file: &str, error: impl std::fmt::Display) -> Error {
    Error::Malformed {
        file: file.to_string(),
        message: error.to_string(),
    }
}

/// What the format-specific relocation rules see of the section a relocation applies to.
pub(crate) struct RelocSite<'a> {
    pub file: &'a str,
    pub target: Target,
    pub section: &'a str,
    pub bytes: &'a [u8],
    pub offset: u64,
}

impl RelocSite<'_> {
    /// The unsupported-relocation error for this site; `kind` is a name or a number.
    pub fn unsupported(&self, kind: String) -> Error {
        Error::UnsupportedRelocation {
            file: self.file.to_string(),
            section: self.section.to_string(),
            offset: self.offset,
            kind,
        }
    }

    /// `N` bytes at the relocation's offset (bounds-checked).
    pub fn read<const N: usize>(&self) -> Result<[u8; N], Error> {
        let start = usize::try_from(self.offset).ok();
        start
            .and_then(|s| self.bytes.get(s..s.checked_add(N)?))
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                malformed(
                    self.file,
                    format_args!(
                        "section {}: relocation at {:#x} runs past the section end ({:#x} bytes)",
                        self.section,
                        self.offset,
                        self.bytes.len()
                    ),
                )
            })
    }

    /// The stored little-endian signed 32-bit value minus 4 (x86 PC-relative implicit addends).
    pub fn signed32_minus_4(&self) -> Result<i64, Error> {
        Ok(i64::from(i32::from_le_bytes(self.read::<4>()?)) - 4)
    }
}

/// Format-specific decision for a section: `None` leaves it out of the stencils.
type Classify<S> = fn(&str, &S) -> Result<Option<SectionKind>, Error>;
/// Format-specific decoding of one relocation into a kind and an explicit addend.
type Decode = fn(&RelocSite<'_>, &object::Relocation) -> Result<(RelocKind, i64), Error>;

struct Reader<'a> {
    file: &'a str,
    target: Target,
}

impl Reader<'_> {
    fn read<'data, 'file, O: Object<'data>>(
        &self,
        obj: &'file O,
        classify: Classify<O::Section<'file>>,
        decode: Decode,
    ) -> Result<ObjectSections, Error> {
        let file = self.file;
        let mut sections = Vec::new();
        for section in obj.sections() {
            let name = section.name().map_err(|e| malformed(file, e))?;
            let Some(kind) = classify(file, &section)? else {
                continue;
            };
            let bytes = section_bytes(file, name, &section)?;
            let index = section.index().0;
            let mut symbols = self.symbols_in(obj, index)?;
            if self.target.format() == crate::target::Format::MachO {
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
                let (kind, addend) = decode(&site, &reloc)?;
                // Every patch writes at least 4 bytes, 64-bit ones 8: refuse holes past the end.
                site.read::<4>()?;
                if kind.patch_kind() == PatchKind::Abs64 {
                    site.read::<8>()?;
                }
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
        Ok(self.strip_prefix(raw))
    }

    /// Removes the target's symbol prefix; COFF import thunks keep their `__imp_` marker so
    /// grouping can turn them into GOT references (`__imp__foo` on i686 becomes `__imp_foo`).
    fn strip_prefix(&self, name: &str) -> String {
        let prefix = self.target.symbol_prefix();
        let strip = |n: &str| n.strip_prefix(prefix).unwrap_or(n).to_string();
        match name.strip_prefix("__imp_") {
            Some(rest) if self.target.format() == crate::target::Format::Coff => {
                format!("__imp_{}", strip(rest))
            }
            _ => strip(name),
        }
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
            _ => Err(Error::Invalid {
                file: self.file.to_string(),
                group: None,
                message: format!(
                    "section {}: relocation at {:#x} refers to no symbol or section",
                    site.section, site.offset
                ),
            }),
        }
    }
}

/// A section's contents; zero-fill sections (BSS) become zero bytes of their size.
fn section_bytes<'data, S: ObjectSection<'data>>(
    file: &str,
    name: &str,
    section: &S,
) -> Result<Vec<u8>, Error> {
    use object::SectionKind as K;
    match section.kind() {
        K::UninitializedData | K::UninitializedTls | K::Common => {
            if section.size() > MAX_ZERO_FILL {
                return Err(malformed(
                    file,
                    format_args!(
                        "section {name}: zero-fill size {:#x} is too large",
                        section.size()
                    ),
                ));
            }
            Ok(vec![0; section.size() as usize])
        }
        _ => Ok(section.data().map_err(|e| malformed(file, e))?.to_vec()),
    }
}
