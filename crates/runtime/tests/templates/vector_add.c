#include "jit.h"
/* A 16-byte vector constant, which clang loads with an instruction that needs it 16-aligned
 * (x86-64 `paddq xmm, [rip + c]` faults otherwise; AArch64's `ldr q, [x, :lo12:c]` cannot
 * encode a misaligned offset). The empty asm keeps clang from folding the vector away. */
typedef int64_t v2 __attribute__((vector_size(16)));
STENCIL {
    v2 v = {acc, acc};
#if defined(__x86_64__)
    __asm__("" : "+x"(v));
#elif defined(__aarch64__)
    __asm__("" : "+w"(v));
#else
    __asm__("" : "+m"(v));
#endif
    v += (v2){1000, 2000};
    acc = v[0] + v[1];
    NEXT();
}
