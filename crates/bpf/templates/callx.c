#include "bpf.h"
/* callx dst: the helper whose id is in dst */
PATCHJIT_STENCIL {
    if (bpf_jit_call_helper(vm, DST, PC)) {
        return 0;
    }
    NEXT();
}
