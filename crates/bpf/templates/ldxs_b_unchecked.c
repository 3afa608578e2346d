/* ldxsb dst, [src + off]: sign-extending, unchecked: for programs trusted to stay in bounds (Jit::unchecked) */
#define BPF_UNCHECKED
#include "ldxs_b.c"
