//! Point-in-time restore: each key under the restored prefixes as it was at a past
//! time, put back server-side into the target, and the check that proves it.
//!
//! ```text
//! ListObjectVersions (from) ─▶ version current at TIME ─┐
//!                                                        ├▶ pairs ─┬▶ restore: copy the version / skip / delete newer
//! ListObjectsV2 (target) ──────▶ current objects ────────┘         └▶ check (verify --as-of): classify
//! ```
//!
//! Both listings are ordered streams (keys in S3's order under one prefix each), joined
//! in one pass, so memory does not grow with the number of keys. The copies go through
//! the copy stage's `Copier` with the chosen version id (CopyObject, or UploadPartCopy
//! part by part with the source's layout for multipart versions, metadata and tags
//! copied, the target's KMS key applied). Nothing is remembered between runs: a rerun
//! lists again and copies only the keys whose target object is not yet the version of
//! TIME, so a rerun after a crash or SIGKILL finishes the job and a rerun after a
//! finished one copies nothing.

pub mod versions;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use self::versions::AtTime;
use super::copy::decide::{settle, Decision, Reason};
use super::copy::execute::{planned_requests, Copier};
use super::copy::outcome::{Action, Outcome, ReportWriter, Status, Summary};
use super::copy::{delete_batch, head_facts};
use super::diff::Bucket;
use super::keys::KeyFilter;
use super::listing::{self, KeyRange, ListError, ListRequest, ObjectEntry};
use crate::aws::requests::RequestCounter;

/// DeleteObjects takes at most this many keys.
const DELETE_BATCH: usize = 1000;

/// Versions chosen that a dry run names on stdout (the report lists every one).
pub const VERSIONS_SHOWN: usize = 20;

/// One restored prefix: keys under `from_prefix` in the bucket restored from go under
/// `to_prefix` in the target, with the same rest of the key. `source_prefix` is where
/// the keys live in the spec's source bucket, for the spec's include/exclude filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub from_prefix: String,
    pub to_prefix: String,
    pub source_prefix: String,
}

/// What to compare: the bucket restored from, the target, the prefixes, the time.
#[derive(Clone)]
pub struct Scope {
    pub from: Bucket,
    pub target: Bucket,
    pub mappings: Vec<Mapping>,
    pub filter: Arc<KeyFilter>,
    /// Milliseconds since the epoch.
    pub as_of_ms: i64,
}

/// One key of the target's key space: the version it had at TIME (if it existed) and
/// the target's current object (if any).
#[derive(Debug, Clone)]
pub struct Pair {
    pub target_key: String,
    pub at_time: Option<AtTime>,
    pub target: Option<ObjectEntry>,
}

/// Starts the join of both listings for every mapping, one mapping after the other;
/// pairs arrive in batches, in key order within a mapping.
pub fn pairs(scope: Scope) -> mpsc::Receiver<Result<Vec<Pair>, ListError>> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        for mapping in &scope.mappings {
            if let Err(e) = join(&scope, mapping, &tx).await {
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
    });
    rx
}

/// Next entry of a paged stream, fetching the next page when the current one is used up.
async fn next<T>(
    pages: &mut mpsc::Receiver<Result<Vec<T>, ListError>>,
    page: &mut std::collections::VecDeque<T>,
) -> Result<Option<T>, ListError> {
    loop {
        if let Some(item) = page.pop_front() {
            return Ok(Some(item));
        }
        match pages.recv().await {
            Some(Ok(items)) => page.extend(items),
            Some(Err(e)) => return Err(e),
            None => return Ok(None),
        }
    }
}

