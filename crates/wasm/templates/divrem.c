/* patchjit-variants: OP=0..=7 */
#include "wasm.h"
/* i32 then i64: div_s, div_u, rem_s, rem_u. A zero divisor traps through the error target,
 * signed MIN / -1 through the jump target (integer overflow); MIN % -1 is 0. */
PATCHJIT_STENCIL {
    uint64_t a = sp[-1], b = tos, r = 0;
    if (OP < 4) {
        uint32_t x = (uint32_t)a, y = (uint32_t)b;
        if (__builtin_expect(y == 0, 0)) TRAP();
        if (OP == 0) {
            if (__builtin_expect(x == 0x80000000u && y == 0xffffffffu, 0)) TRAP2();
            r = (uint32_t)((int32_t)x / (int32_t)y);
        } else if (OP == 1) {
            r = x / y;
        } else if (OP == 2) {
            r = y == 0xffffffffu ? 0 : (uint32_t)((int32_t)x % (int32_t)y);
        } else {
            r = x % y;
        }
    } else {
        if (__builtin_expect(b == 0, 0)) TRAP();
        if (OP == 4) {
            if (__builtin_expect(a == 0x8000000000000000ull && b == ~0ull, 0)) TRAP2();
            r = (uint64_t)((int64_t)a / (int64_t)b);
        } else if (OP == 5) {
            r = a / b;
        } else if (OP == 6) {
            r = b == ~0ull ? 0 : (uint64_t)((int64_t)a % (int64_t)b);
        } else {
            r = a % b;
        }
    }
    tos = r;
    sp--;
    NEXT();
}
