//! The pairs the listings could not settle, held between tier 1 and tier 2: in memory
//! up to a limit, then in an anonymous temporary file (`spill::EntryQueue`), so a bucket
//! where every ETag differs (SSE-KMS on both sides) does not grow memory. Holding them
//! until the listing ends is what lets verify say how many requests tiers 2 and 3
//! will make before it makes them.

use std::io;
use std::path::PathBuf;

use crate::transfer::listing::ObjectEntry;
use crate::transfer::spill::{EntryDrain, EntryQueue};

/// Pairs, each queued as its source entry followed by its destination entry.
pub struct Queue {
    entries: EntryQueue,
    bytes: u64,
}

impl Queue {
    /// `memory_limit` pairs in memory before the rest go to a file in `dir`.
    pub fn new(memory_limit: usize, dir: Option<PathBuf>) -> Queue {
        Queue {
            entries: EntryQueue::new(memory_limit.saturating_mul(2), dir),
            bytes: 0,
        }
    }

    pub fn len(&self) -> u64 {
        self.entries.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of the queued objects (source side).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn push(&mut self, source: ObjectEntry, destination: ObjectEntry) -> io::Result<()> {
        self.bytes += source.size;
        self.entries.push(source)?;
        self.entries.push(destination)
    }

    /// Everything queued, in the order it came.
    pub fn drain(self) -> io::Result<Drain> {
        Ok(Drain {
            entries: self.entries.drain()?,
        })
    }
}

pub struct Drain {
    entries: EntryDrain,
}

impl Iterator for Drain {
    type Item = io::Result<(ObjectEntry, ObjectEntry)>;

    fn next(&mut self) -> Option<Self::Item> {
        let source = match self.entries.next()? {
            Ok(source) => source,
            Err(e) => return Some(Err(e)),
        };
        Some(match self.entries.next() {
            Some(Ok(destination)) => Ok((source, destination)),
            Some(Err(e)) => Err(e),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "queue file ends inside a pair",
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_the_limit_and_keeps_order() {
        let entry = |i: u64| ObjectEntry {
            key: format!("k{i}"),
            size: i,
            etag: format!("e{i}"),
            last_modified_ms: 0,
            storage_class: None,
            checksum_algorithm: Some("CRC32".into()),
            checksum_type: None,
        };
        let mut queue = Queue::new(3, None);
        for i in 0..10 {
            queue.push(entry(i), entry(i + 100)).unwrap();
        }
        assert_eq!((queue.len(), queue.bytes()), (10, 45));
        let drained: Vec<_> = queue.drain().unwrap().map(Result::unwrap).collect();
        assert_eq!(drained.len(), 10);
        for (i, (s, d)) in drained.iter().enumerate() {
            assert_eq!((s, d), (&entry(i as u64), &entry(i as u64 + 100)));
        }
    }
}
