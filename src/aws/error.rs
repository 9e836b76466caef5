//! AWS failures in a few words: the error code and message AWS answered, or why no
//! answer came (connection refused, a timeout, no credentials) — never the SDK's debug
//! dump of the response. Every command's error block, the copy report's `error` field and
//! verify's report use these renderings, so one failure reads the same everywhere.
//!
//! `Cause::of` reads any SDK error; `AwsError` adds which call on which resource failed
//! and one hint, and is what commands return (`crate::error::Error` renders it).

use std::error::Error as StdError;
use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::{ErrorMetadata, ProvideErrorMetadata};
use serde::Serialize;

/// What kind of failure, for the exit-code table's "could not run" and for hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AwsErrorKind {
    /// AWS refused the request for lack of permission.
    AccessDenied,
    /// No credentials, or credentials AWS does not accept (expired, unknown, bad signature).
    Credentials,
    /// No answer: connection refused, host not found, timeout.
    Unreachable,
    /// The bucket, key, role or job does not exist.
    NotFound,
    /// AWS asked to slow down.
    Throttled,
    /// Any other answer.
    Service,
}

/// Error codes that mean "not allowed".
pub const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AllAccessDisabled",
];

/// Error codes that mean the credentials themselves are wrong.
pub const CREDENTIAL_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidToken",
    "UnrecognizedClientException",
    "IncompleteSignature",
];

const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "NoSuchEntity",
    "NotFoundException",
    "NoSuchJob",
];

const THROTTLING_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];

/// What AWS answered, or why there was no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub kind: AwsErrorKind,
    /// AWS's error code (`AccessDenied`, `NoSuchBucket`), when AWS answered with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// AWS's message, or the transport's problem in words.
    pub message: String,
    /// The HTTP status of AWS's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.message.is_empty()) {
            (Some(code), false) => write!(f, "{code}: {}", self.message),
            (Some(code), true) => f.write_str(code),
            (None, false) => f.write_str(&self.message),
            (None, true) => match self.status {
                Some(status) => write!(f, "HTTP {status} without an error code"),
                None => f.write_str("unknown failure"),
            },
        }
    }
}

fn kind_of_code(code: &str, status: Option<u16>) -> AwsErrorKind {
    if DENIED_CODES.contains(&code) || (code.is_empty() && status == Some(403)) {
        AwsErrorKind::AccessDenied
    } else if CREDENTIAL_CODES.contains(&code) {
        AwsErrorKind::Credentials
    } else if NOT_FOUND_CODES.contains(&code) || (code.is_empty() && status == Some(404)) {
        AwsErrorKind::NotFound
    } else if THROTTLING_CODES.contains(&code) || status == Some(503) || status == Some(429) {
        AwsErrorKind::Throttled
    } else {
        AwsErrorKind::Service
    }
}

impl Cause {
    /// Reads an SDK error: AWS's code, message and status for an answer; for no answer,
    /// the transport's reason in words (credentials, connection, timeout).
    pub fn of<E>(error: &SdkError<E, HttpResponse>) -> Cause
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let status = error.raw_response().map(|r| r.status().as_u16());
        match error {
            SdkError::ServiceError(_) => {
                let code = error.code().map(str::to_string);
                let message = error.message().unwrap_or_default().to_string();
                Cause {
                    kind: kind_of_code(code.as_deref().unwrap_or_default(), status),
                    code,
                    message,
                    status,
                }
            }
            SdkError::TimeoutError(_) => Cause {
                kind: AwsErrorKind::Unreachable,
                code: None,
                message: "no answer in time (timeout)".into(),
                status,
            },
            _ => Cause::of_chain(error),
        }
    }

    /// Reads any error chain (an SDK error that got no answer, a credentials provider's
    /// error, an `anyhow` chain around them).
    pub fn of_chain(error: &(dyn StdError + 'static)) -> Cause {
        // AWS's own words, when an answer is somewhere in the chain (an unhandled error
        // keeps them in its ErrorMetadata; AssumeRole inside a credentials provider).
        let mut current = Some(error);
        let mut credentials = false;
        while let Some(e) = current {
            if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
                .is_some()
            {
                credentials = true;
            }
            if let Some(meta) = e.downcast_ref::<ErrorMetadata>() {
                if let Some(code) = meta.code() {
                    let kind = match kind_of_code(code, None) {
                        // A refusal while assuming a role is a credentials problem for the
                        // caller: it cannot act as the role.
                        AwsErrorKind::AccessDenied if credentials => AwsErrorKind::Credentials,
                        kind => kind,
                    };
                    return Cause {
                        kind,
                        code: Some(code.to_string()),
                        message: meta.message().unwrap_or_default().to_string(),
                        status: None,
                    };
                }
            }
            current = e.source();
        }
        let text = brief(error);
        let kind = if let Some(problem) = connection_problem(error) {
            return Cause {
                kind: AwsErrorKind::Unreachable,
                code: None,
                message: problem,
                status: None,
            };
        } else if credentials || is_credentials_text(&text) {
            AwsErrorKind::Credentials
        } else {
            AwsErrorKind::Service
        };
        Cause {
            kind,
            code: None,
            message: text,
            status: None,
        }
    }
}

