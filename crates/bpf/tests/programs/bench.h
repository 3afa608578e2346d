// Shared by the benchmark programs (bench_*.c): types, the input size and the two helpers.
// The programs are compiled for eBPF (clang-19 -target bpf -O2 -mcpu=v3 -c) by
// tests/bench_programs.rs and bench/bpf-compare, and natively by the test, which compares the
// results. Their entry is `entry(mem)`: r1 is the input (INPUT_LEN bytes); r2 is not used, as
// rbpf's raw VMs leave it undefined.
typedef unsigned long long uint64_t;
typedef unsigned int uint32_t;
typedef unsigned char uint8_t;

#define INPUT_LEN 256
#define NOINLINE static __attribute__((noinline))

// Helper 1 mixes a value into a hash, helper 2 rotates left; the Rust side
// (tests/programs/suite.rs) registers the same functions on every engine.
#ifdef __bpf__
static uint64_t (*const mix)(uint64_t h, uint64_t v) = (void *)1;
static uint64_t (*const rotl)(uint64_t x, uint64_t n) = (void *)2;
#else
static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}
static uint64_t rotl(uint64_t x, uint64_t n)
{
    n &= 63;
    return n ? (x << n) | (x >> (64 - n)) : x;
}
#endif
