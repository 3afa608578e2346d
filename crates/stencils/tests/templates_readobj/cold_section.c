/* A stencil whose code lives in an instruction section other than the default one (Mach-O
 * `__TEXT,__text_cold`, ELF/COFF `.text.cold`): both readers must call its symbols code. */
#include "../templates/jit.h"

#ifdef __APPLE__
#define COLD __attribute__((section("__TEXT,__text_cold,regular,pure_instructions")))
#else
#define COLD __attribute__((section(".text.cold")))
#endif

COLD STENCIL(_JIT_ENTRY) {
    sp[0] += 1;
    PATCH_JUMP(_JIT_CONTINUE);
}
