//! Tier 2's requests: HEAD with checksum mode (encryption, additional checksums, storage
//! class) and, when a comparison needs it, the part layout of a multipart object (one
//! HEAD with `partNumber` per part; S3 answers each with that part's size).
//!
//! Every request pins the object by the ETag the listing showed (`If-Match`), so an
//! object overwritten since it was listed is reported as changed instead of being
//! compared in its new form.

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::types::{ChecksumMode, ChecksumType, ServerSideEncryption};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tokio::task::JoinSet;

use super::evidence::{Checksum, ChecksumKind, Encryption, EtagKind, Head};

/// One object on one side.
#[derive(Debug, Clone)]
pub struct Object<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub bucket: &'a str,
    pub key: &'a str,
    /// The ETag the listing showed.
    pub etag: &'a str,
}

/// Why a request about one object failed, in words for the report.
pub fn describe<E>(what: &str, error: &SdkError<E, HttpResponse>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    match (error.as_service_error().and_then(|e| e.code()), status) {
        (Some("PreconditionFailed"), _) | (_, Some(412)) => {
            format!("{what}: the object changed since it was listed; verify again")
        }
        (Some("NoSuchKey"), _) | (_, Some(404)) => {
            format!("{what}: the object was deleted since it was listed; verify again")
        }
        (Some("AccessDenied"), _) | (_, Some(403)) => format!(
            "{what}: access denied (verify needs s3:GetObject, and kms:Decrypt for SSE-KMS)"
        ),
        (_, Some(400)) => {
            format!("{what}: refused (400); an SSE-C object can only be read with its customer key")
        }
        _ => format!("{what}: {}", crate::aws::error::describe(error)),
    }
}

/// HEAD with checksum mode on.
pub async fn head(object: &Object<'_>) -> Result<Head, String> {
    let out = object
        .s3
        .head_object()
        .bucket(object.bucket)
        .key(object.key)
        .if_match(quoted(object.etag))
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .map_err(|e| describe(&format!("HEAD s3://{}/{}", object.bucket, object.key), &e))?;
    let etag = out
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let multipart = matches!(super::evidence::etag_kind(&etag), EtagKind::Multipart(_));
    let declared = out.checksum_type().and_then(|t| match t {
        ChecksumType::FullObject => Some(ChecksumKind::FullObject),
        ChecksumType::Composite => Some(ChecksumKind::Composite),
        _ => None,
    });
    let checksums = [
        ("CRC32", out.checksum_crc32()),
        ("CRC32C", out.checksum_crc32_c()),
        ("CRC64NVME", out.checksum_crc64_nvme()),
        ("SHA1", out.checksum_sha1()),
        ("SHA256", out.checksum_sha256()),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| Checksum::parse(name, v, declared, multipart)))
    .collect();
    let encryption = if out.sse_customer_algorithm().is_some() {
        Encryption::SseC
    } else {
        match out.server_side_encryption() {
            None => Encryption::None,
            Some(ServerSideEncryption::Aes256) => Encryption::SseS3,
            Some(ServerSideEncryption::AwsKmsDsse) => Encryption::DsseKms,
            // aws:kms, and anything newer: not an MD5 ETag as far as we know.
            Some(_) => Encryption::Kms,
        }
    };
    Ok(Head {
        size: out.content_length().unwrap_or(0).max(0) as u64,
        etag,
        encryption,
        checksums,
        storage_class: out.storage_class().map(|c| c.as_str().to_string()),
    })
}

pub fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// Part sizes of a multipart object with `parts` parts: one HEAD per part, `at_once` at a time.
pub async fn layout(object: &Object<'_>, parts: u32, at_once: usize) -> Result<Vec<u64>, String> {
    let mut sizes = vec![0u64; parts as usize];
    let mut running = JoinSet::new();
    let mut next = 1u32;
    let what = format!("part sizes of s3://{}/{}", object.bucket, object.key);
    loop {
        while next <= parts && running.len() < at_once.max(1) {
            let call = object
                .s3
                .head_object()
                .bucket(object.bucket)
                .key(object.key)
                .if_match(quoted(object.etag))
                .part_number(next as i32);
            let number = next;
            running.spawn(async move { (number, call.send().await) });
            next += 1;
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (number, result) = done.map_err(|e| format!("{what}: {e}"))?;
        let out = result.map_err(|e| describe(&what, &e))?;
        if out.parts_count().is_some_and(|n| n as u32 != parts) {
            return Err(format!(
                "{what}: the object has {} parts, its ETag says {parts}",
                out.parts_count().unwrap_or(0)
            ));
        }
        sizes[number as usize - 1] = out.content_length().unwrap_or(0).max(0) as u64;
    }
    Ok(sizes)
}
