// aarch64-apple-darwin only: ADRP/ADD with an explicit addend, which Mach-O encodes as an
// ARM64_RELOC_ADDEND entry before each relocation (llvm-readobj prints it as its own entry;
// llvm-readobj 19 aborts on a negative one, so both addends here are positive).
    .globl __JIT_ENTRY
    .p2align 2
__JIT_ENTRY:
    adrp x0, _table@PAGE+1000
    add x0, x0, _table@PAGEOFF+1000
    adrp x1, _table@PAGE+16
    add x1, x1, _table@PAGEOFF+16
    b __JIT_CONTINUE
