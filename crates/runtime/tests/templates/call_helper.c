#include "jit.h"
extern IMPORT int64_t helper(int64_t);
STENCIL {
    acc = helper(acc);
    NEXT();
}
