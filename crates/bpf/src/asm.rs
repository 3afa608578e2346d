//! Assembler for the syntax of the bpf_conformance suite: `mov32 %r0, 0`,
//! `ldxb %r0, [%r1+0x2]`, `lock fetch add [%r10-8], %r1`, `call local f`, labels,
//! `+N`/`-N` jump offsets and the implicit label `exit` (the first `exit`).
//! Errors carry the 1-based line and column of the offending token.

use std::collections::HashMap;
use std::fmt;

use crate::isa::{AluOp, AtomicOp, ByteOrder, Cond, Instruction, Operand, RawInsn, Size, Width};

/// What went wrong while assembling; see [`AsmError`] for the location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AsmErrorKind {
    /// The mnemonic is not an instruction.
    UnknownMnemonic(String),
    /// Not a register `%r0`..`%r10`.
    BadRegister(String),
    /// Not a number.
    BadNumber(String),
    /// An immediate that does not fit its field.
    ImmediateOutOfRange(String),
    /// A memory or jump offset that does not fit 16 bits (32 for `ja32`/`call local`).
    OffsetOutOfRange(String),
    /// Expected a memory operand `[%rN+off]`.
    ExpectedMemory(String),
    /// Expected a jump target (label or `+N`/`-N`).
    BadTarget(String),
    /// Wrong number of operands.
    OperandCount {
        /// mnemonic
        mnemonic: String,
        /// operands required
        expected: usize,
        /// operands given
        found: usize,
    },
    /// A jump to a label that is never defined.
    UnknownLabel(String),
    /// A label defined twice.
    DuplicateLabel(String),
    /// `lock` with a missing or unknown atomic operation.
    BadAtomic(String),
}

/// An assembly error at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The problem.
    pub kind: AsmErrorKind,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: ", self.line, self.column)?;
        match &self.kind {
            AsmErrorKind::UnknownMnemonic(m) => write!(f, "unknown mnemonic `{m}`"),
            AsmErrorKind::BadRegister(r) => write!(f, "invalid register `{r}`"),
            AsmErrorKind::BadNumber(n) => write!(f, "invalid number `{n}`"),
            AsmErrorKind::ImmediateOutOfRange(n) => {
                write!(f, "immediate `{n}` out of 32-bit range")
            }
            AsmErrorKind::OffsetOutOfRange(n) => write!(f, "offset `{n}` out of range"),
            AsmErrorKind::ExpectedMemory(t) => {
                write!(f, "expected a memory operand like [%r1+8], found `{t}`")
            }
            AsmErrorKind::BadTarget(t) => {
                write!(f, "expected a label or +N/-N jump offset, found `{t}`")
            }
            AsmErrorKind::OperandCount {
                mnemonic,
                expected,
                found,
            } => write!(
                f,
                "`{mnemonic}` takes {expected} operand(s), found {found}"
            ),
            AsmErrorKind::UnknownLabel(l) => write!(f, "unknown label `{l}`"),
            AsmErrorKind::DuplicateLabel(l) => write!(f, "label `{l}` defined twice"),
            AsmErrorKind::BadAtomic(t) => write!(
                f,
                "invalid lock operation `{t}` (expected lock [fetch] add|or|and|xor|xchg|cmpxchg[32] [%rN+off], %rM)"
            ),
        }
    }
}

impl std::error::Error for AsmError {}

#[derive(Clone, Copy)]
struct Tok<'a> {
    text: &'a str,
    col: usize,
}

/// Splits a line into tokens at whitespace and commas; `[...]` stays one token.
fn tokenize(line: &str) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b',' {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'[' {
            while i < b.len() && b[i] != b']' {
                i += 1;
            }
            i = (i + 1).min(b.len());
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b',' {
                i += 1;
            }
        }
        toks.push(Tok {
            text: &line[start..i],
            col: start + 1,
        });
    }
    toks
}

/// How an unresolved target is stored once the label is known.
#[derive(Clone, Copy)]
enum TargetField {
    /// 16-bit `off` field (conditional jumps, `ja`).
    Off16,
    /// 32-bit `imm` field (`ja32`, `call local`).
    Imm32,
}

struct Pending {
    slot: usize,
    line: usize,
    col: usize,
    label: String,
    field: TargetField,
}

struct LineCtx<'a> {
    line: usize,
    mnemonic: Tok<'a>,
}

