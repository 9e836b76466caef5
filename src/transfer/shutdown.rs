//! Stopping a copy or a verification cleanly when asked to: Ctrl-C (SIGINT) or SIGTERM,
//! which Kubernetes and AWS Batch send before they kill a container.
//!
//! A run moves through three stages and never back:
//!
//! ```text
//! Running ──1st signal──▶ Draining ──2nd signal, or the grace period ends──▶ Cancelling
//!                                                          3rd signal: exit 130 at once
//! ```
//!
//! - **Draining**: no new object is started; the objects in flight finish; the summary
//!   and the report are written as usual (the run says it was interrupted).
//! - **Cancelling**: the objects still in flight stop where they are and their multipart
//!   uploads are aborted (a finished part costs nothing once aborted); then the summary
//!   and report as above. A container runtime's kill comes after its own grace period
//!   (Kubernetes' `terminationGracePeriodSeconds`, 30 s by default; the ECS stop timeout
//!   that AWS Batch uses, 30 s too), so the default grace here is shorter than that:
//!   the uploads are aborted before the SIGKILL can leave them open.
//! - A third signal exits at once (130), for a network so stuck that even aborting
//!   hangs; the next run aborts what this one left (`copy::uploads`).
//!
//! Like mini-redis's `Shutdown`, this is one small value handed to every task that must
//! react: a cheap check (`is_draining`) on the hot path, and futures (`draining`,
//! `cancelled`) for the places that wait.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// How far a run has been asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Running,
    /// Start nothing new; finish what is in flight.
    Draining,
    /// Stop what is in flight and clean up after it (abort its uploads).
    Cancelling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    stage: Stage,
    /// What asked first (`SIGTERM`, `Ctrl-C`).
    cause: Option<&'static str>,
}

/// The run's shutdown state, shared by every task of the run (cheap to clone).
#[derive(Debug, Clone)]
pub struct Shutdown {
    state: Arc<watch::Sender<State>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    /// A shutdown nothing triggers but `begin` (tests, library callers).
    pub fn new() -> Shutdown {
        let (state, _) = watch::channel(State {
            stage: Stage::Running,
            cause: None,
        });
        Shutdown {
            state: Arc::new(state),
        }
    }

    /// A shutdown driven by SIGINT and SIGTERM (see the module comment); `grace` is how
    /// long objects in flight may take to finish after the first signal. Must be called
    /// inside the runtime.
    pub fn on_signals(grace: Duration) -> Shutdown {
        let shutdown = Shutdown::new();
        let listener = shutdown.clone();
        tokio::spawn(async move { listener.listen(grace).await });
        shutdown
    }

    async fn listen(&self, grace: Duration) {
        let mut signals = match Signals::new() {
            Ok(signals) => signals,
            Err(e) => {
                eprintln!("warning: cannot listen for SIGINT/SIGTERM ({e}); a signal will stop the run at once");
                return;
            }
        };
        let first = signals.next().await;
        eprintln!(
            "\n{first}: starting nothing new; finishing the work in flight for up to {}s, then \
             stopping it and aborting its multipart uploads ({first} again to stop it now)",
            grace.as_secs_f64()
        );
        self.begin(Stage::Draining, first);
        let timer = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if timer.stage() < Stage::Cancelling {
                eprintln!(
                    "grace period over: stopping the work still in flight, aborting its uploads"
                );
                timer.begin(Stage::Cancelling, first);
            }
        });
        let second = signals.next().await;
        eprintln!(
            "{second}: stopping the work in flight, aborting its uploads ({second} once more exits at once)"
        );
        self.begin(Stage::Cancelling, second);
        let third = signals.next().await;
        eprintln!("{third}: exiting without cleaning up; the next run aborts what is left open");
        std::process::exit(130);
    }

    /// Moves to `stage` (never back); `cause` names what asked, kept from the first call.
    pub fn begin(&self, stage: Stage, cause: &'static str) {
        self.state.send_if_modified(|state| {
            if stage <= state.stage {
                return false;
            }
            state.stage = stage;
            state.cause.get_or_insert(cause);
            true
        });
    }

    pub fn stage(&self) -> Stage {
        self.state.borrow().stage
    }

    /// Whether new work must not start (a cheap check for loops).
    pub fn is_draining(&self) -> bool {
        self.stage() >= Stage::Draining
    }

    /// What asked the run to stop, if anything did.
    pub fn cause(&self) -> Option<&'static str> {
        self.state.borrow().cause
    }

    /// Resolves once no new work may start.
    pub async fn draining(&self) {
        self.reached(Stage::Draining).await
    }

    /// The next batch from a lister, or None when no new work may start: the listing
    /// ended, a shutdown began, or the listing failed (its error kept in `error`).
    pub async fn next_batch<T, E: std::fmt::Display>(
        &self,
        batches: &mut tokio::sync::mpsc::Receiver<Result<T, E>>,
        error: &mut Option<String>,
    ) -> Option<T> {
        let batch = tokio::select! {
            biased;
            _ = self.draining() => return None,
            batch = batches.recv() => batch?,
        };
        batch.map_err(|e| *error = Some(e.to_string())).ok()
    }

    /// Resolves once work in flight must stop.
    pub async fn cancelled(&self) {
        self.reached(Stage::Cancelling).await
    }

    async fn reached(&self, stage: Stage) {
        let mut state = self.state.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail.
        let _ = state.wait_for(|s| s.stage >= stage).await;
    }

    /// "interrupted by SIGTERM: ..." for a summary, when the run was interrupted.
    pub fn describe(&self, what_to_do: &str) -> Option<String> {
        let cause = self.cause()?;
        let how = match self.stage() {
            Stage::Cancelling => {
                "the objects in flight were stopped and their multipart uploads aborted"
            }
            _ => "the objects in flight were finished",
        };
        Some(format!("interrupted by {cause}: {how}; {what_to_do}"))
    }
}

/// SIGINT and SIGTERM as one stream of names.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    #[cfg(unix)]
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "Ctrl-C",
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// `--grace-period`'s default, in seconds: under the 30 s that Kubernetes and ECS wait
/// between SIGTERM and SIGKILL, with time left to abort uploads.
pub const DEFAULT_GRACE_SECONDS: u64 = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stages_only_move_forward_and_keep_the_first_cause() {
        let shutdown = Shutdown::new();
        assert!(!shutdown.is_draining());
        assert_eq!(shutdown.describe("rerun"), None);
        shutdown.begin(Stage::Draining, "SIGTERM");
        assert!(shutdown.is_draining());
        shutdown.draining().await;
        shutdown.begin(Stage::Running, "Ctrl-C");
        assert_eq!(shutdown.stage(), Stage::Draining);
        let waiter = shutdown.clone();
        let cancelled = tokio::spawn(async move { waiter.cancelled().await });
        tokio::task::yield_now().await;
        assert!(!cancelled.is_finished());
        shutdown.begin(Stage::Cancelling, "Ctrl-C");
        cancelled.await.unwrap();
        assert_eq!(shutdown.cause(), Some("SIGTERM"));
        assert!(shutdown
            .describe("rerun")
            .unwrap()
            .starts_with("interrupted by SIGTERM: the objects in flight were stopped"));
    }
}
