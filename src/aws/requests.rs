//! Counting the requests a client sends, by operation, as S3 bills them.
//!
//! An interceptor on the SDK client sees every attempt (retries included) just before it
//! goes on the wire, so the counts are what the account is charged for, whatever code
//! path issued the request. Copy and verify print them in their summaries and price them
//! (S3 Standard, one table for both); a benchmark or a test can hold a command to its
//! request budget with them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// USD per 1,000 PUT, COPY, POST and LIST requests (S3 Standard, US East).
pub const WRITE_OR_LIST_PER_1000: f64 = 0.005;
/// USD per 1,000 GET, HEAD and all other requests.
pub const READ_PER_1000: f64 = 0.0004;

/// The price of one request of `operation`, as S3 bills it: PUT, COPY, POST and LIST
/// (multipart uploads and their parts are PUT/POST) at the write rate; DELETE and
/// aborting an upload free; GET, HEAD and every other request at the read rate.
pub fn price(operation: &str) -> f64 {
    const WRITES: [&str; 7] = [
        "Put",
        "Copy",
        "List",
        "UploadPart",
        "CreateMultipartUpload",
        "CompleteMultipartUpload",
        "RestoreObject",
    ];
    let per_1000 = if operation.starts_with("Delete") || operation == "AbortMultipartUpload" {
        0.0
    } else if WRITES.iter().any(|w| operation.starts_with(w)) {
        WRITE_OR_LIST_PER_1000
    } else {
        READ_PER_1000
    };
    per_1000 / 1000.0
}

/// The price of `counts` (operation → requests). Never negative: an empty sum of
/// floats is -0.0, which would print as `$-0.0000`.
pub fn cost_of<'a>(counts: impl IntoIterator<Item = (&'a String, &'a u64)>) -> f64 {
    counts.into_iter().fold(0.0, |total, (operation, n)| {
        total + price(operation) * *n as f64
    })
}

/// Requests sent, by operation name (`CopyObject`, `ListObjectsV2`...). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestCounter {
    pub fn new() -> RequestCounter {
        RequestCounter::default()
    }

    /// A snapshot of the counts so far.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }

    /// What the requests so far cost.
    pub fn cost(&self) -> f64 {
        cost_of(&self.counts())
    }

    fn add(&self, operation: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            match counts.get_mut(operation) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(operation.to_string(), 1);
                }
            }
        }
    }

    /// Adds this counter to an S3 client configuration.
    pub fn attach(&self, builder: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
        builder.interceptor(CountingInterceptor(self.clone()))
    }

    /// `s3` with every request it sends counted here.
    pub fn count(&self, s3: &aws_sdk_s3::Client) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(self.attach(s3.config().to_builder()).build())
    }
}

#[derive(Debug)]
struct CountingInterceptor(RequestCounter);

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "s3bridge-request-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(Metadata::name)
            .unwrap_or("unknown");
        self.0.add(operation);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::price;

    #[test]
    fn prices_follow_s3_standard() {
        for write in [
            "CopyObject",
            "PutObject",
            "ListObjectsV2",
            "UploadPartCopy",
            "CompleteMultipartUpload",
        ] {
            assert!((price(write) * 1000.0 - 0.005).abs() < 1e-12, "{write}");
        }
        for read in [
            "HeadObject",
            "GetObject",
            "GetObjectTagging",
            "GetBucketEncryption",
        ] {
            assert!((price(read) * 1000.0 - 0.0004).abs() < 1e-12, "{read}");
        }
        assert_eq!(price("DeleteObjects"), 0.0);
        assert_eq!(price("AbortMultipartUpload"), 0.0);
    }

    #[test]
    fn no_requests_cost_zero_not_minus_zero() {
        let none = super::RequestCounter::new().cost();
        assert!(none.is_sign_positive(), "{none}");
        assert_eq!(format!("{none:.4}"), "0.0000");
    }
}
