#include "jit.h"
/* C ABI entry: runs the program (a call, not a tail call) and returns its accumulator. */
int64_t _JIT_ENTRY(State *state) { return ((jit_func)_JIT_CONTINUE)(state, 0); }
