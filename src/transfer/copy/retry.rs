//! Retrying S3 requests, and slowing down when S3 asks to.
//!
//! The copy stage's S3 clients have the SDK's own retries turned off, so that every
//! attempt passes through here: transient failures (5xx, timeouts, broken connections)
//! are retried with exponential backoff and full jitter; a throttling answer (503
//! SlowDown, 429, RequestLimitExceeded) is retried too and also tells the `Aimd` gate
//! to halve the number of requests in flight. Successes grow it back one at a time
//! (additive increase, multiplicative decrease, like TCP), so a run settles just under
//! the rate S3 grants a prefix and recovers when S3 repartitions.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How a failed attempt should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// S3 asks to slow down: retry later, with fewer requests in flight.
    Throttled,
    /// Worth another attempt (5xx, timeouts, connection errors).
    Transient,
    /// Retrying cannot help (access denied, no such key, precondition failed...).
    Permanent,
}

/// A request that failed for good, with what S3 said.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    pub code: Option<String>,
    pub status: Option<u16>,
    pub message: String,
    /// An earlier attempt failed in a way that may have taken effect on S3's side (a
    /// lost reply: a broken connection, a timeout, a 500). A later answer may then be S3
    /// meeting that effect (NoSuchUpload after the upload was completed, 412 after the
    /// copy was made), so the caller settles by looking at the destination.
    pub after_uncertain_attempt: bool,
    /// Stopped by the run's shutdown (second signal, or the grace period ended).
    pub interrupted: bool,
}

impl RequestError {
    pub fn new(message: impl Into<String>) -> RequestError {
        RequestError {
            code: None,
            status: None,
            message: message.into(),
            after_uncertain_attempt: false,
            interrupted: false,
        }
    }

    /// Work stopped by the run's shutdown.
    pub fn interrupted() -> RequestError {
        RequestError {
            interrupted: true,
            ..RequestError::new("interrupted before it finished; the next run copies it")
        }
    }

    /// S3's error code is `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The source changed after it was listed (CopySourceIfMatch / If-Match failed).
    pub fn is_precondition_failed(&self) -> bool {
        self.status == Some(412) || self.code.as_deref() == Some("PreconditionFailed")
    }
}

pub fn classify<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> Failure {
    match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let status = status_of(error);
            if matches!(
                code,
                "SlowDown"
                    | "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "TooManyRequestsException"
            ) || status == Some(503)
                || status == Some(429)
            {
                Failure::Throttled
            } else if matches!(
                code,
                "InternalError" | "RequestTimeout" | "ServiceUnavailable"
            ) || status.is_some_and(|s| s >= 500)
            {
                Failure::Transient
            } else {
                Failure::Permanent
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Failure::Transient
        }
        _ => Failure::Permanent,
    }
}

fn status_of<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

fn request_error<E>(error: &SdkError<E, HttpResponse>) -> RequestError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    RequestError {
        code: error
            .as_service_error()
            .and_then(|e| e.code())
            .map(str::to_string),
        status: status_of(error),
        message: crate::aws::error::describe(error),
        after_uncertain_attempt: false,
        interrupted: false,
    }
}

/// Retry settings.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(20),
        }
    }
}

/// A small, fast random source for jitter (no need for a cryptographic one).
fn jitter(upto: Duration) -> Duration {
    let nanos = upto.as_nanos().min(u64::MAX as u128) as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(fastrand::u64(0..nanos))
}

/// Runs `attempt` until it succeeds, fails for good, or runs out of attempts.
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    gate: &Aimd,
    attempt: F,
) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    retry_noting(policy, gate, attempt)
        .await
        .map(|(value, _)| value)
}

