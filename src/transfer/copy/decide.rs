//! What to do with one pair from the diff, decided without a request whenever the two
//! listings are enough, and with one HEAD per side when they are not.
//!
//! Listing gives size and ETag. Missing or different size: copy. Same ETag: skip. Same
//! size and different ETag is the hard case: an ETag is only an MD5 of the content for a
//! single-part, unencrypted (or SSE-S3) object; SSE-KMS and SSE-C ETags are opaque and
//! every copy gets a new one, and a multipart ETag depends on the part layout. Treating
//! such a pair as "different" would copy SSE-KMS objects again on every run, for ever.
//! So those pairs are *settled*: both objects are HEADed with checksum mode on, and
//! - comparable checksums (same algorithm, and full-object, or composite over the same
//!   number of parts) decide: equal skips, different copies;
//! - otherwise, when the ETags cannot be compared (an opaque ETag on either side, or
//!   different part counts), the pair is treated like `aws s3 sync` would: skipped when
//!   the destination was written after the source, copied when it is older;
//! - otherwise both ETags are plain MD5s of the content and they differ: copy.

use crate::transfer::diff::Pair;
use crate::transfer::listing::ObjectEntry;

/// Why an object is copied or skipped (shown in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Missing,
    SizeDiffers,
    SameEtag,
    ContentDiffers,
    SameChecksum,
    ChecksumDiffers,
    /// No comparable checksum, opaque ETags: the destination is newer than the source.
    DestinationNewer,
    /// No comparable checksum, opaque ETags: the destination is older than the source.
    DestinationOlder,
    /// Only in the destination (within the plan's segments).
    OnlyInDestination,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Missing => "missing in destination",
            Reason::SizeDiffers => "size differs",
            Reason::SameEtag => "same size and ETag",
            Reason::ContentDiffers => "ETag (content MD5) differs",
            Reason::SameChecksum => "same size and checksum",
            Reason::ChecksumDiffers => "checksum differs",
            Reason::DestinationNewer => {
                "same size, no comparable checksum or ETag, destination newer than source"
            }
            Reason::DestinationOlder => {
                "same size, no comparable checksum or ETag, destination older than source"
            }
            Reason::OnlyInDestination => "only in destination",
        }
    }
}

/// The first decision, from the listings alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Copy(Reason),
    Skip(Reason),
    /// Same size, different ETag: HEAD both sides and `settle`.
    Settle,
    /// Only in the destination: deleted with `--delete`, otherwise left alone.
    Extra,
}

pub fn decide(pair: &Pair) -> Decision {
    match (&pair.source, &pair.destination) {
        (Some(_), None) => Decision::Copy(Reason::Missing),
        (None, Some(_)) => Decision::Extra,
        (Some(s), Some(d)) if s.size != d.size => Decision::Copy(Reason::SizeDiffers),
        (Some(s), Some(d)) if s.etag == d.etag => Decision::Skip(Reason::SameEtag),
        (Some(_), Some(_)) => Decision::Settle,
        (None, None) => Decision::Skip(Reason::SameEtag),
    }
}

/// A checksum S3 stores for an object (HEAD with `x-amz-checksum-mode: ENABLED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// CRC64NVME, CRC32, CRC32C, SHA1, SHA256...
    pub algorithm: String,
    /// Base64 value, without any `-N` part-count suffix.
    pub value: String,
    /// True for FULL_OBJECT (layout-independent), false for COMPOSITE.
    pub full_object: bool,
}

/// What a HEAD says about one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFacts {
    pub etag: String,
    pub last_modified_ms: i64,
    pub checksum: Option<Checksum>,
    /// SSE-KMS, DSSE-KMS or SSE-C: the ETag is not an MD5 of the content.
    pub opaque_etag: bool,
}

impl ObjectFacts {
    fn parts(&self) -> Option<u32> {
        ObjectEntry::parts_in_etag(&self.etag)
    }
}

