/* The eBPF JIT's stencil vocabulary: one template per operation and operand form, over the
 * machine state below (`jit::Vm` on the Rust side, which must match it field for field).
 *
 * Registers are pinned: eBPF r0-r10 are parameters of every stencil (`preserve_none`, so they
 * stay in host registers from instruction to instruction), and each template is compiled once
 * per register it names (build-time variants, `patchjit-variants:` lines): D and S are the
 * destination and source register numbers, CHECKED whether memory accesses are bounds-checked.
 * `add64_reg` with D=1, S=2 is one `add` instruction.
 *
 * The parameter order. x86-64 passes pinned values in r12-r15 (callee-saved in C), then rdi,
 * rsi, rdx, rcx, r8, r9, r11, rax: the state and r10, which every program needs, take r12 and
 * r13 and r6, r7 r14 and r15, so a helper call keeps them for free; r1-r5 are in the C
 * argument registers rdi..r8, so a plain helper `f(r1, ..., r5)` is called with no moves;
 * r8 and r9 are in r9 and r11 and saved around a plain helper's call only by programs that
 * name them (`call_plain`'s SAVE variant). AArch64 puts r6-r9 in x20-x23 (callee-saved, as
 * all of x20-x28 are), r1-r5 in x24-x28, the state, r10 and r0 in x0-x2.
 *
 * Holes: OPARG = dst | src << 4 | pc << 8 (the instruction index for errors; the register
 * nibbles serve the atomics, which work on the state's copy of the registers); OPERAND0 = the
 * immediate, sign-extended to 64 bits (the whole constant for lddw, the helper id for calls);
 * OPERAND1 = the offset of a load or store, sign-extended. Branch destinations are the
 * emitter's jump target (a local call's callee, a jump's destination).
 *
 * Faults (out-of-bounds access, call depth) record what happened in the state and return to
 * the Rust caller; helper calls go through the Rust function `bpf_jit_call_helper`. */
#ifndef BPF_H
#define BPF_H

#include <stdint.h>

typedef struct BpfVm {
    uint64_t r[16];        /* the registers, where the atomics and the entry/exit see them */
    uint64_t input_base, stack_base;
    /* By access size (1, 2, 4, 8 bytes): how many addresses from the region's base can start
     * one, i.e. len - n + 1, or 0 when the region is shorter than n. One compare per check. */
    uint64_t input_room[4], stack_room[4];
    uint64_t fault;        /* BPF_FAULT_*, 0 while running or after a normal exit */
    uint64_t fault_pc, fault_addr, fault_size;
    void *host;            /* the Rust side's context, for helper calls */
    uint64_t budget;       /* back-edges and local calls left (code compiled with a budget) */
    /* The helper being called: its slot in the registry (`call imm` of a known helper), its
     * id | 1 << 63 (`call imm` of an unknown one), or ~0 with the id in callx_id (`callx`). */
    uint64_t call_id, call_pc, callx_id;
    /* The lowest r10 that may make a local call: stack_base + 2 frames (the callee's frame
     * must lie above the lowest one). One compare per call, against memory. */
    uint64_t call_floor;
    /* x86-64: the stack pointer at the program's entry, where the shim's return address is
     * (STOP returns there from any depth of local calls). */
    uint64_t exit_sp;
} BpfVm;

#define BPF_FAULT_LOAD 1
#define BPF_FAULT_STORE 2
#define BPF_FAULT_DEPTH 3
#define BPF_FAULT_BUDGET 5
#define BPF_STACK_SIZE 512
#define BPF_MAX_CALL_DEPTH 8

#if defined(__x86_64__)
#define PATCHJIT_PARAMS                                                                    \
    BpfVm *vm, uint64_t r10, uint64_t r6, uint64_t r7, uint64_t r1, uint64_t r2, uint64_t r3, \
        uint64_t r4, uint64_t r5, uint64_t r8, uint64_t r9, uint64_t r0
