//! The emitter under criterion, on `patchjit bench emit`'s workload (10,000 instructions over
//! the embedded x86-64 table), side by side with copying the same bytes and with the whole
//! path to sealed executable memory. Run: `cargo bench -p patchjit-cli --bench emit`.

#[path = "../src/emit_workload.rs"]
mod emit_workload;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use emit_workload::{check, copy_bodies, emitter, pieces, synthesize};
use patchjit::Options;

const INSTRUCTIONS: usize = 10_000;

fn emit(c: &mut Criterion) {
    // The numbers mean nothing if the program is wrong: run it once first.
    let (program, expected) = synthesize(INSTRUCTIONS);
    if cfg!(target_arch = "x86_64") {
        check(emitter(&program).unwrap(), expected).unwrap();
    }
    let e = emitter(&program).unwrap();
    let layout = e.layout().unwrap();
    let data_offset = (layout.code_len() as usize).next_multiple_of(4096);
    let mut buf = vec![0u8; data_offset + layout.data_len() as usize];
    let base = buf.as_ptr() as u64;
    let pieces = pieces(&program);

    let mut group = c.benchmark_group("emit_10000");
    group.throughput(Throughput::Elements(INSTRUCTIONS as u64));
    group.bench_function("layout_and_emit_into", |b| {
        b.iter(|| {
            let layout = e.layout().unwrap();
            e.emit_into(&layout, black_box(&mut buf), base, data_offset)
                .unwrap();
        })
    });
    group.bench_function("memcpy_same_bytes", |b| {
        b.iter(|| {
            copy_bodies(&pieces, &mut buf, data_offset);
            black_box(&mut buf);
        })
    });
    group.bench_function("end_to_end_push_and_finish", |b| {
        b.iter(|| {
            let code = emitter(&program)
                .unwrap()
                .finish(&Options::default())
                .unwrap();
            black_box(code.entry_address());
        })
    });
    group.finish();
}

criterion_group!(benches, emit);
criterion_main!(benches);
