//! The one error type every command returns, and its one rendering.
//!
//! Inside a command, failures travel as `anyhow::Error` with context ("listing the
//! source: ..."), their leaves typed where someone branches on them: `AwsError` (which
//! call, on what, AWS's code and message), `SpecError` (every diagnostic of a spec),
//! `AuditError`, and `Problem` (bad input or usage, with a hint). At the edge
//! `Error::from` finds the typed leaf, and `render` / `to_json` show the same facts to a
//! person (one block on stderr: what failed, on which resource, AWS's code and message,
//! one hint) and to a program (`{"error": {...}}` on stdout with `--format json`).
//!
//! Every error means exit 2, "could not run" (see `commands::Status` for the table).

use std::fmt;

use serde::Serialize;
use serde_json::{json, Value};

use crate::audit::AuditError;
use crate::aws::error::{AwsError, AwsErrorKind, CREDENTIALS_HINT};
use crate::spec::SpecError;

/// What kind of failure it was (the `kind` of the JSON error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The command line asks for something that cannot be done.
    Usage,
    /// The spec could not be read or is invalid.
    InvalidSpec,
    /// Other bad input: a plan, a manifest, a glob, a file that cannot be read.
    Input,
    /// No credentials, or credentials AWS refuses.
    Credentials,
    /// AWS refused a request for lack of permission.
    AccessDenied,
    /// A bucket, key, role or job does not exist.
    NotFound,
    /// AWS (or --endpoint-url) could not be reached.
    Unreachable,
    /// The credentials act in another account than the spec names.
    WrongAccount,
    /// AWS answered with another error.
    Aws,
    /// Anything else (a local write failed, the run stopped unexpectedly).
    Failed,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::InvalidSpec => "invalid_spec",
            ErrorKind::Input => "input",
            ErrorKind::Credentials => "credentials",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::WrongAccount => "wrong_account",
            ErrorKind::Aws => "aws",
            ErrorKind::Failed => "failed",
        }
    }
}

impl From<AwsErrorKind> for ErrorKind {
    fn from(kind: AwsErrorKind) -> ErrorKind {
        match kind {
            AwsErrorKind::AccessDenied => ErrorKind::AccessDenied,
            AwsErrorKind::Credentials => ErrorKind::Credentials,
            AwsErrorKind::Unreachable => ErrorKind::Unreachable,
            AwsErrorKind::NotFound => ErrorKind::NotFound,
            AwsErrorKind::Throttled | AwsErrorKind::Service => ErrorKind::Aws,
        }
    }
}

