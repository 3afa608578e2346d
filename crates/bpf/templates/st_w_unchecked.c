/* stw [dst + off], imm, unchecked: for programs trusted to stay in bounds (Jit::unchecked) */
#define BPF_UNCHECKED
#include "st_w.c"
