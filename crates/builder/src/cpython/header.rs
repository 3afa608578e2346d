//! The text of `jit_stencils-<triple>.h` and of the umbrella `jit_stencils.h`, laid out exactly as
//! CPython 3.14's `Tools/jit/_writer.py` lays them out, so CPython's `Python/jit.c` compiles
//! against patchjit's output unchanged.

use std::fmt::{self, Write as _};

use patchjit_stencils::{Extraction, Hole, HoleValue, PatchKind, Stencil, StencilGroup, Target};

use super::pytext::bytes_repr;

/// Which AArch64 GOT-load patch functions the tree's `Python/jit.c` defines.
///
/// CPython 3.14.7 defines only `patch_aarch64_21r`/`patch_aarch64_12` and patches GOT loads with
/// them; some 3.14-era and later trees add the relaxing `21rx`/`12x`/`33rx` family. The
/// extraction always folds ADRP+LDR GOT pairs, so the plain dialect writes a folded pair back as
/// its two halves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchDialect {
    /// `patch_aarch64_21r` + `patch_aarch64_12` for GOT loads (CPython 3.14.7).
    Plain,
    /// `patch_aarch64_21rx`, `patch_aarch64_12x` and folded `patch_aarch64_33rx`.
    Relaxing,
}

impl PatchDialect {
    /// The dialect a tree's `Python/jit.c` implements: relaxing iff it defines `patch_aarch64_33rx`.
    pub fn of_jit_c(jit_c: &str) -> PatchDialect {
        if jit_c.contains("patch_aarch64_33rx(") {
            PatchDialect::Relaxing
        } else {
            PatchDialect::Plain
        }
    }
}

