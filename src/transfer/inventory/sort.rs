//! External merge sort of spill records within a memory budget.
//!
//! Rows are appended to a `RunBuilder` (one arena of records plus a small index of
//! `(first 8 key bytes, offset)`). When the arena reaches its share of the budget it
//! becomes a sorted *run*: sorted in place through the index (skipped when rows came in
//! order, as they usually do), then kept in memory if the retained runs still fit the
//! budget, or written to a temporary file with a sparse key index. A `Merger` then
//! reads all runs at once in key order through a binary heap, each file run through a
//! small buffer, so memory depends on the number of runs, never on the number of rows.
//! When there are more runs than `MAX_FAN_IN`, groups of them are merged into larger
//! runs first.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::transfer::spill::{self, RawEntry, RecordReader};

/// Runs merged at once; more are merged in groups first.
pub const MAX_FAN_IN: usize = 128;
/// Bytes of a file run between two entries of its sparse index.
const INDEX_EVERY: u64 = 64 * 1024;
/// Read buffer of one file run during a merge.
const READ_BUFFER: usize = 32 * 1024;

/// Where runs go and how much memory they may keep.
pub struct RunStore {
    dir: Option<PathBuf>,
    temp: Mutex<Option<Arc<tempfile::TempDir>>>,
    retained: AtomicUsize,
    retain_budget: usize,
    files: AtomicUsize,
}

impl RunStore {
    /// `retain_budget`: bytes of runs that may stay in memory; `dir`: where temporary
    /// files go (the system's temp dir when None).
    pub fn new(retain_budget: usize, dir: Option<PathBuf>) -> RunStore {
        RunStore {
            dir,
            temp: Mutex::new(None),
            retained: AtomicUsize::new(0),
            retain_budget,
            files: AtomicUsize::new(0),
        }
    }

    fn temp_dir(&self) -> io::Result<Arc<tempfile::TempDir>> {
        let mut temp = self.temp.lock().expect("temp dir lock");
        if let Some(dir) = temp.as_ref() {
            return Ok(dir.clone());
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix("s3bridge-sort-");
        let dir = Arc::new(match &self.dir {
            Some(d) => builder.tempdir_in(d)?,
            None => builder.tempdir()?,
        });
        *temp = Some(dir.clone());
        Ok(dir)
    }

    fn new_file(&self) -> io::Result<(PathBuf, Arc<tempfile::TempDir>)> {
        let dir = self.temp_dir()?;
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        Ok((dir.path().join(format!("run-{n:06}")), dir))
    }

    fn try_retain(&self, bytes: usize) -> bool {
        self.retained
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held + bytes <= self.retain_budget).then_some(held + bytes)
            })
            .is_ok()
    }

    /// Temporary files written so far.
    pub fn files_written(&self) -> usize {
        self.files.load(Ordering::Relaxed)
    }
}

/// A sorted run of records.
pub enum Run {
    Memory {
        data: Vec<u8>,
        offsets: Vec<u32>,
    },
    File {
        path: PathBuf,
        /// Key of the first record at or after every `INDEX_EVERY` bytes, with its offset.
        index: Vec<(Vec<u8>, u64)>,
        /// Keeps the directory alive while the run is.
        _dir: Arc<tempfile::TempDir>,
    },
}

/// First 8 key bytes, big-endian: orders like the key itself up to ties.
fn key_prefix(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(bytes)
}

/// Sorts `(prefix, offset)` items by their records' keys, all of which agree on the
/// first `depth` bytes: by the next 8 bytes as an integer, then each group of equal
/// integers by the 8 after (most-significant-digit first), full keys for what is left.
fn sort_by_key_bytes(items: &mut [(u64, u32)], arena: &[u8], depth: usize) {
    let key = |offset: u32| spill::record_key(&arena[offset as usize..]);
    for item in items.iter_mut() {
        item.0 = key_prefix(key(item.1).get(depth..).unwrap_or(&[]));
    }
    items.sort_unstable_by_key(|item| item.0);
    let mut start = 0;
    while start < items.len() {
        let end = start
            + items[start..]
                .iter()
                .take_while(|i| i.0 == items[start].0)
                .count();
        if end - start > 1 {
            let group = &mut items[start..end];
            let longer = group.iter().any(|&(_, o)| key(o).len() > depth + 8);
            if longer && depth < 1024 {
                sort_by_key_bytes(group, arena, depth + 8);
            } else {
                // Keys that end within these 8 bytes: zero padding hides length.
                group.sort_unstable_by(|a, b| key(a.1).cmp(key(b.1)));
            }
        }
        start = end;
    }
}

