//! Incomplete multipart uploads s3bridge started and nobody finished: the ones an earlier
//! run left (killed, or stopped while aborting), aborted when the next run starts; and
//! the one a CreateMultipartUpload leaves when its reply is lost and the retry starts a
//! second upload.
//!
//! **Recognising them.** ListMultipartUploads answers, per upload, only its Key,
//! UploadId, Initiated, Initiator, Owner, StorageClass and checksum algorithm and type
//! (S3 API Reference, "MultipartUpload" data type); no request shows the metadata or
//! tags of an upload in progress, and metadata or a tag set at CreateMultipartUpload
//! would stay on the finished object, changing what copy preserves. So an upload is
//! s3bridge's when what the listing shows says so:
//! - its key is one this run writes: inside a segment's destination prefix and owned by
//!   it, standing for a source key the filter accepts and the shard covers;
//! - its initiator is this run's own principal: `Initiator.ID` equals the ARN or the
//!   user id that sts:GetCallerIdentity returns (asked once, and only when there is an
//!   upload to judge). With `--assume-copy-role` that principal is s3bridge's own
//!   session of the copy role (`assumed-role/<role>/s3bridge-copy`);
//! - for the cleanup at the start of a run: it was initiated before the run started.
//!
//! Uploads of other writers (another principal, a key outside the plan) are never
//! touched; the cleanup says how many it left alone.

use std::time::SystemTime;

use aws_sdk_s3::types::MultipartUpload;
use tokio::sync::OnceCell;

use super::execute::Copier;
use super::retry::{retry, RequestError};
use crate::transfer::keys::KeyPlan;
use crate::transfer::listing::KeyRange;

/// The principal this run writes as, asked of STS once when first needed.
#[derive(Debug)]
pub struct Principal {
    sts: Option<aws_sdk_sts::Client>,
    /// (ARN, user id), or why they are unknown.
    ids: OnceCell<Result<(String, String), String>>,
}

impl Principal {
    /// The principal behind `sts`'s credentials (the destination side's).
    pub fn of(sts: aws_sdk_sts::Client) -> Principal {
        Principal {
            sts: Some(sts),
            ids: OnceCell::new(),
        }
    }

    /// No principal: no upload is ever recognised as this run's (dry runs, tests).
    pub fn unknown() -> Principal {
        Principal {
            sts: None,
            ids: OnceCell::new(),
        }
    }

    async fn ids(&self) -> &Result<(String, String), String> {
        self.ids
            .get_or_init(|| async {
                let Some(sts) = &self.sts else {
                    return Err("no credentials to ask".to_string());
                };
                let who = sts.get_caller_identity().send().await.map_err(|e| {
                    format!(
                        "sts:GetCallerIdentity failed: {}",
                        crate::aws::error::describe(&e)
                    )
                })?;
                Ok((
                    who.arn().unwrap_or_default().to_string(),
                    who.user_id().unwrap_or_default().to_string(),
                ))
            })
            .await
    }

    /// Whether this principal started `upload`.
    pub async fn started(&self, upload: &MultipartUpload) -> Result<bool, String> {
        let (arn, user_id) = self.ids().await.as_ref().map_err(Clone::clone)?;
        let initiator = upload.initiator().and_then(|i| i.id()).unwrap_or_default();
        Ok(!initiator.is_empty() && (initiator == arn || initiator == user_id))
    }
}

/// What the cleanup at the start of a run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Uploads an earlier run left, aborted now.
    pub aborted: u64,
    /// Incomplete uploads in the copied prefixes that are not this principal's, or not
    /// for a key this run writes: left alone.
    pub left_alone: u64,
    /// Uploads that should have been aborted but could not be (with why).
    pub failed: Vec<String>,
}

/// Aborts the incomplete uploads an earlier s3bridge run left in the keys this run
/// writes (`plan`, `shard`), initiated before `started`. One ListMultipartUploads per
/// 1,000 uploads per segment; nothing else when there is none.
pub async fn abort_left_over(
    copier: &Copier,
    plan: &KeyPlan,
    shard: Option<&KeyRange>,
    started: SystemTime,
) -> Result<Cleanup, RequestError> {
    let mut cleanup = Cleanup::default();
    let bucket = &copier.destination;
    for segment in &plan.segments {
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        loop {
            let page = retry(&copier.retry, &copier.gate, || {
                bucket
                    .s3
                    .list_multipart_uploads()
                    .bucket(&bucket.name)
                    .prefix(&segment.destination_prefix)
                    .set_key_marker(key_marker.clone())
                    .set_upload_id_marker(id_marker.clone())
                    .send()
            })
            .await?;
            for upload in page.uploads() {
                let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else {
                    continue;
                };
                if !segment.owns_destination(key) {
                    continue; // a nested segment's key: judged when that one is listed
                }
                let source_key = segment.to_source(key);
                let ours_to_write = plan.filter.accepts(&source_key)
                    && shard.is_none_or(|range| range.contains(&source_key));
                let before_this_run = upload
                    .initiated()
                    .and_then(|t| SystemTime::try_from(*t).ok())
                    .is_some_and(|t| t < started);
                let ours = ours_to_write
                    && before_this_run
                    && copier
                        .principal
                        .started(upload)
                        .await
                        .map_err(RequestError::new)?;
                if !ours {
                    cleanup.left_alone += 1;
                    continue;
                }
                match copier.abort(key, id).await {
                    Ok(()) => cleanup.aborted += 1,
                    Err(e) => cleanup.failed.push(format!(
                        "s3://{}/{key} (upload {id}): {}",
                        bucket.name, e.message
                    )),
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            id_marker = page.next_upload_id_marker().map(str::to_string);
            if key_marker.is_none() && id_marker.is_none() {
                break;
            }
        }
    }
    Ok(cleanup)
}

/// After a CreateMultipartUpload that succeeded only on a retry whose earlier attempt may
/// have been carried out: aborts this principal's other uploads of `key`, so the lost
/// one is not left open. Returns how many were aborted.
pub async fn abort_duplicates(
    copier: &Copier,
    key: &str,
    keep_upload_id: &str,
) -> Result<u64, RequestError> {
    let bucket = &copier.destination;
    let page = retry(&copier.retry, &copier.gate, || {
        bucket
            .s3
            .list_multipart_uploads()
            .bucket(&bucket.name)
            .prefix(key)
            .send()
    })
    .await?;
    let mut aborted = 0;
    for upload in page.uploads() {
        let (Some(other_key), Some(id)) = (upload.key(), upload.upload_id()) else {
            continue;
        };
        if other_key != key || id == keep_upload_id {
            continue;
        }
        if copier
            .principal
            .started(upload)
            .await
            .map_err(RequestError::new)?
        {
            copier.abort(key, id).await?;
            aborted += 1;
        }
    }
    Ok(aborted)
}
