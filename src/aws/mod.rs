//! AWS clients for one side of a replication: which credentials (a named profile, the
//! default chain, optionally a role assumed on top), which region, which endpoint.
//!
//! Every command that talks to AWS builds its clients here, so that `--endpoint-url`
//! (moto, LocalStack, a local S3 server), profiles and assumed roles behave the same in
//! audit, copy and verify. Each side gets its own clients because each account's KMS
//! keys are only readable from that account. `error` turns what the SDK returns into
//! words; `bucket_session` finds an ad hoc bucket's region.

use std::time::Duration;

use anyhow::Result;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub mod endpoint_cache;
pub mod error;
pub mod requests;

use error::{AwsError, AwsResultExt};

/// How to reach one account.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Region the clients sign for (the bucket's region).
    pub region: String,
    /// A named profile from ~/.aws/config; None uses the default credential chain.
    pub profile: Option<String>,
    /// A role to assume on top of those credentials (e.g. the spec's terraform_role).
    pub assume_role: Option<String>,
    /// Session name for the assumed role, shown in CloudTrail.
    pub session_name: String,
    /// An AWS-compatible endpoint instead of AWS (path-style S3 is used with it).
    pub endpoint_url: Option<String>,
}

impl Access {
    pub fn new(region: &str) -> Access {
        Access {
            region: region.to_string(),
            session_name: "s3bridge".into(),
            ..Access::default()
        }
    }
}

/// Shared SDK configuration for one account.
#[derive(Debug, Clone)]
pub struct Session {
    pub config: SdkConfig,
    pub access: Access,
}

impl Session {
    /// Resolves credentials (assuming the role if asked). Nothing is called on AWS until
    /// a client is used, except for the AssumeRole call itself, which fails early with a
    /// clear message when the role cannot be assumed.
    pub async fn connect(access: &Access) -> Result<Session> {
        if let Some(endpoint) = &access.endpoint_url {
            check_reachable(endpoint).await?;
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(access.region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .build(),
            );
        if let Some(profile) = &access.profile {
            // A named profile wins over AWS_ACCESS_KEY_ID & co., as `aws --profile` does;
            // the default chain would look at the environment first.
            loader = loader.profile_name(profile).credentials_provider(
                aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .profile_name(profile)
                    .configure(
                        &aws_config::provider_config::ProviderConfig::without_region()
                            .with_region(Some(Region::new(access.region.clone()))),
                    )
                    .build(),
            );
        }
        if let Some(endpoint) = &access.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let mut config = loader.load().await;
        if let Some(role) = &access.assume_role {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name(&access.session_name)
                .configure(&config)
                .build()
                .await;
            config = config
                .into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
        }
        Ok(Session {
            config,
            access: access.clone(),
        })
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        self.s3_with(|builder| builder)
    }

    /// An S3 client with extra settings on top of this session's (the copy stage turns
    /// the SDK's retries off to run its own, rate-adapting ones, and counts requests).
    pub fn s3_with(
        &self,
        configure: impl FnOnce(aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder,
    ) -> aws_sdk_s3::Client {
        let builder = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.access.endpoint_url.is_some())
            .endpoint_resolver(endpoint_cache::CachingResolver::new());
        aws_sdk_s3::Client::from_conf(configure(builder).build())
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.config)
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.config)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }

    /// S3 Control (Batch Operations jobs). AWS routes these requests by a host name that
    /// starts with the account id (`111111111111.s3-control.<region>.amazonaws.com`); a
    /// custom endpoint (a local server) cannot resolve such names, so with one the
    /// account goes only in the `x-amz-account-id` header, as S3 goes path-style.
    pub fn s3control(&self) -> aws_sdk_s3control::Client {
        let mut builder = aws_sdk_s3control::config::Builder::from(&self.config);
        if self.access.endpoint_url.is_some() {
            builder = builder.endpoint_resolver(AccountInHeaderOnly::default());
        }
        aws_sdk_s3control::Client::from_conf(builder.build())
    }

    /// The region S3 says `bucket` is in: HeadBucket answers it in `x-amz-bucket-region`,
    /// also when the request went to another region and was refused with a 301 (S3 API
    /// reference, HeadBucket: "x-amz-bucket-region: The Region that the bucket is located").
    /// None when S3 answered without it (a local server); an error when nothing answered
    /// (no credentials, unreachable), so that it is said now, not at the first listing.
    pub async fn bucket_region(&self, bucket: &str) -> Result<Option<String>> {
        match self.s3().head_bucket().bucket(bucket).send().await {
            Ok(out) => Ok(out.bucket_region().map(str::to_string)),
            Err(error) => match error.raw_response() {
                Some(response) => Ok(response
                    .headers()
                    .get("x-amz-bucket-region")
                    .map(str::to_string)),
                None => Err(AwsError::new("HeadBucket", format!("s3://{bucket}"), &error).into()),
            },
        }
    }

    /// The account these credentials act in (sts:GetCallerIdentity needs no permission).
    pub async fn account_id(&self) -> Result<String> {
        let who = match &self.access.assume_role {
            Some(role) => role.clone(),
            None => match &self.access.profile {
                Some(profile) => format!("profile {profile}"),
                None => "the default credentials".to_string(),
            },
        };
        let identity = self
            .sts()
            .get_caller_identity()
            .send()
            .await
            .aws("GetCallerIdentity", &who)?;
        identity
            .account
            .ok_or_else(|| anyhow::anyhow!("GetCallerIdentity of {who} returned no account"))
    }
}

