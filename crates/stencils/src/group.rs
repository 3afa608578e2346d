//! Turns parsed objects into stencil groups exactly as CPython 3.14's `Tools/jit` does: section
//! concatenation per format, one hole per relocation, internal symbol resolution, GOT slots,
//! AArch64 trampolines, trailing-jump removal, padding, and ADRP+LDR pair folding.
//!
//! One object usually holds one template function (`_JIT_ENTRY`, CPython's way) and gives one
//! group named after the file stem. An object compiled with `-ffunction-sections` that defines
//! several global functions, each in its own code section, gives one group per global function,
//! named after it, holding its own section first, the code sections of the static helpers it
//! calls (transitively) and the data sections it references (transitively); a call to another
//! global function of the same object stays an external hole (`Zero` + symbol), since that
//! function is its own stencil. Mach-O has no function sections, but its objects are made of
//! atoms (`MH_SUBSECTIONS_VIA_SYMBOLS`: every reference between symbols is relocated), so its
//! code sections are split at their symbols and each group's atoms get fresh contiguous
//! addresses. Several global functions sharing an ELF/COFF code section (no
//! `-ffunction-sections`) cannot be split safely: with a `_JIT_ENTRY` among them the object is
//! one group as in CPython, otherwise it is an [`Error::Invalid`].
//!
//! In every group, AArch64 ADRP + LDR pairs loading one GOT slot are folded into a single
//! [`PatchKind::Aarch64Pair33rx`] hole at the ADRP (the LDR's hole is dropped; see
//! [`Stencil::holes`]). CPython 3.14.7's own `jit.c` has no relaxing AArch64 patch functions, so a
//! writer targeting it prints a folded hole as its two halves (`21r` + `12`); nothing is lost.
//!
//! Beyond CPython 3.14 (which would reject these objects): BSS sections become zero bytes,
//! `R_X86_64_PC32`/`R_X86_64_GOTPCREL`/`ARM64_RELOC_ADDEND`/COFF `ADDR64` relocations are
//! read, and COFF sections that are never loaded (`IMAGE_SCN_MEM_DISCARDABLE`, e.g.
//! `.debug$S`, which CPython 3.14 copies into the data) are skipped.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::error::Error;
use patchjit_vocab::{Arch, Format, PatchKind, RelocKind, Target};

use crate::hole::{Extraction, Hole, HoleValue, Stencil, StencilGroup};
use crate::limits::{check_stencil_bytes, MAX_DATA_ALIGN, MAX_MACHO_GAP};
use crate::object_file::read_object;
use crate::sections::{ObjectSections, RelocTarget, Relocation, Section, SectionKind};

/// Client choices that change how symbols become holes and how data is laid out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Client-defined hole values: a symbol `_JIT_<NAME>` with `NAME` listed here becomes a hole
    /// with value [`HoleValue::Custom`]`(NAME)` instead of an external symbol.
    pub custom_values: Vec<String>,
    /// How a group's data sections are placed in its data stencil.
    pub data_layout: DataLayout,
}

/// How a group's data sections are placed in its data stencil.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataLayout {
    /// Every data section at a multiple of its alignment, and the group's
    /// [`StencilGroup::data_align`] the largest of them (at least 8): code may load its
    /// constants with instructions that need them aligned (clang's SSE masks in
    /// `.rodata.cst16`, AArch64's scaled 128-bit loads).
    #[default]
    Aligned,
    /// CPython 3.14's `Tools/jit`: sections back to back (Mach-O: from the end of the code)
    /// and `data_align` 8, so that `jit_stencils.h` comes out byte-identical to CPython's.
    Cpython,
}

/// Extracts the groups of already-parsed objects, all named `file` (errors, and the group name
/// of one-function objects: its stem). Trampoline ordinals are shared across all objects, in
/// order. To give each object its own name, use [`extract_files`].
pub fn extract(
    file: &str,
    objects: &[ObjectSections],
    options: &Options,
) -> Result<Extraction, Error> {
    let named: Vec<(&str, &ObjectSections)> = objects.iter().map(|o| (file, o)).collect();
    extract_files(&named, options)
}

/// Extracts the groups of several parsed objects, each with its file name, in order, sharing
/// one trampoline table (CPython's `known_symbols`).
pub fn extract_files(
    objects: &[(&str, &ObjectSections)],
    options: &Options,
) -> Result<Extraction, Error> {
    let mut extraction = Extraction::default();
    let mut known = HashMap::new();
    let mut names: HashSet<String> = HashSet::new();
    for &(file, object) in objects {
        if let Some(&(first, other)) = objects.first().filter(|(_, o)| o.target != object.target) {
            return Err(invalid(
                file,
                None,
                format!(
                    "object is for {}, but {first} is for {}: one extraction serves one target",
                    object.target, other.target
                ),
            ));
        }
        // Stencil bytes the object's earlier groups produced (see `MAX_STENCIL_BYTES`).
        let mut produced = 0;
        for plan in plan(file, object)? {
            if !names.insert(plan.name.clone()) {
                return Err(invalid(
                    file,
                    Some(&plan.name),
                    "a stencil group of this name was already extracted (group names must be \
                     unique: file stems, or function names in multi-function objects)"
                        .to_string(),
                ));
            }
            let group = Builder::new(file, object.target, options, &plan.name, produced).build(
                &plan,
                &mut known,
                &mut extraction,
            )?;
            produced += (group.code.body.len() + group.data.body.len()) as u64;
            extraction.groups.push(group);
        }
    }
    Ok(extraction)
}

