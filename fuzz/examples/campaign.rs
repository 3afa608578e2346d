//! The mutation campaign of issue #13: mutants of the seeds (real clang-19 output, built by
//! `fuzz/seeds.sh`) through the same steps as the fuzz targets, counting panics and runs over
//! 5 s. Deterministic (case `i` of a campaign always gets the same mutant), so a figure in
//! docs/fuzzing.md can be reproduced:
//!
//! ```text
//! cargo run --release --manifest-path fuzz/Cargo.toml --example campaign -- \
//!     fuzz/seeds --objects 14000 --bpf 6000 --out fuzz/artifacts/campaign
//! ```
//!
//! Objects are spread evenly over the seven targets. A panicking mutant is written to
//! `<out>/panic-<kind>-<case>.bin`; before each case its mutant is written to
//! `<out>/current.bin`, so after a fatal signal the input that raised it is on disk. A case
//! still running after 60 s stops the campaign (the hang's input is `current.bin`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use patchjit_fuzz::mutate::{mutant, Rng};
use patchjit_fuzz::{bpf, objects};
use patchjit_stencils::Target;

/// A run longer than this is reported (issue #13's acceptance: none).
const SLOW: Duration = Duration::from_secs(5);
/// A run longer than this is taken for a hang and ends the campaign.
const HANG: Duration = Duration::from_secs(60);

struct Args {
    seeds: PathBuf,
    objects: usize,
    bpf: usize,
    out: PathBuf,
}

fn usage() -> ! {
    eprintln!("usage: campaign SEEDS_DIR [--objects N] [--bpf N] [--out DIR]");
    std::process::exit(2)
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut args = Args {
        seeds: it.next().map(PathBuf::from).unwrap_or_else(|| usage()),
        objects: 14_000,
        bpf: 6_000,
        out: PathBuf::from("fuzz/artifacts/campaign"),
    };
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--objects" => args.objects = value.parse().unwrap_or_else(|_| usage()),
            "--bpf" => args.bpf = value.parse().unwrap_or_else(|_| usage()),
            "--out" => args.out = PathBuf::from(value),
            _ => usage(),
        }
    }
    args
}

/// The files of `dir`, sorted by name (so the campaign does not depend on directory order).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {} (run fuzz/seeds.sh): {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// What one kind of mutant did.
struct Tally<R> {
    cases: usize,
    seeds: usize,
    elapsed: Duration,
    reached: BTreeMap<R, usize>,
    panics: Vec<usize>,
    slow: Vec<(usize, Duration)>,
    slowest: Duration,
}

impl<R: std::fmt::Debug + Ord> Tally<R> {
    fn print(&self, what: &str) {
        let reached: Vec<String> = self
            .reached
            .iter()
            .map(|(r, n)| format!("{r:?} {n}"))
            .collect();
        println!(
            "{what}: {} mutants of {} seeds in {:.1} s, {} panics, {} over 5 s (slowest {:.1} ms); \
             reached: {}",
            self.cases,
            self.seeds,
            self.elapsed.as_secs_f64(),
            self.panics.len(),
            self.slow.len(),
            self.slowest.as_secs_f64() * 1e3,
            reached.join(", ")
        );
        for case in &self.panics {
            println!("  panic: case {case}");
        }
        for (case, time) in &self.slow {
            println!("  slow: case {case}, {:.1} s", time.as_secs_f64());
        }
    }
}

/// Watches the running case: the campaign stops if one runs past [`HANG`].
struct Watchdog {
    /// Milliseconds since `epoch` at which the current case started (0: none running).
    started: Arc<AtomicU64>,
    epoch: Instant,
}

