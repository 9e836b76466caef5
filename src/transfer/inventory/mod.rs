//! S3 Inventory as a listing source: a CSV (gzip) inventory report read into the same
//! sorted pages a live listing produces, so `diff::merge_pages` pairs them.
//!
//! ```text
//! manifest.json ─▶ data files ─▶ [worker × cores: gunzip ─▶ parse rows ─▶ sorted runs] ─▶ k-way merge per segment ─▶ Pages
//! ```
//!
//! Inventory data files are not guaranteed to be sorted, and a bucket can hold billions
//! of keys, so reading is an external merge sort within a memory budget (`sort`): the
//! first phase decompresses and parses every data file of both inventories in parallel
//! (one worker per core, each on a whole file: a gzip stream cannot be split) and cuts
//! the rows into sorted runs; the second merges the runs of each side in key order,
//! one segment of the key plan at a time, and sends pages like a lister does.
//! Each data file's size and MD5 are checked against the manifest, so a truncated or
//! replaced file is an error, not a silently shorter listing.

pub mod csv;
pub mod manifest;
pub mod sort;

use std::io::{self, BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::aws::error::describe;
use md5::{Digest, Md5};
use tokio::sync::mpsc;

use super::diff::Pages;
use super::listing::{ListError, ObjectEntry};
use super::spill;
pub use manifest::{DataFile, Location, Manifest};
use sort::{Merger, Run, RunBuilder, RunStore};

/// A problem with an inventory: what was being read, and what is wrong or to do.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct InventoryError {
    pub what: String,
    pub message: String,
}

impl InventoryError {
    pub fn new(what: impl Into<String>, message: impl Into<String>) -> InventoryError {
        InventoryError {
            what: what.into(),
            message: message.into(),
        }
    }
}

impl From<InventoryError> for ListError {
    fn from(e: InventoryError) -> ListError {
        ListError {
            what: e.what,
            message: e.message,
            cause: None,
        }
    }
}

/// Where the data files of an inventory are read from.
#[derive(Debug, Clone)]
enum Origin {
    /// A local mirror of the inventory bucket: data file `key` is `root/key`.
    Local(PathBuf),
    S3 {
        s3: aws_sdk_s3::Client,
        bucket: String,
    },
}

/// An inventory report whose manifest has been read.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub location: Location,
    pub manifest: Manifest,
    schema: csv::Schema,
    origin: Origin,
}

impl Inventory {
    /// Reads the manifest (and checks it against manifest.checksum when present).
    /// `s3` is needed for an `s3://` location: the client of the account that can read
    /// the inventory bucket.
    pub async fn open(
        location: &Location,
        s3: Option<&aws_sdk_s3::Client>,
    ) -> Result<Inventory, InventoryError> {
        let what = location.to_string();
        let (text, checksum, origin_hint) = match location {
            Location::Local(path) => {
                let text = tokio::fs::read(path).await.map_err(|e| {
                    InventoryError::new(&what, format!("cannot read the manifest: {e}"))
                })?;
                let checksum = tokio::fs::read(path.with_file_name("manifest.checksum"))
                    .await
                    .ok();
                (text, checksum, None)
            }
            Location::S3 { bucket, key } => {
                let s3 = s3.ok_or_else(|| {
                    InventoryError::new(&what, "no S3 client to read the inventory with")
                })?;
                let text = get_small(s3, bucket, key)
                    .await
                    .map_err(|e| InventoryError::new(&what, e))?;
                let checksum_key = match key.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/manifest.checksum"),
                    None => "manifest.checksum".to_string(),
                };
                let checksum = get_small(s3, bucket, &checksum_key).await.ok();
                (text, checksum, Some((s3.clone(), bucket.clone())))
            }
        };
        manifest::check_manifest_md5(&what, &text, checksum.as_deref())?;
        let manifest = Manifest::parse(&what, &text)?;
        let schema = csv::Schema::parse(&manifest.file_schema)
            .map_err(|message| InventoryError::new(&what, message))?;
        let origin = match (location, origin_hint) {
            (Location::Local(path), _) => Origin::Local(manifest::local_root(path, &manifest)?),
            (_, Some((s3, bucket))) => Origin::S3 {
                s3,
                bucket: manifest
                    .destination_bucket_name()
                    .map(str::to_string)
                    .unwrap_or(bucket),
            },
            (Location::S3 { .. }, None) => unreachable!("an S3 location has a client"),
        };
        Ok(Inventory {
            location: location.clone(),
            manifest,
            schema,
            origin,
        })
    }

    /// The bucket this inventory lists.
    pub fn bucket(&self) -> &str {
        &self.manifest.source_bucket
    }

    /// Whether the report has the ETag column (without it no ETag can be compared).
    pub fn has_etags(&self) -> bool {
        self.schema.etag.is_some()
    }

    /// GetObject requests reading this inventory makes (manifest and data files).
    pub fn s3_requests(&self) -> usize {
        match self.origin {
            Origin::Local(_) => 0,
            Origin::S3 { .. } => self.manifest.files.len() + 2,
        }
    }
}

