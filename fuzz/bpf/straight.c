// Loop-free eBPF seed: straight-line arithmetic, byte swaps, input loads and stores behind
// bounds checks, and program-local calls. Every jump is forward, so the fuzz harness's bound on
// executed instructions holds and the JIT tier runs on it and on its mutants.
typedef unsigned long long uint64_t;
typedef unsigned int uint32_t;
typedef unsigned char uint8_t;

static __attribute__((noinline)) uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0x100000001b3ull;
}

static __attribute__((noinline)) uint64_t pick(uint64_t a, uint64_t b)
{
    return a > b ? a - b : (b ^ 0x5555) + (uint32_t)a;
}

uint64_t entry(uint8_t *mem, uint64_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (len >= 16) {
        h = mix(h, *(uint64_t *)mem);
        h = mix(h, *(uint32_t *)(mem + 8));
        mem[12] = (uint8_t)h;
    }
    h = mix(h, pick(h, len));
    h += __builtin_bswap64(h) / ((len & 7) + 1);
    return mix(h, (uint32_t)(h >> 17) % 1000);
}
