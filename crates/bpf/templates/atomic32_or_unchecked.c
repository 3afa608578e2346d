/* lock or [dst + off], src (32-bit), unchecked: for programs trusted to stay in bounds (Jit::unchecked) */
#define BPF_UNCHECKED
#include "atomic32_or.c"
