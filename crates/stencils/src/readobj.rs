//! Reads the JSON `llvm-readobj` prints for an object file — CPython 3.14's route,
//! `llvm-readobj-19 --elf-output-style=JSON --expand-relocs --section-data --section-relocations
//! --section-symbols --sections` — into the same [`ObjectSections`] as [`crate::read_object`]:
//! the same sections in the same order, the same symbol names (prefix stripped, COFF `__imp_`
//! kept), the same explicit addends. It exists so the two routes can be checked against each
//! other and so objects can be inspected from `llvm-readobj` output alone.
//!
//! `llvm-readobj` 19 does not print valid JSON for Mach-O (a bare `Extern` or `PrivateExtern`
//! line after a symbol's name) nor for COFF and Mach-O (a `FileSummary` without braces). CPython
//! deletes those lines and cuts the text down to the array of sections; here the lines become
//! `"Extern": true` members instead (the object reader needs the binding), and the section array
//! is the first JSON value after the `"Sections":` key, so a file name cannot derail the cut.

use serde_json::Value;

use patchjit_vocab::{Arch, Format, RelocKind, Target};

use crate::error::{malformed, Error};
use crate::limits::ZeroFill;
use crate::sections::{
    alignment, ObjectSections, RelocTarget, Relocation, Section, SectionKind, Symbol,
};
use crate::site::{symbol_name, RelocSite};

/// Parses `llvm-readobj` JSON output for one object compiled for `target`. `file` names it in
/// errors. The output's `Format`/`Arch` summary, when present, must agree with `target`.
pub fn read_readobj_json(file: &str, json: &str, target: Target) -> Result<ObjectSections, Error> {
    let text = json
        .replace("PrivateExtern\n", ",\"PrivateExtern\": true\n")
        .replace("Extern\n", ",\"Extern\": true\n");
    let sections_at = text.find("\"Sections\":");
    let summary = &text[..sections_at.unwrap_or(0)];
    check_summary(file, summary, target)?;
    let array_from = sections_at.map_or(0, |at| at + "\"Sections\":".len());
    let start = text[array_from..]
        .find('[')
        .map(|i| array_from + i)
        .ok_or_else(|| malformed(file, "no array of sections"))?;
    let value = serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<Value>()
        .next()
        .ok_or_else(|| malformed(file, "no array of sections"))?
        .map_err(|e| malformed(file, format_args!("llvm-readobj JSON: {e}")))?;
    let root = Node {
        file,
        value: &value,
        path: "Sections".to_string(),
    };
    let sections: Vec<Node<'_>> = root
        .array()?
        .into_iter()
        .map(|s| s.get("Section"))
        .collect::<Result<_, _>>()?;
    let reader = Reader { file, target };
    match target.format() {
        Format::Elf => reader.elf(&sections),
        Format::MachO => reader.macho(&sections),
        Format::Coff => reader.coff(&sections),
    }
}

/// The target named by `llvm-readobj`'s `Format`/`Arch` summary at the top of `json`: the
/// canonical triple of that format and architecture, as [`crate::read_object`] detects it from
/// an object's header. For callers that have JSON but no target of their own.
pub fn readobj_json_target(file: &str, json: &str) -> Result<Target, Error> {
    let summary = &json[..json.find("\"Sections\":").unwrap_or(json.len())];
    let (format, arch) = summary_kind(file, summary)?.ok_or_else(|| {
        malformed(
            file,
            "no \"Format\" and \"Arch\" summary before the sections",
        )
    })?;
    Target::canonical(format, arch).ok_or_else(|| Error::Unsupported {
        file: file.to_string(),
        message: format!("{format:?} objects for {arch:?}"),
    })
}

/// Compares the `"Format"` and `"Arch"` strings before the sections with the requested target.
fn check_summary(file: &str, summary: &str, target: Target) -> Result<(), Error> {
    match summary_kind(file, summary)? {
        Some((format, arch)) if format != target.format() || arch != target.arch() => {
            Err(Error::Invalid {
                file: file.to_string(),
                group: None,
                message: format!(
                    "llvm-readobj output describes a {format:?} object for {arch:?}, not one \
                     for the requested target {target}"
                ),
            })
        }
        _ => Ok(()),
    }
}

