//! The streaming comparison of two buckets: for every segment and key range, a source
//! lister and a destination lister run side by side and a merge-join pairs their
//! entries by destination key. Nothing is held beyond a few pages per range, so memory
//! does not depend on the number of objects, and the first pairs come out as soon as the
//! first pages arrive (copy starts while listing goes on).
//!
//! Ranges run concurrently and their pairs interleave: consumers (copy, verify) never
//! need a global order, only that each object is paired exactly once.

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};

use super::keys::{KeyPlan, Segment};
use super::listing::{self, KeyRange, ListError, ListRequest, ObjectEntry};

/// One bucket to compare.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub s3: aws_sdk_s3::Client,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Key ranges each segment is cut into (listing concurrency per side).
    pub ranges_per_segment: usize,
    /// Ranges compared at once across all segments.
    pub concurrent_ranges: usize,
    pub page_size: i32,
    /// Pages a lister may hold before it waits for the merge.
    pub buffered_pages: usize,
    /// Only source keys in this range (a shard of the key space).
    pub shard: Option<KeyRange>,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            ranges_per_segment: 8,
            concurrent_ranges: 16,
            page_size: 1000,
            buffered_pages: 1,
            shard: None,
        }
    }
}

/// An object present on one side or both, by its destination key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Index of the segment in the plan.
    pub segment: usize,
    pub source: Option<ObjectEntry>,
    pub destination: Option<ObjectEntry>,
}

impl Pair {
    /// The destination key this pair is about.
    pub fn destination_key(&self, plan: &KeyPlan) -> String {
        match (&self.destination, &self.source) {
            (Some(d), _) => d.key.clone(),
            (None, Some(s)) => plan.segments[self.segment].to_destination(&s.key),
            (None, None) => unreachable!("a pair has at least one side"),
        }
    }
}

pub type Batch = Result<Vec<Pair>, ListError>;

/// Pairs sent at once. Every range being merged holds up to one batch while it fills,
/// so this (times the ranges in flight) bounds the diff's memory together with the
/// listers' pages; small batches keep a million-key run as small as a ten-thousand one.
pub const PAIRS_PER_BATCH: usize = 200;

