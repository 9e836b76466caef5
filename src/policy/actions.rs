//! The least-privilege action lists, written once. `model` builds every generated policy
//! from these, and audit compares live policies against what `model` built, so a change
//! here changes both the Terraform and the drift check.
//!
//! Sources: S3 user guide "Setting up permissions for live replication", "Granting
//! permissions for Batch Operations", and the KMS developer guide "Default key policy".

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

/// Replication role, on the destination key.
pub const REPLICATION_DESTINATION_KEY: &[&str] = &["kms:Encrypt", "kms:GenerateDataKey"];

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

/// Batch copy role (S3PutObjectCopy), on source objects: CopyObject reads the object and,
/// to copy them along, its tags.
pub const BATCH_COPY_SOURCE_OBJECTS: &[&str] = &["s3:GetObject", "s3:GetObjectTagging"];

/// Batch copy role, on destination objects: the copy with its tags. No ACLs: the bundle's
/// buckets enforce bucket-owner ownership.
pub const BATCH_COPY_DESTINATION_OBJECTS: &[&str] = &["s3:PutObject", "s3:PutObjectTagging"];

/// Batch copy role, on the destination key: a single CopyObject (S3 Batch Operations
/// never copies multipart) only asks KMS for a data key.
pub const BATCH_COPY_DESTINATION_KEY: &[&str] = &["kms:GenerateDataKey"];

/// Copy role, on the source bucket.
pub const COPY_SOURCE_BUCKET: &[&str] = &["s3:ListBucket"];

/// Copy role, on source objects: read the object, its version and tags. Checksums and
/// part layouts come from HEAD (s3:GetObject), so s3:GetObjectAttributes is not needed.
pub const COPY_SOURCE_OBJECTS: &[&str] =
    &["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion"];

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

/// Principals that read and write a bucket's objects through S3 (`kms_users`).
pub const BUCKET_USER_KEY: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];

/// Key administrators: manage the key, never use it. Explicit rather than `kms:Create*`
/// (which would include CreateGrant, a way to hand oneself usage) or `kms:*`.
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
    "kms:ListAliases",
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
