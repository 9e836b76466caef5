//! `s3bridge reencrypt SPEC [--side source|destination] [--dry-run]`: rewrites in place,
//! under the bucket's default key, the objects written before the key was (SSE-S3, or
//! another key). Each object is copied onto itself by the copy engine of `s3bridge copy`
//! (CopyObject with the key; multipart objects part by part with UploadPartCopy along the
//! source's part boundaries; metadata, tags and storage class kept). Every object is
//! HEADed first, so a rerun rewrites only what is still not under the key, and the counts
//! before and after are exact, not sampled. On a versioned bucket the rewrite is a new
//! version; the old one stays as a noncurrent version until lifecycle expires it.

use std::sync::Arc;

use anyhow::Result;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_smithy_types::retry::RetryConfig;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::{block_on, load_spec, side_access, Status};
use crate::aws::error::AwsResultExt;
use crate::aws::Session;
use crate::cli::ReencryptArgs;
use crate::error::Problem;
use crate::spec::CopyEngine;
use crate::transfer::copy::execute::{Copier, DestinationSettings, Transport};
use crate::transfer::copy::retry::{Aimd, RetryPolicy};
use crate::transfer::copy::uploads::Principal;
use crate::transfer::diff::Bucket;
use crate::transfer::listing::ObjectEntry;
use crate::transfer::shutdown::Shutdown;
use crate::{errln, note, outln};

/// How an object is encrypted, relative to the bucket's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encryption {
    UnderKey,
    SseS3,
    OtherKey,
    None,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    under_key: u64,
    sse_s3: u64,
    other_key: u64,
    unencrypted: u64,
}

impl Counts {
    fn add(&mut self, e: Encryption) {
        match e {
            Encryption::UnderKey => self.under_key += 1,
            Encryption::SseS3 => self.sse_s3 += 1,
            Encryption::OtherKey => self.other_key += 1,
            Encryption::None => self.unencrypted += 1,
        }
    }

    fn total(&self) -> u64 {
        self.under_key + self.sse_s3 + self.other_key + self.unencrypted
    }

    fn not_under_key(&self) -> u64 {
        self.total() - self.under_key
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} objects: {} under the bucket's key, {} SSE-S3, {} under another key, {} unencrypted",
            self.total(),
            self.under_key,
            self.sse_s3,
            self.other_key,
            self.unencrypted
        )
    }
}

/// Whether `found` (an ARN or a key id, as S3 reports it) is the key `arn`.
fn same_key(found: &str, arn: &str) -> bool {
    found == arn || arn.rsplit_once('/').is_some_and(|(_, id)| found == id)
}

/// The bucket's default key ARN: the key every object should be under.
async fn default_key(session: &Session, bucket: &str) -> Result<String> {
    let answer = session
        .s3()
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .aws("GetBucketEncryption", format!("s3://{bucket}"))?;
    let key = answer
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .filter(|d| d.sse_algorithm() == &ServerSideEncryption::AwsKms)
        .and_then(|d| d.kms_master_key_id())
        .filter(|k| k.contains(":key/"));
    key.map(String::from).ok_or_else(|| {
        Problem::input(
            format!("s3://{bucket} does not encrypt by default with a customer-managed key (by ARN)"),
            "apply the bundle first (`s3bridge generate` and `terraform apply`): reencrypt moves objects under the key the bundle sets",
        )
        .into()
    })
}

/// Every object (current versions) with how it is encrypted, from a HEAD each.
async fn survey(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key_arn: &str,
    concurrency: usize,
) -> Result<Vec<(ObjectEntry, Encryption)>> {
    let mut entries = Vec::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.aws("ListObjectsV2", format!("s3://{bucket}"))?;
        for o in page.contents() {
            entries.push(ObjectEntry {
                key: o.key().unwrap_or_default().to_string(),
                size: u64::try_from(o.size().unwrap_or(0)).unwrap_or(0),
                etag: o.e_tag().unwrap_or_default().trim_matches('"').to_string(),
                last_modified_ms: o.last_modified().map_or(0, |t| t.to_millis().unwrap_or(0)),
                storage_class: o.storage_class().map(|c| c.as_str().to_string()),
                checksum_algorithm: o
                    .checksum_algorithm()
                    .first()
                    .map(|c| c.as_str().to_string()),
                checksum_type: o.checksum_type().map(|c| c.as_str().to_string()),
            });
        }
    }
    stream::iter(entries.into_iter().map(|entry| async move {
        let head = s3
            .head_object()
            .bucket(bucket)
            .key(&entry.key)
            .send()
            .await
            .aws("HeadObject", format!("s3://{bucket}/{}", entry.key))?;
        let encryption = match head.server_side_encryption() {
            Some(ServerSideEncryption::AwsKms) | Some(ServerSideEncryption::AwsKmsDsse) => {
                if head.ssekms_key_id().is_some_and(|k| same_key(k, key_arn)) {
                    Encryption::UnderKey
                } else {
                    Encryption::OtherKey
                }
            }
            Some(ServerSideEncryption::Aes256) => Encryption::SseS3,
            _ => Encryption::None,
        };
        anyhow::Ok((entry, encryption))
    }))
    .buffered(concurrency)
    .try_collect()
    .await
}

