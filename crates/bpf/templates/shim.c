#include "bpf.h"
/* The entry: a C-ABI function the Rust side calls; it enters the first instruction with the
 * registers the Rust side set in the state. */
uint64_t _JIT_ENTRY(BpfVm *vm) {
    uint64_t *r = vm->r;
    return PATCHJIT_ENTER(r[6], r[7], r[8], r[9], r[1], r[2], r[3], r[4], r[5], vm, r[10], r[0]);
}
