//! Verify: prove that a copy is complete and intact, or say exactly which keys are not.
//!
//! Every source and destination key ends in exactly one `Class` (match, missing, extra,
//! size_mismatch, content_mismatch, unverified), settled by the cheapest tier that can:
//!
//! ```text
//! listings or inventories ─▶ diff pairs ─▶ tier 1: presence, size, equal ETags ─┬─▶ settled
//!                                                                               └─▶ queue
//! queue ─▶ (cost estimate) ─▶ tier 2: HEAD ─ encryption, checksums, part layouts ─┬─▶ settled
//!                                                                                 └─▶ tier 3 (--deep / --sample): bytes ─▶ settled or unverified
//! ```
//!
//! Nothing is ever counted as a match without evidence: a pair no tier settles is
//! `unverified`. The rules for what an ETag or checksum proves live in `evidence`;
//! docs/verify.md explains them. Verify only reads: ListObjectsV2, HeadObject,
//! GetObject, GetBucketEncryption.

pub mod class;
pub mod cost;
pub mod deep;
pub mod evidence;
pub mod head;
pub mod join;
pub mod queue;
pub mod report;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};

use super::diff::{self, Batch, Bucket, DiffOptions, Pages};
use super::inventory::{self, Inventory, InventoryError, Location, ReadOptions};
use super::keys::KeyPlan;
use super::listing::{self, KeyRange, ListError, ListRequest, ObjectEntry};
use super::shutdown::Shutdown;
use crate::aws::requests::RequestCounter;
pub use class::{Class, Count, Outcome, Tally, Tier};
use cost::Estimate;
use evidence::{Head, Judgement};

/// One side of the comparison.
#[derive(Debug, Clone)]
pub struct Side {
    /// The client for this bucket (its requests are counted by the run's counter).
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    /// Read the keys from this S3 Inventory instead of listing the bucket.
    pub inventory: Option<Location>,
}

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Key ranges listed, and objects checked, at once.
    pub concurrency: usize,
    /// Stream the bytes of every pair tiers 1 and 2 leave open.
    pub deep: bool,
    /// Stream the bytes of at most this many of them, chosen at random.
    pub sample: Option<u64>,
    /// Extra destination objects do not fail the run.
    pub allow_extra: bool,
    /// Write every non-matching key here (.csv or .jsonl).
    pub report: Option<PathBuf>,
    pub inventory: ReadOptions,
    /// Pending pairs kept in memory before the queue spills to a temp file.
    pub queue_in_memory: usize,
    /// Seed of the sample's random choice.
    pub seed: u64,
    /// Non-matching keys kept per class for the summary (text and JUnit output).
    pub examples: usize,
    /// Only source keys in this range, and the destination keys they map to (a shard;
    /// live listings only).
    pub shard: Option<KeyRange>,
    /// Stops the run early (Ctrl-C, SIGTERM): what was compared is still counted and
    /// reported, and the summary says the run was interrupted.
    pub shutdown: Shutdown,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: 32,
            deep: false,
            sample: None,
            allow_extra: false,
            report: None,
            inventory: ReadOptions::default(),
            queue_in_memory: 10_000,
            seed: 0x5eed,
            examples: 20,
            shard: None,
            shutdown: Shutdown::new(),
        }
    }
}

/// Why a run could not verify (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    List(#[from] ListError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("{0}")]
    Other(String),
}

/// A bucket's default encryption (GetBucketEncryption).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BucketEncryption {
    Default {
        algorithm: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        kms_key: Option<String>,
    },
    NotConfigured,
    /// Not asked: the listings settled every pair, so no ETag had to be interpreted.
    NotChecked,
    Unknown {
        reason: String,
    },
}

impl BucketEncryption {
    /// Whether new objects get ETags that are not MD5s by default.
    pub fn is_kms(&self) -> bool {
        matches!(self, BucketEncryption::Default { algorithm, .. } if algorithm.starts_with("aws:kms"))
    }

