/* interp: a small register-machine interpreter (a switch over one-byte opcodes, which clang
 * makes a br_table) running a fixed program n times round its loop; returns the final
 * accumulator. What an interpreter written in C and compiled to WebAssembly spends its time
 * on: loads of the program, an indirect branch per instruction, register-file traffic. */

enum { HALT, LOADI, ADD, SUB, MUL, XOR, SHRI, ANDI, MOV, JNZ, DEC, ROTL };

/* Each instruction: opcode, destination, source (or immediate), second source. */
static const unsigned char program[] = {
  LOADI, 1, 1, 0,   /* r1 = 1 (the hash) */
  MOV, 2, 0, 0,     /* r2 = r0 (the counter: n) */
  LOADI, 3, 31, 0,  /* r3 = 31 */
  /* loop: pc 3 */
  MUL, 1, 3, 0,     /* r1 *= r3 */
  ADD, 1, 2, 0,     /* r1 += r2 */
  MOV, 4, 1, 0,     /* r4 = r1 */
  SHRI, 4, 13, 0,   /* r4 >>= 13 */
  XOR, 1, 4, 0,     /* r1 ^= r4 */
  ROTL, 1, 5, 0,    /* r1 = rotl(r1, 5) */
  ANDI, 5, 7, 0,    /* r5 = r1 & 7 ... */
  MOV, 5, 1, 0,
  ANDI, 5, 7, 0,
  ADD, 3, 5, 0,     /* r3 += r5 */
  SUB, 3, 5, 0,     /* r3 -= r5 (r3 stays 31) */
  DEC, 2, 0, 0,     /* r2-- */
  JNZ, 2, 3, 0,     /* if r2 goto 3 */
  HALT, 1, 0, 0,    /* return r1 */
};

long long run(int n) {
  unsigned r[8] = {(unsigned)n};
  const unsigned char *code = program;
  unsigned pc = 0;
  for (;;) {
    const unsigned char *i = code + 4 * pc++;
    unsigned d = i[1], s = i[2];
    switch (i[0]) {
    case HALT: return r[d];
    case LOADI: r[d] = s; break;
    case ADD: r[d] += r[s]; break;
    case SUB: r[d] -= r[s]; break;
    case MUL: r[d] *= r[s]; break;
    case XOR: r[d] ^= r[s]; break;
    case SHRI: r[d] >>= s; break;
    case ANDI: r[d] &= s; break;
    case MOV: r[d] = r[s]; break;
    case JNZ: if (r[d]) pc = s; break;
    case DEC: r[d]--; break;
    case ROTL: r[d] = (r[d] << s) | (r[d] >> (32 - s)); break;
    default: return -1;
    }
  }
}
