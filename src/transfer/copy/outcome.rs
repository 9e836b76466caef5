//! What happened to each object, and the run's totals.
//!
//! Every pair the diff produces ends as one `Outcome`, which becomes one line of the
//! `--report` file (the audit trail teams otherwise keep in a database: source key,
//! version and ETag → destination key, action, result) and is added to the `Summary`
//! printed at the end. Request counts come from the clients' counters and are priced
//! with S3 Standard request prices.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::decide::Reason;
use crate::aws::requests::cost_of;

/// What was (or, in a dry run, would be) done with an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Copy,
    Skip,
    Delete,
    /// Only in the destination and `--delete` not given: left alone.
    Keep,
}

/// How a copy was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// One server-side CopyObject.
    CopyObject,
    /// CreateMultipartUpload + UploadPartCopy per source part + Complete.
    UploadPartCopy,
    /// GET from the source, PUT to the destination (separate credentials per side).
    Stream,
    /// GET per source part, UploadPart per part (separate credentials, multipart).
    StreamParts,
    /// Written into an S3 Batch Operations manifest; the job's S3PutObjectCopy copies it.
    BatchOperations,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Failed,
    /// `--dry-run`: planned, not done.
    Planned,
    /// In the batch job's manifest: S3 Batch Operations copies it (dry run or not).
    Queued,
    /// Stopped by a second signal or the end of the grace period (its multipart upload
    /// aborted); the next run copies it.
    Interrupted,
}

/// One object's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub source_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    pub source_etag: Option<String>,
    /// Restore: when the version copied was written (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_last_modified: Option<String>,
    pub destination_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_etag: Option<String>,
    pub action: Action,
    pub reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    pub result: Status,
    pub bytes: u64,
    /// Requests this object's copy would take (dry run) or took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Settled with HEADs (same size, different ETag).
    #[serde(skip)]
    pub settled: bool,
    /// A reply was lost; the copy was found done at the destination (HEAD).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub settled_lost_reply: bool,
    /// Dry run: the requests the copy would take, by operation.
    #[serde(skip)]
    pub planned: Vec<(&'static str, u64)>,
}

impl Outcome {
    pub fn new(
        source: Option<&crate::transfer::listing::ObjectEntry>,
        destination_key: String,
        action: Action,
        reason: Reason,
    ) -> Outcome {
        Outcome {
            source_key: source.map(|s| s.key.clone()),
            source_version: None,
            source_etag: source.map(|s| s.etag.clone()),
            source_last_modified: None,
            destination_key,
            destination_version: None,
            destination_etag: None,
            action,
            reason: reason.as_str(),
            method: None,
            result: Status::Ok,
            bytes: 0,
            requests: None,
            error: None,
            settled: false,
            settled_lost_reply: false,
            planned: Vec::new(),
        }
    }
}

