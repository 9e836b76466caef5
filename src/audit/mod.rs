//! Audit: read what is deployed in both accounts and compare it with what the spec
//! implies, explaining every drift.
//!
//! Desired state comes only from `model::build(&spec)`, the same value the Terraform is
//! generated from, so generate and audit cannot disagree. The flow is one way:
//!
//! ```text
//! Desired ──▶ reads::targets (per side) ──▶ live::read (both sides at once, every call
//!     │                                        of a side at once) ──▶ Live
//!     └──────────────────────────────▶ checks (Desired vs Live) ──▶ Report (findings)
//! ```
//!
//! `reads` lists every call with the IAM action it needs (the auditor policy is built
//! from it); `checks` holds one module per group of properties; `output` renders a
//! report as text, JSON, SARIF or JUnit. Audit never writes to AWS.

mod checks;
pub mod live;
pub mod output;
pub mod reads;

use std::time::Duration;

use serde::Serialize;

use crate::aws::Session;
use crate::model::Desired;
use crate::spec::Side;

/// How much a finding matters; `--fail-on` compares against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// What a check looks at. The strings are the issue's vocabulary, used verbatim in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    Bucket,
    Versioning,
    Encryption,
    KmsKey,
    KmsRotation,
    KeyPolicy,
    BucketPolicy,
    PublicAccessBlock,
    Ownership,
    RoleTrust,
    RolePolicy,
    Replication,
    Monitoring,
}

impl Property {
    pub const ALL: [Property; 13] = [
        Property::Bucket,
        Property::Versioning,
        Property::Encryption,
        Property::KmsKey,
        Property::KmsRotation,
        Property::KeyPolicy,
        Property::BucketPolicy,
        Property::PublicAccessBlock,
        Property::Ownership,
        Property::RoleTrust,
        Property::RolePolicy,
        Property::Replication,
        Property::Monitoring,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Property::Bucket => "bucket",
            Property::Versioning => "versioning",
            Property::Encryption => "encryption",
            Property::KmsKey => "kms_key",
            Property::KmsRotation => "kms_rotation",
            Property::KeyPolicy => "key_policy",
            Property::BucketPolicy => "bucket_policy",
            Property::PublicAccessBlock => "public_access_block",
            Property::Ownership => "ownership",
            Property::RoleTrust => "role_trust",
            Property::RolePolicy => "role_policy",
            Property::Replication => "replication",
            Property::Monitoring => "monitoring",
        }
    }

    /// What the check requires, in one line (SARIF rule descriptions, docs).
    pub fn summary(self) -> &'static str {
        match self {
            Property::Bucket => "Both buckets exist, in the spec's accounts.",
            Property::Versioning => "Versioning is Enabled on both buckets.",
            Property::Encryption => {
                "Default encryption is SSE-KMS with exactly the spec's key (by key ARN), with S3 Bucket Keys on."
            }
            Property::KmsKey => "Each bucket's key exists, is enabled and is customer-managed.",
            Property::KmsRotation => "Keys s3bridge creates rotate automatically.",
            Property::KeyPolicy => {
                "Key policies name only the principals the spec implies; administrators cannot use the key; no kms:*; no unconditioned wildcard principal."
            }
            Property::BucketPolicy => {
                "Bucket policies deny plain HTTP and other keys, and grant only the expected roles the expected actions."
            }
            Property::PublicAccessBlock => "All four S3 Block Public Access settings are on.",
            Property::Ownership => "Object Ownership is BucketOwnerEnforced (ACLs disabled).",
            Property::RoleTrust => "Each role is trusted by exactly the expected principals, with the expected conditions.",
            Property::RolePolicy => {
                "Each role's effective permissions (inline and attached) equal the spec's, compared by meaning."
            }
            Property::Replication => {
                "The replication configuration, every rule, existing-object replication and recent objects' replication status are as the spec says."
            }
            Property::Monitoring => {
                "With `monitoring:`, every rule's alarms exist and notify the topic, and the source bucket sends its replication events there."
            }
        }
    }

    /// Why a drift in it matters (docs/audit.md says more).
    pub fn why(self) -> &'static str {
        match self {
            Property::Bucket => "Without the bucket there is nothing to replicate into or from; every other check of it is moot.",
            Property::Versioning => "Replication needs versioning on both buckets, and versions are the only protection against overwrites and deletes.",
            Property::Encryption => "A customer-managed key keeps anyone with only s3:* from reading the data; another key or an alias breaks cross-account replication.",
            Property::KmsKey => "A missing or disabled key makes every object encrypted with it unreadable; an AWS managed key cannot be shared with the other account.",
            Property::KmsRotation => "Rotation limits what one leaked key version exposes.",
            Property::KeyPolicy => "The key policy is the last gate in front of the data: a new principal there can decrypt everything.",
            Property::BucketPolicy => "The bucket policy enforces TLS and the key, and is how the other account is let in.",
            Property::PublicAccessBlock => "Without it one policy or ACL change can make the data public.",
            Property::Ownership => "With ACLs enabled, objects can belong to the writer instead of the bucket owner.",
            Property::RoleTrust => "Whoever a role trusts gets its permissions.",
            Property::RolePolicy => "Extra permissions are privilege creep; missing ones break replication or the copy.",
            Property::Replication => "A changed rule silently stops, narrows or redirects replication.",
            Property::Monitoring => "Without its alarms and events, replication can stay broken for months before anyone notices.",
        }
    }
}

