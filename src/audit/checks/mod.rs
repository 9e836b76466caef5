//! The comparisons: desired state (`model`) against live state (`live`), one module per
//! group of properties. Each check registers itself (a JUnit test case) and adds a
//! finding per drift, with a stable id, severity, expected, actual, message, remediation
//! and, for policies, the diff of the canonical documents.

mod buckets;
mod keys;
mod replication;
mod roles;

use std::collections::BTreeMap;

use super::live::Live;
use super::{Check, Finding, Property, Severity};
use crate::model::Desired;
use crate::policy::canonical::{unified_diff, Canonical};
use crate::policy::semantic::{describe, Grant};
use crate::policy::{Document, Term};
use crate::spec::Side;

/// What every remediation that Terraform can fix starts with.
pub(super) const APPLY: &str =
    "run `terraform plan` then `terraform apply` in the bundle `s3bridge generate` wrote (it manages this setting)";

/// One drift, before it is tied to its check.
pub(super) struct Drift {
    /// Short stable name of the kind of drift (`not-enabled`, `excess`).
    pub code: String,
    pub severity: Severity,
    pub expected: String,
    pub actual: String,
    pub message: String,
    pub remediation: String,
    pub diff: Option<String>,
}

impl Default for Drift {
    fn default() -> Drift {
        Drift {
            code: String::new(),
            severity: Severity::High,
            expected: String::new(),
            actual: String::new(),
            message: String::new(),
            remediation: APPLY.into(),
            diff: None,
        }
    }
}

/// One property being checked on one resource.
#[derive(Debug, Clone)]
pub(super) struct Subject {
    pub property: Property,
    /// The resource's ARN.
    pub resource: String,
    /// A short stable name for finding ids (bucket, role or alias name).
    pub name: String,
    pub spec_field: String,
}

pub(super) struct Ctx<'a> {
    pub desired: &'a Desired,
    pub live: &'a Live,
    /// Created keys' live ARNs by the model's reference module (`source_key`).
    keys: BTreeMap<String, String>,
    checks: Vec<Check>,
    findings: Vec<Finding>,
}

impl<'a> Ctx<'a> {
    /// A term as it should read live: placeholders of created keys become the ARN of the
    /// key behind the alias the model names.
    pub fn resolve(&self, term: &Term) -> String {
        match term {
            Term::Ref(r) if !r.known => self
                .keys
                .get(&r.module)
                .cloned()
                .unwrap_or_else(|| r.text.clone()),
            other => other.as_str().to_string(),
        }
    }

    pub fn canonical(&self, document: &Document) -> Canonical {
        Canonical::from_document(document, &|t| self.resolve(t))
    }

    /// Registers a check (a JUnit case) and returns its subject.
    pub fn check(
        &mut self,
        property: Property,
        resource: &str,
        name: &str,
        spec_field: &str,
    ) -> Subject {
        self.checks.push(Check {
            property,
            resource: resource.to_string(),
            spec_field: spec_field.to_string(),
        });
        Subject {
            property,
            resource: resource.to_string(),
            name: name.to_string(),
            spec_field: spec_field.to_string(),
        }
    }

    /// Reads a live policy document (absent: an empty one). A document that is not a
    /// policy becomes an `unreadable` finding on `subject`, and None.
    pub fn live_policy(
        &mut self,
        subject: &Subject,
        text: Option<&str>,
        what: &str,
    ) -> Option<Canonical> {
        match text.map(Canonical::from_text) {
            None => Some(Canonical::merged([])),
            Some(Ok(policy)) => Some(policy),
            Some(Err(error)) => {
                self.add(
                    subject,
                    Drift {
                        code: "unreadable".into(),
                        expected: format!("the spec's {what}"),
                        actual: error.to_string(),
                        message: format!("the {what} cannot be read as a policy: {error}"),
                        ..Drift::default()
                    },
                );
                None
            }
        }
    }

    pub fn add(&mut self, subject: &Subject, drift: Drift) {
        self.findings.push(Finding {
            id: format!("{}/{}/{}", subject.property, drift.code, subject.name),
            severity: drift.severity,
            property: subject.property,
            resource: subject.resource.clone(),
            expected: drift.expected,
            actual: drift.actual,
            message: drift.message,
            remediation: drift.remediation,
            diff: drift.diff,
            spec_field: subject.spec_field.clone(),
        });
    }
}

