//! What a policy grants, by meaning, and how two policies differ in what they grant.
//!
//! A canonical document is flattened into grants: one (principal, action, resource,
//! conditions) per combination, with action wildcards and `NotAction` expanded against
//! the IAM action catalog. Comparing the spec's document with the live one then gives:
//! - `excess`: allowed live but not by the spec (privilege creep: `s3:*`, a new
//!   principal, a dropped condition, a wider resource);
//! - `lost`: allowed by the spec but not live (missing, narrowed, or blocked by a Deny
//!   the spec does not have) — replication or copy will break;
//! - `missing_denies`: a Deny of the spec that the live document no longer enforces.
//!
//! Text differences that change nothing (order, case of actions, a string for a list,
//! `s3:Get*` for the Get actions it covers, Sids) are not differences here.

use std::collections::{BTreeMap, BTreeSet};

use super::canonical::{Canonical, Cond, PrincipalId};
use super::catalog::{catalog, wildcard_match};
use super::Effect;

/// One thing a policy allows or denies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub effect: Effect,
    /// None: the identity the policy is attached to.
    pub principal: Option<PrincipalId>,
    /// A catalog action, or a pattern reaching beyond the catalog (`ec2:*`, `*`).
    pub action: String,
    /// A resource pattern; `*` when the statement names none (trust and key policies
    /// apply to their own resource) or excludes some with NotResource.
    pub resource: String,
    /// Resources a NotResource statement leaves out.
    pub except: Vec<String>,
    pub conditions: BTreeSet<Cond>,
}

