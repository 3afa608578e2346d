//! Test support: compile the C templates in `tests/templates` with clang 19, extract them with
//! `patchjit-stencils`, and turn the owned extraction into a runtime [`StencilTable`] by leaking
//! it (tests only; generated tables are `static`).

#![allow(dead_code)]

pub mod aarch64;
pub mod x86;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use patchjit::{
    Destination, Emitter, Hole, HoleValue, Instruction, PatchKind, Stencil, StencilGroup,
    StencilTable,
};
use patchjit_stencils as stencils;
use stencils::{Extraction, Target};

pub fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates")
}

fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runtime-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!(
        "{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Compiles `tests/templates/<name>.c` for `target` with the template flags and `patchjit.h`
/// on the include path, calling through the PLT unless `extra` says `-fno-plt`; returns the
/// object file's bytes.
pub fn compile(target: Target, name: &str, extra: &[&str]) -> Vec<u8> {
    let source = templates().join(format!("{name}.c"));
    let header = Path::new(env!("CARGO_MANIFEST_DIR")).join("../builder/include");
    let include = format!("-I{}", header.display());
    patchjit_test_support::compile(target, &source, &[&["-fplt", &include], extra].concat()).bytes()
}

/// The default flags of the runtime tests: CPython's, plus `-fno-plt` (calls through the GOT).
pub fn compile_default(target: Target, name: &str) -> Vec<u8> {
    compile(target, name, &["-fno-plt"])
}

/// Extracts the named objects (`name.o`, one group per object) for `target`; `_JIT_SCALE` is a
/// client-defined hole value.
pub fn extract(target: Target, objects: &[(&str, Vec<u8>)]) -> Extraction {
    let named: Vec<(String, &[u8])> = objects
        .iter()
        .map(|(n, b)| (format!("{n}.o"), b.as_slice()))
        .collect();
    let refs: Vec<(&str, &[u8])> = named.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let options = stencils::Options {
        custom_values: vec!["SCALE".to_string()],
        ..Default::default()
    };
    stencils::extract_objects(&refs, Some(target), &options)
        .unwrap_or_else(|e| panic!("extraction failed: {e}"))
}

/// Compiles and extracts templates in one go.
pub fn build(target: Target, names: &[&str]) -> Extraction {
    let objects: Vec<(&str, Vec<u8>)> = names
        .iter()
        .map(|&n| (n, compile_default(target, n)))
        .collect();
    extract(target, &objects)
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Converts an extraction into a `'static` runtime table (leaking it).
pub fn leak_table(extraction: &Extraction, target: Target) -> &'static StencilTable {
    let mut symbols: Vec<String> = Vec::new();
    let mut customs: Vec<String> = Vec::new();
    fn intern(list: &mut Vec<String>, name: &str) -> u16 {
        match list.iter().position(|s| s == name) {
            Some(i) => i as u16,
            None => {
                list.push(name.to_string());
                (list.len() - 1) as u16
            }
        }
    }
    let mut convert = |stencil: &stencils::Stencil, symbols: &mut Vec<String>| -> Stencil {
        let holes: Vec<Hole> = stencil
            .holes
            .iter()
            .map(|h| {
                let value = h
                    .value
                    .clone()
                    .map_custom(|name| intern(&mut customs, &name));
                let patch = h.patch;
                let (symbol, addend) = if patch == PatchKind::Aarch64Trampoline {
                    let name = &extraction.trampoline_symbols[h.addend as usize];
                    (Some(intern(symbols, name)), 0)
                } else {
                    (h.symbol.as_deref().map(|s| intern(symbols, s)), h.addend)
                };
                Hole {
                    offset: h.offset as u32,
                    patch,
                    value,
                    symbol,
                    addend,
                }
            })
            .collect();
        let len = stencil.body.len();
        let trimmed = stencil
            .body
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        Stencil {
            len: len as u32,
            body: leak(stencil.body[..trimmed].to_vec()),
            holes: leak(holes),
        }
    };
    let groups: Vec<StencilGroup> = extraction
        .groups
        .iter()
        .map(|g| StencilGroup {
            name: leak_str(&g.name),
            data_align: g.data_align as u32,
            code: convert(&g.code, &mut symbols),
            data: convert(&g.data, &mut symbols),
        })
        .collect();
    let symbols: Vec<&'static str> = symbols.iter().map(|s| leak_str(s)).collect();
    let custom_values: Vec<&'static str> = customs.iter().map(|s| leak_str(s)).collect();
    Box::leak(Box::new(StencilTable {
        target: target.triple(),
        groups: leak(groups),
        symbols: leak(symbols),
        custom_values: leak(custom_values),
    }))
}

/// What an oracle test compares: group `name`'s object as compiled (for the linker), and its
/// extraction beside the `ret` terminator as a runtime table, with the group's GOT offset.
pub struct Compiled {
    pub object: Vec<u8>,
    pub table: &'static StencilTable,
    pub got_offset: usize,
}

/// Compiles `name` with `flags` and `ret`, and extracts both for `target`.
pub fn compile_with_ret(target: Target, name: &str, flags: &[&str]) -> Compiled {
    let object = compile(target, name, flags);
    let ret = compile(target, "ret", &[]);
    let extraction = extract(target, &[(name, object.clone()), ("ret", ret)]);
    let got_offset = extraction
        .groups
        .iter()
        .find(|g| g.name == name)
        .unwrap()
        .got_offset;
    Compiled {
        object,
        table: leak_table(&extraction, target),
        got_offset,
    }
}

/// What an oracle gives both sides: the instruction's fields (the emitter's) and the `_JIT_*`
/// symbols and `helper` (the linker's).
#[derive(Clone, Copy, Debug)]
pub struct Values {
    pub operand0: u64,
    pub operand1: u64,
    pub oparg: u64,
    pub helper: u64,
}

/// `operand0` and `helper`, with oparg `0x1234` and operand1 0.
pub fn values(operand0: u64, helper: u64) -> Values {
    Values {
        operand0,
        operand1: 0,
        oparg: 0x1234,
        helper,
    }
}

impl Values {
    /// The same value in every instruction field, for the narrow templates (each reads one).
    pub fn narrow(value: u64) -> Values {
        Values {
            operand0: value,
            operand1: value,
            oparg: value,
            helper: 0,
        }
    }

    /// The symbols a linker defines for the instruction's values: `_JIT_OPERAND0`,
    /// `_JIT_OPARG`, `helper`, and each narrow value whose field fits its type, at the address
    /// the emitter patches in for it (its zero-extended bit pattern).
    pub fn symbols(&self) -> Vec<(&'static str, u64)> {
        let mut symbols = vec![
            ("_JIT_OPERAND0", self.operand0),
            ("_JIT_OPARG", self.oparg),
            ("helper", self.helper),
        ];
        for (_, value, symbol, _) in NARROW_TEMPLATES {
            let field = match value {
                HoleValue::OpargU16 | HoleValue::OpargU32 => self.oparg,
                HoleValue::Operand0S32 | HoleValue::Operand0U32 => self.operand0,
                _ => self.operand1,
            };
            let declared = value.narrow().expect("a narrow value");
            if let Some(pattern) = declared.pattern(field) {
                symbols.push((symbol, pattern));
            }
        }
        symbols
    }
}

/// The narrow templates (`tests/templates/narrow_*.c`), the value each reads, its symbol, and
/// the extreme values of its type (as the instruction field gives them: signed ones
/// sign-extended).
#[rustfmt::skip]
pub const NARROW_TEMPLATES: [(&str, HoleValue, &str, [i64; 4]); 6] = [
    ("narrow_oparg_u16", HoleValue::OpargU16, "_JIT_OPARG_U16", [0, 1, 0x7FFF, 0xFFFF]),
    ("narrow_oparg_u32", HoleValue::OpargU32, "_JIT_OPARG_U32", [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF]),
    ("narrow_operand0_s32", HoleValue::Operand0S32, "_JIT_OPERAND0_S32",
     [0, -1, i32::MIN as i64, i32::MAX as i64]),
    ("narrow_operand0_u32", HoleValue::Operand0U32, "_JIT_OPERAND0_U32",
     [0, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF]),
    ("narrow_operand1_s16", HoleValue::Operand1S16, "_JIT_OPERAND1_S16",
     [0, -1, i16::MIN as i64, i16::MAX as i64]),
    ("narrow_operand1_s32", HoleValue::Operand1S32, "_JIT_OPERAND1_S32",
     [0, -1, i32::MIN as i64, i32::MAX as i64]),
];

/// Emits group `name` alone (its jump and error targets itself, a `ret` terminator so its
/// continuation exists) as if at `base`, with `v`'s fields and `helper` resolved; data at
/// `data_offset`, or just past the code when `None`. Returns the image and the data offset.
pub fn emit_alone(
    table: &'static StencilTable,
    name: &str,
    v: Values,
    base: u64,
    data_offset: Option<usize>,
) -> (Vec<u8>, usize) {
    let mut e = Emitter::new(table, &[("helper", v.helper as usize)]).unwrap();
    let g = e.group(name).unwrap();
    e.push(Instruction {
        operand0: v.operand0,
        operand1: v.operand1,
        oparg: v.oparg,
        jump_target: Some(Destination::Instruction(0)),
        error_target: Some(Destination::Instruction(0)),
        ..Instruction::new(g)
    })
    .unwrap();
    e.set_terminator(e.group("ret").unwrap()).unwrap();
    let layout = e.layout().unwrap();
    let data = data_offset.unwrap_or((layout.code_len() as usize).next_multiple_of(16));
    let mut image = vec![0u8; data + layout.data_len() as usize];
    e.emit_into(&layout, &mut image, base, data).unwrap();
    (image, data)
}

/// The target of this machine, for the tests that run emitted code.
#[cfg(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_os = "linux"
))]
pub const NATIVE: Target = if cfg!(target_arch = "x86_64") {
    Target::X86_64UnknownLinuxGnu
} else {
    Target::Aarch64UnknownLinuxGnu
};

