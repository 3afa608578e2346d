/* patchjit-variants: OP=0..=34 */
#include "wasm.h"
/* One value in, one out, no trap: OP numbers the operations as jit::unary does. */
PATCHJIT_STENCIL {
    uint64_t a = tos, r = 0;
    uint32_t a32 = (uint32_t)a;
    float f = wasm_f32(a);
    double d = wasm_f64(a);
    switch (OP) {
    case 0: r = a32 == 0; break;                                   /* i32.eqz */
    case 1: r = a32 ? (uint64_t)__builtin_clz(a32) : 32; break;    /* i32.clz */
    case 2: r = a32 ? (uint64_t)__builtin_ctz(a32) : 32; break;    /* i32.ctz */
    case 3: r = wasm_popcnt(a32); break;                           /* i32.popcnt */
    case 4: r = a == 0; break;                                     /* i64.eqz */
    case 5: r = a ? (uint64_t)__builtin_clzll(a) : 64; break;      /* i64.clz */
    case 6: r = a ? (uint64_t)__builtin_ctzll(a) : 64; break;      /* i64.ctz */
    case 7: r = wasm_popcnt(a); break;                             /* i64.popcnt */
    case 8: r = a32 & 0x7fffffffu; break;                          /* f32.abs */
    case 9: r = a32 ^ 0x80000000u; break;                          /* f32.neg */
    case 10: r = wasm_ceil32(a32); break;
    case 11: r = wasm_floor32(a32); break;
    case 12: r = wasm_trunc32(a32); break;
    case 13: r = wasm_nearest32(a32); break;
    case 14: r = wasm_quiet32(__builtin_elementwise_sqrt(f)); break;
    case 15: r = a & 0x7fffffffffffffffull; break;                 /* f64.abs */
    case 16: r = a ^ 0x8000000000000000ull; break;                 /* f64.neg */
    case 17: r = wasm_ceil64(a); break;
    case 18: r = wasm_floor64(a); break;
    case 19: r = wasm_trunc64(a); break;
    case 20: r = wasm_nearest64(a); break;
    case 21: r = wasm_quiet64(__builtin_elementwise_sqrt(d)); break;
    case 22: r = a32; break;                                       /* i32.wrap_i64 */
    case 23: r = (uint64_t)(int64_t)(int32_t)a32; break;           /* i64.extend_i32_s */
    case 24: r = a32; break;                                       /* i64.extend_i32_u */
    case 25: r = wasm_bits32((float)(int32_t)a32); break;          /* f32.convert_i32_s */
    case 26: r = wasm_bits32((float)a32); break;                   /* f32.convert_i32_u */
    case 27: r = wasm_bits32((float)(int64_t)a); break;            /* f32.convert_i64_s */
    case 28: r = wasm_bits32((float)a); break;                     /* f32.convert_i64_u */
    case 29: r = wasm_quiet32((float)d); break;                    /* f32.demote_f64 */
    case 30: r = wasm_bits64((double)(int32_t)a32); break;         /* f64.convert_i32_s */
    case 31: r = wasm_bits64((double)a32); break;                  /* f64.convert_i32_u */
    case 32: r = wasm_bits64((double)(int64_t)a); break;           /* f64.convert_i64_s */
    case 33: r = wasm_bits64((double)a); break;                    /* f64.convert_i64_u */
    case 34: r = wasm_quiet64((double)f); break;                   /* f64.promote_f32 */
    }
    tos = r;
    NEXT();
}