impl LineCtx<'_> {
    fn err(&self, col: usize, kind: AsmErrorKind) -> AsmError {
        AsmError {
            line: self.line,
            column: col,
            kind,
        }
    }

    fn count(&self, ops: &[Tok<'_>], n: usize) -> Result<(), AsmError> {
        if ops.len() != n {
            return Err(self.err(
                self.mnemonic.col,
                AsmErrorKind::OperandCount {
                    mnemonic: self.mnemonic.text.to_string(),
                    expected: n,
                    found: ops.len(),
                },
            ));
        }
        Ok(())
    }

    fn reg(&self, t: Tok<'_>) -> Result<u8, AsmError> {
        parse_reg(t.text).ok_or_else(|| self.err(t.col, AsmErrorKind::BadRegister(t.text.into())))
    }

    fn imm32(&self, t: Tok<'_>) -> Result<i32, AsmError> {
        let v = parse_int(t.text)
            .ok_or_else(|| self.err(t.col, AsmErrorKind::BadNumber(t.text.into())))?;
        let hex = t.text.trim_start_matches(['+', '-']).starts_with("0x");
        let ok = if hex && !t.text.starts_with('-') {
            (0..=u32::MAX as i128).contains(&v)
        } else {
            (i32::MIN as i128..=i32::MAX as i128).contains(&v)
        };
        if !ok {
            return Err(self.err(t.col, AsmErrorKind::ImmediateOutOfRange(t.text.into())));
        }
        Ok(v as u32 as i32)
    }

    fn imm64(&self, t: Tok<'_>) -> Result<u64, AsmError> {
        let v = parse_int(t.text)
            .ok_or_else(|| self.err(t.col, AsmErrorKind::BadNumber(t.text.into())))?;
        if !(i64::MIN as i128..=u64::MAX as i128).contains(&v) {
            return Err(self.err(t.col, AsmErrorKind::ImmediateOutOfRange(t.text.into())));
        }
        Ok(v as u64)
    }

    fn operand(&self, t: Tok<'_>) -> Result<Operand, AsmError> {
        if t.text.starts_with('%') {
            Ok(Operand::Reg(self.reg(t)?))
        } else {
            Ok(Operand::Imm(self.imm32(t)?))
        }
    }

    /// `[%rN]`, `[%rN+off]`, `[%rN-off]`.
    fn mem(&self, t: Tok<'_>) -> Result<(u8, i16), AsmError> {
        let bad = || self.err(t.col, AsmErrorKind::ExpectedMemory(t.text.into()));
        let inner = t
            .text
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .ok_or_else(bad)?;
        let inner: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
        let split = inner.find(['+', '-']).unwrap_or(inner.len());
        let (r, o) = inner.split_at(split);
        let reg =
            parse_reg(r).ok_or_else(|| self.err(t.col + 1, AsmErrorKind::BadRegister(r.into())))?;
        if o.is_empty() {
            return Ok((reg, 0));
        }
        Ok((reg, self.off16(o, t.col + 1 + split)?))
    }

    fn off16(&self, text: &str, col: usize) -> Result<i16, AsmError> {
        let v =
            parse_int(text).ok_or_else(|| self.err(col, AsmErrorKind::BadNumber(text.into())))?;
        let hex = text.trim_start_matches(['+', '-']).starts_with("0x");
        let ok = if hex && !text.starts_with('-') {
            (0..=u16::MAX as i128).contains(&v)
        } else {
            (i16::MIN as i128..=i16::MAX as i128).contains(&v)
        };
        if !ok {
            return Err(self.err(col, AsmErrorKind::OffsetOutOfRange(text.into())));
        }
        Ok(v as u16 as i16)
    }
}

/// Parses `%r0`..`%r10`.
fn parse_reg(s: &str) -> Option<u8> {
    let n = s.strip_prefix("%r")?;
    if n.is_empty()
        || n.len() > 2
        || !n.bytes().all(|b| b.is_ascii_digit())
        || (n.len() == 2 && n.starts_with('0'))
    {
        return None;
    }
    let v: u8 = n.parse().ok()?;
    (v <= 10).then_some(v)
}