/// Fails at once, naming the endpoint, when nothing listens there (connection refused)
/// or its host name does not resolve. The SDK would retry both for seconds as if they
/// were passing trouble; at the start of a run they are a wrong `--endpoint-url` or a
/// server that is not up. (Once a run is going, the same errors are retried as usual.)
/// A slow or silent endpoint is left to the SDK's own connect timeout.
async fn check_reachable(endpoint: &str) -> Result<()> {
    let Some(address) = host_and_port(endpoint) else {
        return Ok(());
    };
    let attempt = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(address.as_str()),
    )
    .await;
    match attempt {
        Ok(Err(error)) => {
            let problem = match error.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                _ if error.to_string().contains("lookup") => "host name not found".to_string(),
                _ => return Ok(()),
            };
            Err(AwsError::unreachable(endpoint, problem)
                .with_hint(format!(
                    "nothing answers at {endpoint}: check --endpoint-url (or AWS_ENDPOINT_URL) \
                 and that the server is running"
                ))
                .into())
        }
        // Connected, or no answer within 3 s: the SDK's timeouts take it from here.
        _ => Ok(()),
    }
}

/// `host:port` of an http(s) URL (default ports 80 and 443).
fn host_and_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if authority.is_empty() {
        return None;
    }
    let has_port = match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    };
    Some(if has_port {
        authority.to_string()
    } else {
        let port = if scheme.eq_ignore_ascii_case("https") {
            443
        } else {
            80
        };
        format!("{authority}:{port}")
    })
}

/// The region the SDK would use for `profile`: $AWS_REGION, then the profile's `region`
/// in ~/.aws/config (the default profile's when none is named).
pub async fn configured_region(profile: Option<&str>) -> Option<String> {
    let mut chain = aws_config::default_provider::region::DefaultRegionChain::builder();
    if let Some(profile) = profile {
        chain = chain.profile_name(profile);
    }
    chain.build().region().await.map(|r| r.to_string())
}

/// Where a session's region came from, for the run's header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionSource {
    /// The spec, or --region/--source-region/--destination-region.
    Given,
    /// S3's answer to HeadBucket.
    Bucket,
    /// Neither answered: the profile's or environment's region, else us-east-1.
    Default,
}

