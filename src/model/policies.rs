//! The policy documents of the bundle, built from the action lists in
//! `policy::actions`.
//!
//! Roles' identity policies are written first; key policies and the cross-account
//! grants in bucket policies are then *derived* from them (a role that may decrypt with
//! a key is named in that key's policy with the same actions and conditions; a role
//! from another account that writes to a bucket is granted the same actions in that
//! bucket's policy). AWS requires both halves for cross-account access, and deriving
//! one from the other means they cannot drift apart.

use super::{Role, RolePurpose, SideFacts};
use crate::arn::role_arn;
use crate::policy::actions::*;
use crate::policy::{Document, Principal, Statement, Term};
use crate::spec::{Side, Spec};

pub(crate) fn role_name(spec: &Spec, purpose: RolePurpose) -> String {
    let replication = || {
        spec.replication
            .role_name
            .clone()
            .unwrap_or_else(|| format!("{}-replication", spec.name))
    };
    match purpose {
        RolePurpose::Copy => spec.copy_role.name.clone(),
        RolePurpose::Replication(Side::Source) => replication(),
        RolePurpose::Replication(Side::Destination) => format!("{}-reverse", replication()),
        RolePurpose::BatchReplication => spec
            .replication
            .batch_role_name
            .clone()
            .unwrap_or_else(|| format!("{}-batch-replication", spec.name)),
        RolePurpose::BatchCopy => format!("{}-batch-copy", spec.name),
        RolePurpose::Restore => spec
            .restore
            .as_ref()
            .and_then(|r| r.role_name.clone())
            .unwrap_or_else(|| format!("{}-restore", spec.name)),
    }
}

/// Restricts a key statement to S3 in the bucket's region, for this bucket's objects.
/// With S3 Bucket Keys the encryption context is the bucket ARN; objects written before
/// bucket keys were on carry the object ARN, hence both.
fn through_s3_for_bucket(statement: Statement, bucket: &SideFacts) -> Statement {
    statement
        .condition(
            "StringEquals",
            "kms:ViaService",
            vec![bucket.s3_service().into()],
        )
        .condition(
            "StringLike",
            "kms:EncryptionContext:aws:s3:arn",
            vec![
                bucket.bucket_arn.clone().into(),
                bucket.objects_arn().into(),
            ],
        )
}

/// Lets a role use `bucket`'s key with `actions`, only through S3 for that bucket.
fn use_key(sid: &str, actions: &[&str], bucket: &SideFacts) -> Statement {
    through_s3_for_bucket(
        Statement::allow(sid)
            .actions(actions)
            .resources([bucket.key.clone()]),
        bucket,
    )
}

fn new_role(
    spec: &Spec,
    purpose: RolePurpose,
    host: &SideFacts,
    summary: String,
    trust: Document,
) -> Role {
    let name = role_name(spec, purpose);
    Role {
        description: format!("s3bridge {}: {summary}", spec.name),
        summary,
        purpose,
        arn: role_arn(host.partition, &host.account, &name),
        name,
        side: host.side,
        account: host.account.clone(),
        trust,
        policies: Vec::new(),
    }
}

pub(crate) fn copy_role(spec: &Spec, source: &SideFacts, destination: &SideFacts) -> Role {
    let host = match spec.copy_role.account {
        Side::Source => source,
        Side::Destination => destination,
    };
    let trust = Document::new(vec![Statement::allow("TrustedPrincipals")
        .principal(Principal::Aws(
            spec.copy_role
                .trusted_principals
                .iter()
                .cloned()
                .map(Term::Text)
                .collect(),
        ))
        .actions(&[ASSUME_ROLE])
        .resources(Vec::<Term>::new())]);
    let mut role = new_role(
        spec,
        RolePurpose::Copy,
        host,
        format!(
            "initial copy and verification from s3://{} to s3://{}",
            source.bucket, destination.bucket
        ),
        trust,
    );
    role.policies.push((
        "copy".into(),
        Document::new(vec![
            Statement::allow("ListSourceBucket")
                .actions(COPY_SOURCE_BUCKET)
                .resources([source.bucket_arn.clone()]),
            Statement::allow("ReadSourceObjects")
                .actions(COPY_SOURCE_OBJECTS)
                .resources([source.objects_arn()]),
            Statement::allow("ListDestinationBucket")
                .actions(COPY_DESTINATION_BUCKET)
                .resources([destination.bucket_arn.clone()]),
            Statement::allow("WriteDestinationObjects")
                .actions(COPY_DESTINATION_OBJECTS)
                .resources([destination.objects_arn()]),
            use_key("DecryptSourceObjects", COPY_SOURCE_KEY, source),
            use_key(
                "EncryptDestinationObjects",
                COPY_DESTINATION_KEY,
                destination,
            ),
            // Called directly, not through S3: no kms:ViaService here.
            Statement::allow("DescribeDestinationKey")
                .actions(COPY_DESCRIBE_KEY)
                .resources([destination.key.clone()]),
        ]),
    ));
    role
}