/// Parses a signed decimal or `0x` hexadecimal integer.
fn parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if h.is_empty() || h.len() > 32 {
            return None;
        }
        i128::from_str_radix(h, 16).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) || body.len() > 30 {
            return None;
        }
        body.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn is_label(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == '.')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')
}

/// Splits `name32`/`name64` into the stem and width (plain names are 64-bit).
fn width_suffix(m: &str) -> (&str, Width) {
    if let Some(s) = m.strip_suffix("32") {
        (s, Width::W32)
    } else {
        (m, Width::W64)
    }
}

/// Assembles `source` into instruction slots.
pub fn assemble(source: &str) -> Result<Vec<RawInsn>, AsmError> {
    let mut out: Vec<RawInsn> = Vec::new();
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut first_exit: Option<usize> = None;
    let mut pending: Vec<Pending> = Vec::new();

    for (ln, raw_line) in source.lines().enumerate() {
        let line_no = ln + 1;
        let line = raw_line.split('#').next().unwrap_or("");
        let mut toks = tokenize(line);
        if let Some(first) = toks.first().copied() {
            if let Some(name) = first.text.strip_suffix(':') {
                if !is_label(name) {
                    return Err(AsmError {
                        line: line_no,
                        column: first.col,
                        kind: AsmErrorKind::BadTarget(name.into()),
                    });
                }
                if labels.insert(name.to_string(), out.len()).is_some() {
                    return Err(AsmError {
                        line: line_no,
                        column: first.col,
                        kind: AsmErrorKind::DuplicateLabel(name.into()),
                    });
                }
                toks.remove(0);
            }
        }
        let Some((&mnemonic, ops)) = toks.split_first() else {
            continue;
        };
        let cx = LineCtx {
            line: line_no,
            mnemonic,
        };
        let slot = out.len();
        let mut target = |t: Tok<'_>, field: TargetField| -> Result<i32, AsmError> {
            if t.text.starts_with('+') || t.text.starts_with('-') {
                return match field {
                    TargetField::Off16 => Ok(cx.off16(t.text, t.col)? as i32),
                    TargetField::Imm32 => cx.imm32(t),
                };
            }
            if !is_label(t.text) {
                return Err(cx.err(t.col, AsmErrorKind::BadTarget(t.text.into())));
            }
            pending.push(Pending {
                slot,
                line: line_no,
                col: t.col,
                label: t.text.to_string(),
                field,
            });
            Ok(0)
        };
        let m = mnemonic.text;
        let ins = match m {
            "exit" => {
                cx.count(ops, 0)?;
                first_exit.get_or_insert(slot);
                Instruction::Exit
            }
            "ja" => {
                cx.count(ops, 1)?;
                Instruction::Ja {
                    long: false,
                    off: target(ops[0], TargetField::Off16)?,
                }
            }
            "ja32" | "gotol" => {
                cx.count(ops, 1)?;
                Instruction::Ja {
                    long: true,
                    off: target(ops[0], TargetField::Imm32)?,
                }
            }
            "call" => match ops {
                [t] if t.text.starts_with('%') => Instruction::CallReg { reg: cx.reg(*t)? },
                [t] => Instruction::CallHelper { id: cx.imm32(*t)? },
                [mode, t] if mode.text == "helper" => Instruction::CallHelper { id: cx.imm32(*t)? },
                [mode, t] if mode.text == "local" => Instruction::CallLocal {
                    off: target(*t, TargetField::Imm32)?,
                },
                _ => return Err(cx.err(mnemonic.col, AsmErrorKind::BadTarget(line.trim().into()))),
            },
            "lddw" => {
                cx.count(ops, 2)?;
                Instruction::LoadImm64 {
                    dst: cx.reg(ops[0])?,
                    imm: cx.imm64(ops[1])?,
                }
            }
            "lock" => assemble_lock(&cx, ops)?,
            _ => {
                if let Some(ins) = assemble_mem(&cx, m, ops)? {
                    ins
                } else if let Some(ins) = assemble_alu(&cx, m, ops)? {
                    ins
                } else {
                    let (stem, width) = width_suffix(m);
                    let Some(cond) = Cond::ALL.into_iter().find(|c| c.name() == stem) else {
                        return Err(cx.err(mnemonic.col, AsmErrorKind::UnknownMnemonic(m.into())));
                    };
                    cx.count(ops, 3)?;
                    let dst = cx.reg(ops[0])?;
                    let src = cx.operand(ops[1])?;
                    let off = target(ops[2], TargetField::Off16)? as i16;
                    Instruction::Jump {
                        width,
                        cond,
                        dst,
                        src,
                        off,
                    }
                }
            }
        };
        ins.encode_into(&mut out);
    }

    if let Some(e) = first_exit {
        labels.entry("exit".to_string()).or_insert(e);
    }
    for p in pending {
        let Some(&dest) = labels.get(&p.label) else {
            return Err(AsmError {
                line: p.line,
                column: p.col,
                kind: AsmErrorKind::UnknownLabel(p.label),
            });
        };
        let rel = dest as i64 - p.slot as i64 - 1;
        match p.field {
            TargetField::Off16 => {
                out[p.slot].off = i16::try_from(rel).map_err(|_| AsmError {
                    line: p.line,
                    column: p.col,
                    kind: AsmErrorKind::OffsetOutOfRange(p.label.clone()),
                })?;
            }
            TargetField::Imm32 => out[p.slot].imm = rel as i32,
        }
    }
    Ok(out)
}