/// The decision for a same-size, different-ETag pair, from both sides' HEADs.
pub fn settle(source: &ObjectFacts, destination: &ObjectFacts) -> Decision {
    if let (Some(s), Some(d)) = (&source.checksum, &destination.checksum) {
        let comparable = s.algorithm == d.algorithm
            && ((s.full_object && d.full_object)
                || (!s.full_object && !d.full_object && source.parts() == destination.parts()));
        if comparable {
            return if s.value == d.value {
                Decision::Skip(Reason::SameChecksum)
            } else {
                Decision::Copy(Reason::ChecksumDiffers)
            };
        }
    }
    if source.opaque_etag || destination.opaque_etag || source.parts() != destination.parts() {
        if destination.last_modified_ms >= source.last_modified_ms {
            Decision::Skip(Reason::DestinationNewer)
        } else {
            Decision::Copy(Reason::DestinationOlder)
        }
    } else {
        Decision::Copy(Reason::ContentDiffers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, size: u64, etag: &str) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            size,
            etag: etag.into(),
            last_modified_ms: 0,
            storage_class: None,
            checksum_algorithm: None,
            checksum_type: None,
        }
    }

    fn pair(s: Option<ObjectEntry>, d: Option<ObjectEntry>) -> Pair {
        Pair {
            segment: 0,
            source: s,
            destination: d,
        }
    }

    fn facts(
        etag: &str,
        modified: i64,
        checksum: Option<(&str, &str, bool)>,
        kms: bool,
    ) -> ObjectFacts {
        ObjectFacts {
            etag: etag.into(),
            last_modified_ms: modified,
            checksum: checksum.map(|(a, v, full)| Checksum {
                algorithm: a.into(),
                value: v.into(),
                full_object: full,
            }),
            opaque_etag: kms,
        }
    }

    #[test]
    fn listing_decides_the_easy_cases() {
        let a = entry("k", 3, "aaa");
        assert_eq!(
            decide(&pair(Some(a.clone()), None)),
            Decision::Copy(Reason::Missing)
        );
        assert_eq!(decide(&pair(None, Some(a.clone()))), Decision::Extra);
        assert_eq!(
            decide(&pair(Some(a.clone()), Some(entry("k", 4, "aaa")))),
            Decision::Copy(Reason::SizeDiffers)
        );
        assert_eq!(
            decide(&pair(Some(a.clone()), Some(a.clone()))),
            Decision::Skip(Reason::SameEtag)
        );
        assert_eq!(
            decide(&pair(Some(a), Some(entry("k", 3, "bbb")))),
            Decision::Settle
        );
    }

    #[test]
    fn kms_objects_with_the_same_full_object_checksum_are_not_copied_again() {
        let source = facts(
            "opaque1",
            10,
            Some(("CRC64NVME", "q83vEjRWeJA=", true)),
            true,
        );
        let copy = facts(
            "opaque2",
            20,
            Some(("CRC64NVME", "q83vEjRWeJA=", true)),
            true,
        );
        assert_eq!(settle(&source, &copy), Decision::Skip(Reason::SameChecksum));
        let changed = facts(
            "opaque2",
            20,
            Some(("CRC64NVME", "AAAAAAAAAAA=", true)),
            true,
        );
        assert_eq!(
            settle(&source, &changed),
            Decision::Copy(Reason::ChecksumDiffers)
        );
    }

    #[test]
    fn composite_checksums_compare_only_over_the_same_layout() {
        let source = facts("x-3", 10, Some(("CRC32", "abc", false)), false);
        let same_layout = facts("y-3", 20, Some(("CRC32", "abc", false)), true);
        assert_eq!(
            settle(&source, &same_layout),
            Decision::Skip(Reason::SameChecksum)
        );
        // Another layout: the composite values say nothing; the ETags neither.
        let other_layout = facts("z-2", 20, Some(("CRC32", "def", false)), false);
        assert_eq!(
            settle(&source, &other_layout),
            Decision::Skip(Reason::DestinationNewer)
        );
        let older = facts("z-2", 5, Some(("CRC32", "def", false)), false);
        assert_eq!(
            settle(&source, &older),
            Decision::Copy(Reason::DestinationOlder)
        );
    }

    #[test]
    fn plain_md5_etags_that_differ_mean_different_content() {
        let source = facts("0cc175b9c0f1b6a831c399e269772661", 10, None, false);
        let destination = facts("92eb5ffee6ae2fec3ad71c777531578f", 20, None, false);
        assert_eq!(
            settle(&source, &destination),
            Decision::Copy(Reason::ContentDiffers)
        );
        // Different algorithms are not comparable either.
        let s = facts("a", 10, Some(("CRC32", "x", true)), true);
        let d = facts("b", 5, Some(("CRC64NVME", "y", true)), true);
        assert_eq!(settle(&s, &d), Decision::Copy(Reason::DestinationOlder));
    }
}
