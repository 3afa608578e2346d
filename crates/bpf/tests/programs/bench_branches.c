// Branch-heavy: a byte classifier driving a small state machine, several data-dependent
// branches per byte, 16 passes over the input mixed with a linear congruential sequence.
#include "bench.h"

uint64_t entry(uint8_t *mem)
{
    uint64_t state = 0, score = 0;
    uint32_t x = 0x9e3779b9u;
    for (int pass = 0; pass < 16; pass++) {
        for (int i = 0; i < INPUT_LEN; i++) {
            uint32_t c = (mem[i] ^ (x >> 24)) & 0xff;
            x = x * 1103515245u + 12345u;
            if (c < 32) {
                state = state == 1 ? 2 : 1;
                score += 3;
            } else if (c < 64) {
                if (state == 2)
                    score += 7;
                else
                    state = 3;
            } else if (c < 128) {
                if (c & 1)
                    score ^= c;
                else if (state > 1)
                    state--;
            } else if (c < 192) {
                if (state == 3 && (c & 6) == 6)
                    score <<= 1;
                else
                    score += c >> 4;
            } else {
                score += state * 5;
                state = 0;
            }
        }
    }
    return score * 8 + state;
}
