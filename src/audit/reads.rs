//! Every AWS call audit makes, with the IAM action it needs — written once.
//!
//! `live` makes its calls through these entries (so a refusal names the action that was
//! missing), and `auditor_policies` builds the least-privilege read-only policy that
//! `s3bridge policies SPEC --auditor` prints from the same entries and the same targets
//! (`Targets`), so the policy always covers exactly what audit reads.

use crate::model::{Desired, RolePurpose};
use crate::policy::{Document, Statement, Term};
use crate::spec::Side;

/// What a read is made on; decides the resource of its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    Bucket,
    Objects,
    Key,
    Role,
    ManagedPolicy,
    /// S3 Batch Operations jobs of the account (ListJobs has no resource).
    AllJobs,
    Job,
    /// The bundle's CloudWatch alarms (by name prefix).
    Alarms,
}

/// One AWS API call audit makes.
#[derive(Debug, PartialEq, Eq)]
pub struct Read {
    /// The IAM action that authorises it.
    pub action: &'static str,
    /// The API operation, as AWS names it.
    pub operation: &'static str,
    pub on: On,
    /// Error codes that mean "not configured" rather than failure.
    pub absent: &'static [&'static str],
}

macro_rules! read {
    ($name:ident, $action:literal, $operation:literal, $on:ident, [$($absent:literal),*]) => {
        pub const $name: Read = Read {
            action: $action,
            operation: $operation,
            on: On::$on,
            absent: &[$($absent),*],
        };
    };
}

read!(
    GET_BUCKET_VERSIONING,
    "s3:GetBucketVersioning",
    "GetBucketVersioning",
    Bucket,
    []
);
read!(
    GET_BUCKET_ENCRYPTION,
    "s3:GetEncryptionConfiguration",
    "GetBucketEncryption",
    Bucket,
    ["ServerSideEncryptionConfigurationNotFoundError"]
);
read!(
    GET_PUBLIC_ACCESS_BLOCK,
    "s3:GetBucketPublicAccessBlock",
    "GetPublicAccessBlock",
    Bucket,
    ["NoSuchPublicAccessBlockConfiguration"]
);
read!(
    GET_BUCKET_OWNERSHIP_CONTROLS,
    "s3:GetBucketOwnershipControls",
    "GetBucketOwnershipControls",
    Bucket,
    ["OwnershipControlsNotFoundError"]
);
read!(
    GET_BUCKET_POLICY,
    "s3:GetBucketPolicy",
    "GetBucketPolicy",
    Bucket,
    ["NoSuchBucketPolicy"]
);
read!(
    GET_BUCKET_REPLICATION,
    "s3:GetReplicationConfiguration",
    "GetBucketReplication",
    Bucket,
    ["ReplicationConfigurationNotFoundError"]
);
read!(LIST_OBJECTS, "s3:ListBucket", "ListObjectsV2", Bucket, []);
// HEAD needs s3:GetObject, but no kms:Decrypt: the auditor sees the headers (replication
// status) of SSE-KMS objects, never their content.
read!(
    HEAD_OBJECT,
    "s3:GetObject",
    "HeadObject",
    Objects,
    ["NotFound", "NoSuchKey"]
);
read!(
    DESCRIBE_KEY,
    "kms:DescribeKey",
    "DescribeKey",
    Key,
    ["NotFoundException"]
);
read!(
    GET_KEY_ROTATION_STATUS,
    "kms:GetKeyRotationStatus",
    "GetKeyRotationStatus",
    Key,
    []
);
read!(GET_KEY_POLICY, "kms:GetKeyPolicy", "GetKeyPolicy", Key, []);
read!(GET_ROLE, "iam:GetRole", "GetRole", Role, ["NoSuchEntity"]);
read!(
    LIST_ROLE_POLICIES,
    "iam:ListRolePolicies",
    "ListRolePolicies",
    Role,
    []
);
read!(
    GET_ROLE_POLICY,
    "iam:GetRolePolicy",
    "GetRolePolicy",
    Role,
    ["NoSuchEntity"]
);
read!(
    LIST_ATTACHED_ROLE_POLICIES,
    "iam:ListAttachedRolePolicies",
    "ListAttachedRolePolicies",
    Role,
    []
);
read!(
    GET_POLICY,
    "iam:GetPolicy",
    "GetPolicy",
    ManagedPolicy,
    ["NoSuchEntity"]
);
read!(
    GET_POLICY_VERSION,
    "iam:GetPolicyVersion",
    "GetPolicyVersion",
    ManagedPolicy,
    ["NoSuchEntity"]
);
read!(LIST_JOBS, "s3:ListJobs", "ListJobs", AllJobs, []);
read!(
    DESCRIBE_JOB,
    "s3:DescribeJob",
    "DescribeJob",
    Job,
    ["NotFoundException"]
);

read!(
    GET_BUCKET_NOTIFICATION,
    "s3:GetBucketNotification",
    "GetBucketNotificationConfiguration",
    Bucket,
    []
);
read!(
    DESCRIBE_ALARMS,
    "cloudwatch:DescribeAlarms",
    "DescribeAlarms",
    Alarms,
    []
);

