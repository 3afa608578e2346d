//! The built-in code comments: patchjit-disasm's listing of a group's code as copied, with its
//! holes marked, for when llvm-objdump is missing or not wanted.

use patchjit_disasm::HoleMark;
use patchjit_stencils::{Hole, StencilGroup, Target};

/// The marks [`patchjit_disasm::listing`] prints for extracted holes; shared with
/// `patchjit dump` so both list a stencil the same way.
pub fn hole_marks(holes: &[Hole]) -> Vec<HoleMark<'_>> {
    holes
        .iter()
        .map(|hole| HoleMark {
            offset: hole.offset,
            patch: hole.patch,
            value: &hole.value,
            symbol: hole.symbol.as_deref(),
            addend: hole.addend,
        })
        .collect()
}

/// The `//` comment lines above a group's `code_body`: its code disassembled, holes marked.
pub fn code_comments(target: Target, group: &StencilGroup) -> Vec<String> {
    patchjit_disasm::listing(
        target.arch(),
        &group.code.body,
        &hole_marks(&group.code.holes),
    )
    .lines()
    .map(|l| l.trim_end().to_string())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchjit_stencils::{HoleValue, PatchKind, RelocKind, Stencil};

    #[test]
    fn code_comments_mark_holes_with_symbol_and_addend() {
        // movabs rax, <hole>; ret
        let group = StencilGroup {
            name: "load".to_string(),
            code: Stencil {
                body: vec![0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0xC3],
                holes: vec![Hole {
                    offset: 2,
                    kind: RelocKind::R_X86_64_64,
                    value: HoleValue::Zero,
                    symbol: Some("table".to_string()),
                    addend: -8,
                    patch: PatchKind::Abs64,
                }],
            },
            data: Stencil::default(),
            data_section_len: 0,
            got_offset: 0,
            data_align: 8,
            trampolines: Vec::new(),
        };
        assert_eq!(
            code_comments(Target::X86_64UnknownLinuxGnu, &group),
            [
                "     0: 48 b8 00 00 00 00 00 00 00 00  mov rax,0",
                "        ^ hole at 0x2: patch_64 ZERO + &table - 0x8",
                "     a: c3                             ret",
            ]
        );
    }
}
