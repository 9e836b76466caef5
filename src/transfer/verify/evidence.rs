//! What an ETag or a checksum proves, and when two of them may be compared at all.
//! Pure rules, no I/O: tier 1 (`from_listing`), tier 2 (`from_heads`) and the choice of
//! the cheapest tier-3 proof (`deep_plan`). docs/verify.md explains each rule.
//!
//! The asymmetry that keeps verify from false passes: *equal* ETags or checksums of the
//! same kind are strong evidence of equal content whatever produced them (S3 computes
//! them; a chance collision of 128 bits is not a risk, of a 32-bit CRC it is 2^-32 per
//! object on top of equal sizes). *Different* values prove a difference only when both
//! are the same function of the content: plain MD5 ETags of unencrypted or SSE-S3
//! objects, multipart ETags of the same part layout, full-object checksums, composite
//! checksums of the same layout. Anything else settles nothing.

use std::borrow::Cow;

use super::class::{Class, Outcome, Tier};
use crate::transfer::listing::ObjectEntry;

/// The shape of an ETag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtagKind {
    /// 32 hex digits: the MD5 of the content when the object is not SSE-KMS or SSE-C.
    Md5,
    /// `<md5 of the parts' MD5s>-N`: depends on the part layout.
    Multipart(u32),
    /// Anything else (another store's ETag, empty).
    Opaque,
}

pub fn etag_kind(etag: &str) -> EtagKind {
    let is_md5 = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    match etag.split_once('-') {
        None if is_md5(etag) => EtagKind::Md5,
        Some((digest, parts)) if is_md5(digest) => match parts.parse::<u32>() {
            Ok(n) if n >= 1 => EtagKind::Multipart(n),
            _ => EtagKind::Opaque,
        },
        _ => EtagKind::Opaque,
    }
}

/// The tier-1 match rule on raw fields: equal sizes and either both empty or equal
/// non-empty ETags. Returns the reason. (The inventory join applies it to records
/// without building entries; `from_listing` to entries.)
pub fn listing_match(
    source_size: u64,
    source_etag: &[u8],
    destination_size: u64,
    destination_etag: &[u8],
) -> Option<&'static str> {
    if source_size != destination_size {
        None
    } else if source_size == 0 {
        Some("both empty")
    } else if !source_etag.is_empty() && source_etag == destination_etag {
        Some("ETags equal")
    } else {
        None
    }
}

/// Tier 1: what the two listings alone settle. `Err(reason)` when they cannot.
pub fn from_listing(
    source: &ObjectEntry,
    destination: &ObjectEntry,
) -> Result<Outcome, Cow<'static, str>> {
    if source.size != destination.size {
        return Ok(Outcome::new(
            Class::SizeMismatch,
            Tier::Listing,
            format!(
                "sizes differ: {} bytes in the source, {} in the destination",
                source.size, destination.size
            ),
        ));
    }
    if let Some(reason) = listing_match(
        source.size,
        source.etag.as_bytes(),
        destination.size,
        destination.etag.as_bytes(),
    ) {
        return Ok(Outcome::new(Class::Match, Tier::Listing, reason));
    }
    if source.etag.is_empty() || destination.etag.is_empty() {
        return Err("an ETag is missing from the listing".into());
    }
    Err(
        match (etag_kind(&source.etag), etag_kind(&destination.etag)) {
            (EtagKind::Multipart(a), EtagKind::Multipart(b)) if a != b => {
                "multipart ETags of different part counts".into()
            }
            (EtagKind::Multipart(_), EtagKind::Md5) | (EtagKind::Md5, EtagKind::Multipart(_)) => {
                "one side multipart, the other not: ETags not comparable".into()
            }
            _ => "ETags differ".into(),
        },
    )
}

/// Server-side encryption of one object, from its HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    None,
    SseS3,
    Kms,
    DsseKms,
    SseC,
}

impl Encryption {
    /// Whether the object's plain ETag is the MD5 of its content (AWS: "Objects
    /// encrypted by SSE-C or SSE-KMS have ETags that are not an MD5 digest").
    pub fn etag_is_md5(self) -> bool {
        matches!(self, Encryption::None | Encryption::SseS3)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Encryption::None => "none",
            Encryption::SseS3 => "SSE-S3",
            Encryption::Kms => "SSE-KMS",
            Encryption::DsseKms => "DSSE-KMS",
            Encryption::SseC => "SSE-C",
        }
    }
}

