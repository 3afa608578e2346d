//! [`Instruction`]: the typed, field-validated form of one or two slots, its strict decoder
//! and its encoder.

use std::fmt;

use super::{
    AluOp, AtomicOp, ByteOrder, Class, Cond, Operand, RawInsn, Size, Width, ATOMIC_FETCH,
    MODE_ATOMIC, MODE_MEM, MODE_MEMSX, NUM_REGS,
};

/// A decoded, field-validated instruction. Jump offsets are relative to the next slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instruction {
    /// Arithmetic `dst = dst op src`.
    Alu {
        /// operation width
        width: Width,
        /// operation
        op: AluOp,
        /// destination register
        dst: u8,
        /// second operand
        src: Operand,
    },
    /// `dst = -dst`.
    Neg {
        /// operation width
        width: Width,
        /// destination register
        dst: u8,
    },
    /// Sign-extending move of the low `bits` (8, 16 or 32) of `src`.
    MovSx {
        /// result width (32-bit results are zero-extended)
        width: Width,
        /// destination register
        dst: u8,
        /// source register
        src: u8,
        /// source bits: 8, 16 or 32
        bits: u8,
    },
    /// Byte order conversion of the low `bits` (16, 32, 64) of `dst`.
    End {
        /// conversion kind
        order: ByteOrder,
        /// register converted in place
        dst: u8,
        /// 16, 32 or 64
        bits: u8,
    },
    /// `lddw`: 64-bit immediate load, two slots.
    LoadImm64 {
        /// destination register
        dst: u8,
        /// the value
        imm: u64,
    },
    /// `dst = *(size *)(src + off)`, optionally sign-extended.
    Load {
        /// access size
        size: Size,
        /// sign-extend (ldxs*)
        signed: bool,
        /// destination register
        dst: u8,
        /// base register
        src: u8,
        /// displacement
        off: i16,
    },
    /// `*(size *)(dst + off) = value`.
    Store {
        /// access size
        size: Size,
        /// base register
        dst: u8,
        /// displacement
        off: i16,
        /// stored register or immediate
        value: Operand,
    },
    /// Atomic read-modify-write on `*(size *)(dst + off)` (size is W or DW).
    Atomic {
        /// access size
        size: Size,
        /// operation
        op: AtomicOp,
        /// return the old value in `src` (r0 for cmpxchg)
        fetch: bool,
        /// base register
        dst: u8,
        /// operand register
        src: u8,
        /// displacement
        off: i16,
    },
    /// Unconditional jump by a 16-bit (`ja`) or 32-bit (`ja32`/gotol) offset.
    Ja {
        /// `true` for the JMP32-class encoding with the offset in `imm`
        long: bool,
        /// offset in slots from the next instruction
        off: i32,
    },
    /// Conditional jump.
    Jump {
        /// compare width
        width: Width,
        /// condition
        cond: Cond,
        /// left operand
        dst: u8,
        /// right operand
        src: Operand,
        /// offset in slots from the next instruction
        off: i16,
    },
    /// Helper call by static id.
    CallHelper {
        /// helper id
        id: i32,
    },
    /// Helper call by the id held in a register (`callx`).
    CallReg {
        /// register holding the helper id
        reg: u8,
    },
    /// Program-local call, target is next + off.
    CallLocal {
        /// offset in slots from the next instruction
        off: i32,
    },
    /// Return from the current function.
    Exit,
}

