//! Deterministic key-range shards: `--shard I/N` is "the I-th of N contiguous key
//! ranges", so N processes (a Kubernetes Indexed Job, an AWS Batch array job) list and
//! copy disjoint parts of one bucket and together cover every key exactly once.
//!
//! Two properties, kept apart on purpose:
//!
//! - **Exactly once** comes from the shape of the ranges alone. N-1 non-decreasing
//!   boundary keys b₁ ≤ … ≤ bₙ₋₁ cut the ordered space of all keys into
//!   `(−∞, b₁]`, `(b₁, b₂]`, …, `(bₙ₋₁, +∞)`: every string falls in exactly one, whatever
//!   the boundaries are and whatever was written to the bucket after they were chosen.
//!   Ranges are half-open on the left because S3's ListObjectsV2 `StartAfter` is
//!   exclusive: a worker lists with `StartAfter = after` and stops at the first key
//!   past `until`. Keys compare as bytes (UTF-8 binary order), as S3 lists them.
//! - **Balance** comes from where the boundaries are: at the 1/N, 2/N, … quantiles of the
//!   bucket's keys, read from a `Plan`. The plan is made once (`s3bridge shards plan`,
//!   one listing of the source) and every worker reads the same file, so N independent
//!   processes agree on the boundaries even while the bucket changes. Workers that each
//!   sampled the live bucket themselves could pick different boundaries and skip or
//!   double-copy the keys between them; docs/sharding.md has the whole argument.
//!
//! A plan does not depend on N: it keeps a rank-spaced sample of the sorted keys (every
//! `stride`-th key, the stride doubling whenever the sample outgrows its resolution, so
//! memory stays bounded for any bucket size) and `Plan::ranges(n)` derives the boundaries
//! for any N from it.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `format` member of a plan file.
pub const PLAN_FORMAT: &str = "s3bridge-shard-plan/1";
/// Default sample size of a plan: about 4,096 keys (a few hundred KB of JSON), enough
/// for up to several hundred balanced shards.
pub const DEFAULT_RESOLUTION: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("`{0}` is not a shard: write I/N with 0 <= I < N, e.g. 0/4")]
    BadSelector(String),
    #[error("the shard count must be at least 1")]
    NoShards,
    #[error("keys must arrive in S3 listing order: `{later}` came after `{earlier}`")]
    OutOfOrder { earlier: String, later: String },
    #[error("the plan is not usable: {0}")]
    BadPlan(String),
}

pub use super::listing::KeyRange;

/// What shard workers need beyond membership: when to stop, what to skip.
impl KeyRange {
    /// True once a listing in S3 order has gone beyond this range: stop listing.
    pub fn is_past_end(&self, key: &str) -> bool {
        self.until.as_deref().is_some_and(|e| key > e)
    }

    /// Holds no S3 key (keys are at least one character long, so a range ending at ""
    /// holds none either).
    pub fn is_empty(&self) -> bool {
        match (&self.after, &self.until) {
            (_, Some(end)) if end.is_empty() => true,
            (Some(start), Some(end)) => end <= start,
            _ => false,
        }
    }

    /// `StartAfter` for a ListObjectsV2 call with `Prefix = prefix` that lists this
    /// range's part of the prefix: None when the range starts before every key of the
    /// prefix (so the listing starts at the prefix itself).
    pub fn start_after_within(&self, prefix: &str) -> Option<&str> {
        self.after.as_deref().filter(|s| *s >= prefix)
    }

    /// Whether some key starting with `prefix` may fall in this range; when false, a
    /// worker skips the prefix without listing it.
    pub fn may_contain_prefix(&self, prefix: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        // Every key of the prefix is >= prefix: none is in range if the end is below it.
        if self.until.as_deref().is_some_and(|e| e < prefix) {
            return false;
        }
        // Keys of the prefix are all below any string that is greater than the prefix
        // without starting with it: none is in range if the start is such a string.
        match self.after.as_deref() {
            Some(s) => s.starts_with(prefix) || s < prefix,
            None => true,
        }
    }
}

