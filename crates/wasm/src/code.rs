//! The internal form of a function body: validated once, then lowered to a flat array of
//! [`Op`]s with every branch target and stack height resolved, so a tier walks it one
//! instruction at a time without a control stack (the interpreter) or compiles each `Op` to
//! one stencil (a copy-and-patch tier).
//!
//! Stack slots: a frame is `locals` (parameters first) followed by the operand stack, every
//! value one 64-bit slot. [`Branch::height`] counts slots from the frame's base.

use wasmparser::{
    BlockType, BrTable, FrameKind, FuncValidator, FunctionBody, Operator, ValidatorResources,
};

use crate::module::{convert_valtype, DecodeError};
use crate::types::ValType;

/// Where a branch goes and how it reshapes the stack: the top `arity` slots move down to
/// `height` (slots from the frame base), everything above is dropped, then execution
/// continues at `target` (an index into [`Code::ops`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Branch {
    /// The op executed next.
    pub target: u32,
    /// Slots from the frame base that stay below the carried values.
    pub height: u32,
    /// Values carried (0 or 1 in 1.0).
    pub arity: u32,
}

/// Defines [`Op`] and the mapping of wasmparser's immediate-free and memory operators to it,
/// so each such operator is named once.
macro_rules! ops {
    (plain: $($plain:ident),* ; memory: $($mem:ident),* $(,)?) => {
        /// One lowered instruction. Structured control flow is gone: `block`/`loop`/`end`
        /// vanish, `if`/`else`/`br*` become jumps with resolved [`Branch`]es. Memory
        /// instructions keep their static offset; the alignment hint is dropped.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Op {
            /// `unreachable`: traps.
            Unreachable,
            /// `br`: always taken.
            Br(Branch),
            /// `br_if`: pops an i32, taken when it is non-zero.
            BrIf(Branch),
            /// `br_table`: pops an index into `Code::br_tables[first..first + len]`; the
            /// last entry is the default.
            BrTable {
                /// The first entry in `Code::br_tables`.
                first: u32,
                /// Entries, the default included (at least 1).
                len: u32,
            },
            /// `if`: pops an i32 and jumps to `else_target` (the else arm or the end) when it
            /// is zero. The stack needs no reshaping: nothing was pushed inside the `if` yet.
            If {
                /// The first op of the else arm, or the op after the `if`.
                else_target: u32,
            },
            /// Moves the function's results to the frame base and returns to the caller.
            Return,
            /// `call` of a function by the module's own function index.
            Call(u32),
            /// `call_indirect` through table 0, checked against the module's type index.
            CallIndirect(u32),
            /// Pops one value.
            Drop,
            /// Pops a condition and two values, pushes the first if the condition is non-zero.
            Select,
            /// Pushes the local (parameters first).
            LocalGet(u32),
            /// Pops into the local.
            LocalSet(u32),
            /// Copies the top value into the local.
            LocalTee(u32),
            /// Pushes the global, by the module's index.
            GlobalGet(u32),
            /// Pops into the (mutable) global.
            GlobalSet(u32),
            /// Any `*.const`: the value as its slot bits (floats bit-exact).
            Const(u64),
            /// Pushes memory 0's size in pages.
            MemorySize,
            /// Pops a page count, grows memory 0, pushes the old size or -1.
            MemoryGrow,
            $(
                #[doc = concat!("The 1.0 instruction `", stringify!($plain), "` (in wasmparser's spelling).")]
                $plain,
            )*
            $(
                /// A memory access at `offset` plus the popped address (33-bit sum).
                $mem(u32),
            )*
        }

        /// The [`Op`] of an operator that has no immediate (or only a memory one), if it is
        /// one of those.
        fn simple_op(op: &Operator<'_>) -> Option<Op> {
            Some(match op {
                $(Operator::$plain => Op::$plain,)*
                // A 1.0 offset is a u32; the validator (no memory64) guarantees it fits.
                $(Operator::$mem { memarg } => Op::$mem(memarg.offset as u32),)*
                _ => return None,
            })
        }
    };
}

