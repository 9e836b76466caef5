//! S3 endpoint resolution, remembered.
//!
//! The S3 SDK evaluates its whole endpoint rule set (hundreds of conditions, a regex on
//! the bucket name, string formatting) before every request. The answer depends only
//! on the bucket, region and client settings — the rule set binds `Key`, `Prefix` and
//! `CopySource` but never reads them (aws-sdk-s3 1.157) — so a copy of millions of
//! objects into one bucket resolves the same endpoint millions of times. This resolver
//! asks the SDK's own resolver once per distinct set of parameters and reuses the
//! answer; it is a cache, not a second set of rules.

use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::endpoint::{DefaultResolver, EndpointFuture, Params, ResolveEndpoint};
use aws_smithy_types::endpoint::Endpoint;

/// At most this many distinct parameter sets are remembered (a run touches two buckets).
const CAPACITY: usize = 32;

#[derive(Debug, Default)]
pub struct CachingResolver {
    inner: DefaultResolver,
    cache: Arc<Mutex<Vec<(Params, Endpoint)>>>,
}

impl CachingResolver {
    pub fn new() -> CachingResolver {
        CachingResolver::default()
    }
}

/// The parameters the rule set reads: everything but the key, prefix and copy source.
fn cache_key(params: &Params) -> Option<Params> {
    Params::builder()
        .set_bucket(params.bucket().map(str::to_string))
        .set_region(params.region().map(str::to_string))
        .set_use_fips(params.use_fips())
        .set_use_dual_stack(params.use_dual_stack())
        .set_endpoint(params.endpoint().map(str::to_string))
        .set_force_path_style(params.force_path_style())
        .set_accelerate(params.accelerate())
        .set_use_global_endpoint(params.use_global_endpoint())
        .set_use_object_lambda_endpoint(params.use_object_lambda_endpoint())
        .set_disable_access_points(params.disable_access_points())
        .set_disable_multi_region_access_points(params.disable_multi_region_access_points())
        .set_use_arn_region(params.use_arn_region())
        .set_use_s3_express_control_endpoint(params.use_s3_express_control_endpoint())
        .set_disable_s3_express_session_auth(params.disable_s3_express_session_auth())
        .build()
        .ok()
}

impl ResolveEndpoint for CachingResolver {
    fn resolve_endpoint<'a>(&'a self, params: &'a Params) -> EndpointFuture<'a> {
        let Some(key) = cache_key(params) else {
            return self.inner.resolve_endpoint(params);
        };
        if let Ok(cache) = self.cache.lock() {
            if let Some((_, endpoint)) = cache.iter().find(|(k, _)| *k == key) {
                return EndpointFuture::ready(Ok(endpoint.clone()));
            }
        }
        EndpointFuture::new(async move {
            let endpoint = self.inner.resolve_endpoint(params).await?;
            if let Ok(mut cache) = self.cache.lock() {
                if cache.len() < CAPACITY && !cache.iter().any(|(k, _)| *k == key) {
                    cache.push((key, endpoint.clone()));
                }
            }
            Ok(endpoint)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_answer_as_the_sdk_and_one_per_bucket() {
        let resolver = CachingResolver::new();
        let params = |bucket: &str, key: &str| {
            Params::builder()
                .bucket(bucket)
                .region("ap-southeast-2")
                .key(key)
                .use_fips(false)
                .use_dual_stack(false)
                .force_path_style(false)
                .accelerate(false)
                .use_global_endpoint(false)
                .disable_multi_region_access_points(false)
                .build()
                .unwrap()
        };
        for (bucket, key) in [("a-bucket", "x"), ("a-bucket", "y/z"), ("other", "x")] {
            let p = params(bucket, key);
            let cached = resolver.resolve_endpoint(&p).await.unwrap();
            let direct = DefaultResolver::new().resolve_endpoint(&p).await.unwrap();
            assert_eq!(cached, direct);
            assert!(cached.url().contains(bucket), "{}", cached.url());
        }
        assert_eq!(resolver.cache.lock().unwrap().len(), 2);
    }
}
