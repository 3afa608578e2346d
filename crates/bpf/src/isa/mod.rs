//! eBPF instruction encoding (RFC 9669): the raw 8-byte slot and the fields' enums here,
//! the opcode bytes by name in [`opcode`], and the strict decoder into [`Instruction`], the
//! typed form shared by the assembler, disassembler, verifier and JIT, in `instruction.rs`.

mod instruction;
pub mod opcode;

pub use instruction::{DecodeError, Instruction};

/// Size in bytes of one instruction slot.
pub const INSN_SIZE: usize = 8;
/// Number of general registers r0..r10.
pub const NUM_REGS: usize = 11;
/// Read-only frame pointer register.
pub const FRAME_POINTER: u8 = 10;

/// One raw 64-bit instruction slot, as laid out in memory (little-endian fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RawInsn {
    /// Opcode byte: class in the low 3 bits, the rest depends on the class.
    pub opcode: u8,
    /// Destination register (low nibble of byte 1).
    pub dst: u8,
    /// Source register (high nibble of byte 1).
    pub src: u8,
    /// Signed 16-bit offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

impl RawInsn {
    /// Builds a slot from its fields.
    pub const fn new(opcode: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        RawInsn {
            opcode,
            dst,
            src,
            off,
            imm,
        }
    }

    /// Decodes the 8 bytes of a slot.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        RawInsn {
            opcode: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Encodes the slot as 8 bytes (registers are truncated to their nibbles).
    pub fn to_bytes(self) -> [u8; 8] {
        let o = self.off.to_le_bytes();
        let i = self.imm.to_le_bytes();
        [
            self.opcode,
            (self.dst & 0x0f) | (self.src << 4),
            o[0],
            o[1],
            i[0],
            i[1],
            i[2],
            i[3],
        ]
    }

    /// The slot as the little-endian 64-bit word used by `-- raw` test sections.
    pub fn from_word(w: u64) -> Self {
        Self::from_bytes(w.to_le_bytes())
    }

    /// Inverse of [`RawInsn::from_word`].
    pub fn to_word(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }

    /// The instruction class (low 3 bits of the opcode).
    pub fn class(self) -> Class {
        Class::from_opcode(self.opcode)
    }
}

/// Splits a byte buffer into instruction slots.
pub fn slots_from_bytes(bytes: &[u8]) -> Result<Vec<RawInsn>, String> {
    if !bytes.len().is_multiple_of(INSN_SIZE) {
        return Err(format!(
            "program size {} is not a multiple of {INSN_SIZE} bytes",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(INSN_SIZE)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            RawInsn::from_bytes(a)
        })
        .collect())
}

/// Serialises instruction slots to bytes.
pub fn slots_to_bytes(slots: &[RawInsn]) -> Vec<u8> {
    slots.iter().flat_map(|s| s.to_bytes()).collect()
}

/// Instruction class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Non-standard loads (only `lddw` is supported).
    Ld = 0,
    /// Register loads from memory.
    Ldx = 1,
    /// Immediate stores.
    St = 2,
    /// Register stores and atomics.
    Stx = 3,
    /// 32-bit arithmetic.
    Alu = 4,
    /// 64-bit jumps, calls, exit.
    Jmp = 5,
    /// 32-bit jumps.
    Jmp32 = 6,
    /// 64-bit arithmetic.
    Alu64 = 7,
}

impl Class {
    /// The class of an opcode byte.
    pub fn from_opcode(op: u8) -> Class {
        match op & 7 {
            0 => Class::Ld,
            1 => Class::Ldx,
            2 => Class::St,
            3 => Class::Stx,
            4 => Class::Alu,
            5 => Class::Jmp,
            6 => Class::Jmp32,
            _ => Class::Alu64,
        }
    }
}

/// Operation width of ALU and jump instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// 32-bit: operands truncated, ALU results zero-extended.
    W32,
    /// 64-bit.
    W64,
}

/// Arithmetic operation (high nibble of an ALU opcode, plus the signedness carried in `off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    /// dst += src
    Add,
    /// dst -= src
    Sub,
    /// dst *= src
    Mul,
    /// unsigned division, by zero gives 0
    Div,
    /// signed division (off = 1), by zero gives 0
    SDiv,
    /// dst |= src
    Or,
    /// dst &= src
    And,
    /// left shift, count masked to the width
    Lsh,
    /// logical right shift, count masked
    Rsh,
    /// unsigned modulo, by zero leaves dst
    Mod,
    /// signed modulo (off = 1), by zero leaves dst
    SMod,
    /// dst ^= src
    Xor,
    /// dst = src
    Mov,
    /// arithmetic right shift, count masked
    Arsh,
}

