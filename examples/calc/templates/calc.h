/* The calc language's stencil signature: the VM state and the operand stack pointer (which
 * points one past the top value) stay in registers across the whole program. */
#include <stdint.h>

typedef struct Calc {
    int64_t *locals;
    int64_t error;
} Calc;

#define PATCHJIT_PARAMS Calc *vm, int64_t *sp
#define PATCHJIT_ARGS vm, sp
#include "patchjit.h"

/* Wrapping arithmetic (the interpreter uses wrapping_* too; signed overflow is UB in C). */
#define WRAP(a, op, b) ((int64_t)((uint64_t)(a) op (uint64_t)(b)))
