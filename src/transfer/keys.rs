//! Which source keys a copy covers and where each one lands.
//!
//! The key space is cut into *segments*: a source prefix that maps to a destination
//! prefix by replacing the one with the other (`images/x` → `avatar/x`). Within a
//! segment the mapping keeps S3's key order, so a sorted source listing and a sorted
//! destination listing can be merged in one pass without holding either in memory.
//! A segment nested in another (`a/b/` inside `a/`) is skipped by the outer one.
//!
//! A spec's segments are the replication rules' prefixes and the `copy.prefix_map`
//! source prefixes; an ad hoc copy (`s3://a/x/ s3://b/y/`) is one segment. Include and
//! exclude globs then filter source keys (and destination keys by the source key they
//! stand for, so an excluded object's copy is never reported as extra or deleted).

use std::collections::BTreeMap;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::spec::Spec;

/// One prefix-to-prefix mapping and the nested prefixes other segments own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub source_prefix: String,
    pub destination_prefix: String,
    /// Source sub-prefixes that belong to nested segments.
    pub source_skip: Vec<String>,
    /// Destination sub-prefixes that belong to nested segments.
    pub destination_skip: Vec<String>,
}

impl Segment {
    /// The destination key of a source key inside this segment.
    pub fn to_destination(&self, source_key: &str) -> String {
        debug_assert!(source_key.starts_with(&self.source_prefix));
        format!(
            "{}{}",
            self.destination_prefix,
            &source_key[self.source_prefix.len()..]
        )
    }

    /// The source key a destination key of this segment stands for.
    pub fn to_source(&self, destination_key: &str) -> String {
        debug_assert!(destination_key.starts_with(&self.destination_prefix));
        format!(
            "{}{}",
            self.source_prefix,
            &destination_key[self.destination_prefix.len()..]
        )
    }

    /// A source key of this segment without the segment's prefix: what it shares with its
    /// destination key. Listings of a segment are in the order of these suffixes, so two
    /// sides compare without building a mapped key.
    pub fn source_suffix<'k>(&self, source_key: &'k str) -> &'k str {
        source_key
            .strip_prefix(self.source_prefix.as_str())
            .unwrap_or(source_key)
    }

    /// A destination key of this segment without the segment's prefix.
    pub fn destination_suffix<'k>(&self, destination_key: &'k str) -> &'k str {
        destination_key
            .strip_prefix(self.destination_prefix.as_str())
            .unwrap_or(destination_key)
    }

    pub fn owns_source(&self, key: &str) -> bool {
        key.starts_with(&self.source_prefix)
            && !self.source_skip.iter().any(|p| key.starts_with(p.as_str()))
    }

    pub fn owns_destination(&self, key: &str) -> bool {
        key.starts_with(&self.destination_prefix)
            && !self
                .destination_skip
                .iter()
                .any(|p| key.starts_with(p.as_str()))
    }
}

/// Include/exclude globs on source keys. `*` does not cross `/`; `**` does.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyPlanError {
    #[error("`{glob}` is not a valid glob: {reason}")]
    Glob { glob: String, reason: String },
    #[error(
        "source prefixes `{first}` and `{second}` map into overlapping destinations `{first_destination}` and `{second_destination}`: two source keys could land on the same destination key"
    )]
    Overlap {
        first: String,
        second: String,
        first_destination: String,
        second_destination: String,
    },
}

/// Compiles one include/exclude glob the way filters use it.
pub fn compile_glob(glob: &str) -> Result<Glob, KeyPlanError> {
    globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map_err(|e| KeyPlanError::Glob {
            glob: glob.to_string(),
            reason: e.kind().to_string(),
        })
}

fn glob_set(globs: &[String]) -> Result<Option<GlobSet>, KeyPlanError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(compile_glob(glob)?);
    }
    builder.build().map(Some).map_err(|e| KeyPlanError::Glob {
        glob: globs.join(", "),
        reason: e.to_string(),
    })
}

