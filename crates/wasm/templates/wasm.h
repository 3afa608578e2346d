/* The WebAssembly JIT's stencil vocabulary: one template per operation shape, over the run
 * state below (`jit::Ctx` and `store::MemView` on the Rust side, which must match field for
 * field).
 *
 * Pinned state: every stencil takes and passes the operand stack pointer `sp` (one 64-bit slot
 * per value, i32 and f32 zero-extended), the frame pointer `fp` (local 0), the memory's base,
 * the top of the operand stack `tos`, the run state and the memory's byte length. They are
 * `preserve_none` parameters, so on x86-64 they live in r12-r15, rdi and rsi (the first four
 * survive helper calls, the run state is a helper's first argument), on AArch64 in x20-x25.
 *
 * Stack caching: the top operand is always in `tos`, the others in the frame's slots. A frame
 * is its locals, one spare slot, then the operands below the top: with h operands,
 * sp = fp + locals + h, and operand i < h - 1 is at fp + locals + 1 + i. Pushing spills `tos`
 * to *sp++ (into the spare slot when the stack was empty, so `tos` is then garbage and nothing
 * else is), popping reloads it from *--sp. A branch carrying the top value leaves it where it
 * is and only sets sp.
 *
 * Traps: a stencil that traps branches to its error target (or, for a second kind, its jump
 * target), a `trap` stencil placed after the function that records the kind and the site and
 * returns 1; every call stencil returns 1 when its callee did, so the whole wasm call chain
 * unwinds to the Rust caller. A normal return is 0. */
#ifndef WASM_H
#define WASM_H

#include <stdint.h>

typedef struct WasmCtx {
    uint64_t *stack_end; /* one past the last value slot: a frame beyond it is exhaustion */
    uint64_t depth;      /* wasm calls active below the host's call */
    uint64_t stack_limit; /* the lowest machine stack address a wasm call may start from */
    uint64_t trap_kind;  /* WASM_TRAP_*, 0 while running */
    uint64_t trap_site;  /* store function address << 32 | the op's module offset */
    void *host;          /* the Rust side's context, for helpers */
} WasmCtx;

/* A linear memory as the code sees it (`store::MemView`): rewritten whenever it grows. */
typedef struct MemView {
    uint8_t *base;
    uint64_t len;
} MemView;

/* `jit::TRAP_*` (trap kinds), in TrapKind's order. */
#define WASM_TRAP_UNREACHABLE 1
#define WASM_TRAP_MEMORY 2
#define WASM_TRAP_DIVIDE_BY_ZERO 3
#define WASM_TRAP_OVERFLOW 4
#define WASM_TRAP_INVALID_CONVERSION 5
#define WASM_TRAP_EXHAUSTED 9
/* Deepest wasm call nesting (the interpreter's MAX_FRAMES). */
#define WASM_MAX_FRAMES 10000

#define PATCHJIT_PARAMS                                                                   \
    uint64_t *sp, uint64_t *fp, uint8_t *mem, uint64_t tos, WasmCtx *ctx, uint64_t memsize
#define PATCHJIT_ARGS sp, fp, mem, tos, ctx, memsize
#define PATCHJIT_RETURN uint64_t
#include "patchjit.h"

#define NEXT() PATCHJIT_CONTINUE()
/* The frame slot `bytes` (a multiple of 8) above fp: a byte offset, so x86-64 folds it into
 * the address (`[r13 + disp32]`). */
#define SLOT(BYTES) (*(uint64_t *)((char *)fp + (BYTES)))
/* Pushes `v` (the old top goes to memory) and pops (the next one comes back from memory). The
 * compiler knows every op's stack height, so the two cache states are variants: EMPTY, a push
 * onto an empty stack (nothing to spill, sp steps over the spare slot), and LAST, a pop that
 * empties it (nothing to reload). */
#define PUSH(EMPTY, V) ((EMPTY) ? (void)sp++ : (void)(*sp++ = tos), tos = (V))
#define POP(LAST) ((LAST) ? (void)sp-- : (void)(tos = *--sp))
/* Narrow immediates: 32 bits where the value fits (a 5-byte `mov` instead of a 10-byte one). */
#define OPARG32 PATCHJIT_OPARG_U32
#define TRAP() PATCHJIT_ERROR()
/* A second trap kind's stub (division overflow, truncation out of range). */
#define TRAP2() PATCHJIT_JUMP()

/* Unaligned access to linear memory. */
typedef uint16_t u16u __attribute__((aligned(1), may_alias));
typedef uint32_t u32u __attribute__((aligned(1), may_alias));
typedef uint64_t u64u __attribute__((aligned(1), may_alias));