/// FULL_OBJECT checksums do not depend on how the object was uploaded; COMPOSITE ones
/// (a checksum of the parts' checksums) depend on the part layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumKind {
    FullObject,
    Composite,
}

/// An additional checksum S3 stores for an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// S3's name: CRC32, CRC32C, CRC64NVME, SHA1, SHA256.
    pub algorithm: &'static str,
    /// Base64, without a `-N` part-count suffix.
    pub value: String,
    pub kind: ChecksumKind,
}

impl Checksum {
    /// From HEAD's `x-amz-checksum-*` value and `x-amz-checksum-type`. Without a type:
    /// a `-N` suffix means composite; a single-part object's checksum covers the whole
    /// object; CRC64NVME is only ever full-object; anything else on a multipart object
    /// is taken as composite, the kind that settles less.
    pub fn parse(
        algorithm: &'static str,
        header: &str,
        declared: Option<ChecksumKind>,
        multipart: bool,
    ) -> Checksum {
        let (value, suffixed) = match header.rsplit_once('-') {
            Some((value, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                (value, true)
            }
            _ => (header, false),
        };
        let kind = declared.unwrap_or(if suffixed {
            ChecksumKind::Composite
        } else if !multipart || algorithm == "CRC64NVME" {
            ChecksumKind::FullObject
        } else {
            ChecksumKind::Composite
        });
        Checksum {
            algorithm,
            value: value.to_string(),
            kind,
        }
    }
}

/// One object as HEAD describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub etag: String,
    pub encryption: Encryption,
    pub checksums: Vec<Checksum>,
    pub storage_class: Option<String>,
}

impl Head {
    pub fn multipart_parts(&self) -> Option<u32> {
        match etag_kind(&self.etag) {
            EtagKind::Multipart(n) => Some(n),
            _ => None,
        }
    }

    fn checksum(&self, algorithm: &str) -> Option<&Checksum> {
        self.checksums.iter().find(|c| c.algorithm == algorithm)
    }

    /// Whether GET can read it without a restore or a customer key.
    pub fn readable(&self) -> bool {
        self.encryption != Encryption::SseC
            && !matches!(
                self.storage_class.as_deref(),
                Some("GLACIER" | "DEEP_ARCHIVE")
            )
    }
}

/// Tier 2's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Settled(Outcome),
    /// Both part layouts are needed (same part count, values differ): fetch them and
    /// ask again.
    NeedLayouts,
    Unsettled(Cow<'static, str>),
}

/// Part sizes of both sides, when known.
pub type Layouts<'a> = Option<(&'a [u64], &'a [u64])>;

/// Tier 2: what the two HEADs settle (sizes and ETags equal to the listing's were
/// checked by the caller; the listing's ETags differed).
pub fn from_heads(source: &Head, destination: &Head, layouts: Layouts<'_>) -> Judgement {
    let settled =
        |class, reason: String| Judgement::Settled(Outcome::new(class, Tier::Checksums, reason));
    if source.size != destination.size {
        return settled(
            Class::SizeMismatch,
            format!(
                "sizes differ: {} and {} bytes",
                source.size, destination.size
            ),
        );
    }
    if !source.etag.is_empty() && source.etag == destination.etag {
        return settled(Class::Match, "ETags equal".into());
    }
    let same_layout = layouts.map(|(a, b)| a == b);
    let mut need_layouts = false;
    for theirs in &source.checksums {
        let Some(ours) = destination.checksum(theirs.algorithm) else {
            continue;
        };
        let name = theirs.algorithm;
        match (theirs.kind, ours.kind) {
            (ChecksumKind::FullObject, ChecksumKind::FullObject) => {
                return if theirs.value == ours.value {
                    settled(Class::Match, format!("{name} full-object checksums equal"))
                } else {
                    settled(
                        Class::ContentMismatch,
                        format!("{name} full-object checksums differ"),
                    )
                };
            }
            (ChecksumKind::Composite, ChecksumKind::Composite) => {
                if theirs.value == ours.value
                    && source.multipart_parts() == destination.multipart_parts()
                {
                    return settled(Class::Match, format!("{name} composite checksums equal"));
                }
                if source.multipart_parts() == destination.multipart_parts() {
                    match same_layout {
                        Some(true) => {
                            return settled(
                                Class::ContentMismatch,
                                format!(
                                    "{name} composite checksums differ with the same part layout"
                                ),
                            )
                        }
                        Some(false) => {}
                        None => need_layouts = true,
                    }
                }
            }
            _ => {}
        }
    }
    let md5_etags = source.encryption.etag_is_md5() && destination.encryption.etag_is_md5();
    if md5_etags {
        match (etag_kind(&source.etag), etag_kind(&destination.etag)) {
            (EtagKind::Md5, EtagKind::Md5) => {
                return settled(
                    Class::ContentMismatch,
                    "MD5 ETags differ (neither object is SSE-KMS or SSE-C)".into(),
                )
            }
            (EtagKind::Multipart(a), EtagKind::Multipart(b)) if a == b => match same_layout {
                Some(true) => {
                    return settled(
                        Class::ContentMismatch,
                        "multipart ETags differ with the same part layout".into(),
                    )
                }
                Some(false) => {}
                None => need_layouts = true,
            },
            _ => {}
        }
    }
    if need_layouts {
        return Judgement::NeedLayouts;
    }
    Judgement::Unsettled(unsettled_reason(source, destination, md5_etags).into())
}