    pub fn describe(&self) -> String {
        match self {
            BucketEncryption::Default { algorithm, .. } => algorithm.clone(),
            BucketEncryption::NotConfigured => "none".into(),
            BucketEncryption::NotChecked => "not checked".into(),
            BucketEncryption::Unknown { reason } => format!("unknown ({reason})"),
        }
    }
}

pub async fn bucket_encryption(s3: &aws_sdk_s3::Client, bucket: &str) -> BucketEncryption {
    match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => {
            let rule = out
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default());
            match rule {
                Some(rule) => BucketEncryption::Default {
                    algorithm: rule.sse_algorithm().as_str().to_string(),
                    kms_key: rule.kms_master_key_id().map(str::to_string),
                },
                None => BucketEncryption::NotConfigured,
            }
        }
        Err(e)
            if e.as_service_error()
                .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s))
                == Some("ServerSideEncryptionConfigurationNotFoundError") =>
        {
            BucketEncryption::NotConfigured
        }
        Err(e) => BucketEncryption::Unknown {
            reason: match e
                .as_service_error()
                .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s))
            {
                Some(code) => code.to_string(),
                None => crate::aws::error::describe(&e),
            },
        },
    }
}

/// A non-matching key kept for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    pub source_key: String,
    pub destination_key: String,
    pub tier: u8,
    pub reason: String,
}

/// How one side was read.
#[derive(Debug, Clone, Serialize)]
pub struct SideReport {
    pub bucket: String,
    /// `live` (ListObjectsV2) or the inventory manifest read.
    pub listing: String,
    pub encryption: BucketEncryption,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory_rows: Option<u64>,
}

/// Everything a run found.
#[derive(Debug, Clone)]
pub struct Summary {
    pub tally: Tally,
    pub examples: BTreeMap<Class, Vec<Example>>,
    pub requests: BTreeMap<String, u64>,
    pub cost_usd: f64,
    pub estimate: Estimate,
    pub deep_read: deep::Read,
    /// (asked for, checked) with `--sample`.
    pub sampled: Option<(u64, u64)>,
    pub sides: [SideReport; 2],
    pub allow_extra: bool,
    pub elapsed: Duration,
    /// Set when a signal stopped the run before every pair was compared.
    pub interrupted: Option<String>,
}

/// The run's verdict, from which the exit code follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Stopped by a signal: the counts cover only part of the keys.
    Interrupted,
    /// Every key matched (extra keys allowed by `--allow-extra` aside).
    Verified,
    /// Something is missing, extra, or differs.
    Failed,
    /// Nothing wrong was found, but some pairs could not be settled.
    Unverified,
}

impl Summary {
    pub fn verdict(&self) -> Verdict {
        if self.interrupted.is_some() {
            Verdict::Interrupted
        } else if self.tally.has_failures(self.allow_extra) {
            Verdict::Failed
        } else if self.tally.count(Class::Unverified).objects > 0 {
            Verdict::Unverified
        } else {
            Verdict::Verified
        }
    }
}

/// Classified pairs go here: the tally, the report file, the examples.
struct Recorder {
    tally: Tally,
    report: Option<report::Writer>,
    report_error: Option<std::io::Error>,
    examples: BTreeMap<Class, Vec<Example>>,
    example_limit: usize,
}

