//! Tier 3: settle a pair from the bytes. The cheapest proof is chosen by
//! `evidence::deep_plan`: stream one side and hash it into a digest the other side
//! already has (a full-object checksum, an MD5 ETag, or a multipart ETag recomputed
//! with that side's part layout), or, when neither side has a usable digest, stream
//! both and compare them byte by byte.
//!
//! Every GET is pinned to the ETag the listing showed (`If-Match`).

use std::str::FromStr;

use md5::{Digest, Md5};

use super::class::{Class, Outcome, Tier};
use super::evidence::{self, DeepPlan, Head, Side, Target};
use super::head::{self, Object};

/// Hashes a stream into one of the digests S3 shows.
enum Hasher {
    Checksum(Box<dyn aws_smithy_checksums::http::HttpChecksum>),
    Md5(Md5),
    /// MD5 per part of a given layout, then the MD5 of the parts' digests.
    Multipart {
        layout: Vec<u64>,
        part: usize,
        left_in_part: u64,
        current: Md5,
        digests: Vec<u8>,
    },
}

impl Hasher {
    fn new(target: &Target, layout: Option<Vec<u64>>) -> Result<Hasher, String> {
        Ok(match target {
            Target::Checksum { algorithm, .. } => Hasher::Checksum(
                aws_smithy_checksums::ChecksumAlgorithm::from_str(&algorithm.to_ascii_lowercase())
                    .map_err(|e| format!("cannot compute {algorithm}: {e}"))?
                    .into_impl(),
            ),
            Target::Md5(_) => Hasher::Md5(Md5::new()),
            Target::MultipartEtag(_) => {
                let layout = layout.ok_or("no part layout")?;
                Hasher::Multipart {
                    left_in_part: layout.first().copied().unwrap_or(0),
                    layout,
                    part: 0,
                    current: Md5::new(),
                    digests: Vec::new(),
                }
            }
        })
    }

    fn update(&mut self, mut bytes: &[u8]) {
        match self {
            Hasher::Checksum(c) => c.update(bytes),
            Hasher::Md5(m) => m.update(bytes),
            Hasher::Multipart {
                layout,
                part,
                left_in_part,
                current,
                digests,
            } => {
                while !bytes.is_empty() {
                    if *left_in_part == 0 && *part + 1 < layout.len() {
                        digests.extend_from_slice(&std::mem::take(current).finalize());
                        *part += 1;
                        *left_in_part = layout[*part];
                    }
                    // Bytes past the layout's end go into the last part; the length
                    // check in `matches` catches them.
                    let n = if *part + 1 < layout.len() {
                        (*left_in_part).min(bytes.len() as u64) as usize
                    } else {
                        bytes.len()
                    };
                    current.update(&bytes[..n]);
                    *left_in_part = left_in_part.saturating_sub(n as u64);
                    bytes = &bytes[n..];
                }
            }
        }
    }

    /// The digest in the form S3 shows it.
    fn finish(self) -> String {
        match self {
            Hasher::Checksum(c) => aws_smithy_types::base64::encode(c.finalize()),
            Hasher::Md5(m) => crate::transfer::inventory::manifest::hex(&m.finalize()),
            Hasher::Multipart {
                layout,
                current,
                mut digests,
                ..
            } => {
                digests.extend_from_slice(&current.finalize());
                format!(
                    "{}-{}",
                    crate::transfer::inventory::manifest::hex(&Md5::digest(&digests)),
                    layout.len()
                )
            }
        }
    }
}

/// Recomputes a multipart ETag from bytes and a layout (for tests and docs examples).
pub fn multipart_etag(bytes: &[u8], layout: &[u64]) -> String {
    let mut hasher = Hasher::new(&Target::MultipartEtag(String::new()), Some(layout.to_vec()))
        .expect("a layout is given");
    hasher.update(bytes);
    hasher.finish()
}

/// What tier 3 read, for the summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct Read {
    pub bytes: u64,
    pub gets: u64,
}