/// A problem that is not AWS's: bad usage or bad input, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    /// The command line asks for something impossible (exit 2).
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Problem {
        Problem {
            kind: ErrorKind::Usage,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// Input that cannot be used (a plan, a manifest, a flag's value).
    pub fn input(message: impl Into<String>, hint: impl Into<String>) -> Problem {
        Problem {
            kind: ErrorKind::Input,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Why a command could not run, ready to be shown.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    error: anyhow::Error,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {}

impl From<anyhow::Error> for Error {
    fn from(error: anyhow::Error) -> Error {
        let kind = error.chain().find_map(kind_of).unwrap_or(ErrorKind::Failed);
        Error { kind, error }
    }
}

impl From<Problem> for Error {
    fn from(problem: Problem) -> Error {
        Error::from(anyhow::Error::new(problem))
    }
}

impl From<SpecError> for Error {
    fn from(error: SpecError) -> Error {
        Error::from(anyhow::Error::new(error))
    }
}

impl From<AwsError> for Error {
    fn from(error: AwsError) -> Error {
        Error::from(anyhow::Error::new(error))
    }
}

/// A listing's failure, alone or inside verify's error (which forwards to it).
fn list_error<'a>(
    link: &'a (dyn std::error::Error + 'static),
) -> Option<&'a crate::transfer::listing::ListError> {
    use crate::transfer::verify::VerifyError;
    match link.downcast_ref::<VerifyError>() {
        Some(VerifyError::List(list)) => Some(list),
        _ => link.downcast_ref(),
    }
}

/// The kind a typed link of a chain decides, if it is one.
fn kind_of(link: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    if let Some(problem) = link.downcast_ref::<Problem>() {
        return Some(problem.kind);
    }
    if link.downcast_ref::<SpecError>().is_some() {
        return Some(ErrorKind::InvalidSpec);
    }
    if let Some(aws) = link.downcast_ref::<AwsError>() {
        return Some(aws.kind().into());
    }
    if let Some(audit) = link.downcast_ref::<AuditError>() {
        return Some(match audit {
            AuditError::AccessDenied { .. } => ErrorKind::AccessDenied,
            AuditError::Unreachable { .. } => ErrorKind::Unreachable,
            AuditError::Credentials { .. } => ErrorKind::Credentials,
            AuditError::WrongAccount { .. } => ErrorKind::WrongAccount,
            AuditError::Failed { .. } => ErrorKind::Aws,
        });
    }
    if let Some(list) = list_error(link) {
        return Some(match &list.cause {
            Some(cause) => cause.kind.into(),
            None => ErrorKind::Input,
        });
    }
    if link
        .downcast_ref::<crate::transfer::keys::KeyPlanError>()
        .is_some()
        || link
            .downcast_ref::<crate::transfer::shard::ShardError>()
            .is_some()
        || link
            .downcast_ref::<crate::transfer::inventory::InventoryError>()
            .is_some()
        || matches!(
            link.downcast_ref::<crate::transfer::verify::VerifyError>(),
            Some(crate::transfer::verify::VerifyError::Inventory(_))
        )
    {
        return Some(ErrorKind::Input);
    }
    None
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The spec's diagnostics, when the spec was the problem.
    fn spec_error(&self) -> Option<&SpecError> {
        self.error
            .chain()
            .find_map(|e| e.downcast_ref::<SpecError>())
    }

    fn aws_error(&self) -> Option<&AwsError> {
        self.error
            .chain()
            .find_map(|e| e.downcast_ref::<AwsError>())
    }

    /// What failed, in one line: the context chain down to the typed cause.
    pub fn message(&self) -> String {
        if let Some(spec) = self.spec_error() {
            return spec.summary();
        }
        let mut parts: Vec<String> = Vec::new();
        for link in self.error.chain() {
            let text = link.to_string();
            if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
                parts.push(text);
            }
            // A typed leaf already says everything below it, in its own words.
            if kind_of(link).is_some() {
                break;
            }
        }
        parts.join(": ")
    }

    /// One thing to do about it.
    pub fn hint(&self) -> Option<String> {
        for link in self.error.chain() {
            if let Some(problem) = link.downcast_ref::<Problem>() {
                return problem.hint.clone();
            }
            if let Some(aws) = link.downcast_ref::<AwsError>() {
                return Some(aws.hint());
            }
            if let Some(audit) = link.downcast_ref::<AuditError>() {
                return Some(audit.hint().to_string());
            }
            if let Some(spec) = link.downcast_ref::<SpecError>() {
                return Some(spec.hint());
            }
            if let Some(list) = list_error(link) {
                return list.cause.as_ref().map(|cause| {
                    AwsError {
                        operation: "ListObjectsV2".into(),
                        resource: list
                            .what
                            .trim_start_matches("ListObjectsV2 on ")
                            .to_string(),
                        cause: cause.clone(),
                        specific_hint: None,
                    }
                    .hint()
                });
            }
        }
        match self.kind {
            ErrorKind::Credentials => Some(CREDENTIALS_HINT.to_string()),
            _ => None,
        }
    }

    /// The block shown on stderr.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(spec) = self.spec_error() {
            for diagnostic in &spec.diagnostics {
                out.push_str(&diagnostic.to_string());
                out.push('\n');
            }
        }
        out.push_str(&format!("error: {}", self.message()));
        if let Some(hint) = self.hint() {
            out.push_str(&format!("\n  help: {hint}"));
        }
        out
    }

    /// The `{"error": {...}}` document printed on stdout with `--format json`.
    pub fn to_json(&self) -> Value {
        let mut error = json!({
            "kind": self.kind.as_str(),
            "message": self.message(),
            "hint": self.hint(),
            "exit_code": crate::commands::Status::CouldNotRun.code(),
        });
        if let Some(aws) = self.aws_error() {
            error["aws"] = json!({
                "operation": aws.operation,
                "resource": aws.resource,
                "code": aws.cause.code,
                "message": aws.cause.message,
                "status": aws.cause.status,
            });
        }
        if let Some(spec) = self.spec_error() {
            error["diagnostics"] = Value::Array(
                spec.diagnostics
                    .iter()
                    .map(crate::spec::Diagnostic::to_json)
                    .collect(),
            );
        }
        json!({ "error": error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::error::Cause;
    use anyhow::Context;

    fn denied() -> AwsError {
        AwsError {
            operation: "ListObjectsV2".into(),
            resource: "s3://src/images/".into(),
            cause: Cause {
                kind: AwsErrorKind::AccessDenied,
                code: Some("AccessDenied".into()),
                message: "Access Denied".into(),
                status: Some(403),
            },
            specific_hint: None,
        }
    }

    #[test]
    fn an_aws_failure_is_one_block_with_code_message_and_hint() {
        let error = Error::from(
            Err::<(), _>(denied())
                .context("listing the source")
                .unwrap_err(),
        );
        assert_eq!(error.kind(), ErrorKind::AccessDenied);
        let text = error.render();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.starts_with(
            "error: listing the source: ListObjectsV2 on s3://src/images/: AccessDenied: Access Denied\n  help: "
        ), "{text}");
        let json = error.to_json();
        assert_eq!(json["error"]["kind"], "access_denied");
        assert_eq!(json["error"]["aws"]["code"], "AccessDenied");
        assert_eq!(json["error"]["exit_code"], 2);
    }

    #[test]
    fn a_usage_problem_keeps_its_hint() {
        let error = Error::from(Problem::usage("one URL", "give two"));
        assert_eq!(error.kind(), ErrorKind::Usage);
        assert_eq!(error.render(), "error: one URL\n  help: give two");
    }
}
