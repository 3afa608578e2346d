/* crc: CRC-32 (IEEE, table driven; the table is built on every call) and 64-bit FNV-1a over
 * n (<= 65536) pseudo-random bytes; returns the CRC in the low half and the FNV hash's low
 * 32 bits in the high half. Byte loads, shifts, xors, i64 multiplies. */
#define MAX 65536

static unsigned char buf[MAX];
static unsigned table[256];

long long run(int n) {
  if (n < 0 || n > MAX)
    return -1;
  for (unsigned i = 0; i < 256; i++) {
    unsigned c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  unsigned s = 7;
  for (int i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    buf[i] = (unsigned char)(s >> 24);
  }
  unsigned crc = 0xffffffffu;
  unsigned long long fnv = 14695981039346656037ull;
  for (int i = 0; i < n; i++) {
    crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    fnv = (fnv ^ buf[i]) * 1099511628211ull;
  }
  return (long long)(((unsigned long long)(unsigned)fnv << 32) | (crc ^ 0xffffffffu));
}
