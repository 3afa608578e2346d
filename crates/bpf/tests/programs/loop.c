// Loop-heavy test program: integer arithmetic over a counted loop with a
// non-inlined helper function (exercises eBPF program-local calls).
// Built twice by the tests: for the eBPF target and natively, results compared.
typedef unsigned long long uint64_t;
typedef long long int64_t;
typedef unsigned int uint32_t;
typedef unsigned char uint8_t;
typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;

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

// eBPF before v4 has no signed division: compute it from unsigned operations there.
#if defined(__bpf__) && __BPF_CPU_VERSION__ < 4
static int64_t sdiv(int64_t a, int64_t b)
{
    uint64_t ua = a < 0 ? -(uint64_t)a : (uint64_t)a;
    uint64_t ub = b < 0 ? -(uint64_t)b : (uint64_t)b;
    uint64_t q = ua / ub;
    return (a < 0) != (b < 0) ? -(int64_t)q : (int64_t)q;
}
#define SDIV(a, b) sdiv((a), (b))
#define SMOD(a, b) ((a) - sdiv((a), (b)) * (b))
#define SDIV32(a, b) ((int32_t)sdiv((a), (b)))
#define SMOD32(a, b) ((int32_t)((a) - sdiv((a), (b)) * (b)))
#else
#define SDIV(a, b) ((a) / (b))
#define SMOD(a, b) ((a) % (b))
#define SDIV32(a, b) ((int32_t)(a) / (int32_t)(b))
#define SMOD32(a, b) ((int32_t)(a) % (int32_t)(b))
#endif

// Signed division and modulo (64- and 32-bit), sign-extending narrow loads and
// byte swaps: with -mcpu=v4 these become sdiv/smod, ldxsb/ldxsh and bswap.
NOINLINE int64_t signed_ops(int64_t a, int32_t b)
{
    volatile int8_t small[4] = {(int8_t)a, (int8_t)(a >> 8), -3, 7};
    volatile int16_t mid = (int16_t)(a * 977);
    int64_t q = SDIV(a, (int64_t)(SMOD32(b, 1000) | 1));
    int64_t r = SMOD(a, (int64_t)((b & 15) + 2));
    int32_t q32 = SDIV32((int32_t)a, (int32_t)((b & 255) + 1));
    int32_t r32 = SMOD32((int32_t)a, -7);
    return q + r + q32 + r32 + small[0] + small[1] * small[2] + mid +
           (int64_t)__builtin_bswap64((uint64_t)a) + __builtin_bswap32((uint32_t)b) +
           __builtin_bswap16((unsigned short)b);
}

uint64_t entry(void *mem, uint64_t len)
{
    (void)mem;
    (void)len;
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 1; i <= 300; i++) {
        h = mix(h, collatz_steps(i));
        h += (int64_t)i % 7 - 3;
        h = mix(h, (uint64_t)signed_ops((int64_t)h, (int32_t)(i * 2654435761u)));
    }
    return h;
}
