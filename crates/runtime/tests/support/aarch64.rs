//! Decoding just enough AArch64 to compare two linkers' outputs by what the code loads.

pub const NOP: u32 = 0xD503_201F;

pub fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

pub fn sign_extend(v: u64, bits: u32) -> i64 {
    ((v << (64 - bits)) as i64) >> (64 - bits)
}

/// The page an ADRP at `pc` addresses.
pub fn adrp_page(i: u32, pc: u64) -> u64 {
    let imm = ((i >> 29) & 3) as u64 | ((((i >> 5) & 0x7FFFF) as u64) << 2);
    (pc & !0xFFF).wrapping_add((sign_extend(imm, 21) << 12) as u64)
}

/// Where a `B`/`BL` at `pc` goes.
pub fn branch_target(i: u32, pc: u64) -> u64 {
    pc.wrapping_add((sign_extend((i & 0x03FF_FFFF) as u64, 26) << 2) as u64)
}

/// Evaluates a two-instruction sequence that materializes a value in one register
/// (`ADRP; LDR`, `ADRP; ADD`, `MOVZ; NOP`, `MOVZ; MOVK`, `LDR literal; NOP`).
/// Returns `(register, value)`.
pub fn evaluate(first: u32, second: u32, pc: u64, read64: &dyn Fn(u64) -> u64) -> (u32, u64) {
    let reg = first & 0x1F;
    if first & 0x9F00_0000 == 0x9000_0000 {
        let page = adrp_page(first, pc);
        let imm12 = ((second >> 10) & 0xFFF) as u64;
        assert_eq!(
            (second >> 5) & 0x1F,
            reg,
            "second instruction uses the ADRP register"
        );
        assert_eq!(
            second & 0x1F,
            reg,
            "second instruction writes the ADRP register"
        );
        if second & 0xFFC0_0000 == 0xF940_0000 {
            return (reg, read64(page + imm12 * 8));
        }
        if second & 0xFFC0_0000 == 0x9100_0000 {
            return (reg, page + imm12);
        }
        panic!("unexpected {second:#010x} after ADRP");
    }
    if first & 0xFF80_0000 == 0xD280_0000 {
        // MOVZ (LSL 0)
        let mut v = ((first >> 5) & 0xFFFF) as u64;
        if second != NOP {
            assert_eq!(
                second & 0xFFE0_001F,
                0xF2A0_0000 | reg,
                "MOVK LSL 16 of the same register"
            );
            v |= (((second >> 5) & 0xFFFF) as u64) << 16;
        }
        return (reg, v);
    }
    if first & 0xFF00_0000 == 0x5800_0000 {
        // LDR (literal)
        assert_eq!(second, NOP);
        let offset = sign_extend(((first >> 5) & 0x7FFFF) as u64, 19) << 2;
        return (reg, read64(pc.wrapping_add(offset as u64)));
    }
    panic!("cannot evaluate {first:#010x}");
}