/// Runs one `name` instruction with these fields (and the client value `SCALE`, if the table
/// declares it) between the `zero_shim` entry and the `zero_ret` terminator of `table`, on
/// `*out = start`; returns `*out`.
pub fn run_native(
    table: &'static StencilTable,
    name: &str,
    (oparg, operand0, operand1, scale): (u64, u64, u64, u64),
    start: i64,
) -> i64 {
    let mut e = Emitter::new(table, &[]).unwrap();
    e.set_shim(e.group("zero_shim").unwrap()).unwrap();
    e.set_terminator(e.group("zero_ret").unwrap()).unwrap();
    let i = e
        .push(Instruction {
            oparg,
            operand0,
            operand1,
            ..Instruction::new(e.group(name).unwrap())
        })
        .unwrap();
    if let Some(id) = e.custom_value("SCALE") {
        e.set_custom(i, id, scale).unwrap();
    }
    let code = e.finish(&patchjit::Options::default()).unwrap();
    // SAFETY: zero_shim is `int64_t _JIT_ENTRY(int64_t *out)` with the C ABI.
    let f: extern "C" fn(*mut i64) -> i64 = unsafe { code.entry() };
    let mut out = start;
    f(&mut out)
}

/// The output of a link: the linked `.text`/`__text` and every allocated section.
pub struct Linked {
    pub text_address: u64,
    pub text: Vec<u8>,
    /// `(address, bytes)` of every allocated section, to read GOT slots and data.
    pub sections: Vec<(u64, Vec<u8>)>,
    /// `(name, address)` of the same sections.
    pub names: Vec<(String, u64)>,
    /// Pointer slots the dynamic loader fills (Mach-O binds), with the value it would store.
    pub bound: Vec<(u64, u64)>,
}

