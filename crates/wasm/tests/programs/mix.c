// A C program for the wasm32 target, compiled by the tests with clang-19 `-mcpu=mvp` (1.0
// features only): loops, recursion, 64-bit arithmetic, doubles, a static array in linear
// memory and calls through function pointers (call_indirect).

typedef unsigned int u32;
typedef unsigned long long u64;

static int cmp_asc(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
static int cmp_desc(const void *a, const void *b) { return *(const int *)b - *(const int *)a; }

static void sort(int *v, int n, int (*cmp)(const void *, const void *)) {
    for (int i = 1; i < n; i++) {
        int x = v[i];
        int j = i - 1;
        while (j >= 0 && cmp(&v[j], &x) > 0) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

static int data[1000];

// Fills `data` from a linear congruential generator, sorts the first `n` and hashes them
// (FNV-1a over the values).
__attribute__((export_name("sorted_checksum"))) u32 sorted_checksum(int n, int desc) {
    u32 seed = 12345;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (int)(seed >> 8) % 100000;
    }
    sort(data, n, desc ? cmp_desc : cmp_asc);
    u32 h = 2166136261u;
    for (int i = 0; i < n; i++) {
        h ^= (u32)data[i];
        h *= 16777619u;
    }
    return h;
}

__attribute__((export_name("collatz"))) u64 collatz(u64 n) {
    u64 steps = 0;
    while (n != 1) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

__attribute__((export_name("newton_sqrt"))) double newton_sqrt(double x) {
    double g = x;
    for (int i = 0; i < 60; i++)
        g = 0.5 * (g + x / g);
    return g;
}

__attribute__((export_name("ack"))) int ack(int m, int n) {
    return m == 0 ? n + 1 : n == 0 ? ack(m - 1, 1) : ack(m - 1, ack(m, n - 1));
}

// Sign extension without the post-1.0 extend8_s instruction (shifts under -mcpu=mvp).
__attribute__((export_name("sext"))) int sext(int x) { return (signed char)x; }