/// With `monitoring:` in the spec, on the source: where its replication events go and
/// the alarms on its rules.
pub const MONITORING: &[&Read] = &[&GET_BUCKET_NOTIFICATION, &DESCRIBE_ALARMS];

/// Bucket settings, read on every bucket.
pub const BUCKET: &[&Read] = &[
    &GET_BUCKET_VERSIONING,
    &GET_BUCKET_ENCRYPTION,
    &GET_PUBLIC_ACCESS_BLOCK,
    &GET_BUCKET_OWNERSHIP_CONTROLS,
    &GET_BUCKET_POLICY,
];
/// On a bucket that replicates: its configuration.
/// The listing (keys, sizes, times: no content) tells whether the rules cover any object
/// at all, so a bucket that holds none needs no Batch Replication job.
pub const REPLICATING_BUCKET: &[&Read] = &[&GET_BUCKET_REPLICATION, &LIST_OBJECTS];
/// With `audit --object-status`, on a bucket that replicates: the replication status of
/// its most recent objects. HEAD needs s3:GetObject, which also lets the auditor download
/// any object whose key it may use (or that is not KMS-encrypted), so these reads are an
/// explicit option with their own statements, never part of the default auditor policy.
pub const OBJECT_STATUS: &[&Read] = &[&HEAD_OBJECT];

/// What an audit reads beyond bucket, key and role settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope {
    /// Sample recent objects' replication status (`audit --object-status`).
    pub object_status: bool,
}
/// On every key a bucket encrypts with.
pub const KEY: &[&Read] = &[&DESCRIBE_KEY, &GET_KEY_ROTATION_STATUS];
/// On keys s3bridge creates (whose policy the spec decides).
pub const CREATED_KEY: &[&Read] = &[&GET_KEY_POLICY];
/// On every role: trust, inline and attached policies, attached policies' documents.
pub const ROLE: &[&Read] = &[
    &GET_ROLE,
    &LIST_ROLE_POLICIES,
    &GET_ROLE_POLICY,
    &LIST_ATTACHED_ROLE_POLICIES,
];
pub const MANAGED_POLICY: &[&Read] = &[&GET_POLICY, &GET_POLICY_VERSION];
/// When existing objects are replicated by S3 Batch Replication.
pub const JOBS: &[&Read] = &[&LIST_JOBS, &DESCRIBE_JOB];

/// A KMS key audit reads: by alias when s3bridge creates it (its id is only known
/// live), by ARN when the spec names an existing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTarget {
    /// `alias/NAME` or the key ARN; what DescribeKey is called with.
    pub id: String,
    pub created: bool,
    /// The model's reference module (`source_key`) for created keys.
    pub module: Option<String>,
}

/// Everything audit reads in one side's account.
#[derive(Debug, Clone)]
pub struct Targets {
    pub side: Side,
    pub account: String,
    pub region: String,
    pub partition: &'static str,
    pub bucket: String,
    pub bucket_arn: String,
    /// The bucket is the source of a replication.
    pub replicates: bool,
    /// Sample its recent objects' replication status (a replicating bucket, with
    /// `Scope::object_status`).
    pub object_status: bool,
    /// The key prefixes its replication rules cover ("" for every object).
    pub rule_prefixes: Vec<String>,
    pub key: KeyTarget,
    pub roles: Vec<(RolePurpose, String, String)>,
    /// Look for an S3 Batch Replication job.
    pub jobs: bool,
    /// Read the monitoring (`monitoring:`): the bucket's notification configuration and
    /// the alarms whose names start with this prefix.
    pub alarm_prefix: Option<String>,
}

pub fn targets(desired: &Desired, side: Side, scope: Scope) -> Targets {
    let replicates = desired.replications.iter().any(|r| r.from == side);
    let bucket = desired.bucket(side);
    let key = match (&bucket.key, desired.key(side)) {
        (Term::Ref(reference), Some(created)) => KeyTarget {
            id: created.alias.clone(),
            created: true,
            module: Some(reference.module.clone()),
        },
        (term, _) => KeyTarget {
            id: term.as_str().to_string(),
            created: false,
            module: None,
        },
    };
    Targets {
        side,
        account: bucket.account.clone(),
        region: bucket.region.clone(),
        partition: bucket.partition,
        bucket: bucket.name.clone(),
        bucket_arn: bucket.arn.clone(),
        replicates,
        object_status: replicates && scope.object_status,
        rule_prefixes: desired
            .replications
            .iter()
            .filter(|r| r.from == side)
            .flat_map(|r| r.rules.iter().map(|rule| rule.prefix.clone()))
            .collect(),
        key,
        roles: desired
            .roles
            .iter()
            .filter(|r| r.side == side)
            .map(|r| (r.purpose, r.name.clone(), r.arn.clone()))
            .collect(),
        jobs: side == Side::Source && desired.batch.is_some(),
        alarm_prefix: (side == Side::Source && desired.monitoring.is_some())
            .then(|| crate::model::monitoring::alarm_prefix(&desired.name)),
    }
}

