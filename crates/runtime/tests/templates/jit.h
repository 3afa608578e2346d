/* Shared declarations for the runtime's test templates: one `_JIT_ENTRY` per file, holes named
 * by `_JIT_*` symbols, instructions chained by `preserve_none` tail calls. */
#include <stdint.h>

typedef struct State {
    int64_t sum;
    int64_t error;
} State;

typedef __attribute__((preserve_none)) int64_t (*jit_func)(State *state, int64_t acc);

extern char _JIT_CONTINUE[], _JIT_JUMP_TARGET[], _JIT_ERROR_TARGET[];
#ifdef _WIN32
/* Values and helpers come through pointer slots (`__imp_*`), as CPython's do on Windows. */
#define IMPORT __declspec(dllimport)
#else
#define IMPORT
#endif
extern IMPORT char _JIT_OPERAND0[], _JIT_OPARG[];

#define OPERAND0 ((int64_t)(uintptr_t)_JIT_OPERAND0)
#define OPARG ((int64_t)(uint16_t)(uintptr_t)_JIT_OPARG)
#define GOTO(target) __attribute__((musttail)) return ((jit_func)target)(state, acc)
#define NEXT() GOTO(_JIT_CONTINUE)

#define STENCIL __attribute__((preserve_none)) int64_t _JIT_ENTRY(State *state, int64_t acc)
