// Loop-heavy: nested counted loops of register arithmetic, no memory traffic — the Collatz
// step counts of 1..600 folded into a multiply-xorshift accumulator.
#include "bench.h"

uint64_t entry(uint8_t *mem)
{
    (void)mem;
    uint64_t total = 0, acc = 0x243f6a8885a308d3ull;
    for (uint64_t n = 1; n <= 600; n++) {
        uint64_t x = n, steps = 0;
        while (x != 1) {
            x = (x & 1) ? 3 * x + 1 : x >> 1;
            steps++;
        }
        total += steps;
        acc = (acc ^ steps) * 0x100000001b3ull;
        acc ^= acc >> 31;
    }
    return total ^ acc;
}