/* Floats from and to slot bits. */
static inline float wasm_f32(uint64_t bits) {
    union { uint32_t u; float f; } v = {(uint32_t)bits};
    return v.f;
}
static inline double wasm_f64(uint64_t bits) {
    union { uint64_t u; double f; } v = {bits};
    return v.f;
}
static inline uint32_t wasm_bits32(float f) {
    union { float f; uint32_t u; } v = {f};
    return v.u;
}
static inline uint64_t wasm_bits64(double f) {
    union { double f; uint64_t u; } v = {f};
    return v.u;
}
/* A result's bits with the quiet bit set if it is a NaN (num::f32::quiet). */
static inline uint64_t wasm_quiet32(float r) {
    uint32_t b = wasm_bits32(r);
    return r != r ? (b | 0x00400000u) : b;
}
static inline uint64_t wasm_quiet64(double r) {
    uint64_t b = wasm_bits64(r);
    return r != r ? (b | 0x0008000000000000ull) : b;
}

/* Population count without the POPCNT instruction (x86-64's baseline lacks it). */
static inline uint64_t wasm_popcnt(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (x * 0x0101010101010101ull) >> 56;
}

/* Rounding without libm (the templates are freestanding): a float of magnitude 2^23 (f32) or
 * 2^52 (f64) and above is integral already (as are infinities; NaNs are quieted, as every
 * arithmetic result is); below, the integer conversion truncates, and adding and subtracting
 * 2^23 / 2^52 rounds to nearest, ties to even. Signs are copied back, so -0.5 rounds to -0.
 * Magnitudes and signs are taken on the bits, where the operand already is (in an integer
 * register): one instruction each, with no mask constant to load. */