impl Linked {
    /// The little-endian word of `size` bytes (4 or 8) at `address`, as loaded.
    pub fn read(&self, address: u64, size: usize) -> u64 {
        if let Some(&(_, value)) = self.bound.iter().find(|&&(a, _)| a == address) {
            return value;
        }
        for (start, bytes) in &self.sections {
            if (*start..*start + bytes.len() as u64).contains(&address) {
                let at = (address - start) as usize;
                let mut word = [0u8; 8];
                word[..size].copy_from_slice(&bytes[at..at + size]);
                return u64::from_le_bytes(word);
            }
        }
        panic!("the linked image has nothing at {address:#x}");
    }

    pub fn read64(&self, address: u64) -> u64 {
        self.read(address, 8)
    }

    /// The address and bytes of the first section called `name`.
    pub fn section(&self, name: &str) -> Option<(u64, &[u8])> {
        let address = self.names.iter().find(|(n, _)| n == name)?.1;
        let bytes = &self.sections.iter().find(|(a, _)| *a == address)?.1;
        Some((address, bytes))
    }
}

/// Reads a linked image (ELF, Mach-O or PE) back: its text section (named `text`) and every
/// section with an address.
fn read_image(path: &Path, text: &str, bound: Vec<(u64, u64)>) -> Linked {
    use object::{Object, ObjectSection};
    let bytes = std::fs::read(path).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let text = file.section_by_name(text).unwrap();
    let allocated = || file.sections().filter(|s| s.address() != 0 && s.size() > 0);
    Linked {
        text_address: text.address(),
        text: text.data().unwrap().to_vec(),
        sections: allocated()
            .map(|s| (s.address(), s.data().unwrap().to_vec()))
            .collect(),
        names: allocated()
            .map(|s| (s.name().unwrap().to_string(), s.address()))
            .collect(),
        bound,
    }
}

