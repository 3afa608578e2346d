//! Compiles the templates in `tests/templates` with clang 19 for all seven targets and checks the
//! extracted stencil groups hole by hole. The expectations were read off `llvm-objdump-19 -dr` of
//! the same objects and CPython 3.14's `Tools/jit` rules: GOT slot order, trampoline ordinals,
//! the removed trailing jump, NOP/zero padding and folded ADRP+LDR pairs.

mod common;

use patchjit_stencils::{extract_objects, DataLayout, Error, Extraction, Options, Target};

/// Flags of each template: `multi.c` is the one compiled with function and data sections.
fn flags(template: &str) -> &'static [&'static str] {
    match template {
        "multi" => &["-ffunction-sections", "-fdata-sections"],
        _ => &[],
    }
}

fn options() -> Options {
    Options {
        custom_values: vec!["COUNTER".to_string()],
        ..Default::default()
    }
}

fn run(target: Target, template: &str) -> Result<Extraction, Error> {
    let object = common::compile(target, template, flags(template));
    let file = format!("objects/{template}.o");
    extract_objects(&[(&file, &object)], Some(target), &options())
}

fn check(target: Target, template: &str, expected: &str) {
    let actual = match run(target, template) {
        Ok(extraction) => common::render(&extraction),
        Err(error) => format!("error: {error}\n"),
    };
    assert_eq!(
        actual, expected,
        "{template}.c for {target}: extraction differs\n--- actual ---\n{actual}"
    );
}

/// Prints every template's render for every target (run with `--ignored --nocapture` to review
/// changes against `llvm-objdump-19 -dr`).
#[test]
#[ignore]
fn print_renders() {
    for target in Target::ALL {
        for template in TEMPLATES {
            let actual = match run(target, template) {
                Ok(extraction) => common::render(&extraction),
                Err(error) => format!("error: {error}\n"),
            };
            println!("@@ {target} {template}\n{actual}");
        }
    }
}

const TEMPLATES: [&str; 4] = ["empty", "holes", "calls", "multi"];

#[test]
fn x86_64_unknown_linux_gnu() {
    let target = Target::X86_64UnknownLinuxGnu;
    check(
        target,
        "empty",
        "\
group empty code=0 data=0 sections=0 got=0 trampolines=[]
",
    );
    check(
        target,
        "holes",
        "\
group holes code=112 data=0 sections=0 got=0 trampolines=[]
  code 0x2 R_X86_64_64 OPERAND0 patch_64
  code 0x10 R_X86_64_64 OPERAND1 patch_64
  code 0x1e R_X86_64_64 OPARG patch_64
  code 0x2f R_X86_64_64 TARGET patch_64
  code 0x3f R_X86_64_64 EXECUTOR patch_64
  code 0x4d R_X86_64_64 COUNTER patch_64
  code 0x60 R_X86_64_PLT32 JUMP_TARGET -0x4 patch_32r
  code 0x6c R_X86_64_PLT32 ERROR_TARGET -0x4 patch_32r
",
    );
    check(
        target,
        "calls",
        "\
group calls code=52 data=16 sections=5 got=8 trampolines=[]
  code 0x3 R_X86_64_64 ZERO &external_counter patch_64
  code 0x14 R_X86_64_64 DATA patch_64
  code 0x1e R_X86_64_GOTPCRELX DATA +0x4 patch_x86_64_32rx
  code 0x2b R_X86_64_PLT32 ZERO &nearby_function -0x4 patch_32r
  data 0x8 R_X86_64_64 ZERO &external_function patch_64
",
    );
    check(
        target,
        "multi",
        "\
group first code=67 data=40 sections=38 got=40 trampolines=[] align=16
  code 0x6 R_X86_64_PLT32 CODE +0x29 patch_32r
  code 0x13 R_X86_64_64 DATA +0x20 patch_64
  code 0x29 R_X86_64_PLT32 CONTINUE -0x4 patch_32r
  code 0x36 R_X86_64_64 DATA patch_64
group second code=37 data=16 sections=8 got=8 trampolines=[]
  code 0x3 R_X86_64_64 DATA patch_64
  code 0x14 R_X86_64_GOTPCRELX DATA +0x4 patch_x86_64_32rx
  code 0x21 R_X86_64_PLT32 JUMP_TARGET -0x4 patch_32r
  data 0x8 R_X86_64_64 ZERO &ext patch_64
group third code=106 data=48 sections=48 got=48 trampolines=[] align=16
  code 0x10 R_X86_64_PLT32 CODE +0x50 patch_32r
  code 0x1e R_X86_64_64 DATA +0x20 patch_64
  code 0x39 R_X86_64_PLT32 CONTINUE -0x4 patch_32r
  code 0x3f R_X86_64_64 DATA +0x28 patch_64
  code 0x5d R_X86_64_64 DATA patch_64
  data 0x28 R_X86_64_64 ZERO &second patch_64
",
    );
}