fn actions(reads: &[&Read]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = reads.iter().map(|r| r.action).collect();
    out.sort();
    out.dedup();
    out
}

/// The read-only policy audit needs in one account, from that account's targets (both
/// sides' when they share an account).
pub fn auditor_policy(targets: &[&Targets]) -> Document {
    let mut statements = Vec::new();
    for t in targets {
        let side = match t.side {
            Side::Source => "Source",
            Side::Destination => "Destination",
        };
        let mut bucket_reads: Vec<&Read> = BUCKET.to_vec();
        if t.replicates {
            bucket_reads.extend(REPLICATING_BUCKET);
        }
        if t.alarm_prefix.is_some() {
            bucket_reads.extend(MONITORING.iter().filter(|r| r.on == On::Bucket));
        }
        statements.push(
            Statement::allow(&format!("Read{side}BucketSettings"))
                .actions(&actions(&bucket_reads))
                .resources([t.bucket_arn.clone()]),
        );
        if t.object_status {
            let object_reads: Vec<&Read> = OBJECT_STATUS
                .iter()
                .copied()
                .filter(|r| r.on == On::Objects)
                .collect();
            statements.push(
                Statement::allow(&format!("Read{side}ObjectStatusCanDownload"))
                    .actions(&actions(&object_reads))
                    .resources([format!("{}/*", t.bucket_arn)]),
            );
        }
        let mut key_reads: Vec<&Read> = KEY.to_vec();
        if t.key.created {
            key_reads.extend(CREATED_KEY);
        }
        let key_statement =
            Statement::allow(&format!("Read{side}Key")).actions(&actions(&key_reads));
        statements.push(if t.key.created {
            // The key's id is only known once it exists: any key of the account that
            // carries the spec's alias.
            key_statement
                .resources([format!(
                    "arn:{}:kms:{}:{}:key/*",
                    t.partition, t.region, t.account
                )])
                .condition(
                    "ForAnyValue:StringEquals",
                    "kms:ResourceAliases",
                    vec![t.key.id.clone().into()],
                )
        } else {
            key_statement.resources([t.key.id.clone()])
        });
        if !t.roles.is_empty() {
            statements.push(
                Statement::allow(&format!("Read{side}Roles"))
                    .actions(&actions(ROLE))
                    .resources(t.roles.iter().map(|(_, _, arn)| arn.clone())),
            );
            statements.push(
                Statement::allow(&format!("Read{side}AttachedPolicies"))
                    .actions(&actions(MANAGED_POLICY))
                    .resources([
                        format!("arn:{}:iam::{}:policy/*", t.partition, t.account),
                        format!("arn:{}:iam::aws:policy/*", t.partition),
                    ]),
            );
        }
        if let Some(prefix) = &t.alarm_prefix {
            statements.push(
                Statement::allow(&format!("Read{side}Alarms"))
                    .actions(&actions(
                        &MONITORING
                            .iter()
                            .copied()
                            .filter(|r| r.on == On::Alarms)
                            .collect::<Vec<_>>(),
                    ))
                    .resources([alarm_pattern(t, prefix)]),
            );
        }
        if t.jobs {
            for read in JOBS {
                let resource = match read.on {
                    On::Job => format!("arn:{}:s3:{}:{}:job/*", t.partition, t.region, t.account),
                    _ => "*".to_string(),
                };
                statements.push(
                    Statement::allow(&format!("{side}{}", read.operation))
                        .actions(&[read.action])
                        .resources([resource]),
                );
            }
        }
    }
    Document::new(statements)
}

/// The ARNs of the bundle's alarms in the target's account and Region.
pub fn alarm_pattern(t: &Targets, prefix: &str) -> String {
    format!(
        "arn:{}:cloudwatch:{}:{}:alarm:{prefix}*",
        t.partition, t.region, t.account
    )
}

/// The auditor policy of each account the spec touches, in side order.
pub fn auditor_policies(desired: &Desired, scope: Scope) -> Vec<(String, Document)> {
    let all = [
        targets(desired, Side::Source, scope),
        targets(desired, Side::Destination, scope),
    ];
    let mut accounts: Vec<&str> = all.iter().map(|t| t.account.as_str()).collect();
    accounts.dedup();
    accounts
        .into_iter()
        .map(|account| {
            let mine: Vec<&Targets> = all.iter().filter(|t| t.account == account).collect();
            (account.to_string(), auditor_policy(&mine))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::catalog::catalog;

    #[test]
    fn every_read_is_a_real_read_only_action() {
        for read in BUCKET
            .iter()
            .chain(REPLICATING_BUCKET)
            .chain(OBJECT_STATUS)
            .chain(KEY)
            .chain(CREATED_KEY)
            .chain(ROLE)
            .chain(MANAGED_POLICY)
            .chain(JOBS)
            .chain(MONITORING)
        {
            let action = catalog()
                .get(read.action)
                .unwrap_or_else(|| panic!("{} is not an IAM action", read.action));
            assert!(
                matches!(action.access_level, "Read" | "List"),
                "{} is {}",
                read.action,
                action.access_level
            );
        }
    }
}