/// The restore role (`s3bridge restore`), in the source account: reads the versions of
/// the replica (the default `--from destination`) and of the source (`--from source`,
/// a rollback in place) and writes them into the source, server-side. Reading a
/// specific version needs s3:GetObjectVersion and its tags s3:GetObjectVersionTagging;
/// listing versions s3:ListBucketVersions (S3 user guide, using-with-s3-policy-actions).
/// CopyObject's write half is s3:PutObject (+ s3:PutObjectTagging for the copied tags),
/// under the source's KMS key; reading an SSE-KMS version needs kms:Decrypt with the key
/// that encrypted it. The grants on the replica and its key join the destination's
/// bucket and key policies through `bucket_policy` and `key_grants`, as every role's do.
pub(crate) fn restore_role(spec: &Spec, source: &SideFacts, destination: &SideFacts) -> Role {
    let principals = spec
        .restore
        .as_ref()
        .map(|r| r.trusted_principals.clone())
        .unwrap_or_default();
    let trust = Document::new(vec![Statement::allow("TrustedPrincipals")
        .principal(Principal::Aws(
            principals.into_iter().map(Term::Text).collect(),
        ))
        .actions(&[ASSUME_ROLE])
        .resources(Vec::<Term>::new())]);
    let mut role = new_role(
        spec,
        RolePurpose::Restore,
        source,
        format!(
            "point-in-time restore from s3://{} into s3://{}",
            destination.bucket, source.bucket
        ),
        trust,
    );
    role.policies.push((
        "restore".into(),
        Document::new(vec![
            Statement::allow("ListReplicaVersions")
                .actions(RESTORE_FROM_BUCKET)
                .resources([destination.bucket_arn.clone()]),
            Statement::allow("ReadReplicaVersions")
                .actions(RESTORE_FROM_OBJECTS)
                .resources([destination.objects_arn()]),
            Statement::allow("ListSourceBucket")
                .actions(RESTORE_TARGET_BUCKET)
                .resources([source.bucket_arn.clone()]),
            Statement::allow("ReadAndWriteSourceObjects")
                .actions(RESTORE_TARGET_OBJECTS)
                .resources([source.objects_arn()]),
            use_key("DecryptReplicaObjects", RESTORE_FROM_KEY, destination),
            use_key("EncryptSourceObjects", RESTORE_TARGET_KEY, source),
            // Called directly, not through S3: no kms:ViaService here.
            Statement::allow("DescribeSourceKey")
                .actions(COPY_DESCRIBE_KEY)
                .resources([source.key.clone()]),
        ]),
    ));
    role
}

