//! Listing a bucket: one key range of one prefix as an ordered stream of pages, and the
//! probe that cuts a prefix into ranges so that several listers run at once.
//!
//! A lister never holds more than a couple of pages: it sends each page into a bounded
//! channel and waits when the consumer is behind, so memory does not grow with the
//! number of objects. Keys come in S3's order (UTF-8 bytes), which `diff` relies on.

use tokio::sync::mpsc;

/// One object as a listing (or an inventory) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    pub key: String,
    pub size: u64,
    /// The ETag without its quotes.
    pub etag: String,
    /// Milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    pub storage_class: Option<String>,
    /// The additional checksum S3 stores for the object (e.g. CRC64NVME), if any.
    pub checksum_algorithm: Option<String>,
    /// FULL_OBJECT or COMPOSITE, when S3 says.
    pub checksum_type: Option<String>,
}

impl ObjectEntry {
    /// Parts of a multipart upload, from the ETag's `-N` suffix; None for single-part.
    pub fn multipart_parts(&self) -> Option<u32> {
        ObjectEntry::parts_in_etag(&self.etag)
    }

    /// Parts of a multipart upload from any ETag (quoted or not); None for single-part.
    pub fn parts_in_etag(etag: &str) -> Option<u32> {
        etag.trim_matches('"')
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse().ok())
    }
}

/// Keys strictly after `after` and up to and including `until`; None is unbounded.
/// `StartAfter` is exclusive, hence the exclusive start; keys compare as UTF-8 bytes,
/// as S3 lists them.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct KeyRange {
    pub after: Option<String>,
    pub until: Option<String>,
}

impl KeyRange {
    pub fn all() -> KeyRange {
        KeyRange::default()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.after.as_deref().is_none_or(|a| key > a)
            && self.until.as_deref().is_none_or(|u| key <= u)
    }

    /// The part of this range that is also in `other`, if any.
    pub fn intersect(&self, other: &KeyRange) -> Option<KeyRange> {
        let after = std::cmp::max(self.after.clone(), other.after.clone());
        let until = match (&self.until, &other.until) {
            (Some(a), Some(b)) => Some(std::cmp::min(a, b).clone()),
            (a, b) => a.clone().or_else(|| b.clone()),
        };
        match (&after, &until) {
            (Some(a), Some(u)) if a >= u => None,
            _ => Some(KeyRange { after, until }),
        }
    }
}

/// A failure to read the entries of one side (a listing, or an inventory).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct ListError {
    /// What was being read, e.g. `ListObjectsV2 on s3://bucket/prefix`.
    pub what: String,
    pub message: String,
    /// What S3 answered (code, message, kind), when the failure was a request's.
    pub cause: Option<crate::aws::error::Cause>,
}

impl ListError {
    fn from_sdk<E>(
        bucket: &str,
        prefix: &str,
        error: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> ListError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let cause = crate::aws::error::Cause::of(&error);
        ListError {
            what: format!("ListObjectsV2 on s3://{bucket}/{prefix}"),
            message: cause.to_string(),
            cause: Some(cause),
        }
    }
}

/// What to list.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub bucket: String,
    pub prefix: String,
    /// Sub-prefixes to leave out (they belong to another segment).
    pub skip: Vec<String>,
    pub range: KeyRange,
    pub page_size: i32,
}

/// Larger than any key continuation: `P` + this sorts after every key under `P`.
const AFTER_EVERY_SUFFIX: char = '\u{10FFFF}';

