//! Progress on stderr: a one-line bar redrawn in place on a terminal (objects, bytes,
//! rate, ETA), a plain log line every few seconds otherwise (CI logs, `nohup`).
//!
//! The total is not known up front — listing and copying run at the same time — so the
//! bar shows how much has been planned so far and gives an ETA once listing is done.

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
        let done = summary.copied + summary.failed + summary.to_copy + summary.to_batch;
        let total = planned.objects.load(Ordering::Relaxed);
        let bytes_total = planned.bytes.load(Ordering::Relaxed);
        let listing_done = planned.listing_done.load(Ordering::Relaxed);
        let rate = done as f64 / elapsed;
        let eta = if listing_done && rate > 0.0 && total >= done {
            format!("ETA {:.0}s", (total - done) as f64 / rate)
        } else {
            "listing…".to_string()
        };
        let width = 24usize;
        let filled = if total > 0 {
            ((done as f64 / total as f64) * width as f64).round() as usize
        } else {
            0
        }
        .min(width);
        let bar = if self.tty {
            format!("[{}{}] ", "=".repeat(filled), " ".repeat(width - filled))
        } else {
            String::new()
        };
        format!(
            "{bar}{done}/{total} objects, {}/{} , {:.0} obj/s, {}/s, {} skipped, {} failed, {eta}",
            human_bytes(summary.bytes),
            human_bytes(bytes_total),
            rate,
            human_bytes((summary.bytes as f64 / elapsed) as u64),
            summary.skipped,
            summary.failed,
        )
    }

    /// Clears the bar before the summary is printed.
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
            self.drawn = false;
        }
    }
}