ops! {
    plain:
    I32Eqz, I32Eq, I32Ne, I32LtS, I32LtU, I32GtS, I32GtU, I32LeS, I32LeU, I32GeS, I32GeU,
    I64Eqz, I64Eq, I64Ne, I64LtS, I64LtU, I64GtS, I64GtU, I64LeS, I64LeU, I64GeS, I64GeU,
    F32Eq, F32Ne, F32Lt, F32Gt, F32Le, F32Ge,
    F64Eq, F64Ne, F64Lt, F64Gt, F64Le, F64Ge,
    I32Clz, I32Ctz, I32Popcnt, I32Add, I32Sub, I32Mul, I32DivS, I32DivU, I32RemS, I32RemU,
    I32And, I32Or, I32Xor, I32Shl, I32ShrS, I32ShrU, I32Rotl, I32Rotr,
    I64Clz, I64Ctz, I64Popcnt, I64Add, I64Sub, I64Mul, I64DivS, I64DivU, I64RemS, I64RemU,
    I64And, I64Or, I64Xor, I64Shl, I64ShrS, I64ShrU, I64Rotl, I64Rotr,
    F32Abs, F32Neg, F32Ceil, F32Floor, F32Trunc, F32Nearest, F32Sqrt,
    F32Add, F32Sub, F32Mul, F32Div, F32Min, F32Max, F32Copysign,
    F64Abs, F64Neg, F64Ceil, F64Floor, F64Trunc, F64Nearest, F64Sqrt,
    F64Add, F64Sub, F64Mul, F64Div, F64Min, F64Max, F64Copysign,
    I32WrapI64, I32TruncF32S, I32TruncF32U, I32TruncF64S, I32TruncF64U,
    I64ExtendI32S, I64ExtendI32U, I64TruncF32S, I64TruncF32U, I64TruncF64S, I64TruncF64U,
    F32ConvertI32S, F32ConvertI32U, F32ConvertI64S, F32ConvertI64U, F32DemoteF64,
    F64ConvertI32S, F64ConvertI32U, F64ConvertI64S, F64ConvertI64U, F64PromoteF32,
    I32ReinterpretF32, I64ReinterpretF64, F32ReinterpretI32, F64ReinterpretI64;
    memory:
    I32Load, I64Load, F32Load, F64Load,
    I32Load8S, I32Load8U, I32Load16S, I32Load16U,
    I64Load8S, I64Load8U, I64Load16S, I64Load16U, I64Load32S, I64Load32U,
    I32Store, I64Store, F32Store, F64Store,
    I32Store8, I32Store16, I64Store8, I64Store16, I64Store32,
}

/// A lowered function body.
#[derive(Debug)]
pub struct Code {
    /// The instructions; execution starts at 0 and ends at a [`Op::Return`].
    pub ops: Vec<Op>,
    /// The byte offset in the module of the instruction each op came from (parallel to
    /// `ops`), for error messages.
    pub offsets: Vec<u32>,
    /// The operand height (locals excluded) before each op (parallel to `ops`), so a
    /// compiler knows the stack's shape at every op without simulating it.
    pub heights: Vec<u32>,
    /// The targets of every `br_table`, default last ([`Op::BrTable`]).
    pub br_tables: Vec<Branch>,
    /// Parameters plus declared locals: the slots a frame starts with.
    pub locals: u32,
    /// Parameters among `locals`.
    pub params: u32,
    /// Results (0 or 1 in 1.0).
    pub results: u32,
    /// The most operand slots the body ever holds, so a tier reserves a frame once at entry.
    pub max_height: u32,
}

/// A branch whose target (the end of its block) is not known yet.
#[derive(Clone, Copy)]
enum Fixup {
    Op(usize),
    Table(usize),
}

/// What lowering remembers of one open block.
struct Label {
    /// Operand height (without locals) at the block's entry.
    height: u32,
    /// Values a branch to this label carries (0 for a loop in 1.0, the results otherwise).
    arity: u32,
    /// Set for a loop: its branch target, known at once.
    loop_start: Option<u32>,
    /// The `If` op whose `else_target` the `else` or `end` fills in.
    pending_if: Option<usize>,
    fixups: Vec<Fixup>,
    /// The block was entered in unreachable code: it emits nothing.
    dead: bool,
}