impl AluOp {
    /// Opcode high nibble (bits 4..8).
    pub const fn code(self) -> u8 {
        match self {
            AluOp::Add => 0x00,
            AluOp::Sub => 0x10,
            AluOp::Mul => 0x20,
            AluOp::Div | AluOp::SDiv => 0x30,
            AluOp::Or => 0x40,
            AluOp::And => 0x50,
            AluOp::Lsh => 0x60,
            AluOp::Rsh => 0x70,
            AluOp::Mod | AluOp::SMod => 0x90,
            AluOp::Xor => 0xa0,
            AluOp::Mov => 0xb0,
            AluOp::Arsh => 0xc0,
        }
    }

    /// The unsigned operation (`off` = 0) whose opcode high nibble is `code` (bits 4..8 of
    /// the opcode), by table: the decoder runs this for every ALU instruction it verifies.
    pub(crate) fn unsigned_from_code(code: u8) -> Option<AluOp> {
        const BY_NIBBLE: [Option<AluOp>; 16] = {
            let mut table = [None; 16];
            let mut k = 0;
            while k < AluOp::ALL.len() {
                let op = AluOp::ALL[k];
                if !matches!(op, AluOp::SDiv | AluOp::SMod) {
                    table[(op.code() >> 4) as usize] = Some(op);
                }
                k += 1;
            }
            table
        };
        BY_NIBBLE[(code >> 4) as usize]
    }

    /// The `off` field value that selects this operation.
    pub fn off(self) -> i16 {
        matches!(self, AluOp::SDiv | AluOp::SMod) as i16
    }

    /// Assembly mnemonic stem.
    pub fn name(self) -> &'static str {
        match self {
            AluOp::Add => "add",
            AluOp::Sub => "sub",
            AluOp::Mul => "mul",
            AluOp::Div => "div",
            AluOp::SDiv => "sdiv",
            AluOp::Or => "or",
            AluOp::And => "and",
            AluOp::Lsh => "lsh",
            AluOp::Rsh => "rsh",
            AluOp::Mod => "mod",
            AluOp::SMod => "smod",
            AluOp::Xor => "xor",
            AluOp::Mov => "mov",
            AluOp::Arsh => "arsh",
        }
    }

    /// All operations, for name lookup.
    pub const ALL: [AluOp; 14] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::SDiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::SMod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::Arsh,
    ];
}

/// Byte-order operation of the END opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    /// Convert to little endian (`le16/32/64`, ALU class, source bit 0).
    Le,
    /// Convert to big endian (`be16/32/64`, ALU class, source bit 1).
    Be,
    /// Unconditional swap (`bswap16/32/64`, ALU64 class).
    Swap,
}

/// Second operand of ALU ops and conditional jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// Source register.
    Reg(u8),
    /// Sign-extended 32-bit immediate.
    Imm(i32),
}

/// Memory access size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// 1 byte.
    B,
    /// 2 bytes.
    H,
    /// 4 bytes.
    W,
    /// 8 bytes.
    DW,
}

impl Size {
    /// Opcode size bits (bits 3..5).
    pub fn code(self) -> u8 {
        match self {
            Size::W => 0x00,
            Size::H => 0x08,
            Size::B => 0x10,
            Size::DW => 0x18,
        }
    }

    /// Width in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    /// Mnemonic suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Size::B => "b",
            Size::H => "h",
            Size::W => "w",
            Size::DW => "dw",
        }
    }

    pub(crate) fn from_code(op: u8) -> Size {
        match op & 0x18 {
            0x00 => Size::W,
            0x08 => Size::H,
            0x10 => Size::B,
            _ => Size::DW,
        }
    }
}

/// Opcode mode bits (bits 5..8) of load/store classes: regular memory access.
pub const MODE_MEM: u8 = 0x60;
/// Sign-extending load.
pub const MODE_MEMSX: u8 = 0x80;
/// Atomic read-modify-write.
pub const MODE_ATOMIC: u8 = 0xc0;

