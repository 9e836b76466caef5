//! The IAM action catalog: every action of the services s3bridge's policies use (s3,
//! kms, iam, sts; sns and cloudwatch for monitoring), with its access level, so that a policy can be read by meaning:
//! `s3:*`, `s3:Get*` and `NotAction` are expanded to the actions they grant, and
//! `S3:getobject` is spelt `s3:GetObject`.
//!
//! The list is data, not knowledge typed by hand: `src/policy/iam-actions.tsv` is written
//! by `scripts/iam-catalog` from parliament's copy of AWS's Service Authorization
//! Reference, and compiled in here.

use std::collections::BTreeMap;
use std::sync::LazyLock;

const DATA: &str = include_str!("iam-actions.tsv");

/// One IAM action, e.g. `s3:GetObject` (Read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub name: &'static str,
    /// AWS's access level: List, Read, Write, Permissions management or Tagging.
    pub access_level: &'static str,
}

impl Action {
    pub fn service(&self) -> &'static str {
        self.name
            .split_once(':')
            .map(|(s, _)| s)
            .unwrap_or(self.name)
    }
}

/// What an action pattern (`s3:Get*`, `*`, `ec2:RunInstances`) grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// Catalog actions the pattern matches.
    pub actions: Vec<&'static str>,
    /// The pattern itself when it also reaches beyond the catalog (another service, an
    /// action the catalog does not know, or `*`); kept verbatim, lower-cased service.
    pub beyond: Option<String>,
}

pub struct Catalog {
    actions: Vec<Action>,
    /// Lower-cased name → index in `actions`.
    by_lower: BTreeMap<String, usize>,
    services: Vec<&'static str>,
}

impl Catalog {
    fn parse(data: &'static str) -> Catalog {
        let actions: Vec<Action> = data
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| {
                let (name, access_level) = line.split_once('\t')?;
                Some(Action { name, access_level })
            })
            .collect();
        let by_lower = actions
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.to_ascii_lowercase(), i))
            .collect();
        let mut services: Vec<&'static str> = actions.iter().map(Action::service).collect();
        services.dedup();
        Catalog {
            actions,
            by_lower,
            services,
        }
    }

    /// Services whose actions the catalog lists.
    pub fn services(&self) -> &[&'static str] {
        &self.services
    }

    pub fn knows_service(&self, service: &str) -> bool {
        self.services
            .iter()
            .any(|s| s.eq_ignore_ascii_case(service))
    }

    /// The catalog entry for an exact action name, in any case.
    pub fn get(&self, name: &str) -> Option<Action> {
        self.by_lower
            .get(&name.to_ascii_lowercase())
            .map(|&i| self.actions[i])
    }

    /// All actions of one service.
    pub fn of_service<'a>(&'a self, service: &'a str) -> impl Iterator<Item = Action> + 'a {
        self.actions
            .iter()
            .copied()
            .filter(move |a| a.service().eq_ignore_ascii_case(service))
    }

    /// The canonical spelling of an action or pattern: catalog case for known actions,
    /// lower-case service otherwise (`S3:get*` → `s3:get*`). IAM action names are
    /// case-insensitive, so this changes nothing a policy grants.
    pub fn spell(&self, pattern: &str) -> String {
        if let Some(action) = self.get(pattern) {
            return action.name.to_string();
        }
        match pattern.split_once(':') {
            Some((service, rest)) => format!("{}:{rest}", service.to_ascii_lowercase()),
            None => pattern.to_string(),
        }
    }

    /// The actions `pattern` grants (IAM wildcards `*` and `?`, case-insensitive).
    pub fn expand(&self, pattern: &str) -> Expansion {
        let spelt = self.spell(pattern);
        if pattern == "*" {
            return Expansion {
                actions: self.actions.iter().map(|a| a.name).collect(),
                beyond: Some("*".into()),
            };
        }
        let Some((service, _)) = spelt.split_once(':') else {
            // Not `service:action`: nothing AWS would grant, keep it visible.
            return Expansion {
                actions: Vec::new(),
                beyond: Some(spelt),
            };
        };
        let service_is_pattern = service.contains(['*', '?']);
        let actions: Vec<&'static str> = self
            .actions
            .iter()
            .filter(|a| wildcard_match(&spelt, a.name, true))
            .map(|a| a.name)
            .collect();
        let beyond = if service_is_pattern || !self.knows_service(service) || actions.is_empty() {
            Some(spelt)
        } else {
            None
        };
        Expansion { actions, beyond }
    }
}

/// The catalog compiled into the binary.
pub fn catalog() -> &'static Catalog {
    static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::parse(DATA));
    &CATALOG
}