/// Starts listing `request` in a task; pages arrive in key order on the returned channel,
/// which holds at most `buffered_pages` pages.
pub fn spawn(
    s3: aws_sdk_s3::Client,
    request: ListRequest,
    buffered_pages: usize,
) -> mpsc::Receiver<Result<Vec<ObjectEntry>, ListError>> {
    let (tx, rx) = mpsc::channel(buffered_pages.max(1));
    tokio::spawn(async move {
        if let Err(e) = list_into(&s3, &request, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    rx
}

async fn list_into(
    s3: &aws_sdk_s3::Client,
    request: &ListRequest,
    tx: &mpsc::Sender<Result<Vec<ObjectEntry>, ListError>>,
) -> Result<(), ListError> {
    let mut start_after = request.range.after.clone();
    let mut continuation: Option<String> = None;
    loop {
        let mut call = s3
            .list_objects_v2()
            .bucket(&request.bucket)
            .prefix(&request.prefix)
            .max_keys(request.page_size);
        if let Some(token) = &continuation {
            call = call.continuation_token(token);
        } else if let Some(after) = &start_after {
            call = call.start_after(after);
        }
        // A place in the channel first, then the request: a lister whose consumer is
        // behind waits without a page in hand, so pages never pile up past the channel.
        let Ok(slot) = tx.reserve().await else {
            return Ok(()); // the consumer stopped
        };
        let page = call
            .send()
            .await
            .map_err(|e| ListError::from_sdk(&request.bucket, &request.prefix, e))?;
        let mut entries = Vec::with_capacity(page.contents().len());
        let mut past_end = false;
        let mut jump_to: Option<String> = None;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            if request.range.until.as_deref().is_some_and(|u| key > u) {
                past_end = true;
                break;
            }
            if let Some(skip) = request.skip.iter().find(|p| key.starts_with(p.as_str())) {
                // Jump over the whole skipped prefix instead of paging through it.
                jump_to = Some(format!("{skip}{AFTER_EVERY_SUFFIX}"));
                break;
            }
            entries.push(entry(object, key));
        }
        let next = match (page.is_truncated(), page.next_continuation_token()) {
            (Some(true), Some(token)) => Some(token.to_string()),
            _ => None,
        };
        // The SDK's page (its parsed objects) is freed here: only our compact entries wait.
        drop(page);
        if !entries.is_empty() {
            slot.send(Ok(entries));
        }
        if past_end {
            return Ok(());
        }
        if let Some(target) = jump_to {
            continuation = None;
            start_after = Some(target);
            continue;
        }
        match next {
            Some(token) => continuation = Some(token),
            None => return Ok(()),
        }
    }
}

fn entry(object: &aws_sdk_s3::types::Object, key: &str) -> ObjectEntry {
    ObjectEntry {
        key: key.to_string(),
        size: object.size().unwrap_or(0).max(0) as u64,
        etag: object
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string(),
        last_modified_ms: object
            .last_modified()
            .map(|t| t.to_millis().unwrap_or(0))
            .unwrap_or(0),
        storage_class: object.storage_class().map(|c| c.as_str().to_string()),
        checksum_algorithm: object
            .checksum_algorithm()
            .first()
            .map(|a| a.as_str().to_string()),
        checksum_type: object.checksum_type().map(|t| t.as_str().to_string()),
    }
}

/// Cuts the keys under `prefix` into at most `ranges` ranges for parallel listing.
///
/// One ListObjectsV2 call with delimiter `/` shows how the prefix is laid out (its
/// "folders"); the boundaries are spread over those. A flat prefix without folders is
/// cut at evenly spaced characters instead. Boundaries only balance the work; any cut
/// is correct, because together the ranges cover every key exactly once.
pub async fn plan_ranges(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    ranges: usize,
) -> Result<Vec<KeyRange>, ListError> {
    if ranges <= 1 {
        return Ok(vec![KeyRange::all()]);
    }
    let probe = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .max_keys(1000)
        .send()
        .await
        .map_err(|e| ListError::from_sdk(bucket, prefix, e))?;
    let folders: Vec<String> = probe
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix().map(str::to_string))
        .collect();
    let boundaries: Vec<String> = if folders.len() >= 2 {
        // Each range ends with the last key of a folder: the folder + the largest char.
        let step = folders.len() as f64 / ranges.min(folders.len()) as f64;
        (1..ranges.min(folders.len()))
            .map(|i| {
                format!(
                    "{}{AFTER_EVERY_SUFFIX}",
                    folders[(i as f64 * step) as usize - 1]
                )
            })
            .collect()
    } else {
        // Spread over the characters keys usually continue with.
        const ALPHABET: &str = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
        let chars: Vec<char> = ALPHABET.chars().collect();
        let count = ranges.min(chars.len());
        (1..count)
            .map(|i| {
                format!(
                    "{prefix}{}{AFTER_EVERY_SUFFIX}",
                    chars[i * chars.len() / count - 1]
                )
            })
            .collect()
    };
    let mut boundaries = boundaries;
    boundaries.sort();
    boundaries.dedup();
    Ok(ranges_from_boundaries(boundaries))
}

/// Consecutive ranges ending at each boundary (inclusive), then one open-ended range:
/// N boundaries give N+1 ranges. Boundaries must not decrease.
pub fn ranges_from_boundaries(boundaries: Vec<String>) -> Vec<KeyRange> {
    let mut ranges = Vec::with_capacity(boundaries.len() + 1);
    let mut after = None;
    for boundary in boundaries {
        ranges.push(KeyRange {
            after: after.clone(),
            until: Some(boundary.clone()),
        });
        after = Some(boundary);
    }
    ranges.push(KeyRange { after, until: None });
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_key_once() {
        let ranges = ranges_from_boundaries(vec!["a/\u{10FFFF}".into(), "b\u{10FFFF}".into()]);
        for key in [
            "",
            "a",
            "a/",
            "a/x",
            "a/\u{10FFFE}",
            "a0",
            "b",
            "b/zzz",
            "c",
            "\u{10FFFF}",
        ] {
            let owners = ranges.iter().filter(|r| r.contains(key)).count();
            assert_eq!(owners, 1, "{key:?} is in {owners} ranges");
        }
    }

    #[test]
    fn intersection() {
        let a = KeyRange {
            after: Some("b".into()),
            until: Some("m".into()),
        };
        let b = KeyRange {
            after: Some("f".into()),
            until: None,
        };
        assert_eq!(
            a.intersect(&b),
            Some(KeyRange {
                after: Some("f".into()),
                until: Some("m".into())
            })
        );
        let c = KeyRange {
            after: Some("m".into()),
            until: None,
        };
        assert_eq!(a.intersect(&c), None);
    }

    #[test]
    fn multipart_parts_from_etag() {
        let mut e = ObjectEntry {
            key: "k".into(),
            size: 1,
            etag: "abc-3".into(),
            last_modified_ms: 0,
            storage_class: None,
            checksum_algorithm: None,
            checksum_type: None,
        };
        assert_eq!(e.multipart_parts(), Some(3));
        e.etag = "d41d8cd98f00b204e9800998ecf8427e".into();
        assert_eq!(e.multipart_parts(), None);
    }
}