/// Reads object files (`(file name, bytes)`) and extracts their groups in one go. With
/// `target: None` each object's target is detected from its header.
pub fn extract_objects(
    objects: &[(&str, &[u8])],
    target: Option<Target>,
    options: &Options,
) -> Result<Extraction, Error> {
    let parsed = objects
        .iter()
        .map(|&(file, bytes)| read_object(file, bytes, target))
        .collect::<Result<Vec<_>, _>>()?;
    let named: Vec<(&str, &ObjectSections)> = objects.iter().map(|o| o.0).zip(&parsed).collect();
    extract_files(&named, options)
}

/// The sections of one group and the function that must start its code. Sections are borrowed
/// from the object, or owned when Mach-O code was split into per-function atoms.
struct Plan<'a> {
    name: String,
    sections: Vec<Cow<'a, Section>>,
    entry: String,
}

/// `dir/foo.o` → `foo`.
fn stem(file: &str) -> &str {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match base.rfind('.') {
        Some(dot) if dot > 0 => &base[..dot],
        _ => base,
    }
}

fn invalid(file: &str, group: Option<&str>, message: String) -> Error {
    Error::Invalid {
        file: file.to_string(),
        group: group.map(str::to_string),
        message,
    }
}

/// The global functions of an object's code sections: (section position, name).
fn global_functions(object: &ObjectSections) -> Vec<(usize, &str)> {
    object
        .sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == SectionKind::Code)
        .flat_map(|(i, s)| {
            s.symbols
                .iter()
                .filter(|y| y.global && y.function)
                .map(move |y| (i, y.name.as_str()))
        })
        .collect()
}

/// Decides the groups of one object (see the module docs).
fn plan<'a>(file: &str, object: &'a ObjectSections) -> Result<Vec<Plan<'a>>, Error> {
    let functions = global_functions(object);
    let defines_entry = object
        .sections
        .iter()
        .any(|s| s.symbols.iter().any(|y| y.name == "_JIT_ENTRY"));
    let global_sections: BTreeSet<usize> = functions.iter().map(|&(s, _)| s).collect();
    let splittable = functions.len() > 1 && global_sections.len() == functions.len();
    if functions.len() > 1
        && !splittable
        && !defines_entry
        && object.target.format() == Format::MachO
    {
        // Mach-O has no function sections, but its objects are laid out in atoms (one per
        // symbol, `MH_SUBSECTIONS_VIA_SYMBOLS`) with every cross-atom reference relocated.
        let atoms = macho_atoms(file, object)?;
        let functions = global_functions(&atoms);
        let groups = split(&atoms, &functions);
        // Relayout copies each group's sections: refuse what the groups would exceed first.
        let mut total = 0;
        for (name, positions) in &groups {
            for section in positions.iter().map(|&i| &atoms.sections[i]) {
                total += section.bytes.len() as u64;
                check_stencil_bytes(file, name, &section.name, total)?;
            }
        }
        return Ok(groups
            .into_iter()
            .map(|(name, positions)| Plan {
                sections: macho_relayout(&atoms, &positions, object.target),
                entry: name.clone(),
                name,
            })
            .collect());
    }
    if !splittable {
        // CPython's way: the whole object is one group, entered at `_JIT_ENTRY` (or at its only
        // global function).
        let entry = match functions.as_slice() {
            _ if defines_entry => "_JIT_ENTRY",
            [(_, name)] => name,
            [] => {
                return Err(invalid(
                    file,
                    None,
                    "defines no global function (no _JIT_ENTRY)".into(),
                ))
            }
            [(_, first), (_, second), ..] => {
                return Err(invalid(
                    file,
                    None,
                    format!(
                        "global functions {first} and {second} share a code section and none is \
                         _JIT_ENTRY: compile with -ffunction-sections to get one stencil each"
                    ),
                ))
            }
        };
        return Ok(vec![Plan {
            name: stem(file).to_string(),
            sections: object.sections.iter().map(Cow::Borrowed).collect(),
            entry: entry.to_string(),
        }]);
    }
    Ok(split(object, &functions)
        .into_iter()
        .map(|(name, positions)| Plan {
            sections: positions
                .iter()
                .map(|&i| Cow::Borrowed(&object.sections[i]))
                .collect(),
            entry: name.clone(),
            name,
        })
        .collect())
}