/// Assembles `source` for `target` with clang; returns the object's bytes.
pub fn assemble(target: Target, name: &str, source: &str) -> Vec<u8> {
    let input = scratch(&format!("{name}.s"));
    let out = scratch(&format!("{name}.o"));
    std::fs::write(&input, source).unwrap();
    let status = Command::new(&patchjit_test_support::clang().path)
        .arg(format!("--target={}", target.triple()))
        .arg("-c")
        .arg("-o")
        .arg(&out)
        .arg(&input)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "clang could not assemble {name}.s:\n{source}"
    );
    std::fs::read(&out).unwrap()
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Assembler lines that define each C-level `symbol` as the absolute `value`.
fn absolute_symbols(target: Target, symbols: &[Symbol]) -> String {
    let prefix = target.symbol_prefix();
    symbols
        .iter()
        .map(|(s, v)| format!(".globl {prefix}{s}\n{prefix}{s} = {v:#x}\n"))
        .collect()
}

/// A symbol name and its value.
pub type Symbol<'a> = (&'a str, u64);
/// The symbols of a link, given the text section's address.
pub type Symbols = dyn Fn(u64) -> Vec<Symbol<'static>>;

/// Runs `link` twice: first with every symbol 0 to learn where the text section lands (its
/// address does not depend on symbol values), then with `symbols(text address)`.
fn link_at_text(out: &Path, text: &str, symbols: &Symbols, link: &dyn Fn(&[Symbol])) {
    let placeholders: Vec<Symbol> = symbols(0).iter().map(|&(s, _)| (s, 0)).collect();
    link(&placeholders);
    let text_address = read_image(out, text, Vec::new()).text_address;
    link(&symbols(text_address));
}

/// Links `object` into a macOS executable with `ld64.lld-19` (no chained fixups, optimization
/// hints ignored so ADRP pairs stay as compiled). `symbols(text address)` are defined at fixed
/// addresses; `imported` ones come from a dylib, so the code reaches them through GOT slots
/// that dyld binds; those slots read back as the given values.
pub fn link_macho(
    target: Target,
    name: &str,
    object: &[u8],
    symbols: &Symbols,
    imported: &[Symbol],
) -> Linked {
    let arch = match target {
        Target::X86_64AppleDarwin => "x86_64",
        Target::Aarch64AppleDarwin => "arm64",
        other => panic!("{other} is not a Mach-O target"),
    };
    let base_args = ["-arch", arch, "-platform_version", "macos", "11.0", "11.0"];
    let obj = scratch(&format!("{name}.o"));
    std::fs::write(&obj, object).unwrap();
    let dylib = scratch(&format!("{name}-imports.dylib"));
    if !imported.is_empty() {
        // Lazy binding (stubs) needs dyld's binder; the dylib stands in for libSystem too.
        let source: String = imported
            .iter()
            .map(|(s, _)| format!("_{s}"))
            .chain(["dyld_stub_binder".to_string()])
            .map(|s| format!(".globl {s}\n{s}:\n.quad 0\n"))
            .collect();
        let defs = scratch(&format!("{name}-imports.o"));
        std::fs::write(&defs, assemble(target, name, &format!(".data\n{source}"))).unwrap();
        run(
            Command::new("ld64.lld-19")
                .args(base_args)
                .args(["-dylib", "-install_name", "imports.dylib", "-o"])
                .arg(&dylib)
                .arg(&defs),
            "ld64.lld-19 -dylib",
        );
    }
    let out = scratch(&format!("{name}.macho"));
    let link = |values: &[Symbol]| {
        let defs = scratch(&format!("{name}-symbols.o"));
        std::fs::write(
            &defs,
            assemble(target, name, &absolute_symbols(target, values)),
        )
        .unwrap();
        let mut command = Command::new("ld64.lld-19");
        command
            .args(base_args)
            .args(["-e", "__JIT_ENTRY", "-pagezero_size", "0x4000"])
            .args(["-no_fixup_chains", "-ignore_optimization_hints"])
            // Constants in __TEXT go a page after the code, leaving room for the emitter's.
            .args(["-sectalign", "__TEXT", "__const", "0x1000", "-o"])
            .arg(&out)
            .arg(&obj)
            .arg(&defs);
        if !imported.is_empty() {
            command.arg(&dylib);
        }
        run(&mut command, "ld64.lld-19");
    };
    // The text address does not depend on symbol values: link once to learn it.
    link_at_text(&out, "__text", symbols, &link);
    let binds = Command::new("llvm-objdump-19")
        .args(["--macho", "--bind", "--lazy-bind"])
        .arg(&out)
        .output()
        .expect("llvm-objdump-19 must be installed");
    let mut bound = Vec::new();
    for line in String::from_utf8_lossy(&binds.stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // The symbol is the last field but a trailing `(weak_import)` (the header's values are weak).
        let symbol = fields.iter().rev().find(|f| !f.starts_with('('));
        let (Some(address), Some(symbol)) = (fields.get(2), symbol) else {
            continue;
        };
        let Ok(address) = u64::from_str_radix(address.trim_start_matches("0x"), 16) else {
            continue;
        };
        if *symbol == "dyld_stub_binder" {
            continue;
        }
        let value = imported
            .iter()
            .find(|(s, _)| symbol.strip_prefix('_') == Some(s))
            .unwrap_or_else(|| panic!("{name}: unexpected bind of {symbol}"))
            .1;
        bound.push((address, value));
    }
    read_image(&out, "__text", bound)
}