/// Why a stencil group cannot be written as CPython C code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The extraction has no group named `shim`, which CPython's footer needs.
    MissingShim,
    /// There must be exactly one list of code comment lines per group.
    CommentCount {
        /// Groups in the extraction.
        groups: usize,
        /// Comment lists given.
        comments: usize,
    },
    /// A hole whose value CPython's `jit.c` has no expression for.
    UnprintableValue {
        /// The stencil group holding the hole.
        group: String,
        /// The hole's offset in its stencil.
        offset: u64,
        /// The value's name (a client's custom value or a narrow value, which CPython 3.14
        /// does not have).
        value: String,
    },
    /// The data stencil's layout disagrees with its recorded section length and GOT offset.
    DataLayout {
        /// The stencil group at fault.
        group: String,
        /// Which length or offset disagrees.
        message: String,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::MissingShim => write!(f, "no stencil group named `shim` (Tools/jit/shim.c)"),
            HeaderError::CommentCount { groups, comments } => {
                write!(f, "{groups} stencil groups but {comments} comment lists")
            }
            HeaderError::UnprintableValue { group, offset, value } => write!(
                f,
                "stencil {group}: hole at {offset:#x} has value {value}, which CPython's jit.c cannot patch"
            ),
            HeaderError::DataLayout { group, message } => write!(f, "stencil {group}: data layout: {message}"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// One target's header: everything that goes into `jit_stencils-<triple>.h`.
pub struct TargetHeader<'a> {
    /// 64 lowercase hex digits; the first line, used to skip unchanged rebuilds.
    pub digest: &'a str,
    /// The command that produced the file (second line), without the `$ ` prefix.
    pub command: &'a str,
    /// The target's stencil groups, `shim` among them.
    pub extraction: &'a Extraction,
    /// Code comment lines (disassembly) per group, in `extraction.groups` order.
    pub code_comments: &'a [Vec<String>],
    /// Which AArch64 GOT-load patch functions the tree's `jit.c` has.
    pub dialect: PatchDialect,
}

impl TargetHeader<'_> {
    /// Renders the whole file. Deterministic: the same input gives the same bytes.
    pub fn render(&self) -> Result<String, HeaderError> {
        let groups = &self.extraction.groups;
        if self.code_comments.len() != groups.len() {
            return Err(HeaderError::CommentCount {
                groups: groups.len(),
                comments: self.code_comments.len(),
            });
        }
        let shim = groups
            .iter()
            .find(|g| g.name == "shim")
            .ok_or(HeaderError::MissingShim)?;
        let mut out = String::new();
        line(&mut out, format_args!("// {}", self.digest));
        line(&mut out, format_args!("// $ {}", self.command));
        out.push('\n');
        for (group, comments) in groups.iter().zip(self.code_comments) {
            self.render_group(&mut out, group, comments)?;
        }
        render_footer(&mut out, shim, groups, &self.extraction.trampoline_symbols);
        Ok(out)
    }

    fn render_group(
        &self,
        out: &mut String,
        group: &StencilGroup,
        code_comments: &[String],
    ) -> Result<(), HeaderError> {
        let data_comments = data_comments(group)?;
        line(out, format_args!("void"));
        line(out, format_args!("emit_{}(", group.name));
        line(
            out,
            format_args!(
                "    unsigned char *code, unsigned char *data, _PyExecutorObject *executor,"
            ),
        );
        line(
            out,
            format_args!("    const _PyUOpInstruction *instruction, jit_state *state)"),
        );
        line(out, format_args!("{{"));
        for (part, stencil, comments) in [
            (Part::Code, &group.code, code_comments),
            (Part::Data, &group.data, &data_comments[..]),
        ] {
            for comment in comments {
                line(out, format_args!("    // {comment}"));
            }
            render_body(out, part, stencil);
        }
        // Data first, so that relaxing patches in the code read the final GOT contents.
        for (part, stencil) in [(Part::Data, &group.data), (Part::Code, &group.code)] {
            if !trimmed(&stencil.body).is_empty() {
                let p = part.name();
                line(
                    out,
                    format_args!("    memcpy({p}, {p}_body, sizeof({p}_body));"),
                );
            }
            let mut holes: Vec<&Hole> = stencil.holes.iter().collect();
            holes.sort_by_key(|h| h.offset);
            for hole in holes {
                self.render_patch_calls(out, group, part, hole)?;
            }
        }
        line(out, format_args!("}}"));
        out.push('\n');
        Ok(())
    }

    fn render_patch_calls(
        &self,
        out: &mut String,
        group: &StencilGroup,
        part: Part,
        hole: &Hole,
    ) -> Result<(), HeaderError> {
        let value = value_expr(group, hole)?;
        let mut call = |func: &str, offset: u64| {
            line(
                out,
                format_args!("    {}", call_text(func, part.name(), offset, &value, hole)),
            );
        };
        match (self.dialect, hole.patch) {
            (PatchDialect::Plain, PatchKind::Aarch64Pair33rx) => {
                call(PatchKind::Aarch64Page21r.func_name(), hole.offset);
                call(PatchKind::Aarch64Lo12.func_name(), hole.offset + 4);
            }
            (PatchDialect::Plain, PatchKind::Aarch64Page21rx) => {
                call(PatchKind::Aarch64Page21r.func_name(), hole.offset)
            }
            (PatchDialect::Plain, PatchKind::Aarch64Lo12x) => {
                call(PatchKind::Aarch64Lo12.func_name(), hole.offset)
            }
            (_, kind) => call(kind.func_name(), hole.offset),
        }
        Ok(())
    }
}

/// One hole's patch call as CPython 3.14's writer prints it, without indentation
/// (`patch_64(code + 0x2, instruction->oparg);`), for tools that show holes one by one;
/// `part` is `"code"` or `"data"`.
pub fn patch_call(group: &StencilGroup, hole: &Hole, part: &str) -> Result<String, HeaderError> {
    let value = value_expr(group, hole)?;
    Ok(call_text(
        hole.patch.func_name(),
        part,
        hole.offset,
        &value,
        hole,
    ))
}

fn call_text(func: &str, part: &str, offset: u64, value: &str, hole: &Hole) -> String {
    let state = if hole.patch == PatchKind::Aarch64Trampoline {
        ", state"
    } else {
        ""
    };
    format!("{func}({part} + {}, {value}{state});", hex(offset as i128))
}

#[derive(Clone, Copy)]
enum Part {
    Code,
    Data,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Code => "code",
            Part::Data => "data",
        }
    }
}

fn line(out: &mut String, args: fmt::Arguments<'_>) {
    // Writing into a String cannot fail.
    let _ = out.write_fmt(args);
    out.push('\n');
}

