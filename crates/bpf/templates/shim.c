#include "bpf.h"
/* The entry: a C-ABI function the Rust side calls; it enters the first instruction. */
uint64_t _JIT_ENTRY(BpfVm *vm) { return PATCHJIT_ENTER(vm); }
