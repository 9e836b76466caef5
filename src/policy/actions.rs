//! The least-privilege action lists, written once. `model` builds every generated policy
//! from these, and audit compares live policies against what `model` built, so a change
//! here changes both the Terraform and the drift check.
//!
//! Each list names the AWS page that decides it; docs/permissions.md lists every request
//! these actions authorise, flow by flow, and tests/permissions.rs proves each one with
//! an independent IAM evaluator.

/// Replication role, on the source bucket.
pub const REPLICATION_SOURCE_BUCKET: &[&str] = &["s3:GetReplicationConfiguration", "s3:ListBucket"];

/// Replication role, on source objects.
pub const REPLICATION_SOURCE_OBJECTS: &[&str] = &[
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionTagging",
];

/// Replication role, on destination objects (same account).
pub const REPLICATION_DESTINATION_OBJECTS: &[&str] = &[
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
];

/// Added on destination objects when the destination is another account: the replicas
/// are handed to the destination bucket's owner.
pub const REPLICATION_OWNER_OVERRIDE: &str = "s3:ObjectOwnerOverrideToBucketOwner";

/// Replication role, on the source key.
pub const REPLICATION_SOURCE_KEY: &[&str] = &["kms:Decrypt"];

/// Replication role, on the destination (replica) key. Decrypt too: "To use replication
/// with an S3 Bucket Key, the AWS KMS key policy for the KMS key that's used to encrypt
/// the object replica must include the kms:Decrypt permission for the calling principal"
/// (S3 user guide, replication-config-for-kms-objects). Every bucket of the bundle has
/// S3 Bucket Keys on. S3 Batch Replication replicates with this role too (the rule's
/// role), so it needs nothing more on the replica key.
pub const REPLICATION_DESTINATION_KEY: &[&str] =
    &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"];

/// Batch Replication role, on source objects.
pub const BATCH_SOURCE_OBJECTS: &[&str] = &["s3:InitiateReplication"];

/// Batch Replication role, on the source bucket (S3 generates the manifest).
pub const BATCH_SOURCE_BUCKET: &[&str] = &[
    "s3:GetReplicationConfiguration",
    "s3:PutInventoryConfiguration",
];

/// Batch Replication role, reading manifests under the report prefix.
pub const BATCH_MANIFEST_READ: &[&str] = &["s3:GetObject", "s3:GetObjectVersion"];

/// Batch Replication role, writing completion reports and generated manifests.
pub const BATCH_REPORT_WRITE: &[&str] = &["s3:PutObject"];

/// Batch Replication role, on the source key (reports and manifests are encrypted with it).
pub const BATCH_KEY: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];

/// Batch copy role (S3PutObjectCopy, a role of the destination account, where the job
/// runs), on source objects: CopyObject reads the object and, to copy them along, its
/// tags.
pub const BATCH_COPY_SOURCE_OBJECTS: &[&str] = &["s3:GetObject", "s3:GetObjectTagging"];

/// Batch copy role, on destination objects: the copy (only SSE-KMS with the bucket's
/// key, a condition of its statement). No ACLs: the bundle's buckets enforce
/// bucket-owner ownership.
pub const BATCH_COPY_DESTINATION_OBJECTS: &[&str] = &["s3:PutObject"];

/// Batch copy role, on destination objects: the copied tags.
pub const BATCH_COPY_DESTINATION_TAGS: &[&str] = &["s3:PutObjectTagging"];

/// Batch copy role, reading its manifests under the work prefix of the destination
/// bucket (S3 Batch Operations reads the manifest object as the job's role).
pub const BATCH_COPY_MANIFEST_READ: &[&str] = &["s3:GetObject"];

/// Batch copy role, on the destination key: a data key for each copy, and Decrypt to read
/// the manifest (uploaded under the bucket's default encryption, the destination key).
pub const BATCH_COPY_DESTINATION_KEY: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];

