//! Writing the commands' output without panicking (`print!` panics when stdout is a closed pipe
//! or a full disk): a reader that went away ends the command quietly, as `| head` expects; any
//! other failure is an error the command reports.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::ProgressBar;
use patchjit_build::Event;

/// Writes `text` to stdout and flushes it. When the reader has closed the pipe the process exits
/// at once with status 0 and no message: the reader took all it wanted.
pub fn print(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(format!("writing to stdout: {e}")),
    }
}

/// Writes a line to stderr. Diagnostics have nowhere else to go, so a failure to write them is
/// ignored rather than turned into a panic.
pub fn note(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Build progress on stderr, for `patchjit build` and `patchjit cpython` alike: a line when a
/// target starts compiling and when a file is written, a bar while it compiles (drawn only when
/// stderr is a terminal, so CI logs keep just the lines), the command lines when the build
/// reports them; nothing when quiet.
pub struct Progress {
    quiet: bool,
    /// The bar of the target compiling now, and when it started.
    current: Mutex<Option<(ProgressBar, Instant)>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            quiet,
            current: Mutex::new(None),
        }
    }

    pub fn show(&self, event: Event<'_>) {
        if self.quiet {
            return;
        }
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Compiling {
                target,
                total,
                clang,
            } => {
                note(format_args!(
                    "patchjit: {target}: compiling {total} templates with {clang}\n"
                ));
                *current = Some((progress_bar(total as u64), Instant::now()));
            }
            Event::Compiled { name, done, .. } => {
                if let Some((bar, _)) = &*current {
                    bar.set_message(name.to_string());
                    bar.set_position(done as u64);
                }
            }
            Event::Command(line) => match &*current {
                Some((bar, _)) => bar.suspend(|| note(format_args!("$ {line}\n"))),
                None => note(format_args!("$ {line}\n")),
            },
            Event::UpToDate { path } => {
                note(format_args!("patchjit: {} is up to date\n", path.display()))
            }
            Event::Wrote { path } => match current.take() {
                Some((bar, start)) => {
                    bar.finish_and_clear();
                    note(format_args!(
                        "patchjit: wrote {} ({:.2} s)\n",
                        path.display(),
                        start.elapsed().as_secs_f64()
                    ));
                }
                None => note(format_args!("patchjit: wrote {}\n", path.display())),
            },
        }
    }

    /// Removes the bar of a target that compiled but wrote nothing (yet).
    pub fn clear(&self) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((bar, _)) = current.take() {
            bar.finish_and_clear();
        }
    }
}

/// A bar of `len` steps on stderr: drawn when stderr is a terminal, hidden otherwise.
fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    // A constant template; should it ever not parse, the default look is kept.
    if let Ok(style) = indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} {wide_msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
