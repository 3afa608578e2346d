/* Several stencils in one object (compiled with -ffunction-sections -fdata-sections): a static
 * helper and static data are shared, `third` calls `first` and reads a pointer to `second` (other
 * stencils of the same object: external holes). */
#include "jit.h"

static const char greeting[] = "hello";
uintptr_t table[4] = {1, 2, 3, 4};
IMPORT extern uintptr_t ext(uintptr_t);

__attribute__((noinline)) static uintptr_t helper(uintptr_t x) {
    return x * 3 + table[x & 3];
}

STENCIL(first) {
    sp[0] = helper(sp[0]) + (uintptr_t)greeting[sp[1] & 3];
    PATCH_JUMP(_JIT_CONTINUE);
}

STENCIL(second) {
    static uintptr_t calls; /* zero-initialised: BSS, extracted as zero bytes */
    calls += 1;
    sp[0] = ext(sp[0]) + calls;
    PATCH_JUMP(_JIT_JUMP_TARGET);
}

/* Writable data pointing at another stencil of this object: a data hole to `second`. */
jit_func next_stencil = second;

uintptr_t third(uintptr_t *frame) {
    return first(frame, frame, 0) + (uintptr_t)next_stencil;
}
