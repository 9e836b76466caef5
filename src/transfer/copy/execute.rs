//! Carrying out one object's copy: the requests, in the fewest S3 allows.
//!
//! With one principal that can read the source and write the destination, S3 copies
//! server-side and no byte passes through this machine:
//! - a single-part source: one CopyObject (metadata, content type and tags copied by S3,
//!   `CopySourceIfMatch` pinning the listed ETag, the destination's key, storage class
//!   and ACL applied);
//! - a multipart source (and so anything over 5 GiB): its own part layout is read (HEAD
//!   `?partNumber=N`, which also gives the part count and the metadata), then
//!   CreateMultipartUpload + one UploadPartCopy per source part + Complete. Same parts,
//!   same boundaries: the destination ETag equals the source ETag (for unencrypted and
//!   SSE-S3 objects), which is what makes the copy verifiable.
//!
//! With separate credentials per side, nothing can be copied server-side; the object is
//! streamed GET → PUT through memory (never a temp file), part by part for multipart
//! sources, again with the source's layout.
//!
//! A multipart upload that fails, or that the run's shutdown stops, is aborted, so a
//! failed or interrupted run leaves no parts behind.
//!
//! A request whose reply is lost may have been carried out, and its retry then meets its
//! own effect: CompleteMultipartUpload answers NoSuchUpload (the upload is already the
//! object), AbortMultipartUpload answers NoSuchUpload (already aborted), CopyObject
//! answers 412 (the source changed after the first attempt copied it), and a retried
//! CreateMultipartUpload starts a second upload. Each is settled by looking at the
//! destination (HEAD: the size and the ETag this copy makes; ListMultipartUploads for
//! the extra upload) rather than reported as a failure. That costs a request only when a
//! reply was lost, never on the way of a copy that went well.

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    MetadataDirective, ObjectCannedAcl, ServerSideEncryption, StorageClass, TaggingDirective,
};
use futures_util::stream::{self, StreamExt, TryStreamExt};

use std::future::Future;
use std::sync::Arc;

use super::outcome::Method;
use super::retry::{retry, retry_noting, Aimd, RequestError, RetryPolicy};
use super::uploads::{self, Principal};
use crate::transfer::diff::Bucket;
use crate::transfer::listing::ObjectEntry;
use crate::transfer::shutdown::Shutdown;

/// CopyObject's limit; larger objects can only be copied part by part.
pub const MAX_SINGLE_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// Storage class of the copies: per source prefix (a spec's replication rules), else a
/// default, else the source object's own class.
#[derive(Debug, Clone, Default)]
pub struct StorageClassPolicy {
    /// (source key prefix, class); the longest matching prefix wins.
    pub by_prefix: Vec<(String, String)>,
    pub default: Option<String>,
}

impl StorageClassPolicy {
    pub fn class_for(&self, source: &ObjectEntry) -> Option<String> {
        self.by_prefix
            .iter()
            .filter(|(prefix, _)| source.key.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, class)| class.clone())
            .or_else(|| self.default.clone())
            .or_else(|| {
                // S3 writes STANDARD unless told; keep the source's class instead.
                source.storage_class.clone().filter(|c| c != "STANDARD")
            })
    }
}

/// What every copy applies on the destination side.
#[derive(Debug, Clone, Default)]
pub struct DestinationSettings {
    /// SSE-KMS with this key ARN (a bucket policy may deny any other key).
    pub kms_key_arn: Option<String>,
    pub storage_class: StorageClassPolicy,
    /// A canned ACL, only for destinations that still use ACLs
    /// (`bucket-owner-full-control` across accounts).
    pub acl: Option<String>,
}

/// Server-side copy with one principal, or streaming with one client per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    ServerSide,
    Stream,
}

/// The result of a copy that worked.
#[derive(Debug, Clone)]
pub struct Copied {
    pub method: Method,
    pub requests: u64,
    pub source_version: Option<String>,
    pub destination_version: Option<String>,
    pub destination_etag: Option<String>,
    /// A reply was lost and the copy was found done at the destination (HEAD).
    pub settled_lost_reply: bool,
}

