//! Where a command's words go: results on stdout (what a pipeline reads), notes and
//! progress on stderr (what a person watches), and nothing at all from notes with
//! `--quiet`.
//!
//! stdout is written through `out!`/`outln!` so that a reader who stops early
//! (`s3bridge policies SPEC | head -1`) ends the output quietly: once the pipe is closed,
//! further output is dropped and the command finishes with its own exit status, where
//! `println!` would panic. Any other write error (a full disk behind `>`) is an error.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no notes or progress on stderr (errors and warnings still print).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether the reader of stdout has gone (a closed pipe).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Writes to stdout; a closed pipe is not an error, it only stops further output.
pub fn write_stdout(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    if stdout_closed() {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    match stdout.write_fmt(args) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(error) => Err(anyhow::Error::new(error).context("writing to stdout")),
        Ok(()) => Ok(()),
    }
}

/// Flushes stdout at the end of a run (same rule: a closed pipe is fine).
pub fn flush_stdout() -> anyhow::Result<()> {
    if stdout_closed() {
        return Ok(());
    }
    match io::stdout().lock().flush() {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other.map_err(|e| anyhow::Error::new(e).context("writing to stdout")),
    }
}

/// Writes to stderr, ignoring failures: a closed stderr (`2>&1 | head`) must not turn a
/// message into a panic.
pub fn write_stderr(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// `print!` to stdout, returning `anyhow::Result<()>` (a closed pipe is `Ok`).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` to stdout, returning `anyhow::Result<()>` (a closed pipe is `Ok`).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// A line on stderr that `--quiet` silences (progress, "wrote ...", "next: ...").
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::output::quiet() {
            $crate::output::write_stderr(format_args!("{}\n", format_args!($($arg)*)));
        }
    };
}

/// A line on stderr that always prints (warnings, diagnostics), never panicking.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}
