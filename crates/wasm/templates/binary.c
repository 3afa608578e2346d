/* patchjit-variants: OP=0..=67 */
#include "wasm.h"
/* Two values in, one out, no trap: OP numbers the operations as jit::binary does (i32 and
 * i64 in the same order: comparisons, then arithmetic; f32 and f64 likewise). */
PATCHJIT_STENCIL {
    uint64_t a = sp[-1], b = tos, r = 0;
    uint32_t x = (uint32_t)a, y = (uint32_t)b;
    float f = wasm_f32(a), g = wasm_f32(b);
    double d = wasm_f64(a), e = wasm_f64(b);
    switch (OP) {
    case 0: r = x == y; break;
    case 1: r = x != y; break;
    case 2: r = (int32_t)x < (int32_t)y; break;
    case 3: r = x < y; break;
    case 4: r = (int32_t)x > (int32_t)y; break;
    case 5: r = x > y; break;
    case 6: r = (int32_t)x <= (int32_t)y; break;
    case 7: r = x <= y; break;
    case 8: r = (int32_t)x >= (int32_t)y; break;
    case 9: r = x >= y; break;
    case 10: r = (uint32_t)(x + y); break;
    case 11: r = (uint32_t)(x - y); break;
    case 12: r = (uint32_t)(x * y); break;
    case 13: r = x & y; break;
    case 14: r = x | y; break;
    case 15: r = x ^ y; break;
    case 16: r = (uint32_t)(x << (y & 31)); break;
    case 17: r = (uint32_t)((int32_t)x >> (y & 31)); break;
    case 18: r = x >> (y & 31); break;
    case 19: r = (uint32_t)((x << (y & 31)) | (x >> ((32 - y) & 31))); break;
    case 20: r = (uint32_t)((x >> (y & 31)) | (x << ((32 - y) & 31))); break;
    case 21: r = a == b; break;
    case 22: r = a != b; break;
    case 23: r = (int64_t)a < (int64_t)b; break;
    case 24: r = a < b; break;
    case 25: r = (int64_t)a > (int64_t)b; break;
    case 26: r = a > b; break;
    case 27: r = (int64_t)a <= (int64_t)b; break;
    case 28: r = a <= b; break;
    case 29: r = (int64_t)a >= (int64_t)b; break;
    case 30: r = a >= b; break;
    case 31: r = a + b; break;
    case 32: r = a - b; break;
    case 33: r = a * b; break;
    case 34: r = a & b; break;
    case 35: r = a | b; break;
    case 36: r = a ^ b; break;
    case 37: r = a << (b & 63); break;
    case 38: r = (uint64_t)((int64_t)a >> (b & 63)); break;
    case 39: r = a >> (b & 63); break;
    case 40: r = (a << (b & 63)) | (a >> ((64 - b) & 63)); break;
    case 41: r = (a >> (b & 63)) | (a << ((64 - b) & 63)); break;
    case 42: r = f == g; break;
    case 43: r = f != g; break;
    case 44: r = f < g; break;
    case 45: r = f > g; break;
    case 46: r = f <= g; break;
    case 47: r = f >= g; break;
    case 48: r = wasm_quiet32(f + g); break;
    case 49: r = wasm_quiet32(f - g); break;
    case 50: r = wasm_quiet32(f * g); break;
    case 51: r = wasm_quiet32(f / g); break;
    case 52: r = wasm_min32(x, y); break;
    case 53: r = wasm_max32(x, y); break;
    case 54: r = (x & 0x7fffffffu) | (y & 0x80000000u); break;
    case 55: r = d == e; break;
    case 56: r = d != e; break;
    case 57: r = d < e; break;
    case 58: r = d > e; break;
    case 59: r = d <= e; break;
    case 60: r = d >= e; break;
    case 61: r = wasm_quiet64(d + e); break;
    case 62: r = wasm_quiet64(d - e); break;
    case 63: r = wasm_quiet64(d * e); break;
    case 64: r = wasm_quiet64(d / e); break;
    case 65: r = wasm_min64(a, b); break;
    case 66: r = wasm_max64(a, b); break;
    case 67: r = (a & 0x7fffffffffffffffull) | (b & 0x8000000000000000ull); break;
    }
    tos = r;
    sp--;
    NEXT();
}
