/* patchjit.h: the vocabulary of patchjit templates (copy-and-patch stencils).
 *
 * A template is one C file that defines one operation as a function named `_JIT_ENTRY`.
 * patchjit-build compiles it with clang >= 19 and turns every reference to a `_JIT_*`
 * symbol into a hole the runtime emitter patches when it copies the code:
 *
 *   _JIT_OPARG, _JIT_OPERAND0, _JIT_OPERAND1   per-instruction values (PATCHJIT_OPARG...)
 *   _JIT_OPARG_U16, _JIT_OPERAND0_S32, ...       the same, narrow (PATCHJIT_OPERAND0_S32...)
 *   _JIT_<NAME>                                 client-defined values (PATCHJIT_VALUE(NAME))
 *   _JIT_CONTINUE                               the next instruction (PATCHJIT_CONTINUE())
 *   _JIT_JUMP_TARGET, _JIT_ERROR_TARGET         branch destinations (PATCHJIT_JUMP(), PATCHJIT_ERROR())
 *
 * Before including this header, define the signature every stencil shares:
 *
 *   #define PATCHJIT_PARAMS State *state, int64_t *sp   // parameter list
 *   #define PATCHJIT_ARGS state, sp                     // the same names, as arguments
 *   #define PATCHJIT_RETURN int64_t                     // optional, default int64_t
 *
 * Instructions pass control to each other with guaranteed tail calls in the `preserve_none`
 * convention, so the parameters live in registers for the whole program and no stack grows.
 * See docs/templates.md for a worked example.
 */
#ifndef PATCHJIT_H
#define PATCHJIT_H

#include <stdint.h>

#if !defined(__clang__) || __clang_major__ < 19
#error "patchjit templates need clang 19 or newer (preserve_none and musttail)"
#endif

#ifndef PATCHJIT_PARAMS
#error "define PATCHJIT_PARAMS (the stencil parameter list) before including patchjit.h"
#endif
#ifndef PATCHJIT_ARGS
#error "define PATCHJIT_ARGS (the parameter names, comma-separated) before including patchjit.h"
#endif
#ifndef PATCHJIT_RETURN
#define PATCHJIT_RETURN int64_t
#endif

/* The calling convention between stencils: every register is caller-saved, so values passed in
 * PATCHJIT_PARAMS stay in registers across the whole chain of instructions. */
#define PATCHJIT_CC __attribute__((preserve_none))

/* The type of a stencil (and of every branch destination). */
typedef PATCHJIT_CC PATCHJIT_RETURN (*patchjit_stencil)(PATCHJIT_PARAMS);

/* The stencil's function: `_JIT_ENTRY`, or, when patchjit-build compiles a template's variants
 * into one object (a `patchjit-variants:` line, see docs/templates.md), each variant's own name,
 * which the build defines before each inclusion of the template. */
#ifndef PATCHJIT_ENTRY_NAME
#define PATCHJIT_ENTRY_NAME _JIT_ENTRY
#endif

/* Opens the stencil's body: `PATCHJIT_STENCIL { ... PATCHJIT_CONTINUE(); }`. */
#define PATCHJIT_STENCIL PATCHJIT_CC PATCHJIT_RETURN PATCHJIT_ENTRY_NAME(PATCHJIT_PARAMS)

/* On Windows, values are imported symbols (`__imp_<name>`, loaded from patchjit's GOT), as
 * CPython's PyAPI_DATA values are: clang assumes a plain symbol's address is within 2 GiB of the
 * code, which an arbitrary 64-bit value is not. */
#ifdef _WIN32
#define PATCHJIT_IMPORT __declspec(dllimport)
#else
#define PATCHJIT_IMPORT
#endif

/* Values are declared weak. A value's symbol address *is* the value, and clang assumes the
 * address of an ordinary (strong) symbol is never null: it would fold `v == 0` to false and
 * `v ? d / v : 0` to `d / v`, which divides by zero when the emitter patches in 0. A weak
 * symbol may be undefined at link time, i.e. 0, so every test on a value survives. Branch
 * destinations are real code and stay ordinary symbols. */
#define PATCHJIT_VALUE_DECL PATCHJIT_IMPORT __attribute__((weak))

extern char _JIT_CONTINUE[];
extern char _JIT_JUMP_TARGET[];
extern char _JIT_ERROR_TARGET[];
extern PATCHJIT_VALUE_DECL char _JIT_OPARG[];

/* Per-instruction values. The symbol's address *is* the value: the emitter patches it into the
 * instruction that materialises it (an immediate, a movz/movk sequence, a literal). On 32-bit
 * targets a 64-bit operand is two symbols, its high and low halves. Any value may be 0 or any
 * other bit pattern (see PATCHJIT_VALUE_DECL). */