/// The body without its trailing zero bytes: fresh JIT pages are already zero.
fn trimmed(body: &[u8]) -> &[u8] {
    let end = body.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &body[..end]
}

fn render_body(out: &mut String, part: Part, stencil: &Stencil) {
    let bytes = trimmed(&stencil.body);
    if bytes.is_empty() {
        return;
    }
    line(
        out,
        format_args!(
            "    const unsigned char {}_body[{}] = {{",
            part.name(),
            stencil.body.len()
        ),
    );
    for row in bytes.chunks(8) {
        let cells: Vec<String> = row.iter().map(|b| format!("{b:#04x},")).collect();
        line(out, format_args!("        {}", cells.join(" ")));
    }
    line(out, format_args!("    }};"));
}

/// Python's `f"{n:#x}"`: a sign, then `0x` and lowercase digits.
fn hex(n: i128) -> String {
    if n < 0 {
        format!("-{:#x}", -n)
    } else {
        format!("{n:#x}")
    }
}

/// The C expression CPython's `jit.c` evaluates for a hole's base value.
fn base_expr(group: &StencilGroup, hole: &Hole) -> Result<&'static str, HeaderError> {
    Ok(match &hole.value {
        HoleValue::Code => "(uintptr_t)code",
        HoleValue::Continue => "(uintptr_t)code + sizeof(code_body)",
        HoleValue::Data => "(uintptr_t)data",
        HoleValue::Executor => "(uintptr_t)executor",
        HoleValue::Oparg => "instruction->oparg",
        HoleValue::Operand0 => "instruction->operand0",
        HoleValue::Operand0Hi => "(instruction->operand0 >> 32)",
        HoleValue::Operand0Lo => "(instruction->operand0 & UINT32_MAX)",
        HoleValue::Operand1 => "instruction->operand1",
        HoleValue::Operand1Hi => "(instruction->operand1 >> 32)",
        HoleValue::Operand1Lo => "(instruction->operand1 & UINT32_MAX)",
        HoleValue::Target => "instruction->target",
        HoleValue::JumpTarget => "state->instruction_starts[instruction->jump_target]",
        HoleValue::ErrorTarget => "state->instruction_starts[instruction->error_target]",
        HoleValue::Zero => "",
        // CPython 3.14 has neither client-defined nor narrow (`_JIT_OPERAND0_S32`) values.
        value @ (HoleValue::Custom(_)
        | HoleValue::OpargU16
        | HoleValue::OpargU32
        | HoleValue::Operand0S32
        | HoleValue::Operand0U32
        | HoleValue::Operand1S16
        | HoleValue::Operand1S32
        | HoleValue::Operand0I32
        | HoleValue::Operand1I32) => {
            return Err(HeaderError::UnprintableValue {
                group: group.name.clone(),
                offset: hole.offset,
                value: value.name().to_string(),
            })
        }
    })
}

/// `<base> + (uintptr_t)&<symbol> + <addend>`, leaving out empty parts; the addend is printed
/// when non-zero or when it is the only part.
fn value_expr(group: &StencilGroup, hole: &Hole) -> Result<String, HeaderError> {
    let mut value = base_expr(group, hole)?.to_string();
    if let Some(symbol) = &hole.symbol {
        if !value.is_empty() {
            value.push_str(" + ");
        }
        value.push_str("(uintptr_t)&");
        value.push_str(symbol);
    }
    if hole.addend != 0 || value.is_empty() {
        if !value.is_empty() {
            value.push_str(" + ");
        }
        value.push_str(&hex(hole.addend.into()));
    }
    Ok(value)
}

/// The data comment lines: the section bytes as a Python bytes literal, the alignment padding,
/// and one line per GOT slot naming what the slot holds.
fn data_comments(group: &StencilGroup) -> Result<Vec<String>, HeaderError> {
    let layout_error = |message: String| HeaderError::DataLayout {
        group: group.name.clone(),
        message,
    };
    let body = &group.data.body;
    let (sections, got) = (group.data_section_len, group.got_offset);
    if sections > got
        || got > body.len()
        || got - sections >= 8
        || !got.is_multiple_of(8)
        || !(body.len() - got).is_multiple_of(8)
    {
        return Err(layout_error(format!(
            "section bytes {sections}, GOT offset {got}, body {} bytes",
            body.len()
        )));
    }
    let mut comments = Vec::new();
    if sections > 0 {
        comments.push(format!("0: {}", bytes_repr(&body[..sections])));
    }
    if got > sections {
        let zeros = vec!["00"; got - sections];
        comments.push(format!("{sections:x}: {}", zeros.join(" ")));
    }
    for slot in (got..body.len()).step_by(8) {
        let hole = group
            .data
            .holes
            .iter()
            .find(|h| h.offset == slot as u64)
            .ok_or_else(|| layout_error(format!("no hole fills the GOT slot at {slot:#x}")))?;
        comments.push(format!("{slot:x}: {}", got_slot_text(hole)));
    }
    Ok(comments)
}