#define PATCHJIT_ARGS vm, r10, r6, r7, r1, r2, r3, r4, r5, r8, r9, r0
/* Where those registers are: preserve_none's argument registers in the order above. An asm
 * that must see the pinned values in their registers (the shim's call, local and plain calls, a
 * split check's jump) binds them with BPF_PINNED as x0-x10 and xvm, VALUE(n) giving rn and
 * STATE the state, and names them by operand, so that this list is the one place besides the
 * order above that says where they live. */
#define BPF_PINNED(VALUE, STATE)                                                        \
    register BpfVm *xvm __asm__("r12") = (STATE);                                       \
    register uint64_t x10 __asm__("r13") = VALUE(10), x6 __asm__("r14") = VALUE(6),       \
                      x7 __asm__("r15") = VALUE(7), x1 __asm__("rdi") = VALUE(1),         \
                      x2 __asm__("rsi") = VALUE(2), x3 __asm__("rdx") = VALUE(3),         \
                      x4 __asm__("rcx") = VALUE(4), x5 __asm__("r8") = VALUE(5),          \
                      x8 __asm__("r9") = VALUE(8), x9 __asm__("r11") = VALUE(9),          \
                      x0 __asm__("rax") = VALUE(0)
/* r0-r5 from the registers of BPF_PINNED, after an asm that calls C (which may change them). */
#define BPF_CALL_RESULTS() (r0 = x0, r1 = x1, r2 = x2, r3 = x3, r4 = x4, r5 = x5)
#else
#define PATCHJIT_PARAMS                                                                     \
    uint64_t r6, uint64_t r7, uint64_t r8, uint64_t r9, uint64_t r1, uint64_t r2, uint64_t r3, \
        uint64_t r4, uint64_t r5, BpfVm *vm, uint64_t r10, uint64_t r0
#define PATCHJIT_ARGS r6, r7, r8, r9, r1, r2, r3, r4, r5, vm, r10, r0
#endif
#define PATCHJIT_RETURN uint64_t
#include "patchjit.h"

/* Register n, by its number (a variant constant). */
#define REG_(n) r##n
#define REG(n) REG_(n)
#define DST REG(D)
#define SRC REG(S)
#define PC (PATCHJIT_OPARG >> 8)
/* The immediate: sign-extended from 32 bits for 64-bit operations (folded into the instruction,
 * `add $imm32, %rsi`), its 32 bits for 32-bit operations and narrow stores (the JIT passes it
 * as u32 there), or the whole 64-bit operand (lddw, calls, and operations where clang would not
 * fold a narrow value: the build refuses those, see patchjit.h). */
#if defined(__x86_64__)
/* Folded into the instruction (imm32, disp32). */
#define IMM PATCHJIT_OPERAND0_I32
#define OFF PATCHJIT_OPERAND1_I32
#else
/* A movz (+ movk) and a sign extension clang merges into the use. */
#define IMM PATCHJIT_OPERAND0_S32
#define OFF PATCHJIT_OPERAND1_S16
#endif
#define IMM32 PATCHJIT_OPERAND0_U32
#define WIDE PATCHJIT_OPERAND0
#define WIDE_OFF PATCHJIT_OPERAND1
#define NEXT() PATCHJIT_CONTINUE()
/* After a helper call r1-r5 hold 0 (RFC 9669 leaves them undefined: caller-saved), on both
 * tiers: the call need not keep them alive across the C call. */
#define CLOBBER_ARGUMENTS() (r1 = r2 = r3 = r4 = r5 = 0)

/* Leaves the program once a fault is recorded in the state. x86-64: straight back to the
 * shim, from any depth of local calls, so that a local call need not test for its callee's
 * fault on the way back (the shim's stack pointer as it called the program is in the state).
 * Elsewhere: a return, which each local call passes on up. */
#if defined(__x86_64__)
#define STOP()                                                                              \
    do {                                                                                    \
        __asm__ volatile("mov %c[sp](%[state]), %%rsp\n\txor %%eax, %%eax\n\tret"            \
                         :                                                                  \
                         : [state] "r"(vm), [sp] "i"(__builtin_offsetof(BpfVm, exit_sp))); \
        __builtin_unreachable();                                                            \
    } while (0)