/// One group per global function (each in its own section): the name and the positions of its
/// sections, its own first, then (in object order) everything it references transitively
/// except other global functions' sections.
fn split(object: &ObjectSections, functions: &[(usize, &str)]) -> Vec<(String, Vec<usize>)> {
    let defined_in = definitions(object);
    let global_sections: BTreeSet<usize> = functions.iter().map(|&(s, _)| s).collect();
    functions
        .iter()
        .map(|&(own, name)| {
            let mut included = BTreeSet::from([own]);
            let mut work = vec![own];
            while let Some(i) = work.pop() {
                for reloc in &object.sections[i].relocations {
                    let target = match &reloc.target {
                        RelocTarget::Section(index) => {
                            object.sections.iter().position(|s| s.index == *index)
                        }
                        RelocTarget::Symbol(symbol) => {
                            let symbol = symbol.strip_prefix("__imp_").unwrap_or(symbol);
                            defined_in.get(symbol).copied()
                        }
                    };
                    if let Some(t) = target {
                        if !global_sections.contains(&t) && included.insert(t) {
                            work.push(t);
                        }
                    }
                }
            }
            let mut positions = vec![own];
            positions.extend(included.iter().filter(|&&i| i != own));
            (name.to_string(), positions)
        })
        .collect()
}

/// Splits every Mach-O code section at its symbols into atoms (each keeps the section's index
/// and name, its address, its symbols and its relocations, rebased to the atom). A relocation
/// addressing a split section by index (not by symbol) could not be followed: refused.
fn macho_atoms(file: &str, object: &ObjectSections) -> Result<ObjectSections, Error> {
    let mut sections = Vec::new();
    for section in &object.sections {
        // Atoms and relayout move symbols with their sections: a section past the end of the
        // address space, or a symbol outside its section (corrupt addresses), cannot be moved.
        let place = || {
            format!(
                "section {} ({:#x} bytes at {:#x})",
                section.name,
                section.bytes.len(),
                section.address
            )
        };
        let end = section
            .address
            .checked_add(section.bytes.len() as u64)
            .ok_or_else(|| {
                let message = format!("{} runs past the end of the address space", place());
                invalid(file, None, message)
            })?;
        if let Some(symbol) = section
            .symbols
            .iter()
            .find(|y| !(section.address..=end).contains(&y.value))
        {
            let message = format!(
                "symbol {} at {:#x} lies outside {}",
                symbol.name,
                symbol.value,
                place()
            );
            return Err(invalid(file, None, message));
        }
        if section.kind != SectionKind::Code {
            sections.push(section.clone());
            continue;
        }
        let mut bounds: Vec<u64> = section
            .symbols
            .iter()
            .map(|y| y.value)
            .filter(|&v| v > section.address && v < end)
            .collect();
        bounds.extend([section.address, end]);
        bounds.sort_unstable();
        bounds.dedup();
        if bounds.len() > 2 {
            let split_by_index = object.sections.iter().flat_map(|s| &s.relocations).find(
                |r| matches!(r.target, RelocTarget::Section(index) if index == section.index),
            );
            if let Some(reloc) = split_by_index {
                return Err(invalid(
                    file,
                    None,
                    format!(
                        "a {} relocation refers to section {} by address, so its functions \
                         cannot be split into stencils",
                        reloc.kind, section.name
                    ),
                ));
            }
        }
        for pair in bounds.windows(2) {
            let (from, to) = (pair[0] - section.address, pair[1] - section.address);
            let mut relocations = Vec::new();
            for reloc in section
                .relocations
                .iter()
                .filter(|r| (from..to).contains(&r.offset))
            {
                if reloc.offset + u64::from(reloc.kind.patch_kind().width()) > to {
                    return Err(invalid(
                        file,
                        None,
                        format!(
                            "section {} offset {:#x}: relocation crosses a symbol boundary",
                            section.name, reloc.offset
                        ),
                    ));
                }
                relocations.push(Relocation {
                    offset: reloc.offset - from,
                    ..reloc.clone()
                });
            }
            sections.push(Section {
                index: section.index,
                name: section.name.clone(),
                kind: SectionKind::Code,
                address: pair[0],
                align: section.align,
                bytes: section.bytes[from as usize..to as usize].to_vec(),
                symbols: section
                    .symbols
                    .iter()
                    .filter(|y| (pair[0]..pair[1]).contains(&y.value))
                    .cloned()
                    .collect(),
                relocations,
            });
        }
    }
    Ok(ObjectSections {
        target: object.target,
        sections,
    })
}