fn unsettled_reason(source: &Head, destination: &Head, md5_etags: bool) -> String {
    let etags = if !md5_etags {
        let encrypted = [source.encryption, destination.encryption]
            .into_iter()
            .find(|e| !e.etag_is_md5())
            .map_or("encrypted", Encryption::as_str);
        format!("ETags are not MD5s ({encrypted})")
    } else {
        "ETags of different part layouts".to_string()
    };
    let common = source
        .checksums
        .iter()
        .any(|c| destination.checksum(c.algorithm).is_some());
    let checksums = if source.checksums.is_empty() || destination.checksums.is_empty() {
        "no additional checksum on both sides"
    } else if common {
        "composite checksums of different part layouts"
    } else {
        "checksums of different algorithms"
    };
    format!("{etags}; {checksums}")
}

/// Which side of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Destination,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Source => Side::Destination,
            Side::Destination => Side::Source,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Destination => "destination",
        }
    }
}

/// A digest of one side that the other side's bytes can be hashed into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A full-object checksum (base64).
    Checksum {
        algorithm: &'static str,
        value: String,
    },
    /// A plain MD5 ETag (hex).
    Md5(String),
    /// A multipart ETag; the part sizes of the side it belongs to are fetched first.
    MultipartEtag(String),
}

/// Tier 3: the cheapest way to settle a pair from the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeepPlan {
    /// Stream `stream` and hash it into the other side's digest: one GET.
    Recompute { stream: Side, target: Target },
    /// Stream both and compare byte by byte: two GETs.
    CompareBytes,
    /// Nothing can be read (archived, SSE-C).
    Impossible(String),
}