#else
#define STOP() return 0
#endif

/* The state's copy of the registers, for the atomics (rare: one generic stencil each, which
 * stores every register, works on the copy with the registers OPARG names, and reloads). */
#define SPILL()                                                                   \
    (vm->r[0] = r0, vm->r[1] = r1, vm->r[2] = r2, vm->r[3] = r3, vm->r[4] = r4,   \
     vm->r[5] = r5, vm->r[6] = r6, vm->r[7] = r7, vm->r[8] = r8, vm->r[9] = r9,   \
     vm->r[10] = r10)
#define FILL()                                                                    \
    (r0 = vm->r[0], r1 = vm->r[1], r2 = vm->r[2], r3 = vm->r[3], r4 = vm->r[4],   \
     r5 = vm->r[5], r6 = vm->r[6], r7 = vm->r[7], r8 = vm->r[8], r9 = vm->r[9],   \
     r10 = vm->r[10])
#define VDST vm->r[PATCHJIT_OPARG & 15]
#define VSRC vm->r[(PATCHJIT_OPARG >> 4) & 15]

/* Returns r0 when the helper let the program go on; sets vm->fault otherwise (a fault, or
 * the unwind helper returned 0). Its id and the caller's pc are in vm->call_id and call_pc. */
PATCHJIT_HELPER(uint64_t, bpf_jit_call_helper, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                uint64_t r5, BpfVm *vm);

/* The index of an access size in the `*_room` arrays. */
#define BPF_SIZE_INDEX(n) ((n) == 1 ? 0 : (n) == 2 ? 1 : (n) == 4 ? 2 : 3)

/* Whether [a, a + n) lies outside both the input and the stack (the interpreter's rule). The
 * input is tested first: the stack is mostly reached through r10, which needs no test. */
#define BPF_OUT_OF_BOUNDS(a, n)                                                        \
    (__builtin_expect((a) - vm->input_base >= vm->input_room[BPF_SIZE_INDEX(n)], 0) && \
     (a) - vm->stack_base >= vm->stack_room[BPF_SIZE_INDEX(n)])

/* Stops the program with an out-of-bounds fault unless [a, a + n) is accessible. Nothing in
 * the CHECKED=0 variants (Jit::unchecked: the caller vouches that every access stays in
 * bounds, as rbpf's x86-64 JIT assumes), nor through r10: the verifier keeps every r10 access
 * inside the current 512-byte frame ([r10 - 512, r10)) and never lets the program write r10;
 * only `call local` and `exit` move it, frame by frame, inside the 8-frame stack. */
#define CHECK(base, a, n, kind)                                                      \
    if (CHECKED && (base) != 10 && BPF_OUT_OF_BOUNDS(a, n)) {                       \
        vm->fault = (kind);                                                          \
        vm->fault_pc = PC;                                                           \
        vm->fault_addr = (a);                                                        \
        vm->fault_size = (n);                                                        \
        STOP();                                                                      \
    }

/* The check of a load or store, by CHECKED: 0 none, 1 and 2 the two halves of the check on
 * x86-64, elsewhere each the whole check above.
 *
 * x86-64, CHECKED=1: only the input is tested inline, and a failure is one `jae` to the error
 * target, the instruction's CHECKED=2 stencil, placed after the program: `lea; sub; cmp; jae;
 * mov` and no taken jump on the path that goes on (the cold code inside the stencil would
 * make the access jump over it to the next instruction). The asm names every pinned register
 * in its own register, so when it jumps the state is the instruction's entry state, which is
 * what the error target, a stencil like any other, expects (nothing in such a stencil moves
 * the stack pointer before the asm).
 * CHECKED=2: the whole check, the stack first (an access through another register than r10
 * that fails the input test is most likely one of the stack), then the access, and on to the
 * jump target (the next instruction). */
