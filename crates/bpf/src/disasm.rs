//! Disassembler producing the assembler's syntax, so `assemble(disassemble(p)) == p`.
//! Jump and local-call targets are printed as `+N`/`-N` slot offsets.

use std::fmt::Write;

use crate::isa::{ByteOrder, Instruction, Operand, RawInsn, Width};
use crate::verifier::{decode_program, VerifyError};

fn suffix(w: Width) -> &'static str {
    match w {
        Width::W32 => "32",
        Width::W64 => "",
    }
}

fn operand(o: Operand) -> String {
    match o {
        Operand::Reg(r) => format!("%r{r}"),
        Operand::Imm(i) => i.to_string(),
    }
}

fn mem(reg: u8, off: i16) -> String {
    match off {
        0 => format!("[%r{reg}]"),
        o if o < 0 => format!("[%r{reg}{o}]"),
        o => format!("[%r{reg}+{o}]"),
    }
}

fn rel(off: i64) -> String {
    if off < 0 {
        off.to_string()
    } else {
        format!("+{off}")
    }
}

/// Formats one decoded instruction.
pub fn format_instruction(ins: &Instruction) -> String {
    match *ins {
        Instruction::Alu {
            width,
            op,
            dst,
            src,
        } => format!("{}{} %r{dst}, {}", op.name(), suffix(width), operand(src)),
        Instruction::Neg { width, dst } => format!("neg{} %r{dst}", suffix(width)),
        Instruction::MovSx {
            width,
            dst,
            src,
            bits,
        } => {
            let w = if width == Width::W64 { 64 } else { 32 };
            format!("movsx{bits}{w} %r{dst}, %r{src}")
        }
        Instruction::End { order, dst, bits } => {
            let name = match order {
                ByteOrder::Le => "le",
                ByteOrder::Be => "be",
                ByteOrder::Swap => "bswap",
            };
            format!("{name}{bits} %r{dst}")
        }
        Instruction::LoadImm64 { dst, imm } => format!("lddw %r{dst}, {imm:#x}"),
        Instruction::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => format!(
            "ldx{}{} %r{dst}, {}",
            if signed { "s" } else { "" },
            size.suffix(),
            mem(src, off)
        ),
        Instruction::Store {
            size,
            dst,
            off,
            value,
        } => match value {
            Operand::Reg(r) => format!("stx{} {}, %r{r}", size.suffix(), mem(dst, off)),
            Operand::Imm(i) => format!("st{} {}, {i}", size.suffix(), mem(dst, off)),
        },
        Instruction::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => format!(
            "lock {}{}{} {}, %r{src}",
            if fetch && !op.always_fetches() {
                "fetch "
            } else {
                ""
            },
            op.name(),
            if size == crate::isa::Size::W {
                "32"
            } else {
                ""
            },
            mem(dst, off)
        ),
        Instruction::Ja { long: false, off } => format!("ja {}", rel(off as i64)),
        Instruction::Ja { long: true, off } => format!("ja32 {}", rel(off as i64)),
        Instruction::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => format!(
            "{}{} %r{dst}, {}, {}",
            cond.name(),
            suffix(width),
            operand(src),
            rel(off as i64)
        ),
        Instruction::CallHelper { id } => format!("call {id}"),
        Instruction::CallReg { reg } => format!("call %r{reg}"),
        Instruction::CallLocal { off } => format!("call local {}", rel(off as i64)),
        Instruction::Exit => "exit".to_string(),
    }
}

/// Disassembles a whole program, one instruction per line.
pub fn disassemble(prog: &[RawInsn]) -> Result<String, VerifyError> {
    let mut out = String::new();
    for (_, ins) in decode_program(prog)? {
        writeln!(out, "{}", format_instruction(&ins)).expect("writing to a String");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;

    #[test]
    fn round_trips_every_form() {
        let src = "add32 %r1, -3\nsdiv %r2, %r3\nsmod32 %r2, 7\nneg %r4\nmovsx1664 %r0, %r1\n\
                   be16 %r2\nle64 %r2\nbswap32 %r3\nlddw %r0, 0x123456789abcdef0\nldxsh %r0, [%r10-2]\n\
                   ldxdw %r1, [%r1+8]\nstb [%r1], -1\nstxw [%r10-4], %r2\nlock fetch xor32 [%r10-8], %r1\n\
                   lock cmpxchg [%r10-8], %r2\nlock xchg32 [%r10-8], %r2\nja -1\nja32 +1\njsle32 %r1, -5, +0\n\
                   jset %r1, %r2, -3\ncall 5\ncall %r2\ncall local +1\nexit\nexit\n";
        let p = assemble(src).unwrap();
        let text = disassemble(&p).unwrap();
        assert_eq!(assemble(&text).unwrap(), p, "{text}");
    }
}
