/* The eBPF JIT's stencil vocabulary: one template per operation and operand form, over the
 * machine state below (`jit::Vm` on the Rust side, which must match it field for field).
 *
 * Holes: OPARG = dst | src << 4 | pc << 8 (registers, and the instruction index for errors);
 * OPERAND0 = the immediate, sign-extended to 64 bits (the whole constant for lddw, the helper
 * id for calls); OPERAND1 = the offset of a load or store, sign-extended. Branch destinations
 * are the emitter's jump target (a local call's callee, a jump's destination).
 *
 * Faults (out-of-bounds access, call depth) record what happened in the state and return to
 * the Rust caller; helper calls go through the Rust function `bpf_jit_call_helper`. */
#include <stdint.h>

typedef struct BpfVm {
    uint64_t r[16]; /* r0-r10; 16 entries so that a register nibble needs no check */
    uint64_t input_base, input_len, stack_base, stack_len;
    uint64_t depth;        /* local-call frames active below the entry function */
    uint64_t ret[8];       /* their continuation addresses */
    uint64_t saved[8][4];  /* their callers' r6-r9 */
    uint64_t fault;        /* BPF_FAULT_*, 0 while running or after a normal exit */
    uint64_t fault_pc, fault_addr, fault_size;
    void *host;            /* the Rust side's context, for helper calls */
    uint64_t budget;       /* back-edges and local calls left (code compiled with a budget) */
} BpfVm;

#define BPF_FAULT_LOAD 1
#define BPF_FAULT_STORE 2
#define BPF_FAULT_DEPTH 3
#define BPF_FAULT_BUDGET 5
#define BPF_STACK_SIZE 512
#define BPF_MAX_CALL_DEPTH 8

#define PATCHJIT_PARAMS BpfVm *vm
#define PATCHJIT_ARGS vm
#define PATCHJIT_RETURN uint64_t
#include "patchjit.h"

#define DST vm->r[PATCHJIT_OPARG & 15]
#define SRC vm->r[(PATCHJIT_OPARG >> 4) & 15]
#define PC (PATCHJIT_OPARG >> 8)
#define IMM PATCHJIT_OPERAND0
#define OFF PATCHJIT_OPERAND1
#define NEXT() PATCHJIT_CONTINUE()

/* Returns nonzero when the program must stop (a fault, or the unwind helper returned 0). */
PATCHJIT_HELPER(uint64_t, bpf_jit_call_helper, BpfVm *vm, uint64_t id, uint64_t pc);

/* Whether [a, a + n) lies inside the stack or the input (the interpreter's rule). */
static inline int bpf_in_bounds(BpfVm *vm, uint64_t a, uint64_t n) {
    uint64_t so = a - vm->stack_base;
    if (so <= vm->stack_len && n <= vm->stack_len - so) {
        return 1;
    }
    uint64_t io = a - vm->input_base;
    return io <= vm->input_len && n <= vm->input_len - io;
}

/* Stops the program with an out-of-bounds fault unless [a, a + n) is accessible; nothing in the
 * *_unchecked.c variants, which define BPF_UNCHECKED (Jit::unchecked: the caller vouches that
 * every access stays in bounds, as rbpf's x86-64 JIT assumes). */
#ifdef BPF_UNCHECKED
#define CHECK(a, n, kind)
#else
#define CHECK(a, n, kind)                                            \
    if (__builtin_expect(!bpf_in_bounds(vm, (a), (n)), 0)) {         \
        vm->fault = (kind);                                          \
        vm->fault_pc = PC;                                           \
        vm->fault_addr = (a);                                        \
        vm->fault_size = (n);                                        \
        return 0;                                                    \
    }
#endif

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
        CHECK(a, N, BPF_FAULT_LOAD);             \
        DST = CONVERT(*(const TYPE *)a);         \
        NEXT();                                  \
    }

/* LOAD through r10, unchecked: the verifier keeps every r10 access inside the current 512-byte
 * frame ([r10 - 512, r10)) and never lets the program write r10; only `call local` and `exit`
 * move it, frame by frame, inside the 8-frame stack. */
#define LOAD_FRAME(TYPE, CONVERT)                \
    PATCHJIT_STENCIL {                           \
        DST = CONVERT(*(const TYPE *)(vm->r[10] + OFF)); \
        NEXT();                                  \
    }

/* STORE through r10, unchecked (see LOAD_FRAME). */
#define STORE_FRAME(TYPE, V)                     \
    PATCHJIT_STENCIL {                           \
        *(TYPE *)(vm->r[10] + OFF) = (TYPE)(V);  \
        NEXT();                                  \
    }

/* The N-byte TYPE at dst + off = V. */
#define STORE(N, TYPE, V)                        \
    PATCHJIT_STENCIL {                           \
        uint64_t a = DST + OFF;                  \
        CHECK(a, N, BPF_FAULT_STORE);            \
        *(TYPE *)a = (TYPE)(V);                  \
        NEXT();                                  \
    }

/* Read-modify-write of the N-byte TYPE at dst + off: new = EXPR over old and v (src cut to
 * WIDTH); with FETCH, src = old. Checked as a load first, as the interpreter does. The JIT is
 * single-threaded, like the interpreter: no atomic instruction is needed. */
#define ATOMIC(N, TYPE, WIDTH, EXPR, FETCH)                      \
    PATCHJIT_STENCIL {                                           \
        uint64_t a = DST + OFF;                                  \
        CHECK(a, N, BPF_FAULT_LOAD);                             \
        uint64_t old = *(TYPE *)a, v = (WIDTH)SRC;               \
        *(TYPE *)a = (WIDTH)(EXPR);                              \
        if (FETCH) {                                             \
            SRC = old;                                           \
        }                                                        \
        NEXT();                                                  \
    }

/* Compares the N-byte TYPE at dst + off with r0 cut to WIDTH: stores src there when they are
 * equal; r0 = the old value either way. */
#define CMPXCHG(N, TYPE, WIDTH)                  \
    PATCHJIT_STENCIL {                           \
        uint64_t a = DST + OFF;                  \
        CHECK(a, N, BPF_FAULT_LOAD);             \
        uint64_t old = *(TYPE *)a;               \
        if (old == (WIDTH)vm->r[0]) {            \
            *(TYPE *)a = (WIDTH)SRC;             \
        }                                        \
        vm->r[0] = old;                          \
        NEXT();                                  \
    }

/* To the jump target when COND holds, else on. */
#define BRANCH(COND)            \
    PATCHJIT_STENCIL {          \
        if (COND) {             \
            PATCHJIT_JUMP();    \
        }                       \
        NEXT();                 \
    }

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