#if defined(__x86_64__)
#define BPF_INPUT_OR_ERROR(a, n)                                                            \
    do {                                                                                    \
        BPF_PINNED(REG, vm);                                                                \
        __asm__ volatile("cmpq %[room], %[off]\n\tjae _JIT_ERROR_TARGET"                   \
                         :                                                                  \
                         : [off] "r"((a) - vm->input_base),                                 \
                           [room] "m"(vm->input_room[BPF_SIZE_INDEX(n)]), "r"(x0), "r"(x1), \
                           "r"(x2), "r"(x3), "r"(x4), "r"(xvm), "r"(x5), "r"(x6),           \
                           "r"(x7), "r"(x8), "r"(x9), "r"(x10)                              \
                         : "cc", "memory");                                                 \
    } while (0)
#define ACCESS_CHECK(base, a, n, kind)                                                  \
    if (CHECKED == 1 && (base) != 10) {                                                 \
        BPF_INPUT_OR_ERROR(a, n);                                                       \
    } else if (CHECKED == 2 && (base) != 10 &&                                          \
               (a) - vm->stack_base >= vm->stack_room[BPF_SIZE_INDEX(n)] &&             \
               (a) - vm->input_base >= vm->input_room[BPF_SIZE_INDEX(n)]) {             \
        vm->fault = (kind);                                                             \
        vm->fault_pc = PC;                                                              \
        vm->fault_addr = (a);                                                           \
        vm->fault_size = (n);                                                           \
        STOP();                                                                         \
    }
#define ONLY_SPLIT_CHECKS_HAVE_A_REST()
#else
#define ACCESS_CHECK(base, a, n, kind) CHECK(base, a, n, kind)
/* Only x86-64 splits checks: the JIT never selects a CHECKED=2 stencil elsewhere (were one
 * reached, it would stop the process rather than run on). */
#define ONLY_SPLIT_CHECKS_HAVE_A_REST() \
    if (CHECKED == 2) {                 \
        __builtin_trap();               \
    }
#endif
#define ACCESS_NEXT()          \
    if (CHECKED == 2) {        \
        PATCHJIT_JUMP();       \
    }                          \
    NEXT()

/* Unaligned access to program memory. */
typedef uint16_t u16u __attribute__((aligned(1), may_alias));
typedef uint32_t u32u __attribute__((aligned(1), may_alias));
typedef uint64_t u64u __attribute__((aligned(1), may_alias));
typedef uint8_t u8u __attribute__((may_alias));

/* The shapes of the templates: each file is one of these with its operation filled in. */

/* dst = EXPR, over d (dst) and v (the operand V), 64-bit. */
#define ALU64(V, EXPR)                  \
    PATCHJIT_STENCIL {                  \
        uint64_t d = DST, v = (V);      \
        (void)d;                        \
        DST = (EXPR);                   \
        NEXT();                         \
    }

/* dst = EXPR, over a (dst) and b (the operand V) cut to 32 bits; the result zero-extended. */
#define ALU32(V, EXPR)                                  \
    PATCHJIT_STENCIL {                                  \
        uint32_t a = (uint32_t)DST, b = (uint32_t)(V);  \
        (void)a;                                        \
        DST = (uint32_t)(EXPR);                         \
        NEXT();                                         \
    }

/* dst = EXPR (no operand). */
#define UNARY(EXPR)       \
    PATCHJIT_STENCIL {    \
        DST = (EXPR);     \
        NEXT();           \
    }

/* dst = CONVERT(the N-byte TYPE at src + off). */
#define LOAD(N, TYPE, CONVERT)                   \
    PATCHJIT_STENCIL {                           \
        uint64_t a = SRC + OFF;                  \
        ONLY_SPLIT_CHECKS_HAVE_A_REST();         \
        ACCESS_CHECK(S, a, N, BPF_FAULT_LOAD);   \
        DST = CONVERT(*(const TYPE *)a);         \
        ACCESS_NEXT();                           \
    }

/* The N-byte TYPE at dst + off = V. */
#define STORE(N, TYPE, V)                        \
    PATCHJIT_STENCIL {                           \
        uint64_t a = DST + OFF;                  \
        ONLY_SPLIT_CHECKS_HAVE_A_REST();         \
        ACCESS_CHECK(D, a, N, BPF_FAULT_STORE);  \
        *(TYPE *)a = (TYPE)(V);                  \
        ACCESS_NEXT();                           \
    }

