//! A compact binary form of `ObjectEntry` for temporary files: the sorted runs of the
//! inventory reader's external sort, and `EntryQueue`, the in-memory-then-on-disk queue
//! behind verify's objects waiting for HEADs and copy's keys waiting for `--delete`.
//!
//! A record is `u32 body length` then the body, so a reader can take or skip one
//! record in a single step and compare keys without decoding the rest:
//!
//! ```text
//! u16 key length, key bytes, u64 size, i64 last modified (ms), u8 ETag length, ETag,
//! then storage class, checksum algorithm and checksum type, each u8 length + bytes
//! (length 255 means absent)
//! ```
//!
//! Integers are little-endian. Records are written from raw byte slices (the inventory
//! parser never builds an `ObjectEntry`) and read back either as a key slice or as a
//! whole `ObjectEntry`.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::listing::ObjectEntry;

/// Length byte that marks an absent optional string.
const ABSENT: u8 = 255;

/// The fields of one record, borrowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawEntry<'a> {
    pub key: &'a [u8],
    pub size: u64,
    pub last_modified_ms: i64,
    pub etag: &'a [u8],
    pub storage_class: Option<&'a [u8]>,
    pub checksum_algorithm: Option<&'a [u8]>,
    pub checksum_type: Option<&'a [u8]>,
}

impl<'a> RawEntry<'a> {
    pub fn of(entry: &'a ObjectEntry) -> RawEntry<'a> {
        RawEntry {
            key: entry.key.as_bytes(),
            size: entry.size,
            last_modified_ms: entry.last_modified_ms,
            etag: entry.etag.as_bytes(),
            storage_class: entry.storage_class.as_deref().map(str::as_bytes),
            checksum_algorithm: entry.checksum_algorithm.as_deref().map(str::as_bytes),
            checksum_type: entry.checksum_type.as_deref().map(str::as_bytes),
        }
    }
}

/// Why a record cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("key of {0} bytes is longer than any S3 key")]
    KeyTooLong(usize),
    #[error("field of {0} bytes is too long for an ETag, storage class or checksum name")]
    FieldTooLong(usize),
}

fn short(field: &[u8]) -> Result<u8, EncodeError> {
    u8::try_from(field.len())
        .ok()
        .filter(|&n| n != ABSENT)
        .ok_or(EncodeError::FieldTooLong(field.len()))
}

/// Appends one record to `out`.
pub fn encode(entry: &RawEntry<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let key_len =
        u16::try_from(entry.key.len()).map_err(|_| EncodeError::KeyTooLong(entry.key.len()))?;
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&key_len.to_le_bytes());
    out.extend_from_slice(entry.key);
    out.extend_from_slice(&entry.size.to_le_bytes());
    out.extend_from_slice(&entry.last_modified_ms.to_le_bytes());
    out.push(short(entry.etag)?);
    out.extend_from_slice(entry.etag);
    for field in [
        entry.storage_class,
        entry.checksum_algorithm,
        entry.checksum_type,
    ] {
        match field {
            None => out.push(ABSENT),
            Some(value) => {
                out.push(short(value)?);
                out.extend_from_slice(value);
            }
        }
    }
    let body = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&body.to_le_bytes());
    Ok(())
}

/// The record at the start of `buf` (length prefix included): its total length.
pub fn record_len(buf: &[u8]) -> usize {
    4 + u32::from_le_bytes(buf[..4].try_into().expect("4 bytes")) as usize
}

/// The key of the record at the start of `buf` (length prefix included).
pub fn record_key(buf: &[u8]) -> &[u8] {
    let key_len = u16::from_le_bytes([buf[4], buf[5]]) as usize;
    &buf[6..6 + key_len]
}

/// Decodes a whole record (length prefix included).
pub fn decode(record: &[u8]) -> io::Result<RawEntry<'_>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "corrupt spill record");
    let mut at = 4;
    let mut take = |n: usize| -> io::Result<&[u8]> {
        let slice = record.get(at..at + n).ok_or_else(bad)?;
        at += n;
        Ok(slice)
    };
    let key_len = u16::from_le_bytes(take(2)?.try_into().map_err(|_| bad())?) as usize;
    let key = take(key_len)?;
    let size = u64::from_le_bytes(take(8)?.try_into().map_err(|_| bad())?);
    let last_modified_ms = i64::from_le_bytes(take(8)?.try_into().map_err(|_| bad())?);
    let etag_len = take(1)?[0] as usize;
    let etag = take(etag_len)?;
    let mut optional = [None; 3];
    for slot in &mut optional {
        let len = take(1)?[0];
        if len != ABSENT {
            *slot = Some(take(len as usize)?);
        }
    }
    Ok(RawEntry {
        key,
        size,
        last_modified_ms,
        etag,
        storage_class: optional[0],
        checksum_algorithm: optional[1],
        checksum_type: optional[2],
    })
}

fn text(bytes: &[u8], what: &str) -> io::Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{what} is not valid UTF-8: {}",
                String::from_utf8_lossy(bytes)
            ),
        )
    })
}