/// Collects records until its budget is used, then turns them into a sorted run.
pub struct RunBuilder {
    arena: Vec<u8>,
    items: Vec<(u64, u32)>,
    sorted: bool,
    budget: usize,
    /// The file run the last chunk went to; a chunk whose keys all follow it is
    /// appended, so input that arrives in order becomes one run, not one per chunk.
    open: Option<RunWriter>,
}

impl RunBuilder {
    pub fn new(budget: usize) -> RunBuilder {
        RunBuilder {
            arena: Vec::new(),
            items: Vec::new(),
            sorted: true,
            budget: budget.max(64 * 1024),
            open: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the arena has reached its budget (the caller then calls `finish`).
    pub fn is_full(&self) -> bool {
        self.arena.len() + self.items.len() * 12 >= self.budget
    }

    pub fn push(&mut self, entry: &RawEntry<'_>) -> Result<(), spill::EncodeError> {
        let offset = self.arena.len();
        spill::encode(entry, &mut self.arena)?;
        let prefix = key_prefix(entry.key);
        if let Some(&(last_prefix, last)) = self.items.last() {
            if self.sorted
                && (prefix < last_prefix
                    || (prefix == last_prefix
                        && entry.key < spill::record_key(&self.arena[last as usize..])))
            {
                self.sorted = false;
            }
        }
        self.items.push((prefix, offset as u32));
        Ok(())
    }

    /// Sorts what was collected into a run (in memory or a file) and empties the builder.
    pub fn finish(&mut self, store: &RunStore) -> io::Result<Option<Run>> {
        if self.items.is_empty() {
            return Ok(None);
        }
        let arena = &self.arena;
        if !self.sorted {
            // Keys often share a long prefix (`logs/2024/...`): skip what they all share,
            // then sort by 8 key bytes at a time (most comparisons are one integer).
            let key = |offset: u32| spill::record_key(&arena[offset as usize..]);
            let first = key(self.items[0].1);
            let shared = self.items.iter().fold(first.len(), |shared, &(_, offset)| {
                first[..shared]
                    .iter()
                    .zip(key(offset))
                    .take_while(|(a, b)| a == b)
                    .count()
            });
            sort_by_key_bytes(&mut self.items, arena, shared);
        }
        let records = || {
            self.items.iter().map(|&(_, offset)| {
                let start = offset as usize;
                &arena[start..start + spill::record_len(&arena[start..])]
            })
        };
        let first_key = spill::record_key(&arena[self.items[0].1 as usize..]);
        let mut closed = None;
        match &mut self.open {
            Some(writer) if writer.last_key.as_slice() < first_key => writer.append(records())?,
            _ => {
                closed = self.open.take().map(RunWriter::close).transpose()?;
                if closed.is_none() && store.try_retain(arena.len()) {
                    let mut data = Vec::with_capacity(arena.len());
                    let mut offsets = Vec::with_capacity(self.items.len());
                    for record in records() {
                        offsets.push(data.len() as u32);
                        data.extend_from_slice(record);
                    }
                    closed = Some(Run::Memory { data, offsets });
                } else {
                    let mut writer = RunWriter::open(store)?;
                    writer.append(records())?;
                    self.open = Some(writer);
                }
            }
        }
        let run = closed;
        self.arena.clear();
        self.items.clear();
        self.sorted = true;
        // Give memory back between runs only when the arena grew past its budget.
        if self.arena.capacity() > self.budget * 2 {
            self.arena.shrink_to(self.budget);
        }
        Ok(run)
    }

    /// Finishes the collected records and the open file run: nothing is left behind.
    pub fn close(&mut self, store: &RunStore) -> io::Result<Vec<Run>> {
        let mut runs: Vec<Run> = self.finish(store)?.into_iter().collect();
        if let Some(writer) = self.open.take() {
            runs.push(writer.close()?);
        }
        Ok(runs)
    }
}

/// A file run being written: records in key order, a sparse index of their keys.
struct RunWriter {
    out: BufWriter<File>,
    path: PathBuf,
    dir: Arc<tempfile::TempDir>,
    index: Vec<(Vec<u8>, u64)>,
    written: u64,
    next_mark: u64,
    last_key: Vec<u8>,
}

impl RunWriter {
    fn open(store: &RunStore) -> io::Result<RunWriter> {
        let (path, dir) = store.new_file()?;
        Ok(RunWriter {
            out: BufWriter::with_capacity(256 * 1024, File::create(&path)?),
            path,
            dir,
            index: Vec::new(),
            written: 0,
            next_mark: 0,
            last_key: Vec::new(),
        })
    }

    /// Appends records; each key must sort after the last one written.
    fn append<'a>(&mut self, records: impl Iterator<Item = &'a [u8]>) -> io::Result<()> {
        let mut last = None;
        for record in records {
            if self.written >= self.next_mark {
                self.index
                    .push((spill::record_key(record).to_vec(), self.written));
                self.next_mark = self.written + INDEX_EVERY;
            }
            self.out.write_all(record)?;
            self.written += record.len() as u64;
            last = Some(record);
        }
        if let Some(record) = last {
            self.last_key.clear();
            self.last_key.extend_from_slice(spill::record_key(record));
        }
        Ok(())
    }

    fn close(mut self) -> io::Result<Run> {
        self.out.flush()?;
        Ok(Run::File {
            path: self.path,
            index: self.index,
            _dir: self.dir,
        })
    }
}

/// Reads one run in order from the first key at or after a start key.
enum Cursor<'a> {
    Memory {
        data: &'a [u8],
        offsets: &'a [u32],
        next: usize,
        current: Option<std::ops::Range<usize>>,
    },
    File {
        reader: RecordReader<BufReader<File>>,
        has_current: bool,
    },
}

