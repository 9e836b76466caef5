//! Pairing two inventories without building an entry for every key.
//!
//! When both sides come from S3 Inventory reports, almost every pair matches on the
//! listing (equal size and ETag), and materializing millions of `ObjectEntry`s only to
//! drop them dominates the run. This join reads the sorted records of both sides —
//! each side's merge in a thread of its own — and counts
//! tier-1 matches in bulk (`evidence::listing_match`, the same rule `from_listing`
//! applies); every other pair becomes a `Pair` exactly as `diff::merge_pages` would
//! produce it: keys compared by destination key through the segment's mapping, the
//! plan's filter applied to source keys (and to destination keys by the source key
//! they stand for), each key paired exactly once.

use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::evidence;
use crate::transfer::diff::{Batch, Pair};
use crate::transfer::inventory::Sorted;
use crate::transfer::keys::KeyPlan;
use crate::transfer::listing::{ListError, ObjectEntry};
use crate::transfer::spill;

/// Pairs that matched on the listings, counted in bulk.
#[derive(Debug, Clone, Copy, Default)]
pub struct Matched {
    pub objects: u64,
    pub source_bytes: u64,
    pub destination_bytes: u64,
}

/// Starts the join; batches of the pairs that are not tier-1 matches arrive on the
/// returned channel; `matched` holds the count of the others once it closes.
pub fn spawn(
    plan: Arc<KeyPlan>,
    source: Arc<Sorted>,
    destination: Arc<Sorted>,
    matched: Arc<Mutex<Matched>>,
) -> mpsc::Receiver<Batch> {
    let (tx, rx) = mpsc::channel(8);
    std::thread::spawn(move || {
        for index in 0..plan.segments.len() {
            let outcome = join_segment(&plan, index, &source, &destination, &tx, &matched);
            if let Err(e) = outcome {
                let _ = tx.blocking_send(Err(e));
                return;
            }
            if tx.is_closed() {
                return;
            }
        }
    });
    rx
}

/// `prefix ++ suffix` compared with `other`, without building it.
fn cmp_mapped(prefix: &[u8], suffix: &[u8], other: &[u8]) -> Ordering {
    let n = prefix.len().min(other.len());
    match prefix[..n].cmp(&other[..n]) {
        Ordering::Equal if other.len() >= prefix.len() => suffix.cmp(&other[prefix.len()..]),
        Ordering::Equal => Ordering::Greater,
        unequal => unequal,
    }
}

/// Records from the blocks of `Sorted::record_blocks`.
struct Blocks {
    rx: std::sync::mpsc::Receiver<Result<Vec<u8>, String>>,
    block: Vec<u8>,
    at: usize,
}

