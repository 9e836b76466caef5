//! The batch engine's side of the copy stage: the objects the decision says to copy,
//! written into an S3 Batch Operations CSV manifest instead of being handed to the
//! `Copier`. The decision itself is not touched (`decide`/`settle` run as for a local
//! copy); only the executor differs, and only for objects the job can copy:
//! S3PutObjectCopy copies each object to the same key with one CopyObject, into one
//! storage class for the whole job, so objects over 5 GiB, objects the key plan renames
//! (`prefix_map`, ad hoc prefixes) and objects that belong in another storage class (a
//! spec rule's, the source's own) are copied by the local `Copier` and listed apart.
//!
//! The manifest's name comes from its content, as an order-independent digest (the diff
//! lists key ranges side by side, so lines arrive in no fixed order): the same objects to
//! copy give the same manifest key, whose upload is then skipped, so the job request and
//! its client request token are the same too, and a rerun returns the job the first run
//! created instead of starting a second one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::execute::{encode_key, StorageClassPolicy, MAX_SINGLE_COPY};
use crate::transfer::listing::ObjectEntry;

/// `JobManifestSpec.Format` of a CSV manifest s3bridge writes.
pub const FORMAT: &str = "S3BatchOperations_CSV_20180820";
/// `JobManifestSpec.Fields`: no version ids (ListObjectsV2 gives none; the job copies
/// the current version, like a local copy does).
pub const FIELDS: [&str; 2] = ["Bucket", "Key"];

/// How many of the objects copied locally are kept to be listed: the rest are counted
/// (and in `--report`), so memory stays flat however many keys the plan renames.
pub const LOCAL_LISTED: usize = 1000;

/// Why an object the decision copies does not go into the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopiedLocally {
    /// Over 5 GiB: CopyObject (and so S3PutObjectCopy) cannot copy it.
    TooLarge,
    /// Its destination key is not its source key.
    Renamed,
    /// Its copy belongs in another storage class than the job's.
    StorageClass,
}

/// The manifest being written, shared by the copy stage's tasks.
pub struct ManifestWriter {
    source_bucket: String,
    path: PathBuf,
    /// The storage classes copies get; the job writes `storage_class.default` (None:
    /// S3's STANDARD).
    storage_class: StorageClassPolicy,
    state: Mutex<State>,
}

struct State {
    out: std::io::BufWriter<std::fs::File>,
    objects: u64,
    bytes: u64,
    /// Wrapping sum of every line's SHA-256 prefix: the same lines in any order give
    /// the same value.
    digest: u128,
    local: Vec<LocalCopy>,
    local_objects: u64,
    /// Lines that could not be written: the manifest is incomplete and no job may run it.
    write_errors: u64,
}

/// An object the copy stage copies itself although the engine is batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalCopy {
    pub source_key: String,
    pub destination_key: String,
    pub bytes: u64,
    pub why: CopiedLocally,
}

/// The finished manifest file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestFile {
    pub path: PathBuf,
    pub objects: u64,
    pub bytes: u64,
    /// Hex, from the lines regardless of their order; names the uploaded object.
    pub digest: String,
    /// The objects copied locally instead (over 5 GiB, renamed, another class): the first
    /// `LOCAL_LISTED` of them, and how many there were.
    pub local: Vec<LocalCopy>,
    pub local_objects: u64,
    pub write_errors: u64,
}

