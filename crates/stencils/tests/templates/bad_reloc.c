/* Compiled for x86-64 Linux with the small code model (not CPython's flags): the array is then
 * addressed with a 32-bit sign-extended absolute relocation, which no patch function handles. */
extern char table[];

char load(unsigned long i) {
    return table[i];
}