/// Starts comparing `source` and `destination` under `plan`; batches of pairs arrive on
/// the returned channel until every range is done (or after the first error).
pub fn start(
    source: Bucket,
    destination: Bucket,
    plan: Arc<KeyPlan>,
    options: DiffOptions,
) -> mpsc::Receiver<Batch> {
    // A few small batches in the channel: what waits here is memory that grows with
    // nothing but these constants (see PAIRS_PER_BATCH).
    let (tx, rx) = mpsc::channel(options.concurrent_ranges.clamp(1, 8));
    tokio::spawn(async move {
        let limit = Arc::new(Semaphore::new(options.concurrent_ranges.max(1)));
        let mut tasks = Vec::new();
        for (index, segment) in plan.segments.iter().enumerate() {
            let ranges = match listing::plan_ranges(
                &source.s3,
                &source.name,
                &segment.source_prefix,
                options.ranges_per_segment,
            )
            .await
            {
                Ok(ranges) => ranges,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            for range in ranges {
                let range = match &options.shard {
                    Some(shard) => match range.intersect(shard) {
                        Some(r) => r,
                        None => continue,
                    },
                    None => range,
                };
                let Some(destination_range) = destination_range(segment, &range) else {
                    continue;
                };
                let permit = limit
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("semaphore is never closed");
                let job = RangeJob {
                    index,
                    plan: plan.clone(),
                    source: ListRequest {
                        bucket: source.name.clone(),
                        prefix: segment.source_prefix.clone(),
                        skip: segment.source_skip.clone(),
                        range,
                        page_size: options.page_size,
                    },
                    destination: ListRequest {
                        bucket: destination.name.clone(),
                        prefix: segment.destination_prefix.clone(),
                        skip: segment.destination_skip.clone(),
                        range: destination_range,
                        page_size: options.page_size,
                    },
                };
                let (s3_source, s3_destination, tx) =
                    (source.s3.clone(), destination.s3.clone(), tx.clone());
                let buffered = options.buffered_pages;
                tasks.push(tokio::spawn(async move {
                    merge_range(job, s3_source, s3_destination, buffered, tx).await;
                    drop(permit);
                }));
            }
        }
        for task in tasks {
            let _ = task.await;
        }
    });
    rx
}

/// The destination-side range that a source-side range of `segment` maps to, or None
/// when no key of the segment falls in it.
fn destination_range(segment: &Segment, range: &KeyRange) -> Option<KeyRange> {
    let prefix = &segment.source_prefix;
    let after = match &range.after {
        None => None,
        Some(a) if a.starts_with(prefix.as_str()) => Some(segment.to_destination(a)),
        Some(a) if a.as_str() < prefix.as_str() => None,
        Some(_) => return None, // after every key of the segment
    };
    let until = match &range.until {
        None => None,
        Some(u) if u.starts_with(prefix.as_str()) => Some(segment.to_destination(u)),
        Some(u) if u.as_str() < prefix.as_str() => return None, // before every key
        Some(_) => None,
    };
    Some(KeyRange { after, until })
}

struct RangeJob {
    index: usize,
    plan: Arc<KeyPlan>,
    source: ListRequest,
    destination: ListRequest,
}

/// A stream of entries from a lister's pages.
struct Entries {
    pages: Pages,
    current: std::vec::IntoIter<ObjectEntry>,
}

impl Entries {
    async fn next(&mut self) -> Result<Option<ObjectEntry>, ListError> {
        loop {
            if let Some(entry) = self.current.next() {
                return Ok(Some(entry));
            }
            match self.pages.recv().await {
                None => return Ok(None),
                Some(page) => self.current = page?.into_iter(),
            }
        }
    }
}

async fn merge_range(
    job: RangeJob,
    s3_source: aws_sdk_s3::Client,
    s3_destination: aws_sdk_s3::Client,
    buffered: usize,
    tx: mpsc::Sender<Batch>,
) {
    let sources = listing::spawn(s3_source, job.source, buffered);
    let destinations = listing::spawn(s3_destination, job.destination, buffered);
    merge_pages(&job.plan, job.index, sources, destinations, tx).await;
}

/// Pages of entries, in key order, from a lister or any other reader (an inventory).
pub type Pages = mpsc::Receiver<Result<Vec<ObjectEntry>, ListError>>;

/// Merge-joins one segment's source and destination entries (each sorted by key and
/// already limited to the segment) into pairs sent on `tx`; stops at the first error.
pub async fn merge_pages(
    plan: &KeyPlan,
    index: usize,
    sources: Pages,
    destinations: Pages,
    tx: mpsc::Sender<Batch>,
) {
    let segment = &plan.segments[index];
    let filter = &plan.filter;
    let mut sources = Entries {
        pages: sources,
        current: Vec::new().into_iter(),
    };
    let mut destinations = Entries {
        pages: destinations,
        current: Vec::new().into_iter(),
    };
    let mut batch = Vec::with_capacity(PAIRS_PER_BATCH);
    let outcome: Result<(), ListError> = async {
        let mut source = sources.next().await?;
        let mut destination = destinations.next().await?;
        loop {
            // Keys the filter leaves out on either side take no part.
            if let Some(s) = &source {
                if !filter.accepts(&s.key) {
                    source = sources.next().await?;
                    continue;
                }
            }
            if let Some(d) = destination.as_ref().filter(|_| !filter.accepts_all()) {
                if !filter.accepts(&segment.to_source(&d.key)) {
                    destination = destinations.next().await?;
                    continue;
                }
            }
            let pair = match (&source, &destination) {
                (None, None) => break,
                (Some(s), Some(d)) => {
                    match segment
                        .source_suffix(&s.key)
                        .cmp(segment.destination_suffix(&d.key))
                    {
                        std::cmp::Ordering::Equal => Pair {
                            segment: index,
                            source: source.take(),
                            destination: destination.take(),
                        },
                        std::cmp::Ordering::Less => Pair {
                            segment: index,
                            source: source.take(),
                            destination: None,
                        },
                        std::cmp::Ordering::Greater => Pair {
                            segment: index,
                            source: None,
                            destination: destination.take(),
                        },
                    }
                }
                (Some(_), None) => Pair {
                    segment: index,
                    source: source.take(),
                    destination: None,
                },
                (None, Some(_)) => Pair {
                    segment: index,
                    source: None,
                    destination: destination.take(),
                },
            };
            if pair.source.is_some() {
                source = sources.next().await?;
            }
            if pair.destination.is_some() {
                destination = destinations.next().await?;
            }
            batch.push(pair);
            if batch.len() >= PAIRS_PER_BATCH
                && tx.send(Ok(std::mem::take(&mut batch))).await.is_err()
            {
                return Ok(());
            }
        }
        Ok(())
    }
    .await;
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch)).await;
    }
    if let Err(e) = outcome {
        let _ = tx.send(Err(e)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(source: &str, destination: &str) -> Segment {
        Segment {
            source_prefix: source.into(),
            destination_prefix: destination.into(),
            source_skip: vec![],
            destination_skip: vec![],
        }
    }

    #[test]
    fn ranges_map_into_the_destination_prefix() {
        let s = segment("images/", "avatar/");
        let r = KeyRange {
            after: Some("images/a".into()),
            until: Some("images/m".into()),
        };
        assert_eq!(
            destination_range(&s, &r),
            Some(KeyRange {
                after: Some("avatar/a".into()),
                until: Some("avatar/m".into())
            })
        );
        // A shard boundary outside the segment clamps to the segment.
        let r = KeyRange {
            after: Some("a".into()),
            until: Some("z".into()),
        };
        assert_eq!(destination_range(&s, &r), Some(KeyRange::all()));
        // A shard entirely before or after the segment has nothing of it.
        assert_eq!(
            destination_range(
                &s,
                &KeyRange {
                    after: None,
                    until: Some("b".into())
                }
            ),
            None
        );
        assert_eq!(
            destination_range(
                &s,
                &KeyRange {
                    after: Some("j".into()),
                    until: None
                }
            ),
            None
        );
    }
}
