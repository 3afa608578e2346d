// Memory-heavy test program: fills a stack buffer, sorts it with insertion sort,
// and checksums it together with the input memory bytes.
// Built twice by the tests: for the eBPF target and natively, results compared.
typedef unsigned long long uint64_t;
typedef long long int64_t;
typedef unsigned int uint32_t;
typedef unsigned char uint8_t;

#define N 48

static __attribute__((noinline)) void sort(uint32_t *a, int n)
{
    for (int i = 1; i < n; i++) {
        uint32_t v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

uint64_t entry(uint8_t *mem, uint64_t len)
{
    uint32_t buf[N];
    uint32_t x = 2463534242u;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = x % 1000;
    }
    sort(buf, N);
    uint64_t sum = 0;
    for (int i = 0; i < N; i++)
        sum = sum * 31 + buf[i];
    for (uint64_t i = 0; i < len && i < 64; i++) {
        mem[i] = (uint8_t)(mem[i] * 3 + 1);
        sum = sum * 131 + mem[i];
    }
    return sum;
}