/// Links of an error chain that only say which layer failed, not why.
const WRAPPERS: &[&str] = &[
    "service error",
    "dispatch failure",
    "io error",
    "other",
    "timeout",
    "response error",
    "failed to construct request",
    "unhandled error",
];

/// The chain of an error in one line: each link's own words once, layer names
/// ("dispatch failure", "io error") and Debug dumps left out.
pub fn brief(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        let trimmed = text.trim();
        let wrapper = WRAPPERS.contains(&trimmed) || trimmed.starts_with("unhandled error (");
        if !trimmed.is_empty() && !wrapper && !parts.iter().any(|p| p.contains(trimmed)) {
            parts.push(trimmed.to_string());
        }
        current = e.source();
    }
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join(": ")
    }
}

/// Why no connection could be made, when that is what the chain says.
pub fn connection_problem(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            let words = match io.kind() {
                ConnectionRefused => Some("connection refused"),
                ConnectionReset | ConnectionAborted => Some("connection reset"),
                TimedOut => Some("connection timed out"),
                NotFound if io.to_string().contains("lookup") => Some("host name not found"),
                _ => None,
            };
            if let Some(words) = words {
                return Some(words.to_string());
            }
        }
        current = e.source();
    }
    let lower = brief(error).to_ascii_lowercase();
    [
        ("connection refused", "connection refused"),
        ("dns error", "host name not found"),
        ("failed to lookup address", "host name not found"),
        ("tcp connect error", "cannot connect"),
        ("connection reset", "connection reset"),
        ("timed out", "connection timed out"),
    ]
    .iter()
    .find(|(needle, _)| lower.contains(needle))
    .map(|(_, words)| words.to_string())
}

/// Whether the words say the caller's identity could not be resolved.
pub fn is_credentials_text(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("credential") || lower.contains("assume role") || lower.contains("assumerole")
}

/// The `operation` of a failure to connect at all, before any call.
const CONNECT: &str = "connect";

/// An AWS call that failed: which call, on what, what AWS said, and what to do.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
pub struct AwsError {
    /// The API operation, e.g. `ListObjectsV2`, or `connect` before any call.
    pub operation: String,
    /// What it was about: `s3://bucket/prefix`, an ARN, an endpoint.
    pub resource: String,
    pub cause: Cause,
    /// A hint for this call in particular; `hint()` falls back to one per kind.
    #[serde(skip)]
    pub specific_hint: Option<String>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operation == CONNECT {
            write!(f, "cannot connect to {}: {}", self.resource, self.cause)
        } else {
            write!(f, "{} on {}: {}", self.operation, self.resource, self.cause)
        }
    }
}

impl AwsError {
    pub fn new<E>(
        operation: &str,
        resource: impl fmt::Display,
        error: &SdkError<E, HttpResponse>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        AwsError {
            operation: operation.to_string(),
            resource: resource.to_string(),
            cause: Cause::of(error),
            specific_hint: None,
        }
    }