#[test]
fn aarch64_unknown_linux_gnu() {
    let target = Target::Aarch64UnknownLinuxGnu;
    check(
        target,
        "empty",
        "\
group empty code=0 data=0 sections=0 got=0 trampolines=[]
",
    );
    check(
        target,
        "holes",
        "\
group holes code=96 data=48 sections=0 got=0 trampolines=[]
  code 0x0 R_AARCH64_ADR_GOT_PAGE DATA patch_aarch64_21rx
  code 0x4 R_AARCH64_ADR_GOT_PAGE DATA +0x8 patch_aarch64_21rx
  code 0x8 R_AARCH64_ADR_GOT_PAGE DATA +0x10 patch_aarch64_21rx
  code 0xc R_AARCH64_LD64_GOT_LO12_NC DATA patch_aarch64_12x
  code 0x10 R_AARCH64_LD64_GOT_LO12_NC DATA +0x8 patch_aarch64_12x
  code 0x14 R_AARCH64_LD64_GOT_LO12_NC DATA +0x10 patch_aarch64_12x
  code 0x18 R_AARCH64_ADR_GOT_PAGE DATA +0x18 patch_aarch64_33rx
  code 0x28 R_AARCH64_ADR_GOT_PAGE DATA +0x20 patch_aarch64_21rx
  code 0x30 R_AARCH64_LD64_GOT_LO12_NC DATA +0x20 patch_aarch64_12x
  code 0x38 R_AARCH64_ADR_GOT_PAGE DATA +0x28 patch_aarch64_33rx
  code 0x54 R_AARCH64_JUMP26 CONTINUE patch_aarch64_26r
  code 0x58 R_AARCH64_JUMP26 JUMP_TARGET patch_aarch64_26r
  code 0x5c R_AARCH64_JUMP26 ERROR_TARGET patch_aarch64_26r
  data 0x0 R_X86_64_64 OPERAND0 patch_64
  data 0x8 R_X86_64_64 OPERAND1 patch_64
  data 0x10 R_X86_64_64 OPARG patch_64
  data 0x18 R_X86_64_64 TARGET patch_64
  data 0x20 R_X86_64_64 EXECUTOR patch_64
  data 0x28 R_X86_64_64 COUNTER patch_64
",
    );
    check(
        target,
        "calls",
        "\
group calls code=80 data=24 sections=5 got=8 trampolines=[0]
  code 0x4 R_AARCH64_ADR_GOT_PAGE DATA +0x8 patch_aarch64_21rx
  code 0x8 R_AARCH64_ADR_PREL_PG_HI21 DATA patch_aarch64_21r
  code 0xc R_AARCH64_ADD_ABS_LO12_NC DATA patch_aarch64_12
  code 0x10 R_AARCH64_LD64_GOT_LO12_NC DATA +0x8 patch_aarch64_12x
  code 0x28 R_AARCH64_ADR_GOT_PAGE DATA +0x10 patch_aarch64_33rx
  code 0x40 R_AARCH64_CALL26 ZERO patch_aarch64_trampoline
  data 0x8 R_X86_64_64 ZERO &external_counter patch_64
  data 0x10 R_X86_64_64 ZERO &external_function patch_64
trampoline symbols [\"nearby_function\"]
",
    );
    check(
        target,
        "multi",
        "\
group first code=80 data=48 sections=38 got=40 trampolines=[]
  code 0xc R_AARCH64_CALL26 CODE +0x34 patch_aarch64_26r
  code 0x14 R_AARCH64_ADR_PREL_PG_HI21 DATA +0x20 patch_aarch64_21r
  code 0x18 R_AARCH64_ADD_ABS_LO12_NC DATA +0x20 patch_aarch64_12
  code 0x30 R_AARCH64_JUMP26 CONTINUE patch_aarch64_26r
  code 0x34 R_AARCH64_ADR_GOT_PAGE DATA +0x28 patch_aarch64_21rx
  code 0x40 R_AARCH64_LD64_GOT_LO12_NC DATA +0x28 patch_aarch64_12x
  data 0x28 R_X86_64_64 DATA patch_64
group second code=64 data=16 sections=8 got=8 trampolines=[]
  code 0x4 R_AARCH64_ADR_PREL_PG_HI21 DATA patch_aarch64_21r
  code 0xc R_AARCH64_LDST64_ABS_LO12_NC DATA patch_aarch64_12
  code 0x14 R_AARCH64_LDST64_ABS_LO12_NC DATA patch_aarch64_12
  code 0x18 R_AARCH64_ADR_GOT_PAGE DATA +0x8 patch_aarch64_21rx
  code 0x20 R_AARCH64_LD64_GOT_LO12_NC DATA +0x8 patch_aarch64_12x
  code 0x28 R_AARCH64_LDST64_ABS_LO12_NC DATA patch_aarch64_12
  code 0x38 R_AARCH64_JUMP26 JUMP_TARGET patch_aarch64_26r
  data 0x8 R_X86_64_64 ZERO &ext patch_64
group third code=184 data=64 sections=48 got=48 trampolines=[]
  code 0x34 R_AARCH64_CALL26 CODE +0x9c patch_aarch64_26r
  code 0x3c R_AARCH64_ADR_PREL_PG_HI21 DATA +0x20 patch_aarch64_21r
  code 0x40 R_AARCH64_ADD_ABS_LO12_NC DATA +0x20 patch_aarch64_12
  code 0x5c R_AARCH64_CALL26 CONTINUE patch_aarch64_26r
  code 0x60 R_AARCH64_ADR_GOT_PAGE DATA +0x30 patch_aarch64_33rx
  code 0x9c R_AARCH64_ADR_GOT_PAGE DATA +0x38 patch_aarch64_21rx
  code 0xa8 R_AARCH64_LD64_GOT_LO12_NC DATA +0x38 patch_aarch64_12x
  data 0x28 R_AARCH64_ABS64 ZERO &second patch_64
  data 0x30 R_X86_64_64 DATA +0x28 patch_64
  data 0x38 R_X86_64_64 DATA patch_64
",
    );
}

#[test]
fn x86_64_apple_darwin() {
    let target = Target::X86_64AppleDarwin;
    check(
        target,
        "empty",
        "\
group empty code=5 data=0 sections=0 got=0 trampolines=[]
",
    );
    check(
        target,
        "holes",
        "\
group holes code=102 data=48 sections=0 got=0 trampolines=[]
  code 0x7 X86_64_RELOC_GOT_LOAD DATA +0x24 patch_x86_64_32rx
  code 0x12 X86_64_RELOC_GOT_LOAD DATA +0x1c patch_x86_64_32rx
  code 0x1d X86_64_RELOC_GOT DATA +0x14 patch_x86_64_32rx
  code 0x27 X86_64_RELOC_GOT DATA +0xc patch_x86_64_32rx
  code 0x32 X86_64_RELOC_GOT_LOAD DATA +0x4 patch_x86_64_32rx
  code 0x3d X86_64_RELOC_GOT_LOAD DATA -0x4 patch_x86_64_32rx
  code 0x56 X86_64_RELOC_BRANCH CONTINUE -0x4 patch_32r
  code 0x5c X86_64_RELOC_BRANCH JUMP_TARGET -0x4 patch_32r
  code 0x62 X86_64_RELOC_BRANCH ERROR_TARGET -0x4 patch_32r
  data 0x0 R_X86_64_64 COUNTER patch_64
  data 0x8 R_X86_64_64 EXECUTOR patch_64
  data 0x10 R_X86_64_64 TARGET patch_64
  data 0x18 R_X86_64_64 OPARG patch_64
  data 0x20 R_X86_64_64 OPERAND1 patch_64
  data 0x28 R_X86_64_64 OPERAND0 patch_64
",
    );
    check(
        target,
        "calls",
        "\
group calls code=49 data=24 sections=5 got=8 trampolines=[]
  code 0x7 X86_64_RELOC_GOT_LOAD DATA +0xc patch_x86_64_32rx
  code 0x15 X86_64_RELOC_SIGNED DATA -0x4 patch_32r
  code 0x1b X86_64_RELOC_GOT DATA +0x4 patch_x86_64_32rx
  code 0x28 X86_64_RELOC_BRANCH ZERO &nearby_function -0x4 patch_32r
  data 0x8 R_X86_64_64 ZERO &external_function patch_64
  data 0x10 R_X86_64_64 ZERO &external_counter patch_64
",
    );
    check(
        target,
        "multi",
        "\
group first code=80 data=48 sections=46 got=48 trampolines=[] align=16
  code 0x9 X86_64_RELOC_BRANCH CODE +0x2c patch_32r
  code 0x17 X86_64_RELOC_SIGNED DATA +0x24 patch_32r
  code 0x29 X86_64_RELOC_BRANCH CONTINUE -0x4 patch_32r
  code 0x3e X86_64_RELOC_SIGNED DATA -0x4 patch_32r
  data 0x20 X86_64_RELOC_UNSIGNED ZERO &second patch_64
group second code=48 data=16 sections=8 got=8 trampolines=[]
  code 0x7 X86_64_RELOC_SIGNED DATA -0x4 patch_32r
  code 0x11 X86_64_RELOC_GOT DATA +0x4 patch_x86_64_32rx
  code 0x18 X86_64_RELOC_SIGNED DATA -0x4 patch_32r
  code 0x22 X86_64_RELOC_BRANCH JUMP_TARGET -0x4 patch_32r
  data 0x8 R_X86_64_64 ZERO &ext patch_64
group third code=117 data=48 sections=46 got=48 trampolines=[] align=16
  code 0x15 X86_64_RELOC_BRANCH CODE +0x51 patch_32r
  code 0x24 X86_64_RELOC_SIGNED DATA +0x24 patch_32r
  code 0x3b X86_64_RELOC_BRANCH CONTINUE -0x4 patch_32r
  code 0x42 X86_64_RELOC_SIGNED DATA +0x1c patch_32r
  code 0x63 X86_64_RELOC_SIGNED DATA -0x4 patch_32r
  data 0x20 X86_64_RELOC_UNSIGNED ZERO &second patch_64
",
    );
}

#[test]
fn aarch64_apple_darwin() {
    let target = Target::Aarch64AppleDarwin;
    check(
        target,
        "empty",
        "\
group empty code=8 data=0 sections=0 got=0 trampolines=[]
  code 0x0 ARM64_RELOC_BRANCH26 CONTINUE patch_aarch64_26r
",
    );
    check(
        target,
        "holes",
        "\
group holes code=96 data=48 sections=0 got=0 trampolines=[]
  code 0x0 ARM64_RELOC_GOT_LOAD_PAGE21 DATA +0x28 patch_aarch64_33rx
  code 0x8 ARM64_RELOC_GOT_LOAD_PAGE21 DATA +0x20 patch_aarch64_33rx
  code 0x10 ARM64_RELOC_GOT_LOAD_PAGE21 DATA +0x18 patch_aarch64_33rx
  code 0x20 ARM64_RELOC_GOT_LOAD_PAGE21 DATA +0x10 patch_aarch64_33rx
  code 0x2c ARM64_RELOC_GOT_LOAD_PAGE21 DATA +0x8 patch_aarch64_33rx
  code 0x38 ARM64_RELOC_GOT_LOAD_PAGE21 DATA patch_aarch64_33rx
  code 0x54 ARM64_RELOC_BRANCH26 CONTINUE patch_aarch64_26r
  code 0x58 ARM64_RELOC_BRANCH26 JUMP_TARGET patch_aarch64_26r
  code 0x5c ARM64_RELOC_BRANCH26 ERROR_TARGET patch_aarch64_26r
  data 0x0 R_X86_64_64 COUNTER patch_64
  data 0x8 R_X86_64_64 EXECUTOR patch_64
  data 0x10 R_X86_64_64 TARGET patch_64
  data 0x18 R_X86_64_64 OPARG patch_64
  data 0x20 R_X86_64_64 OPERAND1 patch_64
  data 0x28 R_X86_64_64 OPERAND0 patch_64
",
    );
    check(
        target,
        "calls",
        "\
group calls code=72 data=16 sections=5 got=8 trampolines=[0, 1]
  code 0x8 ARM64_RELOC_GOT_LOAD_PAGE21 DATA +0x8 patch_aarch64_33rx
  code 0x20 ARM64_RELOC_PAGE21 DATA patch_aarch64_21r
  code 0x24 ARM64_RELOC_PAGEOFF12 DATA patch_aarch64_12
  code 0x28 ARM64_RELOC_BRANCH26 ZERO +0x1 patch_aarch64_trampoline
  code 0x34 ARM64_RELOC_BRANCH26 ZERO patch_aarch64_trampoline
  code 0x40 ARM64_RELOC_BRANCH26 CONTINUE patch_aarch64_26r
  data 0x8 R_X86_64_64 ZERO &external_counter patch_64
trampoline symbols [\"nearby_function\", \"external_function\"]
",
    );
    check(
        target,
        "multi",
        "\
group first code=80 data=48 sections=46 got=48 trampolines=[]
  code 0xc ARM64_RELOC_BRANCH26 CODE +0x34 patch_aarch64_26r
  code 0x18 ARM64_RELOC_PAGE21 DATA +0x28 patch_aarch64_21r
  code 0x1c ARM64_RELOC_PAGEOFF12 DATA +0x28 patch_aarch64_12
  code 0x30 ARM64_RELOC_BRANCH26 CONTINUE patch_aarch64_26r
  code 0x3c ARM64_RELOC_PAGE21 DATA patch_aarch64_21r
  code 0x40 ARM64_RELOC_PAGEOFF12 DATA patch_aarch64_12
  data 0x20 ARM64_RELOC_UNSIGNED ZERO &second patch_64
group second code=56 data=8 sections=8 got=8 trampolines=[0]
  code 0x8 ARM64_RELOC_PAGE21 DATA patch_aarch64_21r
  code 0xc ARM64_RELOC_PAGEOFF12 DATA patch_aarch64_12
  code 0x14 ARM64_RELOC_PAGEOFF12 DATA patch_aarch64_12
  code 0x1c ARM64_RELOC_BRANCH26 ZERO patch_aarch64_trampoline
  code 0x20 ARM64_RELOC_PAGEOFF12 DATA patch_aarch64_12
  code 0x30 ARM64_RELOC_BRANCH26 JUMP_TARGET patch_aarch64_26r
group third code=184 data=48 sections=46 got=48 trampolines=[]
  code 0x34 ARM64_RELOC_BRANCH26 CODE +0x98 patch_aarch64_26r
  code 0x40 ARM64_RELOC_PAGE21 DATA +0x28 patch_aarch64_21r
  code 0x44 ARM64_RELOC_PAGEOFF12 DATA +0x28 patch_aarch64_12
  code 0x5c ARM64_RELOC_BRANCH26 CONTINUE patch_aarch64_26r
  code 0x60 ARM64_RELOC_PAGE21 DATA +0x20 patch_aarch64_21r
  code 0x64 ARM64_RELOC_PAGEOFF12 DATA +0x20 patch_aarch64_12
  code 0xa0 ARM64_RELOC_PAGE21 DATA patch_aarch64_21r
  code 0xa4 ARM64_RELOC_PAGEOFF12 DATA patch_aarch64_12
  data 0x20 ARM64_RELOC_UNSIGNED ZERO &second patch_64
trampoline symbols [\"ext\"]
",
    );
}

#[test]
fn x86_64_pc_windows_msvc() {
    let target = Target::X86_64PcWindowsMsvc;
    check(
        target,
        "empty",
        "\
group empty code=0 data=0 sections=0 got=0 trampolines=[]
",
    );
    check(
        target,
        "holes",
        "\
group holes code=101 data=72 sections=0 got=0 trampolines=[]
  code 0x3 IMAGE_REL_AMD64_REL32 DATA -0x4 patch_x86_64_32rx
  code 0xe IMAGE_REL_AMD64_REL32 DATA +0x4 patch_x86_64_32rx
  code 0x19 IMAGE_REL_AMD64_REL32 DATA +0xc patch_x86_64_32rx
  code 0x23 IMAGE_REL_AMD64_REL32 DATA +0x14 patch_x86_64_32rx
  code 0x2e IMAGE_REL_AMD64_REL32 DATA +0x1c patch_x86_64_32rx
  code 0x39 IMAGE_REL_AMD64_REL32 DATA +0x24 patch_x86_64_32rx
  code 0x53 IMAGE_REL_AMD64_REL32 DATA +0x2c patch_x86_64_32rx
  code 0x5a IMAGE_REL_AMD64_REL32 DATA +0x34 patch_x86_64_32rx
  code 0x61 IMAGE_REL_AMD64_REL32 DATA +0x3c patch_x86_64_32rx
  data 0x0 R_X86_64_64 OPERAND0 patch_64
  data 0x8 R_X86_64_64 OPERAND1 patch_64
  data 0x10 R_X86_64_64 OPARG patch_64
  data 0x18 R_X86_64_64 TARGET patch_64
  data 0x20 R_X86_64_64 EXECUTOR patch_64
  data 0x28 R_X86_64_64 COUNTER patch_64
  data 0x30 R_X86_64_64 CONTINUE patch_64
  data 0x38 R_X86_64_64 JUMP_TARGET patch_64
  data 0x40 R_X86_64_64 ERROR_TARGET patch_64
",
    );
    check(
        target,
        "calls",
        "\
group calls code=53 data=32 sections=5 got=8 trampolines=[]
  code 0x7 IMAGE_REL_AMD64_REL32 DATA +0x4 patch_x86_64_32rx
  code 0x15 IMAGE_REL_AMD64_REL32 DATA -0x4 patch_x86_64_32rx
  code 0x1b IMAGE_REL_AMD64_REL32 DATA +0xc patch_x86_64_32rx
  code 0x29 IMAGE_REL_AMD64_REL32 DATA +0x14 patch_x86_64_32rx
  data 0x8 R_X86_64_64 ZERO &external_counter patch_64
  data 0x10 R_X86_64_64 ZERO &external_function patch_64
  data 0x18 R_X86_64_64 ZERO &nearby_function patch_64
",
    );
    check(
        target,
        "multi",
        "\
group first code=69 data=48 sections=38 got=40 trampolines=[] align=16
  code 0x9 IMAGE_REL_AMD64_REL32 CODE +0x2e patch_x86_64_32rx
  code 0x17 IMAGE_REL_AMD64_REL32 DATA +0x1c patch_x86_64_32rx
  code 0x2e IMAGE_REL_AMD64_REL32 DATA +0x24 patch_x86_64_32rx
  code 0x3c IMAGE_REL_AMD64_REL32 DATA -0x4 patch_x86_64_32rx
  data 0x28 R_X86_64_64 CONTINUE patch_64
group second code=43 data=24 sections=8 got=8 trampolines=[]
  code 0x7 IMAGE_REL_AMD64_REL32 DATA -0x4 patch_x86_64_32rx
  code 0x11 IMAGE_REL_AMD64_REL32 DATA +0x4 patch_x86_64_32rx
  code 0x18 IMAGE_REL_AMD64_REL32 DATA -0x4 patch_x86_64_32rx
  code 0x27 IMAGE_REL_AMD64_REL32 DATA +0xc patch_x86_64_32rx
  data 0x8 R_X86_64_64 ZERO &ext patch_64
  data 0x10 R_X86_64_64 JUMP_TARGET patch_64
group third code=253 data=56 sections=48 got=48 trampolines=[] align=16
  code 0x5f IMAGE_REL_AMD64_REL32 CODE +0xe6 patch_x86_64_32rx
  code 0x6e IMAGE_REL_AMD64_REL32 DATA +0x1c patch_x86_64_32rx
  code 0x86 IMAGE_REL_AMD64_REL32 DATA +0x2c patch_x86_64_32rx
  code 0x8d IMAGE_REL_AMD64_REL32 DATA +0x24 patch_x86_64_32rx
  code 0xf4 IMAGE_REL_AMD64_REL32 DATA -0x4 patch_x86_64_32rx
  data 0x28 IMAGE_REL_AMD64_ADDR64 ZERO &second patch_64
  data 0x30 R_X86_64_64 CONTINUE patch_64
",
    );
}

#[test]
fn aarch64_pc_windows_msvc() {
    let target = Target::Aarch64PcWindowsMsvc;
    check(
        target,
        "empty",
        "\
group empty code=16 data=8 sections=0 got=0 trampolines=[]
  code 0x0 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA patch_aarch64_33rx
  data 0x0 R_X86_64_64 CONTINUE patch_64
",
    );
    check(
        target,
        "holes",
        "\
group holes code=120 data=72 sections=0 got=0 trampolines=[]
  code 0x0 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA patch_aarch64_21rx
  code 0x4 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x8 patch_aarch64_21rx
  code 0x8 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x10 patch_aarch64_21rx
  code 0xc IMAGE_REL_ARM64_PAGEOFFSET_12L DATA patch_aarch64_12x
  code 0x10 IMAGE_REL_ARM64_PAGEOFFSET_12L DATA +0x8 patch_aarch64_12x
  code 0x14 IMAGE_REL_ARM64_PAGEOFFSET_12L DATA +0x10 patch_aarch64_12x
  code 0x18 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x18 patch_aarch64_33rx
  code 0x28 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x20 patch_aarch64_21rx
  code 0x30 IMAGE_REL_ARM64_PAGEOFFSET_12L DATA +0x20 patch_aarch64_12x
  code 0x38 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x28 patch_aarch64_33rx
  code 0x54 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x30 patch_aarch64_33rx
  code 0x60 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x38 patch_aarch64_33rx
  code 0x6c IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x40 patch_aarch64_33rx
  data 0x0 R_X86_64_64 OPERAND0 patch_64
  data 0x8 R_X86_64_64 OPERAND1 patch_64
  data 0x10 R_X86_64_64 OPARG patch_64
  data 0x18 R_X86_64_64 TARGET patch_64
  data 0x20 R_X86_64_64 EXECUTOR patch_64
  data 0x28 R_X86_64_64 COUNTER patch_64
  data 0x30 R_X86_64_64 CONTINUE patch_64
  data 0x38 R_X86_64_64 JUMP_TARGET patch_64
  data 0x40 R_X86_64_64 ERROR_TARGET patch_64
",
    );
    check(
        target,
        "calls",
        "\
group calls code=96 data=40 sections=5 got=8 trampolines=[]
  code 0x4 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x8 patch_aarch64_21rx
  code 0x8 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA patch_aarch64_21rx
  code 0xc IMAGE_REL_ARM64_PAGEOFFSET_12A DATA patch_aarch64_12
  code 0x10 IMAGE_REL_ARM64_PAGEOFFSET_12L DATA +0x8 patch_aarch64_12x
  code 0x24 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x10 patch_aarch64_33rx
  code 0x38 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x18 patch_aarch64_33rx
  code 0x48 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x20 patch_aarch64_33rx
  data 0x8 R_X86_64_64 ZERO &external_counter patch_64
  data 0x10 R_X86_64_64 ZERO &external_function patch_64
  data 0x18 R_X86_64_64 ZERO &nearby_function patch_64
  data 0x20 R_X86_64_64 CONTINUE patch_64
",
    );
    check(
        target,
        "multi",
        "\
group first code=88 data=48 sections=38 got=40 trampolines=[]
  code 0x8 IMAGE_REL_ARM64_BRANCH26 CODE +0x38 patch_aarch64_26r
  code 0x10 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x20 patch_aarch64_21rx
  code 0x14 IMAGE_REL_ARM64_PAGEOFFSET_12A DATA +0x20 patch_aarch64_12
  code 0x18 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x28 patch_aarch64_21rx
  code 0x24 IMAGE_REL_ARM64_PAGEOFFSET_12L DATA +0x28 patch_aarch64_12x
  code 0x38 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA patch_aarch64_21rx
  code 0x3c IMAGE_REL_ARM64_PAGEOFFSET_12A DATA patch_aarch64_12
  data 0x28 R_X86_64_64 CONTINUE patch_64
group second code=64 data=24 sections=8 got=8 trampolines=[]
  code 0x4 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA patch_aarch64_21rx
  code 0x8 IMAGE_REL_ARM64_PAGEOFFSET_12L DATA patch_aarch64_12x
  code 0x10 IMAGE_REL_ARM64_PAGEOFFSET_12L DATA patch_aarch64_12x
  code 0x14 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x8 patch_aarch64_21rx
  code 0x1c IMAGE_REL_ARM64_PAGEOFFSET_12L DATA +0x8 patch_aarch64_12x
  code 0x24 IMAGE_REL_ARM64_PAGEOFFSET_12L DATA patch_aarch64_12x
  code 0x28 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x10 patch_aarch64_33rx
  data 0x8 R_X86_64_64 ZERO &ext patch_64
  data 0x10 R_X86_64_64 JUMP_TARGET patch_64
group third code=184 data=56 sections=48 got=48 trampolines=[]
  code 0x30 IMAGE_REL_ARM64_BRANCH26 CODE +0x9c patch_aarch64_26r
  code 0x38 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x20 patch_aarch64_21rx
  code 0x3c IMAGE_REL_ARM64_PAGEOFFSET_12A DATA +0x20 patch_aarch64_12
  code 0x58 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x30 patch_aarch64_33rx
  code 0x64 IMAGE_REL_ARM64_PAGEBASE_REL21 DATA +0x28 patch_aarch64_21rx
  code 0x6c IMAGE_REL_ARM64_PAGEOFFSET_12L DATA +0x28 patch_aarch64_12x
  code 0x9c IMAGE_REL_ARM64_PAGEBASE_REL21 DATA patch_aarch64_21rx
  code 0xa0 IMAGE_REL_ARM64_PAGEOFFSET_12A DATA patch_aarch64_12
  data 0x28 IMAGE_REL_ARM64_ADDR64 ZERO &second patch_64
  data 0x30 R_X86_64_64 CONTINUE patch_64
",
    );
}

#[test]
fn i686_pc_windows_msvc() {
    let target = Target::I686PcWindowsMsvc;
    check(
        target,
        "empty",
        "\
group empty code=24 data=0 sections=0 got=0 trampolines=[]
",
    );
    check(
        target,
        "holes",
        "\
group holes code=137 data=0 sections=0 got=0 trampolines=[]
  code 0x10 IMAGE_REL_I386_DIR32 OPERAND0_LO patch_32
  code 0x17 IMAGE_REL_I386_DIR32 OPERAND0_HI patch_32
  code 0x1e IMAGE_REL_I386_DIR32 OPERAND1_LO patch_32
  code 0x25 IMAGE_REL_I386_DIR32 OPERAND1_HI patch_32
  code 0x2a IMAGE_REL_I386_DIR32 OPARG patch_32
  code 0x36 IMAGE_REL_I386_DIR32 TARGET patch_32
  code 0x3d IMAGE_REL_I386_DIR32 EXECUTOR patch_32
  code 0x44 IMAGE_REL_I386_DIR32 COUNTER patch_32
  code 0x61 IMAGE_REL_I386_REL32 CONTINUE -0x4 patch_x86_64_32rx
  code 0x73 IMAGE_REL_I386_REL32 JUMP_TARGET -0x4 patch_x86_64_32rx
  code 0x85 IMAGE_REL_I386_REL32 ERROR_TARGET -0x4 patch_x86_64_32rx
",
    );
    check(
        target,
        "calls",
        "\
group calls code=68 data=8 sections=5 got=8 trampolines=[]
  code 0x11 IMAGE_REL_I386_DIR32 ZERO &external_counter patch_32
  code 0x16 IMAGE_REL_I386_DIR32 DATA patch_32
  code 0x1e IMAGE_REL_I386_REL32 ZERO &external_function -0x4 patch_x86_64_32rx
  code 0x2b IMAGE_REL_I386_REL32 ZERO &nearby_function -0x4 patch_x86_64_32rx
",
    );
    check(
        target,
        "multi",
        "\
group first code=73 data=24 sections=22 got=24 trampolines=[]
  code 0x12 IMAGE_REL_I386_REL32 CODE +0x37 patch_x86_64_32rx
  code 0x1f IMAGE_REL_I386_DIR32 DATA +0x10 patch_32
  code 0x37 IMAGE_REL_I386_REL32 CONTINUE -0x4 patch_x86_64_32rx
  code 0x44 IMAGE_REL_I386_DIR32 DATA patch_32
group second code=59 data=8 sections=4 got=8 trampolines=[]
  code 0x11 IMAGE_REL_I386_DIR32 DATA patch_32
  code 0x18 IMAGE_REL_I386_REL32 ZERO &ext -0x4 patch_x86_64_32rx
  code 0x21 IMAGE_REL_I386_DIR32 DATA patch_32
  code 0x37 IMAGE_REL_I386_REL32 JUMP_TARGET -0x4 patch_x86_64_32rx
group third code=63 data=32 sections=28 got=32 trampolines=[]
  code 0x8 IMAGE_REL_I386_REL32 CODE +0x2d patch_x86_64_32rx
  code 0x15 IMAGE_REL_I386_DIR32 DATA +0x10 patch_32
  code 0x22 IMAGE_REL_I386_REL32 CONTINUE -0x4 patch_x86_64_32rx
  code 0x2b IMAGE_REL_I386_DIR32 DATA +0x18 patch_32
  code 0x3a IMAGE_REL_I386_DIR32 DATA patch_32
  data 0x18 IMAGE_REL_I386_DIR32 ZERO &second patch_32
",
    );
}

/// `DataLayout::Cpython` keeps `Tools/jit`'s packing (CPython's headers must stay
/// byte-identical): `multi.c`'s 8-aligned pointer table after 38 bytes of strings stays at 0x26
/// there, where the aligned layout puts it at 0x28, and every group's data alignment is 8.
#[test]
fn cpython_layout_packs_data_sections() {
    let object = common::compile(Target::X86_64UnknownLinuxGnu, "multi", flags("multi"));
    let extract = |data_layout| {
        let options = Options {
            data_layout,
            ..options()
        };
        extract_objects(
            &[("objects/multi.o", &object)],
            Some(Target::X86_64UnknownLinuxGnu),
            &options,
        )
        .unwrap()
    };
    let third = |e: &Extraction| {
        let g = e.groups.iter().find(|g| g.name == "third").unwrap();
        (g.data_section_len, g.data.holes[0].offset, g.data_align)
    };
    let cpython = extract(DataLayout::Cpython);
    assert_eq!(third(&cpython), (46, 0x26, 8));
    assert!(cpython.groups.iter().all(|g| g.data_align == 8));
    assert_eq!(third(&extract(DataLayout::Aligned)), (48, 0x28, 16));
}