async fn get(object: &Object<'_>) -> Result<aws_sdk_s3::primitives::ByteStream, String> {
    object
        .s3
        .get_object()
        .bucket(object.bucket)
        .key(object.key)
        .if_match(head::quoted(object.etag))
        .send()
        .await
        .map(|out| out.body)
        .map_err(|e| head::describe(&format!("GET s3://{}/{}", object.bucket, object.key), &e))
}

/// Times a stream cut off mid-body is read again from the start (the SDK retries the
/// request itself, not a body that breaks after the answer began).
const BODY_ATTEMPTS: u32 = 3;

/// Why streaming an object failed.
enum StreamError {
    /// The GET itself (the SDK already retried what was worth retrying).
    Request(String),
    /// The body broke off mid-way: reading it again may succeed.
    Body(String),
}

impl StreamError {
    fn into_message(self) -> String {
        match self {
            StreamError::Request(e) | StreamError::Body(e) => e,
        }
    }
}

/// Runs `read` again while it fails mid-body, up to `BODY_ATTEMPTS` times.
async fn reading_again<T, F, Fut>(mut read: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StreamError>>,
{
    let mut attempt = 1;
    loop {
        match read().await {
            Ok(value) => return Ok(value),
            Err(StreamError::Body(_)) if attempt < BODY_ATTEMPTS => attempt += 1,
            Err(e) => return Err(e.into_message()),
        }
    }
}

fn body_error(object: &Object<'_>, e: impl std::fmt::Display) -> StreamError {
    StreamError::Body(format!(
        "reading s3://{}/{}: {e}",
        object.bucket, object.key
    ))
}

/// Streams `object` through `hasher`; returns the digest and the number of bytes.
async fn stream_digest(
    object: &Object<'_>,
    mut hasher: Hasher,
) -> Result<(String, u64), StreamError> {
    let mut body = get(object).await.map_err(StreamError::Request)?;
    let mut total = 0u64;
    while let Some(chunk) = body.try_next().await.map_err(|e| body_error(object, e))? {
        total += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((hasher.finish(), total))
}

/// Streams both objects and compares them; Ok(true) when byte-identical.
async fn compare_streams(
    a: &Object<'_>,
    b: &Object<'_>,
    read: &mut Read,
) -> Result<bool, StreamError> {
    let (left, right) = tokio::join!(get(a), get(b));
    let (mut left, mut right) = (
        left.map_err(StreamError::Request)?,
        right.map_err(StreamError::Request)?,
    );
    read.gets += 2;
    let (mut l, mut r) = (bytes::Bytes::new(), bytes::Bytes::new());
    let (mut left_done, mut right_done) = (false, false);
    let error = body_error;
    loop {
        if l.is_empty() && !left_done {
            match left.try_next().await.map_err(|e| error(a, e))? {
                Some(chunk) => l = chunk,
                None => left_done = true,
            }
        }
        if r.is_empty() && !right_done {
            match right.try_next().await.map_err(|e| error(b, e))? {
                Some(chunk) => r = chunk,
                None => right_done = true,
            }
        }
        let n = l.len().min(r.len());
        if l[..n] != r[..n] {
            return Ok(false);
        }
        read.bytes += 2 * n as u64;
        let _ = l.split_to(n);
        let _ = r.split_to(n);
        match (left_done && l.is_empty(), right_done && r.is_empty()) {
            (true, true) => return Ok(true),
            (true, false) | (false, true) if n == 0 => return Ok(false),
            _ => {}
        }
    }
}

/// Settles a pair that tiers 1 and 2 left open, from the bytes.
pub async fn settle(
    source: &Object<'_>,
    destination: &Object<'_>,
    source_head: &Head,
    destination_head: &Head,
    read: &mut Read,
) -> Outcome {
    let unverified = |reason: String| Outcome::new(Class::Unverified, Tier::Deep, reason);
    match evidence::deep_plan(source_head, destination_head) {
        DeepPlan::Impossible(reason) => unverified(reason),
        DeepPlan::CompareBytes => match reading_again(|| {
            let mut attempt_read = Read::default();
            async move {
                let same = compare_streams(source, destination, &mut attempt_read).await;
                same.map(|same| (same, attempt_read))
            }
        })
        .await
        .map(|(same, attempt_read)| {
            read.gets += attempt_read.gets;
            read.bytes += attempt_read.bytes;
            same
        }) {
            Ok(true) => Outcome::new(Class::Match, Tier::Deep, "bytes identical"),
            Ok(false) => Outcome::new(Class::ContentMismatch, Tier::Deep, "bytes differ"),
            Err(e) => unverified(e),
        },
        DeepPlan::Recompute { stream, target } => {
            let (streamed, digest_side) = match stream {
                Side::Source => (source, destination),
                Side::Destination => (destination, source),
            };
            let (expected, what) = match &target {
                Target::Checksum { algorithm, value } => {
                    (value.clone(), format!("{algorithm} checksum"))
                }
                Target::Md5(etag) => (etag.clone(), "MD5 ETag".to_string()),
                Target::MultipartEtag(etag) => (etag.clone(), "multipart ETag".to_string()),
            };
            let layout = match &target {
                Target::MultipartEtag(etag) => {
                    let parts = match evidence::etag_kind(etag) {
                        evidence::EtagKind::Multipart(n) => n,
                        _ => return unverified(format!("{etag} is not a multipart ETag")),
                    };
                    match head::layout(digest_side, parts, 8).await {
                        Ok(layout) => Some(layout),
                        Err(e) => return unverified(e),
                    }
                }
                _ => None,
            };
            if let Err(e) = Hasher::new(&target, layout.clone()) {
                return unverified(e);
            }
            read.gets += 1;
            let digest = reading_again(|| {
                let hasher = Hasher::new(&target, layout.clone()).expect("built once above");
                stream_digest(streamed, hasher)
            })
            .await;
            match digest {
                Err(e) => unverified(e),
                Ok((actual, bytes)) => {
                    read.bytes += bytes;
                    let layout_total: Option<u64> = layout.map(|l| l.iter().sum());
                    let same = actual == expected && layout_total.is_none_or(|t| t == bytes);
                    let sides = format!(
                        "the {}'s bytes {} the {}'s {what}",
                        stream.as_str(),
                        if same { "hash to" } else { "do not hash to" },
                        stream.other().as_str()
                    );
                    if same {
                        Outcome::new(Class::Match, Tier::Deep, sides)
                    } else {
                        Outcome::new(Class::ContentMismatch, Tier::Deep, sides)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etag_matches_s3s_definition() {
        // md5(md5(part1) || md5(part2))-2, computed independently.
        let bytes: Vec<u8> = (0..25u8).collect();
        let mut digests = Vec::new();
        digests.extend_from_slice(&Md5::digest(&bytes[..10]));
        digests.extend_from_slice(&Md5::digest(&bytes[10..]));
        let expected = format!(
            "{}-2",
            crate::transfer::inventory::manifest::hex(&Md5::digest(&digests))
        );
        assert_eq!(multipart_etag(&bytes, &[10, 15]), expected);
        // Fed in odd chunks, the same.
        let mut hasher =
            Hasher::new(&Target::MultipartEtag(String::new()), Some(vec![10, 15])).unwrap();
        for chunk in bytes.chunks(3) {
            hasher.update(chunk);
        }
        assert_eq!(hasher.finish(), expected);
        assert_ne!(multipart_etag(&bytes, &[12, 13]), expected);
    }

    #[test]
    fn checksums_in_s3s_form() {
        let target = Target::Checksum {
            algorithm: "CRC32",
            value: String::new(),
        };
        let mut hasher = Hasher::new(&target, None).unwrap();
        hasher.update(b"hello world");
        // CRC32 of "hello world" is 0x0d4a1185.
        assert_eq!(
            hasher.finish(),
            aws_smithy_types::base64::encode([0x0d, 0x4a, 0x11, 0x85])
        );
        let mut md5 = Hasher::new(&Target::Md5(String::new()), None).unwrap();
        md5.update(b"hello world");
        assert_eq!(md5.finish(), "5eb63bbbe01eeed093cb22bb8f5acdc3");
    }
}