#define PATCHJIT_OPARG ((uint32_t)(uintptr_t)_JIT_OPARG)
#if UINTPTR_MAX > 0xFFFFFFFFu
extern PATCHJIT_VALUE_DECL char _JIT_OPERAND0[];
extern PATCHJIT_VALUE_DECL char _JIT_OPERAND1[];
#define PATCHJIT_OPERAND0 ((uint64_t)(uintptr_t)_JIT_OPERAND0)
#define PATCHJIT_OPERAND1 ((uint64_t)(uintptr_t)_JIT_OPERAND1)
#else
extern PATCHJIT_VALUE_DECL char _JIT_OPERAND0_HI[], _JIT_OPERAND0_LO[];
extern PATCHJIT_VALUE_DECL char _JIT_OPERAND1_HI[], _JIT_OPERAND1_LO[];
#define PATCHJIT_OPERAND0 \
    (((uint64_t)(uintptr_t)_JIT_OPERAND0_HI << 32) | (uint64_t)(uintptr_t)_JIT_OPERAND0_LO)
#define PATCHJIT_OPERAND1 \
    (((uint64_t)(uintptr_t)_JIT_OPERAND1_HI << 32) | (uint64_t)(uintptr_t)_JIT_OPERAND1_LO)
#endif

/* Narrow values: an instruction's value taken as a C type narrower than 64 bits. Each macro is an
 * expression of that type, correct for every value of the type; the emitter refuses an
 * instruction whose value lies outside the type's range (an `EmitError` naming the instruction,
 * the hole and the value), so a template never sees a truncation. The symbol's address holds the
 * value's bit pattern zero-extended from the type's width (-1 as int32_t is 0xFFFFFFFF); the
 * cast back to the type restores the value, sign-extending it where the type is signed.
 *
 * x86-64 ELF: the symbols are in an explicitly named section, which makes them "small" in the
 * medium code model the templates are compiled with (an explicit section overrides
 * -mlarge-data-threshold), and the macro is the address itself (an int64_t or uint64_t with the
 * type's value), so clang folds it into the instruction that uses it: `add $imm32, %rsi`,
 * `cmp $imm32, %rdx`, `mov disp32(%rsi), %eax` (`R_X86_64_32S`, a field the CPU sign-extends),
 * or `movl $imm32` (`R_X86_64_32`, zero-extended). The emitter patches the value extended the
 * way the field is; a signed type in a zero-extending field or an unsigned one in a
 * sign-extending field would mis-read half the range, so the build refuses such a template
 * (clang chose that field for an operation like `and` or `mul`: use the 64-bit value there).
 * AArch64 ELF: clang emits no absolute narrow immediate from C outside the large code model, so
 * the value is a `movz` (16 bits) or `movz; movk` (32 bits) written here, with the checked
 * relocations `R_AARCH64_MOVW_UABS_G0`/`_G1`: no GOT slot, no load. (The asm is not volatile:
 * clang may share or hoist it like any constant.)
 * Every other target keeps the ordinary 64-bit value declaration (Mach-O x86-64 has no 32-bit
 * absolute relocation, Mach-O and COFF AArch64 no MOVW relocations, Windows values are
 * imported): the code is the wide form's, reading only the type's bits, and the range check
 * still applies. See docs/templates.md, "Narrow values". */
