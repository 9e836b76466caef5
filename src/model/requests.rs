//! The permission model: every AWS request each flow of s3bridge makes (or makes AWS
//! make on its behalf), with the principal, action, resource and the request context AWS
//! sets, the AWS page that says so, and whether the bundle's policies must allow or deny
//! it. Built from the same `Desired` as the policies, so the requests name the bundle's
//! own roles, buckets and keys.
//!
//! tests/permissions.rs evaluates every request against the documents `s3bridge policies
//! SPEC --format json` prints with an independent IAM evaluator, and checks that
//! docs/permissions.md is this catalogue rendered for the example spec. A new flow
//! (restore, monitoring) is one more function here, pushed in `catalogue`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::monitoring::{CLOUDWATCH, S3, SNS_PUBLISH};
use super::{Desired, RolePurpose};
use crate::audit::reads::{self, On, Scope};
use crate::policy::actions::*;
use crate::spec::{KeyRecovery, KmsKeySpec, Side, Spec};

/// Whose identity policy authorises the caller's half of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Caller {
    /// A role of the bundle: its inline policies, as `s3bridge policies` prints them.
    Bundle,
    /// An AWS service principal: no identity policy, the role's trust policy decides.
    Service,
    /// A principal outside the bundle whose own IAM policy is assumed to allow anything
    /// (`"Action": "*"`): the bundle's resource policies alone must decide. The strictest
    /// assumption for a must-deny request.
    Unrestricted,
    /// An auditor holding the policy `s3bridge policies SPEC --auditor` prints.
    Auditor,
}

/// What the bundle's policies must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Allow,
    Deny,
}

/// One AWS request.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub flow: &'static str,
    /// What happens, in a few words.
    pub step: String,
    /// Role or user ARN, or a service principal (`s3.amazonaws.com`).
    pub principal: String,
    pub caller: Caller,
    pub action: &'static str,
    pub resource: String,
    /// The account that owns the resource (cross-account requests need both halves).
    pub resource_account: String,
    /// The request context keys AWS sets that the policies test.
    pub context: BTreeMap<String, String>,
    pub expect: Expect,
    /// The AWS documentation page that decides it.
    pub source: &'static str,
}

/// AWS pages the requests come from.
pub mod pages {
    pub const REPLICATION_PERMISSIONS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html";
    pub const REPLICATION_KMS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html";
    pub const REPLICATION_CROSS_ACCOUNT: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-walkthrough-2.html";
    pub const CONFUSED_DEPUTY: &str =
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html";
    pub const BATCH_REPLICATION: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-batch-replication-policies.html";
    pub const BATCH_PERMISSIONS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-iam-role-policies.html";
    pub const BATCH_COPY: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-copy-object.html";
    pub const BATCH_COPY_CROSS_ACCOUNT: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/specify-batchjob-manifest-xaccount-csv.html";
    pub const BATCH_REPORTS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-examples-reports.html";
    pub const COPY_OBJECT: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html";
    pub const UPLOAD_PART_COPY: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html";
    pub const MULTIPART_KMS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html";
    pub const SSE_KMS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html";
    pub const BUCKET_KEYS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html";
    pub const S3_ACTIONS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html";
    pub const VIA_SERVICE: &str =
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service";
    pub const DESCRIBE_KEY: &str =
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html";
    pub const KEY_POLICY_DEFAULT: &str =
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html";
    pub const KEY_POLICIES: &str =
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html";
    pub const ASSUME_ROLE: &str =
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html";
    pub const SECURE_TRANSPORT: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html";
    pub const CROSS_ACCOUNT_EVALUATION: &str =
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html";
    pub const LIST_OBJECT_VERSIONS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html";
    pub const GET_OBJECT_VERSION: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/RetrievingObjectVersions.html";
    pub const SNS_ENCRYPTED_TOPIC: &str =
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services";
    pub const S3_NOTIFY_SNS: &str =
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html";
    pub const ALARM_ACTIONS: &str =
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions.html";
    pub const AUDIT_READS: &str =
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html";
}

/// What a bucket side looks like to a request.
struct Place<'a> {
    bucket_arn: &'a str,
    account: &'a str,
    region: &'a str,
    key: String,
}

impl Place<'_> {
    fn object(&self, key: &str) -> String {
        format!("{}/{key}", self.bucket_arn)
    }

    /// The context S3 sets when it calls KMS for this bucket: S3 in the bucket's Region,
    /// and (S3 Bucket Keys on) the bucket ARN as encryption context (S3 user guide,
    /// bucket-key: "the bucket ARN as the encryption context").
    fn through_s3(&self) -> BTreeMap<String, String> {
        self.through_s3_for(self.bucket_arn)
    }

    fn through_s3_for(&self, context: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "kms:ViaService".to_string(),
                format!("s3.{}.amazonaws.com", self.region),
            ),
            (
                "kms:EncryptionContext:aws:s3:arn".to_string(),
                context.to_string(),
            ),
        ])
    }

    /// The headers of a PutObject (or the write half of a copy) encrypted with `key`.
    fn sse_kms(&self, key: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "s3:x-amz-server-side-encryption".to_string(),
                "aws:kms".to_string(),
            ),
            (
                "s3:x-amz-server-side-encryption-aws-kms-key-id".to_string(),
                key.to_string(),
            ),
        ])
    }
}

/// An object key the requests use; any key of the bucket behaves the same.
const OBJECT: &str = "data/object.bin";
/// A bucket and key that are none of the bundle's.
const OTHER_BUCKET: &str = "s3bridge-some-other-bucket";
const OTHER_KEY_ID: &str = "key/00000000-0000-0000-0000-000000000000";

struct Builder<'a> {
    desired: &'a Desired,
    out: Vec<Request>,
}

