#include "bpf.h"
/* ja: always to the jump target */
PATCHJIT_STENCIL {
    PATCHJIT_JUMP();
}