/// Atomic operation (the `imm` field of an atomic instruction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicOp {
    /// `*p += src`
    Add,
    /// `*p |= src`
    Or,
    /// `*p &= src`
    And,
    /// `*p ^= src`
    Xor,
    /// swap `*p` and src (always fetches)
    Xchg,
    /// compare `*p` with r0, store src if equal; r0 = old (always fetches)
    CmpXchg,
}

/// Fetch flag of atomic operations.
pub const ATOMIC_FETCH: i32 = 0x01;

impl AtomicOp {
    /// The `imm` value without the fetch flag.
    pub fn code(self) -> i32 {
        match self {
            AtomicOp::Add => 0x00,
            AtomicOp::Or => 0x40,
            AtomicOp::And => 0x50,
            AtomicOp::Xor => 0xa0,
            AtomicOp::Xchg => 0xe0 | ATOMIC_FETCH,
            AtomicOp::CmpXchg => 0xf0 | ATOMIC_FETCH,
        }
    }

    /// Assembly name (after `lock` and the optional `fetch`).
    pub fn name(self) -> &'static str {
        match self {
            AtomicOp::Add => "add",
            AtomicOp::Or => "or",
            AtomicOp::And => "and",
            AtomicOp::Xor => "xor",
            AtomicOp::Xchg => "xchg",
            AtomicOp::CmpXchg => "cmpxchg",
        }
    }

    /// Whether the operation always returns the old value.
    pub fn always_fetches(self) -> bool {
        matches!(self, AtomicOp::Xchg | AtomicOp::CmpXchg)
    }

    /// All operations, for name lookup.
    pub const ALL: [AtomicOp; 6] = [
        AtomicOp::Add,
        AtomicOp::Or,
        AtomicOp::And,
        AtomicOp::Xor,
        AtomicOp::Xchg,
        AtomicOp::CmpXchg,
    ];
}

/// Condition of a conditional jump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// ==
    Eq,
    /// unsigned >
    Gt,
    /// unsigned >=
    Ge,
    /// dst & src != 0
    Set,
    /// !=
    Ne,
    /// signed >
    Sgt,
    /// signed >=
    Sge,
    /// unsigned <
    Lt,
    /// unsigned <=
    Le,
    /// signed <
    Slt,
    /// signed <=
    Sle,
}

impl Cond {
    /// Opcode high nibble.
    pub const fn code(self) -> u8 {
        match self {
            Cond::Eq => 0x10,
            Cond::Gt => 0x20,
            Cond::Ge => 0x30,
            Cond::Set => 0x40,
            Cond::Ne => 0x50,
            Cond::Sgt => 0x60,
            Cond::Sge => 0x70,
            Cond::Lt => 0xa0,
            Cond::Le => 0xb0,
            Cond::Slt => 0xc0,
            Cond::Sle => 0xd0,
        }
    }

    /// Assembly mnemonic stem.
    pub fn name(self) -> &'static str {
        match self {
            Cond::Eq => "jeq",
            Cond::Gt => "jgt",
            Cond::Ge => "jge",
            Cond::Set => "jset",
            Cond::Ne => "jne",
            Cond::Sgt => "jsgt",
            Cond::Sge => "jsge",
            Cond::Lt => "jlt",
            Cond::Le => "jle",
            Cond::Slt => "jslt",
            Cond::Sle => "jsle",
        }
    }

    /// All conditions, for name lookup.
    pub const ALL: [Cond; 11] = [
        Cond::Eq,
        Cond::Gt,
        Cond::Ge,
        Cond::Set,
        Cond::Ne,
        Cond::Sgt,
        Cond::Sge,
        Cond::Lt,
        Cond::Le,
        Cond::Slt,
        Cond::Sle,
    ];

    /// The condition whose opcode high nibble is `c` (bits 4..8), by table.
    pub(crate) fn from_code(c: u8) -> Option<Cond> {
        const BY_NIBBLE: [Option<Cond>; 16] = {
            let mut table = [None; 16];
            let mut k = 0;
            while k < Cond::ALL.len() {
                table[(Cond::ALL[k].code() >> 4) as usize] = Some(Cond::ALL[k]);
                k += 1;
            }
            table
        };
        BY_NIBBLE[(c >> 4) as usize]
    }
}