impl std::fmt::Display for Property {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One drift, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable across runs: `property/check/resource-name`.
    pub id: String,
    pub severity: Severity,
    pub property: Property,
    /// The ARN of the resource that drifted.
    pub resource: String,
    pub expected: String,
    pub actual: String,
    pub message: String,
    pub remediation: String,
    /// Unified diff of the canonical expected and actual documents (policy findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The spec field the expectation comes from (SARIF points there).
    #[serde(skip)]
    pub spec_field: String,
}

/// One property checked on one resource (a JUnit test case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub property: Property,
    pub resource: String,
    pub spec_field: String,
}

/// How the AWS calls of an audit went: with every independent call in flight at once,
/// `elapsed` stays near the longest chain of dependent calls, far below `total`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    pub count: usize,
    /// Sum of every call's duration (what one call after another would take).
    pub total: Duration,
    pub slowest: Duration,
    pub slowest_operation: String,
}

impl CallStats {
    fn of(calls: &[(&'static str, Duration)]) -> CallStats {
        let slowest = calls.iter().max_by_key(|(_, d)| *d);
        CallStats {
            count: calls.len(),
            total: calls.iter().map(|(_, d)| *d).sum(),
            slowest: slowest.map(|(_, d)| *d).unwrap_or_default(),
            slowest_operation: slowest.map(|(o, _)| o.to_string()).unwrap_or_default(),
        }
    }
}

/// Everything an audit found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The spec's `name`.
    pub name: String,
    pub checks: Vec<Check>,
    pub findings: Vec<Finding>,
    pub elapsed: Duration,
    pub calls: CallStats,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Whether any finding is at or above `threshold`.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }

    pub fn findings_for<'a>(&'a self, check: &'a Check) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings
            .iter()
            .filter(move |f| f.property == check.property && f.resource == check.resource)
    }
}

/// Why an audit could not be made (exit 2). Each names what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("{action} denied on {resource} (the {side} account, {account}): audit needs it to read {operation}")]
    AccessDenied {
        action: String,
        operation: String,
        resource: String,
        side: Side,
        account: String,
    },
    #[error("cannot reach AWS for the {side} account{}: {detail}", endpoint.as_ref().map(|e| format!(" at {e}")).unwrap_or_default())]
    Unreachable {
        side: Side,
        endpoint: Option<String>,
        detail: String,
    },
    #[error("no usable credentials for the {side} account: {detail}")]
    Credentials { side: Side, detail: String },
    #[error("the {side} credentials act in account {actual}, but the spec puts the {side} bucket in account {expected}")]
    WrongAccount {
        side: Side,
        expected: String,
        actual: String,
    },
    #[error("{operation} on {resource} failed: {detail}")]
    Failed {
        operation: String,
        resource: String,
        detail: String,
    },
}

impl AuditError {
    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            AuditError::AccessDenied { action, .. } if action.starts_with("kms:") => {
                "KMS checks the key policy as well as IAM: a key s3bridge creates lets only the principals its policy names read it (its administrators include the spec's terraform_role, which audit assumes when no profile is given); an IAM grant alone is not enough"
            }
            AuditError::AccessDenied { .. } => {
                "grant the read-only policy that `s3bridge policies SPEC --auditor` prints, or audit with --source-profile/--destination-profile of a principal that has it"
            }
            AuditError::Unreachable { .. } => {
                "check the network, the region, and --endpoint-url if you gave one"
            }
            AuditError::Credentials { .. } => {
                "set AWS credentials (environment, ~/.aws, SSO) or pass --source-profile/--destination-profile; the spec's terraform_role is assumed when no profile is given"
            }
            AuditError::WrongAccount { .. } => {
                "pass the profile of the right account (--source-profile/--destination-profile)"
            }
            AuditError::Failed { .. } => "retry; if it persists, run with the AWS SDK's logs (RUST_LOG=aws_smithy_runtime=debug)",
        }
    }
}

/// The sessions of both sides.
pub struct Sessions {
    pub source: Session,
    pub destination: Session,
}

impl Sessions {
    pub fn side(&self, side: Side) -> &Session {
        match side {
            Side::Source => &self.source,
            Side::Destination => &self.destination,
        }
    }
}

/// Reads both accounts and compares them with `desired`.
pub async fn run(
    desired: &Desired,
    sessions: &Sessions,
    scope: reads::Scope,
) -> Result<Report, AuditError> {
    let started = std::time::Instant::now();
    let live = live::read(desired, sessions, scope).await?;
    let (checks, mut findings) = checks::run(desired, &live);
    findings.sort_by(|a, b| {
        (
            &a.resource,
            a.property,
            std::cmp::Reverse(a.severity),
            &a.id,
        )
            .cmp(&(
                &b.resource,
                b.property,
                std::cmp::Reverse(b.severity),
                &b.id,
            ))
    });
    Ok(Report {
        name: desired.name.clone(),
        checks,
        findings,
        elapsed: started.elapsed(),
        calls: CallStats::of(&live.calls),
    })
}