struct Lowering {
    code: Code,
    labels: Vec<Label>,
    /// The code after the last `br`/`br_table`/`return`/`unreachable` of the innermost block.
    unreachable: bool,
    /// The operand height before the operator being lowered.
    entry_height: u32,
}

impl Lowering {
    fn emit(&mut self, op: Op, offset: u64) {
        self.code.ops.push(op);
        // A module is at most what a `&[u8]` holds; offsets past 4 GiB are clamped for the
        // message only.
        self.code
            .offsets
            .push(u32::try_from(offset).unwrap_or(u32::MAX));
        self.code.heights.push(self.entry_height);
    }

    fn pc(&self) -> u32 {
        self.code.ops.len() as u32
    }

    /// The branch to the label `depth` blocks out, recording a fixup if its target is the
    /// label's end.
    fn branch(&mut self, depth: u32, fixup: Fixup) -> Branch {
        let locals = self.code.locals;
        let label = self.label_mut(depth);
        let target = match label.loop_start {
            Some(start) => start,
            None => {
                label.fixups.push(fixup);
                u32::MAX
            }
        };
        Branch {
            target,
            height: locals + label.height,
            arity: label.arity,
        }
    }

    fn label_mut(&mut self, depth: u32) -> &mut Label {
        let i = self.labels.len() - 1 - depth as usize;
        &mut self.labels[i]
    }

    fn push_label(&mut self, height: u32, arity: u32, is_loop: bool, pending_if: Option<usize>) {
        self.labels.push(Label {
            height,
            arity,
            loop_start: is_loop.then(|| self.pc()),
            pending_if,
            fixups: Vec::new(),
            dead: self.unreachable,
        });
    }

    /// Points the label's pending branches at `target`.
    fn resolve(&mut self, fixups: &[Fixup], target: u32) {
        for f in fixups {
            match *f {
                Fixup::Op(i) => match &mut self.code.ops[i] {
                    Op::Br(b) | Op::BrIf(b) => b.target = target,
                    op => unreachable!("fixup recorded for {op:?}"),
                },
                Fixup::Table(i) => self.code.br_tables[i].target = target,
            }
        }
    }

    fn patch_if(&mut self, at: usize, target: u32) {
        match &mut self.code.ops[at] {
            Op::If { else_target } => *else_target = target,
            op => unreachable!("if fixup recorded for {op:?}"),
        }
    }
}

fn block_arity(ty: BlockType) -> u32 {
    match ty {
        BlockType::Empty => 0,
        // Block types with a type index are multi-value, which WASM1 validation rejects.
        BlockType::Type(_) | BlockType::FuncType(_) => 1,
    }
}

/// Validates `body` with `validator` and lowers it. `params` and `result` are the function's
/// signature.
pub(crate) fn lower(
    body: &FunctionBody<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
    params: u32,
    result: Option<ValType>,
) -> Result<Code, DecodeError> {
    let results = result.is_some() as u32;
    let mut locals = params;
    let mut reader = body.get_locals_reader()?;
    for _ in 0..reader.get_count() {
        let offset = reader.original_position();
        let (count, ty) = reader.read()?;
        validator.define_locals(offset, count, ty)?;
        convert_valtype(ty, offset)?;
        // The validator caps locals far below u32::MAX (50,000).
        locals += count;
    }
    let mut l = Lowering {
        code: Code {
            ops: Vec::new(),
            offsets: Vec::new(),
            heights: Vec::new(),
            br_tables: Vec::new(),
            locals,
            params,
            results,
            max_height: 0,
        },
        labels: Vec::new(),
        unreachable: false,
        entry_height: 0,
    };
    l.push_label(0, results, false, None);

    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let (op, offset) = ops.read_with_offset()?;
        l.entry_height = validator.operand_stack_height();
        validator.op(offset, &op)?;
        if let Operator::BrTable { targets } = &op {
            same_label_types(validator, targets, offset, result)?;
        }
        let height = validator.operand_stack_height();
        if !l.unreachable {
            l.code.max_height = l.code.max_height.max(height);
        }
        lower_op(&mut l, &op, offset, height);
    }
    // Checks that the body ends with its final `end` and nothing follows.
    ops.finish()?;
    Ok(l.code)
}