async fn join(
    scope: &Scope,
    mapping: &Mapping,
    tx: &mpsc::Sender<Result<Vec<Pair>, ListError>>,
) -> Result<(), ListError> {
    let mut from_pages = versions::spawn(
        scope.from.s3.clone(),
        scope.from.name.clone(),
        mapping.from_prefix.clone(),
        scope.as_of_ms,
        2,
    );
    let mut target_pages = listing::spawn(
        scope.target.s3.clone(),
        ListRequest {
            bucket: scope.target.name.clone(),
            prefix: mapping.to_prefix.clone(),
            skip: Vec::new(),
            range: KeyRange::all(),
            page_size: 1000,
        },
        2,
    );
    let (mut from_page, mut target_page) = Default::default();
    let mut from = next(&mut from_pages, &mut from_page).await?;
    let mut target = next(&mut target_pages, &mut target_page).await?;
    let mut batch = Vec::new();
    loop {
        let from_suffix = from
            .as_ref()
            .map(|f| &f.entry.key[mapping.from_prefix.len()..]);
        let target_suffix = target.as_ref().map(|t| &t.key[mapping.to_prefix.len()..]);
        let (at_time, current, suffix) = match (from_suffix, target_suffix) {
            (None, None) => break,
            (Some(f), Some(t)) if f.as_bytes() == t.as_bytes() => {
                let suffix = f.to_string();
                let pair = (from.take(), target.take(), suffix);
                from = next(&mut from_pages, &mut from_page).await?;
                target = next(&mut target_pages, &mut target_page).await?;
                pair
            }
            (Some(f), t) if t.is_none_or(|t| f.as_bytes() < t.as_bytes()) => {
                let suffix = f.to_string();
                let pair = (from.take(), None, suffix);
                from = next(&mut from_pages, &mut from_page).await?;
                pair
            }
            (_, Some(t)) => {
                let suffix = t.to_string();
                let pair = (None, target.take(), suffix);
                target = next(&mut target_pages, &mut target_page).await?;
                pair
            }
            (Some(_), None) => unreachable!("the arm above takes it"),
        };
        if !scope
            .filter
            .accepts(&format!("{}{suffix}", mapping.source_prefix))
        {
            continue;
        }
        batch.push(Pair {
            target_key: format!("{}{suffix}", mapping.to_prefix),
            at_time,
            target: current,
        });
        if batch.len() >= 500 && tx.send(Ok(std::mem::take(&mut batch))).await.is_err() {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch)).await;
    }
    Ok(())
}

/// What the listings say about one pair, before any HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum First {
    /// The target does not hold the key the time had.
    Missing,
    SizeDiffers,
    /// Same size and ETag: the target already holds that content.
    Same,
    /// Same size, different ETag: HEADs decide (SSE-KMS ETags are opaque).
    Settle,
    /// The target holds a key that did not exist at TIME.
    Newer,
}

pub fn first_look(pair: &Pair) -> First {
    match (&pair.at_time, &pair.target) {
        (Some(_), None) => First::Missing,
        (None, _) => First::Newer,
        (Some(v), Some(t)) if v.entry.size != t.size => First::SizeDiffers,
        (Some(v), Some(t)) if v.entry.etag == t.etag => First::Same,
        (Some(_), Some(_)) => First::Settle,
    }
}

/// What HEADs tell of a same-size, different-ETag pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Comparable checksums are equal.
    Same,
    /// Comparable checksums differ, or both ETags are MD5s of the content and differ.
    Differs,
    /// An opaque ETag (SSE-KMS, SSE-C) on either side and no comparable checksum: the
    /// content cannot be proven equal or different without reading it.
    Unknown,
}

/// Same size, different ETag: both objects' HEADs (the version of TIME, the target's
/// current object, checksum mode on). Comparable checksums decide. Unlike copy's
/// settle, a newer target object is no reason to skip: newer is what a restore undoes.
pub async fn settle_as_of(copier: &Copier, pair: &Pair) -> Result<Settled, String> {
    let version = pair.at_time.as_ref().expect("settled pairs have a version");
    let facts = futures_util::future::try_join(
        head_facts(
            copier,
            &copier.source,
            &version.entry.key,
            Some(&version.version_id),
        ),
        head_facts(copier, &copier.destination, &pair.target_key, None),
    )
    .await
    .map_err(|e| e.message)?;
    Ok(match settle(&facts.0, &facts.1) {
        Decision::Skip(Reason::SameChecksum) => Settled::Same,
        Decision::Copy(Reason::ChecksumDiffers | Reason::ContentDiffers) => Settled::Differs,
        _ => Settled::Unknown,
    })
}

/// One restore run.
pub struct RestoreJob {
    pub scope: Scope,
    /// Copy clients: source = the bucket restored from, destination = the target.
    pub copier: Copier,
    pub dry_run: bool,
    pub delete_newer: bool,
    pub report: Option<PathBuf>,
    pub counter: RequestCounter,
}

/// The totals of a restore, with what a dry run would use.
#[derive(Debug, Default, serde::Serialize)]
pub struct RestoreSummary {
    pub as_of: String,
    #[serde(flatten)]
    pub totals: Summary,
    /// Dry run: the first versions chosen (key, version id, LastModified).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions_chosen: Vec<Chosen>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Chosen {
    pub key: String,
    pub version_id: String,
    pub last_modified: String,
    pub bytes: u64,
}