/// A session for `bucket`: in `region` when it is known, else in the region S3 says the
/// bucket is in. HeadBucket answers `x-amz-bucket-region` whether or not the caller may
/// read the bucket ("calls to the HeadBucket operation always return the bucket's
/// location through an HTTP response header, whether access to the bucket is authorized
/// or not", https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html),
/// also on the 301 a request to the wrong region gets.
pub async fn bucket_session(
    access: &Access,
    bucket: &str,
    region: Option<&str>,
) -> Result<(Session, RegionSource)> {
    if let Some(region) = region {
        let session = Session::connect(&Access {
            region: region.to_string(),
            ..access.clone()
        })
        .await?;
        return Ok((session, RegionSource::Given));
    }
    let guess = configured_region(access.profile.as_deref())
        .await
        .unwrap_or_else(|| "us-east-1".to_string());
    let session = Session::connect(&Access {
        region: guess.clone(),
        ..access.clone()
    })
    .await?;
    let answer = session.bucket_region(bucket).await?;
    match answer {
        Some(actual) if actual != guess => {
            let session = Session::connect(&Access {
                region: actual,
                ..access.clone()
            })
            .await?;
            Ok((session, RegionSource::Bucket))
        }
        Some(_) => Ok((session, RegionSource::Bucket)),
        None => Ok((session, RegionSource::Default)),
    }
}

/// Credentials that act in another account than the one the spec says they must: the
/// check every command that acts on a spec's account makes before its first request
/// (audit, replicate-existing, status, shards plan, copy and verify in spec mode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the {what} credentials act in account {actual}, but the spec expects account {}; \
     use credentials of that account (a profile with --source-profile/--destination-profile, \
     or the default chain)",
    expected.join(" or ")
)]
pub struct WrongAccount {
    /// Whose credentials: "source", "destination", "copy role", ...
    pub what: String,
    /// The account(s) the spec allows for them.
    pub expected: Vec<String>,
    pub actual: String,
}

/// The one comparison of an identity's account with what the spec expects.
pub fn check_account(what: &str, expected: &[&str], actual: &str) -> Result<(), WrongAccount> {
    if expected.contains(&actual) {
        Ok(())
    } else {
        Err(WrongAccount {
            what: what.to_string(),
            expected: expected.iter().map(|a| a.to_string()).collect(),
            actual: actual.to_string(),
        })
    }
}

impl Session {
    /// Asks STS which account these credentials act in and refuses any but `expected`.
    pub async fn expect_account(&self, what: &str, expected: &[&str]) -> Result<()> {
        let actual = self.account_id().await?;
        check_account(what, expected, &actual)?;
        Ok(())
    }
}

/// S3 Control's own endpoint rules, minus the `<account>.` host label they add to a
/// custom endpoint.
#[derive(Debug, Default)]
struct AccountInHeaderOnly {
    rules: aws_sdk_s3control::config::endpoint::DefaultResolver,
}

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for AccountInHeaderOnly {
    fn resolve_endpoint<'a>(
        &'a self,
        params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        use aws_sdk_s3control::config::endpoint::{Endpoint, EndpointFuture, ResolveEndpoint};
        EndpointFuture::new(Box::pin(async move {
            let resolved = ResolveEndpoint::resolve_endpoint(&self.rules, params).await?;
            let Some(account) = params.account_id() else {
                return Ok(resolved);
            };
            let url = resolved.url().replacen(&format!("://{account}."), "://", 1);
            let mut endpoint = Endpoint::builder().url(url);
            for (name, values) in resolved.headers() {
                for value in values {
                    endpoint = endpoint.header(name.to_string(), value.to_string());
                }
            }
            for (key, value) in resolved.properties() {
                endpoint = endpoint.property(key.to_string(), value.clone());
            }
            Ok(endpoint.build())
        }))
    }
}

#[cfg(test)]
mod tests {
    //! Region discovery and S3 Control's host routing are skipped with `--endpoint-url`, so
    //! the integration tests on moto never run them: here the SDK goes to its AWS endpoints
    //! through a recorded connection that notes each request and plays back S3's answer.

    use std::sync::{Arc, Mutex};

    use aws_credential_types::provider::SharedCredentialsProvider;
    use aws_credential_types::Credentials;
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    #[test]
    fn endpoints_name_their_host_and_port() {
        assert_eq!(
            host_and_port("http://127.0.0.1:9").as_deref(),
            Some("127.0.0.1:9")
        );
        assert_eq!(
            host_and_port("https://s3.example.com/path").as_deref(),
            Some("s3.example.com:443")
        );
        assert_eq!(
            host_and_port("http://[::1]:4566/").as_deref(),
            Some("[::1]:4566")
        );
        assert_eq!(host_and_port("http://[::1]/").as_deref(), Some("[::1]:80"));
        assert_eq!(host_and_port("not a url"), None);
    }