fn counts(objects: &[(ObjectEntry, Encryption)]) -> Counts {
    let mut counts = Counts::default();
    for (_, e) in objects {
        counts.add(*e);
    }
    counts
}

pub fn run(args: &ReencryptArgs) -> Result<Status> {
    if args.engine == Some(CopyEngine::Batch) {
        return Err(Problem::usage(
            "reencrypt has no Batch Operations engine yet",
            "run it with the local engine (the default): it copies each object onto itself server-side",
        )
        .into());
    }
    let loaded = load_spec(&args.spec)?;
    let spec = &loaded.spec;
    let side = args.side;
    let b = spec.side(side);
    let (access, _) = side_access(&args.aws, side, Some(b), "s3bridge-reencrypt")?;
    let concurrency = args.concurrency as usize;
    block_on(async {
        let session = Session::connect(&access).await?;
        session
            .expect_account(side.as_str(), &[&b.account_id])
            .await?;
        let key_arn = default_key(&session, &b.bucket).await?;
        let s3 = session.s3();
        let before = survey(&s3, &b.bucket, &key_arn, concurrency).await?;
        let before_counts = counts(&before);
        outln!("before: s3://{}: {before_counts}", b.bucket)?;
        let todo: Vec<&ObjectEntry> = before
            .iter()
            .filter(|(_, e)| *e != Encryption::UnderKey)
            .map(|(o, _)| o)
            .collect();
        if todo.is_empty() {
            outln!("nothing to rewrite: every object is under {key_arn}")?;
            return Ok(Status::Success);
        }
        if args.dry_run {
            outln!(
                "dry run: {} object{} would be rewritten under {key_arn}",
                todo.len(),
                if todo.len() == 1 { "" } else { "s" }
            )?;
            return Ok(Status::Success);
        }
        // The copy engine's own retries, as `s3bridge copy` has them.
        let copy_client = session.s3_with(|c| c.retry_config(RetryConfig::disabled()));
        let bucket = Bucket {
            s3: copy_client,
            name: b.bucket.clone(),
        };
        let copier = Copier {
            source: bucket.clone(),
            destination: bucket,
            settings: DestinationSettings {
                kms_key_arn: Some(key_arn.clone()),
                ..DestinationSettings::default()
            },
            transport: Transport::ServerSide,
            retry: RetryPolicy::default(),
            gate: Aimd::new(concurrency),
            part_concurrency: 4,
            shutdown: Shutdown::new(),
            principal: Arc::new(Principal::of(session.sts())),
        };
        let results: Vec<(String, Result<(), String>)> = stream::iter(todo.into_iter().map(|o| {
            let copier = &copier;
            async move {
                let result = copier
                    .copy(o, &o.key)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                (o.key.clone(), result)
            }
        }))
        .buffer_unordered(concurrency)
        .collect()
        .await;
        let failed: Vec<&(String, Result<(), String>)> =
            results.iter().filter(|(_, r)| r.is_err()).collect();
        for (key, error) in &failed {
            if let Err(error) = error {
                errln!("could not rewrite s3://{}/{key}: {error}", b.bucket);
            }
        }
        note!(
            "rewrote {} object{} in place",
            results.len() - failed.len(),
            if results.len() - failed.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        let after_counts = counts(&survey(&s3, &b.bucket, &key_arn, concurrency).await?);
        outln!("after: s3://{}: {after_counts}", b.bucket)?;
        if after_counts.not_under_key() > 0 {
            errln!(
                "{} object{} still not under the key; run reencrypt again (it rewrites only those)",
                after_counts.not_under_key(),
                if after_counts.not_under_key() == 1 {
                    " is"
                } else {
                    "s are"
                }
            );
            return Ok(Status::Failure);
        }
        Ok(Status::Success)
    })?
}

#[cfg(test)]
mod tests {
    use super::same_key;

    #[test]
    fn a_key_is_named_by_arn_or_id() {
        let arn = "arn:aws:kms:eu-west-1:111111111111:key/abcd-1234";
        assert!(same_key(arn, arn));
        assert!(same_key("abcd-1234", arn));
        assert!(!same_key(
            "arn:aws:kms:eu-west-1:111111111111:key/other",
            arn
        ));
    }
}
