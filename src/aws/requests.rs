//! Counting the requests a client sends, by operation, as S3 bills them.
//!
//! An interceptor on the SDK client sees every attempt (retries included) just before it
//! goes on the wire, so the counts are what the account is charged for, whatever code
//! path issued the request. Copy prints them in its summary and prices them; a
//! benchmark or a test can hold a command to its request budget with them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

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
