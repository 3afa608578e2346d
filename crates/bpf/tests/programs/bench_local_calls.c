// Call-heavy, eBPF-to-eBPF: about 8,000 program-local calls two deep, functions that keep
// everything in registers (rbpf's x86-64 JIT does not move r10 for a callee, so callees that
// used the stack would overwrite their caller's frame there).
#include "bench.h"

NOINLINE uint64_t fold(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x100000001b3ull;
    return h ^ (h >> 31);
}

NOINLINE uint64_t step(uint64_t h, uint64_t v)
{
    h = fold(h, v);
    return (h & 1) ? fold(h, v >> 1) : h + v;
}

uint64_t entry(uint8_t *mem)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < 4096; i++)
        h = step(h, mem[i % INPUT_LEN]);
    return h;
}
