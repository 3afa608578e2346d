/* sieve: the sieve of Eratosthenes up to n (<= 1 << 20), one byte per number; returns the
 * number of primes times 2^32 plus the largest. Byte stores in strided loops. */
#define MAX (1 << 20)

static unsigned char composite[MAX + 1];

/* no_builtin: the zeroing loop stays a loop (1.0 has no memory.fill, and there is no libc memset). */
__attribute__((no_builtin("memset"))) long long run(int n) {
  if (n < 2 || n > MAX)
    return -1;
  for (int i = 0; i <= n; i++)
    composite[i] = 0;
  for (int i = 2; i * i <= n; i++)
    if (!composite[i])
      for (int j = i * i; j <= n; j += i)
        composite[j] = 1;
  long long count = 0, largest = 0;
  for (int i = 2; i <= n; i++)
    if (!composite[i]) {
      count++;
      largest = i;
    }
  return (count << 32) + largest;
}