impl KeyFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<KeyFilter, KeyPlanError> {
        Ok(KeyFilter {
            include: glob_set(include)?,
            exclude: glob_set(exclude)?,
        })
    }

    /// Whether a source key takes part. A glob without `/` (`*.tmp`) is matched against
    /// the key's last path element too, as `aws s3 sync --exclude` users expect.
    /// No --include or --exclude: every key is accepted.
    pub fn accepts_all(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    pub fn accepts(&self, source_key: &str) -> bool {
        if self.accepts_all() {
            return true;
        }
        let name = source_key.rsplit('/').next().unwrap_or(source_key);
        let matches = |set: &GlobSet| set.is_match(source_key) || set.is_match(name);
        self.include.as_ref().is_none_or(matches) && !self.exclude.as_ref().is_some_and(matches)
    }
}

/// Everything a copy or verify needs to know about keys.
#[derive(Debug, Clone)]
pub struct KeyPlan {
    pub segments: Vec<Segment>,
    pub filter: KeyFilter,
}

/// `prefix_map` applied to one key or prefix: the longest matching source prefix wins.
fn map_prefix(map: &BTreeMap<String, String>, key: &str) -> String {
    match map
        .iter()
        .filter(|(from, _)| key.starts_with(from.as_str()))
        .max_by_key(|(from, _)| from.len())
    {
        Some((from, to)) => format!("{to}{}", &key[from.len()..]),
        None => key.to_string(),
    }
}

impl KeyPlan {
    /// The keys a spec's copy covers: under the replication rules' prefixes and under
    /// the prefix_map's source prefixes, mapped by prefix_map, filtered by the globs.
    pub fn from_spec(spec: &Spec) -> Result<KeyPlan, KeyPlanError> {
        let map = &spec.copy.prefix_map;
        let mut candidates: Vec<String> = spec
            .replication
            .rules
            .iter()
            .map(|r| r.prefix.clone())
            .collect();
        candidates.extend(map.keys().cloned());
        candidates.sort();
        candidates.dedup();
        // A candidate inside another adds nothing when the outer one maps it the same way.
        let kept: Vec<String> = candidates
            .iter()
            .filter(|x| {
                !candidates.iter().any(|y| {
                    y.len() < x.len()
                        && x.starts_with(y.as_str())
                        && map_prefix(map, x) == format!("{}{}", map_prefix(map, y), &x[y.len()..])
                })
            })
            .cloned()
            .collect();
        let pairs = kept
            .iter()
            .map(|x| (x.clone(), map_prefix(map, x)))
            .collect();
        Ok(KeyPlan {
            segments: segments(pairs)?,
            filter: KeyFilter::new(&spec.copy.include, &spec.copy.exclude)?,
        })
    }

    /// One segment: everything under `source_prefix` goes under `destination_prefix`.
    pub fn ad_hoc(source_prefix: &str, destination_prefix: &str, filter: KeyFilter) -> KeyPlan {
        KeyPlan {
            segments: vec![Segment {
                source_prefix: source_prefix.into(),
                destination_prefix: destination_prefix.into(),
                source_skip: Vec::new(),
                destination_skip: Vec::new(),
            }],
            filter,
        }
    }

    /// What is copied where, for headers: `s3://a/images/ → s3://b/avatar/`, or with
    /// several segments `s3://a → s3://b: images/ → avatar/, scans/`.
    pub fn describe(&self, source_bucket: &str, destination_bucket: &str) -> String {
        match self.segments.as_slice() {
            [one] => format!(
                "s3://{source_bucket}/{} → s3://{destination_bucket}/{}",
                one.source_prefix, one.destination_prefix
            ),
            segments => {
                let mapped: Vec<String> = segments
                    .iter()
                    .map(
                        |s| match (s.source_prefix.as_str(), s.destination_prefix.as_str()) {
                            (from, to) if from == to => from.to_string(),
                            (from, to) => format!("{from} → {to}"),
                        },
                    )
                    .map(|s| {
                        if s.is_empty() {
                            "(everything)".to_string()
                        } else {
                            s
                        }
                    })
                    .collect();
                format!(
                    "s3://{source_bucket} → s3://{destination_bucket}: {}",
                    mapped.join(", ")
                )
            }
        }
    }