impl<'a> Builder<'a> {
    fn side(&self, side: Side) -> Place<'a> {
        let b = self.desired.bucket(side);
        Place {
            bucket_arn: &b.arn,
            account: &b.account,
            region: &b.region,
            key: b.key.as_str().to_string(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        flow: &'static str,
        step: &str,
        (principal, caller): (&str, Caller),
        action: &'static str,
        (resource, resource_account): (&str, &str),
        context: BTreeMap<String, String>,
        expect: Expect,
        source: &'static str,
    ) {
        let mut context = context;
        // Every request reaches AWS over TLS (the SDKs only speak HTTPS to AWS).
        context
            .entry("aws:SecureTransport".into())
            .or_insert_with(|| "true".into());
        if caller != Caller::Service {
            context
                .entry("aws:PrincipalArn".into())
                .or_insert_with(|| principal.to_string());
        }
        self.out.push(Request {
            flow,
            step: step.to_string(),
            principal: principal.to_string(),
            caller,
            action,
            resource: resource.to_string(),
            resource_account: resource_account.to_string(),
            context,
            expect,
            source,
        });
    }

    /// The write half of a server-side copy into `target` (copy and restore): the object
    /// under the target's key, its tags, aborting its own failed uploads, and the target
    /// key's data keys through S3. `steps` describe the three in the flow's words.
    fn copy_writes(
        &mut self,
        flow: &'static str,
        r: (&str, Caller),
        target: &Place<'_>,
        key_actions: &[&'static str],
        [write, tags, data_key]: [&str; 3],
    ) {
        let object = target.object(OBJECT);
        self.push(
            flow,
            write,
            r,
            "s3:PutObject",
            (&object, target.account),
            target.sse_kms(&target.key),
            Expect::Allow,
            pages::UPLOAD_PART_COPY,
        );
        for action in ["s3:PutObjectTagging", "s3:AbortMultipartUpload"] {
            self.push(
                flow,
                tags,
                r,
                action,
                (&object, target.account),
                ctx(&[]),
                Expect::Allow,
                pages::COPY_OBJECT,
            );
        }
        for &action in key_actions {
            self.push(
                flow,
                data_key,
                r,
                action,
                (&target.key, target.account),
                target.through_s3(),
                Expect::Allow,
                pages::MULTIPART_KMS,
            );
        }
    }

    fn role(&self, purpose: RolePurpose) -> Option<String> {
        self.desired.role(purpose).map(|r| r.arn.clone())
    }
}

fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every request of every flow the spec has, allowed ones and must-deny ones.
pub fn catalogue(spec: &Spec, desired: &Desired) -> Vec<Request> {
    let mut b = Builder {
        desired,
        out: Vec::new(),
    };
    replication(&mut b, Side::Source);
    if spec.replication.bidirectional {
        replication(&mut b, Side::Destination);
    }
    batch_replication(&mut b);
    batch_copy(&mut b);
    copy_server_side(&mut b, spec);
    copy_streamed(&mut b, spec);
    verify(&mut b);
    restore(&mut b, spec);
    reencrypt(&mut b, spec);
    audit(&mut b, spec);
    keys(&mut b, spec);
    monitoring(&mut b);
    b.out
}

/// A service principal assumes `role` for a resource of its own account (allowed), and
/// for another account's (denied: the confused-deputy conditions of the trust policy).
fn service_trust(
    b: &mut Builder<'_>,
    flow: &'static str,
    (service, step): (&str, &str),
    (role, account): (&str, &str),
    context: &[(&str, &str)],
    source: &'static str,
) {
    let service = (service, Caller::Service);
    b.push(
        flow,
        step,
        service,
        ASSUME_ROLE,
        (role, account),
        ctx(context),
        Expect::Allow,
        source,
    );
    let other_bucket = format!("arn:aws:s3:::{OTHER_BUCKET}");
    let elsewhere: Vec<(&str, &str)> = context
        .iter()
        .map(|(key, _)| match *key {
            "aws:SourceArn" => (*key, other_bucket.as_str()),
            _ => (*key, "999999999999"),
        })
        .collect();
    b.push(
        flow,
        "the service acting for another account cannot assume the role (confused deputy)",
        service,
        ASSUME_ROLE,
        (role, account),
        ctx(&elsewhere),
        Expect::Deny,
        pages::CONFUSED_DEPUTY,
    );
}

fn replication(b: &mut Builder<'_>, from: Side) {
    let flow = match from {
        Side::Source => "live replication (source → destination)",
        Side::Destination => "live replication (destination → source, two-way)",
    };
    let Some(role) = b.role(RolePurpose::Replication(from)) else {
        return;
    };
    let (src, dst) = (b.side(from), b.side(from.other()));
    let r = (role.as_str(), Caller::Bundle);
    service_trust(
        b,
        flow,
        (
            "s3.amazonaws.com",
            "S3 assumes the replication role for this bucket",
        ),
        (&role, src.account),
        &[
            ("aws:SourceAccount", src.account),
            ("aws:SourceArn", src.bucket_arn),
        ],
        pages::REPLICATION_PERMISSIONS,
    );
    for action in REPLICATION_SOURCE_BUCKET {
        b.push(
            flow,
            "read the replication configuration, list the source",
            r,
            action,
            (src.bucket_arn, src.account),
            ctx(&[]),
            Expect::Allow,
            pages::REPLICATION_PERMISSIONS,
        );
    }
    for action in REPLICATION_SOURCE_OBJECTS {
        b.push(
            flow,
            "read the object version to replicate",
            r,
            action,
            (&src.object(OBJECT), src.account),
            ctx(&[]),
            Expect::Allow,
            pages::REPLICATION_PERMISSIONS,
        );
    }
    let object_arn = src.object(OBJECT);
    for (step, context) in [
        (
            "decrypt the source object (S3 Bucket Key)",
            src.through_s3(),
        ),
        (
            "decrypt a source object written before S3 Bucket Keys (object ARN context)",
            src.through_s3_for(&object_arn),
        ),
    ] {
        b.push(
            flow,
            step,
            r,
            "kms:Decrypt",
            (&src.key, src.account),
            context,
            Expect::Allow,
            pages::REPLICATION_KMS,
        );
    }
    let cross_account = src.account != dst.account;
    let mut writes: Vec<&'static str> = REPLICATION_DESTINATION_OBJECTS.to_vec();
    if cross_account {
        writes.push(REPLICATION_OWNER_OVERRIDE);
    }
    for action in writes {
        b.push(
            flow,
            "write the replica (cross-account: the destination bucket policy grants it too)",
            r,
            action,
            (&dst.object(OBJECT), dst.account),
            ctx(&[]),
            Expect::Allow,
            if cross_account {
                pages::REPLICATION_CROSS_ACCOUNT
            } else {
                pages::REPLICATION_PERMISSIONS
            },
        );
    }
    for action in REPLICATION_DESTINATION_KEY {
        b.push(
            flow,
            "encrypt the replica with the replica key (S3 Bucket Key: Decrypt too)",
            r,
            action,
            (&dst.key, dst.account),
            dst.through_s3(),
            Expect::Allow,
            pages::REPLICATION_KMS,
        );
    }
    // Must-deny.
    b.push(
        flow,
        "no replica into another bucket",
        r,
        "s3:ReplicateObject",
        (
            &format!("arn:aws:s3:::{OTHER_BUCKET}/{OBJECT}"),
            dst.account,
        ),
        ctx(&[]),
        Expect::Deny,
        pages::REPLICATION_PERMISSIONS,
    );
    b.push(
        flow,
        "no decryption with the source key outside S3 (no kms:ViaService)",
        r,
        "kms:Decrypt",
        (&src.key, src.account),
        ctx(&[("kms:EncryptionContext:aws:s3:arn", src.bucket_arn)]),
        Expect::Deny,
        pages::VIA_SERVICE,
    );
}

fn batch_replication(b: &mut Builder<'_>) {
    let flow = "S3 Batch Replication (generated manifest)";
    let (Some(batch), Some(role)) = (&b.desired.batch, b.role(RolePurpose::BatchReplication))
    else {
        return;
    };
    let src = b.side(Side::Source);
    let r = (role.as_str(), Caller::Bundle);
    let work = format!("{}/{}", src.bucket_arn, batch.prefix);
    service_trust(
        b,
        flow,
        (
            "batchoperations.s3.amazonaws.com",
            "S3 Batch Operations assumes the batch role for a job of the source account",
        ),
        (&role, src.account),
        &[("aws:SourceAccount", src.account)],
        pages::BATCH_PERMISSIONS,
    );
    for action in BATCH_SOURCE_BUCKET {
        b.push(
            flow,
            "generate the manifest from the replication configuration",
            r,
            action,
            (src.bucket_arn, src.account),
            ctx(&[]),
            Expect::Allow,
            pages::BATCH_REPLICATION,
        );
    }
    b.push(
        flow,
        "write the generated manifest under the report prefix (SSE-S3)",
        r,
        "s3:PutObject",
        (&format!("{work}manifests/job/manifest.json"), src.account),
        ctx(&[("s3:x-amz-server-side-encryption", "AES256")]),
        Expect::Allow,
        pages::BATCH_REPLICATION,
    );
    for action in BATCH_MANIFEST_READ {
        b.push(
            flow,
            "read the generated manifest",
            r,
            action,
            (&format!("{work}manifests/job/manifest.json"), src.account),
            ctx(&[]),
            Expect::Allow,
            pages::BATCH_REPLICATION,
        );
    }
    for action in BATCH_SOURCE_OBJECTS {
        b.push(
            flow,
            "start replication of each object (the replication role then replicates it, as in live replication)",
            r,
            action,
            (&src.object(OBJECT), src.account),
            ctx(&[]),
            Expect::Allow,
            pages::BATCH_REPLICATION,
        );
    }
    b.push(
        flow,
        "write the completion report (always SSE-S3) under the report prefix",
        r,
        "s3:PutObject",
        (&format!("{work}job-1/report.csv"), src.account),
        ctx(&[("s3:x-amz-server-side-encryption", "AES256")]),
        Expect::Allow,
        pages::BATCH_REPORTS,
    );
    b.push(
        flow,
        "no SSE-S3 object outside the report prefix",
        r,
        "s3:PutObject",
        (&src.object(OBJECT), src.account),
        ctx(&[("s3:x-amz-server-side-encryption", "AES256")]),
        Expect::Deny,
        pages::BATCH_REPLICATION,
    );
}

fn batch_copy(b: &mut Builder<'_>) {
    let flow = "copy --engine batch (S3PutObjectCopy job in the destination account and Region)";
    let (Some(batch), Some(role)) = (&b.desired.batch_copy, b.role(RolePurpose::BatchCopy)) else {
        return;
    };
    let (src, dst) = (b.side(Side::Source), b.side(Side::Destination));
    let r = (role.as_str(), Caller::Bundle);
    let work = format!("{}/{}", dst.bucket_arn, batch.prefix);
    let manifest = format!("{work}manifests/copy-digest.csv");
    let creator = format!("arn:aws:iam::{}:role/job-creator", dst.account);
    b.push(
        flow,
        "the job's creator (destination account, its own IAM policy) uploads the manifest, default encryption",
        (&creator, Caller::Unrestricted),
        "s3:PutObject",
        (&manifest, dst.account),
        ctx(&[]),
        Expect::Allow,
        pages::BATCH_COPY_CROSS_ACCOUNT,
    );
    service_trust(
        b,
        flow,
        (
            "batchoperations.s3.amazonaws.com",
            "S3 Batch Operations assumes the batch copy role for a job of the destination account",
        ),
        (&role, dst.account),
        &[("aws:SourceAccount", dst.account)],
        pages::BATCH_PERMISSIONS,
    );
    b.push(
        flow,
        "read the manifest",
        r,
        "s3:GetObject",
        (&manifest, dst.account),
        ctx(&[]),
        Expect::Allow,
        pages::BATCH_COPY_CROSS_ACCOUNT,
    );
    b.push(
        flow,
        "decrypt the manifest (destination key, default encryption)",
        r,
        "kms:Decrypt",
        (&dst.key, dst.account),
        dst.through_s3(),
        Expect::Allow,
        pages::SSE_KMS,
    );
    for action in BATCH_COPY_SOURCE_OBJECTS {
        b.push(
            flow,
            "read the source object and its tags (source bucket policy grants it)",
            r,
            action,
            (&src.object(OBJECT), src.account),
            ctx(&[]),
            Expect::Allow,
            pages::BATCH_COPY_CROSS_ACCOUNT,
        );
    }
    b.push(
        flow,
        "decrypt the source object (source key policy grants it)",
        r,
        "kms:Decrypt",
        (&src.key, src.account),
        src.through_s3(),
        Expect::Allow,
        pages::COPY_OBJECT,
    );
    b.push(
        flow,
        "write the copy, SSE-KMS with the destination key",
        r,
        "s3:PutObject",
        (&dst.object(OBJECT), dst.account),
        dst.sse_kms(&dst.key),
        Expect::Allow,
        pages::BATCH_COPY,
    );
    b.push(
        flow,
        "copy the tags",
        r,
        "s3:PutObjectTagging",
        (&dst.object(OBJECT), dst.account),
        ctx(&[]),
        Expect::Allow,
        pages::BATCH_COPY,
    );
    b.push(
        flow,
        "a data key for the copy",
        r,
        "kms:GenerateDataKey",
        (&dst.key, dst.account),
        dst.through_s3(),
        Expect::Allow,
        pages::SSE_KMS,
    );
    b.push(
        flow,
        "write the completion report (always SSE-S3) under the work prefix",
        r,
        "s3:PutObject",
        (&format!("{work}reports/job-1/report.csv"), dst.account),
        ctx(&[("s3:x-amz-server-side-encryption", "AES256")]),
        Expect::Allow,
        pages::BATCH_REPORTS,
    );
    b.push(
        flow,
        "no SSE-S3 copy outside the work prefix (the role is spared the bucket's encryption denies)",
        r,
        "s3:PutObject",
        (&dst.object(OBJECT), dst.account),
        ctx(&[("s3:x-amz-server-side-encryption", "AES256")]),
        Expect::Deny,
        pages::BATCH_COPY,
    );
    b.push(
        flow,
        "no write into the source bucket",
        r,
        "s3:PutObject",
        (&src.object(OBJECT), src.account),
        src.sse_kms(&src.key),
        Expect::Deny,
        pages::BATCH_COPY,
    );
}

/// A must-deny request of one principal: step, action, (resource, its account), context,
/// the page that decides it.
type Denied<'a> = (
    &'a str,
    &'static str,
    (String, &'a str),
    BTreeMap<String, String>,
    &'static str,
);

fn copy_server_side(b: &mut Builder<'_>, spec: &Spec) {
    let flow = "copy, server-side (--assume-copy-role)";
    let Some(role) = b.role(RolePurpose::Copy) else {
        return;
    };
    let host = spec.side(spec.copy_role.account).account_id.clone();
    let (src, dst) = (b.side(Side::Source), b.side(Side::Destination));
    let r = (role.as_str(), Caller::Bundle);
    for trusted in &spec.copy_role.trusted_principals {
        b.push(
            flow,
            "a trusted principal assumes the copy role (its own IAM policy allows sts:AssumeRole)",
            (trusted, Caller::Unrestricted),
            ASSUME_ROLE,
            (&role, &host),
            ctx(&[]),
            Expect::Allow,
            pages::ASSUME_ROLE,
        );
    }
    b.push(
        flow,
        "find the destination key by its alias ARN (DescribeKey, called directly)",
        r,
        "kms:DescribeKey",
        (&dst.key, dst.account),
        ctx(&[]),
        Expect::Allow,
        pages::DESCRIBE_KEY,
    );
    for (bucket, account) in [(src.bucket_arn, src.account), (dst.bucket_arn, dst.account)] {
        b.push(
            flow,
            "list both buckets (the diff)",
            r,
            "s3:ListBucket",
            (bucket, account),
            ctx(&[]),
            Expect::Allow,
            pages::S3_ACTIONS,
        );
    }
    for action in COPY_SOURCE_OBJECTS {
        b.push(
            flow,
            "HEAD and read the source object, read its tags (CopyObject's source half)",
            r,
            action,
            (&src.object(OBJECT), src.account),
            ctx(&[]),
            Expect::Allow,
            pages::COPY_OBJECT,
        );
    }
    b.push(
        flow,
        "decrypt the source object",
        r,
        "kms:Decrypt",
        (&src.key, src.account),
        src.through_s3(),
        Expect::Allow,
        pages::COPY_OBJECT,
    );
    b.copy_writes(
        flow,
        r,
        &dst,
        COPY_DESTINATION_KEY,
        [
            "write the copy (CopyObject, CreateMultipartUpload, UploadPartCopy), SSE-KMS with the destination key",
            "copy the tags; abort its own failed multipart uploads",
            "a data key for the copy; multipart uploads also Decrypt",
        ],
    );
    // Must-deny.
    let denied: [Denied<'_>; 7] = [
        (
            "no read over plain HTTP",
            "s3:GetObject",
            (src.object(OBJECT), src.account),
            ctx(&[("aws:SecureTransport", "false")]),
            pages::SECURE_TRANSPORT,
        ),
        (
            "no write into the source bucket",
            "s3:PutObject",
            (src.object(OBJECT), src.account),
            src.sse_kms(&src.key),
            pages::S3_ACTIONS,
        ),
        (
            "no upload under another KMS key",
            "s3:PutObject",
            (dst.object(OBJECT), dst.account),
            dst.sse_kms(&format!(
                "arn:aws:kms:{}:{}:{OTHER_KEY_ID}",
                dst.region, dst.account
            )),
            pages::SSE_KMS,
        ),
        (
            "no upload with SSE-S3",
            "s3:PutObject",
            (dst.object(OBJECT), dst.account),
            ctx(&[("s3:x-amz-server-side-encryption", "AES256")]),
            pages::SSE_KMS,
        ),
        (
            "no read of another bucket",
            "s3:GetObject",
            (format!("arn:aws:s3:::{OTHER_BUCKET}/{OBJECT}"), src.account),
            ctx(&[]),
            pages::S3_ACTIONS,
        ),
        (
            "no decryption with another key",
            "kms:Decrypt",
            (
                format!("arn:aws:kms:{}:{}:{OTHER_KEY_ID}", src.region, src.account),
                src.account,
            ),
            src.through_s3(),
            pages::KEY_POLICIES,
        ),
        (
            "no decryption of another bucket's objects with the source key",
            "kms:Decrypt",
            (src.key.clone(), src.account),
            src.through_s3_for(&format!("arn:aws:s3:::{OTHER_BUCKET}")),
            pages::VIA_SERVICE,
        ),
    ];
    for (step, action, (resource, account), context, source) in denied {
        b.push(
            flow,
            step,
            r,
            action,
            (&resource, account),
            context,
            Expect::Deny,
            source,
        );
    }
    b.push(
        flow,
        "no decryption with the source key outside S3 (no kms:ViaService)",
        r,
        "kms:Decrypt",
        (&src.key, src.account),
        ctx(&[("kms:EncryptionContext:aws:s3:arn", src.bucket_arn)]),
        Expect::Deny,
        pages::VIA_SERVICE,
    );
    let stranger = format!("arn:aws:iam::{host}:role/not-a-trusted-principal");
    b.push(
        flow,
        "a principal trusted_principals does not list cannot assume the copy role",
        (&stranger, Caller::Unrestricted),
        ASSUME_ROLE,
        (&role, &host),
        ctx(&[]),
        Expect::Deny,
        pages::ASSUME_ROLE,
    );
}

/// `s3bridge restore` with the restore role (the spec's `restore:` section): the
/// replica's versions read (ListObjectVersions, CopyObject/UploadPartCopy naming a
/// `versionId`, GetObjectVersionTagging) and written into the source under its key.
fn restore(b: &mut Builder<'_>, spec: &Spec) {
    let flow = "restore from the replica (restore role)";
    let (Some(role), Some(restore)) = (b.role(RolePurpose::Restore), &spec.restore) else {
        return;
    };
    let host = spec.source.account_id.clone();
    let (src, dst) = (b.side(Side::Source), b.side(Side::Destination));
    let r = (role.as_str(), Caller::Bundle);
    for trusted in &restore.trusted_principals {
        b.push(
            flow,
            "a trusted principal assumes the restore role (its own IAM policy allows sts:AssumeRole)",
            (trusted, Caller::Unrestricted),
            ASSUME_ROLE,
            (&role, &host),
            ctx(&[]),
            Expect::Allow,
            pages::ASSUME_ROLE,
        );
    }
    b.push(
        flow,
        "find the source key by its alias ARN (DescribeKey, called directly)",
        r,
        "kms:DescribeKey",
        (&src.key, src.account),
        ctx(&[]),
        Expect::Allow,
        pages::DESCRIBE_KEY,
    );
    b.push(
        flow,
        "list the replica's versions (ListObjectVersions)",
        r,
        "s3:ListBucketVersions",
        (dst.bucket_arn, dst.account),
        ctx(&[]),
        Expect::Allow,
        pages::LIST_OBJECT_VERSIONS,
    );
    for action in RESTORE_FROM_OBJECTS {
        b.push(
            flow,
            "HEAD and read the version of TIME and its tags (CopyObject's source half with versionId)",
            r,
            action,
            (&dst.object(OBJECT), dst.account),
            ctx(&[]),
            Expect::Allow,
            pages::GET_OBJECT_VERSION,
        );
    }
    b.push(
        flow,
        "decrypt the replica's version",
        r,
        "kms:Decrypt",
        (&dst.key, dst.account),
        dst.through_s3(),
        Expect::Allow,
        pages::COPY_OBJECT,
    );
    b.push(
        flow,
        "list the source's current objects (the join)",
        r,
        "s3:ListBucket",
        (src.bucket_arn, src.account),
        ctx(&[]),
        Expect::Allow,
        pages::S3_ACTIONS,
    );
    b.copy_writes(
        flow,
        r,
        &src,
        RESTORE_TARGET_KEY,
        [
            "write the restored copy (CopyObject, CreateMultipartUpload, UploadPartCopy), SSE-KMS with the source key",
            "copy the version's tags; abort its own failed multipart uploads",
            "a data key for the restored copy; multipart uploads also Decrypt",
        ],
    );
    // Must-deny: the replica stays read-only to the restore role, and no other key.
    let denied: [Denied<'_>; 5] = [
        (
            "no write into the replica",
            "s3:PutObject",
            (dst.object(OBJECT), dst.account),
            dst.sse_kms(&dst.key),
            pages::S3_ACTIONS,
        ),
        (
            "no deletion of the replica's versions",
            "s3:DeleteObjectVersion",
            (dst.object(OBJECT), dst.account),
            ctx(&[]),
            pages::S3_ACTIONS,
        ),
        (
            "no restored copy under another KMS key",
            "s3:PutObject",
            (src.object(OBJECT), src.account),
            src.sse_kms(&format!(
                "arn:aws:kms:{}:{}:{OTHER_KEY_ID}",
                src.region, src.account
            )),
            pages::SSE_KMS,
        ),
        (
            "no encryption with the replica's key",
            "kms:GenerateDataKey",
            (dst.key.clone(), dst.account),
            dst.through_s3(),
            pages::KEY_POLICIES,
        ),
        (
            "no read of another bucket's versions",
            "s3:GetObjectVersion",
            (format!("arn:aws:s3:::{OTHER_BUCKET}/{OBJECT}"), dst.account),
            ctx(&[]),
            pages::S3_ACTIONS,
        ),
    ];
    for (step, action, (resource, account), context, source) in denied {
        b.push(
            flow,
            step,
            r,
            action,
            (&resource, account),
            context,
            Expect::Deny,
            source,
        );
    }
    b.push(
        flow,
        "no decryption with the replica's key outside S3 (no kms:ViaService)",
        r,
        "kms:Decrypt",
        (&dst.key, dst.account),
        ctx(&[("kms:EncryptionContext:aws:s3:arn", dst.bucket_arn)]),
        Expect::Deny,
        pages::VIA_SERVICE,
    );
    let stranger = format!("arn:aws:iam::{host}:role/not-a-trusted-principal");
    b.push(
        flow,
        "a principal restore.trusted_principals does not list cannot assume the restore role",
        (&stranger, Caller::Unrestricted),
        ASSUME_ROLE,
        (&role, &host),
        ctx(&[]),
        Expect::Deny,
        pages::ASSUME_ROLE,
    );
}

fn copy_streamed(b: &mut Builder<'_>, spec: &Spec) {
    let flow = "copy, streamed with two principals (kms_users of each side)";
    let (Some(reader), Some(writer)) = (
        spec.source.kms_users.first(),
        spec.destination.kms_users.first(),
    ) else {
        return;
    };
    let (src, dst) = (b.side(Side::Source), b.side(Side::Destination));
    let (reader, writer) = (
        (reader.as_str(), Caller::Unrestricted),
        (writer.as_str(), Caller::Unrestricted),
    );
    b.push(
        flow,
        "list the source",
        reader,
        "s3:ListBucket",
        (src.bucket_arn, src.account),
        ctx(&[]),
        Expect::Allow,
        pages::S3_ACTIONS,
    );
    b.push(
        flow,
        "list the destination",
        writer,
        "s3:ListBucket",
        (dst.bucket_arn, dst.account),
        ctx(&[]),
        Expect::Allow,
        pages::S3_ACTIONS,
    );
    for action in ["s3:GetObject", "s3:GetObjectTagging"] {
        b.push(
            flow,
            "GET the source object and its tags",
            reader,
            action,
            (&src.object(OBJECT), src.account),
            ctx(&[]),
            Expect::Allow,
            pages::S3_ACTIONS,
        );
    }
    b.push(
        flow,
        "decrypt it (the source key policy's BucketUsers)",
        reader,
        "kms:Decrypt",
        (&src.key, src.account),
        src.through_s3(),
        Expect::Allow,
        pages::SSE_KMS,
    );
    b.push(
        flow,
        "PUT the copy, SSE-KMS with the destination key",
        writer,
        "s3:PutObject",
        (&dst.object(OBJECT), dst.account),
        dst.sse_kms(&dst.key),
        Expect::Allow,
        pages::SSE_KMS,
    );
    for action in BUCKET_USER_KEY {
        b.push(
            flow,
            "a data key (multipart: Decrypt too)",
            writer,
            action,
            (&dst.key, dst.account),
            dst.through_s3(),
            Expect::Allow,
            pages::MULTIPART_KMS,
        );
    }
    b.push(
        flow,
        "the source reader cannot use the destination key",
        reader,
        "kms:GenerateDataKey",
        (&dst.key, dst.account),
        dst.through_s3(),
        Expect::Deny,
        pages::KEY_POLICIES,
    );
}

/// `s3bridge reencrypt`: a principal of the bucket's own account (the first kms_users
/// entry of each side) copies each object onto itself under the bucket's key. A copy
/// reads the source (s3:GetObject, s3:GetObjectTagging with the tagging directive COPY)
/// and writes the destination (s3:PutObject, s3:PutObjectTagging) (CopyObject); a
/// multipart rewrite has S3 decrypt and encrypt data keys (UploadPartCopy, multipart KMS).
fn reencrypt(b: &mut Builder<'_>, spec: &Spec) {
    let flow = "reencrypt (kms_users of the side)";
    for side in [Side::Source, Side::Destination] {
        let Some(user) = spec.side(side).kms_users.first() else {
            continue;
        };
        let place = b.side(side);
        let user = (user.as_str(), Caller::Unrestricted);
        let object = place.object(OBJECT);
        b.push(
            flow,
            "list the bucket",
            user,
            "s3:ListBucket",
            (place.bucket_arn, place.account),
            ctx(&[]),
            Expect::Allow,
            pages::S3_ACTIONS,
        );
        for action in ["s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging"] {
            b.push(
                flow,
                "HEAD the object, read and rewrite its tags",
                user,
                action,
                (&object, place.account),
                ctx(&[]),
                Expect::Allow,
                pages::COPY_OBJECT,
            );
        }
        b.push(
            flow,
            "copy it onto itself under the bucket's key",
            user,
            "s3:PutObject",
            (&object, place.account),
            place.sse_kms(&place.key),
            Expect::Allow,
            pages::COPY_OBJECT,
        );
        for action in BUCKET_USER_KEY {
            b.push(
                flow,
                "data keys of the rewrite (multipart: Decrypt too)",
                user,
                action,
                (&place.key, place.account),
                place.through_s3(),
                Expect::Allow,
                pages::UPLOAD_PART_COPY,
            );
        }
        b.push(
            flow,
            "a rewrite that stays SSE-S3 is refused",
            user,
            "s3:PutObject",
            (&object, place.account),
            ctx(&[("s3:x-amz-server-side-encryption", "AES256")]),
            Expect::Deny,
            pages::SSE_KMS,
        );
    }
}

fn verify(b: &mut Builder<'_>) {
    let flow = "verify (the copy role's credentials)";
    let Some(role) = b.role(RolePurpose::Copy) else {
        return;
    };
    let r = (role.as_str(), Caller::Bundle);
    for side in [Side::Source, Side::Destination] {
        let s = b.side(side);
        b.push(
            flow,
            "list the bucket",
            r,
            "s3:ListBucket",
            (s.bucket_arn, s.account),
            ctx(&[]),
            Expect::Allow,
            pages::S3_ACTIONS,
        );
        b.push(
            flow,
            "HEAD an object; --deep GETs it",
            r,
            "s3:GetObject",
            (&s.object(OBJECT), s.account),
            ctx(&[]),
            Expect::Allow,
            pages::S3_ACTIONS,
        );
        b.push(
            flow,
            "--deep: decrypt what it reads",
            r,
            "kms:Decrypt",
            (&s.key, s.account),
            s.through_s3(),
            Expect::Allow,
            pages::SSE_KMS,
        );
    }
}

fn audit(b: &mut Builder<'_>, spec: &Spec) {
    let flow = "audit (the --auditor policy)";
    for side in [Side::Source, Side::Destination] {
        let t = reads::targets(b.desired, side, Scope::default());
        let listed: Vec<&String> = spec
            .auditors
            .iter()
            .filter(|a| a.split(':').nth(4) == Some(t.account.as_str()))
            .collect();
        let unlisted = format!("arn:aws:iam::{}:role/auditor-not-in-spec", t.account);
        let auditor = listed
            .first()
            .map(|a| a.as_str())
            .unwrap_or(&unlisted)
            .to_string();
        let a = (auditor.as_str(), Caller::Auditor);
        let mut bucket_reads: Vec<&reads::Read> = reads::BUCKET.to_vec();
        if t.replicates {
            bucket_reads.extend(reads::REPLICATING_BUCKET);
        }
        if t.alarm_prefix.is_some() {
            bucket_reads.extend(reads::MONITORING.iter().filter(|r| r.on == On::Bucket));
        }
        for read in bucket_reads {
            b.push(
                flow,
                &format!("{} of the {side} bucket", read.operation),
                a,
                read.action,
                (&t.bucket_arn, &t.account),
                ctx(&[]),
                Expect::Allow,
                pages::AUDIT_READS,
            );
        }
        if t.key.created {
            // KMS checks the key policy: it names the spec's auditors; with
            // `kms_key_recovery: account` the account root administers the key (which
            // includes these reads), so the account's IAM policies decide for anyone else.
            let recovery = spec.side(side).kms_key_recovery;
            let (expect, step) = match (listed.is_empty(), recovery) {
                (false, _) => (Expect::Allow, "read the key (the key policy names the spec's auditors)"),
                (true, KeyRecovery::Account) => (
                    Expect::Allow,
                    "an auditor `auditors` does not list: allowed through the account-recovery statement (IAM decides)",
                ),
                (true, KeyRecovery::Admins) => (
                    Expect::Deny,
                    "an auditor `auditors` does not list: the key policy refuses it",
                ),
            };
            let key = b.side(side).key;
            let mut context = ctx(&[]);
            context.insert("kms:ResourceAliases".into(), t.key.id.clone());
            for read in reads::KEY.iter().chain(reads::CREATED_KEY) {
                b.push(
                    flow,
                    &format!("{}: {step}", read.operation),
                    a,
                    read.action,
                    (&key, &t.account),
                    context.clone(),
                    expect,
                    pages::KEY_POLICIES,
                );
            }
        }
        for (_, _, role_arn) in &t.roles {
            for read in reads::ROLE {
                b.push(
                    flow,
                    &format!("{} on a role of the {side} account", read.operation),
                    a,
                    read.action,
                    (role_arn, &t.account),
                    ctx(&[]),
                    Expect::Allow,
                    pages::AUDIT_READS,
                );
            }
        }
        if let Some(prefix) = &t.alarm_prefix {
            let alarm = format!(
                "arn:aws:cloudwatch:{}:{}:alarm:{prefix}rule-latency",
                t.region, t.account
            );
            for read in reads::MONITORING.iter().filter(|r| r.on == On::Alarms) {
                b.push(
                    flow,
                    &format!("{} on the bundle's alarms", read.operation),
                    a,
                    read.action,
                    (&alarm, &t.account),
                    ctx(&[]),
                    Expect::Allow,
                    pages::AUDIT_READS,
                );
            }
        }
        if t.jobs {
            for read in reads::JOBS {
                let resource = match read.on {
                    On::Job => format!("arn:aws:s3:{}:{}:job/job-1", t.region, t.account),
                    _ => "*".to_string(),
                };
                b.push(
                    flow,
                    read.operation,
                    a,
                    read.action,
                    (&resource, &t.account),
                    ctx(&[]),
                    Expect::Allow,
                    pages::AUDIT_READS,
                );
            }
        }
        b.push(
            flow,
            "the default auditor policy downloads no object",
            a,
            "s3:GetObject",
            (&format!("{}/{OBJECT}", t.bucket_arn), &t.account),
            ctx(&[]),
            Expect::Deny,
            pages::AUDIT_READS,
        );
    }
}

/// Administrators manage, never use; the account root recovers a key when the spec says so.
fn keys(b: &mut Builder<'_>, spec: &Spec) {
    let flow = "key administration and recovery";
    for side in [Side::Source, Side::Destination] {
        if !matches!(spec.side(side).kms_key, KmsKeySpec::Create) {
            continue;
        }
        let s = b.side(side);
        let (key, account) = (s.key.clone(), s.account.to_string());
        let context = s.through_s3();
        for admin in &spec.side(side).kms_admins {
            let a = (admin.as_str(), Caller::Unrestricted);
            b.push(
                flow,
                "an administrator manages the key",
                a,
                "kms:PutKeyPolicy",
                (&key, &account),
                ctx(&[]),
                Expect::Allow,
                pages::KEY_POLICIES,
            );
            for action in ["kms:Decrypt", "kms:GenerateDataKey"] {
                b.push(
                    flow,
                    "an administrator (even with kms:* in IAM) cannot use the key",
                    a,
                    action,
                    (&key, &account),
                    context.clone(),
                    Expect::Deny,
                    pages::KEY_POLICIES,
                );
            }
            b.push(
                flow,
                "an administrator cannot grant itself use",
                a,
                "kms:CreateGrant",
                (&key, &account),
                ctx(&[]),
                Expect::Deny,
                pages::KEY_POLICIES,
            );
        }
        let iam_admin = format!("arn:aws:iam::{account}:role/account-administrator");
        let recovery = spec.side(side).kms_key_recovery;
        let a = (iam_admin.as_str(), Caller::Unrestricted);
        b.push(
            flow,
            match recovery {
                KeyRecovery::Account => {
                    "recovery: an IAM administrator of the account can restore the key policy"
                }
                KeyRecovery::Admins => {
                    "kms_key_recovery: admins: only the listed administrators manage the key"
                }
            },
            a,
            "kms:PutKeyPolicy",
            (&key, &account),
            ctx(&[]),
            match recovery {
                KeyRecovery::Account => Expect::Allow,
                KeyRecovery::Admins => Expect::Deny,
            },
            pages::KEY_POLICY_DEFAULT,
        );
        b.push(
            flow,
            "an IAM administrator of the account cannot decrypt",
            a,
            "kms:Decrypt",
            (&key, &account),
            context,
            Expect::Deny,
            pages::KEY_POLICY_DEFAULT,
        );
    }
}

/// Replication health: CloudWatch (for the bundle's alarms) and S3 (for the source
/// bucket's replication events) publish to the topic and, when the bundle creates it,
/// use its key; the same services acting for another account, and anyone else, cannot.
fn monitoring(b: &mut Builder<'_>) {
    let Some(m) = b.desired.monitoring.clone() else {
        return;
    };
    let flow = "replication health notifications";
    let alarm = m.alarm_arn(&m.alarms[0].name);
    let elsewhere_alarm = format!(
        "arn:aws:cloudwatch:{}:999999999999:alarm:{}",
        m.region, m.alarms[0].name
    );
    let other_bucket = format!("arn:aws:s3:::{OTHER_BUCKET}");
    let publishers = [
        (
            CLOUDWATCH,
            "a CloudWatch alarm of the bundle",
            alarm.as_str(),
            elsewhere_alarm.as_str(),
            pages::ALARM_ACTIONS,
        ),
        (
            S3,
            "S3 (the source bucket's replication events)",
            m.bucket_arn.as_str(),
            other_bucket.as_str(),
            pages::S3_NOTIFY_SNS,
        ),
    ];
    let key = m.topic.created.as_ref().map(|c| c.key.as_str().to_string());
    for (service, who, source_arn, elsewhere, page) in publishers {
        let principal = (service, Caller::Service);
        let own = ctx(&[
            ("aws:SourceAccount", &m.account),
            ("aws:SourceArn", source_arn),
        ]);
        let foreign = ctx(&[
            ("aws:SourceAccount", "999999999999"),
            ("aws:SourceArn", elsewhere),
        ]);
        b.push(
            flow,
            &format!("{who} publishes to the topic"),
            principal,
            SNS_PUBLISH,
            (&m.topic.arn, &m.account),
            own.clone(),
            Expect::Allow,
            page,
        );
        b.push(
            flow,
            "the service acting for another account cannot publish (confused deputy)",
            principal,
            SNS_PUBLISH,
            (&m.topic.arn, &m.account),
            foreign.clone(),
            Expect::Deny,
            pages::CONFUSED_DEPUTY,
        );
        if let Some(key) = &key {
            for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
                b.push(
                    flow,
                    &format!("{who} encrypts its message with the topic's key"),
                    principal,
                    action,
                    (key, &m.account),
                    own.clone(),
                    Expect::Allow,
                    pages::SNS_ENCRYPTED_TOPIC,
                );
                b.push(
                    flow,
                    "the service acting for another account cannot use the topic's key",
                    principal,
                    action,
                    (key, &m.account),
                    foreign.clone(),
                    Expect::Deny,
                    pages::CONFUSED_DEPUTY,
                );
            }
        }
    }
    let intruder = "arn:aws:iam::999999999999:role/intruder";
    b.push(
        flow,
        "a principal of another account (even with sns:* in IAM) cannot publish",
        (intruder, Caller::Unrestricted),
        SNS_PUBLISH,
        (&m.topic.arn, &m.account),
        ctx(&[]),
        Expect::Deny,
        pages::CROSS_ACCOUNT_EVALUATION,
    );
    if let Some(key) = &key {
        b.push(
            flow,
            "a principal of another account cannot decrypt the topic's messages",
            (intruder, Caller::Unrestricted),
            "kms:Decrypt",
            (key, &m.account),
            ctx(&[]),
            Expect::Deny,
            pages::CROSS_ACCOUNT_EVALUATION,
        );
    }
}
