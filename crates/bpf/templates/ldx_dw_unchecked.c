/* ldxdw dst, [src + off], unchecked: for programs trusted to stay in bounds (Jit::unchecked) */
#define BPF_UNCHECKED
#include "ldx_dw.c"