impl Recorder {
    fn record(
        &mut self,
        plan: &KeyPlan,
        segment: usize,
        outcome: &Outcome,
        source: Option<&ObjectEntry>,
        destination: Option<&ObjectEntry>,
    ) {
        self.tally
            .add(outcome, source.map(|s| s.size), destination.map(|d| d.size));
        if outcome.class == Class::Match {
            return;
        }
        let segment = &plan.segments[segment];
        let source_key: Cow<'_, str> = match (source, destination) {
            (Some(s), _) => Cow::Borrowed(&s.key),
            (None, Some(d)) => Cow::Owned(segment.to_source(&d.key)),
            (None, None) => return,
        };
        let destination_key: Cow<'_, str> = match (destination, source) {
            (Some(d), _) => Cow::Borrowed(&d.key),
            (None, Some(s)) => Cow::Owned(segment.to_destination(&s.key)),
            (None, None) => return,
        };
        let examples = self.examples.entry(outcome.class).or_default();
        if examples.len() < self.example_limit {
            examples.push(Example {
                source_key: source_key.to_string(),
                destination_key: destination_key.to_string(),
                tier: outcome.tier.number(),
                reason: outcome.reason.to_string(),
            });
        }
        if let Some(writer) = &mut self.report {
            if self.report_error.is_none() {
                if let Err(e) = writer.write(&report::Line {
                    outcome,
                    source_key: &source_key,
                    destination_key: &destination_key,
                    source,
                    destination,
                }) {
                    self.report_error = Some(e);
                }
            }
        }
    }
}

/// Pairs of each segment, from live listings or inventories, on one channel. With two
/// inventories, pairs that match on the listings are only counted (into `matched`).
async fn pairs(
    source: &Side,
    destination: &Side,
    sorted: &[Option<Arc<inventory::Sorted>>; 2],
    plan: &Arc<KeyPlan>,
    options: &Options,
    matched: &Arc<Mutex<join::Matched>>,
) -> mpsc::Receiver<Batch> {
    if let [Some(source), Some(destination)] = sorted {
        return join::spawn(
            plan.clone(),
            source.clone(),
            destination.clone(),
            matched.clone(),
        );
    }
    if sorted.iter().all(Option::is_none) {
        return diff::start(
            Bucket {
                s3: source.s3.clone(),
                name: source.bucket.clone(),
            },
            Bucket {
                s3: destination.s3.clone(),
                name: destination.bucket.clone(),
            },
            plan.clone(),
            DiffOptions {
                concurrent_ranges: options.concurrency.clamp(1, 64),
                shard: options.shard.clone(),
                ..DiffOptions::default()
            },
        );
    }
    let (tx, rx) = mpsc::channel(8);
    let (plan, sorted) = (plan.clone(), sorted.clone());
    let sides = [source.clone(), destination.clone()];
    tokio::spawn(async move {
        // One segment at a time: an inventory side is CPU work, parallel inside.
        for (index, segment) in plan.segments.iter().enumerate() {
            let pages = |side: usize| -> Pages {
                let (prefix, skip) = if side == 0 {
                    (&segment.source_prefix, &segment.source_skip)
                } else {
                    (&segment.destination_prefix, &segment.destination_skip)
                };
                match &sorted[side] {
                    Some(inventory) => inventory.pages(prefix, skip, 1000),
                    None => listing::spawn(
                        sides[side].s3.clone(),
                        ListRequest {
                            bucket: sides[side].bucket.clone(),
                            prefix: prefix.clone(),
                            skip: skip.clone(),
                            range: KeyRange::all(),
                            page_size: 1000,
                        },
                        2,
                    ),
                }
            };
            diff::merge_pages(&plan, index, pages(0), pages(1), tx.clone()).await;
            if tx.is_closed() {
                return;
            }
        }
    });
    rx
}