/// Copy role, on the source bucket.
/// Restore role (`s3bridge restore`): list the replica's versions (ListObjectVersions).
pub const RESTORE_FROM_BUCKET: &[&str] = &["s3:ListBucketVersions"];
/// Read one version (HEAD/GET/CopyObject's source half with `versionId`) and its tags.
pub const RESTORE_FROM_OBJECTS: &[&str] = &["s3:GetObjectVersion", "s3:GetObjectVersionTagging"];
/// The target (the source bucket): its current objects (ListObjectsV2) and its own
/// versions for a rollback in place (`--from source`).
pub const RESTORE_TARGET_BUCKET: &[&str] = &["s3:ListBucket", "s3:ListBucketVersions"];
/// The target's objects: HEAD of the current object (checksums), its versions (in-place
/// rollback), the restored copy with its tags, and aborting its own failed multipart
/// uploads.
pub const RESTORE_TARGET_OBJECTS: &[&str] = &[
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionTagging",
    "s3:PutObject",
    "s3:PutObjectTagging",
    "s3:AbortMultipartUpload",
];
/// Decrypt the replica's versions (CopyObject reads them through S3).
pub const RESTORE_FROM_KEY: &[&str] = &["kms:Decrypt"];
/// Encrypt the restored copies; multipart copies also Decrypt.
pub const RESTORE_TARGET_KEY: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];

pub const COPY_SOURCE_BUCKET: &[&str] = &["s3:ListBucket"];

/// Copy role, on source objects: read the object and its tags. Checksums and part
/// layouts come from HEAD (s3:GetObject), so s3:GetObjectAttributes is not needed; copy
/// never names a version (`x-amz-copy-source` is bucket/key), so s3:GetObjectVersion is
/// not either (S3 authorises a request with a versionId by it, one without by GetObject:
/// S3 user guide, "Amazon S3 actions" / using-with-s3-policy-actions).
pub const COPY_SOURCE_OBJECTS: &[&str] = &["s3:GetObject", "s3:GetObjectTagging"];

/// Copy role, on the destination bucket: list it, and list the incomplete multipart
/// uploads under its prefixes (ListMultipartUploads is authorised as
/// s3:ListBucketMultipartUploads, Service Authorization Reference for Amazon S3), so a
/// rerun finds and aborts the ones an interrupted run left (`transfer::copy::uploads`).
pub const COPY_DESTINATION_BUCKET: &[&str] = &["s3:ListBucket", "s3:ListBucketMultipartUploads"];

/// Copy role, on destination objects: write (single and multipart, with tags), abort its
/// own failed multipart uploads, and read back for `verify` (HEAD and GET).
pub const COPY_DESTINATION_OBJECTS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:GetObject",
    "s3:PutObject",
    "s3:PutObjectTagging",
];

/// Copy role, on the source key.
pub const COPY_SOURCE_KEY: &[&str] = &["kms:Decrypt"];

/// Copy role, on the destination key; multipart uploads need Decrypt as well.
pub const COPY_DESTINATION_KEY: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];

/// Copy role, on the destination key, called directly (not through S3): `s3bridge copy`
/// finds the key behind the destination's alias ARN with DescribeKey, which works across
/// accounts with an alias ARN (KMS API reference, DescribeKey: "To specify a KMS key in
/// a different AWS account, you must use the key ARN or alias ARN"). Metadata only.
pub const COPY_DESCRIBE_KEY: &[&str] = &["kms:DescribeKey"];

/// Principals that read and write a bucket's objects through S3 (`kms_users`).
pub const BUCKET_USER_KEY: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];

/// Key administrators: manage the key, never use it. Explicit rather than `kms:Create*`
/// (which would include CreateGrant, a way to hand oneself usage) or `kms:*`. No
/// kms:ListAliases: it uses no particular key ("use a wildcard character alone (\"*\")
/// ... for operations that don't use any particular KMS key, namely CreateKey,
/// GenerateRandom, ListAliases, and ListKeys": KMS developer guide,
/// cmks-in-iam-policies), so only an IAM policy can grant it; in a key policy it has no
/// effect.
pub const KEY_ADMINISTRATION: &[&str] = &[
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
];

/// The KMS operations that read or write data: never granted to administrators.
pub const KEY_USAGE: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:CreateGrant",
];

/// Every action the bucket-policy TLS deny covers.
pub const ALL_S3: &str = "s3:*";

/// The one action a trust policy grants.
pub const ASSUME_ROLE: &str = "sts:AssumeRole";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administrators_never_get_usage() {
        for action in KEY_ADMINISTRATION {
            assert!(!KEY_USAGE.contains(action), "{action} is usage");
            assert!(!action.contains('*'), "{action} is a wildcard");
        }
    }
}