/// The diff of two canonical documents, or None when they read the same.
pub(super) fn diff(expected: &Canonical, actual: &Canonical, name: &str) -> Option<String> {
    Some(unified_diff(expected, actual, name)).filter(|d| !d.is_empty())
}

/// The `excess` drift of a policy comparison (high): what the live policy allows beyond
/// the spec. `what` starts the message (`role x has permissions beyond the spec`).
pub(super) fn excess(grants: &[Grant], what: &str, diff: Option<String>) -> Option<Drift> {
    if grants.is_empty() {
        return None;
    }
    let lines = describe(grants).join("; ");
    Some(Drift {
        code: "excess".into(),
        severity: Severity::High,
        expected: "only the spec's grants".into(),
        actual: lines.clone(),
        message: format!("{what}: {lines}"),
        diff,
        ..Drift::default()
    })
}

/// The `lost` drift of a policy comparison (medium): what the spec grants that the live
/// policy no longer does; `what` starts the message.
pub(super) fn lost(grants: &[Grant], what: &str, diff: Option<String>) -> Option<Drift> {
    if grants.is_empty() {
        return None;
    }
    let lines = describe(grants).join("; ");
    Some(Drift {
        code: "lost".into(),
        severity: Severity::Medium,
        expected: lines.clone(),
        actual: "not granted (missing, narrowed or denied)".into(),
        message: format!("{what}: {lines}"),
        diff,
        ..Drift::default()
    })
}

/// The spec field of a side's setting, e.g. `source.bucket`.
pub(super) fn field(side: Side, name: &str) -> String {
    format!("{side}.{name}")
}

/// `a, b and 3 more` for messages.
pub(super) fn list_some(items: &[String], shown: usize) -> String {
    if items.len() <= shown {
        items.join(", ")
    } else {
        format!(
            "{} and {} more",
            items[..shown].join(", "),
            items.len() - shown
        )
    }
}