impl<'a> Cursor<'a> {
    fn open(run: &'a Run, from: &[u8]) -> io::Result<Cursor<'a>> {
        let mut cursor = match run {
            Run::Memory { data, offsets } => {
                let key_at = |i: usize| spill::record_key(&data[offsets[i] as usize..]);
                let first = partition_point(offsets.len(), |i| key_at(i) < from);
                Cursor::Memory {
                    data,
                    offsets,
                    next: first,
                    current: None,
                }
            }
            Run::File { path, index, .. } => {
                let mut file = File::open(path)?;
                // The last indexed record before `from`; everything before it is smaller.
                let at = index.partition_point(|(key, _)| key.as_slice() < from);
                let offset = if at == 0 { 0 } else { index[at - 1].1 };
                file.seek(SeekFrom::Start(offset))?;
                Cursor::File {
                    reader: RecordReader::new(BufReader::with_capacity(READ_BUFFER, file)),
                    has_current: false,
                }
            }
        };
        loop {
            match cursor.advance()? {
                false => break,
                true if cursor.key() < from => continue,
                true => break,
            }
        }
        Ok(cursor)
    }

    /// Moves to the next record; false at the end.
    fn advance(&mut self) -> io::Result<bool> {
        match self {
            Cursor::Memory {
                data,
                offsets,
                next,
                current,
            } => {
                if *next >= offsets.len() {
                    *current = None;
                    return Ok(false);
                }
                let start = offsets[*next] as usize;
                *current = Some(start..start + spill::record_len(&data[start..]));
                *next += 1;
                Ok(true)
            }
            Cursor::File {
                reader,
                has_current,
            } => {
                *has_current = reader.next_record()?.is_some();
                Ok(*has_current)
            }
        }
    }

    fn record(&self) -> &[u8] {
        match self {
            Cursor::Memory { data, current, .. } => {
                &data[current.clone().expect("cursor has a current record")]
            }
            Cursor::File { reader, .. } => reader.current(),
        }
    }

    fn key(&self) -> &[u8] {
        spill::record_key(self.record())
    }

    fn is_done(&self) -> bool {
        match self {
            Cursor::Memory { current, .. } => current.is_none(),
            Cursor::File { has_current, .. } => !has_current,
        }
    }
}

fn partition_point(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, len);
    while low < high {
        let mid = (low + high) / 2;
        if before(mid) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
}

/// All runs read together in key order, through a tournament (winner) tree: after a
/// record is taken, only the path from its run's leaf to the root is replayed, one key
/// comparison per level.
pub struct Merger<'a> {
    cursors: Vec<Cursor<'a>>,
    /// `tree[1]` is the overall winner; node n's children are 2n and 2n+1; leaves start
    /// at `leaves` (a power of two), leaf `leaves + i` being cursor i.
    tree: Vec<u32>,
    leaves: usize,
    /// The cursor whose record was returned last; advanced on the next call.
    pending: Option<usize>,
}

