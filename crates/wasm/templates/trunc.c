/* patchjit-variants: OP=0..=7 */
#include "wasm.h"
/* The trapping float-to-integer truncations: i32 from f32 (signed, unsigned), from f64, then
 * i64 likewise. NaN traps through the error target (invalid conversion), a value whose
 * truncation lies outside the integer's range through the jump target (integer overflow).
 * The bounds are exact in both float widths. */
PATCHJIT_STENCIL {
    uint64_t a = tos, r = 0;
    double x = (OP & 2) ? wasm_f64(a) : (double)wasm_f32(a);
    if (__builtin_expect(x != x, 0)) TRAP();
    switch (OP) {
    case 0: case 2:
        if (!(x > -2147483649.0 && x < 2147483648.0)) TRAP2();
        r = (uint32_t)(int32_t)x;
        break;
    case 1: case 3:
        if (!(x > -1.0 && x < 4294967296.0)) TRAP2();
        r = (uint32_t)x;
        break;
    case 4: case 6:
        if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) TRAP2();
        r = (uint64_t)(int64_t)x;
        break;
    default:
        if (!(x > -1.0 && x < 18446744073709551616.0)) TRAP2();
        r = (uint64_t)x;
        break;
    }
    tos = r;
    NEXT();
}