/// Opens and reads the inventories of the sides that have one.
async fn read_inventories(
    sides: [&Side; 2],
    options: &ReadOptions,
    announce: &(dyn Fn(String) + Send + Sync),
) -> Result<[Option<Arc<inventory::Sorted>>; 2], VerifyError> {
    let mut opened = Vec::new();
    for (name, side) in ["source", "destination"].iter().zip(sides) {
        let Some(location) = &side.inventory else {
            continue;
        };
        let inventory = Inventory::open(location, Some(&side.s3)).await?;
        if inventory.bucket() != side.bucket {
            return Err(InventoryError::new(
                location.to_string(),
                format!(
                    "this inventory lists bucket {}, not the {name} bucket {}",
                    inventory.bucket(),
                    side.bucket
                ),
            )
            .into());
        }
        if !inventory.has_etags() {
            announce(format!(
                "warning: the {name} inventory has no ETag column: every pair needs HEAD requests (add ETag to the inventory's fields)"
            ));
        }
        opened.push((*name, inventory));
    }
    let started = Instant::now();
    let names: Vec<&str> = opened.iter().map(|(n, _)| *n).collect();
    let read = inventory::read_all(
        opened.into_iter().map(|(_, i)| i).collect(),
        options.clone(),
    )
    .await?;
    let mut out: [Option<Arc<inventory::Sorted>>; 2] = [None, None];
    for (name, sorted) in names.into_iter().zip(read) {
        let s = &sorted.stats;
        announce(format!(
            "read the {name} inventory {}: {} objects ({} rows) from {} data files ({}) in {:.1}s, {} sorted runs ({} on disk)",
            sorted.location,
            cost::thousands(s.objects),
            cost::thousands(s.rows),
            s.data_files,
            cost::bytes(s.compressed_bytes),
            started.elapsed().as_secs_f64(),
            s.runs,
            s.spilled_runs
        ));
        out[usize::from(name == "destination")] = Some(sorted);
    }
    Ok(out)
}

