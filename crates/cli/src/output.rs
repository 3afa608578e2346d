//! Writing the commands' output without panicking (`print!` panics when stdout is a closed pipe
//! or a full disk): a reader that went away ends the command quietly, as `| head` expects; any
//! other failure is an error the command reports.

use std::io::Write;

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

/// A bar of `len` steps on stderr for a long run of compiles: drawn when stderr is a terminal,
/// hidden otherwise, so CI logs get only the summary lines.
pub fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    // A constant template; should it ever not parse, the default look is kept.
    if let Ok(style) = indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} {wide_msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