/// Requests a copy of `source` takes by `transport` (for a dry run's estimate), by
/// operation. Multipart counts assume one GetObjectTagging.
pub fn planned_requests(source: &ObjectEntry, transport: Transport) -> Vec<(&'static str, u64)> {
    let parts = source.multipart_parts().map(u64::from);
    match (transport, parts) {
        (Transport::ServerSide, None) if source.size <= MAX_SINGLE_COPY => {
            vec![("CopyObject", 1)]
        }
        (Transport::ServerSide, parts) => {
            let n = parts.unwrap_or(source.size.div_ceil(MAX_SINGLE_COPY));
            vec![
                ("HeadObject", n),
                ("GetObjectTagging", 1),
                ("CreateMultipartUpload", 1),
                ("UploadPartCopy", n),
                ("CompleteMultipartUpload", 1),
            ]
        }
        (Transport::Stream, None) => vec![("GetObject", 1), ("PutObject", 1)],
        (Transport::Stream, Some(n)) => vec![
            ("GetObject", n),
            ("GetObjectTagging", 1),
            ("CreateMultipartUpload", 1),
            ("UploadPart", n),
            ("CompleteMultipartUpload", 1),
        ],
    }
}

/// Everything one object's copy needs; shared by all copies of a run.
#[derive(Debug, Clone)]
pub struct Copier {
    pub source: Bucket,
    pub destination: Bucket,
    pub settings: DestinationSettings,
    pub transport: Transport,
    pub retry: RetryPolicy,
    pub gate: Arc<Aimd>,
    /// Parts of one multipart object copied at once.
    pub part_concurrency: usize,
    /// The run's shutdown: at `Cancelling`, copies in flight stop and abort their uploads.
    pub shutdown: Shutdown,
    /// Who this run writes as (to recognise its own multipart uploads).
    pub principal: Arc<Principal>,
}

/// `bucket/key` for x-amz-copy-source, the key percent-encoded ('/' kept).
pub fn copy_source(bucket: &str, key: &str) -> String {
    format!("{bucket}/{}", encode_key(key))
}

/// A key URL-encoded as x-amz-copy-source and Batch Operations CSV manifests want it:
/// everything but unreserved characters and '/' percent-encoded (UTF-8).
pub fn encode_key(key: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(key, KEEP).to_string()
}