/// The role S3 assumes to replicate `from`'s bucket into `to`'s.
pub(crate) fn replication_role(
    spec: &Spec,
    from: &SideFacts,
    to: &SideFacts,
    cross_account: bool,
) -> Role {
    let trust = Document::new(vec![Statement::allow("S3Replication")
        .principal(Principal::Service(vec!["s3.amazonaws.com".into()]))
        .actions(&[ASSUME_ROLE])
        .resources(Vec::<Term>::new())
        .condition(
            "StringEquals",
            "aws:SourceAccount",
            vec![from.account.clone().into()],
        )
        .condition(
            "ArnLike",
            "aws:SourceArn",
            vec![from.bucket_arn.clone().into()],
        )]);
    let mut role = new_role(
        spec,
        RolePurpose::Replication(from.side),
        from,
        format!(
            "S3 replication from s3://{} to s3://{}",
            from.bucket, to.bucket
        ),
        trust,
    );
    let mut destination_actions = REPLICATION_DESTINATION_OBJECTS.to_vec();
    if cross_account {
        destination_actions.push(REPLICATION_OWNER_OVERRIDE);
    }
    role.policies.push((
        "replication".into(),
        Document::new(vec![
            Statement::allow("SourceBucket")
                .actions(REPLICATION_SOURCE_BUCKET)
                .resources([from.bucket_arn.clone()]),
            Statement::allow("SourceObjects")
                .actions(REPLICATION_SOURCE_OBJECTS)
                .resources([from.objects_arn()]),
            Statement::allow("DestinationObjects")
                .actions(&destination_actions)
                .resources([to.objects_arn()]),
            use_key("DecryptSourceObjects", REPLICATION_SOURCE_KEY, from),
            use_key("EncryptReplicas", REPLICATION_DESTINATION_KEY, to),
        ]),
    ));
    role
}

/// Trust for S3 Batch Operations (not `batchoperations.amazonaws.com`), only for jobs of
/// the account that hosts the role (`jobs`): the confused-deputy guard.
fn batch_operations_trust(jobs: &SideFacts) -> Document {
    Document::new(vec![Statement::allow("S3BatchOperations")
        .principal(Principal::Service(vec![
            "batchoperations.s3.amazonaws.com".into()
        ]))
        .actions(&[ASSUME_ROLE])
        .resources(Vec::<Term>::new())
        .condition(
            "StringEquals",
            "aws:SourceAccount",
            vec![jobs.account.clone().into()],
        )])
}

/// The role S3 Batch Operations assumes to replicate existing objects.
pub(crate) fn batch_role(spec: &Spec, source: &SideFacts, prefix: &str) -> Role {
    let mut role = new_role(
        spec,
        RolePurpose::BatchReplication,
        source,
        format!(
            "S3 Batch Replication of existing objects in s3://{}",
            source.bucket
        ),
        batch_operations_trust(source),
    );
    let reports = format!("{}/{prefix}*", source.bucket_arn);
    role.policies.push((
        "batch-replication".into(),
        Document::new(vec![
            Statement::allow("InitiateReplication")
                .actions(BATCH_SOURCE_OBJECTS)
                .resources([source.objects_arn()]),
            Statement::allow("SourceBucket")
                .actions(BATCH_SOURCE_BUCKET)
                .resources([source.bucket_arn.clone()]),
            Statement::allow("ReadManifests")
                .actions(BATCH_MANIFEST_READ)
                .resources([reports.clone()]),
            Statement::allow("WriteReports")
                .actions(BATCH_REPORT_WRITE)
                .resources([reports]),
            use_key("UseSourceKey", BATCH_KEY, source),
        ]),
    ));
    role
}