/// Runs the restore to the end (or to the first listing error, or the shutdown).
pub async fn run(job: RestoreJob, as_of: String) -> std::io::Result<RestoreSummary> {
    let started = Instant::now();
    let mut report = match &job.report {
        Some(path) => Some(ReportWriter::create(path)?),
        None => None,
    };
    let copier = Arc::new(job.copier);
    let shutdown = copier.shutdown.clone();
    let (tx, mut rx) = mpsc::channel::<Outcome>(1024);
    let mut batches = pairs(job.scope.clone());
    let dispatch = {
        let copier = copier.clone();
        let shutdown = shutdown.clone();
        let (dry_run, delete_newer) = (job.dry_run, job.delete_newer);
        tokio::spawn(async move {
            let mut in_flight = JoinSet::new();
            let mut doomed: Vec<ObjectEntry> = Vec::new();
            let mut error = None;
            'batches: loop {
                let Some(pairs) = shutdown.next_batch(&mut batches, &mut error).await else {
                    break 'batches;
                };
                for pair in pairs {
                    if shutdown.is_draining() {
                        break 'batches;
                    }
                    match first_look(&pair) {
                        First::Newer => {
                            let entry = pair.target.expect("a newer key is in the target");
                            if delete_newer {
                                doomed.push(entry);
                                if doomed.len() == DELETE_BATCH {
                                    delete_batch(
                                        &copier,
                                        std::mem::take(&mut doomed),
                                        dry_run,
                                        &tx,
                                    )
                                    .await;
                                }
                            } else {
                                let mut outcome =
                                    Outcome::new(None, entry.key, Action::Keep, Reason::Missing);
                                outcome.reason = NEWER;
                                outcome.destination_etag = Some(entry.etag);
                                let _ = tx.send(outcome).await;
                            }
                        }
                        First::Same => {
                            let version = pair.at_time.as_ref().expect("same has a version");
                            let mut outcome = Outcome::new(
                                Some(&version.entry),
                                pair.target_key.clone(),
                                Action::Skip,
                                Reason::SameEtag,
                            );
                            outcome.reason = "already as of TIME (same size and ETag)";
                            outcome.source_version = Some(version.version_id.clone());
                            let _ = tx.send(outcome).await;
                        }
                        first => {
                            if dry_run {
                                let _ =
                                    tx.send(restore_one(&copier, pair, first, true).await).await;
                                continue;
                            }
                            let permit = tokio::select! {
                                biased;
                                _ = shutdown.draining() => break 'batches,
                                permit = copier.gate.acquire() => permit,
                            };
                            let (copier, tx) = (copier.clone(), tx.clone());
                            in_flight.spawn(async move {
                                let outcome = restore_one(&copier, pair, first, false).await;
                                drop(permit);
                                let _ = tx.send(outcome).await;
                            });
                            while in_flight.try_join_next().is_some() {}
                        }
                    }
                }
            }
            drop(batches);
            while in_flight.join_next().await.is_some() {}
            if !doomed.is_empty() && error.is_none() && !shutdown.is_draining() {
                delete_batch(&copier, doomed, dry_run, &tx).await;
            }
            error
        })
    };
    let mut summary = RestoreSummary {
        as_of,
        ..RestoreSummary::default()
    };
    while let Some(mut outcome) = rx.recv().await {
        if outcome.action == Action::Delete {
            outcome.reason = NEWER;
        }
        summary.totals.add(&outcome);
        for (operation, n) in &outcome.planned {
            *summary
                .totals
                .planned_requests
                .entry(operation.to_string())
                .or_default() += n;
        }
        if job.dry_run
            && outcome.action == Action::Copy
            && summary.versions_chosen.len() < VERSIONS_SHOWN
        {
            summary.versions_chosen.push(Chosen {
                key: outcome.destination_key.clone(),
                version_id: outcome.source_version.clone().unwrap_or_default(),
                last_modified: outcome.source_last_modified.clone().unwrap_or_default(),
                bytes: outcome.bytes,
            });
        }
        if outcome.result == Status::Failed {
            crate::errln!(
                "failed: {} → {}: {}",
                outcome.source_key.as_deref().unwrap_or("-"),
                outcome.destination_key,
                outcome.error.as_deref().unwrap_or("unknown error")
            );
        }
        if let Some(report) = report.as_mut() {
            report.write(&outcome)?;
            if rx.is_empty() {
                report.flush()?;
            }
        }
    }
    if let Some(report) = report.as_mut() {
        report.flush()?;
    }
    let error = dispatch.await.map_err(std::io::Error::other)?;
    let totals = &mut summary.totals;
    totals.dry_run = job.dry_run;
    totals.requests = job.counter.counts();
    totals.slowdowns = copier
        .gate
        .decreases
        .load(std::sync::atomic::Ordering::Relaxed) as u64;
    totals.seconds = started.elapsed().as_secs_f64();
    totals.error = error.or_else(|| {
        copier
            .shutdown
            .describe("run the same command again to restore the rest")
    });
    totals.price();
    Ok(summary)
}