async fn get_small(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    let response = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("GetObject s3://{bucket}/{key}: {}", describe(&e)))?;
    let body = response
        .body
        .collect()
        .await
        .map_err(|e| format!("reading s3://{bucket}/{key}: {e}"))?;
    Ok(body.into_bytes().to_vec())
}

/// How much memory and how many threads reading may use.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Bytes of rows held in memory at once (sort buffers and runs kept in memory).
    pub memory_budget: usize,
    /// Data files decoded at once.
    pub workers: usize,
    /// Where sorted runs are spilled (the system temp dir when None).
    pub temp_dir: Option<PathBuf>,
    /// Parse every column an entry can carry (timestamps, storage class, checksum
    /// algorithm); false parses only what a comparison needs, which is faster.
    pub detail: bool,
    /// Check local data files against the manifest's MD5 too (always done on S3).
    pub check_md5: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            memory_budget: 40 << 20,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            temp_dir: None,
            detail: true,
            check_md5: false,
        }
    }
}

/// What reading one inventory found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub data_files: usize,
    pub compressed_bytes: u64,
    /// Data rows, including noncurrent versions and delete markers.
    pub rows: u64,
    /// Rows that are current objects (what gets compared).
    pub objects: u64,
    pub runs: usize,
    pub spilled_runs: usize,
}

/// One inventory, sorted into runs, ready to be read in key order.
pub struct Sorted {
    pub location: Location,
    pub stats: Stats,
    runs: Vec<Run>,
}

impl std::fmt::Debug for Sorted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sorted")
            .field("location", &self.location)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Reads and sorts several inventories (both sides of a verify) with one pool of
/// workers, so a side with a single large data file does not leave cores idle.
pub async fn read_all(
    inventories: Vec<Inventory>,
    options: ReadOptions,
) -> Result<Vec<Arc<Sorted>>, InventoryError> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || read_blocking(&inventories, &options, &handle))
        .await
        .map_err(|e| InventoryError::new("inventory", format!("reader failed: {e}")))?
}

struct Shared<'a> {
    inventories: &'a [Inventory],
    jobs: Vec<(usize, usize)>,
    next_job: AtomicUsize,
    store: RunStore,
    runs: Mutex<Vec<Vec<Run>>>,
    stats: Mutex<Vec<Stats>>,
    failed: AtomicBool,
    handle: &'a tokio::runtime::Handle,
    detail: bool,
    check_md5: bool,
}

fn read_blocking(
    inventories: &[Inventory],
    options: &ReadOptions,
    handle: &tokio::runtime::Handle,
) -> Result<Vec<Arc<Sorted>>, InventoryError> {
    let jobs: Vec<(usize, usize)> = inventories
        .iter()
        .enumerate()
        .flat_map(|(i, inv)| (0..inv.manifest.files.len()).map(move |f| (i, f)))
        .collect();
    let workers = options.workers.clamp(1, jobs.len().max(1));
    let shared = Shared {
        inventories,
        next_job: AtomicUsize::new(0),
        store: RunStore::new(options.memory_budget / 4, options.temp_dir.clone()),
        runs: Mutex::new(inventories.iter().map(|_| Vec::new()).collect()),
        stats: Mutex::new(vec![Stats::default(); inventories.len()]),
        failed: AtomicBool::new(false),
        handle,
        detail: options.detail,
        check_md5: options.check_md5,
        jobs,
    };
    // Each worker's arena gets half its share; the rest covers runs kept in memory.
    let arena = options.memory_budget / (2 * workers);
    let results: Vec<Result<(), InventoryError>> = std::thread::scope(|scope| {
        let tasks: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| work(&shared, arena)))
            .collect();
        tasks
            .into_iter()
            .map(|t| {
                t.join().unwrap_or_else(|_| {
                    Err(InventoryError::new("inventory", "a reader thread panicked"))
                })
            })
            .collect()
    });
    for result in results {
        result?;
    }
    let Shared {
        store, runs, stats, ..
    } = shared;
    let runs = runs.into_inner().expect("runs lock");
    let stats = stats.into_inner().expect("stats lock");
    let mut sorted = Vec::new();
    for ((inventory, runs), mut stats) in inventories.iter().zip(runs).zip(stats) {
        stats.runs = runs.len();
        stats.spilled_runs = runs
            .iter()
            .filter(|r| matches!(r, Run::File { .. }))
            .count();
        let runs = sort::reduce_fan_in(runs, &store).map_err(|e| {
            InventoryError::new(
                inventory.location.to_string(),
                format!("merging sorted runs: {e}"),
            )
        })?;
        sorted.push(Arc::new(Sorted {
            location: inventory.location.clone(),
            stats,
            runs,
        }));
    }
    Ok(sorted)
}

