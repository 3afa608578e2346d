#!/bin/sh
# Builds the fuzz seeds from the repository's own C sources with clang-19, into $1
# (default fuzz/seeds), one directory per fuzz target:
#   extract_emit/<triple>.<template>.o   the stencils and runtime test templates, 7 targets
#   readobj_json/<triple>.<template>.json llvm-readobj-19 JSON of three of them per target
#   bpf_elf/<program>.<cpu>.o              crates/bpf/tests/programs and fuzz/bpf, -mcpu=v1..v4
# Flags: the stencils tests' (CPython 3.14's) and each target's own (Target::clang_args in
# crates/stencils/src/target.rs); every template but far_data.c; multi.c also with -ffunction-sections, as its tests build it.
set -eu
fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
out=${1:-$fuzz/seeds}
clang=${PATCHJIT_CLANG:-clang-19}
readobj=${PATCHJIT_READOBJ:-llvm-readobj-19}
mkdir -p "$out/extract_emit" "$out/readobj_json" "$out/bpf_elf"

common="-O3 -c -std=c11 -ffreestanding -fno-asynchronous-unwind-tables -fno-builtin -fno-plt
        -fno-stack-protector -fno-jump-tables -I$root/crates/builder/include"
target_flags() {
    case $1 in
        x86_64-unknown-linux-gnu) echo "-fno-pic -mcmodel=medium -mlarge-data-threshold=0" ;;
        aarch64-unknown-linux-gnu) echo "-fpic -mno-outline-atomics" ;;
        x86_64-apple-darwin | aarch64-apple-darwin) echo "" ;;
        x86_64-pc-windows-msvc) echo "-fms-runtime-lib=dll" ;;
        aarch64-pc-windows-msvc) echo "-fms-runtime-lib=dll -fplt" ;;
        i686-pc-windows-msvc) echo "-DPy_NO_ENABLE_SHARED -Wno-ignored-attributes" ;;
    esac
}

jobs=""
for triple in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-apple-darwin \
    aarch64-apple-darwin x86_64-pc-windows-msvc aarch64-pc-windows-msvc i686-pc-windows-msvc; do
    (
        for src in "$root"/crates/stencils/tests/templates/*.c "$root"/crates/runtime/tests/templates/*.c; do
            name=$(basename "$src" .c)
            # A megabyte of data (it tests far addressing): too big to mutate usefully.
            [ "$name" = far_data ] && continue
            extra=""
            [ "$name" = multi ] && extra="-ffunction-sections -fdata-sections"
            # shellcheck disable=SC2086
            "$clang" --target="$triple" $common $(target_flags "$triple") $extra \
                -o "$out/extract_emit/$triple.$name.o" "$src"
        done
        for name in holes calls multi; do
            "$readobj" --elf-output-style=JSON --expand-relocs --section-data \
                --section-relocations --section-symbols --sections \
                "$out/extract_emit/$triple.$name.o" >"$out/readobj_json/$triple.$name.json"
        done
    ) &
    jobs="$jobs $!"
done
for src in "$root"/crates/bpf/tests/programs/*.c "$fuzz"/bpf/*.c; do
    for cpu in v1 v2 v3 v4; do
        "$clang" -target bpf -O2 -c -mcpu=$cpu -o "$out/bpf_elf/$(basename "$src" .c).$cpu.o" "$src"
    done
done
for job in $jobs; do wait "$job"; done
echo "seeds: $(ls "$out/extract_emit" | wc -l) objects, $(ls "$out/readobj_json" | wc -l) readobj JSON, $(ls "$out/bpf_elf" | wc -l) eBPF objects in $out"