/// The totals of a run: the `--format json` object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub copied: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Stopped in flight by a second signal or the end of the grace period.
    pub interrupted: u64,
    /// Bytes copied (or, in a dry run, to copy).
    pub bytes: u64,
    pub deleted: u64,
    /// Only in the destination, left alone (no `--delete`).
    pub kept_extra: u64,
    /// Same-size, different-ETag pairs settled with a HEAD of each side.
    pub settled_with_head: u64,
    /// Copies whose reply was lost (the retry met the first attempt's effect), found
    /// done at the destination with a HEAD.
    pub lost_replies_settled: u64,
    /// Incomplete multipart uploads an earlier run left, aborted at the start.
    pub left_over_uploads_aborted: u64,
    pub dry_run: bool,
    /// Dry run: objects that would be copied and deleted.
    pub to_copy: u64,
    pub to_delete: u64,
    /// Batch engine: objects (and their bytes) in the job's manifest, for S3 to copy.
    /// `copied`/`to_copy` count only what this machine copies.
    pub to_batch: u64,
    pub batch_bytes: u64,
    /// Requests sent, by operation (both sides).
    pub requests: BTreeMap<String, u64>,
    /// Dry run: requests the copies would take, by operation.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub planned_requests: BTreeMap<String, u64>,
    /// Price of `requests` plus `planned_requests` at S3 Standard prices, in dollars.
    pub request_cost_usd: f64,
    /// Times S3 throttled and the request rate was halved.
    pub slowdowns: u64,
    pub seconds: f64,
    /// Set when the run stopped early (a listing failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Summary {
    pub fn add(&mut self, outcome: &Outcome) {
        if outcome.settled {
            self.settled_with_head += 1;
        }
        if outcome.settled_lost_reply {
            self.lost_replies_settled += 1;
        }
        match (outcome.action, outcome.result) {
            (_, Status::Failed) => self.failed += 1,
            (_, Status::Interrupted) => self.interrupted += 1,
            (Action::Copy, Status::Ok) => {
                self.copied += 1;
                self.bytes += outcome.bytes;
            }
            (Action::Copy, Status::Planned) => {
                self.to_copy += 1;
                self.bytes += outcome.bytes;
            }
            (Action::Copy, Status::Queued) => {
                self.to_batch += 1;
                self.batch_bytes += outcome.bytes;
            }
            (Action::Skip, _) => self.skipped += 1,
            (Action::Delete, Status::Ok) => self.deleted += 1,
            (Action::Delete, Status::Planned | Status::Queued) => self.to_delete += 1,
            (Action::Keep, _) => self.kept_extra += 1,
        }
    }

    /// Prices what was sent and what is planned.
    pub fn price(&mut self) {
        self.request_cost_usd = cost_of(self.requests.iter().chain(self.planned_requests.iter()));
    }

    pub fn text(&self) -> String {
        let mut out = if self.dry_run {
            format!(
                "dry run: would copy {} objects ({}), delete {}; {} already in place, {} only in destination kept",
                self.to_copy,
                human_bytes(self.bytes),
                self.to_delete,
                self.skipped,
                self.kept_extra
            )
        } else {
            format!(
                "copied {} objects ({}), skipped {}, failed {}{}, deleted {}, kept {} only in destination, in {:.1}s",
                self.copied,
                human_bytes(self.bytes),
                self.skipped,
                self.failed,
                if self.interrupted > 0 {
                    format!(", interrupted {} (uploads aborted)", self.interrupted)
                } else {
                    String::new()
                },
                self.deleted,
                self.kept_extra,
                self.seconds
            )
        };
        if self.left_over_uploads_aborted > 0 {
            out.push_str(&format!(
                "\naborted {} incomplete multipart uploads an earlier run left",
                self.left_over_uploads_aborted
            ));
        }
        if self.to_batch > 0 {
            out.push_str(&format!(
                "\n{} objects ({}) written into the S3 Batch Operations manifest",
                self.to_batch,
                human_bytes(self.batch_bytes)
            ));
        }
        let sent: u64 = self.requests.values().sum();
        let planned: u64 = self.planned_requests.values().sum();
        out.push_str(&format!(
            "\nrequests: {sent} sent{}; cost about ${:.4} at S3 Standard request prices",
            if self.dry_run {
                format!(", {planned} more to copy")
            } else {
                String::new()
            },
            self.request_cost_usd
        ));
        if self.settled_with_head > 0 {
            out.push_str(&format!(
                "\n{} same-size pairs with different ETags were settled with one HEAD per side",
                self.settled_with_head
            ));
        }
        if self.lost_replies_settled > 0 {
            out.push_str(&format!(
                "\n{} lost replies settled: the retry met the first attempt's effect, and a HEAD found the copy done",
                self.lost_replies_settled
            ));
        }
        if self.slowdowns > 0 {
            out.push_str(&format!(
                "\nS3 asked to slow down; the request rate was halved {} times",
                self.slowdowns
            ));
        }
        out
    }
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The `--report` file: one JSON object per line, flushed as lines come so that a killed
/// run leaves an accurate trail of what it finished.
pub struct ReportWriter {
    out: std::io::BufWriter<std::fs::File>,
}

impl ReportWriter {
    pub fn create(path: &std::path::Path) -> std::io::Result<ReportWriter> {
        Ok(ReportWriter {
            out: std::io::BufWriter::new(std::fs::File::create(path)?),
        })
    }

    pub fn write(&mut self, outcome: &Outcome) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, outcome)?;
        self.out.write_all(b"\n")
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_by_action_and_result() {
        let mut summary = Summary::default();
        let mut copied = Outcome::new(None, "k".into(), Action::Copy, Reason::Missing);
        copied.bytes = 10;
        summary.add(&copied);
        let mut failed = copied.clone();
        failed.result = Status::Failed;
        summary.add(&failed);
        summary.add(&Outcome::new(
            None,
            "s".into(),
            Action::Skip,
            Reason::SameEtag,
        ));
        assert_eq!(
            (
                summary.copied,
                summary.failed,
                summary.skipped,
                summary.bytes
            ),
            (1, 1, 1, 10)
        );
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