/* Read-modify-write of the N-byte TYPE at dst + off: new = EXPR over old and v (src cut to
 * WIDTH); with FETCH, src = old. Checked as a load first, as the interpreter does. The JIT is
 * single-threaded, like the interpreter: no atomic instruction is needed. Works on the state's
 * copy of the registers (SPILL/FILL), so one stencil serves every register pair. */
#define ATOMIC(N, TYPE, WIDTH, EXPR, FETCH)                      \
    PATCHJIT_STENCIL {                                           \
        SPILL();                                                 \
        uint64_t a = VDST + WIDE_OFF;                                 \
        CHECK((PATCHJIT_OPARG & 15), a, N, BPF_FAULT_LOAD);      \
        uint64_t old = *(TYPE *)a, v = (WIDTH)VSRC;              \
        *(TYPE *)a = (WIDTH)(EXPR);                              \
        if (FETCH) {                                             \
            VSRC = old;                                          \
        }                                                        \
        FILL();                                                  \
        NEXT();                                                  \
    }

/* Compares the N-byte TYPE at dst + off with r0 cut to WIDTH: stores src there when they are
 * equal; r0 = the old value either way. */
#define CMPXCHG(N, TYPE, WIDTH)                                  \
    PATCHJIT_STENCIL {                                           \
        SPILL();                                                 \
        uint64_t a = VDST + WIDE_OFF;                                 \
        CHECK((PATCHJIT_OPARG & 15), a, N, BPF_FAULT_LOAD);      \
        uint64_t old = *(TYPE *)a;                               \
        if (old == (WIDTH)vm->r[0]) {                            \
            *(TYPE *)a = (WIDTH)VSRC;                            \
        }                                                        \
        vm->r[0] = old;                                          \
        FILL();                                                  \
        NEXT();                                                  \
    }

/* dst = EXPR over d (dst) and v (the immediate), 64-bit, where clang would not fold the
 * immediate itself: it knows the narrow symbol lies below 2^31 (x86-64's medium code model), so
 * it narrows `d & v` to `andl` and puts the value in a zero-extending field (`movl $imm32`),
 * which would mis-read a negative immediate; the build refuses that, and the 64-bit value
 * costs a 10-byte `movabs`. On x86-64 the instruction X86 (AT&T, %0 = dst, %1 = the immediate)
 * is written out instead, its imm32 sign-extended by the CPU as eBPF's is (`R_X86_64_32S`):
 * `and dst, imm` is one `andq $imm32, %rsi`. Elsewhere EXPR over the 64-bit value. */
#if defined(__x86_64__)
#define ALU64_IMM(X86, EXPR)                                             \
    PATCHJIT_STENCIL {                                                   \
        __asm__(X86 : "+r"(DST) : "i"(_JIT_OPERAND0_I32));               \
        NEXT();                                                          \
    }
#else
#define ALU64_IMM(X86, EXPR) ALU64(WIDE, EXPR)
#endif

/* dst = EXPR over a (dst's low 32 bits) and b (the immediate's 32 bits), zero-extended: the
 * 32-bit operations with an immediate. clang keeps a narrow symbol out of a 32-bit
 * instruction's immediate (it would be the truncation of an address), so in C each is
 * `movl $imm32, %r10d` and the operation on r10d; on x86-64 the instruction X86 (AT&T, %k0 =
 * dst's 32-bit register, %1 = the immediate, `R_X86_64_32`) is written out instead, and the
 * CPU's 32-bit operation zero-extends as eBPF's does: `add32 dst, imm` is one `addl`.
 * Elsewhere EXPR in C. */
#if defined(__x86_64__)
#define ALU32_IMM(X86, EXPR)                                             \
    PATCHJIT_STENCIL {                                                   \
        __asm__(X86 : "+r"(DST) : "i"(_JIT_OPERAND0_U32));               \
        NEXT();                                                          \
    }