    /// An endpoint that cannot be reached at all (before any call is made).
    pub fn unreachable(endpoint: &str, problem: String) -> AwsError {
        AwsError {
            operation: CONNECT.into(),
            resource: endpoint.to_string(),
            cause: Cause {
                kind: AwsErrorKind::Unreachable,
                code: None,
                message: problem,
                status: None,
            },
            specific_hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> AwsError {
        self.specific_hint = Some(hint.into());
        self
    }

    pub fn kind(&self) -> AwsErrorKind {
        self.cause.kind
    }

    /// One thing to do about it.
    pub fn hint(&self) -> String {
        if let Some(hint) = &self.specific_hint {
            return hint.clone();
        }
        match self.cause.kind {
            AwsErrorKind::AccessDenied => format!(
                "the credentials in use are not allowed {} on {}: check the IAM policy of the \
                 principal (and the bucket or key policy), or use --profile/--source-profile/\
                 --destination-profile of a principal that is",
                self.operation, self.resource
            ),
            AwsErrorKind::Credentials => CREDENTIALS_HINT.to_string(),
            AwsErrorKind::Unreachable => {
                "check --endpoint-url (or AWS_ENDPOINT_URL), --region and the network".to_string()
            }
            AwsErrorKind::NotFound => {
                "check the name, the account the credentials act in, and --region".to_string()
            }
            AwsErrorKind::Throttled => {
                "AWS asked to slow down: run again later or with a lower --concurrency".to_string()
            }
            AwsErrorKind::Service => {
                "run again; if it persists, RUST_LOG=aws_smithy_runtime=debug shows every request"
                    .to_string()
            }
        }
    }
}

/// What to do about missing or refused credentials, everywhere.
pub const CREDENTIALS_HINT: &str = "set AWS credentials (environment variables, ~/.aws/config, \
     `aws sso login`) or pass --profile (--source-profile/--destination-profile per side)";

/// `.aws("ListObjectsV2", "s3://bucket/prefix")?` on an SDK result.
pub trait AwsResultExt<T> {
    fn aws(self, operation: &str, resource: impl fmt::Display) -> anyhow::Result<T>;

    /// The same, with a hint of this call's own for when it fails.
    fn aws_hinted(
        self,
        operation: &str,
        resource: impl fmt::Display,
        hint: &str,
    ) -> anyhow::Result<T>;
}

impl<T, E> AwsResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    fn aws(self, operation: &str, resource: impl fmt::Display) -> anyhow::Result<T> {
        self.map_err(|e| AwsError::new(operation, resource, &e).into())
    }

    fn aws_hinted(
        self,
        operation: &str,
        resource: impl fmt::Display,
        hint: &str,
    ) -> anyhow::Result<T> {
        self.map_err(|e| {
            AwsError::new(operation, resource, &e)
                .with_hint(hint)
                .into()
        })
    }
}

/// The one-line rendering of an SDK error, for reports (`AccessDenied: Access Denied`).
pub fn describe<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    Cause::of(error).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Link(&'static str, Option<Box<dyn StdError + 'static>>);
    impl fmt::Display for Link {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StdError for Link {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref()
        }
    }

    #[test]
    fn a_refused_connection_is_named_without_the_layers() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused (os 111)");
        let chain = Link(
            "dispatch failure",
            Some(Box::new(Link("io error", Some(Box::new(io))))),
        );
        let cause = Cause::of_chain(&chain);
        assert_eq!(cause.kind, AwsErrorKind::Unreachable);
        assert_eq!(cause.message, "connection refused");
        assert_eq!(brief(&chain), "refused (os 111)");
    }

    #[test]
    fn aws_words_are_found_in_an_unhandled_error() {
        let meta = ErrorMetadata::builder()
            .code("AccessDenied")
            .message("User x is not authorized to perform: sts:AssumeRole")
            .build();
        let chain = Link(
            "an error occurred while loading credentials",
            Some(Box::new(meta)),
        );
        let cause = Cause::of_chain(&chain);
        assert_eq!(cause.code.as_deref(), Some("AccessDenied"));
        assert_eq!(
            cause.to_string(),
            "AccessDenied: User x is not authorized to perform: sts:AssumeRole"
        );
    }

    #[test]
    fn codes_decide_the_kind() {
        assert_eq!(
            kind_of_code("AccessDenied", None),
            AwsErrorKind::AccessDenied
        );
        assert_eq!(kind_of_code("", Some(403)), AwsErrorKind::AccessDenied);
        assert_eq!(
            kind_of_code("ExpiredToken", None),
            AwsErrorKind::Credentials
        );
        assert_eq!(kind_of_code("NoSuchBucket", None), AwsErrorKind::NotFound);
        assert_eq!(kind_of_code("SlowDown", Some(503)), AwsErrorKind::Throttled);
        assert_eq!(
            kind_of_code("InternalError", Some(500)),
            AwsErrorKind::Service
        );
    }
}