/// The format and architecture the summary names, if it has one.
fn summary_kind(file: &str, summary: &str) -> Result<Option<(Format, Arch)>, Error> {
    let (Some(format), Some(arch)) = (
        string_field(summary, "Format"),
        string_field(summary, "Arch"),
    ) else {
        return Ok(None);
    };
    let detected_format = if format.starts_with("elf64") {
        Format::Elf
    } else if format.starts_with("Mach-O 64-bit") || format == "Mach-O arm64" {
        Format::MachO
    } else if format.starts_with("COFF") {
        Format::Coff
    } else {
        return Err(Error::Unsupported {
            file: file.to_string(),
            message: format!("{format} objects"),
        });
    };
    let detected_arch = match arch {
        "x86_64" => Arch::X86_64,
        "aarch64" => Arch::Aarch64,
        "i386" => Arch::I686,
        other => {
            return Err(Error::Unsupported {
                file: file.to_string(),
                message: format!("{format} object for {other}"),
            })
        }
    };
    Ok(Some((detected_format, detected_arch)))
}

/// The value of `"key":"value"` in `text` (no JSON parsing: the summary is not valid JSON for
/// every format). An unescaped `"key":"` can only be a key, never part of a string.
fn string_field<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let opening = format!("\"{key}\":\"");
    let from = text.find(&opening)? + opening.len();
    let len = text[from..].find('"')?;
    Some(&text[from..from + len])
}

/// A JSON value and where it is, so every shape error names its path.
struct Node<'v> {
    file: &'v str,
    value: &'v Value,
    path: String,
}

impl<'v> Node<'v> {
    fn error(&self, expected: &str) -> Error {
        malformed(
            self.file,
            format_args!("llvm-readobj JSON: {}: expected {expected}", self.path),
        )
    }

    fn opt(&self, key: &str) -> Option<Node<'v>> {
        self.value.get(key).map(|value| Node {
            file: self.file,
            value,
            path: format!("{}.{key}", self.path),
        })
    }

    fn get(&self, key: &str) -> Result<Node<'v>, Error> {
        self.opt(key)
            .ok_or_else(|| self.error(&format!("a member {key:?}")))
    }

    fn u64(&self) -> Result<u64, Error> {
        self.value
            .as_u64()
            .ok_or_else(|| self.error("an unsigned integer"))
    }

    fn usize(&self) -> Result<usize, Error> {
        usize::try_from(self.u64()?).map_err(|_| self.error("an index"))
    }

    /// A 64-bit two's-complement value, whether printed unsigned (ELF addends) or signed.
    fn wrapping_i64(&self) -> Result<i64, Error> {
        match (self.value.as_i64(), self.value.as_u64()) {
            (Some(v), _) => Ok(v),
            (None, Some(v)) => Ok(v as i64),
            _ => Err(self.error("a 64-bit integer")),
        }
    }

    fn str(&self) -> Result<&'v str, Error> {
        self.value.as_str().ok_or_else(|| self.error("a string"))
    }

    fn array(&self) -> Result<Vec<Node<'v>>, Error> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.error("an array"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Node {
                file: self.file,
                value,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    /// An optional array (absent = empty).
    fn list(&self, key: &str) -> Result<Vec<Node<'v>>, Error> {
        self.opt(key).map_or(Ok(Vec::new()), |n| n.array())
    }

    /// `"SectionData": {"Bytes": [..]}`.
    fn section_data(&self) -> Result<Option<Vec<u8>>, Error> {
        let Some(data) = self.opt("SectionData") else {
            return Ok(None);
        };
        data.get("Bytes")?
            .array()?
            .iter()
            .map(|b| u8::try_from(b.u64()?).map_err(|_| b.error("a byte")))
            .collect::<Result<Vec<u8>, Error>>()
            .map(Some)
    }

    /// `"Key": {"Name": "...", "Value": N}`, as `llvm-readobj` prints enums.
    fn enum_value(&self, key: &str) -> Result<u64, Error> {
        self.get(key)?.get("Value")?.u64()
    }
}

struct Reader<'a> {
    file: &'a str,
    target: Target,
}

impl Reader<'_> {
    /// Where a relocation printed as applying to `section` (contents `bytes`) at `offset` is.
    fn site<'s>(&'s self, section: &'s str, bytes: &'s [u8], offset: u64) -> RelocSite<'s> {
        RelocSite {
            file: self.file,
            target: self.target,
            section,
            bytes,
            offset,
        }
    }

    /// The relocation kind a printed type name stands for on this target.
    fn kind(&self, site: &RelocSite<'_>, name: &str) -> Result<RelocKind, Error> {
        site.kind(RelocKind::from_name(name), || name.to_string())
    }

    fn symbol_name(&self, raw: &str) -> String {
        symbol_name(self.target, raw)
    }
}