impl RawEntry<'_> {
    /// The owned entry; fails when a field is not UTF-8 (an inventory key that decodes
    /// to invalid UTF-8 cannot be an S3 key).
    pub fn to_entry(&self) -> io::Result<ObjectEntry> {
        let optional = |v: Option<&[u8]>, what: &str| v.map(|b| text(b, what)).transpose();
        Ok(ObjectEntry {
            key: text(self.key, "key")?,
            size: self.size,
            etag: text(self.etag, "ETag")?,
            last_modified_ms: self.last_modified_ms,
            storage_class: optional(self.storage_class, "storage class")?,
            checksum_algorithm: optional(self.checksum_algorithm, "checksum algorithm")?,
            checksum_type: optional(self.checksum_type, "checksum type")?,
        })
    }
}

/// Reads records one by one from a stream, reusing one buffer.
pub struct RecordReader<R> {
    inner: R,
    record: Vec<u8>,
}

impl<R: Read> RecordReader<R> {
    pub fn new(inner: R) -> RecordReader<R> {
        RecordReader {
            inner,
            record: Vec::with_capacity(256),
        }
    }

    /// The next record (length prefix included), or None at the end of the stream.
    pub fn next_record(&mut self) -> io::Result<Option<&[u8]>> {
        let mut prefix = [0u8; 4];
        match self.inner.read_exact(&mut prefix) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let body = u32::from_le_bytes(prefix) as usize;
        self.record.clear();
        self.record.extend_from_slice(&prefix);
        self.record.resize(4 + body, 0);
        self.inner.read_exact(&mut self.record[4..])?;
        Ok(Some(&self.record))
    }

    /// The record `next_record` returned last.
    pub fn current(&self) -> &[u8] {
        &self.record
    }
}

/// Entries kept in memory up to a limit, then in an anonymous temporary file, and read
/// back in the order they came: memory stays flat however many are queued.
pub struct EntryQueue {
    memory: Vec<ObjectEntry>,
    memory_limit: usize,
    file: Option<BufWriter<File>>,
    dir: Option<PathBuf>,
    len: u64,
    buffer: Vec<u8>,
}

impl EntryQueue {
    /// `dir`: where the temporary file goes (default: the system's temp directory).
    pub fn new(memory_limit: usize, dir: Option<PathBuf>) -> EntryQueue {
        EntryQueue {
            memory: Vec::new(),
            memory_limit,
            file: None,
            dir,
            len: 0,
            buffer: Vec::new(),
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, entry: ObjectEntry) -> io::Result<()> {
        self.len += 1;
        if self.memory.len() < self.memory_limit {
            self.memory.push(entry);
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
        encode(&RawEntry::of(&entry), &mut self.buffer).map_err(io::Error::other)?;
        self.file
            .as_mut()
            .expect("created above")
            .write_all(&self.buffer)
    }

    /// Everything queued, in the order it came.
    pub fn drain(self) -> io::Result<EntryDrain> {
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
        Ok(EntryDrain {
            memory: self.memory.into_iter(),
            file,
        })
    }
}

pub struct EntryDrain {
    memory: std::vec::IntoIter<ObjectEntry>,
    file: Option<RecordReader<BufReader<File>>>,
}

impl Iterator for EntryDrain {
    type Item = io::Result<ObjectEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(entry) = self.memory.next() {
            return Some(Ok(entry));
        }
        let reader = self.file.as_mut()?;
        match reader.next_record() {
            Ok(None) => None,
            Ok(Some(record)) => Some(decode(record).and_then(|raw| raw.to_entry())),
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let entry = ObjectEntry {
            key: "scans/ü b/x+y.dcm".into(),
            size: 1 << 40,
            etag: "abc-3".into(),
            last_modified_ms: -5,
            storage_class: Some("STANDARD_IA".into()),
            checksum_algorithm: None,
            checksum_type: Some(String::new()),
        };
        let mut out = Vec::new();
        encode(&RawEntry::of(&entry), &mut out).unwrap();
        encode(&RawEntry::default(), &mut out).unwrap();
        assert_eq!(record_key(&out), entry.key.as_bytes());
        let first = record_len(&out);
        assert_eq!(decode(&out[..first]).unwrap().to_entry().unwrap(), entry);
        let mut reader = RecordReader::new(&out[..]);
        assert_eq!(
            decode(reader.next_record().unwrap().unwrap())
                .unwrap()
                .to_entry()
                .unwrap(),
            entry
        );
        assert_eq!(
            reader.next_record().unwrap().unwrap().len(),
            out.len() - first
        );
        assert!(reader.next_record().unwrap().is_none());
    }

    #[test]
    fn refuses_oversized_fields() {
        let long = vec![b'a'; 70_000];
        let entry = RawEntry {
            key: &long,
            ..RawEntry::default()
        };
        assert!(encode(&entry, &mut Vec::new()).is_err());
        let etag = vec![b'e'; 255];
        let entry = RawEntry {
            etag: &etag,
            ..RawEntry::default()
        };
        assert!(encode(&entry, &mut Vec::new()).is_err());
    }
}