/// Why a slot does not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The opcode byte is not a valid eBPF operation.
    InvalidOpcode(u8),
    /// A register field above r10.
    InvalidRegister(u8),
    /// A field the operation does not use is not zero.
    NonZeroField {
        /// field name
        field: &'static str,
        /// the value found
        value: i64,
    },
    /// A used field has a value the operation does not accept.
    InvalidField {
        /// field name
        field: &'static str,
        /// the value found
        value: i64,
    },
    /// `lddw` whose second slot is missing.
    TruncatedLddw,
    /// `lddw` second slot with non-zero opcode/registers/offset.
    BadLddwSecondSlot,
    /// A `lddw` pseudo source (map fd, map value, BTF...) that needs maps.
    UnsupportedLddwSource(u8),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::InvalidOpcode(op) => write!(f, "invalid opcode {op:#04x}"),
            DecodeError::InvalidRegister(r) => write!(f, "invalid register r{r}"),
            DecodeError::NonZeroField { field, value } => {
                write!(f, "unused field `{field}` must be zero, found {value:#x}")
            }
            DecodeError::InvalidField { field, value } => {
                write!(f, "invalid value {value:#x} in field `{field}`")
            }
            DecodeError::TruncatedLddw => write!(f, "lddw is missing its second slot"),
            DecodeError::BadLddwSecondSlot => {
                write!(
                    f,
                    "lddw second slot must have zero opcode, registers and offset"
                )
            }
            DecodeError::UnsupportedLddwSource(s) => write!(
                f,
                "lddw with pseudo source {s} (maps, map values, BTF) is not supported"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

fn zero(field: &'static str, value: i64) -> Result<(), DecodeError> {
    if value != 0 {
        Err(DecodeError::NonZeroField { field, value })
    } else {
        Ok(())
    }
}

fn reg(r: u8) -> Result<u8, DecodeError> {
    if (r as usize) < NUM_REGS {
        Ok(r)
    } else {
        Err(DecodeError::InvalidRegister(r))
    }
}

impl Instruction {
    /// Number of slots the instruction occupies (2 for `lddw`).
    pub fn slots(&self) -> usize {
        match self {
            Instruction::LoadImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// Decodes the instruction starting at `slots[0]`; `lddw` also reads `slots[1]`.
    /// Every field an operation does not use must be zero.
    pub fn decode(slots: &[RawInsn]) -> Result<Instruction, DecodeError> {
        let Some(&i) = slots.first() else {
            return Err(DecodeError::TruncatedLddw);
        };
        let op = i.opcode;
        match i.class() {
            Class::Alu | Class::Alu64 => decode_alu(i),
            Class::Jmp | Class::Jmp32 => decode_jmp(i),
            Class::Ld => {
                if op != 0x18 {
                    return Err(DecodeError::InvalidOpcode(op));
                }
                if i.src != 0 {
                    return Err(DecodeError::UnsupportedLddwSource(i.src));
                }
                zero("offset", i.off as i64)?;
                let dst = reg(i.dst)?;
                let Some(&hi) = slots.get(1) else {
                    return Err(DecodeError::TruncatedLddw);
                };
                if hi.opcode != 0 || hi.dst != 0 || hi.src != 0 || hi.off != 0 {
                    return Err(DecodeError::BadLddwSecondSlot);
                }
                let imm = (i.imm as u32 as u64) | ((hi.imm as u32 as u64) << 32);
                Ok(Instruction::LoadImm64 { dst, imm })
            }
            Class::Ldx => {
                let mode = op & 0xe0;
                let size = Size::from_code(op);
                let signed = match mode {
                    MODE_MEM => false,
                    MODE_MEMSX if size != Size::DW => true,
                    _ => return Err(DecodeError::InvalidOpcode(op)),
                };
                zero("imm", i.imm as i64)?;
                Ok(Instruction::Load {
                    size,
                    signed,
                    dst: reg(i.dst)?,
                    src: reg(i.src)?,
                    off: i.off,
                })
            }
            Class::St => {
                if op & 0xe0 != MODE_MEM {
                    return Err(DecodeError::InvalidOpcode(op));
                }
                zero("src", i.src as i64)?;
                Ok(Instruction::Store {
                    size: Size::from_code(op),
                    dst: reg(i.dst)?,
                    off: i.off,
                    value: Operand::Imm(i.imm),
                })
            }
            Class::Stx => {
                let size = Size::from_code(op);
                match op & 0xe0 {
                    MODE_MEM => {
                        zero("imm", i.imm as i64)?;
                        Ok(Instruction::Store {
                            size,
                            dst: reg(i.dst)?,
                            off: i.off,
                            value: Operand::Reg(reg(i.src)?),
                        })
                    }
                    MODE_ATOMIC if matches!(size, Size::W | Size::DW) => {
                        let fetch = i.imm & ATOMIC_FETCH != 0;
                        let aop = AtomicOp::ALL
                            .into_iter()
                            .find(|a| {
                                a.code() == i.imm
                                    || (!a.always_fetches() && a.code() | ATOMIC_FETCH == i.imm)
                            })
                            .ok_or(DecodeError::InvalidField {
                                field: "imm",
                                value: i.imm as i64,
                            })?;
                        Ok(Instruction::Atomic {
                            size,
                            op: aop,
                            fetch,
                            dst: reg(i.dst)?,
                            src: reg(i.src)?,
                            off: i.off,
                        })
                    }
                    _ => Err(DecodeError::InvalidOpcode(op)),
                }
            }
        }
    }

    /// Encodes into one or two slots (the second is `None` unless `lddw`).
    pub fn encode(&self) -> (RawInsn, Option<RawInsn>) {
        let one = |opcode, dst, src, off, imm| (RawInsn::new(opcode, dst, src, off, imm), None);
        match *self {
            Instruction::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let class = if width == Width::W64 { 7 } else { 4 };
                match src {
                    Operand::Imm(imm) => one(class | op.code(), dst, 0, op.off(), imm),
                    Operand::Reg(s) => one(class | 0x08 | op.code(), dst, s, op.off(), 0),
                }
            }
            Instruction::Neg { width, dst } => {
                let class = if width == Width::W64 { 7 } else { 4 };
                one(class | 0x80, dst, 0, 0, 0)
            }
            Instruction::MovSx {
                width,
                dst,
                src,
                bits,
            } => {
                let class = if width == Width::W64 { 7 } else { 4 };
                one(class | 0x08 | 0xb0, dst, src, bits as i16, 0)
            }
            Instruction::End { order, dst, bits } => {
                let opcode = match order {
                    ByteOrder::Le => 0xd4,
                    ByteOrder::Be => 0xdc,
                    ByteOrder::Swap => 0xd7,
                };
                one(opcode, dst, 0, 0, bits as i32)
            }
            Instruction::LoadImm64 { dst, imm } => (
                RawInsn::new(0x18, dst, 0, 0, imm as u32 as i32),
                Some(RawInsn::new(0, 0, 0, 0, (imm >> 32) as u32 as i32)),
            ),
            Instruction::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => {
                let mode = if signed { MODE_MEMSX } else { MODE_MEM };
                one(1 | mode | size.code(), dst, src, off, 0)
            }
            Instruction::Store {
                size,
                dst,
                off,
                value,
            } => match value {
                Operand::Imm(imm) => one(2 | MODE_MEM | size.code(), dst, 0, off, imm),
                Operand::Reg(s) => one(3 | MODE_MEM | size.code(), dst, s, off, 0),
            },
            Instruction::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => {
                let imm = op.code() | if fetch { ATOMIC_FETCH } else { 0 };
                one(3 | MODE_ATOMIC | size.code(), dst, src, off, imm)
            }
            Instruction::Ja { long: false, off } => one(0x05, 0, 0, off as i16, 0),
            Instruction::Ja { long: true, off } => one(0x06, 0, 0, 0, off),
            Instruction::Jump {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                let class = if width == Width::W64 { 5 } else { 6 };
                match src {
                    Operand::Imm(imm) => one(class | cond.code(), dst, 0, off, imm),
                    Operand::Reg(s) => one(class | 0x08 | cond.code(), dst, s, off, 0),
                }
            }
            Instruction::CallHelper { id } => one(0x85, 0, 0, 0, id),
            Instruction::CallReg { reg } => one(0x8d, reg, 0, 0, 0),
            Instruction::CallLocal { off } => one(0x85, 0, 1, 0, off),
            Instruction::Exit => one(0x95, 0, 0, 0, 0),
        }
    }

    /// Appends the encoded slots to `out`.
    pub fn encode_into(&self, out: &mut Vec<RawInsn>) {
        let (a, b) = self.encode();
        out.push(a);
        if let Some(b) = b {
            out.push(b);
        }
    }

    /// The register this instruction writes, if any (used to reject writes to r10).
    pub fn written_register(&self) -> Option<u8> {
        match *self {
            Instruction::Alu { dst, .. }
            | Instruction::Neg { dst, .. }
            | Instruction::MovSx { dst, .. }
            | Instruction::End { dst, .. }
            | Instruction::LoadImm64 { dst, .. }
            | Instruction::Load { dst, .. } => Some(dst),
            Instruction::Atomic {
                op: AtomicOp::CmpXchg,
                ..
            } => Some(0),
            Instruction::Atomic {
                fetch: true, src, ..
            } => Some(src),
            _ => None,
        }
    }
}

fn decode_alu(i: RawInsn) -> Result<Instruction, DecodeError> {
    let op = i.opcode;
    let width = if i.class() == Class::Alu64 {
        Width::W64
    } else {
        Width::W32
    };
    let is_reg = op & 0x08 != 0;
    let dst = reg(i.dst)?;
    let code = op & 0xf0;
    match code {
        0x80 => {
            if is_reg {
                return Err(DecodeError::InvalidOpcode(op));
            }
            zero("src", i.src as i64)?;
            zero("offset", i.off as i64)?;
            zero("imm", i.imm as i64)?;
            Ok(Instruction::Neg { width, dst })
        }
        0xd0 => {
            let order = match (width, is_reg) {
                (Width::W32, false) => ByteOrder::Le,
                (Width::W32, true) => ByteOrder::Be,
                (Width::W64, false) => ByteOrder::Swap,
                (Width::W64, true) => return Err(DecodeError::InvalidOpcode(op)),
            };
            zero("src", i.src as i64)?;
            zero("offset", i.off as i64)?;
            if !matches!(i.imm, 16 | 32 | 64) {
                return Err(DecodeError::InvalidField {
                    field: "imm",
                    value: i.imm as i64,
                });
            }
            Ok(Instruction::End {
                order,
                dst,
                bits: i.imm as u8,
            })
        }
        0xe0 | 0xf0 => Err(DecodeError::InvalidOpcode(op)),
        _ => {
            let signed_ok = matches!(code, 0x30 | 0x90);
            if code == 0xb0 && is_reg && i.off != 0 {
                let ok = match width {
                    Width::W64 => matches!(i.off, 8 | 16 | 32),
                    Width::W32 => matches!(i.off, 8 | 16),
                };
                if !ok {
                    return Err(DecodeError::InvalidField {
                        field: "offset",
                        value: i.off as i64,
                    });
                }
                zero("imm", i.imm as i64)?;
                return Ok(Instruction::MovSx {
                    width,
                    dst,
                    src: reg(i.src)?,
                    bits: i.off as u8,
                });
            }
            let alu = match (code, i.off) {
                (_, 0) => AluOp::unsigned_from_code(code).ok_or(DecodeError::InvalidOpcode(op))?,
                (0x30, 1) => AluOp::SDiv,
                (0x90, 1) => AluOp::SMod,
                (_, off) => {
                    return Err(if signed_ok {
                        DecodeError::InvalidField {
                            field: "offset",
                            value: off as i64,
                        }
                    } else {
                        DecodeError::NonZeroField {
                            field: "offset",
                            value: off as i64,
                        }
                    })
                }
            };
            let src = if is_reg {
                zero("imm", i.imm as i64)?;
                Operand::Reg(reg(i.src)?)
            } else {
                zero("src", i.src as i64)?;
                Operand::Imm(i.imm)
            };
            Ok(Instruction::Alu {
                width,
                op: alu,
                dst,
                src,
            })
        }
    }
}

fn decode_jmp(i: RawInsn) -> Result<Instruction, DecodeError> {
    let op = i.opcode;
    let width = if i.class() == Class::Jmp {
        Width::W64
    } else {
        Width::W32
    };
    let is_reg = op & 0x08 != 0;
    match (op & 0xf0, width) {
        (0x00, _) => {
            if is_reg {
                return Err(DecodeError::InvalidOpcode(op));
            }
            zero("dst", i.dst as i64)?;
            zero("src", i.src as i64)?;
            if width == Width::W64 {
                zero("imm", i.imm as i64)?;
                Ok(Instruction::Ja {
                    long: false,
                    off: i.off as i32,
                })
            } else {
                zero("offset", i.off as i64)?;
                Ok(Instruction::Ja {
                    long: true,
                    off: i.imm,
                })
            }
        }
        (0x80, Width::W64) => {
            zero("offset", i.off as i64)?;
            if is_reg {
                zero("src", i.src as i64)?;
                zero("imm", i.imm as i64)?;
                Ok(Instruction::CallReg { reg: reg(i.dst)? })
            } else {
                zero("dst", i.dst as i64)?;
                match i.src {
                    0 => Ok(Instruction::CallHelper { id: i.imm }),
                    1 => Ok(Instruction::CallLocal { off: i.imm }),
                    s => Err(DecodeError::InvalidField {
                        field: "src",
                        value: s as i64,
                    }),
                }
            }
        }
        (0x90, Width::W64) => {
            if is_reg {
                return Err(DecodeError::InvalidOpcode(op));
            }
            zero("dst", i.dst as i64)?;
            zero("src", i.src as i64)?;
            zero("offset", i.off as i64)?;
            zero("imm", i.imm as i64)?;
            Ok(Instruction::Exit)
        }
        (code, _) => {
            let cond = Cond::from_code(code).ok_or(DecodeError::InvalidOpcode(op))?;
            let src = if is_reg {
                zero("imm", i.imm as i64)?;
                Operand::Reg(reg(i.src)?)
            } else {
                zero("src", i.src as i64)?;
                Operand::Imm(i.imm)
            };
            Ok(Instruction::Jump {
                width,
                cond,
                dst: reg(i.dst)?,
                src,
                off: i.off,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_word_round_trip() {
        let w = 0x5566778800000018u64;
        let i = RawInsn::from_word(w);
        assert_eq!(i.opcode, 0x18);
        assert_eq!(i.imm as u32, 0x55667788);
        assert_eq!(i.to_word(), w);
    }

    #[test]
    fn rejects_nonzero_unused_fields() {
        let add_imm_off = RawInsn::new(0x07, 0, 0, 1, 1);
        assert!(matches!(
            Instruction::decode(&[add_imm_off]),
            Err(DecodeError::NonZeroField {
                field: "offset",
                ..
            })
        ));
        let exit_dst = RawInsn::new(0x95, 1, 0, 0, 0);
        assert!(Instruction::decode(&[exit_dst]).is_err());
        assert_eq!(
            Instruction::decode(&[RawInsn::new(0x95, 0, 0, 0, 0)]),
            Ok(Instruction::Exit)
        );
    }

    #[test]
    fn decode_encode_agree_on_every_valid_opcode() {
        for op in 0..=255u8 {
            let slots = [RawInsn::new(op, 1, 2, 0, 0), RawInsn::default()];
            if let Ok(ins) = Instruction::decode(&slots) {
                let (a, _) = ins.encode();
                assert_eq!(a.opcode, op, "{ins:?}");
            }
        }
    }
}
