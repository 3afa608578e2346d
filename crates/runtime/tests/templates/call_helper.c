#include "jit.h"
extern int64_t helper(int64_t);
STENCIL {
    acc = helper(acc);
    NEXT();
}