    /// The segment a source key belongs to, if any.
    pub fn segment_of_source(&self, key: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.owns_source(key))
    }
}

/// Builds segments from (source prefix, destination prefix) pairs, refusing mappings
/// that could send two source keys to one destination key.
fn segments(pairs: Vec<(String, String)>) -> Result<Vec<Segment>, KeyPlanError> {
    for (i, outer) in pairs.iter().enumerate() {
        for (j, inner) in pairs.iter().enumerate() {
            if i == j || !inner.1.starts_with(outer.1.as_str()) {
                continue;
            }
            // The outer segment sends source key `outer + extra + v` to `inner`'s
            // destination prefix + v: a collision unless a nested segment owns (and so
            // the outer one skips) every such source key.
            let extra = &inner.1[outer.1.len()..];
            let colliding_source = format!("{}{extra}", outer.0);
            let skipped = pairs
                .iter()
                .any(|(p, _)| p.len() > outer.0.len() && colliding_source.starts_with(p.as_str()));
            if !skipped {
                return Err(KeyPlanError::Overlap {
                    first: outer.0.clone(),
                    second: inner.0.clone(),
                    first_destination: outer.1.clone(),
                    second_destination: inner.1.clone(),
                });
            }
        }
    }
    let nested = |prefix: &str, all: &mut dyn Iterator<Item = &String>| -> Vec<String> {
        let mut inside: Vec<String> = all
            .filter(|p| p.len() > prefix.len() && p.starts_with(prefix))
            .cloned()
            .collect();
        inside.sort();
        inside
    };
    Ok(pairs
        .iter()
        .map(|(source, destination)| Segment {
            source_prefix: source.clone(),
            destination_prefix: destination.clone(),
            source_skip: nested(source, &mut pairs.iter().map(|(s, _)| s)),
            destination_skip: nested(destination, &mut pairs.iter().map(|(_, d)| d)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(rules: &[&str], map: &[(&str, &str)]) -> Spec {
        let mut yaml = String::from(
            "version: 1\nname: t\nsource: {bucket: src-bucket, account_id: \"111111111111\", region: us-east-1, kms_admins: [arn:aws:iam::111111111111:role/a]}\ndestination: {bucket: dst-bucket, account_id: \"222222222222\", region: us-east-1, kms_admins: [arn:aws:iam::222222222222:role/a]}\ncopy_role: {name: c, account: source, trusted_principals: [arn:aws:iam::111111111111:role/p]}\nreplication:\n  rules:\n",
        );
        for (i, r) in rules.iter().enumerate() {
            yaml.push_str(&format!("    - {{id: r{i}, prefix: \"{r}\"}}\n"));
        }
        yaml.push_str("copy:\n  prefix_map:\n");
        for (from, to) in map {
            yaml.push_str(&format!("    \"{from}\": \"{to}\"\n"));
        }
        if map.is_empty() {
            yaml = yaml.replace("copy:\n  prefix_map:\n", "");
        }
        // Typed but not validated: validation itself refuses the overlapping maps.
        let root = crate::spec::yaml::parse(&yaml).unwrap().unwrap();
        crate::spec::de::from_node(&root).unwrap()
    }

    #[test]
    fn example_covers_rule_prefixes_and_mapped_prefixes() {
        let plan = KeyPlan::from_spec(&spec_with(&["scans/"], &[("images/", "avatar/")])).unwrap();
        let pairs: Vec<(&str, &str)> = plan
            .segments
            .iter()
            .map(|s| (s.source_prefix.as_str(), s.destination_prefix.as_str()))
            .collect();
        assert_eq!(pairs, vec![("images/", "avatar/"), ("scans/", "scans/")]);
        assert_eq!(
            plan.segments[0].to_destination("images/a/b.png"),
            "avatar/a/b.png"
        );
        assert_eq!(
            plan.segments[0].to_source("avatar/a/b.png"),
            "images/a/b.png"
        );
    }

    #[test]
    fn descriptions_name_the_prefixes() {
        let plan = KeyPlan::from_spec(&spec_with(&["scans/"], &[("images/", "avatar/")])).unwrap();
        assert_eq!(
            plan.describe("a", "b"),
            "s3://a → s3://b: images/ → avatar/, scans/"
        );
        let plan = KeyPlan::ad_hoc("x/", "y/", KeyFilter::default());
        assert_eq!(plan.describe("a", "b"), "s3://a/x/ → s3://b/y/");
    }

    #[test]
    fn nested_mapping_is_its_own_segment_and_skipped_by_the_outer() {
        let plan = KeyPlan::from_spec(&spec_with(&[""], &[("images/", "images/v2/")])).unwrap();
        let outer = plan
            .segments
            .iter()
            .find(|s| s.source_prefix.is_empty())
            .unwrap();
        assert_eq!(outer.source_skip, vec!["images/".to_string()]);
        assert_eq!(outer.destination_skip, vec!["images/v2/".to_string()]);
        assert!(!outer.owns_source("images/x"));
        assert!(outer.owns_source("docs/x"));
        assert_eq!(
            plan.segment_of_source("images/x")
                .unwrap()
                .to_destination("images/x"),
            "images/v2/x"
        );
    }

    #[test]
    fn overlapping_destinations_are_refused() {
        // "avatar/x" (copied as is) and "images/x" (mapped) would both land on "avatar/x".
        let spec = spec_with(&[""], &[("images/", "avatar/")]);
        assert!(matches!(
            KeyPlan::from_spec(&spec),
            Err(KeyPlanError::Overlap { .. })
        ));
        // "a/b/k" and "b/k" would both land on "a/b/k".
        let spec = spec_with(&["a/"], &[("b/", "a/b/")]);
        assert!(matches!(
            KeyPlan::from_spec(&spec),
            Err(KeyPlanError::Overlap { .. })
        ));
        // Two prefixes into one destination.
        let spec = spec_with(&["scans/"], &[("a/", "x/"), ("b/", "x/")]);
        assert!(matches!(
            KeyPlan::from_spec(&spec),
            Err(KeyPlanError::Overlap { .. })
        ));
        let consistent = spec_with(&["a/"], &[("a/b/", "a/b/")]);
        assert!(KeyPlan::from_spec(&consistent).is_ok());
    }

    /// For every spec `validate` accepts (rules and prefix maps drawn from a small set),
    /// every destination object whose source exists — put there by replication (same key)
    /// or by copy (the mapped key) — is paired with that source by the plan, so the diff
    /// never calls it extra and `copy --delete` never deletes it.
    #[test]
    fn accepted_specs_never_make_a_replica_or_a_copy_look_extra() {
        let rules = ["", "files/", "files/old reports/", "logs/"];
        let maps = [
            ("files/old reports/", "archive/reports/"),
            ("files/", "archive/"),
            ("images/", "avatar/"),
            ("images/", "images/v2/"),
            ("logs/", "logs/"),
        ];
        let source_keys = [
            "files/a",
            "files/old reports/x",
            "images/p.png",
            "logs/l",
            "other/o",
        ];
        let mut accepted = 0;
        let mut refused_the_trap = false;
        for rule_set in 1..(1u32 << rules.len()) {
            for map_set in 0..(1u32 << maps.len()) {
                let chosen_rules: Vec<&str> = (0..rules.len())
                    .filter(|i| rule_set & (1 << i) != 0)
                    .map(|i| rules[i])
                    .collect();
                let chosen_maps: Vec<(&str, &str)> = (0..maps.len())
                    .filter(|i| map_set & (1 << i) != 0)
                    .map(|i| maps[i])
                    .collect();
                let mut sources: Vec<&str> = chosen_maps.iter().map(|m| m.0).collect();
                sources.sort();
                if sources.windows(2).any(|w| w[0] == w[1]) {
                    continue; // a YAML mapping cannot hold one key twice
                }
                let yaml = spec_yaml(&chosen_rules, &chosen_maps);
                let Ok((spec, _)) = crate::spec::parse_str("spec.yaml", &yaml) else {
                    if chosen_rules == ["files/"]
                        && chosen_maps == [("files/old reports/", "archive/reports/")]
                    {
                        refused_the_trap = true;
                    }
                    continue;
                };
                accepted += 1;
                let plan = KeyPlan::from_spec(&spec).unwrap();
                // Where each source object is in the destination: its replica (same key,
                // under a rule) and its copy (the key plan's mapping).
                let mut destination: Vec<(String, &str)> = Vec::new();
                for key in source_keys {
                    if spec
                        .replication
                        .rules
                        .iter()
                        .any(|r| key.starts_with(&r.prefix))
                    {
                        destination.push((key.to_string(), key));
                    }
                    if let Some(segment) = plan.segment_of_source(key) {
                        destination.push((segment.to_destination(key), key));
                    }
                }
                for (key, from) in &destination {
                    let owner = plan.segments.iter().find(|s| s.owns_destination(key));
                    if let Some(owner) = owner {
                        // The diff lists the owner's source side without its nested
                        // prefixes: the partner must be there.
                        let paired = owner.to_source(key);
                        assert!(
                            owner.owns_source(&paired) && source_keys.contains(&paired.as_str()),
                            "{yaml}\n`{key}` (from source `{from}`) would be paired with \
                             `{paired}`, which that segment does not list: the diff calls it extra and \
                             --delete would delete it"
                        );
                    }
                }
            }
        }
        assert!(accepted > 20, "only {accepted} specs accepted");
        assert!(
            refused_the_trap,
            "the files/ → archive/reports/ trap was accepted"
        );
    }

    fn spec_yaml(rules: &[&str], maps: &[(&str, &str)]) -> String {
        let mut yaml = String::from(
            "version: 1\nname: t\nsource: {bucket: src-bucket, account_id: \"111111111111\", region: us-east-1, kms_admins: [arn:aws:iam::111111111111:role/a]}\ndestination: {bucket: dst-bucket, account_id: \"111111111111\", region: us-east-1, kms_admins: [arn:aws:iam::111111111111:role/a]}\ncopy_role: {name: c, account: source, trusted_principals: [arn:aws:iam::111111111111:role/p]}\nreplication:\n  rules:\n",
        );
        for (i, r) in rules.iter().enumerate() {
            yaml.push_str(&format!("    - {{id: r{i}, prefix: \"{r}\"}}\n"));
        }
        if !maps.is_empty() {
            yaml.push_str("copy:\n  prefix_map:\n");
            for (from, to) in maps {
                yaml.push_str(&format!("    \"{from}\": \"{to}\"\n"));
            }
        }
        yaml
    }

    #[test]
    fn redundant_nested_rules_collapse() {
        let plan = KeyPlan::from_spec(&spec_with(&["", "scans/"], &[])).unwrap();
        assert_eq!(plan.segments.len(), 1);
        assert_eq!(plan.segments[0].source_prefix, "");
    }

    #[test]
    fn filters_match_names_and_paths() {
        let filter = KeyFilter::new(&[], &["*.tmp".into(), "logs/**".into()]).unwrap();
        assert!(!filter.accepts("scans/a.tmp"));
        assert!(!filter.accepts("logs/2024/x.log"));
        assert!(filter.accepts("scans/a.dcm"));
        let only = KeyFilter::new(&["scans/*.dcm".into()], &[]).unwrap();
        assert!(only.accepts("scans/a.dcm"));
        assert!(!only.accepts("scans/deep/a.dcm"));
        assert!(!only.accepts("other/a.txt"));
    }
}