impl Watchdog {
    fn start() -> Self {
        let started = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let watched = Arc::clone(&started);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let at = watched.load(Ordering::Relaxed);
            let now = epoch.elapsed().as_millis() as u64;
            if at != 0 && now.saturating_sub(at) > HANG.as_millis() as u64 {
                eprintln!("a case ran past {HANG:?}: its input is current.bin");
                std::process::exit(3);
            }
        });
        Watchdog { started, epoch }
    }

    fn run<R>(&self, f: impl FnOnce() -> R) -> (std::thread::Result<R>, Duration) {
        let begin = Instant::now();
        self.started.store(
            (begin - self.epoch).as_millis() as u64 + 1,
            Ordering::Relaxed,
        );
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        self.started.store(0, Ordering::Relaxed);
        (result, begin.elapsed())
    }
}

/// Where the campaign's mutants run and what a crash leaves behind.
struct Runner {
    watchdog: Watchdog,
    out: PathBuf,
}

impl Runner {
    /// Runs `count` mutants of `seeds` (case `i` mutates `pick(i)`) through `step`. `stream`
    /// separates the random numbers of the kinds of mutants.
    fn campaign<R: Ord + Copy>(
        &self,
        kind: &str,
        stream: u64,
        seeds: &[&[u8]],
        count: usize,
        pick: impl Fn(usize, &mut Rng) -> usize,
        step: fn(&[u8]) -> R,
    ) -> Tally<R> {
        let start = Instant::now();
        let mut tally = Tally {
            cases: count,
            seeds: seeds.len(),
            elapsed: Duration::ZERO,
            reached: BTreeMap::new(),
            panics: Vec::new(),
            slow: Vec::new(),
            slowest: Duration::ZERO,
        };
        for case in 0..count {
            let mut rng = Rng::new(stream << 48 | case as u64);
            let seed = seeds[pick(case, &mut rng)];
            let (bytes, _) = mutant(seed, &mut rng);
            std::fs::write(self.out.join("current.bin"), &bytes).unwrap();
            let (result, time) = self.watchdog.run(|| step(&bytes));
            match result {
                Ok(reached) => *tally.reached.entry(reached).or_default() += 1,
                Err(_) => {
                    let name = format!("panic-{kind}-{case}.bin");
                    std::fs::write(self.out.join(name), &bytes).unwrap();
                    tally.panics.push(case);
                }
            }
            if time > SLOW {
                tally.slow.push((case, time));
            }
            tally.slowest = tally.slowest.max(time);
        }
        tally.elapsed = start.elapsed();
        tally
    }
}

fn main() {
    let args = args();
    std::fs::create_dir_all(&args.out).unwrap();
    let runner = Runner {
        watchdog: Watchdog::start(),
        out: args.out,
    };
    let objects = files(&args.seeds.join("extract_emit"));
    // Seeds by target, from their names (`<triple>.<template>.o`).
    let by_target: Vec<Vec<usize>> = Target::ALL
        .iter()
        .map(|&t| {
            (0..objects.len())
                .filter(|&i| objects[i].0.split('.').next() == Some(t.triple()))
                .collect()
        })
        .collect();
    assert!(
        by_target.iter().all(|s| !s.is_empty()),
        "every target needs seeds"
    );
    let object_bytes: Vec<&[u8]> = objects.iter().map(|(_, b)| b.as_slice()).collect();
    runner
        .campaign(
            "object",
            1,
            &object_bytes,
            args.objects,
            |case, rng| {
                let seeds = &by_target[case % Target::ALL.len()];
                seeds[rng.below(seeds.len())]
            },
            objects::object,
        )
        .print("objects (7 targets)");
    let programs = files(&args.seeds.join("bpf_elf"));
    let program_bytes: Vec<&[u8]> = programs.iter().map(|(_, b)| b.as_slice()).collect();
    runner
        .campaign(
            "bpf",
            2,
            &program_bytes,
            args.bpf,
            |_, rng| rng.below(program_bytes.len()),
            bpf::elf_object,
        )
        .print("eBPF ELF");
    // A fatal signal would have ended the process before this line.
    println!("no fatal signal: every case ran to completion");
}