/* PATCHJIT_NARROW16/32(NAME): the bits of narrow symbol NAME, as a uint64_t. */
#if defined(__aarch64__) && defined(__ELF__)
#define PATCHJIT_NARROW16(NAME)                                                \
    ({                                                                         \
        uint64_t patchjit_bits_;                                               \
        __asm__("movz %0, #:abs_g0:" #NAME : "=r"(patchjit_bits_));            \
        patchjit_bits_;                                                        \
    })
#define PATCHJIT_NARROW32(NAME)                                                \
    ({                                                                         \
        uint64_t patchjit_bits_;                                               \
        __asm__("movz %0, #:abs_g1:" #NAME "\n\tmovk %0, #:abs_g0_nc:" #NAME    \
                : "=r"(patchjit_bits_));                                       \
        patchjit_bits_;                                                        \
    })
#else
#if defined(__x86_64__) && defined(__ELF__)
#define PATCHJIT_NARROW_DECL __attribute__((weak, section(".patchjit.narrow")))
#else
#define PATCHJIT_NARROW_DECL PATCHJIT_VALUE_DECL
#endif
extern PATCHJIT_NARROW_DECL char _JIT_OPARG_U16[], _JIT_OPARG_U32[];
extern PATCHJIT_NARROW_DECL char _JIT_OPERAND0_S32[], _JIT_OPERAND0_U32[];
extern PATCHJIT_NARROW_DECL char _JIT_OPERAND1_S16[], _JIT_OPERAND1_S32[];
#define PATCHJIT_NARROW16(NAME) ((uintptr_t)NAME)
#define PATCHJIT_NARROW32(NAME) ((uintptr_t)NAME)
#endif
#define PATCHJIT_OPARG_U16 ((uint16_t)PATCHJIT_NARROW16(_JIT_OPARG_U16))
#define PATCHJIT_OPARG_U32 ((uint32_t)PATCHJIT_NARROW32(_JIT_OPARG_U32))
#define PATCHJIT_OPERAND0_S32 ((int32_t)PATCHJIT_NARROW32(_JIT_OPERAND0_S32))
#define PATCHJIT_OPERAND0_U32 ((uint32_t)PATCHJIT_NARROW32(_JIT_OPERAND0_U32))
#define PATCHJIT_OPERAND1_S16 ((int16_t)PATCHJIT_NARROW16(_JIT_OPERAND1_S16))
#define PATCHJIT_OPERAND1_S32 ((int32_t)PATCHJIT_NARROW32(_JIT_OPERAND1_S32))

/* Folding narrow values: PATCHJIT_OPERAND0_I32 and PATCHJIT_OPERAND1_I32 are int64_t values in
 * int32_t's range, the symbol's address holding the value itself (sign-extended). On x86-64
 * ELF clang folds them into the instruction that uses them — `add $imm32, %rsi`,
 * `cmp $imm32, %rdx`, `mov disp32(%rsi), %eax` (`R_X86_64_32S`, which the CPU sign-extends) —
 * one instruction where a 64-bit value takes two. Where clang would put one in a zero-extending
 * field instead (`movl $imm32`: `and`, `mul`, a plain move), negative values would read wrong,
 * and the build refuses the template: use the typed S32 form there. AArch64 ELF: `movz; movk;
 * sxtw` of the low 32 bits. Other targets: the 64-bit value's slot. */
#if defined(__x86_64__) && defined(__ELF__)
extern PATCHJIT_NARROW_DECL char _JIT_OPERAND0_I32[], _JIT_OPERAND1_I32[];
#define PATCHJIT_OPERAND0_I32 ((int64_t)(intptr_t)_JIT_OPERAND0_I32)
#define PATCHJIT_OPERAND1_I32 ((int64_t)(intptr_t)_JIT_OPERAND1_I32)
#elif defined(__aarch64__) && defined(__ELF__)
#define PATCHJIT_SEXT32(NAME)                                                  \
    ({                                                                         \
        int64_t patchjit_sext_;                                                \
        __asm__("movz %0, #:abs_g1_nc:" #NAME "\n\tmovk %0, #:abs_g0_nc:" #NAME         \
                "\n\tsxtw %0, %w0"                                              \
                : "=r"(patchjit_sext_));                                       \
        patchjit_sext_;                                                        \
    })
#define PATCHJIT_OPERAND0_I32 PATCHJIT_SEXT32(_JIT_OPERAND0_I32)
#define PATCHJIT_OPERAND1_I32 PATCHJIT_SEXT32(_JIT_OPERAND1_I32)
#else
extern PATCHJIT_VALUE_DECL char _JIT_OPERAND0_I32[], _JIT_OPERAND1_I32[];
#define PATCHJIT_OPERAND0_I32 ((int64_t)(intptr_t)_JIT_OPERAND0_I32)
#define PATCHJIT_OPERAND1_I32 ((int64_t)(intptr_t)_JIT_OPERAND1_I32)
#endif

/* A client-defined value `_JIT_<NAME>`; list NAME in the builder's `custom_values` (otherwise
 * it is an external symbol). Usable anywhere an expression is. */
#define PATCHJIT_VALUE(NAME) \
    ({ extern PATCHJIT_VALUE_DECL char _JIT_##NAME[]; (uint64_t)(uintptr_t)_JIT_##NAME; })

/* Tail-calls another piece of JIT code with the current arguments. A plain call here would grow
 * the machine stack at every instruction: the build rejects it. */
#define PATCHJIT_GOTO(destination) \
    __attribute__((musttail)) return ((patchjit_stencil)(destination))(PATCHJIT_ARGS)

/* Continues with the next instruction. */
#define PATCHJIT_CONTINUE() PATCHJIT_GOTO(_JIT_CONTINUE)
/* Branches to the instruction's jump target (`Instruction::jump_target`). */
#define PATCHJIT_JUMP() PATCHJIT_GOTO(_JIT_JUMP_TARGET)
/* Branches to the instruction's error target (`Instruction::error_target`). */
#define PATCHJIT_ERROR() PATCHJIT_GOTO(_JIT_ERROR_TARGET)

/* Declares a runtime helper (a C-ABI function the embedding program provides, e.g. a Rust
 * `extern "C" fn`). Call it like any function; its name must be on the builder's
 * `allow_symbols` list and resolved when the emitter is created. On Windows the call goes through
 * an import slot (`__imp_<name>`, patchjit's GOT), as CPython's templates call the C API, so the
 * helper may be any distance from the code. */
#define PATCHJIT_HELPER(ret, name, ...) extern PATCHJIT_IMPORT ret name(__VA_ARGS__)

/* For a shim template only: enters the JIT code from an ordinary C-ABI function with a real
 * call (list the shim in the builder's `shims`, the one place such a call is allowed). */
#define PATCHJIT_ENTER(...) (((patchjit_stencil)_JIT_CONTINUE)(__VA_ARGS__))

#endif /* PATCHJIT_H */
