//! The pairs the listings could not settle, held between tier 1 and tier 2: in memory
//! up to a limit, then in an anonymous temporary file (spill records), so a bucket
//! where every ETag differs (SSE-KMS on both sides) does not grow memory. Holding them
//! until the listing ends is what lets verify say how many requests tiers 2 and 3
//! will make before it makes them.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::transfer::listing::ObjectEntry;
use crate::transfer::spill::{self, RawEntry, RecordReader};

pub struct Queue {
    memory: Vec<(ObjectEntry, ObjectEntry)>,
    memory_limit: usize,
    file: Option<BufWriter<File>>,
    dir: Option<PathBuf>,
    len: u64,
    bytes: u64,
    buffer: Vec<u8>,
}

impl Queue {
    pub fn new(memory_limit: usize, dir: Option<PathBuf>) -> Queue {
        Queue {
            memory: Vec::new(),
            memory_limit,
            file: None,
            dir,
            len: 0,
            bytes: 0,
            buffer: Vec::new(),
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the queued objects (source side).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn push(&mut self, source: ObjectEntry, destination: ObjectEntry) -> io::Result<()> {
        self.len += 1;
        self.bytes += source.size;
        if self.memory.len() < self.memory_limit {
            self.memory.push((source, destination));
            return Ok(());
        }
        if self.file.is_none() {
            let file = match &self.dir {
                Some(dir) => tempfile::tempfile_in(dir)?,
                None => tempfile::tempfile()?,
            };
            self.file = Some(BufWriter::with_capacity(256 * 1024, file));
        }
        self.buffer.clear();
        for entry in [&source, &destination] {
            spill::encode(&RawEntry::of(entry), &mut self.buffer).map_err(io::Error::other)?;
        }
        self.file
            .as_mut()
            .expect("created above")
            .write_all(&self.buffer)
    }

    /// Everything queued, in the order it came.
    pub fn drain(self) -> io::Result<Drain> {
        let file = match self.file {
            None => None,
            Some(writer) => {
                let mut file = writer.into_inner().map_err(|e| e.into_error())?;
                file.seek(SeekFrom::Start(0))?;
                Some(RecordReader::new(BufReader::with_capacity(
                    256 * 1024,
                    file,
                )))
            }
        };
        Ok(Drain {
            memory: self.memory.into_iter(),
            file,
        })
    }
}

pub struct Drain {
    memory: std::vec::IntoIter<(ObjectEntry, ObjectEntry)>,
    file: Option<RecordReader<BufReader<File>>>,
}

impl Iterator for Drain {
    type Item = io::Result<(ObjectEntry, ObjectEntry)>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(pair) = self.memory.next() {
            return Some(Ok(pair));
        }
        let reader = self.file.as_mut()?;
        let mut read_one = || -> io::Result<Option<ObjectEntry>> {
            match reader.next_record()? {
                None => Ok(None),
                Some(record) => spill::decode(record)?.to_entry().map(Some),
            }
        };
        match (read_one(), read_one()) {
            (Ok(None), _) => None,
            (Ok(Some(source)), Ok(Some(destination))) => Some(Ok((source, destination))),
            (Ok(Some(_)), Ok(None)) => Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "queue file ends inside a pair",
            ))),
            (Err(e), _) | (_, Err(e)) => Some(Err(e)),
        }
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