fn assemble_lock(cx: &LineCtx<'_>, ops: &[Tok<'_>]) -> Result<Instruction, AsmError> {
    let (fetch, rest) = match ops.split_first() {
        Some((f, rest)) if f.text == "fetch" => (true, rest),
        _ => (false, ops),
    };
    let Some((op_tok, operands)) = rest.split_first() else {
        return Err(cx.err(cx.mnemonic.col, AsmErrorKind::BadAtomic(String::new())));
    };
    let (stem, width) = width_suffix(op_tok.text);
    let op = AtomicOp::ALL
        .into_iter()
        .find(|a| a.name() == stem)
        .ok_or_else(|| cx.err(op_tok.col, AsmErrorKind::BadAtomic(op_tok.text.into())))?;
    if operands.len() != 2 {
        return Err(cx.err(
            cx.mnemonic.col,
            AsmErrorKind::OperandCount {
                mnemonic: format!("lock {}", op_tok.text),
                expected: 2,
                found: operands.len(),
            },
        ));
    }
    let (dst, off) = cx.mem(operands[0])?;
    let src = cx.reg(operands[1])?;
    Ok(Instruction::Atomic {
        size: if width == Width::W32 {
            Size::W
        } else {
            Size::DW
        },
        op,
        fetch: fetch || op.always_fetches(),
        dst,
        src,
        off,
    })
}

fn size_of(s: &str) -> Option<Size> {
    [Size::B, Size::H, Size::W, Size::DW]
        .into_iter()
        .find(|z| z.suffix() == s)
}

