//! The copy stage: turns the diff's pairs into copies, skips and deletes.
//!
//! ```text
//! diff batches ─▶ dispatcher ──(decide: no request)──────────────────────▶ outcomes ─▶ collector
//!                     │  copy / settle: one task per object, at most            (summary, report,
//!                     └─ `Aimd::limit()` in flight ─▶ HEADs? ─▶ Copier ─▶         progress)
//! ```
//!
//! Memory stays flat: the diff holds a few pages per key range, the dispatcher waits for
//! a place in the gate before it starts another object, and outcomes stream to the
//! report as they finish. Nothing is remembered between runs — the diff *is* the state:
//! a rerun (after a crash, a SIGKILL, a failure) lists both sides again and copies only
//! what is still missing or different, so nothing finished is ever copied twice.
//!
//! The dispatcher decides and the `Copier` executes; a different executor plugs in at
//! that seam without touching the decision: with a `manifest`, the objects an S3 Batch
//! Operations job can copy are written into its manifest instead (`manifest`), and a
//! shard of the key space per machine comes in through `DiffOptions::shard`.

pub mod decide;
pub mod execute;
pub mod manifest;
pub mod outcome;
pub mod progress;
pub mod retry;
pub mod uploads;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use aws_sdk_s3::types::{
    ChecksumMode, ChecksumType, Delete, ObjectIdentifier, ServerSideEncryption,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use self::decide::{decide, settle, Checksum, Decision, ObjectFacts, Reason};
use self::execute::{planned_requests, Copier};
use self::manifest::ManifestWriter;
use self::outcome::{Action, Method, Outcome, ReportWriter, Status, Summary};
use self::progress::{Planned, Progress};
use self::retry::{retry, RequestError};
use super::diff::{self, Bucket, DiffOptions, Pair};
use super::keys::KeyPlan;
use super::listing::ObjectEntry;
use super::spill::EntryQueue;
use crate::aws::requests::RequestCounter;

/// DeleteObjects takes at most this many keys.
const DELETE_BATCH: usize = 1000;

/// Keys named on stderr before `--delete` deletes (the report lists all of them).
const DELETIONS_SHOWN: usize = 10;

/// `--delete-threshold`'s default: one DeleteObjects request's worth. More deletions than
/// this in one run need `--yes` (or an answer at the prompt on a terminal).
pub const DEFAULT_DELETE_THRESHOLD: u64 = 1000;

/// When `--delete` may go ahead without asking.
#[derive(Debug, Clone, Copy)]
pub struct DeleteGuard {
    /// More deletions than this need a confirmation.
    pub threshold: u64,
    /// `--yes`: confirmed in advance.
    pub confirmed: bool,
    /// stdin is a terminal, so a person can be asked; otherwise the run refuses.
    pub interactive: bool,
}

impl Default for DeleteGuard {
    fn default() -> Self {
        DeleteGuard {
            threshold: DEFAULT_DELETE_THRESHOLD,
            confirmed: false,
            interactive: false,
        }
    }
}

/// One copy run.
pub struct CopyJob {
    /// Listing clients (with the SDK's retries).
    pub source: Bucket,
    pub destination: Bucket,
    /// Copy clients and destination settings (and the run's shutdown).
    pub copier: Copier,
    pub plan: Arc<KeyPlan>,
    pub diff: DiffOptions,
    pub dry_run: bool,
    pub delete: bool,
    pub delete_guard: DeleteGuard,
    /// Abort the multipart uploads an earlier run left in the keys this run writes.
    pub clean_up_uploads: bool,
    pub report: Option<PathBuf>,
    /// Show progress on stderr.
    pub progress: bool,
    /// The counter attached to every client of the run.
    pub counter: RequestCounter,
    /// Batch engine: objects the job can copy go here instead of to the `Copier`.
    pub manifest: Option<Arc<ManifestWriter>>,
}

/// Runs the copy to the end (or to the first listing error, or until the shutdown) and
/// returns its totals. Failures of single objects are counted, reported and do not stop
/// the run.
pub async fn run(job: CopyJob) -> std::io::Result<Summary> {
    let started = Instant::now();
    let started_at = SystemTime::now();
    let report = match &job.report {
        Some(path) => Some(ReportWriter::create(path)?),
        None => None,
    };
    let planned = Arc::new(Planned::default());
    let (tx, rx) = mpsc::channel::<Outcome>(1024);
    let collector = tokio::spawn(collect(
        rx,
        report,
        Progress::new(job.progress),
        planned.clone(),
    ));
    let copier = Arc::new(job.copier);
    let shutdown = copier.shutdown.clone();
    let mut left_over = uploads::Cleanup::default();
    if job.clean_up_uploads && !job.dry_run {
        match uploads::abort_left_over(
            &copier,
            &job.plan,
            job.diff.shard.as_ref(),
            started_at,
        )
        .await
        {
            Ok(cleanup) => {
                if cleanup.aborted > 0 {
                    eprintln!(
                        "aborted {} incomplete multipart upload{} an earlier s3bridge run left in s3://{}/{}",
                        cleanup.aborted,
                        if cleanup.aborted == 1 { "" } else { "s" },
                        copier.destination.name,
                        destination_prefixes(&job.plan)
                    );
                }
                for failure in &cleanup.failed {
                    eprintln!("note: could not abort a left-over upload: {failure}");
                }
                left_over = cleanup;
            }
            Err(e) => eprintln!(
                "note: could not look for multipart uploads an earlier run left \
                 (ListMultipartUploads needs s3:ListBucketMultipartUploads on the destination): {}; copying anyway",
                e.code.as_deref().unwrap_or(&e.message)
            ),
        }
    }
    let mut batches = diff::start(
        job.source.clone(),
        job.destination.clone(),
        job.plan.clone(),
        job.diff.clone(),
    );
    let mut deletions = Deletions::default();
    let mut error = None;
    let mut in_flight = JoinSet::new();
    'batches: loop {
        let Some(pairs) = shutdown.next_batch(&mut batches, &mut error).await else {
            break 'batches;
        };
        for pair in pairs {
            if shutdown.is_draining() {
                break 'batches;
            }
            let key = pair.destination_key(&job.plan);
            match decide(&pair) {
                Decision::Skip(reason) => {
                    let _ = tx
                        .send(Outcome::new(
                            pair.source.as_ref(),
                            key,
                            Action::Skip,
                            reason,
                        ))
                        .await;
                }
                Decision::Extra if job.delete => {
                    let entry = pair.destination.expect("an extra has a destination side");
                    if let Err(e) = deletions.push(entry) {
                        error = Some(format!("queueing keys to delete: {e}"));
                        break 'batches;
                    }
                }
                Decision::Extra => {
                    let mut outcome =
                        Outcome::new(None, key, Action::Keep, Reason::OnlyInDestination);
                    outcome.destination_etag = pair.destination.map(|d| d.etag);
                    let _ = tx.send(outcome).await;
                }
                decision => {
                    if let (Decision::Copy(_), Some(source)) = (decision, &pair.source) {
                        planned.objects.fetch_add(1, Ordering::Relaxed);
                        planned.bytes.fetch_add(source.size, Ordering::Relaxed);
                        let to_manifest = job
                            .manifest
                            .as_ref()
                            .is_some_and(|m| m.copied_locally(source, &key).is_none());
                        if job.dry_run || to_manifest {
                            // Nothing to send: plan it here rather than in a task.
                            let outcome = process(
                                &copier,
                                job.manifest.as_deref(),
                                pair,
                                key,
                                decision,
                                job.dry_run,
                            )
                            .await;
                            let _ = tx.send(outcome).await;
                            continue;
                        }
                    }
                    // A place in the gate, unless the run is asked to stop meanwhile.
                    let permit = tokio::select! {
                        biased;
                        _ = shutdown.draining() => break 'batches,
                        permit = copier.gate.acquire() => permit,
                    };
                    let (copier, tx, dry_run) = (copier.clone(), tx.clone(), job.dry_run);
                    let manifest = job.manifest.clone();
                    in_flight.spawn(async move {
                        let outcome =
                            process(&copier, manifest.as_deref(), pair, key, decision, dry_run)
                                .await;
                        drop(permit);
                        let _ = tx.send(outcome).await;
                    });
                    // Finished tasks are reaped as we go, so the set stays as small as
                    // the number of objects in flight.
                    while in_flight.try_join_next().is_some() {}
                }
            }
        }
    }
    drop(batches); // stops the listers
    planned.listing_done.store(true, Ordering::Relaxed);
    while in_flight.join_next().await.is_some() {}
    if !deletions.is_empty() && error.is_none() && !shutdown.is_draining() {
        if let Err(refused) = delete_extras(
            &copier,
            deletions,
            &job.delete_guard,
            job.dry_run,
            &tx,
            &destination_prefixes(&job.plan),
        )
        .await
        {
            error = Some(refused);
        }
    }
    drop(tx);
    let mut summary = collector.await.map_err(std::io::Error::other)??;
    summary.dry_run = job.dry_run;
    summary.requests = job.counter.counts();
    summary.slowdowns = copier.gate.decreases.load(Ordering::Relaxed) as u64;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.left_over_uploads_aborted = left_over.aborted;
    summary.error =
        error.or_else(|| shutdown.describe("run the same command again to copy the rest"));
    summary.price();
    Ok(summary)
}

