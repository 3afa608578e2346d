// Checksums: bitwise CRC-32 (reflected, polynomial 0xEDB88320, no table) and Adler-32 over
// the input, 8 passes.
#include "bench.h"

uint64_t entry(uint8_t *mem)
{
    uint32_t crc = 0xffffffffu, a = 1, b = 0;
    for (int pass = 0; pass < 8; pass++) {
        for (int i = 0; i < INPUT_LEN; i++) {
            crc ^= mem[i];
            for (int k = 0; k < 8; k++)
                crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
            a = (a + mem[i]) % 65521;
            b = (b + a) % 65521;
        }
    }
    return ((uint64_t)~crc << 32) | (b << 16 | a);
}
