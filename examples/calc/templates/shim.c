#include "calc.h"
/* The entry: a C-ABI function the Rust side calls; it calls the first instruction. */
int64_t _JIT_ENTRY(Calc *vm, int64_t *sp) { return PATCHJIT_ENTER(vm, sp); }