impl fmt::Display for KeyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.after, &self.until) {
            (None, None) => write!(f, "every key"),
            (Some(s), None) => write!(f, "keys after {s:?}"),
            (None, Some(e)) => write!(f, "keys up to {e:?}"),
            (Some(s), Some(e)) => write!(f, "keys after {s:?} up to {e:?}"),
        }
    }
}

/// `--shard I/N`: the I-th (from 0) of N ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSelector {
    pub index: u32,
    pub count: u32,
}

impl FromStr for ShardSelector {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<ShardSelector, ShardError> {
        let bad = || ShardError::BadSelector(text.to_string());
        let (index, count) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if index >= count {
            return Err(bad());
        }
        Ok(ShardSelector { index, count })
    }
}

impl fmt::Display for ShardSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The ranges cut by `boundaries` (N-1 keys give N ranges). Exactly one range contains
/// any given key, provided the boundaries do not decrease (`Plan::ranges` checks it).
pub fn ranges(boundaries: &[String]) -> Vec<KeyRange> {
    super::listing::ranges_from_boundaries(boundaries.to_vec())
}

/// A sample of a bucket's sorted keys from which shard boundaries are derived: the key at
/// rank `(i + 1) * stride - 1` for each `i`, and the number of keys listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    /// What was listed: `s3://bucket/prefix`.
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    pub total_keys: u64,
    pub stride: u64,
    pub keys: Vec<String>,
}

impl Plan {
    /// The N-1 boundaries of `count` ranges: each the sampled key nearest to a multiple
    /// of total/count in rank. An empty string (below every key) stands for "before the
    /// first key", which leaves a shard empty when there are fewer keys than shards.
    pub fn boundaries(&self, count: u32) -> Vec<String> {
        let n = u128::from(count.max(1));
        let total = u128::from(self.total_keys);
        let stride = u128::from(self.stride.max(1));
        (1..n)
            .map(|j| {
                // Rank of the last key of shard j-1, plus one.
                let end = j * total / n;
                let nearest = (end + stride / 2) / stride;
                if nearest == 0 || self.keys.is_empty() {
                    return String::new();
                }
                let index = (nearest as usize - 1).min(self.keys.len() - 1);
                self.keys[index].clone()
            })
            .collect()
    }

    pub fn ranges(&self, count: u32) -> Result<Vec<KeyRange>, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards);
        }
        self.check()?;
        Ok(ranges(&self.boundaries(count)))
    }

    /// The range of one shard.
    pub fn range(&self, shard: ShardSelector) -> Result<KeyRange, ShardError> {
        Ok(self.ranges(shard.count)?.swap_remove(shard.index as usize))
    }

    /// The largest shard count for which this plan keeps every shard within 2x of every
    /// other in object count (for the keys that were listed). A boundary is at most one
    /// stride from its ideal rank, so a shard is within 2 strides (+1) of total/N; that
    /// is within 2x when total/N >= 6 strides + 3.
    pub fn balanced_up_to(&self) -> u32 {
        let per_shard = 6 * self.stride.max(1) + 3;
        u32::try_from(self.total_keys / per_shard)
            .unwrap_or(u32::MAX)
            .max(1)
    }

    /// A short fingerprint workers print, so their logs show they read the same plan.
    pub fn digest(&self) -> String {
        let mut digest = Sha256::new();
        digest.update(self.bucket.as_bytes());
        digest.update([0]);
        digest.update(self.prefix.as_bytes());
        digest.update(self.total_keys.to_be_bytes());
        digest.update(self.stride.to_be_bytes());
        for key in &self.keys {
            digest.update([0]);
            digest.update(key.as_bytes());
        }
        digest.finalize()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn check(&self) -> Result<(), ShardError> {
        if self.format != PLAN_FORMAT {
            return Err(ShardError::BadPlan(format!(
                "format `{}`, expected `{PLAN_FORMAT}`",
                self.format
            )));
        }
        if self.stride == 0 {
            return Err(ShardError::BadPlan("stride 0".into()));
        }
        if let Some(pair) = self.keys.windows(2).find(|w| w[0] >= w[1]) {
            return Err(ShardError::BadPlan(format!(
                "sampled keys out of order: `{}` before `{}`",
                pair[0], pair[1]
            )));
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan is JSON")
    }

    pub fn from_json(text: &str) -> Result<Plan, ShardError> {
        let plan: Plan =
            serde_json::from_str(text).map_err(|e| ShardError::BadPlan(e.to_string()))?;
        plan.check()?;
        Ok(plan)
    }

    pub fn load(path: &Path) -> anyhow::Result<Plan> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the shard plan {}", path.display()))?;
        Plan::from_json(&text).with_context(|| format!("shard plan {}", path.display()))
    }
}