/// Runs verification: every key of `plan` on both sides ends in one class.
/// `announce` receives human-readable progress lines (the cost estimate before the
/// live tiers start, inventory statistics).
pub async fn run(
    source: Side,
    destination: Side,
    plan: Arc<KeyPlan>,
    options: Options,
    counter: &RequestCounter,
    announce: &(dyn Fn(String) + Send + Sync),
) -> Result<Summary, VerifyError> {
    let started = Instant::now();
    let sorted = tokio::select! {
        read = read_inventories([&source, &destination], &options.inventory, announce) => read?,
        _ = options.shutdown.draining() => {
            return Err(VerifyError::Other(format!(
                "interrupted by {} while reading the inventories; nothing was compared",
                options.shutdown.cause().unwrap_or("a signal")
            )))
        }
    };
    if sorted.iter().any(Option::is_none) {
        announce(cost::listing_line());
    }
    let report = match &options.report {
        Some(path) => Some(report::Writer::create(path).map_err(VerifyError::Other)?),
        None => None,
    };
    let recorder = Arc::new(Mutex::new(Recorder {
        tally: Tally::default(),
        report,
        report_error: None,
        examples: BTreeMap::new(),
        example_limit: options.examples,
    }));

    // Tier 1, streaming: settle what the listings can, queue the rest.
    let tier1_started = Instant::now();
    let mut queue = queue::Queue::new(options.queue_in_memory, options.inventory.temp_dir.clone());
    let matched = Arc::new(Mutex::new(join::Matched::default()));
    let mut batches = pairs(&source, &destination, &sorted, &plan, &options, &matched).await;
    let shutdown = options.shutdown.clone();
    // Objects each side's listing (or inventory) gave, whatever tier settles them.
    let mut listed = [0u64; 2];
    loop {
        let batch = tokio::select! {
            biased;
            _ = shutdown.draining() => break,
            batch = batches.recv() => match batch {
                Some(batch) => batch?,
                None => break,
            },
        };
        let mut recorder = recorder.lock().expect("recorder lock");
        for pair in batch {
            listed[0] += u64::from(pair.source.is_some());
            listed[1] += u64::from(pair.destination.is_some());
            let outcome = match (&pair.source, &pair.destination) {
                (Some(_), None) => {
                    Outcome::new(Class::Missing, Tier::Listing, "not in the destination")
                }
                (None, Some(_)) => Outcome::new(Class::Extra, Tier::Listing, "not in the source"),
                (Some(s), Some(d)) => match evidence::from_listing(s, d) {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        let (s, d) = (pair.source.expect("both"), pair.destination.expect("both"));
                        queue.push(s, d).map_err(|e| {
                            VerifyError::Other(format!("queueing objects for tier 2: {e}"))
                        })?;
                        continue;
                    }
                },
                (None, None) => continue,
            };
            recorder.record(
                &plan,
                pair.segment,
                &outcome,
                pair.source.as_ref(),
                pair.destination.as_ref(),
            );
        }
    }

    drop(batches);
    {
        let matched = *matched.lock().expect("matched lock");
        listed[0] += matched.objects;
        listed[1] += matched.objects;
        recorder
            .lock()
            .expect("recorder lock")
            .tally
            .add_listing_matches(
                matched.objects,
                matched.source_bytes,
                matched.destination_bytes,
            );
    }

    // The estimate, before any request of tiers 2 and 3.
    let tier3 = options.deep || options.sample.is_some();
    let tier3_objects = match options.sample {
        Some(n) if !options.deep => n.min(queue.len()),
        _ if tier3 => queue.len(),
        _ => 0,
    };
    let estimate = Estimate {
        pending: queue.len(),
        pending_bytes: queue.bytes(),
        tier2_heads: 2 * queue.len(),
        tier3_objects,
        tier3_gets: 2 * tier3_objects,
        tier3_bytes: if tier3_objects == queue.len() {
            2 * queue.bytes()
        } else {
            // A sample: the average object, twice.
            2 * queue.bytes() / queue.len().max(1) * tier3_objects
        },
    };
    {
        let tally = &recorder.lock().expect("recorder lock").tally;
        announce(format!(
            "tier 1 {} in {:.1}s: {} source and {} destination objects listed, {} pairs settled by the listings, {} left for tier 2; {} requests so far ({})",
            if shutdown.is_draining() { "stopped" } else { "done" },
            tier1_started.elapsed().as_secs_f64(),
            cost::thousands(listed[0]),
            cost::thousands(listed[1]),
            cost::thousands(tally.settled_by[0]),
            cost::thousands(queue.len()),
            cost::thousands(counter.total()),
            cost::dollars(counter.cost())
        ));
    }
    // Default encryption only matters for pairs whose ETags differ.
    let (source_encryption, destination_encryption) = if queue.is_empty() || shutdown.is_draining()
    {
        (BucketEncryption::NotChecked, BucketEncryption::NotChecked)
    } else {
        tokio::join!(
            bucket_encryption(&source.s3, &source.bucket),
            bucket_encryption(&destination.s3, &destination.bucket)
        )
    };
    for (name, encryption) in [
        ("source", &source_encryption),
        ("destination", &destination_encryption),
    ] {
        if encryption.is_kms() && !queue.is_empty() {
            announce(format!(
                "the {name} bucket encrypts with {} by default: its ETags are not MD5s, so differing ETags are settled by checksums or bytes",
                encryption.describe()
            ));
        }
    }
    if !queue.is_empty() && !shutdown.is_draining() {
        for line in cost::estimate_lines(&estimate, options.deep, options.sample) {
            announce(line);
        }
    }

    // Tiers 2 and 3 over the queue.
    let buckets = [source.bucket.clone(), destination.bucket.clone()];
    let context = Arc::new(Context {
        source,
        destination,
        plan: plan.clone(),
        recorder: recorder.clone(),
        deep: options.deep,
        sample: options.sample.map(|n| {
            Mutex::new(Reservoir {
                capacity: n as usize,
                seen: 0,
                kept: Vec::new(),
                rng: options.seed | 1,
            })
        }),
        read: Mutex::new(deep::Read::default()),
    });
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let drain = queue
        .drain()
        .map_err(|e| VerifyError::Other(format!("reading the tier-2 queue: {e}")))?;
    for item in drain {
        if shutdown.is_draining() {
            break;
        }
        let (s, d) =
            item.map_err(|e| VerifyError::Other(format!("reading the tier-2 queue: {e}")))?;
        let permit = tokio::select! {
            biased;
            _ = shutdown.draining() => break,
            permit = limit.clone().acquire_owned() => permit.expect("never closed"),
        };
        let context = context.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            // At `Cancelling`, a pair still being read is left out, not half-recorded.
            tokio::select! {
                biased;
                _ = context.settle(s, d) => {}
                _ = shutdown.cancelled() => {}
            }
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let sampled = match &context.sample {
        None => None,
        Some(_) if shutdown.is_draining() => None,
        Some(reservoir) => {
            let kept = std::mem::take(&mut reservoir.lock().expect("reservoir lock").kept);
            let checked = kept.len() as u64;
            for open in kept {
                let permit = tokio::select! {
                    biased;
                    _ = shutdown.draining() => break,
                    permit = limit.clone().acquire_owned() => permit.expect("never closed"),
                };
                let context = context.clone();
                let shutdown = shutdown.clone();
                tasks.spawn(async move {
                    tokio::select! {
                        biased;
                        outcome = context.deep(&open) => {
                            context.record(&outcome, &open.source, &open.destination);
                        }
                        _ = shutdown.cancelled() => {}
                    }
                    drop(permit);
                });
            }
            while tasks.join_next().await.is_some() {}
            Some((options.sample.unwrap_or(0), checked))
        }
    };

    let context =
        Arc::try_unwrap(context).map_err(|_| VerifyError::Other("tasks still running".into()))?;
    let deep_read = *context.read.lock().expect("read lock");
    drop(context);
    let recorder = Arc::try_unwrap(recorder)
        .map_err(|_| VerifyError::Other("tasks still running".into()))?
        .into_inner()
        .expect("recorder lock");
    if let Some(e) = recorder.report_error {
        return Err(VerifyError::Other(format!("writing the report: {e}")));
    }
    if let Some(writer) = recorder.report {
        writer
            .finish()
            .map_err(|e| VerifyError::Other(format!("writing the report: {e}")))?;
    }
    let side_report = |side: usize, bucket: &str, encryption: BucketEncryption| SideReport {
        bucket: bucket.to_string(),
        listing: sorted[side]
            .as_ref()
            .map_or("live".to_string(), |s| s.location.to_string()),
        encryption,
        inventory_rows: sorted[side].as_ref().map(|s| s.stats.rows),
    };
    Ok(Summary {
        tally: recorder.tally,
        examples: recorder.examples,
        requests: counter.counts(),
        cost_usd: counter.cost(),
        estimate,
        deep_read,
        sampled,
        sides: [
            side_report(0, &buckets[0], source_encryption),
            side_report(1, &buckets[1], destination_encryption),
        ],
        allow_extra: options.allow_extra,
        elapsed: started.elapsed(),
        interrupted: shutdown
            .describe("the counts cover only the keys compared before it; run verify again"),
    })
}