/// One worker: takes data files off the queue until none are left or one failed.
fn work(shared: &Shared<'_>, arena: usize) -> Result<(), InventoryError> {
    let mut builder = RunBuilder::new(arena);
    let mut current: Option<usize> = None;
    // `close` at the end of an inventory's files, `finish` when the arena is full (an
    // open file run may still be appended to).
    let finish_or_close =
        |builder: &mut RunBuilder, inventory: usize, close: bool| -> Result<(), InventoryError> {
            let runs = if close {
                builder.close(&shared.store)
            } else {
                builder
                    .finish(&shared.store)
                    .map(|r| r.into_iter().collect())
            };
            let runs: Vec<Run> = runs.map_err(|e| {
                InventoryError::new(
                    shared.inventories[inventory].location.to_string(),
                    format!(
                        "writing a sorted run to {}: {e}",
                        sort::describe(&shared.store).unwrap_or_else(|| "the temp dir".into())
                    ),
                )
            })?;
            shared.runs.lock().expect("runs lock")[inventory].extend(runs);
            Ok(())
        };
    let flush =
        |builder: &mut RunBuilder, inventory: usize| finish_or_close(builder, inventory, false);
    let outcome = (|| {
        loop {
            if shared.failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            let n = shared.next_job.fetch_add(1, Ordering::Relaxed);
            let Some(&(inventory, file)) = shared.jobs.get(n) else {
                break;
            };
            if current.is_some_and(|c| c != inventory) {
                finish_or_close(&mut builder, current.expect("checked"), true)?;
            }
            current = Some(inventory);
            let stats = read_file(shared, inventory, file, &mut builder, &flush)?;
            let mut all = shared.stats.lock().expect("stats lock");
            let total = &mut all[inventory];
            total.data_files += 1;
            total.compressed_bytes += stats.compressed_bytes;
            total.rows += stats.rows;
            total.objects += stats.objects;
        }
        if let Some(inventory) = current {
            finish_or_close(&mut builder, inventory, true)?;
        }
        Ok(())
    })();
    if outcome.is_err() {
        shared.failed.store(true, Ordering::Relaxed);
    }
    outcome
}

/// Size of the buffer decompressed text is parsed from.
const TEXT_BUFFER: usize = 1 << 20;

