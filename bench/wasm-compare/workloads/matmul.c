/* matmul: C = A x B on n x n double matrices (n <= 64) filled from an LCG; returns the bit
 * pattern of a weighted sum of C, so every rounding is checked. f64 loads, stores and
 * multiply-adds in a triple loop. */
#define MAX 64

static double a[MAX * MAX], b[MAX * MAX], c[MAX * MAX];

long long run(int n) {
  if (n < 1 || n > MAX)
    return -1;
  unsigned s = 1;
  for (int i = 0; i < n * n; i++) {
    s = s * 1103515245u + 12345u;
    a[i] = (double)((s >> 16) & 0xff) / 16.0 - 7.5;
    s = s * 1103515245u + 12345u;
    b[i] = (double)((s >> 16) & 0xff) / 32.0 + 0.25;
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double sum = 0.0;
      for (int k = 0; k < n; k++)
        sum += a[i * n + k] * b[k * n + j];
      c[i * n + j] = sum;
    }
  double t = 0.0;
  for (int i = 0; i < n * n; i++)
    t += c[i] * (double)(i % 7 + 1);
  long long bits;
  __builtin_memcpy(&bits, &t, sizeof bits);
  return bits;
}