/// Links `object` into a Windows image with `lld-link-19` at image base `0x1000_0000`.
/// `symbols(text address)` are defined at fixed (32-bit) addresses; each `imported` symbol `X`
/// gets an `__imp_X` pointer slot in `.data` holding its value, which is what a DLL import
/// resolves to.
pub fn link_coff(
    target: Target,
    name: &str,
    object: &[u8],
    symbols: &Symbols,
    imported: &[Symbol],
) -> Linked {
    let (machine, word) = match target {
        Target::X86_64PcWindowsMsvc => ("x64", ".quad"),
        Target::Aarch64PcWindowsMsvc => ("arm64", ".quad"),
        Target::I686PcWindowsMsvc => ("x86", ".long"),
        other => panic!("{other} is not a COFF target"),
    };
    let prefix = target.symbol_prefix();
    let obj = scratch(&format!("{name}.o"));
    std::fs::write(&obj, object).unwrap();
    let out = scratch(&format!("{name}.exe"));
    let link = |values: &[Symbol]| {
        let slots: String = imported
            .iter()
            .map(|(s, v)| format!(".globl __imp_{prefix}{s}\n__imp_{prefix}{s}:\n{word} {v:#x}\n"))
            .collect();
        let source = format!("{}.data\n{slots}", absolute_symbols(target, values));
        let defs = scratch(&format!("{name}-symbols.o"));
        std::fs::write(&defs, assemble(target, name, &source)).unwrap();
        let mut command = Command::new("lld-link-19");
        command
            .args(["/nodefaultlib", "/base:0x10000000", "/subsystem:console"])
            .args(["/entry:_JIT_ENTRY", &format!("/machine:{machine}")]);
        match target {
            // ARM64 images are always relocatable; the image is still linked at the base.
            Target::Aarch64PcWindowsMsvc => {}
            Target::I686PcWindowsMsvc => {
                command.args(["/fixed", "/safeseh:no"]);
            }
            _ => {
                command.arg("/fixed");
            }
        }
        run(
            command
                .arg(format!("/out:{}", out.display()))
                .arg(&obj)
                .arg(&defs),
            "lld-link-19",
        );
    };
    link_at_text(&out, ".text", symbols, &link);
    read_image(&out, ".text", Vec::new())
}

/// Links one object with `ld.lld-19 --no-relax -static`: `.text` at `code`, its data sections at
/// `data`, `.got` at `got`, and `symbols` defined with `--defsym`.
pub fn link(
    name: &str,
    object: &[u8],
    code: u64,
    data: u64,
    got: u64,
    symbols: &[(&str, u64)],
) -> Linked {
    let obj = scratch(&format!("{name}.o"));
    let script = scratch(&format!("{name}.ld"));
    let out = scratch(&format!("{name}.elf"));
    std::fs::write(&obj, object).unwrap();
    std::fs::write(
        &script,
        format!(
            "SECTIONS {{\n  .text {code:#x} : {{ *(.text*) }}\n  \
             .data {data:#x} : {{ *(.rodata*) *(.lrodata*) *(.data*) *(.ldata*) }}\n  \
             .got {got:#x} : {{ *(.got) }}\n}}\n"
        ),
    )
    .unwrap();
    let mut command = Command::new("ld.lld-19");
    command
        .args(["--no-relax", "-static", "-e", "_JIT_ENTRY", "-T"])
        .arg(&script);
    for (symbol, value) in symbols {
        command.arg(format!("--defsym={symbol}={value:#x}"));
    }
    let status = command
        .arg("-o")
        .arg(&out)
        .arg(&obj)
        .status()
        .expect("ld.lld-19 must be installed");
    assert!(status.success(), "ld.lld-19 failed for {name}");
    read_image(&out, ".text", Vec::new())
}