/// A pair tier 2 left open, with what its HEADs said.
struct Open {
    source: ObjectEntry,
    destination: ObjectEntry,
    heads: (Head, Head),
    reason: Cow<'static, str>,
}

/// Uniform random choice of `capacity` open pairs (reservoir sampling).
struct Reservoir {
    capacity: usize,
    seen: u64,
    kept: Vec<Open>,
    rng: u64,
}

impl Reservoir {
    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for picking a sample.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Offers a pair; returns the one left out of the sample (this or an evicted one).
    fn offer(&mut self, open: Open) -> Option<Open> {
        self.seen += 1;
        if self.kept.len() < self.capacity {
            self.kept.push(open);
            return None;
        }
        let slot = self.next_random() % self.seen;
        if (slot as usize) < self.capacity {
            Some(std::mem::replace(&mut self.kept[slot as usize], open))
        } else {
            Some(open)
        }
    }
}

/// What the tier-2/3 tasks share.
struct Context {
    source: Side,
    destination: Side,
    plan: Arc<KeyPlan>,
    recorder: Arc<Mutex<Recorder>>,
    deep: bool,
    sample: Option<Mutex<Reservoir>>,
    read: Mutex<deep::Read>,
}

impl Context {
    fn objects<'a>(
        &'a self,
        source: &'a ObjectEntry,
        destination: &'a ObjectEntry,
    ) -> (head::Object<'a>, head::Object<'a>) {
        (
            head::Object {
                s3: &self.source.s3,
                bucket: &self.source.bucket,
                key: &source.key,
                etag: &source.etag,
            },
            head::Object {
                s3: &self.destination.s3,
                bucket: &self.destination.bucket,
                key: &destination.key,
                etag: &destination.etag,
            },
        )
    }

    fn record(&self, outcome: &Outcome, source: &ObjectEntry, destination: &ObjectEntry) {
        // Both sides are present, so the segment is not needed to name the keys.
        self.recorder.lock().expect("recorder lock").record(
            &self.plan,
            0,
            outcome,
            Some(source),
            Some(destination),
        );
    }

    /// Tier 2, then tier 3 or the sample for what stays open.
    async fn settle(&self, source: ObjectEntry, destination: ObjectEntry) {
        let open = match self.tier2(&source, &destination).await {
            Ok(outcome) => {
                self.record(&outcome, &source, &destination);
                return;
            }
            Err((heads, reason)) => Open {
                source,
                destination,
                heads,
                reason,
            },
        };
        if self.deep {
            let outcome = self.deep(&open).await;
            self.record(&outcome, &open.source, &open.destination);
            return;
        }
        let left_out = match &self.sample {
            Some(reservoir) => reservoir.lock().expect("reservoir lock").offer(open),
            None => Some(open),
        };
        if let Some(open) = left_out {
            let outcome = Outcome::new(Class::Unverified, Tier::Checksums, open.reason.clone());
            self.record(&outcome, &open.source, &open.destination);
        }
    }

    /// Ok: settled (or unverifiable, with the reason). Err: open, for tier 3.
    async fn tier2(
        &self,
        source: &ObjectEntry,
        destination: &ObjectEntry,
    ) -> Result<Outcome, ((Head, Head), Cow<'static, str>)> {
        let unverified = |reason: String| Outcome::new(Class::Unverified, Tier::Checksums, reason);
        let (s, d) = self.objects(source, destination);
        let (source_head, destination_head) = tokio::join!(head::head(&s), head::head(&d));
        let (source_head, destination_head) = match (source_head, destination_head) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Ok(unverified(e)),
        };
        if source_head.size != source.size || destination_head.size != destination.size {
            return Ok(unverified(
                "the object changed since it was listed; verify again".into(),
            ));
        }
        let mut judgement = evidence::from_heads(&source_head, &destination_head, None);
        if judgement == Judgement::NeedLayouts {
            let parts = source_head.multipart_parts().unwrap_or(1);
            let (a, b) = tokio::join!(head::layout(&s, parts, 4), head::layout(&d, parts, 4));
            judgement = match (a, b) {
                (Ok(a), Ok(b)) => {
                    evidence::from_heads(&source_head, &destination_head, Some((&a, &b)))
                }
                (Err(e), _) | (_, Err(e)) => return Ok(unverified(e)),
            };
        }
        match judgement {
            Judgement::Settled(outcome) => Ok(outcome),
            Judgement::Unsettled(reason) => Err(((source_head, destination_head), reason)),
            Judgement::NeedLayouts => Err((
                (source_head, destination_head),
                "part layouts could not be compared".into(),
            )),
        }
    }

    async fn deep(&self, open: &Open) -> Outcome {
        let (s, d) = self.objects(&open.source, &open.destination);
        let mut read = deep::Read::default();
        let outcome = deep::settle(&s, &d, &open.heads.0, &open.heads.1, &mut read).await;
        let mut total = self.read.lock().expect("read lock");
        total.bytes += read.bytes;
        total.gets += read.gets;
        outcome
    }
}
