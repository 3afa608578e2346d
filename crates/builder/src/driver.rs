//! Running clang over many sources: one bounded pool of threads for the template builder and
//! the CPython job, and one event type both report their progress with.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Something worth telling a user while a build runs; both [`crate::Builder`] and
/// [`crate::cpython::run`] report with it.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// `total` sources are about to be compiled for `target` with the clang whose `--version`
    /// line is `clang`.
    Compiling {
        /// The target triple.
        target: &'a str,
        /// How many sources.
        total: usize,
        /// clang's `--version` line.
        clang: &'a str,
    },
    /// One source compiled (or found in the cache), in completion order.
    Compiled {
        /// The template's path, or the micro-op's name in the CPython job.
        name: &'a str,
        /// Taken from the compile cache rather than compiled.
        cached: bool,
        /// Sources finished so far, this one included.
        done: usize,
        /// As in [`Event::Compiling`].
        total: usize,
    },
    /// A tool command line (the CPython job's `verbose`).
    Command(&'a str),
    /// An output already matches its inputs: nothing was built.
    UpToDate {
        /// The output left as it was.
        path: &'a Path,
    },
    /// An output was written.
    Wrote {
        /// The output written.
        path: &'a Path,
    },
}

/// `work` on every item on up to `jobs` threads (0: one per core), results in item order.
/// `done` hears of each success as it completes, with the count so far. After a failure no
/// item after it is started, and the failure of the lowest-numbered item is returned: every item
/// before it has started by then, so which failure is reported does not depend on timing.
pub fn parallel_map<T: Sync, R: Send, E: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> Result<R, E> + Sync,
    done: impl Fn(&T, &R, usize) + Sync,
) -> Result<Vec<R>, E> {
    let jobs = match jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    // The lowest index that failed so far (usize::MAX: none).
    let first_failure = AtomicUsize::new(usize::MAX);
    let results: Vec<Mutex<Option<Result<R, E>>>> =
        items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(items.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() || i > first_failure.load(Ordering::Relaxed) {
                    break;
                }
                let result = work(&items[i]);
                match &result {
                    Ok(r) => done(&items[i], r, finished.fetch_add(1, Ordering::Relaxed) + 1),
                    Err(_) => {
                        first_failure.fetch_min(i, Ordering::Relaxed);
                    }
                }
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
            });
        }
    });
    let mut out = Vec::with_capacity(items.len());
    for slot in results {
        match slot.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => return Err(e),
            // Not started: an earlier item failed, and its error comes first.
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_in_order_and_the_first_failure_wins() {
        let items: Vec<u32> = (0..50).collect();
        let seen = AtomicUsize::new(0);
        let doubled = parallel_map(
            &items,
            4,
            |&n| Ok::<_, String>(n * 2),
            |_, _, count| {
                seen.fetch_max(count, Ordering::Relaxed);
            },
        )
        .unwrap();
        assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(seen.load(Ordering::Relaxed), 50);

        for _ in 0..20 {
            let failed = parallel_map(
                &items,
                4,
                |&n| {
                    if n % 7 == 3 {
                        // A later failure finishes first.
                        std::thread::sleep(std::time::Duration::from_millis(u64::from(
                            10 - n.min(10),
                        )));
                        Err(n)
                    } else {
                        Ok(n)
                    }
                },
                |_, _, _| {},
            );
            assert_eq!(failed, Err(3));
        }
    }
}