#else
#define ALU32_IMM(X86, EXPR) ALU32(IMM32, EXPR)
#endif

/* To the jump target when COND holds, else on. */
#define BRANCH(COND)            \
    PATCHJIT_STENCIL {          \
        if (COND) {             \
            PATCHJIT_JUMP();    \
        }                       \
        NEXT();                 \
    }

/* Branches whose compare clang would not write as one instruction, written out on x86-64: the
 * asm TEXT compares dst (%1) with OPERAND (%2), and CC, its flag condition, is the asm's
 * output, so one `jcc` remains. Elsewhere COND in C.
 * - BRANCH_EQ_IMM: dst == imm (CC "e") or dst != imm ("ne"), 64-bit. In C clang would take
 *   the equality to mean dst holds the constant on the taken path and rematerialise it there
 *   with a second `movabs`: `cmpq $imm32, %rsi`, the immediate sign-extended.
 * - BRANCH_EQ_REG: dst == src or dst != src, 64-bit. In C clang would take the equality to
 *   mean the registers are interchangeable on one path and copy one into the other there
 *   (`cmp; jne CONTINUE; mov; jmp target`, no fallthrough left).
 * - BRANCH32_IMM: 32-bit with an immediate, INSN (`cmpl` or `testl`) of the immediate's 32
 *   bits with dst's low half: as for ALU32_IMM, clang would load the immediate into a scratch
 *   register first (`cmpl $imm32, %r15d; ja`). */
#if defined(__x86_64__)
#define BRANCH_ASM(TEXT, CC, OPERAND)                                  \
    PATCHJIT_STENCIL {                                                 \
        _Bool taken;                                                   \
        __asm__(TEXT : "=@cc" CC(taken) : "r"(DST), OPERAND);          \
        if (taken) {                                                   \
            PATCHJIT_JUMP();                                           \
        }                                                              \
        NEXT();                                                        \
    }
#define BRANCH_EQ_IMM(CC, COND) BRANCH_ASM("cmpq %2, %1", CC, "i"(_JIT_OPERAND0_I32))
#define BRANCH_EQ_REG(CC, COND) BRANCH_ASM("cmpq %2, %1", CC, "r"(SRC))
#define BRANCH32_IMM(INSN, CC, COND) BRANCH_ASM(INSN " %2, %k1", CC, "i"(_JIT_OPERAND0_U32))
#else
#define BRANCH_EQ_IMM(CC, COND) BRANCH(COND)
#define BRANCH_EQ_REG(CC, COND) BRANCH(COND)
#define BRANCH32_IMM(INSN, CC, COND) BRANCH(COND)
#endif

/* The immediate divisor of div, mod, sdiv and smod: never 0, and for sdiv and smod never -1
 * either, since the JIT emits a division by those constants as the move or negation RFC 9669
 * gives it (jit.rs, `by_constant`). So these stencils hold no test of it: clang drops the test of
 * 0 when told (a test it must otherwise keep, the value being a symbol's address, see
 * patchjit.h), and the signed ones are C's division, whose one overflow, INT_MIN / -1, needs
 * the -1 that never comes. */
#define DIVISOR(b) (__builtin_assume((b) != 0), (b))

/* Signed division and remainder with the RFC's wrapping rules (the divisor is nonzero). */
static inline uint64_t bpf_sdiv64(uint64_t a, uint64_t b) {
    return (int64_t)b == -1 ? -a : (uint64_t)((int64_t)a / (int64_t)b);
}
static inline uint64_t bpf_smod64(uint64_t a, uint64_t b) {
    return (int64_t)b == -1 ? 0 : (uint64_t)((int64_t)a % (int64_t)b);
}
static inline uint32_t bpf_sdiv32(uint32_t a, uint32_t b) {
    return (int32_t)b == -1 ? -a : (uint32_t)((int32_t)a / (int32_t)b);
}
static inline uint32_t bpf_smod32(uint32_t a, uint32_t b) {
    return (int32_t)b == -1 ? 0 : (uint32_t)((int32_t)a % (int32_t)b);
}

#endif /* BPF_H */