/// The reason of a key the target holds that did not exist at TIME.
const NEWER: &str = "not in the bucket restored from at TIME (written or restored since)";

/// Restores (or plans) one key: settles same-size pairs first, then copies the version.
async fn restore_one(copier: &Copier, pair: Pair, first: First, dry_run: bool) -> Outcome {
    let version = pair.at_time.clone().expect("copies have a version");
    let mut outcome = Outcome::new(
        Some(&version.entry),
        pair.target_key.clone(),
        Action::Copy,
        Reason::Missing,
    );
    outcome.source_version = Some(version.version_id.clone());
    outcome.source_last_modified = Some(rfc3339(version.entry.last_modified_ms));
    outcome.bytes = version.entry.size;
    outcome.reason = match first {
        First::Missing => "missing in the target",
        First::SizeDiffers => "size differs from the version of TIME",
        _ => "ETag differs from the version of TIME",
    };
    if first == First::Settle {
        outcome.settled = true;
        match settle_as_of(copier, &pair).await {
            Ok(Settled::Same) => {
                outcome.action = Action::Skip;
                outcome.reason = "already as of TIME (same size and checksum)";
                outcome.bytes = 0;
                return outcome;
            }
            Ok(Settled::Differs) => outcome.reason = "content differs from the version of TIME",
            Ok(Settled::Unknown) => {
                // Copying again is safe; skipping an object that may be the damaged one
                // is not.
                outcome.reason = "same size, opaque ETag and no comparable checksum: \
                                  cannot be proven to be the version of TIME, copied again"
            }
            Err(e) => {
                outcome.result = Status::Failed;
                outcome.reason = "same size, different ETag; HEAD to compare checksums failed";
                outcome.error = Some(e);
                return outcome;
            }
        }
    }
    if dry_run {
        let planned = planned_requests(&version.entry, copier.transport);
        outcome.requests = Some(planned.iter().map(|(_, n)| n).sum());
        outcome.planned = planned;
        outcome.result = Status::Planned;
        return outcome;
    }
    match copier
        .copy_version(&version.entry, Some(&version.version_id), &pair.target_key)
        .await
    {
        Ok(copied) => {
            outcome.method = Some(copied.method);
            outcome.requests = Some(copied.requests);
            outcome.destination_version = copied.destination_version;
            outcome.destination_etag = copied.destination_etag;
            outcome.settled_lost_reply = copied.settled_lost_reply;
        }
        Err(e) if e.interrupted => {
            outcome.result = Status::Interrupted;
            outcome.error = Some(e.message);
        }
        Err(e) => {
            outcome.result = Status::Failed;
            outcome.error = Some(e.message);
        }
    }
    outcome
}

/// Milliseconds since the epoch as RFC 3339 (UTC).
pub fn rfc3339(ms: i64) -> String {
    aws_sdk_s3::primitives::DateTime::from_millis(ms)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| ms.to_string())
}

/// `--as-of TIME`: RFC 3339 (`2026-03-01T09:30:00Z`, `2026-03-01T10:30:00+01:00`), in
/// milliseconds since the epoch.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let parsed = aws_sdk_s3::primitives::DateTime::from_str(
        text.trim(),
        aws_sdk_s3::primitives::DateTimeFormat::DateTimeWithOffset,
    )
    .map_err(|e| e.to_string())?;
    parsed.to_millis().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_with_any_offset() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_time("1970-01-01T01:00:01.5+01:00").unwrap(), 1500);
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2026-03-01").is_err());
        assert_eq!(rfc3339(1500), "1970-01-01T00:00:01.5Z");
    }

    fn version(key: &str, size: u64, etag: &str) -> AtTime {
        AtTime {
            entry: ObjectEntry {
                key: key.into(),
                size,
                etag: etag.into(),
                last_modified_ms: 0,
                storage_class: None,
                checksum_algorithm: None,
                checksum_type: None,
            },
            version_id: "v1".into(),
        }
    }

    #[test]
    fn the_listings_decide_all_but_same_size_different_etag() {
        let pair = |at: Option<AtTime>, target: Option<AtTime>| Pair {
            target_key: "k".into(),
            at_time: at,
            target: target.map(|t| t.entry),
        };
        let v = |size, etag| Some(version("k", size, etag));
        assert_eq!(first_look(&pair(v(1, "a"), None)), First::Missing);
        assert_eq!(first_look(&pair(None, v(1, "a"))), First::Newer);
        assert_eq!(first_look(&pair(v(1, "a"), v(2, "a"))), First::SizeDiffers);
        assert_eq!(first_look(&pair(v(1, "a"), v(1, "a"))), First::Same);
        assert_eq!(first_look(&pair(v(1, "a"), v(1, "b"))), First::Settle);
    }
}