/// `OPARG`, `CODE+0x40`, `&_Py_Dealloc+0x0`: what a GOT slot holds, as CPython comments it.
fn got_slot_text(hole: &Hole) -> String {
    let mut value_part = match hole.value {
        HoleValue::Zero => String::new(),
        ref v => v.name().to_string(),
    };
    if !value_part.is_empty() && hole.symbol.is_none() && hole.addend == 0 {
        return value_part;
    }
    let mut addend_part = String::new();
    if let Some(symbol) = &hole.symbol {
        addend_part.push('&');
        addend_part.push_str(symbol);
        if hole.addend >= 0 {
            addend_part.push('+');
        }
    }
    addend_part.push_str(&hex(hole.addend.into()));
    if !value_part.is_empty() {
        value_part.push('+');
    }
    value_part + &addend_part
}

/// `{emit_<name>, <code size>, <data size>, {<trampoline mask words>}}`.
fn group_initializer(group: &StencilGroup) -> String {
    let mut words: Vec<u32> = Vec::new();
    for &ordinal in &group.trampolines {
        let word = (ordinal / 32) as usize;
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        words[word] |= 1 << (ordinal % 32);
    }
    while words.last() == Some(&0) {
        words.pop();
    }
    let mask = if words.is_empty() {
        "0".to_string()
    } else {
        words
            .iter()
            .map(|w| format!("{w:#04x}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{{emit_{}, {}, {}, {{{mask}}}}}",
        group.name,
        group.code.body.len(),
        group.data.body.len()
    )
}

fn render_footer(
    out: &mut String,
    shim: &StencilGroup,
    groups: &[StencilGroup],
    symbols: &[String],
) {
    let mask_words = symbols.len().div_ceil(32).max(1);
    line(
        out,
        format_args!(
            "static_assert(SYMBOL_MASK_WORDS >= {mask_words}, \"SYMBOL_MASK_WORDS too small\");"
        ),
    );
    out.push('\n');
    out.push_str(
        "typedef struct {\n    void (*emit)(\n        unsigned char *code, unsigned char *data, _PyExecutorObject *executor,\n        const _PyUOpInstruction *instruction, jit_state *state);\n    size_t code_size;\n    size_t data_size;\n    symbol_mask trampoline_mask;\n} StencilGroup;\n\n",
    );
    line(
        out,
        format_args!(
            "static const StencilGroup shim = {};",
            group_initializer(shim)
        ),
    );
    out.push('\n');
    line(
        out,
        format_args!("static const StencilGroup stencil_groups[MAX_UOP_ID + 1] = {{"),
    );
    let mut uops: Vec<&StencilGroup> = groups.iter().filter(|g| g.name != "shim").collect();
    uops.sort_by(|a, b| a.name.cmp(&b.name));
    for group in uops {
        line(
            out,
            format_args!("    [{}] = {},", group.name, group_initializer(group)),
        );
    }
    line(out, format_args!("}};"));
    out.push('\n');
    line(
        out,
        format_args!(
            "static const void * const symbols_map[{}] = {{",
            symbols.len().max(1)
        ),
    );
    if symbols.is_empty() {
        line(out, format_args!("    0"));
    }
    for (ordinal, symbol) in symbols.iter().enumerate() {
        line(out, format_args!("    [{ordinal}] = &{symbol},"));
    }
    line(out, format_args!("}};"));
}

/// The umbrella `jit_stencils.h`: picks the per-target header with the preprocessor.
/// `targets` pairs each triple as given on the command line with its target.
pub fn render_umbrella(command: &str, targets: &[(String, Target)]) -> String {
    let mut out = String::new();
    line(&mut out, format_args!("// $ {command}"));
    for (i, (triple, target)) in targets.iter().enumerate() {
        let guard = if i == 0 { "#if" } else { "#elif" };
        line(&mut out, format_args!("{guard} {}", c_condition(*target)));
        line(
            &mut out,
            format_args!("#include \"jit_stencils-{triple}.h\""),
        );
    }
    out.push_str("#else\n#error \"unexpected target\"\n#endif\n");
    out
}

/// The preprocessor condition that selects `target` in CPython's umbrella `jit_stencils.h`.
fn c_condition(target: Target) -> &'static str {
    match target {
        Target::Aarch64AppleDarwin => "defined(__aarch64__) && defined(__APPLE__)",
        Target::Aarch64PcWindowsMsvc => "defined(_M_ARM64)",
        Target::Aarch64UnknownLinuxGnu => "defined(__aarch64__) && defined(__linux__)",
        Target::I686PcWindowsMsvc => "defined(_M_IX86)",
        Target::X86_64AppleDarwin => "defined(__x86_64__) && defined(__APPLE__)",
        Target::X86_64PcWindowsMsvc => "defined(_M_X64)",
        Target::X86_64UnknownLinuxGnu => "defined(__x86_64__) && defined(__linux__)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchjit_stencils::RelocKind;

    fn hole(
        offset: u64,
        kind: RelocKind,
        value: HoleValue,
        symbol: Option<&str>,
        addend: i64,
    ) -> Hole {
        Hole {
            offset,
            kind,
            value,
            symbol: symbol.map(str::to_string),
            addend,
            patch: kind.patch_kind(),
        }
    }

    #[test]
    fn hex_matches_python_formatting() {
        assert_eq!(hex(0), "0x0");
        assert_eq!(hex(-4), "-0x4");
        assert_eq!(hex(i64::MIN.into()), "-0x8000000000000000");
        assert_eq!(hex(0x1f), "0x1f");
    }

    #[test]
    fn got_slot_comments() {
        let h = hole(
            8,
            RelocKind::R_X86_64_64,
            HoleValue::Zero,
            Some("_Py_Dealloc"),
            0,
        );
        assert_eq!(got_slot_text(&h), "&_Py_Dealloc+0x0");
        let h = hole(8, RelocKind::R_X86_64_64, HoleValue::Zero, Some("f"), -8);
        assert_eq!(got_slot_text(&h), "&f-0x8");
        let h = hole(8, RelocKind::R_X86_64_64, HoleValue::Oparg, None, 0);
        assert_eq!(got_slot_text(&h), "OPARG");
        let h = hole(8, RelocKind::R_X86_64_64, HoleValue::Code, None, 0x40);
        assert_eq!(got_slot_text(&h), "CODE+0x40");
        let h = hole(8, RelocKind::R_X86_64_64, HoleValue::Zero, None, 0x10);
        assert_eq!(got_slot_text(&h), "0x10");
    }

    #[test]
    fn trampoline_masks() {
        let mut g = StencilGroup {
            name: "_X".into(),
            code: Stencil::default(),
            data: Stencil::default(),
            data_section_len: 0,
            got_offset: 0,
            data_align: 8,
            trampolines: vec![],
        };
        assert_eq!(group_initializer(&g), "{emit__X, 0, 0, {0}}");
        g.trampolines = vec![0, 1];
        assert_eq!(group_initializer(&g), "{emit__X, 0, 0, {0x03}}");
        g.trampolines = vec![31, 40];
        assert_eq!(
            group_initializer(&g),
            "{emit__X, 0, 0, {0x80000000, 0x100}}"
        );
        g.trampolines = vec![33];
        assert_eq!(group_initializer(&g), "{emit__X, 0, 0, {0x00, 0x02}}");
    }

    #[test]
    fn plain_dialect_unfolds_pairs() {
        assert_eq!(
            PatchDialect::of_jit_c("void\npatch_aarch64_33rx(unsigned char *l)"),
            PatchDialect::Relaxing
        );
        assert_eq!(
            PatchDialect::of_jit_c("void\npatch_aarch64_21r(unsigned char *l)"),
            PatchDialect::Plain
        );
    }
}
