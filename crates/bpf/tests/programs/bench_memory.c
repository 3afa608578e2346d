// Memory-heavy: a 64-entry histogram on the stack, updated from the input bytes and folded
// back into the input, 32 rounds: loads and stores through computed addresses in both the
// stack and the input.
#include "bench.h"

uint64_t entry(uint8_t *mem)
{
    uint32_t hist[64];
    for (int i = 0; i < 64; i++)
        hist[i] = i * 2654435761u;
    for (int round = 0; round < 32; round++) {
        for (int i = 0; i < INPUT_LEN; i++)
            hist[mem[i] & 63] += mem[i] + round;
        for (int i = 0; i < INPUT_LEN; i++)
            mem[i] = (uint8_t)(mem[i] + hist[(mem[i] >> 2) & 63]);
    }
    uint64_t sum = 0;
    for (int i = 0; i < 64; i++)
        sum = sum * 31 + hist[i];
    return sum;
}
