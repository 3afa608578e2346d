//! Decoding just enough x86 to compare two linkers' GOT references by what they reach.

/// The operand whose 4 displacement bytes are at `at` (after 2 opcode/ModRM bytes), in code
/// placed at `base`, as `(form, value reached)`. A GOT load and its relaxed `lea`, and a call
/// through a slot and its relaxed `nop; call rel32`, reach the same value. `absolute` for
/// i686 `[disp32]` operands; `read` loads a pointer-sized slot.
pub fn reach(
    bytes: &[u8],
    at: usize,
    base: u64,
    absolute: bool,
    read: &dyn Fn(u64) -> u64,
) -> (&'static str, u64) {
    let disp = i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as i64;
    let ea = if absolute {
        disp as u32 as u64
    } else {
        (base + at as u64 + 4).wrapping_add(disp as u64)
    };
    match [bytes[at - 2], bytes[at - 1]] {
        [0x90, 0xE8] => ("call", ea),
        [0xFF, 0x15] => ("call", read(ea)),
        [0x90, 0xE9] => ("jmp", ea),
        [0xFF, 0x25] => ("jmp", read(ea)),
        [0x8D, _] => ("load", ea),
        [0x8B, _] => ("load", read(ea)),
        _ => ("operand", read(ea)),
    }
}