/// `retry`, also saying whether an attempt before the one that succeeded may have taken
/// effect (for requests whose repetition leaves something behind, such as a second
/// multipart upload).
pub async fn retry_noting<T, E, F, Fut>(
    policy: &RetryPolicy,
    gate: &Aimd,
    mut attempt: F,
) -> Result<(T, bool), RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut tries = 0;
    let mut uncertain = false;
    loop {
        tries += 1;
        match attempt().await {
            Ok(value) => {
                gate.on_success();
                return Ok((value, uncertain));
            }
            Err(error) => {
                let failure = classify(&error);
                if failure == Failure::Throttled {
                    gate.on_throttle();
                }
                if failure == Failure::Permanent || tries >= policy.max_attempts {
                    return Err(RequestError {
                        after_uncertain_attempt: uncertain,
                        ..request_error(&error)
                    });
                }
                // A throttled request was refused before S3 acted on it; anything else
                // transient (a reset, a timeout, a 500) may have been carried out.
                uncertain |= failure == Failure::Transient;
                let ceiling = policy
                    .base
                    .saturating_mul(1 << tries.min(16))
                    .min(policy.cap);
                tokio::time::sleep(jitter(ceiling)).await;
            }
        }
    }
}

/// The number of objects in flight, adapted to S3's answers (AIMD).
#[derive(Debug)]
pub struct Aimd {
    permits: Arc<Semaphore>,
    limit: AtomicUsize,
    max: usize,
    min: usize,
    successes: AtomicUsize,
    last_decrease: Mutex<Option<Instant>>,
    /// Times the limit was halved (reported in the summary).
    pub decreases: AtomicUsize,
}

impl Aimd {
    pub fn new(max: usize) -> Arc<Aimd> {
        let max = max.max(1);
        Arc::new(Aimd {
            permits: Arc::new(Semaphore::new(max)),
            limit: AtomicUsize::new(max),
            max,
            min: 1,
            successes: AtomicUsize::new(0),
            last_decrease: Mutex::new(None),
            decreases: AtomicUsize::new(0),
        })
    }

    /// Waits for a place; the place is given back when the permit drops.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .expect("the gate's semaphore is never closed")
    }

    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// One more request in flight after `limit` successes in a row.
    pub fn on_success(&self) {
        let limit = self.limit.load(Ordering::Relaxed);
        if limit >= self.max {
            return;
        }
        if self.successes.fetch_add(1, Ordering::Relaxed) + 1 >= limit {
            self.successes.store(0, Ordering::Relaxed);
            if self
                .limit
                .compare_exchange(limit, limit + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                self.permits.add_permits(1);
            }
        }
    }

    /// Halves the limit, at most once a second (a burst of SlowDowns is one signal).
    pub fn on_throttle(&self) {
        let mut last = match self.last_decrease.lock() {
            Ok(last) => last,
            Err(_) => return,
        };
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        let limit = self.limit.load(Ordering::Relaxed);
        let target = (limit / 2).max(self.min);
        if target == limit {
            return;
        }
        *last = Some(Instant::now());
        self.limit.store(target, Ordering::Relaxed);
        self.successes.store(0, Ordering::Relaxed);
        self.decreases.fetch_add(1, Ordering::Relaxed);
        // Take the surplus places out of circulation as they come back.
        let permits = self.permits.clone();
        let surplus = (limit - target) as u32;
        tokio::spawn(async move {
            if let Ok(taken) = permits.acquire_many_owned(surplus).await {
                taken.forget();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn halves_on_throttle_and_grows_back_one_at_a_time() {
        let gate = Aimd::new(16);
        gate.on_throttle();
        assert_eq!(gate.limit(), 8);
        gate.on_throttle(); // within the same second: one signal
        assert_eq!(gate.limit(), 8);
        tokio::task::yield_now().await;
        assert_eq!(gate.permits.available_permits(), 8);
        for _ in 0..8 {
            gate.on_success();
        }
        assert_eq!(gate.limit(), 9);
        assert_eq!(gate.permits.available_permits(), 9);
    }

    #[test]
    fn jitter_stays_below_its_ceiling() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(5)) < Duration::from_millis(5));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
