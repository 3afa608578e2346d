//! Every opcode byte the engine accepts, by name: the interpreter, the JIT and the verifier
//! match these, so an opcode reads as what it does. Named `<op><width>_<IMM|REG>` for ALU and
//! jumps (the source bit selects a register operand), `<LDX|ST|STX|LDXS>_<size>` for memory.
//! `MOV*` with a nonzero offset is `movsx`, `DIV*`/`MOD*` with offset 1 the signed forms.

/// `add dst, imm`
pub const ADD64_IMM: u8 = 0x07;
/// `add dst, src`
pub const ADD64_REG: u8 = 0x0f;
/// `add32 dst, imm`
pub const ADD32_IMM: u8 = 0x04;
/// `add32 dst, src`
pub const ADD32_REG: u8 = 0x0c;
/// `sub dst, imm`
pub const SUB64_IMM: u8 = 0x17;
/// `sub dst, src`
pub const SUB64_REG: u8 = 0x1f;
/// `sub32 dst, imm`
pub const SUB32_IMM: u8 = 0x14;
/// `sub32 dst, src`
pub const SUB32_REG: u8 = 0x1c;
/// `mul dst, imm`
pub const MUL64_IMM: u8 = 0x27;
/// `mul dst, src`
pub const MUL64_REG: u8 = 0x2f;
/// `mul32 dst, imm`
pub const MUL32_IMM: u8 = 0x24;
/// `mul32 dst, src`
pub const MUL32_REG: u8 = 0x2c;
/// `div dst, imm`
pub const DIV64_IMM: u8 = 0x37;
/// `div dst, src`
pub const DIV64_REG: u8 = 0x3f;
/// `div32 dst, imm`
pub const DIV32_IMM: u8 = 0x34;
/// `div32 dst, src`
pub const DIV32_REG: u8 = 0x3c;
/// `or dst, imm`
pub const OR64_IMM: u8 = 0x47;
/// `or dst, src`
pub const OR64_REG: u8 = 0x4f;
/// `or32 dst, imm`
pub const OR32_IMM: u8 = 0x44;
/// `or32 dst, src`
pub const OR32_REG: u8 = 0x4c;
/// `and dst, imm`
pub const AND64_IMM: u8 = 0x57;
/// `and dst, src`
pub const AND64_REG: u8 = 0x5f;
/// `and32 dst, imm`
pub const AND32_IMM: u8 = 0x54;
/// `and32 dst, src`
pub const AND32_REG: u8 = 0x5c;
/// `lsh dst, imm`
pub const LSH64_IMM: u8 = 0x67;
/// `lsh dst, src`
pub const LSH64_REG: u8 = 0x6f;
/// `lsh32 dst, imm`
pub const LSH32_IMM: u8 = 0x64;
/// `lsh32 dst, src`
pub const LSH32_REG: u8 = 0x6c;
/// `rsh dst, imm`
pub const RSH64_IMM: u8 = 0x77;
/// `rsh dst, src`
pub const RSH64_REG: u8 = 0x7f;
/// `rsh32 dst, imm`
pub const RSH32_IMM: u8 = 0x74;
/// `rsh32 dst, src`
pub const RSH32_REG: u8 = 0x7c;
/// `neg dst`
pub const NEG64: u8 = 0x87;
/// `neg32 dst`
pub const NEG32: u8 = 0x84;
/// `mod dst, imm`
pub const MOD64_IMM: u8 = 0x97;
/// `mod dst, src`
pub const MOD64_REG: u8 = 0x9f;
/// `mod32 dst, imm`
pub const MOD32_IMM: u8 = 0x94;
/// `mod32 dst, src`
pub const MOD32_REG: u8 = 0x9c;
/// `xor dst, imm`
pub const XOR64_IMM: u8 = 0xa7;
/// `xor dst, src`
pub const XOR64_REG: u8 = 0xaf;
/// `xor32 dst, imm`
pub const XOR32_IMM: u8 = 0xa4;
/// `xor32 dst, src`
pub const XOR32_REG: u8 = 0xac;
/// `mov dst, imm`
pub const MOV64_IMM: u8 = 0xb7;
/// `mov dst, src`
pub const MOV64_REG: u8 = 0xbf;
/// `mov32 dst, imm`
pub const MOV32_IMM: u8 = 0xb4;
/// `mov32 dst, src`
pub const MOV32_REG: u8 = 0xbc;
/// `arsh dst, imm`
pub const ARSH64_IMM: u8 = 0xc7;
/// `arsh dst, src`
pub const ARSH64_REG: u8 = 0xcf;
/// `arsh32 dst, imm`
pub const ARSH32_IMM: u8 = 0xc4;
/// `arsh32 dst, src`
pub const ARSH32_REG: u8 = 0xcc;
/// `le16|le32|le64 dst` (by imm)
pub const LE: u8 = 0xd4;
/// `be16|be32|be64 dst` (by imm)
pub const BE: u8 = 0xdc;
/// `bswap16|bswap32|bswap64 dst` (by imm)
pub const BSWAP: u8 = 0xd7;
/// `ja +off`
pub const JA: u8 = 0x05;
/// `ja32 +imm` (gotol)
pub const JA32: u8 = 0x06;
/// `jeq dst, imm, +off`
pub const JEQ64_IMM: u8 = 0x15;
/// `jeq dst, src, +off`
pub const JEQ64_REG: u8 = 0x1d;
/// `jeq32 dst, imm, +off`
pub const JEQ32_IMM: u8 = 0x16;
/// `jeq32 dst, src, +off`
pub const JEQ32_REG: u8 = 0x1e;
/// `jgt dst, imm, +off`
pub const JGT64_IMM: u8 = 0x25;
/// `jgt dst, src, +off`
pub const JGT64_REG: u8 = 0x2d;
/// `jgt32 dst, imm, +off`
pub const JGT32_IMM: u8 = 0x26;
/// `jgt32 dst, src, +off`
pub const JGT32_REG: u8 = 0x2e;
/// `jge dst, imm, +off`
pub const JGE64_IMM: u8 = 0x35;
/// `jge dst, src, +off`
pub const JGE64_REG: u8 = 0x3d;
/// `jge32 dst, imm, +off`
pub const JGE32_IMM: u8 = 0x36;
/// `jge32 dst, src, +off`
pub const JGE32_REG: u8 = 0x3e;
/// `jset dst, imm, +off`
pub const JSET64_IMM: u8 = 0x45;
/// `jset dst, src, +off`
pub const JSET64_REG: u8 = 0x4d;
/// `jset32 dst, imm, +off`
pub const JSET32_IMM: u8 = 0x46;
/// `jset32 dst, src, +off`
pub const JSET32_REG: u8 = 0x4e;
/// `jne dst, imm, +off`
pub const JNE64_IMM: u8 = 0x55;
/// `jne dst, src, +off`
pub const JNE64_REG: u8 = 0x5d;
/// `jne32 dst, imm, +off`
pub const JNE32_IMM: u8 = 0x56;
/// `jne32 dst, src, +off`
pub const JNE32_REG: u8 = 0x5e;
/// `jsgt dst, imm, +off`
pub const JSGT64_IMM: u8 = 0x65;
/// `jsgt dst, src, +off`
pub const JSGT64_REG: u8 = 0x6d;
/// `jsgt32 dst, imm, +off`
pub const JSGT32_IMM: u8 = 0x66;
/// `jsgt32 dst, src, +off`
pub const JSGT32_REG: u8 = 0x6e;
/// `jsge dst, imm, +off`
pub const JSGE64_IMM: u8 = 0x75;
/// `jsge dst, src, +off`
pub const JSGE64_REG: u8 = 0x7d;
/// `jsge32 dst, imm, +off`
pub const JSGE32_IMM: u8 = 0x76;
/// `jsge32 dst, src, +off`
pub const JSGE32_REG: u8 = 0x7e;
/// `jlt dst, imm, +off`
pub const JLT64_IMM: u8 = 0xa5;
/// `jlt dst, src, +off`
pub const JLT64_REG: u8 = 0xad;
/// `jlt32 dst, imm, +off`
pub const JLT32_IMM: u8 = 0xa6;
/// `jlt32 dst, src, +off`
pub const JLT32_REG: u8 = 0xae;
/// `jle dst, imm, +off`
pub const JLE64_IMM: u8 = 0xb5;
/// `jle dst, src, +off`
pub const JLE64_REG: u8 = 0xbd;
/// `jle32 dst, imm, +off`
pub const JLE32_IMM: u8 = 0xb6;
/// `jle32 dst, src, +off`
pub const JLE32_REG: u8 = 0xbe;
/// `jslt dst, imm, +off`
pub const JSLT64_IMM: u8 = 0xc5;
/// `jslt dst, src, +off`
pub const JSLT64_REG: u8 = 0xcd;
/// `jslt32 dst, imm, +off`
pub const JSLT32_IMM: u8 = 0xc6;
/// `jslt32 dst, src, +off`
pub const JSLT32_REG: u8 = 0xce;
/// `jsle dst, imm, +off`
pub const JSLE64_IMM: u8 = 0xd5;
/// `jsle dst, src, +off`
pub const JSLE64_REG: u8 = 0xdd;
/// `jsle32 dst, imm, +off`
pub const JSLE32_IMM: u8 = 0xd6;
/// `jsle32 dst, src, +off`
pub const JSLE32_REG: u8 = 0xde;
/// `call imm` (a helper), or `call local` with src = 1
pub const CALL: u8 = 0x85;
/// `callx dst` (the helper whose id dst holds)
pub const CALLX: u8 = 0x8d;
/// `exit`
pub const EXIT: u8 = 0x95;
/// `lddw dst, imm64` (two slots)
pub const LDDW: u8 = 0x18;
/// `ldxw dst, [src+off]`
pub const LDX_W: u8 = 0x61;
/// `stw [dst+off], imm`
pub const ST_W: u8 = 0x62;
/// `stxw [dst+off], src`
pub const STX_W: u8 = 0x63;
/// `ldxh dst, [src+off]`
pub const LDX_H: u8 = 0x69;
/// `sth [dst+off], imm`
pub const ST_H: u8 = 0x6a;
/// `stxh [dst+off], src`
pub const STX_H: u8 = 0x6b;
/// `ldxb dst, [src+off]`
pub const LDX_B: u8 = 0x71;
/// `stb [dst+off], imm`
pub const ST_B: u8 = 0x72;
/// `stxb [dst+off], src`
pub const STX_B: u8 = 0x73;
/// `ldxdw dst, [src+off]`
pub const LDX_DW: u8 = 0x79;
/// `stdw [dst+off], imm`
pub const ST_DW: u8 = 0x7a;
/// `stxdw [dst+off], src`
pub const STX_DW: u8 = 0x7b;
/// `ldxsw dst, [src+off]` (sign-extending)
pub const LDXS_W: u8 = 0x81;
/// `ldxsh dst, [src+off]` (sign-extending)
pub const LDXS_H: u8 = 0x89;
/// `ldxsb dst, [src+off]` (sign-extending)
pub const LDXS_B: u8 = 0x91;
/// 32-bit atomic operation on `[dst+off]`, selected by imm
pub const ATOMIC32: u8 = 0xc3;
/// 64-bit atomic operation on `[dst+off]`, selected by imm
pub const ATOMIC64: u8 = 0xdb;