/// Builds a `Plan` from keys fed in S3 listing order, in memory bounded by the
/// resolution whatever the number of keys.
#[derive(Debug, Clone)]
pub struct Sampler {
    resolution: usize,
    stride: u64,
    seen: u64,
    keys: Vec<String>,
    last: Option<String>,
}

impl Sampler {
    /// `resolution`: how many keys the sample keeps at most (at least 2).
    pub fn new(resolution: usize) -> Sampler {
        Sampler {
            resolution: resolution.max(2),
            stride: 1,
            seen: 0,
            keys: Vec::new(),
            last: None,
        }
    }

    pub fn push(&mut self, key: &str) -> Result<(), ShardError> {
        if let Some(last) = &self.last {
            if key <= last.as_str() {
                return Err(ShardError::OutOfOrder {
                    earlier: last.clone(),
                    later: key.to_string(),
                });
            }
        }
        self.seen += 1;
        if self.seen.is_multiple_of(self.stride) {
            self.keys.push(key.to_string());
            if self.keys.len() > self.resolution {
                // Keep ranks 2*stride-1, 4*stride-1, ...: the odd positions.
                let mut position = 0;
                self.keys.retain(|_| {
                    position += 1;
                    position % 2 == 0
                });
                self.stride *= 2;
            }
        }
        self.last = Some(key.to_string());
        Ok(())
    }

    pub fn seen(&self) -> u64 {
        self.seen
    }

