/* lock or [dst + off], src (64-bit), unchecked: for programs trusted to stay in bounds (Jit::unchecked) */
#define BPF_UNCHECKED
#include "atomic64_or.c"