/// x-amz-copy-source for one version of a key: `bucket/key?versionId=V` (S3 API
/// reference, CopyObject: "To copy a specific version of an object, append
/// ?versionId=<version-id> to the value"); the current version without one.
pub fn copy_source_version(bucket: &str, key: &str, version: Option<&str>) -> String {
    match version {
        Some(version) => format!(
            "{}?versionId={}",
            copy_source(bucket, key),
            percent_encoding::utf8_percent_encode(version, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => copy_source(bucket, key),
    }
}

fn quoted(etag: &str) -> String {
    format!("\"{}\"", etag.trim_matches('"'))
}

fn unquoted(etag: Option<&str>) -> Option<String> {
    etag.map(|e| e.trim_matches('"').to_string())
}

/// Tags as the `x-amz-tagging` header wants them: a URL query string.
fn tagging_header(tags: &[aws_sdk_s3::types::Tag]) -> String {
    tags.iter()
        .map(|t| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(t.key(), percent_encoding::NON_ALPHANUMERIC),
                percent_encoding::utf8_percent_encode(
                    t.value(),
                    percent_encoding::NON_ALPHANUMERIC
                )
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The destination settings (key, class, ACL) on any write request builder.
macro_rules! with_destination_settings {
    ($request:expr, $settings:expr, $source:expr) => {{
        let mut request = $request;
        if let Some(key) = &$settings.kms_key_arn {
            request = request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key);
        }
        if let Some(class) = $settings.storage_class.class_for($source) {
            request = request.storage_class(StorageClass::from(class.as_str()));
        }
        if let Some(acl) = &$settings.acl {
            request = request.acl(ObjectCannedAcl::from(acl.as_str()));
        }
        request
    }};
}

/// The source's metadata and content headers (from a HEAD or GET) on a write request.
macro_rules! with_source_headers {
    ($request:expr, $head:expr) => {{
        let head = $head;
        let mut request = $request
            .set_metadata(head.metadata().cloned())
            .set_content_type(head.content_type().map(str::to_string))
            .set_cache_control(head.cache_control().map(str::to_string))
            .set_content_disposition(head.content_disposition().map(str::to_string))
            .set_content_encoding(head.content_encoding().map(str::to_string))
            .set_content_language(head.content_language().map(str::to_string))
            .set_website_redirect_location(head.website_redirect_location().map(str::to_string));
        if let Some(expires) = head
            .expires_string()
            .and_then(|e| DateTime::from_str(e, DateTimeFormat::HttpDate).ok())
        {
            request = request.expires(expires);
        }
        request
    }};
}

/// A part's checksum from an UploadPartCopy / UploadPart answer, into a CompletedPart.
macro_rules! completed_part {
    ($number:expr, $result:expr) => {{
        let r = $result;
        CompletedPart::builder()
            .part_number($number)
            .set_e_tag(r.e_tag().map(str::to_string))
            .set_checksum_crc32(r.checksum_crc32().map(str::to_string))
            .set_checksum_crc32_c(r.checksum_crc32_c().map(str::to_string))
            .set_checksum_crc64_nvme(r.checksum_crc64_nvme().map(str::to_string))
            .set_checksum_sha1(r.checksum_sha1().map(str::to_string))
            .set_checksum_sha256(r.checksum_sha256().map(str::to_string))
            .build()
    }};
}

/// One source part: its number and byte range.
#[derive(Debug, Clone, Copy)]
struct Part {
    number: i32,
    first: u64,
    last: u64,
}

impl Copier {
    pub async fn copy(
        &self,
        source: &ObjectEntry,
        destination_key: &str,
    ) -> Result<Copied, RequestError> {
        self.copy_version(source, None, destination_key).await
    }

    /// Copies one version of the source key (restore: the version current at a past
    /// time), or with None the current one. Every source read (CopyObject's and
    /// UploadPartCopy's x-amz-copy-source, HEAD, GET, GetObjectTagging) names the
    /// version, so the copy has that version's bytes, part layout, metadata and tags.
    pub async fn copy_version(
        &self,
        source: &ObjectEntry,
        version: Option<&str>,
        destination_key: &str,
    ) -> Result<Copied, RequestError> {
        let multipart = source.multipart_parts().is_some() || source.size > MAX_SINGLE_COPY;
        match (self.transport, multipart) {
            (Transport::ServerSide, false) => {
                self.unless_cancelled(self.copy_object(source, version, destination_key))
                    .await
            }
            (Transport::ServerSide, true) => {
                self.copy_parts(source, version, destination_key).await
            }
            (Transport::Stream, false) => {
                self.unless_cancelled(self.stream_object(source, version, destination_key))
                    .await
            }
            (Transport::Stream, true) => self.stream_parts(source, version, destination_key).await,
        }
    }

    /// `work`, unless the run's shutdown cancels it first. Never wrapped around a
    /// CreateMultipartUpload or a Complete: stopping those half-way would leave an upload
    /// nobody knows of, or one whose fate is unknown.
    async fn unless_cancelled<T>(
        &self,
        work: impl Future<Output = Result<T, RequestError>>,
    ) -> Result<T, RequestError> {
        tokio::select! {
            biased;
            done = work => done,
            _ = self.shutdown.cancelled() => Err(RequestError::interrupted()),
        }
    }

    async fn copy_object(
        &self,
        source: &ObjectEntry,
        version: Option<&str>,
        key: &str,
    ) -> Result<Copied, RequestError> {
        let copy_source = copy_source_version(&self.source.name, &source.key, version);
        let if_match = quoted(&source.etag);
        let copied = retry(&self.retry, &self.gate, || {
            let request = self
                .destination
                .s3
                .copy_object()
                .bucket(&self.destination.name)
                .key(key)
                .copy_source(&copy_source)
                .copy_source_if_match(&if_match)
                .metadata_directive(MetadataDirective::Copy)
                .tagging_directive(TaggingDirective::Copy);
            with_destination_settings!(request, self.settings, source).send()
        })
        .await;
        let out = match copied {
            Ok(out) => out,
            // The first attempt copied the listed version, then the source changed and
            // the retry's CopySourceIfMatch failed: the destination holds what was listed.
            Err(e) if e.is_precondition_failed() && e.after_uncertain_attempt => {
                return match self.destination_object(key).await? {
                    Some(found) if found.size == source.size && found.etag == source.etag => {
                        Ok(Copied {
                            method: Method::CopyObject,
                            requests: 1,
                            source_version: None,
                            destination_version: found.version,
                            destination_etag: Some(found.etag),
                            settled_lost_reply: true,
                        })
                    }
                    _ => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        Ok(Copied {
            method: Method::CopyObject,
            requests: 1,
            source_version: out.copy_source_version_id().map(str::to_string),
            destination_version: out.version_id().map(str::to_string),
            destination_etag: unquoted(out.copy_object_result().and_then(|r| r.e_tag())),
            settled_lost_reply: false,
        })
    }

    /// Whether the destination holds `key` (HEAD).
    pub async fn exists(&self, key: &str) -> Result<bool, RequestError> {
        Ok(self.destination_object(key).await?.is_some())
    }

    /// The destination object's size, ETag and version (HEAD), None when it is absent.
    async fn destination_object(&self, key: &str) -> Result<Option<Found>, RequestError> {
        let head = retry(&self.retry, &self.gate, || {
            self.destination
                .s3
                .head_object()
                .bucket(&self.destination.name)
                .key(key)
                .send()
        })
        .await;
        match head {
            Ok(head) => Ok(Some(Found {
                size: head.content_length().unwrap_or(0).max(0) as u64,
                etag: unquoted(head.e_tag()).unwrap_or_default(),
                version: head.version_id().map(str::to_string),
            })),
            Err(e) if e.status == Some(404) || e.is("NotFound") || e.is("NoSuchKey") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// HEAD `?partNumber=n` of the source, pinned to the listed ETag.
    async fn head_part(
        &self,
        source: &ObjectEntry,
        version: Option<&str>,
        number: i32,
    ) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput, RequestError> {
        let if_match = quoted(&source.etag);
        retry(&self.retry, &self.gate, || {
            self.source
                .s3
                .head_object()
                .bucket(&self.source.name)
                .key(&source.key)
                .set_version_id(version.map(str::to_string))
                .part_number(number)
                .if_match(&if_match)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
        })
        .await
    }

    /// The source's tags as a header value, read only when HEAD/GET counted some (S3
    /// sends `x-amz-tagging-count` only for tagged objects).
    async fn source_tags(
        &self,
        source: &ObjectEntry,
        version: Option<&str>,
        tag_count: Option<i32>,
    ) -> Result<Option<String>, RequestError> {
        if tag_count.unwrap_or(0) == 0 {
            return Ok(None);
        }
        let tags = retry(&self.retry, &self.gate, || {
            self.source
                .s3
                .get_object_tagging()
                .bucket(&self.source.name)
                .key(&source.key)
                .set_version_id(version.map(str::to_string))
                .send()
        })
        .await?;
        Ok((!tags.tag_set().is_empty()).then(|| tagging_header(tags.tag_set())))
    }

    /// The source's checksum algorithm and type, so the copy stores the same kind.
    fn checksum_settings(
        source: &ObjectEntry,
    ) -> (Option<ChecksumAlgorithm>, Option<ChecksumType>) {
        let algorithm = source
            .checksum_algorithm
            .as_deref()
            .map(ChecksumAlgorithm::from);
        let kind = algorithm
            .as_ref()
            .and(source.checksum_type.as_deref().map(ChecksumType::from));
        (algorithm, kind)
    }

    async fn create_upload(
        &self,
        source: &ObjectEntry,
        key: &str,
        head: &impl SourceHeaders,
        tagging: Option<String>,
    ) -> Result<String, RequestError> {
        let (algorithm, kind) = Self::checksum_settings(source);
        let (created, uncertain) = retry_noting(&self.retry, &self.gate, || {
            let request = self
                .destination
                .s3
                .create_multipart_upload()
                .bucket(&self.destination.name)
                .key(key)
                .set_tagging(tagging.clone())
                .set_checksum_algorithm(algorithm.clone())
                .set_checksum_type(kind.clone());
            let request = head.apply_to_create(request);
            with_destination_settings!(request, self.settings, source).send()
        })
        .await?;
        let upload_id = created
            .upload_id()
            .map(str::to_string)
            .ok_or_else(|| RequestError::new("CreateMultipartUpload returned no upload id"))?;
        if uncertain {
            // An earlier attempt whose reply was lost may have started an upload too.
            if let Err(e) = uploads::abort_duplicates(self, key, &upload_id).await {
                eprintln!(
                    "note: s3://{}/{key}: looking for the upload a lost CreateMultipartUpload reply may have left failed ({}); the next run aborts it",
                    self.destination.name, e.message
                );
            }
        }
        Ok(upload_id)
    }

    /// Completes an upload. A Complete whose reply was lost and whose retry then finds no
    /// upload (NoSuchUpload), or that never got an answer, is settled with a HEAD: the
    /// object is there with `size` bytes and the ETag these parts make, or it failed.
    async fn complete_upload(
        &self,
        key: &str,
        upload_id: &str,
        mut parts: Vec<CompletedPart>,
        size: u64,
    ) -> Result<Completed, RequestError> {
        parts.sort_by_key(|p| p.part_number());
        let expected_etag = etag_of_parts(&parts);
        let upload = CompletedMultipartUpload::builder()
            .set_parts(Some(parts))
            .build();
        let completed = retry(&self.retry, &self.gate, || {
            self.destination
                .s3
                .complete_multipart_upload()
                .bucket(&self.destination.name)
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(upload.clone())
                .send()
        })
        .await;
        match completed {
            Ok(done) => Ok(Completed {
                etag: unquoted(done.e_tag()),
                version: done.version_id().map(str::to_string),
                settled: false,
            }),
            Err(e) if e.is("NoSuchUpload") || e.after_uncertain_attempt => {
                match self.destination_object(key).await? {
                    Some(found)
                        if found.size == size && Some(&found.etag) == expected_etag.as_ref() =>
                    {
                        Ok(Completed {
                            etag: Some(found.etag),
                            version: found.version,
                            settled: true,
                        })
                    }
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Aborts an upload; one that is already gone (NoSuchUpload: aborted by an earlier
    /// attempt whose reply was lost) is the state wanted.
    pub async fn abort(&self, key: &str, upload_id: &str) -> Result<(), RequestError> {
        let aborted = retry(&self.retry, &self.gate, || {
            self.destination
                .s3
                .abort_multipart_upload()
                .bucket(&self.destination.name)
                .key(key)
                .upload_id(upload_id)
                .send()
        })
        .await;
        match aborted {
            Ok(_) => Ok(()),
            Err(e) if e.is("NoSuchUpload") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Aborts a failed or interrupted upload so no parts are left behind (and billed).
    async fn abort_upload(&self, key: &str, upload_id: &str, cause: RequestError) -> RequestError {
        match self.abort(key, upload_id).await {
            Ok(()) => cause,
            Err(abort) => RequestError {
                message: format!(
                    "{} (and aborting multipart upload {upload_id} failed too: {}; the next run aborts it, or the bucket's lifecycle rule for incomplete uploads)",
                    cause.message, abort.message
                ),
                ..cause
            },
        }
    }

    /// The source's parts: part 1's HEAD gives the count, the others their sizes.
    async fn source_parts(
        &self,
        source: &ObjectEntry,
        version: Option<&str>,
        first: &aws_sdk_s3::operation::head_object::HeadObjectOutput,
    ) -> Result<Vec<Part>, RequestError> {
        let count = first.parts_count().unwrap_or(1).max(1);
        let mut sizes = vec![first.content_length().unwrap_or(0).max(0) as u64];
        let rest: Vec<u64> = stream::iter(2..=count)
            .map(|n| async move {
                self.head_part(source, version, n)
                    .await
                    .map(|h| h.content_length().unwrap_or(0).max(0) as u64)
            })
            .buffered(self.part_concurrency.max(1))
            .try_collect()
            .await?;
        sizes.extend(rest);
        let total: u64 = sizes.iter().sum();
        if total != source.size {
            return Err(RequestError::new(format!(
                "the source's parts add up to {total} bytes, the listing said {}; it changed since it was listed",
                source.size
            )));
        }
        let mut offset = 0;
        Ok(sizes
            .iter()
            .enumerate()
            .map(|(i, size)| {
                let part = Part {
                    number: i as i32 + 1,
                    first: offset,
                    last: offset + size.saturating_sub(1),
                };
                offset += size;
                part
            })
            .collect())
    }

    async fn copy_parts(
        &self,
        source: &ObjectEntry,
        version: Option<&str>,
        key: &str,
    ) -> Result<Copied, RequestError> {
        let first = self
            .unless_cancelled(self.head_part(source, version, 1))
            .await?;
        if first.parts_count().is_none() && source.size <= MAX_SINGLE_COPY {
            // A single-part object after all (an ETag that merely looks multipart).
            return self
                .unless_cancelled(self.copy_object(source, version, key))
                .await;
        }
        let parts = self
            .unless_cancelled(self.source_parts(source, version, &first))
            .await?;
        let tagging = self
            .unless_cancelled(self.source_tags(source, version, first.tag_count()))
            .await?;
        let upload_id = self
            .create_upload(source, key, &first, tagging.clone())
            .await?;
        let copy_source = copy_source_version(&self.source.name, &source.key, version);
        let if_match = quoted(&source.etag);
        let copy_all = stream::iter(parts.iter().copied())
            .map(|part| {
                let (copy_source, if_match, upload_id) = (&copy_source, &if_match, &upload_id);
                async move {
                    let out = retry(&self.retry, &self.gate, || {
                        self.destination
                            .s3
                            .upload_part_copy()
                            .bucket(&self.destination.name)
                            .key(key)
                            .upload_id(upload_id)
                            .part_number(part.number)
                            .copy_source(copy_source)
                            .copy_source_if_match(if_match)
                            .copy_source_range(format!("bytes={}-{}", part.first, part.last))
                            .send()
                    })
                    .await?;
                    let result = out
                        .copy_part_result()
                        .ok_or_else(|| RequestError::new("UploadPartCopy returned no result"))?;
                    Ok(completed_part!(part.number, result))
                }
            })
            .buffer_unordered(self.part_concurrency.max(1))
            .try_collect::<Vec<CompletedPart>>();
        let copied = self.unless_cancelled(copy_all).await;
        let completed = match copied {
            Ok(parts) => {
                self.complete_upload(key, &upload_id, parts, source.size)
                    .await
            }
            Err(e) => Err(e),
        };
        match completed {
            Ok(done) => Ok(Copied {
                method: Method::UploadPartCopy,
                requests: 2 * parts.len() as u64 + 2 + u64::from(tagging.is_some()),
                source_version: first.version_id().map(str::to_string),
                destination_version: done.version,
                destination_etag: done.etag,
                settled_lost_reply: done.settled,
            }),
            Err(e) => Err(self.abort_upload(key, &upload_id, e).await),
        }
    }

    async fn stream_object(
        &self,
        source: &ObjectEntry,
        version: Option<&str>,
        key: &str,
    ) -> Result<Copied, RequestError> {
        let if_match = quoted(&source.etag);
        let mut requests = 0;
        // The whole GET → PUT is one attempt: a body cannot be re-read after a failure.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let got = retry(&self.retry, &self.gate, || {
                self.source
                    .s3
                    .get_object()
                    .bucket(&self.source.name)
                    .key(&source.key)
                    .set_version_id(version.map(str::to_string))
                    .if_match(&if_match)
                    .checksum_mode(ChecksumMode::Enabled)
                    .send()
            })
            .await?;
            requests += 1;
            let tagging = self.source_tags(source, version, got.tag_count()).await?;
            requests += u64::from(tagging.is_some());
            let source_version = got.version_id().map(str::to_string);
            let request = self
                .destination
                .s3
                .put_object()
                .bucket(&self.destination.name)
                .key(key)
                .content_length(got.content_length().unwrap_or(0))
                .set_tagging(tagging)
                // The source's full-object checksum, so S3 verifies what it receives.
                .set_checksum_crc64_nvme(got.checksum_crc64_nvme().map(str::to_string))
                .set_checksum_crc32(full_object(&got, got.checksum_crc32()))
                .set_checksum_crc32_c(full_object(&got, got.checksum_crc32_c()))
                .set_checksum_sha1(full_object(&got, got.checksum_sha1()))
                .set_checksum_sha256(full_object(&got, got.checksum_sha256()));
            let request = with_source_headers!(request, &got);
            let request = with_destination_settings!(request, self.settings, source);
            requests += 1;
            match request.body(got.body).send().await {
                Ok(put) => {
                    self.gate.on_success();
                    return Ok(Copied {
                        method: Method::Stream,
                        requests,
                        source_version,
                        destination_version: put.version_id().map(str::to_string),
                        destination_etag: unquoted(put.e_tag()),
                        settled_lost_reply: false,
                    });
                }
                Err(error) => self.after_failed_upload(&error, attempts).await?,
            }
        }
    }

    /// After a failed upload of a body that cannot be sent twice (PutObject, UploadPart
    /// of a GET's stream): Err to give up, Ok (after a pause) to read the source again
    /// and retry.
    async fn after_failed_upload<E>(
        &self,
        error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
        attempts: u32,
    ) -> Result<(), RequestError>
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let failure = super::retry::classify(error);
        if failure == super::retry::Failure::Throttled {
            self.gate.on_throttle();
        }
        if failure == super::retry::Failure::Permanent || attempts >= self.retry.max_attempts {
            return Err(RequestError::new(crate::aws::error::describe(error)));
        }
        tokio::time::sleep(self.retry.base * attempts).await;
        Ok(())
    }

    async fn stream_parts(
        &self,
        source: &ObjectEntry,
        version: Option<&str>,
        key: &str,
    ) -> Result<Copied, RequestError> {
        let if_match = quoted(&source.etag);
        let get_part = |number: i32| {
            let if_match = &if_match;
            async move {
                retry(&self.retry, &self.gate, || {
                    self.source
                        .s3
                        .get_object()
                        .bucket(&self.source.name)
                        .key(&source.key)
                        .set_version_id(version.map(str::to_string))
                        .part_number(number)
                        .if_match(if_match)
                        .send()
                })
                .await
            }
        };
        let first = self.unless_cancelled(get_part(1)).await?;
        let count = first.parts_count().unwrap_or(1).max(1);
        let tagging = self
            .unless_cancelled(self.source_tags(source, version, first.tag_count()))
            .await?;
        let upload_id = self
            .create_upload(source, key, &first, tagging.clone())
            .await?;
        let source_version = first.version_id().map(str::to_string);
        // One part: GET → UploadPart. A body cannot be read twice, so a failed UploadPart
        // is retried with the part fetched again.
        let copy_part =
            |number: i32, mut got: aws_sdk_s3::operation::get_object::GetObjectOutput| {
                let upload_id = &upload_id;
                let get_part = &get_part;
                async move {
                    let mut attempts = 1;
                    loop {
                        let put = self
                            .destination
                            .s3
                            .upload_part()
                            .bucket(&self.destination.name)
                            .key(key)
                            .upload_id(upload_id)
                            .part_number(number)
                            .content_length(got.content_length().unwrap_or(0))
                            .body(got.body)
                            .send()
                            .await;
                        match put {
                            Ok(out) => {
                                self.gate.on_success();
                                return Ok::<_, RequestError>(completed_part!(number, out));
                            }
                            Err(error) => {
                                self.after_failed_upload(&error, attempts).await?;
                                attempts += 1;
                                got = get_part(number).await?;
                            }
                        }
                    }
                }
            };
        let copy_all = async {
            let first_part = copy_part(1, first).await?;
            let mut parts = stream::iter(2..=count)
                .map(|n| async move { copy_part(n, get_part(n).await?).await })
                .buffer_unordered(self.part_concurrency.max(1))
                .try_collect::<Vec<_>>()
                .await?;
            parts.push(first_part);
            Ok(parts)
        };
        let completed = match self.unless_cancelled(copy_all).await {
            Ok(parts) => {
                self.complete_upload(key, &upload_id, parts, source.size)
                    .await
            }
            Err(e) => Err(e),
        };
        match completed {
            Ok(done) => Ok(Copied {
                method: Method::StreamParts,
                requests: 2 * count as u64 + 2 + u64::from(tagging.is_some()),
                source_version,
                destination_version: done.version,
                destination_etag: done.etag,
                settled_lost_reply: done.settled,
            }),
            Err(e) => Err(self.abort_upload(key, &upload_id, e).await),
        }
    }
}

/// What a completed upload became.
struct Completed {
    etag: Option<String>,
    version: Option<String>,
    /// Complete's reply was lost; the HEAD found the object.
    settled: bool,
}

/// A destination object as HEAD shows it.
struct Found {
    size: u64,
    etag: String,
    version: Option<String>,
}

/// The ETag S3 gives the object these parts make: the MD5 of the parts' binary MD5s,
/// then `-` and the number of parts. None when a part's ETag is not an MD5 in hex.
fn etag_of_parts(parts: &[CompletedPart]) -> Option<String> {
    use md5::{Digest, Md5};
    let mut digests = Vec::with_capacity(16 * parts.len());
    for part in parts {
        let etag = part.e_tag()?.trim_matches('"');
        if etag.len() != 32 {
            return None;
        }
        for pair in etag.as_bytes().chunks(2) {
            let pair = std::str::from_utf8(pair).ok()?;
            digests.push(u8::from_str_radix(pair, 16).ok()?);
        }
    }
    Some(format!(
        "{}-{}",
        crate::transfer::inventory::manifest::hex(&Md5::digest(&digests)),
        parts.len()
    ))
}

/// A checksum header's value when the object's checksum is a full-object one.
fn full_object(
    got: &aws_sdk_s3::operation::get_object::GetObjectOutput,
    value: Option<&str>,
) -> Option<String> {
    let full = got.checksum_type() == Some(&ChecksumType::FullObject)
        || (got.checksum_type().is_none() && got.parts_count().is_none());
    value
        .filter(|v| full && !v.contains('-'))
        .map(str::to_string)
}

/// HEAD and GET answers both carry the source's headers; either can seed an upload.
trait SourceHeaders {
    fn apply_to_create(
        &self,
        request: aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder,
    ) -> aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder;
}

impl SourceHeaders for aws_sdk_s3::operation::head_object::HeadObjectOutput {
    fn apply_to_create(
        &self,
        request: aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder,
    ) -> aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder
    {
        with_source_headers!(request, self)
    }
}

impl SourceHeaders for aws_sdk_s3::operation::get_object::GetObjectOutput {
    fn apply_to_create(
        &self,
        request: aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder,
    ) -> aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder
    {
        with_source_headers!(request, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, size: u64, etag: &str, class: Option<&str>) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            size,
            etag: etag.into(),
            last_modified_ms: 0,
            storage_class: class.map(str::to_string),
            checksum_algorithm: None,
            checksum_type: None,
        }
    }

    #[test]
    fn copy_source_encodes_the_key_but_not_its_slashes() {
        assert_eq!(
            copy_source("b", "a dir/ü+x?.txt"),
            "b/a%20dir/%C3%BC%2Bx%3F.txt"
        );
    }

    #[test]
    fn storage_class_by_rule_then_default_then_source() {
        let policy = StorageClassPolicy {
            by_prefix: vec![("scans/".into(), "STANDARD_IA".into())],
            default: None,
        };
        assert_eq!(
            policy.class_for(&entry("scans/a", 1, "e", None)).as_deref(),
            Some("STANDARD_IA")
        );
        assert_eq!(
            policy.class_for(&entry("x", 1, "e", Some("STANDARD"))),
            None
        );
        assert_eq!(
            policy
                .class_for(&entry("x", 1, "e", Some("GLACIER_IR")))
                .as_deref(),
            Some("GLACIER_IR")
        );
    }

    #[test]
    fn etag_of_parts_is_s3s_multipart_etag() {
        use md5::{Digest, Md5};
        let (a, b) = (vec![b'a'; 10], vec![b'b'; 15]);
        let part = |n: i32, bytes: &[u8]| {
            CompletedPart::builder()
                .part_number(n)
                .e_tag(format!(
                    "\"{}\"",
                    crate::transfer::inventory::manifest::hex(&Md5::digest(bytes))
                ))
                .build()
        };
        let whole: Vec<u8> = [a.clone(), b.clone()].concat();
        assert_eq!(
            etag_of_parts(&[part(1, &a), part(2, &b)]).unwrap(),
            crate::transfer::verify::deep::multipart_etag(&whole, &[10, 15])
        );
        let opaque = CompletedPart::builder().part_number(1).e_tag("x").build();
        assert_eq!(etag_of_parts(&[opaque]), None);
    }

    #[test]
    fn request_budget() {
        let single = entry("k", 1024, "d41d8cd98f00b204e9800998ecf8427e", None);
        assert_eq!(
            planned_requests(&single, Transport::ServerSide),
            vec![("CopyObject", 1)]
        );
        let multi = entry("k", 30 << 20, "abc-3", None);
        let total: u64 = planned_requests(&multi, Transport::ServerSide)
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(total, 3 + 1 + 1 + 3 + 1);
    }
}