/// Gives a Mach-O group's atoms fresh addresses: its code contiguous from 0 (own atom first,
/// instruction-aligned), then its data sections moved down as one block to follow the code
/// (by a multiple of their largest alignment),
/// symbols moved with their sections. Relative layout inside each section is unchanged.
fn macho_relayout<'a>(
    object: &ObjectSections,
    positions: &[usize],
    target: Target,
) -> Vec<Cow<'a, Section>> {
    let align: u64 = if target.arch() == Arch::Aarch64 { 4 } else { 1 };
    let moved = |section: &Section, address: u64| {
        let mut section = section.clone();
        for symbol in &mut section.symbols {
            symbol.value = symbol.value - section.address + address;
        }
        section.address = address;
        Cow::<Section>::Owned(section)
    };
    let (code_positions, data_positions): (Vec<usize>, Vec<usize>) = positions
        .iter()
        .partition(|&&i| object.sections[i].kind == SectionKind::Code);
    let code_then_data: Vec<usize> = code_positions
        .iter()
        .chain(&data_positions)
        .copied()
        .collect();
    let code = code_positions.iter().map(|&i| &object.sections[i]);
    let data: Vec<&Section> = data_positions
        .iter()
        .map(|&i| &object.sections[i])
        .collect();
    let mut out = Vec::with_capacity(positions.len());
    let mut cursor: u64 = 0;
    for section in code {
        cursor = cursor.next_multiple_of(align);
        out.push(moved(section, cursor));
        cursor += section.bytes.len() as u64;
    }
    // Moved by a multiple of the largest alignment, so that each keeps its own.
    let align = data.iter().map(|s| s.align).max().unwrap_or(1);
    let data_start = data.iter().map(|s| s.address).min().unwrap_or(cursor);
    let (from, to) = (
        data_start - data_start % align,
        cursor.next_multiple_of(align),
    );
    for section in data {
        out.push(moved(section, section.address - from + to));
    }
    // A non-extern `X86_64_RELOC_SIGNED` encodes its target's address relative to its own
    // place; both moved, so its displacement moves by the difference. A target section split
    // into atoms (several sections of one index) has no single shift and is left alone.
    let originals: Vec<&Section> = code_then_data
        .iter()
        .map(|&i| &object.sections[i])
        .collect();
    let shifts: Vec<(usize, i64)> = originals
        .iter()
        .zip(&out)
        .map(|(old, new)| (old.index, new.address.wrapping_sub(old.address) as i64))
        .collect();
    let shift_of = |index: usize| {
        let mut matching = shifts.iter().filter(|(i, _)| *i == index);
        match (matching.next(), matching.next()) {
            (Some(&(_, shift)), None) => Some(shift),
            _ => None,
        }
    };
    for (section, &(_, own)) in out.iter_mut().zip(&shifts) {
        let relocations = &mut section.to_mut().relocations;
        for reloc in relocations {
            if let (RelocKind::X86_64_RELOC_SIGNED, &RelocTarget::Section(index)) =
                (reloc.kind, &reloc.target)
            {
                if let Some(shift) = shift_of(index) {
                    reloc.addend = reloc.addend.wrapping_add(shift.wrapping_sub(own));
                }
            }
        }
    }
    out
}

/// Which section (position) defines each symbol name (first definition wins).
fn definitions(object: &ObjectSections) -> HashMap<&str, usize> {
    let mut map = HashMap::new();
    for (i, section) in object.sections.iter().enumerate() {
        map.entry(section.name.as_str()).or_insert(i);
        for symbol in &section.symbols {
            map.entry(symbol.name.as_str()).or_insert(i);
        }
    }
    map
}

/// Where a name resolves within a group: which stencil, and the offset in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Base {
    Code,
    Data,
}

impl Base {
    fn value(self) -> HoleValue {
        match self {
            Base::Code => HoleValue::Code,
            Base::Data => HoleValue::Data,
        }
    }
}

impl From<SectionKind> for Base {
    fn from(kind: SectionKind) -> Base {
        match kind {
            SectionKind::Code => Base::Code,
            SectionKind::Data => Base::Data,
        }
    }
}

/// A hole while its group is built: `got` marks a reference to the GOT slot of `hole.symbol`
/// (its value still `Zero`), resolved to a `Data` offset once the slots are laid out.
struct Pending {
    hole: Hole,
    got: bool,
}

/// A stencil while its group is built.
#[derive(Default)]
struct Part {
    body: Vec<u8>,
    holes: Vec<Pending>,
}

/// Builds one group (CPython's `StencilGroup` plus its `process_relocations`).
struct Builder<'a> {
    file: &'a str,
    target: Target,
    options: &'a Options,
    name: &'a str,
    code: Part,
    data: Part,
    /// What the data stencil's start must be aligned to (see [`DataLayout`]).
    data_align: u64,
    /// [`DataLayout::Aligned`]: the largest alignment of the group's data sections (1 with
    /// none), which each data offset keeps.
    sections_align: u64,
    /// Mach-O: the object address that data offset 0 stands for: set before any section is
    /// added ([`DataLayout::Aligned`]) or by the first data section (the end of the code).
    macho_data_origin: Option<u64>,
    /// Each section's kind, for section-relative relocations.
    section_kinds: HashMap<usize, SectionKind>,
    /// Names (and Mach-O section names) defined in the group.
    table: HashMap<String, (Base, u64)>,
    /// The name a section-relative relocation (by section index) is resolved by, as CPython
    /// resolves it (ELF/COFF: the section name; Mach-O: the name with one `_` removed).
    section_names: HashMap<usize, String>,
    /// Stencil bytes of the object's groups built before this one.
    earlier: u64,
}