pub fn deep_plan(source: &Head, destination: &Head) -> DeepPlan {
    let head = |side: Side| match side {
        Side::Source => source,
        Side::Destination => destination,
    };
    // Prefer streaming the destination against the source's digest: it proves what the
    // destination holds. Then the other way round.
    for digest_side in [Side::Source, Side::Destination] {
        let stream = digest_side.other();
        if !head(stream).readable() {
            continue;
        }
        let digest = head(digest_side);
        if let Some(c) = digest
            .checksums
            .iter()
            .find(|c| c.kind == ChecksumKind::FullObject)
        {
            return DeepPlan::Recompute {
                stream,
                target: Target::Checksum {
                    algorithm: c.algorithm,
                    value: c.value.clone(),
                },
            };
        }
    }
    for digest_side in [Side::Source, Side::Destination] {
        let stream = digest_side.other();
        let digest = head(digest_side);
        if !head(stream).readable() || !digest.encryption.etag_is_md5() {
            continue;
        }
        match etag_kind(&digest.etag) {
            EtagKind::Md5 => {
                return DeepPlan::Recompute {
                    stream,
                    target: Target::Md5(digest.etag.clone()),
                }
            }
            EtagKind::Multipart(_) => {
                return DeepPlan::Recompute {
                    stream,
                    target: Target::MultipartEtag(digest.etag.clone()),
                }
            }
            EtagKind::Opaque => {}
        }
    }
    match (source.readable(), destination.readable()) {
        (true, true) => DeepPlan::CompareBytes,
        _ => {
            let which = if source.readable() {
                destination
            } else {
                source
            };
            DeepPlan::Impossible(if which.encryption == Encryption::SseC {
                "SSE-C object: its bytes cannot be read without the customer key".into()
            } else {
                format!(
                    "{} object: restore it before a deep verify",
                    which.storage_class.as_deref().unwrap_or("archived")
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    fn entry(size: u64, etag: &str) -> ObjectEntry {
        ObjectEntry {
            key: "k".into(),
            size,
            etag: etag.into(),
            last_modified_ms: 0,
            storage_class: None,
            checksum_algorithm: None,
            checksum_type: None,
        }
    }

    fn head(etag: &str, encryption: Encryption, checksums: Vec<Checksum>) -> Head {
        Head {
            size: 10,
            etag: etag.into(),
            encryption,
            checksums,
            storage_class: None,
        }
    }

    fn crc(kind: ChecksumKind, value: &str) -> Checksum {
        Checksum {
            algorithm: "CRC32",
            value: value.into(),
            kind,
        }
    }

    fn class(j: Judgement) -> Option<Class> {
        match j {
            Judgement::Settled(o) => Some(o.class),
            _ => None,
        }
    }

    #[test]
    fn etag_kinds() {
        assert_eq!(etag_kind(A), EtagKind::Md5);
        assert_eq!(etag_kind(&format!("{A}-12")), EtagKind::Multipart(12));
        assert_eq!(etag_kind(&format!("{A}-x")), EtagKind::Opaque);
        assert_eq!(etag_kind(""), EtagKind::Opaque);
        assert_eq!(etag_kind("abc"), EtagKind::Opaque);
    }

    #[test]
    fn listing_settles_only_sizes_equal_etags_and_empties() {
        let ok = |s, d| from_listing(&s, &d).map(|o| o.class);
        assert_eq!(ok(entry(1, A), entry(2, A)), Ok(Class::SizeMismatch));
        assert_eq!(ok(entry(5, A), entry(5, A)), Ok(Class::Match));
        assert_eq!(ok(entry(0, A), entry(0, B)), Ok(Class::Match));
        // Different ETags never settle anything on their own: either could be SSE-KMS.
        assert!(ok(entry(5, A), entry(5, B)).is_err());
        // An empty ETag equals nothing, not even another empty one.
        assert!(ok(entry(5, ""), entry(5, "")).is_err());
    }

    #[test]
    fn md5_etags_prove_a_difference_only_without_kms_or_sse_c() {
        let plain = from_heads(
            &head(A, Encryption::None, vec![]),
            &head(B, Encryption::SseS3, vec![]),
            None,
        );
        assert_eq!(class(plain), Some(Class::ContentMismatch));
        for encryption in [Encryption::Kms, Encryption::DsseKms, Encryption::SseC] {
            let j = from_heads(
                &head(A, Encryption::None, vec![]),
                &head(B, encryption, vec![]),
                None,
            );
            assert!(
                matches!(j, Judgement::Unsettled(_)),
                "{encryption:?}: {j:?}"
            );
        }
        // Equal ETags are equal content, encrypted or not.
        let j = from_heads(
            &head(A, Encryption::Kms, vec![]),
            &head(A, Encryption::Kms, vec![]),
            None,
        );
        assert_eq!(class(j), Some(Class::Match));
    }

    #[test]
    fn multipart_etags_need_the_same_layout() {
        let (s, d) = (
            head(&format!("{A}-2"), Encryption::None, vec![]),
            head(&format!("{B}-2"), Encryption::None, vec![]),
        );
        assert_eq!(from_heads(&s, &d, None), Judgement::NeedLayouts);
        let same: &[u64] = &[5, 5];
        let other: &[u64] = &[6, 4];
        assert_eq!(
            class(from_heads(&s, &d, Some((same, same)))),
            Some(Class::ContentMismatch)
        );
        assert!(matches!(
            from_heads(&s, &d, Some((same, other))),
            Judgement::Unsettled(_)
        ));
        // Different part counts: nothing to fetch, nothing settled.
        let d3 = head(&format!("{B}-3"), Encryption::None, vec![]);
        assert!(matches!(from_heads(&s, &d3, None), Judgement::Unsettled(_)));
    }

    #[test]
    fn checksums() {
        let full = |v| crc(ChecksumKind::FullObject, v);
        let composite = |v| crc(ChecksumKind::Composite, v);
        let kms = |etag: &str, c| head(etag, Encryption::Kms, vec![c]);
        // Full-object checksums settle across any layout and any encryption.
        let j = from_heads(
            &kms(&format!("{A}-2"), full("x")),
            &kms(&format!("{B}-3"), full("x")),
            None,
        );
        assert_eq!(class(j), Some(Class::Match));
        let j = from_heads(&kms(A, full("x")), &kms(B, full("y")), None);
        assert_eq!(class(j), Some(Class::ContentMismatch));
        // Composite: equal values match; different values need the same layout.
        let (s, d) = (
            kms(&format!("{A}-2"), composite("x")),
            kms(&format!("{B}-2"), composite("y")),
        );
        assert_eq!(from_heads(&s, &d, None), Judgement::NeedLayouts);
        let same: &[u64] = &[5, 5];
        assert_eq!(
            class(from_heads(&s, &d, Some((same, same)))),
            Some(Class::ContentMismatch)
        );
        let d3 = kms(&format!("{B}-3"), composite("y"));
        assert!(matches!(from_heads(&s, &d3, None), Judgement::Unsettled(_)));
        // A full-object and a composite value are different functions.
        let j = from_heads(
            &kms(A, full("x")),
            &kms(&format!("{B}-2"), composite("x")),
            None,
        );
        assert!(matches!(j, Judgement::Unsettled(_)));
    }

    #[test]
    fn checksum_kinds_from_headers() {
        let parse = |h: &str, d, m| Checksum::parse("CRC32", h, d, m).kind;
        assert_eq!(parse("abc=-3", None, true), ChecksumKind::Composite);
        assert_eq!(parse("abc=", None, false), ChecksumKind::FullObject);
        assert_eq!(parse("abc=", None, true), ChecksumKind::Composite);
        assert_eq!(
            parse("abc=", Some(ChecksumKind::FullObject), true),
            ChecksumKind::FullObject
        );
        assert_eq!(
            Checksum::parse("CRC64NVME", "abc=", None, true).kind,
            ChecksumKind::FullObject
        );
        assert_eq!(Checksum::parse("CRC32", "abc=-3", None, true).value, "abc=");
    }

    #[test]
    fn deep_plans_prefer_one_download() {
        let full = |v| crc(ChecksumKind::FullObject, v);
        let plan = deep_plan(
            &head(A, Encryption::Kms, vec![full("x")]),
            &head(B, Encryption::Kms, vec![]),
        );
        assert_eq!(
            plan,
            DeepPlan::Recompute {
                stream: Side::Destination,
                target: Target::Checksum {
                    algorithm: "CRC32",
                    value: "x".into()
                }
            }
        );
        // The source's multipart ETag is recomputed from the destination's bytes...
        let mp = format!("{A}-3");
        let plan = deep_plan(
            &head(&mp, Encryption::None, vec![]),
            &head(B, Encryption::Kms, vec![]),
        );
        assert_eq!(
            plan,
            DeepPlan::Recompute {
                stream: Side::Destination,
                target: Target::MultipartEtag(mp)
            }
        );
        // ...or the destination's from the source's when only it is an MD5-based ETag.
        let mp = format!("{B}-2");
        let plan = deep_plan(
            &head(A, Encryption::Kms, vec![]),
            &head(&mp, Encryption::SseS3, vec![]),
        );
        assert_eq!(
            plan,
            DeepPlan::Recompute {
                stream: Side::Source,
                target: Target::MultipartEtag(mp)
            }
        );
        // No usable digest: both streams.
        let plan = deep_plan(
            &head(A, Encryption::Kms, vec![]),
            &head(B, Encryption::Kms, vec![]),
        );
        assert_eq!(plan, DeepPlan::CompareBytes);
        // An archived destination is never streamed; its digest still serves.
        let mut archived = head(B, Encryption::None, vec![]);
        archived.storage_class = Some("DEEP_ARCHIVE".into());
        let plan = deep_plan(&head(A, Encryption::Kms, vec![]), &archived);
        assert_eq!(
            plan,
            DeepPlan::Recompute {
                stream: Side::Source,
                target: Target::Md5(B.into())
            }
        );
        let plan = deep_plan(&head(A, Encryption::SseC, vec![]), &archived);
        assert!(matches!(plan, DeepPlan::Impossible(_)));
    }
}
