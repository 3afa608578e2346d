// Loop-heavy test program: integer arithmetic over a counted loop with a
// non-inlined helper function (exercises eBPF program-local calls).
// Built twice by the tests: for the eBPF target and natively, results compared.
typedef unsigned long long uint64_t;
typedef long long int64_t;
typedef unsigned int uint32_t;
typedef unsigned char uint8_t;

#define NOINLINE static __attribute__((noinline))

NOINLINE uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0x100000001b3ull;
}

NOINLINE uint64_t collatz_steps(uint64_t n)
{
    uint64_t steps = 0;
    while (n != 1 && steps < 1000) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

uint64_t entry(void *mem, uint64_t len)
{
    (void)mem;
    (void)len;
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 1; i <= 300; i++) {
        h = mix(h, collatz_steps(i));
        h += (int64_t)i % 7 - 3;
    }
    return h;
}