/// Flattens a document into its grants.
pub fn grants(document: &Canonical) -> Vec<Grant> {
    let mut out = Vec::new();
    for s in &document.statements {
        let mut actions: BTreeSet<String> = BTreeSet::new();
        if s.actions.negated {
            for action in catalog()
                .services()
                .iter()
                .flat_map(|svc| catalog().of_service(svc))
            {
                let excluded = s
                    .actions
                    .values
                    .iter()
                    .any(|p| wildcard_match(p, action.name, true));
                if !excluded {
                    actions.insert(action.name.to_string());
                }
            }
            // Every action of every other service, too.
            actions.insert("*".into());
        } else {
            for pattern in &s.actions.values {
                let expansion = catalog().expand(pattern);
                actions.extend(expansion.actions.iter().map(|a| a.to_string()));
                actions.extend(expansion.beyond);
            }
        }
        let principals: Vec<Option<PrincipalId>> = match &s.principals {
            None => vec![None],
            // NotPrincipal: everyone but a few; read as everyone (the safe side).
            Some(p) if p.negated => vec![Some(PrincipalId::Everyone)],
            Some(p) => p.ids.iter().cloned().map(Some).collect(),
        };
        let (resources, except): (Vec<String>, Vec<String>) = match &s.resources {
            None => (vec!["*".into()], Vec::new()),
            Some(r) if r.negated => (vec!["*".into()], r.values.iter().cloned().collect()),
            Some(r) => (r.values.iter().cloned().collect(), Vec::new()),
        };
        for principal in &principals {
            for action in &actions {
                for resource in &resources {
                    out.push(Grant {
                        effect: s.effect,
                        principal: principal.clone(),
                        action: action.clone(),
                        resource: resource.clone(),
                        except: except.clone(),
                        conditions: s.conditions.clone(),
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Operators under which more values means *fewer* requests match.
fn negated_operator(operator: &str) -> bool {
    let bare = operator
        .trim_end_matches("IfExists")
        .rsplit(':')
        .next()
        .unwrap_or(operator);
    bare.contains("Not")
}

/// Whether condition `a` matches no more requests than `b` (same operator and key; the
/// value set no wider).
fn narrower_or_equal(a: &Cond, b: &Cond) -> bool {
    if !a.operator.eq_ignore_ascii_case(&b.operator) || !a.key.eq_ignore_ascii_case(&b.key) {
        return false;
    }
    if negated_operator(&a.operator) {
        a.values.is_superset(&b.values)
    } else {
        a.values.is_subset(&b.values)
    }
}

/// Whether conditions `a` restrict at least as much as `b`: each condition of `b` is
/// matched by one of `a` that is no wider.
fn at_least_as_restrictive(a: &BTreeSet<Cond>, b: &BTreeSet<Cond>) -> bool {
    b.iter()
        .all(|wanted| a.iter().any(|have| narrower_or_equal(have, wanted)))
}

fn principal_reaches(granted: &Option<PrincipalId>, wanted: &Option<PrincipalId>) -> bool {
    granted == wanted || *granted == Some(PrincipalId::Everyone)
}

/// Whether resource pattern `outer` includes everything `inner` names.
fn covers(outer: &Grant, inner: &str) -> bool {
    wildcard_match(&outer.resource, inner, false)
        && !outer.except.iter().any(|x| wildcard_match(x, inner, false))
}

fn overlaps(a: &str, b: &str) -> bool {
    wildcard_match(a, b, false) || wildcard_match(b, a, false)
}

/// How a live document differs in meaning from the spec's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub excess: Vec<Grant>,
    pub lost: Vec<Grant>,
    pub missing_denies: Vec<Grant>,
}

impl Comparison {
    pub fn is_empty(&self) -> bool {
        self.excess.is_empty() && self.lost.is_empty() && self.missing_denies.is_empty()
    }
}

pub fn compare(expected: &Canonical, actual: &Canonical) -> Comparison {
    let split = |doc: &Canonical| -> (Vec<Grant>, Vec<Grant>) {
        grants(doc)
            .into_iter()
            .partition(|g| g.effect == Effect::Allow)
    };
    let (want_allow, want_deny) = split(expected);
    let (have_allow, have_deny) = split(actual);

    let excess = have_allow
        .iter()
        .filter(|have| {
            !want_allow.iter().any(|want| {
                want.principal == have.principal
                    && want.action == have.action
                    && have.except.is_empty()
                    && covers(want, &have.resource)
                    && at_least_as_restrictive(&have.conditions, &want.conditions)
            })
        })
        .cloned()
        .collect();

    // A live Deny blocks only if it denies more than one the spec has.
    let foreign_denies: Vec<&Grant> = have_deny
        .iter()
        .filter(|have| {
            !want_deny.iter().any(|want| {
                want.principal == have.principal
                    && want.action == have.action
                    && covers(want, &have.resource)
                    && at_least_as_restrictive(&have.conditions, &want.conditions)
            })
        })
        .collect();
    let lost = want_allow
        .iter()
        .filter(|want| {
            let allowed = have_allow.iter().any(|have| {
                principal_reaches(&have.principal, &want.principal)
                    && have.action == want.action
                    && covers(have, &want.resource)
                    && at_least_as_restrictive(&want.conditions, &have.conditions)
            });
            let denied = foreign_denies.iter().any(|deny| {
                (principal_reaches(&deny.principal, &want.principal) || deny.principal.is_none())
                    && deny.action == want.action
                    && overlaps(&deny.resource, &want.resource)
            });
            !allowed || denied
        })
        .cloned()
        .collect();

    let missing_denies = want_deny
        .iter()
        .filter(|want| {
            !have_deny.iter().any(|have| {
                principal_reaches(&have.principal, &want.principal)
                    && have.action == want.action
                    && covers(have, &want.resource)
                    && at_least_as_restrictive(&want.conditions, &have.conditions)
            })
        })
        .cloned()
        .collect();

    Comparison {
        excess,
        lost,
        missing_denies,
    }
}

/// Actions written compactly: a whole catalog service as `svc:*`, long lists cut.
pub fn describe_actions(actions: &BTreeSet<String>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest: BTreeSet<&str> = actions.iter().map(String::as_str).collect();
    for service in catalog().services() {
        let all: BTreeSet<&str> = catalog().of_service(service).map(|a| a.name).collect();
        if all.is_subset(&rest) {
            parts.push(format!("{service}:* (all {} actions)", all.len()));
            rest.retain(|a| !all.contains(a));
        }
    }
    const SHOWN: usize = 8;
    let listed: Vec<&str> = rest.iter().copied().collect();
    if listed.len() > SHOWN {
        parts.extend(listed[..SHOWN - 2].iter().map(|a| a.to_string()));
        parts.push(format!("and {} more", listed.len() - (SHOWN - 2)));
    } else {
        parts.extend(listed.iter().map(|a| a.to_string()));
    }
    parts.join(", ")
}

fn describe_conditions(conditions: &BTreeSet<Cond>) -> String {
    conditions
        .iter()
        .map(|c| {
            let values: Vec<&str> = c.values.iter().map(String::as_str).collect();
            format!("{} {} {}", c.operator, c.key, values.join("|"))
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Grants grouped for a reader, one line per principal, resource and conditions:
/// `s3:* (all 163 actions) on * for arn:aws:iam::1:role/x`.
pub fn describe(grants: &[Grant]) -> Vec<String> {
    type Key<'a> = (
        Option<&'a PrincipalId>,
        &'a str,
        &'a BTreeSet<Cond>,
        &'a [String],
    );
    let mut groups: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    for g in grants {
        groups
            .entry((
                g.principal.as_ref(),
                g.resource.as_str(),
                &g.conditions,
                g.except.as_slice(),
            ))
            .or_default()
            .insert(g.action.clone());
    }
    groups
        .into_iter()
        .map(|((principal, resource, conditions, except), actions)| {
            let mut line = format!("{} on {resource}", describe_actions(&actions));
            if !except.is_empty() {
                line.push_str(&format!(" except {}", except.join(", ")));
            }
            if let Some(p) = principal {
                line.push_str(&format!(" for {}", p.describe()));
            }
            if conditions.is_empty() {
                line.push_str(" (no condition)");
            } else {
                line.push_str(&format!(" when {}", describe_conditions(conditions)));
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(statements: serde_json::Value) -> Canonical {
        Canonical::from_json(&json!({"Version": "2012-10-17", "Statement": statements})).unwrap()
    }

    fn spec_doc() -> Canonical {
        doc(json!([
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
             "Resource": ["arn:aws:s3:::b/*"]},
            {"Sid": "Key", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["arn:aws:kms:r:1:key/k"],
             "Condition": {"StringEquals": {"kms:ViaService": ["s3.r.amazonaws.com"]}}}
        ]))
    }

    #[test]
    fn same_meaning_other_text_is_no_difference() {
        let rewritten = doc(json!([
            {"Effect": "Allow", "Action": "S3:GETOBJECT*", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": "kms:decrypt", "Resource": "arn:aws:kms:r:1:key/k",
             "Condition": {"StringEquals": {"kms:viaservice": "s3.r.amazonaws.com"}}}
        ]));
        let c = compare(&spec_doc(), &rewritten);
        // s3:GetObject* also covers GetObjectAcl, GetObjectTagging, ...: that is excess.
        assert!(c.lost.is_empty(), "{:?}", c.lost);
        assert!(c
            .excess
            .iter()
            .all(|g| g.action.starts_with("s3:GetObject")));
        assert!(c.excess.iter().any(|g| g.action == "s3:GetObjectAcl"));
        let exact = doc(json!([
            {"Effect": "Allow", "Action": ["s3:getobjectversion", "s3:GetObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:r:1:key/k",
             "Condition": {"StringEquals": {"kms:ViaService": "s3.r.amazonaws.com"}}}
        ]));
        assert!(compare(&spec_doc(), &exact).is_empty());
    }

    #[test]
    fn creep_is_excess_and_narrowing_is_loss() {
        let widened = Canonical::merged([
            spec_doc(),
            doc(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])),
        ]);
        let c = compare(&spec_doc(), &widened);
        assert!(c.lost.is_empty());
        assert_eq!(c.excess.len(), catalog().of_service("s3").count());
        let lines = describe(&c.excess);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].starts_with("s3:* (all "), "{lines:?}");
        assert!(lines[0].contains(" on * (no condition)"), "{lines:?}");

        let narrowed = doc(json!([
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["arn:aws:kms:r:1:key/k"]}
        ]));
        let c = compare(&spec_doc(), &narrowed);
        assert_eq!(c.lost.len(), 1);
        assert_eq!(c.lost[0].action, "s3:GetObjectVersion");
        // The key statement lost its condition: it now allows more.
        assert_eq!(c.excess.len(), 1);
        assert_eq!(c.excess[0].action, "kms:Decrypt");
    }

    #[test]
    fn a_foreign_deny_is_loss_and_a_dropped_deny_is_reported() {
        let with_deny = Canonical::merged([
            spec_doc(),
            doc(json!([{"Effect": "Deny", "Action": "s3:Get*", "Resource": "*"}])),
        ]);
        let c = compare(&spec_doc(), &with_deny);
        assert_eq!(c.lost.len(), 2);
        assert!(c.excess.is_empty());

        let tls = doc(
            json!([{"Sid": "TLS", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]),
        );
        assert!(compare(&tls, &tls).is_empty());
        let c = compare(&tls, &doc(json!([])));
        assert_eq!(
            c.missing_denies.len(),
            2 * catalog().of_service("s3").count()
        );
        // A deny that only covers some requests does not enforce the spec's.
        let narrower = doc(
            json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"},
                          "StringEquals": {"aws:PrincipalAccount": "1"}}}]),
        );
        assert!(!compare(&tls, &narrower).missing_denies.is_empty());
    }

    #[test]
    fn not_action_and_new_principals_are_excess() {
        let expected = doc(
            json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/a"},
            "Action": "kms:Decrypt", "Resource": "*"}]),
        );
        let actual = doc(json!([
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:role/a", "arn:aws:iam::2:root"]},
             "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/a"},
             "NotAction": "kms:Decrypt", "Resource": "*"}
        ]));
        let c = compare(&expected, &actual);
        assert!(c.lost.is_empty());
        assert!(c
            .excess
            .iter()
            .any(|g| g.principal == Some(PrincipalId::Aws("arn:aws:iam::2:root".into()))));
        assert!(c.excess.iter().any(|g| g.action == "kms:Encrypt"));
        assert!(c.excess.iter().any(|g| g.action == "*"));
    }

    fn cond(operator: &str, key: &str, values: &[&str]) -> Cond {
        Cond {
            operator: operator.into(),
            key: key.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn negated_operators_are_the_not_ones_with_or_without_set_and_ifexists() {
        for operator in [
            "StringNotEquals",
            "StringNotLikeIfExists",
            "ForAnyValue:StringNotEquals",
            "ArnNotLike",
        ] {
            assert!(negated_operator(operator), "{operator}");
        }
        for operator in [
            "StringEquals",
            "StringLikeIfExists",
            "ForAllValues:StringEquals",
            "Bool",
        ] {
            assert!(!negated_operator(operator), "{operator}");
        }
    }

    #[test]
    fn a_condition_is_narrower_with_fewer_values_or_more_excluded_ones() {
        let via = |values: &[&str]| cond("StringEquals", "kms:ViaService", values);
        assert!(narrower_or_equal(&via(&["a"]), &via(&["a", "b"])));
        assert!(!narrower_or_equal(&via(&["a", "b"]), &via(&["a"])));
        // Operators and keys compare without case, and must both agree.
        assert!(narrower_or_equal(
            &cond("stringequals", "KMS:ViaService", &["a"]),
            &via(&["a"])
        ));
        assert!(!narrower_or_equal(
            &cond("StringLike", "kms:ViaService", &["a"]),
            &via(&["a"])
        ));
        assert!(!narrower_or_equal(
            &cond("StringEquals", "kms:CallerAccount", &["a"]),
            &via(&["a"])
        ));
        // Under a Not operator more values exclude more requests.
        let not = |values: &[&str]| cond("StringNotEquals", "aws:SourceVpce", values);
        assert!(narrower_or_equal(&not(&["a", "b"]), &not(&["a"])));
        assert!(!narrower_or_equal(&not(&["a"]), &not(&["a", "b"])));
    }

    #[test]
    fn a_wider_condition_value_set_is_excess_a_narrower_one_is_loss() {
        let wider = doc(json!([
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:r:1:key/k",
             "Condition": {"StringEquals": {"kms:ViaService": ["s3.r.amazonaws.com", "s3.x.amazonaws.com"]}}}
        ]));
        let c = compare(&spec_doc(), &wider);
        assert_eq!(c.excess.len(), 1, "{c:?}");
        assert_eq!(c.excess[0].action, "kms:Decrypt");
        assert!(c.lost.is_empty(), "{c:?}");
        let narrower = doc(json!([
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:r:1:key/k",
             "Condition": {"StringEquals": {"kms:ViaService": "s3.r.amazonaws.com",
                                            "kms:CallerAccount": "1"}}}
        ]));
        let c = compare(&spec_doc(), &narrower);
        assert!(c.excess.is_empty(), "{c:?}");
        assert_eq!(c.lost.len(), 1, "{c:?}");
        assert_eq!(c.lost[0].action, "kms:Decrypt");
    }

    #[test]
    fn not_principal_reads_as_everyone_and_not_resource_as_all_but_the_exceptions() {
        let not_principal = doc(json!([{"Effect": "Deny",
            "NotPrincipal": {"AWS": "arn:aws:iam::1:role/a"},
            "Action": "kms:Decrypt", "Resource": "*"}]));
        let g = grants(&not_principal);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].principal, Some(PrincipalId::Everyone));

        let not_resource = doc(json!([{"Effect": "Allow", "Action": "s3:GetObject",
            "NotResource": "arn:aws:s3:::b/secret/*"}]));
        let g = grants(&not_resource);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].resource, "*");
        assert_eq!(g[0].except, vec!["arn:aws:s3:::b/secret/*".to_string()]);
        assert_eq!(
            describe(&g),
            vec!["s3:GetObject on * except arn:aws:s3:::b/secret/* (no condition)".to_string()]
        );

        // Everything but the spec's objects does not grant the spec's objects.
        let spec = doc(json!([{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/secret/*"}]));
        let c = compare(&spec, &not_resource);
        assert_eq!(c.lost.len(), 1, "{c:?}");
        // ... and it grants other buckets' objects: excess even where the spec allows `*`.
        let everything =
            doc(json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]));
        assert!(compare(&everything, &everything).is_empty());
        assert_eq!(compare(&everything, &not_resource).excess.len(), 1);
    }

    #[test]
    fn a_deny_for_everyone_in_a_bucket_policy_blocks_a_named_principal() {
        let allow = json!({"Sid": "Copy", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::2:role/copy"},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"});
        let spec = doc(json!([allow.clone()]));
        let denied = doc(json!([allow.clone(), {"Effect": "Deny", "Principal": "*",
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]));
        let c = compare(&spec, &denied);
        assert_eq!(c.lost.len(), 1, "{c:?}");
        // A Deny on another bucket blocks nothing here.
        let elsewhere = doc(json!([allow, {"Effect": "Deny", "Principal": "*",
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::other/*"}]));
        assert!(compare(&spec, &elsewhere).lost.is_empty());
    }

    #[test]
    fn a_comparison_is_empty_only_when_all_three_lists_are() {
        let grant = grants(&spec_doc()).remove(0);
        assert!(Comparison::default().is_empty());
        for field in 0..3 {
            let mut c = Comparison::default();
            [&mut c.excess, &mut c.lost, &mut c.missing_denies][field].push(grant.clone());
            assert!(!c.is_empty(), "{c:?}");
        }
    }

    #[test]
    fn long_action_lists_are_cut_after_six() {
        let actions = |n: usize| -> BTreeSet<String> {
            catalog()
                .of_service("kms")
                .take(n)
                .map(|a| a.name.to_string())
                .collect()
        };
        let eight = describe_actions(&actions(8));
        assert_eq!(eight.split(", ").count(), 8, "{eight}");
        assert!(!eight.contains("more"), "{eight}");
        let eleven = describe_actions(&actions(11));
        let parts: Vec<&str> = eleven.split(", ").collect();
        assert_eq!(parts.len(), 7, "{eleven}");
        assert_eq!(parts[6], "and 5 more", "{eleven}");

        // A whole service is named once, and its actions are not listed again.
        let mut kms_and_one: BTreeSet<String> = catalog()
            .of_service("kms")
            .map(|a| a.name.to_string())
            .collect();
        let count = kms_and_one.len();
        kms_and_one.insert("s3:GetObject".into());
        assert_eq!(
            describe_actions(&kms_and_one),
            format!("kms:* (all {count} actions), s3:GetObject")
        );
    }

    #[test]
    fn conditions_are_described_with_their_values() {
        let g = grants(&spec_doc());
        let key = g.iter().find(|g| g.action == "kms:Decrypt").unwrap();
        assert_eq!(
            describe(std::slice::from_ref(key)),
            vec!["kms:Decrypt on arn:aws:kms:r:1:key/k \
                 when StringEquals kms:ViaService s3.r.amazonaws.com"
                .to_string()]
        );
    }

    #[test]
    fn a_grant_or_deny_moved_to_another_principal_is_lost_and_excess() {
        let to = |effect: &str, principal: &str| {
            doc(json!([{"Effect": effect, "Principal": {"AWS": principal},
                "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]))
        };
        let (a, b) = ("arn:aws:iam::2:role/copy", "arn:aws:iam::3:role/other");
        let c = compare(&to("Allow", a), &to("Allow", b));
        assert_eq!(c.lost.len(), 1, "{c:?}");
        assert_eq!(c.lost[0].principal, Some(PrincipalId::Aws(a.into())));
        assert_eq!(c.excess.len(), 1, "{c:?}");
        let c = compare(&to("Deny", a), &to("Deny", b));
        assert_eq!(c.missing_denies.len(), 1, "{c:?}");
        // A Deny for everyone enforces a Deny for one.
        assert!(compare(&to("Deny", a), &to("Deny", "*")).is_empty());
    }

    #[test]
    fn only_a_deny_the_spec_has_is_not_foreign() {
        let (copier, other) = ("arn:aws:iam::2:role/copy", "arn:aws:iam::3:role/other");
        let statement = |effect: &str, principal: &str, action: &str| {
            json!({"Effect": effect, "Principal": {"AWS": principal},
                "Action": action, "Resource": "arn:aws:s3:::b/*"})
        };
        let spec = doc(json!([
            statement("Allow", copier, "s3:PutObject"),
            statement("Deny", other, "s3:PutObject"),
            statement("Deny", copier, "s3:DeleteObject"),
        ]));
        // The same Deny for another principal, or another action for the same one, is
        // not one of the spec's: it blocks the copier's writes.
        let blocked = doc(json!([
            statement("Allow", copier, "s3:PutObject"),
            statement("Deny", other, "s3:PutObject"),
            statement("Deny", copier, "s3:DeleteObject"),
            statement("Deny", copier, "s3:PutObject"),
        ]));
        let c = compare(&spec, &blocked);
        assert_eq!(c.lost.len(), 1, "{c:?}");
        assert_eq!(c.lost[0].action, "s3:PutObject");
        assert!(c.excess.is_empty() && c.missing_denies.is_empty(), "{c:?}");

        // A Deny of another action does not enforce the spec's.
        let c = compare(
            &doc(json!([statement("Deny", copier, "s3:PutObject")])),
            &doc(json!([statement("Deny", copier, "s3:DeleteObject")])),
        );
        assert_eq!(c.missing_denies.len(), 1, "{c:?}");
        assert_eq!(c.missing_denies[0].action, "s3:PutObject");
    }
}