pub(super) fn run(desired: &Desired, live: &Live) -> (Vec<Check>, Vec<Finding>) {
    let mut keys = BTreeMap::new();
    for side in [Side::Source, Side::Destination] {
        let side_live = live.side(side);
        if let (Some(module), Some(metadata)) =
            (&side_live.targets.key.module, &side_live.key.metadata)
        {
            keys.insert(module.clone(), metadata.arn.clone());
        }
    }
    let mut ctx = Ctx {
        desired,
        live,
        keys,
        checks: Vec::new(),
        findings: Vec::new(),
    };
    for side in [Side::Source, Side::Destination] {
        buckets::check(&mut ctx, side);
        keys::check(&mut ctx, side);
    }
    roles::check(&mut ctx);
    replication::check(&mut ctx);
    (ctx.checks, ctx.findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::live::*;
    use crate::audit::reads::targets;
    use crate::model::RTC_MINUTES;

    fn desired() -> Desired {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs/example.yaml");
        crate::model::build(&crate::spec::load(&path).expect("the example spec").spec)
    }

    fn key_arn(side: Side) -> String {
        match side {
            Side::Source => "arn:aws:kms:ap-southeast-2:111111111111:key/1a".into(),
            Side::Destination => "arn:aws:kms:ap-southeast-2:222222222222:key/2b".into(),
        }
    }

    /// Live state exactly as the spec wants it, written by hand from the model.
    fn faithful(desired: &Desired) -> Live {
        let resolve = |term: &Term| match term {
            Term::Ref(r) if r.module == "source_key" => key_arn(Side::Source),
            Term::Ref(r) if r.module == "destination_key" => key_arn(Side::Destination),
            other => other.as_str().to_string(),
        };
        let side = |side: Side| {
            let b = desired.bucket(side);
            let rules = desired
                .replications
                .iter()
                .filter(|r| r.from == side)
                .flat_map(|r| &r.rules)
                .map(|rule| RuleView {
                    id: rule.id.clone(),
                    status: "Enabled".into(),
                    priority: Some(rule.priority as i32),
                    prefix: rule.prefix.clone(),
                    tags: rule.tags.clone(),
                    delete_markers: "Disabled".into(),
                    sse_kms_objects: "Enabled".into(),
                    replica_modifications: String::new(),
                    existing_objects: "Disabled".into(),
                    destination_bucket: rule.destination_bucket_arn.clone(),
                    destination_account: rule.destination_account.clone().unwrap_or_default(),
                    owner_override: "Destination".into(),
                    replica_key: key_arn(side.other()),
                    storage_class: rule
                        .storage_class
                        .map(|c| c.as_str().into())
                        .unwrap_or_default(),
                    replication_time: format!("Enabled {RTC_MINUTES} minutes"),
                    metrics: format!("Enabled {RTC_MINUTES} minutes"),
                })
                .collect();
            let t = targets(desired, side, Default::default());
            LiveSide {
                bucket: LiveBucket {
                    exists: true,
                    versioning: Some("Enabled".into()),
                    encryption: Some(vec![EncryptionRule {
                        algorithm: "aws:kms".into(),
                        key: Some(key_arn(side)),
                        bucket_key: Some(true),
                    }]),
                    public_access_block: Some(PublicAccessBlock {
                        block_public_acls: true,
                        ignore_public_acls: true,
                        block_public_policy: true,
                        restrict_public_buckets: true,
                    }),
                    ownership: Some(vec!["BucketOwnerEnforced".into()]),
                    policy: Some(b.policy.to_json_with(&resolve).to_string()),
                    replication: t.replicates.then(|| {
                        Some(LiveReplication {
                            role: desired.replications[0].role.as_str().into(),
                            rules,
                        })
                    }),
                    sample: Vec::new(),
                },
                key: LiveKey {
                    id: t.key.id.clone(),
                    metadata: Some(KeyMetadata {
                        arn: key_arn(side),
                        enabled: true,
                        state: "Enabled".into(),
                        manager: "CUSTOMER".into(),
                    }),
                    rotation: Some(true),
                    policy: desired
                        .key(side)
                        .map(|k| k.policy.to_json_with(&resolve).to_string()),
                },
                roles: desired
                    .roles
                    .iter()
                    .filter(|r| r.side == side)
                    .map(|r| LiveRole {
                        purpose: r.purpose,
                        name: r.name.clone(),
                        arn: r.arn.clone(),
                        found: Some(FoundRole {
                            trust: r.trust.to_json_with(&resolve).to_string(),
                            inline: r
                                .policies
                                .iter()
                                .map(|(n, d)| (n.clone(), d.to_json_with(&resolve).to_string()))
                                .collect(),
                            attached: Vec::new(),
                        }),
                    })
                    .collect(),
                jobs: t.jobs.then(|| {
                    vec![LiveJob {
                        id: "job-1".into(),
                        status: "Complete".into(),
                        role_arn: desired.batch.as_ref().unwrap().role_arn.clone(),
                        source_bucket: b.arn.clone(),
                        manifest: String::new(),
                        total: 3,
                        succeeded: 3,
                        failed: 0,
                        created: String::new(),
                    }]
                }),
                targets: t,
            }
        };
        Live {
            source: side(Side::Source),
            destination: side(Side::Destination),
            calls: Vec::new(),
        }
    }

    fn ids(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn a_faithful_deployment_has_no_finding() {
        let desired = desired();
        let (checks, findings) = run(&desired, &faithful(&desired));
        assert!(findings.is_empty(), "{findings:#?}");
        // 5 bucket properties × 2, rotation + key policy × 2, 2 per role × 3, replication.
        assert_eq!(checks.len(), 10 + 4 + 6 + 1);
    }

    #[test]
    fn drifts_are_named_with_stable_ids() {
        let desired = desired();
        let mut live = faithful(&desired);
        live.destination.bucket.versioning = Some("Suspended".into());
        live.source.bucket.encryption.as_mut().unwrap()[0].key =
            Some("arn:aws:kms:ap-southeast-2:111111111111:key/other".into());
        live.source.key.rotation = Some(false);
        live.source
            .bucket
            .replication
            .as_mut()
            .unwrap()
            .as_mut()
            .unwrap()
            .rules[0]
            .destination_bucket = "arn:aws:s3:::elsewhere".into();
        live.source.bucket.sample = vec![LiveObject {
            key: "scans/a".into(),
            last_modified: String::new(),
            replication_status: Some("FAILED".into()),
        }];
        live.source.jobs = Some(Vec::new());
        let (_, findings) = run(&desired, &live);
        let mut got = ids(&findings);
        got.sort();
        assert_eq!(
            got,
            [
                "encryption/other-key/annalise-ai-datalake",
                "kms_rotation/rotation-off/datalake-landing-source",
                "replication/existing-objects-not-replicated/annalise-ai-datalake",
                "replication/objects-failed/annalise-ai-datalake",
                "replication/rule-scans/annalise-ai-datalake",
                "versioning/not-enabled/harrison-ai-landing",
            ]
        );
        let rule = findings
            .iter()
            .find(|f| f.id.starts_with("replication/rule-"))
            .unwrap();
        assert_eq!(rule.severity, Severity::High, "a new destination is high");
        assert_eq!(rule.spec_field, "replication.rules[0]");
    }

    #[test]
    fn a_missing_key_and_role_are_findings_not_errors() {
        let desired = desired();
        let mut live = faithful(&desired);
        live.destination.key.metadata = None;
        live.source.roles[0].found = None;
        let (_, findings) = run(&desired, &live);
        let got = ids(&findings);
        assert!(
            got.contains(&"kms_rotation/missing/datalake-landing-destination"),
            "{got:?}"
        );
        assert!(
            got.contains(&"key_policy/missing/datalake-landing-destination"),
            "{got:?}"
        );
        assert!(got.contains(&"role_trust/missing/datalake-copy"), "{got:?}");
        // The destination key's placeholder cannot be resolved: the bucket's encryption
        // names a key the audit cannot confirm.
        assert!(
            got.contains(&"encryption/other-key/harrison-ai-landing"),
            "{got:?}"
        );
    }

    /// Edits the statements of a live key policy.
    fn edit_key_policy(
        live: &mut Live,
        side: Side,
        edit: impl FnOnce(&mut Vec<serde_json::Value>),
    ) {
        let key = match side {
            Side::Source => &mut live.source.key,
            Side::Destination => &mut live.destination.key,
        };
        let mut policy: serde_json::Value =
            serde_json::from_str(key.policy.as_deref().unwrap()).unwrap();
        edit(policy["Statement"].as_array_mut().unwrap());
        key.policy = Some(policy.to_string());
    }

    #[test]
    fn key_recovery_is_audited_both_ways() {
        let key_policy_ids = |desired: &Desired, live: &Live| -> Vec<String> {
            let (_, findings) = run(desired, live);
            findings
                .iter()
                .filter(|f| f.property == Property::KeyPolicy)
                .map(|f| f.id.clone())
                .collect()
        };
        // `kms_key_recovery: account` (the default): the root statement is expected.
        let desired = desired();
        let mut live = faithful(&desired);
        edit_key_policy(&mut live, Side::Source, |statements| {
            statements.retain(|s| s["Sid"] != "AccountRecovery")
        });
        let got = key_policy_ids(&desired, &live);
        assert_eq!(got.len(), 1, "the recovery statement is gone: {got:?}");
        assert!(got[0].ends_with("datalake-landing-source"), "{got:?}");
        let mut live = faithful(&desired);
        edit_key_policy(&mut live, Side::Source, |statements| {
            let recovery = statements
                .iter_mut()
                .find(|s| s["Sid"] == "AccountRecovery")
                .unwrap();
            recovery["Action"]
                .as_array_mut()
                .unwrap()
                .push("kms:Decrypt".into());
        });
        let got = key_policy_ids(&desired, &live);
        assert!(
            got.contains(&"key_policy/admin-can-use/datalake-landing-source".to_string()),
            "the root may administer, never use: {got:?}"
        );

        // `admins`: a root statement is a principal the spec does not imply.
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs/example.yaml");
        let text = std::fs::read_to_string(path).unwrap().replace(
            "    - arn:aws:iam::111111111111:role/kms-admin\n",
            "    - arn:aws:iam::111111111111:role/kms-admin\n    - arn:aws:iam::111111111111:role/kms-admin-2\n  kms_key_recovery: admins\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("admins.yaml");
        std::fs::write(&spec, text).unwrap();
        let desired = crate::model::build(&crate::spec::load(&spec).unwrap().spec);
        assert!(desired
            .key(Side::Source)
            .unwrap()
            .policy
            .statements
            .iter()
            .all(|s| s.sid != "AccountRecovery"));
        let mut live = faithful(&desired);
        assert!(key_policy_ids(&desired, &live).is_empty());
        edit_key_policy(&mut live, Side::Source, |statements| {
            statements.push(serde_json::json!({"Sid": "EnableRoot", "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": ["kms:PutKeyPolicy"], "Resource": "*"}))
        });
        let got = key_policy_ids(&desired, &live);
        assert!(
            got.contains(&"key_policy/extra-principal/datalake-landing-source".to_string()),
            "{got:?}"
        );
    }
}