fn read_file(
    shared: &Shared<'_>,
    inventory: usize,
    file: usize,
    builder: &mut RunBuilder,
    flush: &dyn Fn(&mut RunBuilder, usize) -> Result<(), InventoryError>,
) -> Result<Stats, InventoryError> {
    let inv = &shared.inventories[inventory];
    let data_file = &inv.manifest.files[file];
    let what = match &inv.origin {
        Origin::Local(root) => root.join(&data_file.key).display().to_string(),
        Origin::S3 { bucket, .. } => format!("s3://{bucket}/{}", data_file.key),
    };
    let error = |message: String| InventoryError::new(&what, message);
    let raw: Box<dyn Read + Send> = match &inv.origin {
        Origin::Local(root) => Box::new(
            std::fs::File::open(root.join(&data_file.key))
                .map_err(|e| error(format!("cannot open the data file: {e}")))?,
        ),
        Origin::S3 { s3, bucket } => Box::new(S3Reader::start(
            shared.handle,
            s3.clone(),
            bucket.clone(),
            data_file.key.clone(),
        )),
    };
    let checked = CheckedReader {
        inner: raw,
        // Size and the gzip CRC-32 of every decompressed byte are always checked. The
        // manifest's MD5 too for files read from S3, and for a local mirror when asked:
        // the tool that mirrored it checked each download already.
        md5: data_file
            .md5
            .as_ref()
            .filter(|_| shared.check_md5 || matches!(inv.origin, Origin::S3 { .. }))
            .map(|_| Md5::new()),
        bytes: 0,
    };
    let mut decoder =
        flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, checked));
    let schema = inv.schema.clone();
    let mut parser = csv::RowParser::new(if shared.detail {
        schema
    } else {
        schema.minimal()
    });
    let mut stats = Stats::default();
    let mut text = vec![0u8; TEXT_BUFFER];
    let mut filled = 0;
    let mut line_number: u64 = 0;
    let mut encode_error = None;
    loop {
        if filled == text.len() {
            // One line longer than the buffer: grow (S3 keys are at most 1 KiB, so only a
            // broken file gets here, and it fails on parsing instead of looping).
            text.resize(text.len() * 2, 0);
        }
        let n = decoder
            .read(&mut text[filled..])
            .map_err(|e| error(format!("not a readable gzip file: {e}")))?;
        let end_of_file = n == 0;
        filled += n;
        if end_of_file && filled > 0 {
            // A last line without a newline: end it, to parse it like every other line
            // (the read had room, so there is room for one byte).
            text[filled] = b'\n';
            filled += 1;
        }
        let mut start = 0;
        while let Some(offset) = memchr::memchr(b'\n', &text[start..filled]) {
            let line = &text[start..start + offset];
            start += offset + 1;
            line_number += 1;
            if line.is_empty() {
                continue;
            }
            stats.rows += 1;
            let parsed = parser
                .parse(line, |entry| {
                    if let Err(e) = builder.push(entry) {
                        encode_error = Some(e);
                    }
                })
                .map_err(|message| error(format!("line {line_number}: {message}")))?;
            if let Some(e) = encode_error.take() {
                return Err(error(format!("line {line_number}: {e}")));
            }
            if parsed == csv::Parsed::Object {
                stats.objects += 1;
                if builder.is_full() {
                    flush(builder, inventory)?;
                }
            }
        }
        if end_of_file {
            break;
        }
        text.copy_within(start..filled, 0);
        filled -= start;
        if shared.failed.load(Ordering::Relaxed) {
            return Ok(stats);
        }
    }
    let checked = decoder.into_inner().into_inner();
    stats.compressed_bytes = checked.bytes;
    checked.check(data_file).map_err(error)?;
    Ok(stats)
}

/// Counts and hashes the compressed bytes so they can be checked against the manifest.
struct CheckedReader {
    inner: Box<dyn Read + Send>,
    md5: Option<Md5>,
    bytes: u64,
}

impl Read for CheckedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        if let Some(md5) = &mut self.md5 {
            md5.update(&buf[..n]);
        }
        Ok(n)
    }
}

impl CheckedReader {
    fn check(mut self, file: &DataFile) -> Result<(), String> {
        // The gzip decoder stops at the end of the last member; read whatever follows.
        let mut rest = [0u8; 4096];
        while self.read(&mut rest).map_err(|e| e.to_string())? > 0 {}
        if self.bytes != file.size {
            return Err(format!(
                "the data file has {} bytes, the manifest says {}: it is truncated or was replaced",
                self.bytes, file.size
            ));
        }
        if let (Some(md5), Some(expected)) = (self.md5, &file.md5) {
            let actual = manifest::hex(&md5.finalize());
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(format!(
                    "the data file has MD5 {actual}, the manifest says {expected}: it is damaged or was replaced"
                ));
            }
        }
        Ok(())
    }
}

/// A data file on S3 read as a blocking stream: a task on the runtime downloads it and
/// hands the chunks over a small channel (so at most a few chunks are in memory).
struct S3Reader {
    chunks: mpsc::Receiver<Result<bytes::Bytes, String>>,
    current: bytes::Bytes,
}

impl S3Reader {
    fn start(
        handle: &tokio::runtime::Handle,
        s3: aws_sdk_s3::Client,
        bucket: String,
        key: String,
    ) -> S3Reader {
        let (tx, rx) = mpsc::channel(8);
        handle.spawn(async move {
            let response = match s3.get_object().bucket(&bucket).key(&key).send().await {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(format!("GetObject: {}", describe(&e)))).await;
                    return;
                }
            };
            let mut body = response.body;
            loop {
                match body.try_next().await {
                    Ok(Some(chunk)) => {
                        if tx.send(Ok(chunk)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.send(Err(format!("download interrupted: {e}"))).await;
                        return;
                    }
                }
            }
        });
        S3Reader {
            chunks: rx,
            current: bytes::Bytes::new(),
        }
    }
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

impl Sorted {
    /// The entries under `prefix` (but not under any of `skip`), in key order, as pages
    /// of `page_size`: the same stream a lister of that prefix sends.
    pub fn pages(self: &Arc<Self>, prefix: &str, skip: &[String], page_size: usize) -> Pages {
        let (tx, rx) = mpsc::channel(4);
        let sorted = self.clone();
        let prefix = prefix.to_string();
        let skip = skip.to_vec();
        tokio::task::spawn_blocking(move || {
            if let Err(message) = sorted.send_pages(&prefix, &skip, page_size.max(1), &tx) {
                let _ = tx.blocking_send(Err(ListError {
                    what: format!("reading inventory {}", sorted.location),
                    message,
                    cause: None,
                }));
            }
        });
        rx
    }