/// Lowers one validated operator; `height` is the operand height after it.
fn lower_op(l: &mut Lowering, op: &Operator<'_>, offset: u64, height: u32) {
    // Structure is tracked even in unreachable code, where nothing is emitted.
    match *op {
        Operator::Block { blockty } => {
            return l.push_label(height, block_arity(blockty), false, None)
        }
        Operator::Loop { .. } => return l.push_label(height, 0, true, None),
        Operator::If { blockty } => {
            let pending = (!l.unreachable).then(|| {
                l.emit(
                    Op::If {
                        else_target: u32::MAX,
                    },
                    offset,
                );
                l.code.ops.len() - 1
            });
            return l.push_label(height, block_arity(blockty), false, pending);
        }
        Operator::Else => {
            let label = l.labels.last_mut().expect("validated: else inside an if");
            if label.dead {
                return;
            }
            let pending = label.pending_if.take();
            if !l.unreachable {
                let br = l.branch(0, Fixup::Op(l.code.ops.len()));
                l.emit(Op::Br(br), offset);
            }
            let pc = l.pc();
            if let Some(at) = pending {
                l.patch_if(at, pc);
            }
            l.unreachable = false;
            return;
        }
        Operator::End => {
            let label = l.labels.pop().expect("validated: end closes a block");
            if label.dead {
                return;
            }
            let end = l.pc();
            l.resolve(&label.fixups, end);
            if let Some(at) = label.pending_if {
                l.patch_if(at, end);
            }
            l.unreachable = false;
            if l.labels.is_empty() {
                l.emit(Op::Return, offset);
            }
            return;
        }
        _ => {}
    }
    if l.unreachable {
        return;
    }
    let lowered = match *op {
        Operator::Nop => return,
        Operator::Unreachable => {
            l.unreachable = true;
            Op::Unreachable
        }
        Operator::Br { relative_depth } => {
            l.unreachable = true;
            Op::Br(l.branch(relative_depth, Fixup::Op(l.code.ops.len())))
        }
        Operator::BrIf { relative_depth } => {
            Op::BrIf(l.branch(relative_depth, Fixup::Op(l.code.ops.len())))
        }
        Operator::BrTable { ref targets } => {
            l.unreachable = true;
            let first = l.code.br_tables.len() as u32;
            let depths = targets
                .targets()
                .chain(std::iter::once(Ok(targets.default())));
            for depth in depths {
                let depth = depth.expect("validated: br_table targets decode");
                let slot = l.code.br_tables.len();
                let br = l.branch(depth, Fixup::Table(slot));
                l.code.br_tables.push(br);
            }
            Op::BrTable {
                first,
                len: l.code.br_tables.len() as u32 - first,
            }
        }
        Operator::Return => {
            l.unreachable = true;
            Op::Return
        }
        Operator::Call { function_index } => Op::Call(function_index),
        Operator::CallIndirect { type_index, .. } => Op::CallIndirect(type_index),
        Operator::Drop => Op::Drop,
        Operator::Select => Op::Select,
        Operator::LocalGet { local_index } => Op::LocalGet(local_index),
        Operator::LocalSet { local_index } => Op::LocalSet(local_index),
        Operator::LocalTee { local_index } => Op::LocalTee(local_index),
        Operator::GlobalGet { global_index } => Op::GlobalGet(global_index),
        Operator::GlobalSet { global_index } => Op::GlobalSet(global_index),
        Operator::I32Const { value } => Op::Const(value as u32 as u64),
        Operator::I64Const { value } => Op::Const(value as u64),
        Operator::F32Const { value } => Op::Const(value.bits() as u64),
        Operator::F64Const { value } => Op::Const(value.bits()),
        Operator::MemorySize { .. } => Op::MemorySize,
        Operator::MemoryGrow { .. } => Op::MemoryGrow,
        ref other => simple_op(other).unwrap_or_else(|| {
            unreachable!("WASM1 validation admits no other operator: {other:?}")
        }),
    };
    l.emit(lowered, offset);
}