    pub fn finish(self, bucket: &str, prefix: &str) -> Plan {
        Plan {
            format: PLAN_FORMAT.into(),
            bucket: bucket.into(),
            prefix: prefix.into(),
            total_keys: self.seen,
            stride: self.stride,
            keys: self.keys,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Objects per range of sorted, distinct `keys` (binary search, not a scan per range).
    fn sizes(keys: &[String], ranges: &[KeyRange]) -> Vec<usize> {
        let upto = |bound: &Option<String>, none: usize| {
            bound
                .as_ref()
                .map_or(none, |b| keys.partition_point(|k| k <= b))
        };
        ranges
            .iter()
            .map(|r| upto(&r.until, keys.len()).saturating_sub(upto(&r.after, 0)))
            .collect()
    }

    fn plan_of(keys: &[String], resolution: usize) -> Plan {
        let mut sampler = Sampler::new(resolution);
        for key in keys {
            sampler.push(key).unwrap();
        }
        sampler.finish("b", "")
    }

    /// A seeded generator of key sets shaped like real buckets: a few prefixes holding
    /// almost everything, many tiny ones, multi-byte characters, keys that are prefixes
    /// of other keys.
    fn uneven_keys(rng: &mut fastrand::Rng, total: usize) -> Vec<String> {
        let prefixes = ["", "a/", "logs/2024/", "scans/", "scans/x", "z", "é/", "~"];
        let weights = [1, 2, 700, 4000, 20, 1, 30, 3];
        let weight_sum: u32 = weights.iter().sum();
        let alphabet: Vec<char> = "abz09/._-é😀 ".chars().collect();
        let mut keys: Vec<String> = (0..total)
            .map(|_| {
                let mut pick = rng.u32(0..weight_sum);
                let mut p = 0;
                while pick >= weights[p] {
                    pick -= weights[p];
                    p += 1;
                }
                let len = rng.usize(1..12);
                let tail: String = (0..len)
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect();
                format!("{}{tail}", prefixes[p])
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    fn random_string(rng: &mut fastrand::Rng) -> String {
        let alphabet: Vec<char> = "abz09/._-é😀 ~s".chars().collect();
        (0..rng.usize(0..10))
            .map(|_| alphabet[rng.usize(..alphabet.len())])
            .collect()
    }

    #[test]
    fn every_key_is_in_exactly_one_range() {
        let mut rng = fastrand::Rng::with_seed(6);
        for round in 0..60 {
            let total = rng.usize(0..3000);
            let keys = uneven_keys(&mut rng, total);
            // The plan sees a subset (the bucket changed since planning)...
            let sampled: Vec<String> = keys.iter().filter(|_| rng.bool()).cloned().collect();
            let plan = plan_of(&sampled, rng.usize(2..64));
            let count = rng.u32(1..40);
            let ranges = plan.ranges(count).unwrap();
            assert_eq!(ranges.len(), count as usize);
            // ...yet every key of the bucket, and any other string, is in exactly one.
            let strangers: Vec<String> = (0..200).map(|_| random_string(&mut rng)).collect();
            for key in keys.iter().chain(&strangers).chain(&plan.keys) {
                let holders = ranges.iter().filter(|r| r.contains(key)).count();
                assert_eq!(
                    holders, 1,
                    "round {round}: {key:?} in {holders} of {ranges:?}"
                );
            }
            // A worker listing in order and stopping past the end sees the same keys.
            for range in &ranges {
                let listed: Vec<&String> = keys
                    .iter()
                    .filter(|k| range.after.as_ref().is_none_or(|s| *k > s))
                    .take_while(|k| !range.is_past_end(k))
                    .collect();
                let contained: Vec<&String> = keys.iter().filter(|k| range.contains(k)).collect();
                assert_eq!(listed, contained);
            }
        }
    }

    #[test]
    fn shards_of_uneven_prefixes_stay_within_twice_each_other() {
        let mut rng = fastrand::Rng::with_seed(42);
        for round in 0..40 {
            let total = rng.usize(500..20_000);
            let keys = uneven_keys(&mut rng, total);
            let resolution = [16, 64, 256, DEFAULT_RESOLUTION][round % 4];
            let plan = plan_of(&keys, resolution);
            assert_eq!(plan.total_keys, keys.len() as u64);
            assert!(plan.keys.len() <= resolution);
            for count in [2, 3, 4, 7, 16, plan.balanced_up_to()] {
                if count > plan.balanced_up_to() {
                    continue;
                }
                let ranges = plan.ranges(count).unwrap();
                let sizes = sizes(&keys, &ranges);
                let scanned: Vec<usize> = ranges
                    .iter()
                    .map(|r| keys.iter().filter(|k| r.contains(k)).count())
                    .collect();
                assert_eq!(sizes, scanned);
                assert_eq!(sizes.iter().sum::<usize>(), keys.len());
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(
                    *max <= 2 * *min,
                    "round {round}, {count} shards, resolution {resolution}: {sizes:?}"
                );
            }
        }
    }

    #[test]
    fn the_balance_bound_allows_many_shards_at_the_default_resolution() {
        let keys: Vec<String> = (0..1_000_000).map(|i| format!("k{i:08}")).collect();
        let plan = plan_of(&keys, DEFAULT_RESOLUTION);
        assert!(plan.balanced_up_to() >= 300, "{}", plan.balanced_up_to());
        let sizes = sizes(&keys, &plan.ranges(300).unwrap());
        assert_eq!(sizes.iter().sum::<usize>(), keys.len());
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(*max <= 2 * *min, "{min}..{max}");
    }

    #[test]
    fn a_small_bucket_is_split_exactly() {
        let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
        let plan = plan_of(&keys, 64);
        let sizes: Vec<usize> = plan
            .ranges(3)
            .unwrap()
            .iter()
            .map(|r| keys.iter().filter(|k| r.contains(k)).count())
            .collect();
        assert_eq!(sizes, vec![3, 3, 4]);
    }

    #[test]
    fn fewer_keys_than_shards_leaves_shards_empty_not_overlapping() {
        let keys = vec!["a".to_string(), "b".to_string()];
        let plan = plan_of(&keys, 64);
        let ranges = plan.ranges(5).unwrap();
        let sizes: Vec<usize> = ranges
            .iter()
            .map(|r| keys.iter().filter(|k| r.contains(k)).count())
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), 2);
        assert!(
            ranges.iter().filter(|r| r.is_empty()).count() >= 3,
            "{ranges:?}"
        );
        let empty = plan_of(&[], 64).ranges(4).unwrap();
        assert!(empty.iter().filter(|r| r.contains("anything")).count() == 1);
    }

    #[test]
    fn selectors_parse_and_refuse() {
        assert_eq!(
            "2/8".parse::<ShardSelector>(),
            Ok(ShardSelector { index: 2, count: 8 })
        );
        for bad in ["8/8", "1", "-1/4", "a/b", "0/0", ""] {
            assert!(bad.parse::<ShardSelector>().is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_out_of_order_are_refused() {
        let mut sampler = Sampler::new(8);
        sampler.push("b").unwrap();
        assert!(matches!(
            sampler.push("a"),
            Err(ShardError::OutOfOrder { .. })
        ));
        assert!(sampler.push("b").is_err());
    }

    #[test]
    fn prefixes_outside_a_range_are_skipped() {
        let range = KeyRange {
            after: Some("logs/5".into()),
            until: Some("scans/m".into()),
        };
        assert!(!range.may_contain_prefix("a/"));
        assert!(range.may_contain_prefix("logs/"));
        assert!(range.may_contain_prefix("m"));
        assert!(range.may_contain_prefix("scans/"));
        assert!(!range.may_contain_prefix("scans/z"));
        assert!(!range.may_contain_prefix("z"));
        assert_eq!(range.start_after_within("logs/"), Some("logs/5"));
        assert_eq!(range.start_after_within("m/"), None);
        // Against brute force over random ranges, prefixes and keys.
        let mut rng = fastrand::Rng::with_seed(9);
        for _ in 0..3000 {
            let mut bounds = [random_string(&mut rng), random_string(&mut rng)];
            bounds.sort();
            let range = KeyRange {
                after: rng.bool().then(|| bounds[0].clone()),
                until: rng.bool().then(|| bounds[1].clone()),
            };
            let prefix = random_string(&mut rng);
            let key = format!("{prefix}{}", random_string(&mut rng));
            if range.contains(&key) {
                assert!(
                    range.may_contain_prefix(&prefix),
                    "{range:?} {prefix:?} {key:?}"
                );
                if let Some(s) = range.start_after_within(&prefix) {
                    assert!(key.as_str() > s);
                }
            }
        }
    }

    #[test]
    fn plans_round_trip_and_bad_ones_are_refused() {
        let keys: Vec<String> = (0..100).map(|i| format!("k{i:03}")).collect();
        let plan = plan_of(&keys, 16);
        let back = Plan::from_json(&plan.to_json()).unwrap();
        assert_eq!(back, plan);
        assert_eq!(back.digest(), plan.digest());
        let mut shuffled = plan.clone();
        shuffled.keys.reverse();
        assert!(Plan::from_json(&shuffled.to_json()).is_err());
        let mut other = plan;
        other.format = "something/2".into();
        assert!(Plan::from_json(&other.to_json()).is_err());
    }
}
