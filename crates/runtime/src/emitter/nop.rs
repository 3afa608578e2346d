//! The no-ops that pad code to an alignment ([`Emitter::align_code`]): code falls through
//! them into the aligned instruction, so they must be instructions, not zero bytes.

use patchjit_vocab::Arch;

/// x86 no-ops of 1 to 9 bytes, the forms the processor manuals recommend (one instruction each,
/// so a gap costs at most two decoded instructions per 16 bytes).
const X86: [&[u8]; 9] = [
    &[0x90],
    &[0x66, 0x90],
    &[0x0f, 0x1f, 0x00],
    &[0x0f, 0x1f, 0x40, 0x00],
    &[0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
    &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

/// AArch64 `nop`, little-endian.
const AARCH64: [u8; 4] = 0xd503_201f_u32.to_le_bytes();

/// Fills `gap` with no-ops for `arch`. AArch64 gaps are whole instructions: its code offsets
/// are multiples of 4, and so are the gaps to an alignment of at least 4 (smaller alignments
/// need no gap).
pub(super) fn fill(arch: Arch, gap: &mut [u8]) {
    match arch {
        Arch::X86_64 | Arch::I686 => {
            for chunk in gap.chunks_mut(X86.len()) {
                chunk.copy_from_slice(X86[chunk.len() - 1]);
            }
        }
        Arch::Aarch64 => {
            for word in gap.chunks_mut(4) {
                word.copy_from_slice(&AARCH64[..word.len()]);
            }
        }
    }
}