    fn send_pages(
        &self,
        prefix: &str,
        skip: &[String],
        page_size: usize,
        tx: &mpsc::Sender<Result<Vec<ObjectEntry>, ListError>>,
    ) -> Result<(), String> {
        let mut reader = self.reader(prefix, skip)?;
        let mut page = Vec::with_capacity(page_size);
        while let Some(record) = reader.next()? {
            let entry = spill::decode(record)
                .and_then(|raw| raw.to_entry())
                .map_err(|e| e.to_string())?;
            page.push(entry);
            if page.len() == page_size {
                let full = std::mem::replace(&mut page, Vec::with_capacity(page_size));
                if tx.blocking_send(Ok(full)).is_err() {
                    return Ok(());
                }
            }
        }
        if !page.is_empty() {
            let _ = tx.blocking_send(Ok(page));
        }
        Ok(())
    }

    /// The records under `prefix` (not under `skip`) in key order, read in this thread.
    pub fn reader<'a>(&'a self, prefix: &'a str, skip: &'a [String]) -> Result<Reader<'a>, String> {
        Ok(Reader {
            merger: Merger::new(&self.runs, prefix.as_bytes())
                .map_err(|e| format!("reading sorted runs: {e}"))?,
            prefix,
            skip,
            previous: Vec::new(),
            first: true,
        })
    }

    /// Like `reader`, from a thread of its own: blocks of whole records (each with its
    /// length prefix) on a bounded channel, so a consumer in another thread gets the
    /// merge done in parallel with its own work.
    pub fn record_blocks(
        self: &Arc<Self>,
        prefix: &str,
        skip: &[String],
    ) -> std::sync::mpsc::Receiver<Result<Vec<u8>, String>> {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let sorted = self.clone();
        let (prefix, skip) = (prefix.to_string(), skip.to_vec());
        std::thread::spawn(move || {
            let outcome = (|| -> Result<(), String> {
                let mut reader = sorted.reader(&prefix, &skip)?;
                let mut block = Vec::with_capacity(RECORD_BLOCK + 1024);
                while let Some(record) = reader.next()? {
                    block.extend_from_slice(record);
                    if block.len() >= RECORD_BLOCK {
                        let full =
                            std::mem::replace(&mut block, Vec::with_capacity(RECORD_BLOCK + 1024));
                        if tx.send(Ok(full)).is_err() {
                            return Ok(());
                        }
                    }
                }
                if !block.is_empty() {
                    let _ = tx.send(Ok(block));
                }
                Ok(())
            })();
            if let Err(e) = outcome {
                let _ = tx.send(Err(format!("reading inventory {}: {e}", sorted.location)));
            }
        });
        rx
    }
}

/// Bytes of records sent at once by `record_blocks`.
const RECORD_BLOCK: usize = 64 * 1024;

/// Reads one prefix of a sorted inventory, record by record; a key listed twice is an
/// error (an inventory of all versions read without its IsLatest column).
pub struct Reader<'a> {
    merger: Merger<'a>,
    prefix: &'a str,
    skip: &'a [String],
    previous: Vec<u8>,
    first: bool,
}

impl Reader<'_> {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<&[u8]>, String> {
        self.next_where(&mut |_| true)
    }

    /// The next record whose key `accept` takes.
    pub fn next_where(
        &mut self,
        accept: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<Option<&[u8]>, String> {
        loop {
            let Some(record) = self
                .merger
                .next_record()
                .map_err(|e| format!("reading sorted runs: {e}"))?
            else {
                return Ok(None);
            };
            let key = spill::record_key(record);
            if !key.starts_with(self.prefix.as_bytes()) {
                return Ok(None);
            }
            if !self.first && key == self.previous.as_slice() {
                return Err(format!(
                    "the inventory lists {:?} twice; an inventory of all versions must have the IsLatest field",
                    String::from_utf8_lossy(key)
                ));
            }
            self.first = false;
            self.previous.clear();
            self.previous.extend_from_slice(key);
            if self.skip.iter().any(|s| key.starts_with(s.as_bytes())) || !accept(key) {
                continue;
            }
            // Re-borrow: the loop above ended the first borrow of the merger.
            return Ok(Some(self.merger.current()));
        }
    }
}