    /// A request as the recording saw it: URI and headers.
    type Seen = (String, Vec<(String, String)>);

    /// One recorded exchange: every request is noted (URI and headers) and answered with
    /// the same status, headers and body.
    #[derive(Debug, Clone)]
    struct Recorded {
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: &'static str,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Recorded {
        fn answering(
            status: u16,
            headers: &[(&'static str, &'static str)],
            body: &'static str,
        ) -> Recorded {
            Recorded {
                status,
                headers: headers.to_vec(),
                body,
                seen: Arc::default(),
            }
        }

        fn requests(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
    }

    impl HttpConnector for Recorded {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let headers = request
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            self.seen
                .lock()
                .unwrap()
                .push((request.uri().to_string(), headers));
            let mut response =
                HttpResponse::new(self.status.try_into().unwrap(), SdkBody::from(self.body));
            for (name, value) in &self.headers {
                response.headers_mut().insert(*name, *value);
            }
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    impl HttpClient for Recorded {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }

    /// A session on AWS itself (no endpoint) or on `endpoint`, over `recorded`.
    fn session(recorded: &Recorded, region: &str, endpoint: Option<&str>) -> Session {
        let mut config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "ANOTREAL", "notreal", None, None, "test",
            )))
            .http_client(recorded.clone());
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        Session {
            config: config.build(),
            access: Access {
                endpoint_url: endpoint.map(str::to_string),
                ..Access::new(region)
            },
        }
    }

    const LIST_JOBS: &str =
        r#"<?xml version="1.0" encoding="UTF-8"?><ListJobsResult><Jobs></Jobs></ListJobsResult>"#;

    #[tokio::test]
    async fn s3_control_is_routed_by_an_account_host_on_aws_and_by_header_elsewhere() {
        let recorded = Recorded::answering(200, &[], LIST_JOBS);
        session(&recorded, "ap-southeast-2", None)
            .s3control()
            .list_jobs()
            .account_id("111111111111")
            .send()
            .await
            .unwrap();
        let local = Recorded::answering(200, &[], LIST_JOBS);
        session(&local, "ap-southeast-2", Some("http://127.0.0.1:9"))
            .s3control()
            .list_jobs()
            .account_id("111111111111")
            .send()
            .await
            .unwrap();
        let (aws, local) = (&recorded.requests()[0], &local.requests()[0]);
        assert!(
            aws.0.starts_with(
                "https://111111111111.s3-control.ap-southeast-2.amazonaws.com/v20180820/jobs"
            ),
            "{}",
            aws.0
        );
        assert!(
            local.0.starts_with("http://127.0.0.1:9/v20180820/jobs"),
            "the account stays out of a custom endpoint's host name: {}",
            local.0
        );
        for (uri, headers) in [aws, local] {
            assert!(
                headers
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case("x-amz-account-id") && v == "111111111111"),
                "{uri}: {headers:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_buckets_region_comes_from_head_bucket_also_on_a_redirect() {
        // The bucket's own region answers 200; another region answers 301. Both name it.
        for status in [200, 301] {
            let recorded = Recorded::answering(status, &[("x-amz-bucket-region", "eu-west-1")], "");
            let region = session(&recorded, "us-east-1", None)
                .bucket_region("photos")
                .await
                .unwrap();
            assert_eq!(region.as_deref(), Some("eu-west-1"), "HTTP {status}");
            let (uri, _) = &recorded.requests()[0];
            assert!(
                uri.starts_with("https://photos.s3.us-east-1.amazonaws.com"),
                "HeadBucket on AWS, virtual-hosted: {uri}"
            );
        }
        // An answer without the header (a refusal, a local server): nothing is guessed.
        let recorded = Recorded::answering(403, &[], "");
        let region = session(&recorded, "us-east-1", None)
            .bucket_region("photos")
            .await
            .unwrap();
        assert_eq!(region, None);
    }
}
