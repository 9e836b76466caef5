//! Listing a bucket's versions under one prefix and reducing each key to the version
//! that was current at a past time, as an ordered stream of pages.
//!
//! ListObjectVersions returns keys in S3's order and each key's versions newest first,
//! with delete markers in their own list of the same page (S3 API reference,
//! ListObjectVersions). The version current at TIME is the newest entry (version or
//! delete marker) with LastModified <= TIME; when that entry is a delete marker, or
//! when every entry is newer, the key did not exist at TIME and nothing is sent for it.
//! A key's versions may span pages; the lister carries the key's state across them, so
//! it holds one page and one key, never the bucket.

use tokio::sync::mpsc;

use crate::transfer::listing::{ListError, ObjectEntry};

/// One key as it was at the restore's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtTime {
    /// The object that version is (key, size, ETag, LastModified, class, checksum).
    pub entry: ObjectEntry,
    /// Its version id (`null` for an object written before versioning was enabled).
    pub version_id: String,
}

/// One entry of a ListObjectVersions page, versions and delete markers alike.
#[derive(Debug, Clone)]
struct Listed {
    key: String,
    last_modified_ms: i64,
    is_latest: bool,
    /// None for a delete marker.
    object: Option<AtTime>,
}

/// The key being reduced: its name and whether its state at TIME is known yet.
struct Current {
    key: String,
    decided: bool,
}

/// Starts listing the versions under `prefix` in a task; each page carries the keys
/// that existed at `as_of_ms` (milliseconds since the epoch), in key order.
pub fn spawn(
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    as_of_ms: i64,
    buffered_pages: usize,
) -> mpsc::Receiver<Result<Vec<AtTime>, ListError>> {
    let (tx, rx) = mpsc::channel(buffered_pages.max(1));
    tokio::spawn(async move {
        if let Err(e) = list_into(&s3, &bucket, &prefix, as_of_ms, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    rx
}

async fn list_into(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    as_of_ms: i64,
    tx: &mpsc::Sender<Result<Vec<AtTime>, ListError>>,
) -> Result<(), ListError> {
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    let mut current: Option<Current> = None;
    loop {
        // A place in the channel first, then the request (as listing::spawn does).
        let Ok(slot) = tx.reserve().await else {
            return Ok(());
        };
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| {
                let cause = crate::aws::error::Cause::of(&e);
                ListError {
                    what: format!("ListObjectVersions on s3://{bucket}/{prefix}"),
                    message: cause.to_string(),
                    cause: Some(cause),
                }
            })?;
        let mut listed: Vec<Listed> = page
            .versions()
            .iter()
            .filter_map(|v| {
                let key = v.key()?.to_string();
                let last_modified_ms = millis(v.last_modified());
                let entry = ObjectEntry {
                    key: key.clone(),
                    size: v.size().unwrap_or(0).max(0) as u64,
                    etag: v.e_tag().unwrap_or_default().trim_matches('"').to_string(),
                    last_modified_ms,
                    storage_class: v.storage_class().map(|c| c.as_str().to_string()),
                    checksum_algorithm: v
                        .checksum_algorithm()
                        .first()
                        .map(|a| a.as_str().to_string()),
                    checksum_type: v.checksum_type().map(|t| t.as_str().to_string()),
                };
                Some(Listed {
                    key,
                    last_modified_ms,
                    is_latest: v.is_latest().unwrap_or(false),
                    object: Some(AtTime {
                        entry,
                        version_id: v.version_id().unwrap_or("null").to_string(),
                    }),
                })
            })
            .chain(page.delete_markers().iter().filter_map(|m| {
                Some(Listed {
                    key: m.key()?.to_string(),
                    last_modified_ms: millis(m.last_modified()),
                    is_latest: m.is_latest().unwrap_or(false),
                    object: None,
                })
            }))
            .collect();
        newest_first(&mut listed);
        let next = match (page.is_truncated(), page.next_key_marker()) {
            (Some(true), Some(key)) => Some((
                key.to_string(),
                page.next_version_id_marker().map(str::to_string),
            )),
            _ => None,
        };
        drop(page);
        let mut found = Vec::new();
        for entry in listed {
            if current.as_ref().is_none_or(|c| c.key != entry.key) {
                current = Some(Current {
                    key: entry.key.clone(),
                    decided: false,
                });
            }
            let state = current.as_mut().expect("set above");
            if state.decided || entry.last_modified_ms > as_of_ms {
                continue;
            }
            // The newest entry at or before TIME decides: a version is what the key
            // held, a delete marker means the key did not exist.
            state.decided = true;
            if let Some(object) = entry.object {
                found.push(object);
            }
        }
        if !found.is_empty() {
            slot.send(Ok(found));
        }
        match next {
            Some((key, version)) => {
                key_marker = Some(key);
                version_marker = version;
            }
            None => return Ok(()),
        }
    }
}

fn millis(time: Option<&aws_sdk_s3::primitives::DateTime>) -> i64 {
    time.and_then(|t| t.to_millis().ok()).unwrap_or(0)
}

/// One page's versions and delete markers in S3's combined order: by key (UTF-8 bytes),
/// then newest first. S3 lists them in two arrays; timestamps order them again. Of two
/// entries of a key with the same LastModified (S3 keeps whole seconds), the one S3
/// marks IsLatest is the newer; otherwise a delete marker is taken as the newer (the
/// usual order: a write, then its deletion within the same second).
fn newest_first(listed: &mut [Listed]) {
    listed.sort_by(|a, b| {
        a.key
            .as_bytes()
            .cmp(b.key.as_bytes())
            .then(b.last_modified_ms.cmp(&a.last_modified_ms))
            .then(b.is_latest.cmp(&a.is_latest))
            .then(a.object.is_some().cmp(&b.object.is_some()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(key: &str, ms: i64, latest: bool, marker: bool) -> Listed {
        Listed {
            key: key.into(),
            last_modified_ms: ms,
            is_latest: latest,
            object: (!marker).then(|| AtTime {
                entry: ObjectEntry {
                    key: key.into(),
                    size: 1,
                    etag: format!("{ms}"),
                    last_modified_ms: ms,
                    storage_class: None,
                    checksum_algorithm: None,
                    checksum_type: None,
                },
                version_id: format!("v{ms}"),
            }),
        }
    }

    #[test]
    fn combined_order_is_by_key_then_newest_first() {
        let mut page = vec![
            listed("b", 1000, true, false),
            listed("a", 1000, false, false),
            listed("a", 3000, true, true),
            listed("a", 2000, false, false),
            // Same second: IsLatest decides, else the delete marker is newer.
            listed("c", 5000, false, false),
            listed("c", 5000, true, false),
            listed("d", 7000, false, false),
            listed("d", 7000, false, true),
        ];
        newest_first(&mut page);
        let order: Vec<(String, i64, bool)> = page
            .iter()
            .map(|l| (l.key.clone(), l.last_modified_ms, l.object.is_none()))
            .collect();
        assert_eq!(
            order,
            vec![
                ("a".into(), 3000, true),
                ("a".into(), 2000, false),
                ("a".into(), 1000, false),
                ("b".into(), 1000, false),
                ("c".into(), 5000, false),
                ("c".into(), 5000, false),
                ("d".into(), 7000, true),
                ("d".into(), 7000, false),
            ]
        );
        assert!(page[4].is_latest);
    }
}
