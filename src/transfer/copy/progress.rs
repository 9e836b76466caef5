//! Progress on stderr: a one-line bar redrawn in place on a terminal (objects, bytes,
//! rate, ETA), a plain log line every few seconds otherwise (CI logs, `nohup`).
//!
//! The total is not known up front — listing and copying run at the same time — so
//! while listing goes on the bar says so and shows how many objects were found so far
//! (never a bar that looks full because the copies caught up with the listing); once
//! listing is done it shows the real total and an ETA.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::outcome::{human_bytes, Summary};

/// Counters the dispatcher raises as it plans work (read by the progress display).
#[derive(Debug, Default)]
pub struct Planned {
    pub objects: AtomicU64,
    pub bytes: AtomicU64,
    pub listing_done: AtomicBool,
}

pub struct Progress {
    tty: bool,
    enabled: bool,
    started: Instant,
    last: Instant,
    every: Duration,
    drawn: bool,
}

impl Progress {
    /// `enabled` false keeps stderr quiet (e.g. `--format json` in a pipe still logs).
    pub fn new(enabled: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        Progress {
            tty,
            enabled,
            started: Instant::now(),
            last: Instant::now(),
            every: if tty {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(10)
            },
            drawn: false,
        }
    }

    pub fn update(&mut self, summary: &Summary, planned: &Planned) {
        if !self.enabled || self.last.elapsed() < self.every {
            return;
        }
        self.last = Instant::now();
        let line = self.line(summary, planned);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K{line}");
            self.drawn = true;
        } else {
            let _ = writeln!(err, "progress: {line}");
        }
    }

    fn line(&self, summary: &Summary, planned: &Planned) -> String {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let done = summary.copied
            + summary.failed
            + summary.interrupted
            + summary.to_copy
            + summary.to_batch;
        let total = planned.objects.load(Ordering::Relaxed);
        let bytes_total = planned.bytes.load(Ordering::Relaxed);
        let listing_done = planned.listing_done.load(Ordering::Relaxed);
        line(LineInput {
            tty: self.tty,
            done,
            total: listing_done.then_some(total),
            found: total,
            bytes: summary.bytes,
            bytes_total,
            elapsed,
            skipped: summary.skipped,
            failed: summary.failed,
        })
    }

    /// Clears the bar before the summary is printed.
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
            self.drawn = false;
        }
    }
}

/// What one progress line shows.
struct LineInput {
    tty: bool,
    done: u64,
    /// The number of objects to copy, once listing is done; None while it goes on.
    total: Option<u64>,
    /// Objects to copy found so far.
    found: u64,
    bytes: u64,
    bytes_total: u64,
    elapsed: f64,
    skipped: u64,
    failed: u64,
}

fn line(input: LineInput) -> String {
    const WIDTH: usize = 24;
    let rate = input.done as f64 / input.elapsed;
    let (bar, of, eta) = match input.total {
        Some(total) => {
            let filled = if total > 0 {
                ((input.done as f64 / total as f64) * WIDTH as f64).round() as usize
            } else {
                WIDTH
            }
            .min(WIDTH);
            let eta = if rate > 0.0 && total >= input.done {
                format!("ETA {:.0}s", (total - input.done) as f64 / rate)
            } else {
                "ETA -".to_string()
            };
            (
                format!("[{}{}] ", "=".repeat(filled), " ".repeat(WIDTH - filled)),
                format!(
                    "{}/{total} objects, {}/{}",
                    input.done,
                    human_bytes(input.bytes),
                    human_bytes(input.bytes_total)
                ),
                eta,
            )
        }
        None => (
            format!("[{:^WIDTH$}] ", "listing…"),
            format!(
                "{}/? objects ({} found so far), {}/{}+",
                input.done,
                input.found,
                human_bytes(input.bytes),
                human_bytes(input.bytes_total)
            ),
            "total unknown until listing ends".to_string(),
        ),
    };
    format!(
        "{}{of}, {:.0} obj/s, {}/s, {} skipped, {} failed, {eta}",
        if input.tty { bar.as_str() } else { "" },
        rate,
        human_bytes((input.bytes as f64 / input.elapsed) as u64),
        input.skipped,
        input.failed,
    )
}

/// Clears the progress bar's line on a terminal, before a line of its own is printed.
pub fn clear_line() {
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = write!(err, "\r\x1b[K");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(done: u64, total: Option<u64>) -> LineInput {
        LineInput {
            tty: true,
            done,
            total,
            found: 10,
            bytes: 0,
            bytes_total: 0,
            elapsed: 1.0,
            skipped: 0,
            failed: 0,
        }
    }

    #[test]
    fn the_bar_is_never_full_while_listing_goes_on() {
        // Copies caught up with the listing: 10 of the 10 found so far are done.
        let listing = line(input(10, None));
        assert!(!listing.contains('='), "{listing}");
        assert!(
            listing.contains("10/? objects (10 found so far)"),
            "{listing}"
        );
        assert!(listing.contains("total unknown"), "{listing}");
        let half = line(input(5, Some(10)));
        assert!(
            half.starts_with(&format!("[{}{}]", "=".repeat(12), " ".repeat(12))),
            "{half}"
        );
        assert!(
            half.contains("5/10 objects") && half.contains("ETA 1s"),
            "{half}"
        );
    }
}