/// The destination prefixes of a plan, for messages: `avatar/` or `{avatar/, scans/}`.
fn destination_prefixes(plan: &KeyPlan) -> String {
    match plan.segments.as_slice() {
        [one] => one.destination_prefix.clone(),
        many => format!(
            "{{{}}}",
            many.iter()
                .map(|s| s.destination_prefix.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Destination-only keys `--delete` will delete: held (in memory, then on disk) until the
/// copy is done, so the run can say how many before it deletes any.
#[derive(Default)]
struct Deletions {
    queue: Option<EntryQueue>,
    first: Vec<String>,
}

impl Deletions {
    fn push(&mut self, entry: ObjectEntry) -> std::io::Result<()> {
        if self.first.len() < DELETIONS_SHOWN {
            self.first.push(entry.key.clone());
        }
        self.queue
            .get_or_insert_with(|| EntryQueue::new(10_000, None))
            .push(entry)
    }

    fn len(&self) -> u64 {
        self.queue.as_ref().map_or(0, EntryQueue::len)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Says how many destination-only objects will be deleted and names the first, then
/// deletes them, unless the guard refuses (too many, not confirmed): then every one is
/// kept and reported as such, and the refusal is returned.
async fn delete_extras(
    copier: &Copier,
    deletions: Deletions,
    guard: &DeleteGuard,
    dry_run: bool,
    tx: &mpsc::Sender<Outcome>,
    prefixes: &str,
) -> Result<(), String> {
    let count = deletions.len();
    progress::clear_line();
    eprintln!(
        "--delete: {count} object{} only in the destination s3://{}/{prefixes} {}:",
        if count == 1 { "" } else { "s" },
        copier.destination.name,
        match (dry_run, count) {
            (true, _) => "would be deleted",
            (false, 1) => "is to be deleted",
            (false, _) => "are to be deleted",
        }
    );
    for key in &deletions.first {
        eprintln!("  s3://{}/{key}", copier.destination.name);
    }
    if count > deletions.first.len() as u64 {
        eprintln!(
            "  … and {} more (--report FILE lists every one)",
            count - deletions.first.len() as u64
        );
    }
    let needs_confirmation = !dry_run && count > guard.threshold && !guard.confirmed;
    let refusal = if !needs_confirmation {
        None
    } else if !guard.interactive {
        Some(format!(
            "--delete: refusing to delete {count} objects (more than --delete-threshold {}) \
             in a non-interactive run without --yes; nothing was deleted. Check the keys \
             (--dry-run --report FILE lists them), then add --yes",
            guard.threshold
        ))
    } else if confirm(count, &copier.shutdown).await {
        None
    } else {
        Some(format!(
            "--delete: {count} objects were not deleted (not confirmed)"
        ))
    };
    let queue = deletions.queue.expect("not empty");
    let mut batch = Vec::with_capacity(DELETE_BATCH);
    for entry in queue
        .drain()
        .map_err(|e| format!("reading the keys to delete: {e}"))?
    {
        let entry = entry.map_err(|e| format!("reading the keys to delete: {e}"))?;
        if refusal.is_some() || copier.shutdown.is_draining() {
            let mut outcome =
                Outcome::new(None, entry.key, Action::Keep, Reason::OnlyInDestination);
            outcome.destination_etag = Some(entry.etag);
            let _ = tx.send(outcome).await;
            continue;
        }
        batch.push(entry);
        if batch.len() == DELETE_BATCH {
            delete_batch(copier, std::mem::take(&mut batch), dry_run, tx).await;
        }
    }
    if !batch.is_empty() {
        delete_batch(copier, batch, dry_run, tx).await;
    }
    refusal.map_or(Ok(()), Err)
}

/// Asks on the terminal whether to delete `count` objects; no unless the answer is yes
/// (a signal while waiting is a no).
async fn confirm(count: u64, shutdown: &crate::transfer::shutdown::Shutdown) -> bool {
    eprint!("delete these {count} objects? [y/N] ");
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    tokio::select! {
        _ = shutdown.draining() => false,
        answer = answer => matches!(
            answer.ok().and_then(Result::ok).as_deref().map(str::trim),
            Some("y" | "Y" | "yes" | "YES" | "Yes")
        ),
    }
}

/// Copies (or settles, then maybe copies) one object; with a manifest, writes the
/// objects the batch job can copy into it instead.
async fn process(
    copier: &Copier,
    manifest: Option<&ManifestWriter>,
    pair: Pair,
    key: String,
    decision: Decision,
    dry_run: bool,
) -> Outcome {
    let source = pair.source.expect("copy and settle have a source side");
    let mut outcome = Outcome::new(Some(&source), key, Action::Copy, Reason::Missing);
    outcome.bytes = source.size;
    let reason = match decision {
        Decision::Copy(reason) => reason,
        _ => {
            outcome.settled = true;
            let destination_key = pair
                .destination
                .as_ref()
                .map(|d| d.key.as_str())
                .unwrap_or(&outcome.destination_key);
            let facts = futures_util::future::try_join(
                head_facts(copier, &copier.source, &source.key, None),
                head_facts(copier, &copier.destination, destination_key, None),
            )
            .await;
            match facts.map(|(s, d)| settle(&s, &d)) {
                Ok(Decision::Copy(reason)) => reason,
                Ok(Decision::Skip(reason)) => {
                    outcome.action = Action::Skip;
                    outcome.reason = reason.as_str();
                    outcome.bytes = 0;
                    outcome.destination_etag = pair.destination.map(|d| d.etag);
                    return outcome;
                }
                Ok(_) => Reason::ContentDiffers,
                Err(e) => {
                    outcome.reason = "same size, different ETag; HEAD to compare checksums failed";
                    outcome.result = Status::Failed;
                    outcome.error = Some(e.message);
                    return outcome;
                }
            }
        }
    };
    outcome.reason = reason.as_str();
    if let Some(manifest) = manifest {
        match manifest.copied_locally(&source, &outcome.destination_key) {
            None => {
                outcome.method = Some(Method::BatchOperations);
                outcome.result = Status::Queued;
                if let Err(e) = manifest.add(&source) {
                    outcome.result = Status::Failed;
                    outcome.error = Some(format!("writing the manifest: {e}"));
                }
                return outcome;
            }
            Some(why) => manifest.add_local(&source, &outcome.destination_key, why),
        }
    }
    if dry_run {
        let planned = planned_requests(&source, copier.transport);
        outcome.requests = Some(planned.iter().map(|(_, n)| n).sum());
        outcome.planned = planned;
        outcome.result = Status::Planned;
        return outcome;
    }
    match copier.copy(&source, &outcome.destination_key).await {
        Ok(copied) => {
            outcome.method = Some(copied.method);
            outcome.requests = Some(copied.requests);
            outcome.source_version = copied.source_version;
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
            outcome.error = Some(if e.is_precondition_failed() {
                format!("the source changed after it was listed (its ETag is no longer {}); rerun to copy the new version", source.etag)
            } else {
                e.message
            });
        }
    }
    outcome
}

/// One side's ETag, time, encryption and stored checksum (HEAD, checksum mode on), of
/// one version of the key (restore) or the current one.
pub(crate) async fn head_facts(
    copier: &Copier,
    bucket: &Bucket,
    key: &str,
    version: Option<&str>,
) -> Result<ObjectFacts, RequestError> {
    let head = retry(&copier.retry, &copier.gate, || {
        bucket
            .s3
            .head_object()
            .bucket(&bucket.name)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
    })
    .await?;
    let etag = head
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let multipart = ObjectEntry::parts_in_etag(&etag).is_some();
    let checksum = [
        ("CRC64NVME", head.checksum_crc64_nvme()),
        ("CRC32", head.checksum_crc32()),
        ("CRC32C", head.checksum_crc32_c()),
        ("SHA1", head.checksum_sha1()),
        ("SHA256", head.checksum_sha256()),
    ]
    .into_iter()
    .find_map(|(algorithm, value)| {
        let value = value?;
        let full_object = match head.checksum_type() {
            Some(ChecksumType::FullObject) => true,
            Some(_) => false,
            // Older answers name no type: CRC64NVME is always full-object, and a
            // single-part object's checksum covers the whole of it.
            None => algorithm == "CRC64NVME" || !multipart,
        };
        Some(Checksum {
            algorithm: algorithm.to_string(),
            value: value.split('-').next().unwrap_or(value).to_string(),
            full_object,
        })
    });
    let opaque_etag = matches!(
        head.server_side_encryption(),
        Some(ServerSideEncryption::AwsKms) | Some(ServerSideEncryption::AwsKmsDsse)
    ) || head.sse_customer_algorithm().is_some();
    Ok(ObjectFacts {
        etag,
        last_modified_ms: head
            .last_modified()
            .and_then(|t| t.to_millis().ok())
            .unwrap_or(0),
        checksum,
        opaque_etag,
    })
}

/// Deletes (unless dry run) up to 1,000 destination-only keys with one DeleteObjects.
/// A key whose deletion failed is HEADed: one already gone (an earlier attempt whose
/// reply was lost deleted it) is deleted, not failed.
pub(crate) async fn delete_batch(
    copier: &Copier,
    entries: Vec<ObjectEntry>,
    dry_run: bool,
    tx: &mpsc::Sender<Outcome>,
) {
    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    if !dry_run {
        let objects: Vec<ObjectIdentifier> = entries
            .iter()
            .filter_map(|e| ObjectIdentifier::builder().key(&e.key).build().ok())
            .collect();
        let request = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build();
        match request {
            Err(e) => {
                for entry in &entries {
                    failures.insert(entry.key.clone(), e.to_string());
                }
            }
            Ok(delete) => {
                let answer = retry(&copier.retry, &copier.gate, || {
                    copier
                        .destination
                        .s3
                        .delete_objects()
                        .bucket(&copier.destination.name)
                        .delete(delete.clone())
                        .send()
                })
                .await;
                match answer {
                    Ok(out) => {
                        for error in out.errors() {
                            if let Some(key) = error.key() {
                                failures.insert(
                                    key.to_string(),
                                    format!(
                                        "{}: {}",
                                        error.code().unwrap_or("error"),
                                        error.message().unwrap_or("")
                                    ),
                                );
                            }
                        }
                    }
                    Err(e) => {
                        for entry in &entries {
                            failures.insert(entry.key.clone(), e.message.clone());
                        }
                    }
                }
            }
        }
        for (key, error) in std::mem::take(&mut failures) {
            if !matches!(copier.exists(&key).await, Ok(false)) {
                failures.insert(key, error);
            }
        }
    }
    for entry in entries {
        let mut outcome = Outcome::new(None, entry.key, Action::Delete, Reason::OnlyInDestination);
        outcome.destination_etag = Some(entry.etag);
        outcome.result = if dry_run { Status::Planned } else { Status::Ok };
        if let Some(error) = failures.remove(&outcome.destination_key) {
            outcome.result = Status::Failed;
            outcome.error = Some(error);
        }
        let _ = tx.send(outcome).await;
    }
}

/// Totals, report lines and progress, as outcomes arrive.
async fn collect(
    mut rx: mpsc::Receiver<Outcome>,
    mut report: Option<ReportWriter>,
    mut progress: Progress,
    planned: Arc<Planned>,
) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    while let Some(outcome) = rx.recv().await {
        summary.add(&outcome);
        for (operation, n) in &outcome.planned {
            *summary
                .planned_requests
                .entry(operation.to_string())
                .or_default() += n;
        }
        if outcome.result == Status::Failed {
            progress::clear_line();
            eprintln!(
                "failed: {} → s3://…/{}: {}",
                outcome.source_key.as_deref().unwrap_or("-"),
                outcome.destination_key,
                outcome.error.as_deref().unwrap_or("unknown error")
            );
        }
        if let Some(report) = report.as_mut() {
            report.write(&outcome)?;
            // Flush whenever caught up, so a killed run's report is complete up to then.
            if rx.is_empty() {
                report.flush()?;
            }
        }
        progress.update(&summary, &planned);
    }
    if let Some(report) = report.as_mut() {
        report.flush()?;
    }
    progress.finish();
    Ok(summary)
}
