/* stxh [dst + off], src, unchecked: for programs trusted to stay in bounds (Jit::unchecked) */
#define BPF_UNCHECKED
#include "stx_h.c"
