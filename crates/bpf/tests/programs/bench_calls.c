// Call-heavy: two helper calls per input byte visited (about 6,000 calls), little work between.
#include "bench.h"

uint64_t entry(uint8_t *mem)
{
    uint64_t h = 0;
    for (uint64_t i = 0; i < 4096; i++) {
        h = mix(h, mem[i % INPUT_LEN]);
        if (h & 1)
            h = rotl(h, i);
    }
    return h;
}
