/* Declarations shared by the extraction test templates, modelled on CPython 3.14's template.c
 * and jit.h: holes are `_JIT_*` symbols whose addresses are the values (PATCH_VALUE), and jumps
 * are `preserve_none` musttail calls through such symbols (PATCH_JUMP). On Windows the symbols are
 * dllimport'ed, as CPython's PyAPI_DATA makes them (except on i686, where CPython passes
 * -DPy_NO_ENABLE_SHARED). */
#include <stdint.h>

#if defined(_WIN32) && !defined(Py_NO_ENABLE_SHARED)
#define IMPORT __declspec(dllimport)
#else
#define IMPORT
#endif

typedef __attribute__((preserve_none)) uintptr_t (*jit_func)(uintptr_t *frame, uintptr_t *sp,
                                                               void *tstate);

#define PATCH_VALUE(TYPE, NAME, ALIAS) \
    IMPORT extern char ALIAS[];        \
    TYPE NAME = (TYPE)(uintptr_t)ALIAS

#define PATCH_JUMP(ALIAS)                                                  \
    do {                                                                   \
        IMPORT extern char ALIAS[];                                        \
        __attribute__((musttail)) return ((jit_func)ALIAS)(frame, sp, tstate); \
    } while (0)

#define STENCIL(NAME) \
    __attribute__((preserve_none)) uintptr_t NAME(uintptr_t *frame, uintptr_t *sp, void *tstate)