impl<'a> Builder<'a> {
    fn new(
        file: &'a str,
        target: Target,
        options: &'a Options,
        name: &'a str,
        earlier: u64,
    ) -> Builder<'a> {
        Builder {
            earlier,
            file,
            target,
            options,
            name,
            code: Part::default(),
            data: Part::default(),
            data_align: 8,
            sections_align: 1,
            macho_data_origin: None,
            section_kinds: HashMap::new(),
            table: HashMap::new(),
            section_names: HashMap::new(),
        }
    }

    fn invalid(&self, message: String) -> Error {
        invalid(self.file, Some(self.name), message)
    }

    /// Refuses the group once the object's stencils would exceed [`MAX_STENCIL_BYTES`]; checked
    /// after each section is added, so the error names the section that crossed the limit.
    fn check_size(&self, section: &str) -> Result<(), Error> {
        let total = self.earlier + (self.code.body.len() + self.data.body.len()) as u64;
        check_stencil_bytes(self.file, self.name, section, total)
    }

    fn body(&mut self, base: Base) -> &mut Part {
        match base {
            Base::Code => &mut self.code,
            Base::Data => &mut self.data,
        }
    }

    fn build(
        mut self,
        plan: &Plan<'_>,
        known: &mut HashMap<String, u32>,
        extraction: &mut Extraction,
    ) -> Result<StencilGroup, Error> {
        for section in &plan.sections {
            let name = match self.target.format() {
                Format::MachO => macho_section_name(&section.name),
                Format::Elf | Format::Coff => &section.name,
            };
            self.section_names.insert(section.index, name.to_string());
            self.section_kinds.insert(section.index, section.kind);
        }
        if self.options.data_layout == DataLayout::Aligned {
            for section in plan.sections.iter().filter(|s| s.kind == SectionKind::Data) {
                if section.align > MAX_DATA_ALIGN {
                    return Err(self.invalid(format!(
                        "data section {} needs {}-byte alignment, more than a page \
                         ({MAX_DATA_ALIGN} bytes) can guarantee",
                        section.name, section.align
                    )));
                }
                self.sections_align = self.sections_align.max(section.align);
            }
            self.data_align = self.sections_align.max(8);
            if self.target.format() == Format::MachO {
                self.macho_data_origin = plan
                    .sections
                    .iter()
                    .filter(|s| s.kind == SectionKind::Data)
                    .map(|s| s.address - s.address % self.sections_align)
                    .min();
            }
        }
        for section in &plan.sections {
            match self.target.format() {
                Format::Elf => self.add_elf(section)?,
                Format::Coff => self.add_coff(section)?,
                Format::MachO => self.add_macho(section)?,
            }
            self.check_size(&section.name)?;
        }
        match self.table.get(&plan.entry) {
            Some(&(Base::Code, 0)) => {}
            other => {
                return Err(self.invalid(format!(
                    "{} must start the code (offset 0), but resolves to {other:?}",
                    plan.entry
                )))
            }
        }
        let trampolines = self.trampolines(known, extraction);
        self.remove_continue_jump();
        self.pad_code()?;
        let data_section_len = self.data.body.len();
        let padding = (8 - data_section_len % 8) % 8;
        self.data.body.resize(data_section_len + padding, 0);
        let got_offset = self.data.body.len();
        let mut got: Vec<String> = Vec::new();
        let mut code = self.resolve(Base::Code, got_offset, &mut got)?;
        let mut data = self.resolve(Base::Data, got_offset, &mut got)?;
        for (slot, symbol) in got.iter().enumerate() {
            let (value, symbol, addend) = match self.table.get(symbol) {
                Some(&(base, offset)) => (base.value(), None, offset as i64),
                None => {
                    let (value, symbol) = self.symbol_to_value(symbol)?;
                    (value, symbol, 0)
                }
            };
            data.holes.push(Hole {
                offset: (got_offset + 8 * slot) as u64,
                kind: RelocKind::R_X86_64_64,
                value,
                symbol,
                addend,
                patch: PatchKind::Abs64,
            });
            data.body.extend_from_slice(&[0; 8]);
        }
        code.holes.sort_by_key(|h| h.offset);
        data.holes.sort_by_key(|h| h.offset);
        fold_pairs(&mut code);
        fold_pairs(&mut data);
        Ok(StencilGroup {
            name: plan.name.clone(),
            code,
            data,
            data_section_len,
            got_offset,
            data_align: self.data_align,
            trampolines,
        })
    }

    /// [`DataLayout::Aligned`]: zeros up to `section`'s alignment before a data section.
    fn align_data(&mut self, section: &Section) {
        if section.kind == SectionKind::Data && self.options.data_layout == DataLayout::Aligned {
            let body = &mut self.data.body;
            body.resize(body.len().next_multiple_of(section.align as usize), 0);
        }
    }

    /// ELF: sections in order (data sections aligned, see [`DataLayout`]); later symbol
    /// definitions overwrite earlier ones.
    fn add_elf(&mut self, section: &Section) -> Result<(), Error> {
        self.align_data(section);
        let base = Base::from(section.kind);
        let start = self.body(base).body.len() as u64;
        self.table
            .entry(section.name.clone())
            .or_insert((base, start));
        for symbol in &section.symbols {
            self.table.insert(
                symbol.name.clone(),
                (base, start.wrapping_add(symbol.value)),
            );
        }
        self.body(base).body.extend_from_slice(&section.bytes);
        self.add_holes(section, base, start)
    }

    /// COFF: sections in order (data sections aligned, see [`DataLayout`]); the first
    /// definition of a name wins.
    fn add_coff(&mut self, section: &Section) -> Result<(), Error> {
        self.align_data(section);
        let base = Base::from(section.kind);
        let start = self.body(base).body.len() as u64;
        self.body(base).body.extend_from_slice(&section.bytes);
        for symbol in &section.symbols {
            self.table
                .entry(symbol.name.clone())
                .or_insert((base, start.wrapping_add(symbol.value)));
        }
        self.table
            .entry(section.name.clone())
            .or_insert((base, start));
        self.add_holes(section, base, start)
    }

    /// Mach-O: one address space, code first; gaps are zero-filled. Data offset 0 stands for
    /// the end of the code ([`DataLayout::Cpython`]) or for the lowest data section's address
    /// rounded down to the largest data section alignment ([`DataLayout::Aligned`]: every
    /// section keeps the alignment its address has). A section's own name (one `_` removed)
    /// resolves to `(CODE, address)` for code but to the object address twice the code length
    /// for data (`(DATA, code length)` in CPython 3.14.7's layout). CPython's layout keeps that
    /// for identical output, although it misplaces non-extern `X86_64_RELOC_SIGNED` references
    /// into data (x86-64 string literals and SSE constants: the stored displacement already
    /// encodes the target address, so adding the code length overshoots); the aligned layout
    /// resolves those by the address they encode ([`Builder::pc_relative_section_target`]).
    fn add_macho(&mut self, section: &Section) -> Result<(), Error> {
        let code_len = self.code.body.len() as u64;
        let base = Base::from(section.kind);
        let (start, filled) = match base {
            Base::Code => (0, code_len),
            Base::Data => {
                let origin = *self.macho_data_origin.get_or_insert(code_len);
                (origin, code_len.max(origin + self.data.body.len() as u64))
            }
        };
        let code_after_data = base == Base::Code && !self.data.body.is_empty();
        if section.address < filled || code_after_data {
            return Err(self.invalid(format!(
                "Mach-O section {} at {:#x} overlaps earlier sections (ending at {filled:#x}); \
                 code sections must come first",
                section.name, section.address
            )));
        }
        let named = match base {
            Base::Code => (Base::Code, section.address),
            Base::Data => (Base::Data, (2 * code_len).wrapping_sub(start)),
        };
        self.table
            .insert(macho_section_name(&section.name).to_string(), named);
        let body_end = start + self.body(base).body.len() as u64;
        let gap = section.address - body_end;
        if gap > MAX_MACHO_GAP {
            return Err(self.invalid(format!(
                "Mach-O section {} at {:#x} leaves a gap of {gap:#x} bytes after the previous one",
                section.name, section.address
            )));
        }
        let gap = gap as usize;
        let body = &mut self.body(base).body;
        body.resize(body.len() + gap, 0);
        body.extend_from_slice(&section.bytes);
        for symbol in &section.symbols {
            let offset = symbol.value.checked_sub(start).ok_or_else(|| {
                self.invalid(format!(
                    "symbol {} lies before its stencil's start",
                    symbol.name
                ))
            })?;
            self.table.insert(symbol.name.clone(), (base, offset));
        }
        let offset = section.address - start;
        self.add_holes(section, base, offset)
    }

    /// One hole per relocation, value and symbol from its target (not yet resolved).
    fn add_holes(&mut self, section: &Section, base: Base, start: u64) -> Result<(), Error> {
        for reloc in &section.relocations {
            // Readers check this too; models built elsewhere must not yield holes past the body.
            if reloc
                .offset
                .checked_add(reloc.kind.patch_kind().width().into())
                .is_none_or(|end| end > section.bytes.len() as u64)
            {
                return Err(self.invalid(format!(
                    "section {} offset {:#x}: {} relocation runs past the section end ({:#x} bytes)",
                    section.name,
                    reloc.offset,
                    reloc.kind,
                    section.bytes.len()
                )));
            }
            let name = match &reloc.target {
                RelocTarget::Symbol(name) => name.as_str(),
                RelocTarget::Section(index) => match self.section_names.get(index) {
                    Some(name) => name.as_str(),
                    None => {
                        return Err(self.invalid(format!(
                            "section {} offset {:#x}: relocation refers to section #{index}, which \
                             is not part of this stencil",
                            section.name, reloc.offset
                        )))
                    }
                },
            };
            let coff_import = match self.target.format() {
                Format::Coff => name.strip_prefix("__imp_"),
                _ => None,
            };
            if let Some(hole) = self.pc_relative_section_target(section, reloc, start)? {
                self.body(base).holes.push(Pending { hole, got: false });
                continue;
            }
            let (got, (value, symbol)) = match coff_import {
                Some(imported) => (true, (HoleValue::Zero, Some(imported.to_string()))),
                None if reloc.kind.is_got() && matches!(reloc.target, RelocTarget::Symbol(_)) => {
                    (true, (HoleValue::Zero, Some(name.to_string())))
                }
                None => (false, self.symbol_to_value(name)?),
            };
            if reloc.kind.narrow_only() && value.narrow().is_none() {
                return Err(Error::UnsupportedRelocation {
                    file: self.file.to_string(),
                    section: section.name.clone(),
                    offset: reloc.offset,
                    kind: format!(
                        "{} to {name} (an absolute field of at most 32 bits, for narrow values only)",
                        reloc.kind
                    ),
                });
            }
            let hole = Hole {
                offset: start + reloc.offset,
                kind: reloc.kind,
                value,
                symbol,
                addend: reloc.addend,
                patch: reloc.kind.patch_kind(),
            };
            self.body(base).holes.push(Pending { hole, got });
        }
        Ok(())
    }

    /// [`DataLayout::Aligned`], x86-64 Mach-O: a non-extern `X86_64_RELOC_SIGNED` (a rel32 to a
    /// section, which clang uses for literals) encodes its target's object address in the
    /// displacement (`address + 4 + stored`, the addend being `stored - 4`); the hole is that
    /// place in its stencil, minus 4 as for any rel32. `None` for every other relocation.
    fn pc_relative_section_target(
        &self,
        section: &Section,
        reloc: &Relocation,
        start: u64,
    ) -> Result<Option<Hole>, Error> {
        let RelocTarget::Section(index) = reloc.target else {
            return Ok(None);
        };
        if self.options.data_layout != DataLayout::Aligned
            || self.target != Target::X86_64AppleDarwin
            || reloc.kind != RelocKind::X86_64_RELOC_SIGNED
        {
            return Ok(None);
        }
        let target = (section.address + reloc.offset)
            .wrapping_add(8)
            .wrapping_add_signed(reloc.addend);
        let place = self.section_kinds.get(&index).and_then(|&kind| {
            let base = Base::from(kind);
            let origin = match base {
                Base::Code => 0,
                Base::Data => self.macho_data_origin?,
            };
            Some((base, target.checked_sub(origin)?))
        });
        let Some((base, offset)) = place else {
            return Err(self.invalid(format!(
                "section {} offset {:#x}: X86_64_RELOC_SIGNED to section #{index} encodes \
                 address {target:#x}, before its stencil",
                section.name, reloc.offset
            )));
        };
        Ok(Some(Hole {
            offset: start + reloc.offset,
            kind: reloc.kind,
            value: base.value(),
            symbol: None,
            addend: offset as i64 - 4,
            patch: reloc.kind.patch_kind(),
        }))
    }

    /// `_JIT_<NAME>` → that value; anything else → (`Zero`, name).
    fn symbol_to_value(&self, name: &str) -> Result<(HoleValue, Option<String>), Error> {
        if let Some(rest) = name.strip_prefix("_JIT_") {
            if let Some(value) = HoleValue::from_builtin_name(rest) {
                return Ok((value, None));
            }
            if let Some(index) = self.options.custom_values.iter().position(|c| c == rest) {
                // Run-time tables number custom values with a u16.
                if index > usize::from(u16::MAX) {
                    return Err(self.invalid(format!(
                        "custom value {rest} is declared as number {index}; at most {} custom \
                         values are supported",
                        usize::from(u16::MAX) + 1
                    )));
                }
                return Ok((HoleValue::Custom(rest.to_string()), None));
            }
        }
        Ok((HoleValue::Zero, Some(name.to_string())))
    }

    /// Post-processing starts here, in CPython's order: AArch64 branches to external symbols
    /// may need a trampoline.
    fn trampolines(
        &mut self,
        known: &mut HashMap<String, u32>,
        extraction: &mut Extraction,
    ) -> Vec<u32> {
        let mut ordinals = BTreeSet::new();
        for Pending { hole, got } in &mut self.code.holes {
            let qualifies = matches!(
                hole.kind,
                RelocKind::R_AARCH64_CALL26
                    | RelocKind::R_AARCH64_JUMP26
                    | RelocKind::ARM64_RELOC_BRANCH26
            ) && hole.value == HoleValue::Zero
                && !*got;
            let Some(symbol) = hole
                .symbol
                .as_ref()
                .filter(|s| qualifies && !self.table.contains_key(*s))
            else {
                continue;
            };
            let ordinal = *known.entry(symbol.clone()).or_insert_with(|| {
                extraction.trampoline_symbols.push(symbol.clone());
                (extraction.trampoline_symbols.len() - 1) as u32
            });
            ordinals.insert(ordinal);
            hole.patch = PatchKind::Aarch64Trampoline;
            hole.addend = i64::from(ordinal);
            hole.symbol = None;
        }
        ordinals.into_iter().collect()
    }

    /// After the trampolines: drop a trailing jump to the continuation (the next stencil
    /// follows).
    fn remove_continue_jump(&mut self) {
        let Some(last) = self
            .code
            .holes
            .iter()
            .enumerate()
            .rev()
            .max_by_key(|(_, p)| p.hole.offset)
            .map(|(i, _)| i)
        else {
            return;
        };
        // `max_by_key` returns the last maximum; with `rev()` that is the first in list order.
        let Pending { hole, got } = &self.code.holes[last];
        let expected: (u64, &[u8]) = match (
            hole.kind,
            *got,
            &hole.value,
            hole.symbol.as_deref(),
            hole.addend,
        ) {
            (
                RelocKind::IMAGE_REL_AMD64_REL32,
                true,
                HoleValue::Zero,
                Some("_JIT_CONTINUE"),
                -4,
            ) => (3, &[0x48, 0xff, 0x25, 0, 0, 0, 0]),
            (
                RelocKind::IMAGE_REL_I386_REL32
                | RelocKind::R_X86_64_PLT32
                | RelocKind::X86_64_RELOC_BRANCH,
                false,
                HoleValue::Continue,
                None,
                -4,
            ) => (1, &[0xe9, 0, 0, 0, 0]),
            (RelocKind::R_AARCH64_JUMP26, false, HoleValue::Continue, None, 0) => {
                (0, &[0, 0, 0, 0x14])
            }
            _ => return,
        };
        let Some(start) = hole.offset.checked_sub(expected.0) else {
            return;
        };
        let start = start as usize;
        if self.code.body.get(start..) == Some(expected.1) {
            self.code.body.truncate(start);
            self.code.holes.remove(last);
        }
    }

    /// After the jump is gone: NOPs up to the code alignment (the data is zero-padded to 8 next).
    fn pad_code(&mut self) -> Result<(), Error> {
        let align = self.target.code_alignment();
        let nop = self.target.nop();
        let gap = (align - self.code.body.len() % align) % align;
        if !gap.is_multiple_of(nop.len()) {
            return Err(self.invalid(format!(
                "code length {:#x} cannot be padded to {align} bytes with {}-byte NOPs",
                self.code.body.len(),
                nop.len()
            )));
        }
        for _ in 0..gap / nop.len() {
            self.code.body.extend_from_slice(nop);
        }
        Ok(())
    }

    /// After padding: GOT references become data-relative slots; names defined in the group become
    /// code/data offsets.
    fn resolve(
        &mut self,
        which: Base,
        got_offset: usize,
        got: &mut Vec<String>,
    ) -> Result<Stencil, Error> {
        let part = std::mem::take(self.body(which));
        let table = &self.table;
        let mut holes = Vec::with_capacity(part.holes.len());
        for Pending {
            mut hole,
            got: via_got,
        } in part.holes
        {
            if via_got {
                let symbol = hole.symbol.take().unwrap_or_default();
                let slot = match got.iter().position(|s| *s == symbol) {
                    Some(slot) => slot,
                    None => {
                        got.push(symbol);
                        got.len() - 1
                    }
                };
                hole.value = HoleValue::Data;
                hole.addend = hole.addend.wrapping_add((got_offset + 8 * slot) as i64);
            } else if let Some(&(base, offset)) = hole.symbol.as_ref().and_then(|s| table.get(s)) {
                hole.value = base.value();
                hole.addend = hole.addend.wrapping_add(offset as i64);
                hole.symbol = None;
            } else if hole.kind == RelocKind::IMAGE_REL_AMD64_REL32 && hole.value == HoleValue::Zero
            {
                let symbol = hole.symbol.clone().unwrap_or_default();
                return Err(invalid(
                    self.file,
                    Some(self.name),
                    format!(
                        "code offset {:#x}: {symbol} is not imported; declare it \
                         __declspec(dllimport) (CPython: PyAPI_FUNC/PyAPI_DATA)",
                        hole.offset
                    ),
                ));
            }
            holes.push(hole);
        }
        Ok(Stencil {
            body: part.body,
            holes,
        })
    }
}