/// The role S3 Batch Operations assumes to copy objects (S3PutObjectCopy) from the source
/// bucket into the destination. It lives in the destination account, where the job runs
/// (in the destination Region: "Copy jobs must be created in the destination Region", S3
/// user guide, batch-ops-copy-object; the cross-account layout of S3 user guide
/// specify-batchjob-manifest-xaccount-csv: the role in the destination account, the source
/// bucket granting it reads). It reads source objects, writes destination objects (with
/// their tags) encrypted with the destination key, reads its manifest and writes its
/// completion report under the work prefix of the destination bucket. The source's bucket
/// policy and key policy grants follow from this policy like every other role's.
pub(crate) fn batch_copy_role(
    spec: &Spec,
    source: &SideFacts,
    destination: &SideFacts,
    prefix: &str,
) -> Role {
    let mut role = new_role(
        spec,
        RolePurpose::BatchCopy,
        destination,
        format!(
            "S3 Batch Operations copy from s3://{} to s3://{}",
            source.bucket, destination.bucket
        ),
        batch_operations_trust(destination),
    );
    role.policies.push((
        "batch-copy".into(),
        Document::new(vec![
            Statement::allow("ReadSourceObjects")
                .actions(BATCH_COPY_SOURCE_OBJECTS)
                .resources([source.objects_arn()]),
            // Copies only with the destination key: the bucket policy spares this role
            // its encryption denies (for the SSE-S3 reports), so its own policy keeps
            // every other write SSE-KMS with the bucket's key.
            Statement::allow("WriteDestinationObjects")
                .actions(BATCH_COPY_DESTINATION_OBJECTS)
                .resources([destination.objects_arn()])
                .condition(
                    "StringEquals",
                    "s3:x-amz-server-side-encryption",
                    vec!["aws:kms".into()],
                )
                .condition(
                    "ArnEquals",
                    "s3:x-amz-server-side-encryption-aws-kms-key-id",
                    vec![destination.key.clone()],
                ),
            Statement::allow("TagDestinationObjects")
                .actions(BATCH_COPY_DESTINATION_TAGS)
                .resources([destination.objects_arn()]),
            // S3 writes completion reports with SSE-S3 ("Completion reports are always
            // encrypted with Amazon S3 managed keys", S3 user guide,
            // batch-ops-examples-reports): only under the work prefix.
            Statement::allow("WriteReports")
                .actions(BATCH_REPORT_WRITE)
                .resources([format!("{}/{prefix}*", destination.bucket_arn)]),
            Statement::allow("ReadManifests")
                .actions(BATCH_COPY_MANIFEST_READ)
                .resources([format!("{}/{prefix}*", destination.bucket_arn)]),
            use_key("DecryptSourceObjects", COPY_SOURCE_KEY, source),
            use_key(
                "EncryptDestinationObjects",
                BATCH_COPY_DESTINATION_KEY,
                destination,
            ),
        ]),
    ));
    role
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Statements of `roles` whose resources include one of `targets`, with the role.
fn grants_on<'a>(
    roles: &'a [Role],
    targets: &'a [Term],
) -> impl Iterator<Item = (&'a Role, &'a Statement)> + 'a {
    roles.iter().flat_map(move |role| {
        role.policies
            .iter()
            .flat_map(|(_, doc)| &doc.statements)
            .filter(move |s| s.resources.iter().any(|r| targets.contains(r)))
            .map(move |s| (role, s))
    })
}

/// A created key's policy: administrators manage it, and exactly the principals that
/// use it (the roles' key statements, and `kms_users` through S3) may use it.
///
/// With `kms_key_recovery: account` the account root administers the key too — never
/// uses it. A key policy statement for the root "allows IAM policies in the account to
/// control access to the KMS key" (KMS developer guide, key-policy-default); without one,
/// deleting every administrator "becomes unmanageable" and only AWS Support can help.
/// Administration without usage keeps an IAM administrator from decrypting directly: to
/// read data they would first have to rewrite the key policy (PutKeyPolicy, logged in
/// CloudTrail, and flagged by `s3bridge audit`).
pub(crate) fn key_policy(key_side: &SideFacts, roles: &[Role]) -> Document {
    let mut statements = vec![Statement::allow("KeyAdministration")
        .principal(Principal::Aws(
            key_side.admins.iter().cloned().map(Term::Text).collect(),
        ))
        .actions(KEY_ADMINISTRATION)
        .resources(["*"])];
    if key_side.recovery == crate::spec::KeyRecovery::Account {
        statements.push(
            Statement::allow("AccountRecovery")
                .principal(Principal::Aws(vec![Term::Text(key_side.account_root())]))
                .actions(KEY_ADMINISTRATION)
                .resources(["*"]),
        );
    }
    if !key_side.auditors.is_empty() {
        // Exactly the key reads `s3bridge audit` makes, so the auditor needs nothing more.
        let reads: Vec<&str> = crate::audit::reads::KEY
            .iter()
            .chain(crate::audit::reads::CREATED_KEY)
            .map(|read| read.action)
            .collect();
        statements.push(
            Statement::allow("Auditors")
                .principal(Principal::Aws(
                    key_side.auditors.iter().cloned().map(Term::Text).collect(),
                ))
                .actions(&reads)
                .resources(["*"]),
        );
    }
    statements.extend(key_grants(key_side, roles).statements);
    Document::new(statements)
}