impl Blocks {
    fn next_where(
        &mut self,
        accept: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<Option<&[u8]>, String> {
        loop {
            if self.at >= self.block.len() {
                match self.rx.recv() {
                    Err(_) => return Ok(None),
                    Ok(block) => {
                        self.block = block?;
                        self.at = 0;
                        continue;
                    }
                }
            }
            let start = self.at;
            self.at += spill::record_len(&self.block[start..]);
            if accept(spill::record_key(&self.block[start..])) {
                return Ok(Some(&self.block[start..self.at]));
            }
        }
    }
}

fn entry(record: &[u8], what: &Sorted) -> Result<ObjectEntry, ListError> {
    spill::decode(record)
        .and_then(|raw| raw.to_entry())
        .map_err(|e| ListError {
            what: format!("reading inventory {}", what.location),
            message: e.to_string(),
            cause: None,
        })
}

fn join_segment(
    plan: &KeyPlan,
    index: usize,
    source: &Arc<Sorted>,
    destination: &Arc<Sorted>,
    tx: &mpsc::Sender<Batch>,
    matched: &Mutex<Matched>,
) -> Result<(), ListError> {
    let segment = &plan.segments[index];
    // Built once: `map_err` takes its argument eagerly.
    let what = |side: &Sorted| format!("reading inventory {}", side.location);
    let (source_what, destination_what) = (what(source), what(destination));
    let source_error = |message: String| ListError {
        what: source_what.clone(),
        message,
        cause: None,
    };
    let destination_error = |message: String| ListError {
        what: destination_what.clone(),
        message,
        cause: None,
    };
    let (source_prefix, destination_prefix) = (
        segment.source_prefix.as_bytes(),
        segment.destination_prefix.as_bytes(),
    );
    let mut sources = Blocks {
        rx: source.record_blocks(&segment.source_prefix, &segment.source_skip),
        block: Vec::new(),
        at: 0,
    };
    // Both merges in threads of their own: the join itself is the lightest of the three.
    let mut destinations = Blocks {
        rx: destination.record_blocks(&segment.destination_prefix, &segment.destination_skip),
        block: Vec::new(),
        at: 0,
    };
    let filter = &plan.filter;
    let mut accept_source =
        |key: &[u8]| std::str::from_utf8(key).map_or(true, |k| filter.accepts(k));
    let mut as_source = String::new();
    let mut accept_destination = |key: &[u8]| {
        as_source.clear();
        as_source.push_str(&segment.source_prefix);
        match std::str::from_utf8(&key[destination_prefix.len()..]) {
            Ok(rest) => {
                as_source.push_str(rest);
                filter.accepts(&as_source)
            }
            Err(_) => true,
        }
    };
    let mut total = Matched::default();
    let mut batch: Vec<Pair> = Vec::with_capacity(1000);
    let mut s = sources
        .next_where(&mut accept_source)
        .map_err(source_error)?;
    let mut d = destinations
        .next_where(&mut accept_destination)
        .map_err(destination_error)?;
    loop {
        let (advance_source, advance_destination) = match (s, d) {
            (None, None) => break,
            (Some(sr), Some(dr)) => {
                let order = cmp_mapped(
                    destination_prefix,
                    &spill::record_key(sr)[source_prefix.len()..],
                    spill::record_key(dr),
                );
                match order {
                    Ordering::Equal => {
                        let (a, b) = (
                            spill::decode(sr).map_err(|e| source_error(e.to_string()))?,
                            spill::decode(dr).map_err(|e| destination_error(e.to_string()))?,
                        );
                        if evidence::listing_match(a.size, a.etag, b.size, b.etag).is_some() {
                            total.objects += 1;
                            total.source_bytes += a.size;
                            total.destination_bytes += b.size;
                        } else {
                            batch.push(Pair {
                                segment: index,
                                source: Some(entry(sr, source)?),
                                destination: Some(entry(dr, destination)?),
                            });
                        }
                        (true, true)
                    }
                    Ordering::Less => {
                        batch.push(Pair {
                            segment: index,
                            source: Some(entry(sr, source)?),
                            destination: None,
                        });
                        (true, false)
                    }
                    Ordering::Greater => {
                        batch.push(Pair {
                            segment: index,
                            source: None,
                            destination: Some(entry(dr, destination)?),
                        });
                        (false, true)
                    }
                }
            }
            (Some(sr), None) => {
                batch.push(Pair {
                    segment: index,
                    source: Some(entry(sr, source)?),
                    destination: None,
                });
                (true, false)
            }
            (None, Some(dr)) => {
                batch.push(Pair {
                    segment: index,
                    source: None,
                    destination: Some(entry(dr, destination)?),
                });
                (false, true)
            }
        };
        if advance_source {
            s = sources
                .next_where(&mut accept_source)
                .map_err(source_error)?;
        }
        if advance_destination {
            d = destinations
                .next_where(&mut accept_destination)
                .map_err(destination_error)?;
        }
        if batch.len() >= 1000 && tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(batch));
    }
    let mut shared = matched.lock().expect("matched lock");
    shared.objects += total.objects;
    shared.source_bytes += total.source_bytes;
    shared.destination_bytes += total.destination_bytes;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_keys_compare_like_the_built_string() {
        let cases: &[(&str, &str, &str)] = &[
            ("avatar/", "a.png", "avatar/a.png"),
            ("avatar/", "a.png", "avatar/b.png"),
            ("avatar/", "b", "avatar/a.png"),
            ("avatar/", "", "avatar"),
            ("avatar/", "x", "av"),
            ("", "k", "k"),
            ("a/", "ü", "a/z"),
        ];
        for (prefix, suffix, other) in cases {
            let built = format!("{prefix}{suffix}");
            assert_eq!(
                cmp_mapped(prefix.as_bytes(), suffix.as_bytes(), other.as_bytes()),
                built.as_bytes().cmp(other.as_bytes()),
                "{prefix}+{suffix} vs {other}"
            );
        }
    }
}
