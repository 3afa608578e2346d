/* Data shapes the readers must agree on: zero-initialised (BSS) and initialised static data
 * without -fdata-sections, a pointer table (absolute data relocations, addends), a hidden
 * defined symbol (Mach-O PrivateExtern), a weak function (not on Windows), negative and large offsets. */
#include "../templates/jit.h"

static uintptr_t counts[64];
/* Writable, so clang cannot turn it into a relative lookup table (PREL32/SUBTRACTOR). */
static const char *names[3] = {"zero", "one", "two"};
__attribute__((visibility("hidden"))) uintptr_t hidden_total = 7;
IMPORT extern uintptr_t far_table[];

uintptr_t weak_helper(uintptr_t x);

STENCIL(_JIT_ENTRY) {
    counts[sp[0] & 63] += 1;
    names[sp[4] % 3] = "three";
    sp[1] = (uintptr_t)names[sp[2] % 3] + counts[5];
    sp[2] = far_table[1000] + far_table[-3];
    hidden_total += weak_helper(sp[3]);
    PATCH_JUMP(_JIT_CONTINUE);
}

/* After the stencil, so that _JIT_ENTRY starts the code. Not weak on Windows, where a weak
 * definition is a weak external that CPython's rules refuse to call without dllimport. */
#ifdef _WIN32
#define WEAK
#else
#define WEAK __attribute__((weak))
#endif
WEAK __attribute__((noinline)) uintptr_t weak_helper(uintptr_t x) {
    return x ^ 0x5a;
}