#define WASM_ROUNDING(T, W, U, INT, BIG, BIG_BITS, SIGN, FROM, TO, QUIET)                \
    static inline U wasm_magnitude##W(U bits) { return bits & (U)~SIGN; }               \
    static inline uint64_t wasm_signed##W(T t, U bits) {                                \
        return QUIET(FROM(wasm_magnitude##W(TO(t)) | (bits & SIGN)));                   \
    }                                                                                   \
    static inline uint64_t wasm_trunc##W(U bits) {                                      \
        T x = FROM(bits);                                                               \
        if (!(wasm_magnitude##W(bits) < BIG_BITS)) return QUIET(x);                     \
        return wasm_signed##W((T)(INT)x, bits);                                         \
    }                                                                                   \
    static inline uint64_t wasm_floor##W(U bits) {                                      \
        T x = FROM(bits);                                                               \
        if (!(wasm_magnitude##W(bits) < BIG_BITS)) return QUIET(x);                     \
        T t = (T)(INT)x;                                                                \
        if (t > x) t -= 1;                                                              \
        return wasm_signed##W(t, bits);                                                 \
    }                                                                                   \
    static inline uint64_t wasm_ceil##W(U bits) {                                       \
        T x = FROM(bits);                                                               \
        if (!(wasm_magnitude##W(bits) < BIG_BITS)) return QUIET(x);                     \
        T t = (T)(INT)x;                                                                \
        if (t < x) t += 1;                                                              \
        return wasm_signed##W(t, bits);                                                 \
    }                                                                                   \
    static inline uint64_t wasm_nearest##W(U bits) {                                    \
        if (!(wasm_magnitude##W(bits) < BIG_BITS)) return QUIET(FROM(bits));            \
        volatile T big = BIG;                                                           \
        T r = (FROM(wasm_magnitude##W(bits)) + big) - big;                              \
        return wasm_signed##W(r, bits);                                                 \
    }

WASM_ROUNDING(float, 32, uint32_t, int32_t, 8388608.0f, 0x4b000000u, 0x80000000u, wasm_f32,
              wasm_bits32, wasm_quiet32)
WASM_ROUNDING(double, 64, uint64_t, int64_t, 4503599627370496.0, 0x4330000000000000ull,
              0x8000000000000000ull, wasm_f64, wasm_bits64, wasm_quiet64)

/* min and max (num::f32::min...): NaN if either is, -0 below +0. */
#define WASM_MINMAX(T, W, QUIET, FROM)                                                   \
    static inline uint64_t wasm_min##W(uint64_t a, uint64_t b) {                         \
        T x = FROM(a), y = FROM(b);                                                       \
        if (x != x || y != y) return QUIET(x + y);                                        \
        if (x == y) return a | b;                                                         \
        return x < y ? a : b;                                                             \
    }                                                                                    \
    static inline uint64_t wasm_max##W(uint64_t a, uint64_t b) {                         \
        T x = FROM(a), y = FROM(b);                                                       \
        if (x != x || y != y) return QUIET(x + y);                                        \
        if (x == y) return a & b;                                                         \
        return x > y ? a : b;                                                             \
    }

WASM_MINMAX(float, 32, wasm_quiet32, wasm_f32)
WASM_MINMAX(double, 64, wasm_quiet64, wasm_f64)

/* A taken branch's stack (code::Branch): `arity` (0 or 1) values, the top one in `tos`,
 * above the frame slot `height_bytes` above fp, everything between dropped. A carried value
 * stays in `tos`; only sp moves. Without one, the target's top is the operand just below the
 * new sp: still in `tos` when nothing is dropped, else in memory, its slot (the spare one
 * when the target's stack is empty) reloaded when DROPS is set (the compiler knows both
 * heights). */
#define RESHAPE(ARITY, DROPS, HEIGHT_BYTES)          \
    do {                                             \
        uint64_t *to_ = &SLOT(HEIGHT_BYTES);         \
        if (!(ARITY) && (DROPS)) {                   \
            tos = *to_;                              \
        }                                            \
        sp = to_ + (ARITY);                          \
    } while (0)

/* Reloads the memory registers from the instance's memory view (after a call or a grow). */
#define RELOAD(VIEW)                                 \
    do {                                             \
        const MemView *view_ = (const MemView *)(VIEW); \
        mem = view_->base;                           \
        memsize = view_->len;                        \
    } while (0)

/* Helpers on the Rust side (jit.rs). */
/* Calls host function `addr` with the arguments at `args`, writes its results there; 1 when
 * it trapped (kind and message recorded). */
PATCHJIT_HELPER(uint64_t, wasm_jit_call_host, WasmCtx *ctx, uint64_t addr, uint64_t *args);
/* call_indirect: resolves table element `index` against the expected type (`table_and_type`:
 * table address << 32 | interned type id). A wasm function: returns its entry. A host
 * function: calls it as wasm_jit_call_host does and returns 0. A trap: records the kind and
 * returns 0. */
PATCHJIT_HELPER(void *, wasm_jit_indirect, WasmCtx *ctx, uint64_t table_and_type, uint64_t index,
                uint64_t *args);
/* memory.grow of memory `addr` by `delta` pages: the old size or -1 (as a u32). */
PATCHJIT_HELPER(uint64_t, wasm_jit_memory_grow, WasmCtx *ctx, uint64_t addr, uint64_t delta);

/* After a call whose arguments were at `args`: its result (if any) or the operand below the
 * arguments is the top. */
#define RESULT(ARGS) (sp = (ARGS) + (OPARG32 >> 16) - 1, tos = *sp)

/* The machine stack pointer (wasm calls are machine calls: each takes one stencil frame). */
static inline uint64_t wasm_machine_sp(void) {
    uint64_t s;
#if defined(__x86_64__)
    __asm__ volatile("mov %%rsp, %0" : "=r"(s));
#else
    __asm__ volatile("mov %0, sp" : "=r"(s));
#endif
    return s;
}

/* A wasm call of `CALLEE` (a stencil entry) with the arguments the top slots in memory (the
 * caller spills `tos` first): OPARG = params | results << 16, OPERAND1 = the caller's memory
 * view. Exhaustion of the call depth (the interpreter's limit) or of the host thread's machine
 * stack traps at the call. The result comes back in the callee's first slot, the first
 * argument's: it, or the operand below the arguments, becomes `tos`. */
#define WASM_CALL(CALLEE)                                                     \
    do {                                                                      \
        uint64_t *args_ = sp - (OPARG32 & 0xffff);                     \
        uint64_t depth_ = ctx->depth;                                         \
        if (__builtin_expect(                                                 \
                depth_ >= WASM_MAX_FRAMES || wasm_machine_sp() < ctx->stack_limit, 0)) { \
            ctx->trap_kind = WASM_TRAP_EXHAUSTED;                             \
            TRAP();                                                           \
        }                                                                     \
        ctx->depth = depth_ + 1;                                              \
        if (__builtin_expect(((patchjit_stencil)(CALLEE))(                    \
                                 args_ + (OPARG32 & 0xffff), args_, mem, 0, ctx, \
                                 memsize) != 0,                               \
                             0)) {                                            \
            return 1;                                                         \
        }                                                                     \
        ctx->depth = depth_;                                                  \
        RESULT(args_);                                                        \
        RELOAD(PATCHJIT_OPERAND1);                                            \
    } while (0)

#endif /* WASM_H */