impl Reader<'_> {
    /// ELF: relocations live in `SHT_RELA` sections naming their target in `Info`; section
    /// symbols are printed with their section's name, as the object reader names them.
    fn elf(&self, sections: &[Node<'_>]) -> Result<ObjectSections, Error> {
        const SHT_PROGBITS: u64 = 1;
        const SHT_RELA: u64 = 4;
        const SHT_NOTE: u64 = 7;
        const SHT_NOBITS: u64 = 8;
        const SHT_REL: u64 = 9;
        const SHT_X86_64_UNWIND: u64 = 0x7000_0001;
        const SHF_ALLOC: u64 = 0x2;
        const SHF_EXECINSTR: u64 = 0x4;
        const STT_FUNC: u64 = 2;
        const STT_GNU_IFUNC: u64 = 10;

        // (target section index, RELA?, relocations) in file order.
        let mut relocation_sections = Vec::new();
        for section in sections {
            let typ = section.enum_value("Type")?;
            if typ == SHT_RELA || typ == SHT_REL {
                let info = section.get("Info")?.usize()?;
                if info != 0 {
                    relocation_sections.push((info, typ == SHT_RELA, section.list("Relocations")?));
                }
            }
        }

        let mut out = Vec::new();
        let mut zero_fill = ZeroFill::new(self.file);
        for section in sections {
            let name = section.get("Name")?.get("Name")?.str()?;
            let typ = section.enum_value("Type")?;
            let flags = section.enum_value("Flags")?;
            if flags & SHF_ALLOC == 0 {
                continue;
            }
            match typ {
                SHT_PROGBITS | SHT_NOBITS => {}
                SHT_NOTE => continue,
                other => {
                    return Err(Error::Unsupported {
                        file: self.file.to_string(),
                        message: if other == SHT_X86_64_UNWIND {
                            format!(
                                "allocated section {name} holds unwind tables; compile with \
                                 -fno-asynchronous-unwind-tables"
                            )
                        } else {
                            format!("allocated section {name} has section type {other:#x}")
                        },
                    })
                }
            }
            let kind = if flags & SHF_EXECINSTR != 0 {
                SectionKind::Code
            } else {
                SectionKind::Data
            };
            let index = section.get("Index")?.usize()?;
            let bytes = if typ == SHT_NOBITS {
                zero_fill.take(name, section.get("Size")?.u64()?)?
            } else {
                section
                    .section_data()?
                    .ok_or_else(|| section.error("a member \"SectionData\""))?
            };
            let mut symbols = Vec::new();
            for symbol in section.list("Symbols")? {
                let symbol = symbol.get("Symbol")?;
                let raw = symbol.get("Name")?.get("Name")?.str()?;
                let typ = symbol.enum_value("Type")?;
                let name = self.symbol_name(raw);
                if name.is_empty() {
                    continue;
                }
                symbols.push(Symbol {
                    name,
                    value: symbol.get("Value")?.u64()?,
                    global: symbol.enum_value("Binding")? != 0,
                    function: typ == STT_FUNC || typ == STT_GNU_IFUNC,
                });
            }
            let mut relocations = Vec::new();
            for (_, rela, list) in relocation_sections.iter().filter(|(t, ..)| *t == index) {
                for reloc in list {
                    let reloc = reloc.get("Relocation")?;
                    let site = self.site(name, &bytes, reloc.get("Offset")?.u64()?);
                    let type_name = reloc.get("Type")?.get("Name")?.str()?;
                    if !rela {
                        return Err(
                            site.unsupported(format!("{type_name} in a REL (not RELA) section"))
                        );
                    }
                    let kind = self.kind(&site, type_name)?;
                    let addend = site.addend(kind, reloc.get("Addend")?.wrapping_i64()?)?;
                    let symbol = reloc.get("Symbol")?;
                    if symbol.get("Value")?.u64()? == 0 {
                        return Err(site.no_target());
                    }
                    relocations.push(Relocation {
                        offset: site.offset,
                        kind,
                        target: RelocTarget::Symbol(self.symbol_name(symbol.get("Name")?.str()?)),
                        addend,
                    });
                }
            }
            out.push(Section {
                index,
                name: name.to_string(),
                kind,
                address: section.get("Address")?.u64()?,
                align: alignment(self.file, name, section.get("AddressAlignment")?.u64()?)?,
                bytes,
                symbols,
                relocations,
            });
        }
        Ok(ObjectSections {
            target: self.target,
            sections: out,
        })
    }

    /// Mach-O: sections share one address space; section ordinals are `Index` + 1; an
    /// `ARM64_RELOC_ADDEND` entry gives the addend of the relocation after it.
    fn macho(&self, sections: &[Node<'_>]) -> Result<ObjectSections, Error> {
        const S_ZEROFILL: u64 = 0x1;
        const S_GB_ZEROFILL: u64 = 0xc;
        const S_THREAD_LOCAL_ZEROFILL: u64 = 0x12;
        // `llvm-readobj` prints the attribute bits shifted right by 8.
        const S_ATTR_DEBUG: u64 = 0x0200_0000 >> 8;
        const S_ATTR_SOME_INSTRUCTIONS: u64 = 0x0000_0400 >> 8;
        const N_SECT: u64 = 0xe;

        let mut out = Vec::new();
        let mut zero_fill = ZeroFill::new(self.file);
        for section in sections {
            let name = section.get("Name")?.get("Value")?.str()?;
            let index = section.get("Index")?;
            let ordinal = index
                .usize()?
                .checked_add(1)
                .ok_or_else(|| index.error("a section index"))?;
            let attributes = section.enum_value("Attributes")?;
            if attributes & S_ATTR_DEBUG != 0 {
                continue;
            }
            let code = attributes & S_ATTR_SOME_INSTRUCTIONS != 0;
            let typ = section.enum_value("Type")?;
            let bytes = if matches!(typ, S_ZEROFILL | S_GB_ZEROFILL | S_THREAD_LOCAL_ZEROFILL) {
                zero_fill.take(name, section.get("Size")?.u64()?)?
            } else {
                section
                    .section_data()?
                    .ok_or_else(|| section.error("a member \"SectionData\""))?
            };
            let mut symbols = Vec::new();
            for symbol in section.list("Symbols")? {
                let symbol = symbol.get("Symbol")?;
                if symbol.enum_value("Type")? != N_SECT {
                    continue;
                }
                let name = self.symbol_name(symbol.get("Name")?.get("Name")?.str()?);
                if name.is_empty() {
                    continue;
                }
                symbols.push(Symbol {
                    name,
                    value: symbol.get("Value")?.u64()?,
                    global: symbol.opt("Extern").is_some(),
                    function: code,
                });
            }
            let mut relocations = Vec::new();
            let mut paired_addend = None;
            for reloc in section.list("Relocations")? {
                let reloc = reloc.get("Relocation")?;
                let site = self.site(name, &bytes, reloc.get("Offset")?.u64()?);
                let type_name = reloc.get("Type")?.get("Name")?.str()?;
                let symbol = reloc.opt("Symbol");
                let section_ref = reloc.opt("Section");
                if type_name == "ARM64_RELOC_ADDEND" && self.target.arch() == Arch::Aarch64 {
                    // The addend is the 24-bit signed "symbol number".
                    let raw = symbol
                        .or(section_ref)
                        .ok_or_else(|| reloc.error("a member \"Section\""))?
                        .get("Value")?
                        .u64()?;
                    paired_addend = Some(((raw as i64) << 40) >> 40);
                    continue;
                }
                let kind = self.kind(&site, type_name)?;
                let addend = site.addend(kind, paired_addend.take().unwrap_or(0))?;
                let target = match (symbol, section_ref) {
                    (Some(symbol), _) => {
                        RelocTarget::Symbol(self.symbol_name(symbol.get("Name")?.str()?))
                    }
                    (None, Some(section)) => RelocTarget::Section(section.get("Value")?.usize()?),
                    (None, None) => return Err(site.no_target()),
                };
                relocations.push(Relocation {
                    offset: site.offset,
                    kind,
                    target,
                    addend,
                });
            }
            out.push(Section {
                index: ordinal,
                name: name.to_string(),
                kind: if code {
                    SectionKind::Code
                } else {
                    SectionKind::Data
                },
                address: section.get("Address")?.u64()?,
                // The log2 of the alignment (read as the object crate does: 2^64 and up is 0).
                align: alignment(
                    self.file,
                    name,
                    match section.get("Alignment")?.u64()? {
                        log2 @ 0..64 => 1 << log2,
                        _ => 0,
                    },
                )?,
                bytes,
                symbols,
                relocations,
            });
        }
        Ok(ObjectSections {
            target: self.target,
            sections: out,
        })
    }

    /// COFF: implicit addends are read from the section bytes; sections the linker never maps
    /// (`LNK_INFO`, `LNK_REMOVE`, `MEM_DISCARDABLE`) are left out, as by the object reader.
    fn coff(&self, sections: &[Node<'_>]) -> Result<ObjectSections, Error> {
        const CNT_UNINITIALIZED_DATA: u64 = 0x0000_0080;
        const LNK_INFO: u64 = 0x0000_0200;
        const LNK_REMOVE: u64 = 0x0000_0800;
        const MEM_DISCARDABLE: u64 = 0x0200_0000;
        const MEM_EXECUTE: u64 = 0x2000_0000;
        const MEM_READ: u64 = 0x4000_0000;
        const CLASS_EXTERNAL: u64 = 2;
        const CLASS_STATIC: u64 = 3;
        const CLASS_LABEL: u64 = 6;
        const CLASS_WEAK_EXTERNAL: u64 = 105;
        const DTYPE_FUNCTION: u64 = 2;

        let mut out = Vec::new();
        let mut zero_fill = ZeroFill::new(self.file);
        for section in sections {
            let name = section.get("Name")?.get("Value")?.str()?;
            let characteristics = section.enum_value("Characteristics")?;
            if characteristics & (LNK_INFO | LNK_REMOVE | MEM_DISCARDABLE) != 0 {
                continue;
            }
            let kind = if characteristics & MEM_EXECUTE != 0 {
                SectionKind::Code
            } else if characteristics & MEM_READ != 0 {
                SectionKind::Data
            } else {
                continue;
            };
            let raw_size = section.get("RawDataSize")?.u64()?;
            let bytes = match section.section_data()? {
                Some(bytes) if characteristics & CNT_UNINITIALIZED_DATA == 0 => bytes,
                _ => zero_fill.take(name, raw_size)?,
            };
            let virtual_address = section.get("VirtualAddress")?.u64()?;
            let mut symbols = Vec::new();
            for symbol in section.list("Symbols")? {
                let symbol = symbol.get("Symbol")?;
                let name = self.symbol_name(symbol.get("Name")?.str()?);
                if name.is_empty() {
                    continue;
                }
                let class = symbol.enum_value("StorageClass")?;
                let section_symbol = class == CLASS_STATIC
                    && symbol.get("AuxSymbolCount")?.u64()? > 0
                    && symbol.enum_value("BaseType")? == 0
                    && symbol.enum_value("ComplexType")? == 0;
                let function = symbol.enum_value("ComplexType")? == DTYPE_FUNCTION
                    && (class == CLASS_EXTERNAL
                        || class == CLASS_WEAK_EXTERNAL
                        || (class == CLASS_STATIC && !section_symbol));
                let addressed = matches!(
                    class,
                    CLASS_STATIC | CLASS_WEAK_EXTERNAL | CLASS_LABEL | CLASS_EXTERNAL
                );
                symbols.push(Symbol {
                    name,
                    value: if addressed {
                        virtual_address.wrapping_add(symbol.get("Value")?.u64()?)
                    } else {
                        0
                    },
                    global: class == CLASS_EXTERNAL || class == CLASS_WEAK_EXTERNAL,
                    function,
                });
            }
            let mut relocations = Vec::new();
            for reloc in section.list("Relocations")? {
                let reloc = reloc.get("Relocation")?;
                let site = self.site(name, &bytes, reloc.get("Offset")?.u64()?);
                let kind = self.kind(&site, reloc.get("Type")?.get("Name")?.str()?)?;
                let addend = site.addend(kind, 0)?;
                let symbol = reloc.get("Symbol")?.str()?;
                if symbol.is_empty() {
                    return Err(site.no_target());
                }
                relocations.push(Relocation {
                    offset: site.offset,
                    kind,
                    target: RelocTarget::Symbol(self.symbol_name(symbol)),
                    addend,
                });
            }
            out.push(Section {
                index: section.get("Number")?.usize()?,
                name: name.to_string(),
                kind,
                address: virtual_address,
                align: alignment(self.file, name, coff_alignment(characteristics))?,
                bytes,
                symbols,
                relocations,
            });
        }
        Ok(ObjectSections {
            target: self.target,
            sections: out,
        })
    }
}

/// A COFF section's alignment from its `IMAGE_SCN_ALIGN_*` bits (20-23: log2 + 1), with the
/// object crate's default of 16 where they are unset or out of range.
fn coff_alignment(characteristics: u64) -> u64 {
    match (characteristics >> 20) & 0xf {
        n @ 1..=14 => 1 << (n - 1),
        _ => 16,
    }
}