/// The statements that let the bucket's users and the bundle's roles use a key: the
/// part of a key policy s3bridge needs, whether it writes the policy (created keys) or
/// the key's owner must add them (existing keys).
pub(crate) fn key_grants(key_side: &SideFacts, roles: &[Role]) -> Document {
    let mut statements = Vec::new();
    if !key_side.users.is_empty() {
        statements.push(through_s3_for_bucket(
            Statement::allow("BucketUsers")
                .principal(Principal::Aws(
                    key_side.users.iter().cloned().map(Term::Text).collect(),
                ))
                .actions(BUCKET_USER_KEY)
                .resources(["*"]),
            key_side,
        ));
    }
    let target = [key_side.key.clone()];
    for (role, grant) in grants_on(roles, &target) {
        statements.push(Statement {
            sid: format!("{}{}", pascal(&role.module()), grant.sid),
            principal: Some(Principal::Aws(vec![role.reference()])),
            resources: vec![Term::text("*")],
            ..grant.clone()
        });
    }
    Document::new(statements)
}

/// Denies a request whose `key` header names anything but `expected` — and only when the
/// request names one: uploads that rely on the bucket's default encryption send no
/// header and must pass. (`StringNotEquals` alone, and `StringNotEqualsIfExists` too,
/// hold when the key is absent, and would refuse them.)
fn only_when_named(statement: Statement, key: &str, expected: Term) -> Statement {
    statement
        .condition("StringNotEquals", key, vec![expected])
        .condition("Null", key, vec!["false".into()])
}

/// A bucket's policy: TLS only, only this bucket's key, and the grants that roles from
/// the other account hold on this bucket.
///
/// The encryption denies spare the S3 Batch Operations roles whose jobs write their
/// reports into this bucket: S3 always writes completion reports with SSE-S3, which they
/// would refuse. Those roles' own policies allow SSE-S3 writes only under their work
/// prefix (the batch copy role writes elsewhere only with SSE-KMS and the bucket's key).
pub(crate) fn bucket_policy(
    bucket: &SideFacts,
    roles: &[Role],
    report_writers: &[&Role],
) -> Document {
    let all = [bucket.bucket_arn.clone(), bucket.objects_arn()];
    let spare_report_writer = |statement: Statement| {
        if report_writers.is_empty() {
            statement
        } else {
            statement.condition(
                "ArnNotEquals",
                "aws:PrincipalArn",
                report_writers.iter().map(|r| r.reference()).collect(),
            )
        }
    };
    let mut statements = vec![
        Statement::deny("DenyInsecureTransport")
            .principal(Principal::Everyone)
            .actions(&[ALL_S3])
            .resources(all.clone())
            .condition("Bool", "aws:SecureTransport", vec!["false".into()]),
        spare_report_writer(only_when_named(
            Statement::deny("DenyOtherKmsKeys")
                .principal(Principal::Everyone)
                .actions(&["s3:PutObject"])
                .resources([bucket.objects_arn()]),
            "s3:x-amz-server-side-encryption-aws-kms-key-id",
            bucket.key.clone(),
        )),
        spare_report_writer(only_when_named(
            Statement::deny("DenyNonKmsEncryption")
                .principal(Principal::Everyone)
                .actions(&["s3:PutObject"])
                .resources([bucket.objects_arn()]),
            "s3:x-amz-server-side-encryption",
            "aws:kms".into(),
        )),
    ];
    let targets: Vec<Term> = all.iter().cloned().map(Term::Text).collect();
    let foreign: Vec<Role> = roles
        .iter()
        .filter(|r| r.account != bucket.account)
        .cloned()
        .collect();
    for (role, grant) in grants_on(&foreign, &targets) {
        statements.push(Statement {
            sid: format!("{}{}", pascal(&role.module()), grant.sid),
            principal: Some(Principal::Aws(vec![role.reference()])),
            ..grant.clone()
        });
    }
    Document::new(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case() {
        assert_eq!(pascal("reverse_replication_role"), "ReverseReplicationRole");
    }
}
