//! The six classes every source and destination key ends in, the tier that settled
//! it, and the running tally (counts and bytes) that the summary and exit code come from.

use std::borrow::Cow;

use serde::Serialize;

/// Where one key ended up. Every pair of the diff gets exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Both sides hold the same bytes, as far as the tier that said so can tell.
    Match,
    /// In the source, not in the destination.
    Missing,
    /// In the destination, not in the source.
    Extra,
    /// Both sides, different sizes.
    SizeMismatch,
    /// Both sides, same size, different content (an ETag, checksum or the bytes differ).
    ContentMismatch,
    /// Both sides, same size, and no tier could tell whether the content is the same.
    Unverified,
}

impl Class {
    pub const ALL: [Class; 6] = [
        Class::Match,
        Class::Missing,
        Class::Extra,
        Class::SizeMismatch,
        Class::ContentMismatch,
        Class::Unverified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Match => "match",
            Class::Missing => "missing",
            Class::Extra => "extra",
            Class::SizeMismatch => "size_mismatch",
            Class::ContentMismatch => "content_mismatch",
            Class::Unverified => "unverified",
        }
    }

    fn index(self) -> usize {
        Class::ALL
            .iter()
            .position(|c| *c == self)
            .expect("every class is in ALL")
    }
}

/// Which evidence settled a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Presence, size and ETag from the listings (or inventories).
    Listing,
    /// HEAD: per-object encryption, additional checksums, part layouts.
    Checksums,
    /// The bytes themselves (`--deep`, `--sample`).
    Deep,
}

impl Tier {
    pub fn number(self) -> u8 {
        match self {
            Tier::Listing => 1,
            Tier::Checksums => 2,
            Tier::Deep => 3,
        }
    }
}

/// A class with the tier and the reason, as the report shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub class: Class,
    pub tier: Tier,
    pub reason: Cow<'static, str>,
}

impl Outcome {
    pub fn new(class: Class, tier: Tier, reason: impl Into<Cow<'static, str>>) -> Outcome {
        Outcome {
            class,
            tier,
            reason: reason.into(),
        }
    }
}

/// Objects and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub objects: u64,
    pub bytes: u64,
}

impl Count {
    fn add(&mut self, bytes: u64) {
        self.objects += 1;
        self.bytes += bytes;
    }
}

/// Running totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    classes: [Count; 6],
    pub source: Count,
    pub destination: Count,
    /// Pairs settled by each tier (listing, checksums, deep).
    pub settled_by: [u64; 3],
}

impl Tally {
    /// Counts one pair; bytes are the source's (the destination's for an extra).
    pub fn add(
        &mut self,
        outcome: &Outcome,
        source_size: Option<u64>,
        destination_size: Option<u64>,
    ) {
        if let Some(size) = source_size {
            self.source.add(size);
        }
        if let Some(size) = destination_size {
            self.destination.add(size);
        }
        let bytes = source_size.or(destination_size).unwrap_or(0);
        self.classes[outcome.class.index()].add(bytes);
        self.settled_by[(outcome.tier.number() - 1) as usize] += 1;
    }

    /// Counts `objects` pairs that matched on the listings, in bulk.
    pub fn add_listing_matches(&mut self, objects: u64, source_bytes: u64, destination_bytes: u64) {
        let matched = &mut self.classes[Class::Match.index()];
        matched.objects += objects;
        matched.bytes += source_bytes;
        self.source.objects += objects;
        self.source.bytes += source_bytes;
        self.destination.objects += objects;
        self.destination.bytes += destination_bytes;
        self.settled_by[0] += objects;
    }

    pub fn count(&self, class: Class) -> Count {
        self.classes[class.index()]
    }

    /// Whether anything proves the copy wrong (extra objects count unless allowed).
    pub fn has_failures(&self, allow_extra: bool) -> bool {
        [Class::Missing, Class::SizeMismatch, Class::ContentMismatch]
            .iter()
            .any(|c| self.count(*c).objects > 0)
            || (!allow_extra && self.count(Class::Extra).objects > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_counts_once_per_side() {
        let mut tally = Tally::default();
        tally.add(
            &Outcome::new(Class::Match, Tier::Listing, "ETags equal"),
            Some(5),
            Some(5),
        );
        tally.add(
            &Outcome::new(Class::Missing, Tier::Listing, ""),
            Some(7),
            None,
        );
        tally.add(
            &Outcome::new(Class::Extra, Tier::Listing, ""),
            None,
            Some(3),
        );
        tally.add(
            &Outcome::new(Class::Unverified, Tier::Checksums, ""),
            Some(2),
            Some(2),
        );
        assert_eq!(
            tally.source,
            Count {
                objects: 3,
                bytes: 14
            }
        );
        assert_eq!(
            tally.destination,
            Count {
                objects: 3,
                bytes: 10
            }
        );
        assert_eq!(
            tally.count(Class::Extra),
            Count {
                objects: 1,
                bytes: 3
            }
        );
        assert!(tally.has_failures(true));
        assert_eq!(tally.settled_by, [3, 1, 0]);
        let sum: u64 = Class::ALL.iter().map(|c| tally.count(*c).objects).sum();
        assert_eq!(sum, 4);
    }

    #[test]
    fn class_names_are_the_reports_names() {
        // The text and CSV reports print `as_str`; the JSON report serializes the enum.
        // Both must spell a class the same way.
        for class in Class::ALL {
            assert_eq!(
                serde_json::to_value(class).unwrap(),
                serde_json::Value::String(class.as_str().into())
            );
        }
        assert_eq!(Class::SizeMismatch.as_str(), "size_mismatch");
    }

    #[test]
    fn listing_matches_in_bulk_count_like_one_by_one() {
        let mut bulk = Tally::default();
        let mut one_by_one = Tally::default();
        for tally in [&mut bulk, &mut one_by_one] {
            tally.add(
                &Outcome::new(Class::Missing, Tier::Deep, ""),
                Some(11),
                None,
            );
        }
        bulk.add_listing_matches(2, 10, 12);
        bulk.add_listing_matches(1, 5, 5);
        for (source, destination) in [(4, 6), (6, 6), (5, 5)] {
            one_by_one.add(
                &Outcome::new(Class::Match, Tier::Listing, "ETags equal"),
                Some(source),
                Some(destination),
            );
        }
        assert_eq!(bulk, one_by_one);
        assert_eq!(
            bulk.count(Class::Match),
            Count {
                objects: 3,
                bytes: 15
            }
        );
        assert_eq!(
            bulk.destination,
            Count {
                objects: 3,
                bytes: 17
            }
        );
        assert_eq!(bulk.settled_by, [3, 0, 1]);
    }

    #[test]
    fn failures_are_missing_or_different_objects_and_extras_unless_allowed() {
        let empty = Tally::default();
        assert!(!empty.has_failures(false));
        assert!(!empty.has_failures(true));

        let only = |class: Class| {
            let mut tally = Tally::default();
            tally.add(&Outcome::new(class, Tier::Listing, ""), Some(1), Some(1));
            tally
        };
        for class in [Class::Missing, Class::SizeMismatch, Class::ContentMismatch] {
            assert!(only(class).has_failures(false), "{class:?}");
            assert!(only(class).has_failures(true), "{class:?}");
        }
        for class in [Class::Match, Class::Unverified] {
            assert!(!only(class).has_failures(false), "{class:?}");
        }
        let extra = only(Class::Extra);
        assert!(extra.has_failures(false));
        assert!(!extra.has_failures(true));
    }
}
