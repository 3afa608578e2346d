/* Compiled for x86-64 Linux with the small code model (not CPython's flags): the array is then
 * addressed with a 32-bit sign-extended absolute relocation, which only narrow values may use. */
extern char table[];

char load(unsigned long i) {
    return table[i];
}