/// A leaf without a cursor.
const NONE: u32 = u32::MAX;

impl<'a> Merger<'a> {
    /// Starts at the first key at or after `from`.
    pub fn new(runs: &'a [Run], from: &[u8]) -> io::Result<Merger<'a>> {
        let mut cursors = Vec::with_capacity(runs.len());
        for run in runs {
            let cursor = Cursor::open(run, from)?;
            if !cursor.is_done() {
                cursors.push(cursor);
            }
        }
        let leaves = cursors.len().max(1).next_power_of_two();
        let mut tree = vec![NONE; 2 * leaves];
        for i in 0..cursors.len() {
            tree[leaves + i] = i as u32;
        }
        let mut merger = Merger {
            cursors,
            tree,
            leaves,
            pending: None,
        };
        for node in (1..leaves).rev() {
            merger.tree[node] = merger.winner(merger.tree[2 * node], merger.tree[2 * node + 1]);
        }
        Ok(merger)
    }

    fn winner(&self, a: u32, b: u32) -> u32 {
        let live = |i: u32| i != NONE && !self.cursors[i as usize].is_done();
        match (live(a), live(b)) {
            (false, false) => NONE,
            (true, false) => a,
            (false, true) => b,
            (true, true) => {
                if self.cursors[b as usize].key() < self.cursors[a as usize].key() {
                    b
                } else {
                    a
                }
            }
        }
    }

    /// The record `next_record` returned last.
    pub fn current(&self) -> &[u8] {
        self.cursors[self.pending.expect("a record was returned")].record()
    }

    /// The next record in key order (length prefix included), or None.
    pub fn next_record(&mut self) -> io::Result<Option<&[u8]>> {
        if let Some(top) = self.pending.take() {
            self.cursors[top].advance()?;
            let mut node = (self.leaves + top) / 2;
            while node >= 1 {
                self.tree[node] = self.winner(self.tree[2 * node], self.tree[2 * node + 1]);
                node /= 2;
            }
        }
        let top = self.tree[1];
        if top == NONE || self.cursors[top as usize].is_done() {
            return Ok(None);
        }
        self.pending = Some(top as usize);
        Ok(Some(self.cursors[top as usize].record()))
    }
}

/// Merges groups of runs into larger file runs until at most `MAX_FAN_IN` remain.
pub fn reduce_fan_in(mut runs: Vec<Run>, store: &RunStore) -> io::Result<Vec<Run>> {
    while runs.len() > MAX_FAN_IN {
        let group: Vec<Run> = runs.drain(..MAX_FAN_IN).collect();
        let merged = {
            let mut merger = Merger::new(&group, b"")?;
            let mut writer = RunWriter::open(store)?;
            while let Some(record) = merger.next_record()? {
                writer.append(std::iter::once(record))?;
            }
            writer.close()?
        };
        runs.push(merged);
    }
    Ok(runs)
}

/// The directory runs are written to, for messages.
pub fn describe(store: &RunStore) -> Option<String> {
    store
        .temp
        .lock()
        .ok()
        .and_then(|t| t.as_ref().map(|d| Path::display(d.path()).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> crate::transfer::listing::ObjectEntry {
        crate::transfer::listing::ObjectEntry {
            key: key.into(),
            size: key.len() as u64,
            etag: "e".into(),
            last_modified_ms: 0,
            storage_class: None,
            checksum_algorithm: None,
            checksum_type: None,
        }
    }

    fn keys_of(runs: &[Run], from: &str) -> Vec<String> {
        let mut merger = Merger::new(runs, from.as_bytes()).unwrap();
        let mut out = Vec::new();
        while let Some(record) = merger.next_record().unwrap() {
            out.push(spill::decode(record).unwrap().to_entry().unwrap().key);
        }
        out
    }

    /// Runs from `keys` in chunks of `per_run`, kept in memory or written to files.
    fn runs(keys: &[String], per_run: usize, retain: usize) -> (Vec<Run>, RunStore) {
        let store = RunStore::new(retain, None);
        let mut out = Vec::new();
        for chunk in keys.chunks(per_run) {
            let mut builder = RunBuilder::new(1 << 20);
            for key in chunk {
                builder.push(&RawEntry::of(&entry(key))).unwrap();
            }
            out.extend(builder.close(&store).unwrap());
        }
        (out, store)
    }

    fn scrambled(n: usize) -> Vec<String> {
        // A fixed permutation with shared prefixes longer than 8 bytes and unicode.
        (0..n)
            .map(|i| (i * 7919) % n)
            .map(|i| format!("prefix/long/{:05}/{}", i / 3, ["a", "ü", "b"][i % 3]))
            .collect()
    }

    #[test]
    fn sorts_across_memory_and_file_runs() {
        let keys = scrambled(3000);
        let mut expected = keys.clone();
        expected.sort();
        for retain in [0, 1 << 30, 40_000] {
            let (runs, store) = runs(&keys, 250, retain);
            assert_eq!(keys_of(&runs, ""), expected, "retain {retain}");
            if retain == 0 {
                assert_eq!(store.files_written(), 12);
            }
            // Starting in the middle skips exactly the smaller keys.
            let from = "prefix/long/00500/";
            let tail: Vec<String> = expected
                .iter()
                .filter(|k| k.as_str() >= from)
                .cloned()
                .collect();
            assert_eq!(keys_of(&runs, from), tail);
        }
    }

    #[test]
    fn reduces_fan_in() {
        let keys = scrambled(MAX_FAN_IN * 3 + 5);
        let mut expected = keys.clone();
        expected.sort();
        let (runs, store) = runs(&keys, 1, 0);
        assert_eq!(runs.len(), keys.len());
        let runs = reduce_fan_in(runs, &store).unwrap();
        assert!(runs.len() <= MAX_FAN_IN);
        assert_eq!(keys_of(&runs, ""), expected);
    }

    #[test]
    fn input_in_order_becomes_one_run() {
        let store = RunStore::new(0, None);
        let mut builder = RunBuilder::new(64 * 1024);
        let mut runs = Vec::new();
        let keys: Vec<String> = (0..20_000).map(|i| format!("k/{i:08}")).collect();
        for key in &keys {
            builder.push(&RawEntry::of(&entry(key))).unwrap();
            if builder.is_full() {
                runs.extend(builder.finish(&store).unwrap());
            }
        }
        runs.extend(builder.close(&store).unwrap());
        assert_eq!((runs.len(), store.files_written()), (1, 1));
        assert_eq!(keys_of(&runs, ""), keys);
    }

    #[test]
    fn keeps_sorted_input_as_is() {
        let mut builder = RunBuilder::new(1 << 20);
        for key in ["a", "ab", "abcdefghij", "abcdefghik", "b"] {
            builder.push(&RawEntry::of(&entry(key))).unwrap();
        }
        assert!(builder.sorted);
        builder.push(&RawEntry::of(&entry("abcdefghii"))).unwrap();
        assert!(!builder.sorted);
    }
}