/// IAM wildcard matching: `*` any run of characters, `?` exactly one, everything else
/// literal. `text` is taken literally, so a pattern covers a narrower pattern
/// (`arn:aws:s3:::b/*` covers `arn:aws:s3:::b/logs/*`) and `*` covers everything.
pub fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Iterative matcher with one backtrack point per star (linear in practice).
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || same(p[pi], t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some((star_p, star_t)) = star {
            pi = star_p + 1;
            ti = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::actions::*;

    /// Every `"service:Action"` string literal of a source file (comments skipped).
    fn quoted_actions(source: &str) -> Vec<&str> {
        source
            .lines()
            .flat_map(|line| {
                line.split("//")
                    .next()
                    .unwrap_or("")
                    .split('"')
                    .skip(1)
                    .step_by(2)
            })
            .filter(|s| {
                s.split_once(':').is_some_and(|(service, action)| {
                    !service.is_empty()
                        && service
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                        && !action.is_empty()
                        && !action.contains([' ', '/', ':'])
                })
            })
            .collect()
    }

    fn assert_known(action: &str, whence: &str) {
        if action.contains(['*', '?']) {
            let expanded = catalog().expand(action);
            assert!(
                !expanded.actions.is_empty() && expanded.beyond.is_none(),
                "{action} ({whence}) matches no catalog action"
            );
        } else {
            let found = catalog().get(action).map(|a| a.name);
            assert_eq!(
                found,
                Some(action),
                "{action} ({whence}) is not in the catalog"
            );
        }
    }

    /// Derived from the sources of truth, not from a list kept here: every action string
    /// written in actions.rs (so a new list cannot be forgotten), and every action of every
    /// document the model builds for the fixture specs, and of the auditor's policy.
    #[test]
    fn every_action_s3bridge_grants_is_a_real_action() {
        let written = quoted_actions(include_str!("actions.rs"));
        assert!(written.len() > 50, "{written:?}");
        for action in &written {
            assert_known(action, "src/policy/actions.rs");
        }
        let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs");
        let mut checked = 0;
        for entry in std::fs::read_dir(specs).unwrap() {
            let path = entry.unwrap().path();
            let spec = crate::spec::load(&path).expect("fixture spec").spec;
            let desired = crate::model::build(&spec);
            let mut documents: Vec<(String, crate::policy::Document)> = desired
                .documents()
                .into_iter()
                .map(|d| (d.name, d.document))
                .collect();
            for side in [crate::spec::Side::Source, crate::spec::Side::Destination] {
                // The widest auditor policy: with the object reads of --object-status.
                let scope = crate::audit::reads::Scope {
                    object_status: true,
                };
                let targets = crate::audit::reads::targets(&desired, side, scope);
                documents.push((
                    format!("auditor {side}"),
                    crate::audit::reads::auditor_policy(&[&targets]),
                ));
            }
            for (name, document) in documents {
                for statement in &document.statements {
                    for action in &statement.actions {
                        assert_known(action, &format!("{}: {name}", path.display()));
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 100, "only {checked} actions checked");
    }

    #[test]
    fn the_derivation_sees_every_list() {
        // The batch-copy lists were once missing from a hand-kept list of lists here.
        let written = quoted_actions(include_str!("actions.rs"));
        for action in BATCH_COPY_SOURCE_OBJECTS
            .iter()
            .chain(BATCH_COPY_DESTINATION_OBJECTS)
            .chain(BATCH_COPY_DESTINATION_KEY)
            .chain([&REPLICATION_OWNER_OVERRIDE, &ASSUME_ROLE, &ALL_S3])
        {
            assert!(written.contains(action), "{action}");
        }
        assert_eq!(
            quoted_actions("let x = \"s3:GetObject\"; // \"kms:Decrypt\"\n//! \"a\" \"s3:X\""),
            ["s3:GetObject"]
        );
    }

    #[test]
    fn expands_wildcards_by_meaning() {
        let c = catalog();
        let get = c.expand("S3:Get*");
        assert!(get.actions.contains(&"s3:GetObject"));
        assert!(get.actions.iter().all(|a| a.starts_with("s3:Get")));
        assert_eq!(get.beyond, None);
        let all_s3 = c.expand("s3:*");
        assert_eq!(all_s3.actions.len(), c.of_service("s3").count());
        assert!(all_s3.actions.len() > 100);
        let everything = c.expand("*");
        assert_eq!(everything.beyond.as_deref(), Some("*"));
        let other = c.expand("ec2:RunInstances");
        assert!(other.actions.is_empty());
        assert_eq!(other.beyond.as_deref(), Some("ec2:RunInstances"));
        assert_eq!(c.spell("kms:decrypt"), "kms:Decrypt");
        assert_eq!(c.spell("KMS:Re*"), "kms:Re*");
        assert_eq!(c.get("sts:assumerole").unwrap().access_level, "Write");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/x/y",
            false
        ));
        assert!(wildcard_match(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/*",
            false
        ));
        assert!(!wildcard_match("arn:aws:s3:::b/*", "*", false));
        assert!(wildcard_match("*", "anything", false));
        assert!(wildcard_match("a?c", "abc", false));
        assert!(!wildcard_match("a?c", "ac", false));
        assert!(wildcard_match("*a*b", "xxaxxb", false));
        assert!(!wildcard_match("ABC", "abc", false));
        assert!(wildcard_match("ABC", "abc", true));
    }
}
