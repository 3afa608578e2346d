#include "jit.h"
STENCIL {
    state->error = acc;
    return -1;
}