/// 1.0 requires every `br_table` target to have the same label type, even in unreachable
/// code, where the current specification (and so wasmparser) checks each target against the
/// polymorphic stack only. `result` is the function's own result type.
fn same_label_types(
    validator: &FuncValidator<ValidatorResources>,
    targets: &BrTable<'_>,
    offset: u64,
    result: Option<ValType>,
) -> Result<(), DecodeError> {
    let mismatch = || DecodeError {
        message: "type mismatch: br_table targets of different label types".to_string(),
        offset,
        func: None,
    };
    let label = |depth: u32| -> Result<Option<ValType>, DecodeError> {
        let frame = validator
            .get_control_frame(depth as usize)
            .ok_or_else(mismatch)?;
        Ok(match (frame.kind, frame.block_type) {
            (FrameKind::Loop, _) | (_, BlockType::Empty) => None,
            (_, BlockType::Type(t)) => Some(convert_valtype(t, offset)?),
            // Only the function's own frame has a type index in 1.0.
            (_, BlockType::FuncType(_)) => result,
        })
    };
    let want = label(targets.default())?;
    for depth in targets.targets() {
        if label(depth?)? != want {
            return Err(mismatch());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::Module;

    fn decode(func: &str) -> Result<Module, DecodeError> {
        let text = format!("(module {func})");
        let buf = wast::parser::ParseBuffer::new(&text).unwrap();
        let mut wat: wast::Wat = wast::parser::parse(&buf).unwrap();
        Module::decode(&wat.encode().unwrap())
    }

    fn lowered(func: &str) -> Vec<Op> {
        decode(func).unwrap().bodies[0].ops.clone()
    }

    #[test]
    fn br_table_targets_share_one_label_type_even_when_unreachable() {
        // The function's own label and a block of the same result type agree.
        decode(
            "(func (result i32) (block (result i32) (unreachable) (br_table 0 1 (i32.const 0))))",
        )
        .unwrap();
        let e = decode(
            "(func (block (result f64) (block (result f32) (unreachable) (br_table 0 1 (i32.const 0))) (drop)))",
        )
        .unwrap_err();
        assert!(e.message.starts_with("type mismatch"), "{e}");
        assert_eq!(e.func, Some(0));
    }

    fn br(target: u32, height: u32, arity: u32) -> Branch {
        Branch {
            target,
            height,
            arity,
        }
    }

    #[test]
    fn ops_stay_two_words() {
        assert_eq!(std::mem::size_of::<Op>(), 16);
    }

    #[test]
    fn a_branch_out_of_a_block_carries_its_value_to_the_block_height() {
        let ops = lowered(
            "(func (param i32) (result i32) (local i64)
               (block (result i32) (i32.const 1) (local.get 0) (br_if 0) (drop) (i32.const 2)))",
        );
        // Two locals, then the block's operands: a taken br_if keeps one value at slot 2.
        let exit = br(5, 2, 1);
        let code = &decode(
            "(func (param i32) (result i32) (local i64)
               (block (result i32) (i32.const 1) (local.get 0) (br_if 0) (drop) (i32.const 2)))",
        )
        .unwrap()
        .bodies[0];
        // The operand height before each op, locals excluded.
        assert_eq!(code.heights, [0, 1, 2, 1, 0, 1]);
        assert_eq!(
            ops,
            [
                Op::Const(1),
                Op::LocalGet(0),
                Op::BrIf(exit),
                Op::Drop,
                Op::Const(2),
                Op::Return
            ]
        );
    }

    #[test]
    fn loops_branch_back_and_if_else_jumps_over_the_other_arm() {
        let ops = lowered(
            "(func (param i32) (result i32)
               (loop $l (br_if $l (local.get 0)))
               (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2))))",
        );
        assert_eq!(
            ops,
            [
                Op::LocalGet(0),
                Op::BrIf(br(0, 1, 0)),
                Op::LocalGet(0),
                Op::If { else_target: 6 },
                Op::Const(1),
                Op::Br(br(7, 1, 1)),
                Op::Const(2),
                Op::Return,
            ]
        );
    }

    #[test]
    fn unreachable_code_is_not_emitted_but_its_blocks_are_tracked() {
        let ops = lowered(
            "(func (result i32)
               (block (return (i32.const 1)) (block (br 0)) (i32.const 2) (drop))
               (i32.const 3))",
        );
        assert_eq!(ops, [Op::Const(1), Op::Return, Op::Const(3), Op::Return]);
    }
}