impl ManifestWriter {
    pub fn create(
        path: &Path,
        source_bucket: &str,
        storage_class: StorageClassPolicy,
    ) -> std::io::Result<ManifestWriter> {
        Ok(ManifestWriter {
            source_bucket: source_bucket.to_string(),
            path: path.to_path_buf(),
            storage_class,
            state: Mutex::new(State {
                out: std::io::BufWriter::new(std::fs::File::create(path)?),
                objects: 0,
                bytes: 0,
                digest: 0,
                local: Vec::new(),
                local_objects: 0,
                write_errors: 0,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the job cannot copy `source` to `destination_key`, or None when it can.
    pub fn copied_locally(
        &self,
        source: &ObjectEntry,
        destination_key: &str,
    ) -> Option<CopiedLocally> {
        if source.size > MAX_SINGLE_COPY {
            Some(CopiedLocally::TooLarge)
        } else if source.key != destination_key {
            Some(CopiedLocally::Renamed)
        } else if self.storage_class.class_for(source) != self.storage_class.default {
            Some(CopiedLocally::StorageClass)
        } else {
            None
        }
    }

    /// One CSV line: the bucket, and the key URL-encoded as the format asks ('/' kept).
    pub fn line(bucket: &str, key: &str) -> String {
        format!("{bucket},{}\n", encode_key(key))
    }

    pub fn add(&self, source: &ObjectEntry) -> std::io::Result<()> {
        let line = Self::line(&self.source_bucket, &source.key);
        let hash = Sha256::digest(line.as_bytes());
        let prefix = u128::from_be_bytes(hash[..16].try_into().expect("16 bytes"));
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = state.out.write_all(line.as_bytes()) {
            state.write_errors += 1;
            return Err(e);
        }
        state.objects += 1;
        state.bytes += source.size;
        state.digest = state.digest.wrapping_add(prefix);
        Ok(())
    }

    pub fn add_local(&self, source: &ObjectEntry, destination_key: &str, why: CopiedLocally) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.local_objects += 1;
        if state.local.len() >= LOCAL_LISTED {
            return;
        }
        state.local.push(LocalCopy {
            source_key: source.key.clone(),
            destination_key: destination_key.to_string(),
            bytes: source.size,
            why,
        });
    }

    /// Flushes the file and returns what it holds.
    pub fn finish(&self) -> std::io::Result<ManifestFile> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = state.out.flush() {
            state.write_errors += 1;
            return Err(e);
        }
        let mut local = std::mem::take(&mut state.local);
        local.sort_by(|a, b| a.source_key.cmp(&b.source_key));
        Ok(ManifestFile {
            path: self.path.clone(),
            objects: state.objects,
            bytes: state.bytes,
            digest: format!("{:032x}{:016x}", state.digest, state.objects),
            local,
            local_objects: state.local_objects,
            write_errors: state.write_errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, size: u64) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            size,
            etag: "e".into(),
            last_modified_ms: 0,
            storage_class: None,
            checksum_algorithm: None,
            checksum_type: None,
        }
    }

    #[test]
    fn keys_are_url_encoded_but_keep_their_slashes() {
        assert_eq!(
            ManifestWriter::line("b", "photos/object key+é,1.jpg"),
            "b,photos/object%20key%2B%C3%A9%2C1.jpg\n"
        );
    }

    #[test]
    fn the_job_copies_same_key_objects_up_to_5_gib_into_its_one_class() {
        let dir = tempfile::tempdir().unwrap();
        let policy = StorageClassPolicy {
            by_prefix: vec![("scans/".into(), "STANDARD_IA".into())],
            default: None,
        };
        let writer = ManifestWriter::create(&dir.path().join("m.csv"), "b", policy).unwrap();
        assert_eq!(
            writer.copied_locally(&entry("a", MAX_SINGLE_COPY), "a"),
            None
        );
        assert_eq!(
            writer.copied_locally(&entry("a", MAX_SINGLE_COPY + 1), "a"),
            Some(CopiedLocally::TooLarge)
        );
        assert_eq!(
            writer.copied_locally(&entry("images/a", 1), "avatar/a"),
            Some(CopiedLocally::Renamed)
        );
        assert_eq!(
            writer.copied_locally(&entry("scans/a", 1), "scans/a"),
            Some(CopiedLocally::StorageClass)
        );
        let mut glacier = entry("b", 1);
        glacier.storage_class = Some("GLACIER_IR".into());
        assert_eq!(
            writer.copied_locally(&glacier, "b"),
            Some(CopiedLocally::StorageClass)
        );
    }

    #[test]
    fn the_digest_ignores_the_order_of_lines() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, keys: &[&str]| {
            let writer =
                ManifestWriter::create(&dir.path().join(name), "b", Default::default()).unwrap();
            for key in keys {
                writer.add(&entry(key, 1)).unwrap();
            }
            writer.finish().unwrap()
        };
        let one = write("1.csv", &["a", "b/c", "d"]);
        let two = write("2.csv", &["d", "a", "b/c"]);
        let other = write("3.csv", &["a", "b/c"]);
        assert_eq!(one.digest, two.digest);
        assert_ne!(one.digest, other.digest);
        assert_eq!((one.objects, one.bytes), (3, 3));
        let text = std::fs::read_to_string(&one.path).unwrap();
        assert_eq!(text, "b,a\nb,b/c\nb,d\n");
    }
}