fn assemble_mem(
    cx: &LineCtx<'_>,
    m: &str,
    ops: &[Tok<'_>],
) -> Result<Option<Instruction>, AsmError> {
    if let Some(s) = m
        .strip_prefix("ldxs")
        .and_then(size_of)
        .filter(|s| *s != Size::DW)
    {
        cx.count(ops, 2)?;
        let dst = cx.reg(ops[0])?;
        let (src, off) = cx.mem(ops[1])?;
        return Ok(Some(Instruction::Load {
            size: s,
            signed: true,
            dst,
            src,
            off,
        }));
    }
    if let Some(s) = m.strip_prefix("ldx").and_then(size_of) {
        cx.count(ops, 2)?;
        let dst = cx.reg(ops[0])?;
        let (src, off) = cx.mem(ops[1])?;
        return Ok(Some(Instruction::Load {
            size: s,
            signed: false,
            dst,
            src,
            off,
        }));
    }
    if let Some(s) = m.strip_prefix("stx").and_then(size_of) {
        cx.count(ops, 2)?;
        let (dst, off) = cx.mem(ops[0])?;
        let src = cx.reg(ops[1])?;
        return Ok(Some(Instruction::Store {
            size: s,
            dst,
            off,
            value: Operand::Reg(src),
        }));
    }
    if let Some(s) = m.strip_prefix("st").and_then(size_of) {
        cx.count(ops, 2)?;
        let (dst, off) = cx.mem(ops[0])?;
        let imm = cx.imm32(ops[1])?;
        return Ok(Some(Instruction::Store {
            size: s,
            dst,
            off,
            value: Operand::Imm(imm),
        }));
    }
    Ok(None)
}

fn assemble_alu(
    cx: &LineCtx<'_>,
    m: &str,
    ops: &[Tok<'_>],
) -> Result<Option<Instruction>, AsmError> {
    for (prefix, order) in [
        ("le", ByteOrder::Le),
        ("be", ByteOrder::Be),
        ("bswap", ByteOrder::Swap),
        ("swap", ByteOrder::Swap),
    ] {
        if let Some(bits @ ("16" | "32" | "64")) = m.strip_prefix(prefix) {
            cx.count(ops, 1)?;
            return Ok(Some(Instruction::End {
                order,
                dst: cx.reg(ops[0])?,
                bits: bits.parse().expect("literal bit count"),
            }));
        }
    }
    if let Some(rest) = m.strip_prefix("movsx") {
        let (bits, width) = match rest {
            "832" => (8, Width::W32),
            "1632" => (16, Width::W32),
            "864" => (8, Width::W64),
            "1664" => (16, Width::W64),
            "3264" => (32, Width::W64),
            _ => return Ok(None),
        };
        cx.count(ops, 2)?;
        return Ok(Some(Instruction::MovSx {
            width,
            dst: cx.reg(ops[0])?,
            src: cx.reg(ops[1])?,
            bits,
        }));
    }
    let (stem, width) = width_suffix(m);
    if stem == "neg" {
        cx.count(ops, 1)?;
        return Ok(Some(Instruction::Neg {
            width,
            dst: cx.reg(ops[0])?,
        }));
    }
    let Some(op) = AluOp::ALL.into_iter().find(|a| a.name() == stem) else {
        return Ok(None);
    };
    cx.count(ops, 2)?;
    Ok(Some(Instruction::Alu {
        width,
        op,
        dst: cx.reg(ops[0])?,
        src: cx.operand(ops[1])?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(src: &str) -> AsmErrorKind {
        assemble(src).unwrap_err().kind
    }

    #[test]
    fn encodes_basic_forms() {
        let p = assemble("mov32 %r0, 0\nldxb %r0, [%r1+0x2]\nstxdw [%r10-8], %r0\nexit").unwrap();
        assert_eq!(p[0], RawInsn::new(0xb4, 0, 0, 0, 0));
        assert_eq!(p[1], RawInsn::new(0x71, 0, 1, 2, 0));
        assert_eq!(p[2], RawInsn::new(0x7b, 10, 0, -8, 0));
        assert_eq!(p[3], RawInsn::new(0x95, 0, 0, 0, 0));
    }

    #[test]
    fn resolves_labels_and_implicit_exit() {
        let p = assemble("jne %r0, %r1, out\nja exit\nout:\nmov %r0, 1\nexit").unwrap();
        assert_eq!(p[0].off, 1);
        assert_eq!(p[1].off, 1);
        let p = assemble("call local f\nexit\nf:\nexit").unwrap();
        assert_eq!((p[0].src, p[0].imm), (1, 1));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = assemble("mov %r0, 1\n  ldxq %r0, %r1\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert_eq!(e.kind, AsmErrorKind::UnknownMnemonic("ldxq".into()));
        assert_eq!(
            kind("or %r0, %r50"),
            AsmErrorKind::BadRegister("%r50".into())
        );
        assert_eq!(
            kind("mov32 %r0, 2147483648"),
            AsmErrorKind::ImmediateOutOfRange("2147483648".into())
        );
        assert_eq!(
            kind("mov32 %r0, 0x100000000"),
            AsmErrorKind::ImmediateOutOfRange("0x100000000".into())
        );
        assert_eq!(
            kind("ja NOPE\nexit"),
            AsmErrorKind::UnknownLabel("NOPE".into())
        );
        assert!(matches!(
            kind("lddw %r0"),
            AsmErrorKind::OperandCount { .. }
        ));
        assert!(matches!(
            kind("ldxb %r0, %r1"),
            AsmErrorKind::ExpectedMemory(_)
        ));
        assert!(matches!(
            kind("ldxb %r0, [%r1+0x10000]"),
            AsmErrorKind::OffsetOutOfRange(_)
        ));
        assert!(matches!(kind("lock"), AsmErrorKind::BadAtomic(_)));
        assert!(matches!(
            kind("lock or [%r10-8]"),
            AsmErrorKind::OperandCount { .. }
        ));
    }
}