/// CPython's name for a Mach-O section in its symbol table: `__text` → `_text`.
fn macho_section_name(name: &str) -> &str {
    name.strip_prefix('_').unwrap_or(name)
}

/// Last, after the holes are sorted (CPython does it while writing): an ADRP (`Page21rx`)
/// directly followed by its LDR (`Lo12x`) of the same GOT slot, with Rd(ADRP) = Rt(LDR) =
/// Rn(LDR), becomes one `Aarch64Pair33rx` hole at the ADRP; the LDR's hole is dropped (the patch
/// function rewrites both instructions).
fn fold_pairs(stencil: &mut Stencil) {
    let word = |offset: u64| -> Option<u32> {
        let start = usize::try_from(offset).ok()?;
        let bytes = stencil.body.get(start..start.checked_add(4)?)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    };
    let mut folded = Vec::with_capacity(stencil.holes.len());
    let mut holes = stencil.holes.drain(..).peekable();
    while let Some(mut hole) = holes.next() {
        if let Some(next) = holes.peek() {
            let pair = hole.patch == PatchKind::Aarch64Page21rx
                && next.patch == PatchKind::Aarch64Lo12x
                && next.offset == hole.offset + 4
                && next.value == hole.value
                && next.symbol == hole.symbol
                && next.addend == hole.addend;
            let registers = match (word(hole.offset), word(next.offset)) {
                (Some(adrp), Some(ldr)) => {
                    adrp & 0x1f == ldr & 0x1f && adrp & 0x1f == (ldr >> 5) & 0x1f
                }
                _ => false,
            };
            if pair && registers {
                hole.patch = PatchKind::Aarch64Pair33rx;
                holes.next();
            }
        }
        folded.push(hole);
    }
    drop(holes);
    stencil.holes = folded;
}
