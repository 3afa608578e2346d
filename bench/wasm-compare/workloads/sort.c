/* sort: n (<= 16384) pseudo-random ints sorted by a quicksort (median of three, insertion
 * sort below 16 elements, recursion on the smaller side); returns the FNV-1a hash of the
 * result, or -1 if it is not sorted. i32 loads and stores, compares, calls. */
#define MAX 16384

static int data[MAX];

static void insertion(int *v, int n) {
  for (int i = 1; i < n; i++) {
    int x = v[i], j = i - 1;
    while (j >= 0 && v[j] > x) {
      v[j + 1] = v[j];
      j--;
    }
    v[j + 1] = x;
  }
}

static void swap(int *v, int i, int j) {
  int t = v[i];
  v[i] = v[j];
  v[j] = t;
}

static void quicksort(int *v, int n) {
  while (n > 16) {
    int m = n / 2;
    if (v[m] < v[0]) swap(v, m, 0);
    if (v[n - 1] < v[0]) swap(v, n - 1, 0);
    if (v[n - 1] < v[m]) swap(v, n - 1, m);
    int pivot = v[m], i = 0, j = n - 1;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        swap(v, i, j);
        i++;
        j--;
      }
    }
    /* [0, j] and [i, n) remain; recurse on the smaller, loop on the larger. */
    if (j + 1 < n - i) {
      quicksort(v, j + 1);
      v += i;
      n -= i;
    } else {
      quicksort(v + i, n - i);
      n = j + 1;
    }
  }
  insertion(v, n);
}

long long run(int n) {
  if (n < 1 || n > MAX)
    return -1;
  unsigned s = 12345;
  for (int i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    data[i] = (int)(s >> 8) % 100000 - 50000;
  }
  quicksort(data, n);
  unsigned h = 2166136261u;
  for (int i = 0; i < n; i++) {
    if (i > 0 && data[i - 1] > data[i])
      return -1;
    h = (h ^ (unsigned)data[i]) * 16777619u;
  }
  return h;
}
