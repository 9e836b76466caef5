//! The comparisons: desired state (`model`) against live state (`live`), one module per
//! group of properties. Each check registers itself (a JUnit test case) and adds a
//! finding per drift, with a stable id, severity, expected, actual, message, remediation
//! and, for policies, the diff of the canonical documents.

mod buckets;
mod keys;
mod monitoring;
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
        let Some(module) = &side_live.targets.key.module else {
            continue;
        };
        // A created key no alias leads to any more: the key the bucket still encrypts with
        // stands in for it, so that its absence is one finding (`kms_key/missing`), not one
        // more for every policy and rule that names it.
        let arn = side_live
            .key
            .metadata
            .as_ref()
            .map(|m| m.arn.clone())
            .or_else(|| {
                side_live
                    .bucket
                    .encryption
                    .as_ref()
                    .and_then(|rules| rules.first())
                    .and_then(|rule| rule.key.clone())
                    .filter(|key| key.starts_with("arn:") && key.contains(":key/"))
            });
        if let Some(arn) = arn {
            keys.insert(module.clone(), arn);
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
    monitoring::check(&mut ctx);
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
                    predating: Predating::Unknown,
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
                monitoring: t.alarm_prefix.as_ref().map(|_| {
                    let m = desired.monitoring.as_ref().unwrap();
                    LiveMonitoring {
                        topics: vec![(
                            m.topic.arn.clone(),
                            crate::model::monitoring::REPLICATION_EVENTS
                                .iter()
                                .map(|e| e.to_string())
                                .collect(),
                        )],
                        alarms: m
                            .alarms
                            .iter()
                            .map(|a| (a.name.clone(), vec![m.topic.arn.clone()]))
                            .collect(),
                    }
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
        // 6 bucket properties × 2, key + rotation + key policy × 2, 2 per role × 3,
        // replication, monitoring: 3 alarms of the one rule and the notifications.
        assert_eq!(checks.len(), 12 + 6 + 6 + 1 + 4);
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
            encryption: None,
            kms_key: None,
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
                "replication/objects-not-under-key/annalise-ai-datalake",
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
        let mut got = ids(&findings);
        got.sort();
        // One cause, one finding: no key_policy/missing, no role_policy/missing, and the
        // destination bucket's encryption is not called "another key" because the spec's
        // key cannot be found.
        assert_eq!(
            got,
            [
                "kms_key/missing/datalake-landing-destination",
                "role_trust/missing/datalake-copy",
            ]
        );
        assert_commands(&findings);
    }

    /// Every remediation names a command (in backquotes) that clears the finding.
    fn assert_commands(findings: &[Finding]) {
        for f in findings {
            assert!(
                f.remediation.contains('`'),
                "{}: the remediation names no command: {}",
                f.id,
                f.remediation
            );
        }
    }

    #[test]
    fn sampled_objects_not_under_the_key_are_a_finding() {
        let object = |key: &str, encryption: &str, kms_key: Option<String>| LiveObject {
            key: key.into(),
            last_modified: String::new(),
            replication_status: Some("COMPLETED".into()),
            encryption: Some(encryption.into()),
            kms_key,
        };
        let under_key = after(|d, live| {
            let key = live
                .source
                .key
                .metadata
                .as_ref()
                .map(|m| m.arn.clone())
                .or_else(|| Some(d.bucket(Side::Source).key.as_str().to_string()));
            live.source.bucket.sample = vec![object("new", "aws:kms", key)];
        });
        assert!(
            !ids(&under_key)
                .iter()
                .any(|id| id.contains("objects-not-under-key")),
            "{under_key:?}"
        );
        let findings = after(|_, live| {
            live.source.bucket.sample = vec![object("old.csv", "AES256", None)];
        });
        let finding = findings
            .iter()
            .find(|f| f.id == "replication/objects-not-under-key/annalise-ai-datalake")
            .expect("the SSE-S3 object is reported");
        assert!(
            finding.actual.contains("1 of 1 objects sampled")
                && finding.actual.contains("old.csv (AES256)"),
            "{}",
            finding.actual
        );
        assert!(finding
            .remediation
            .contains("s3bridge reencrypt SPEC --side source"));
    }

    /// The findings of `live` after `drift`, sorted by id.
    fn after(drift: impl FnOnce(&Desired, &mut Live)) -> Vec<Finding> {
        let desired = desired();
        let mut live = faithful(&desired);
        drift(&desired, &mut live);
        let (_, mut findings) = run(&desired, &live);
        findings.sort_by(|a, b| a.id.cmp(&b.id));
        assert_commands(&findings);
        findings
    }

    #[test]
    fn a_missing_bucket_is_one_high_finding() {
        for side in [Side::Source, Side::Destination] {
            let findings = after(|_, live| {
                let bucket = match side {
                    Side::Source => &mut live.source.bucket,
                    Side::Destination => &mut live.destination.bucket,
                };
                *bucket = LiveBucket::default();
            });
            let name = desired().bucket(side).name.clone();
            assert_eq!(ids(&findings), [format!("bucket/missing/{name}")], "{side}");
            assert_eq!(findings[0].severity, Severity::High);
        }
        // The example's source exists already: it cannot be created, only restored.
        let findings = after(|_, live| live.source.bucket = LiveBucket::default());
        assert!(
            findings[0].remediation.contains("existing: true"),
            "{}",
            findings[0].remediation
        );
    }

    #[test]
    fn a_disabled_key_is_a_key_finding_not_a_rotation_one() {
        let findings = after(|_, live| {
            let metadata = live.source.key.metadata.as_mut().unwrap();
            metadata.enabled = false;
            metadata.state = "PendingDeletion".into();
        });
        assert_eq!(
            ids(&findings),
            ["kms_key/not-enabled/datalake-landing-source"]
        );
        assert_eq!(findings[0].property, Property::KmsKey);
        assert!(findings[0]
            .remediation
            .contains("aws kms cancel-key-deletion --key-id"));
        let findings = after(|_, live| {
            let metadata = live.source.key.metadata.as_mut().unwrap();
            metadata.enabled = false;
            metadata.state = "Disabled".into();
        });
        assert!(findings[0]
            .remediation
            .starts_with("`aws kms enable-key --key-id arn:aws:kms:"));
        let findings = after(|_, live| {
            live.destination.key.metadata.as_mut().unwrap().manager = "AWS".into();
        });
        assert_eq!(
            ids(&findings),
            ["kms_key/not-customer-managed/datalake-landing-destination"]
        );
        assert_eq!(findings[0].severity, Severity::High);
    }

    #[test]
    fn encryption_with_the_aws_managed_key_or_without_bucket_keys() {
        let findings = after(|_, live| {
            live.source.bucket.encryption.as_mut().unwrap()[0].key = None;
        });
        assert_eq!(
            ids(&findings),
            ["encryption/aws-managed-key/annalise-ai-datalake"]
        );
        assert_eq!(findings[0].severity, Severity::High);
        let findings = after(|_, live| {
            live.destination.bucket.encryption.as_mut().unwrap()[0].bucket_key = Some(false);
        });
        assert_eq!(
            ids(&findings),
            ["encryption/bucket-key-off/harrison-ai-landing"]
        );
        assert_eq!(findings[0].severity, Severity::Low);
    }

    /// Adds a statement to the source key's live policy.
    fn with_key_statement(live: &mut Live, statement: serde_json::Value) {
        let policy = live.source.key.policy.as_mut().unwrap();
        let mut document: serde_json::Value = serde_json::from_str(policy).unwrap();
        document["Statement"]
            .as_array_mut()
            .unwrap()
            .push(statement);
        *policy = document.to_string();
    }

    #[test]
    fn key_policies_that_let_administrators_use_the_key_or_anyone_in() {
        let admin = "arn:aws:iam::111111111111:role/kms-admin";
        let findings = after(|_, live| {
            with_key_statement(
                live,
                serde_json::json!({"Sid": "AdminReads", "Effect": "Allow",
                    "Principal": {"AWS": admin}, "Action": "kms:Decrypt", "Resource": "*"}),
            )
        });
        assert_eq!(
            ids(&findings),
            ["key_policy/admin-can-use/datalake-landing-source"]
        );
        assert!(
            findings[0].actual.contains("kms:Decrypt"),
            "{:?}",
            findings[0]
        );
        let findings = after(|_, live| {
            with_key_statement(
                live,
                serde_json::json!({"Sid": "Anyone", "Effect": "Allow", "Principal": "*",
                    "Action": "kms:DescribeKey", "Resource": "*"}),
            )
        });
        let got = ids(&findings);
        assert!(
            got.contains(&"key_policy/wildcard-principal/datalake-landing-source"),
            "{got:?}"
        );
        // With a condition, Principal * is not "anyone" by itself (still more than the spec).
        let findings = after(|_, live| {
            with_key_statement(
                live,
                serde_json::json!({"Sid": "Org", "Effect": "Allow", "Principal": "*",
                    "Action": "kms:DescribeKey", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}}),
            )
        });
        assert!(
            !ids(&findings).contains(&"key_policy/wildcard-principal/datalake-landing-source"),
            "{findings:#?}"
        );
    }

    #[test]
    fn replication_rules_removed_or_added() {
        fn rule(live: &mut Live) -> &mut Vec<RuleView> {
            &mut live
                .source
                .bucket
                .replication
                .as_mut()
                .unwrap()
                .as_mut()
                .unwrap()
                .rules
        }
        let findings = after(|_, live| rule(live).clear());
        assert_eq!(
            ids(&findings),
            ["replication/rule-scans-missing/annalise-ai-datalake"]
        );
        assert_eq!(findings[0].severity, Severity::High);
        let findings = after(|_, live| {
            let mut extra = rule(live)[0].clone();
            extra.id = "side door".into();
            extra.destination_bucket = "arn:aws:s3:::elsewhere".into();
            rule(live).push(extra);
        });
        assert_eq!(
            ids(&findings),
            ["replication/rule-side-door-extra/annalise-ai-datalake"]
        );
        assert_eq!(findings[0].severity, Severity::High, "to another bucket");
        let findings = after(|_, live| {
            let mut extra = rule(live)[0].clone();
            extra.id = "second".into();
            rule(live).push(extra);
        });
        assert_eq!(
            findings[0].severity,
            Severity::Medium,
            "to the spec's bucket"
        );
    }

    #[test]
    fn existing_objects_are_reported_only_when_some_predate_the_rules() {
        let no_job = |predating: Predating| {
            after(move |_, live| {
                live.source.jobs = Some(Vec::new());
                live.source.bucket.predating = predating;
            })
        };
        // Right after apply on a new bucket: nothing older than the rules, no finding.
        assert_eq!(ids(&no_job(Predating::None)), Vec::<&str>::new());
        let findings = no_job(Predating::Object {
            key: "scans/old.dcm".into(),
            last_modified: "2020-01-01T00:00:00Z".into(),
        });
        assert_eq!(
            ids(&findings),
            ["replication/existing-objects-not-replicated/annalise-ai-datalake"]
        );
        assert!(findings[0]
            .message
            .contains("s3://annalise-ai-datalake/scans/old.dcm"));
        assert!(findings[0]
            .remediation
            .starts_with("`s3bridge replicate-existing SPEC --wait`"));
        // More objects than a page, the oldest listed has a status: cannot tell, report.
        assert_eq!(no_job(Predating::Unknown).len(), 1);
        // A job with failures is reported whatever the objects say, with a new attempt.
        let findings = after(|desired, live| {
            live.source.bucket.predating = Predating::None;
            live.source.jobs = Some(vec![LiveJob {
                id: "job-2".into(),
                status: "Complete".into(),
                role_arn: desired.batch.as_ref().unwrap().role_arn.clone(),
                source_bucket: desired.bucket(Side::Source).arn.clone(),
                manifest: String::new(),
                total: 3,
                succeeded: 2,
                failed: 1,
                created: String::new(),
            }]);
        });
        assert_eq!(
            ids(&findings),
            ["replication/existing-objects-failed/annalise-ai-datalake"]
        );
        assert!(
            findings[0].remediation.contains("--attempt 2 --wait"),
            "{}",
            findings[0].remediation
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

    #[test]
    fn role_findings_say_what_changed_and_where_it_came_from() {
        let desired = desired();
        // Each role purpose points SARIF at the spec field that names the role.
        let (checks, _) = run(&desired, &faithful(&desired));
        for role in &desired.roles {
            let field = checks
                .iter()
                .find(|c| c.resource == role.arn && c.property == Property::RoleTrust)
                .map(|c| c.spec_field.as_str());
            let want = match role.purpose {
                crate::model::RolePurpose::Copy => "copy_role",
                crate::model::RolePurpose::Replication(_) => "replication.role_name",
                crate::model::RolePurpose::BatchReplication => "replication.batch_role_name",
                crate::model::RolePurpose::BatchCopy => "copy.engine",
                crate::model::RolePurpose::Restore => "restore",
            };
            assert_eq!(field, Some(want), "{}", role.name);
        }

        // A missing role: high, names the role, and says apply creates it.
        let findings = after(|_, live| live.source.roles[0].found = None);
        let missing = &findings[0];
        assert_eq!(missing.id, "role_trust/missing/datalake-copy");
        assert_eq!(missing.severity, Severity::High);
        assert!(
            missing.expected.starts_with("role datalake-copy ("),
            "{missing:?}"
        );
        assert_eq!(missing.actual, "no such role");
        assert!(missing
            .message
            .contains("does not exist in account 111111111111"));
        assert!(
            missing.remediation.contains("creates the role"),
            "{missing:?}"
        );

        // Someone else may assume the role: excess trust, with CloudTrail advice.
        let findings = after(|_, live| {
            let found = live.source.roles[0].found.as_mut().unwrap();
            let mut trust: serde_json::Value = serde_json::from_str(&found.trust).unwrap();
            trust["Statement"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
                    "Action": "sts:AssumeRole"}));
            found.trust = trust.to_string();
        });
        assert_eq!(ids(&findings), ["role_trust/excess/datalake-copy"]);
        assert!(
            findings[0].remediation.contains("CloudTrail"),
            "{findings:?}"
        );
        assert!(findings[0].diff.is_some());

        // An extra inline policy and an attachment: excess, naming both; an attachment
        // whose document cannot be read and an unparsable inline policy: unreadable.
        let findings = after(|_, live| {
            let found = live.source.roles[0].found.as_mut().unwrap();
            found.inline.push((
                "debugging".into(),
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(),
            ));
            found.attached.push((
                "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
                Some(
                    r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#.into(),
                ),
            ));
            found
                .attached
                .push(("arn:aws:iam::111111111111:policy/broken".into(), None));
            found.inline.push(("garbled".into(), "{not json".into()));
        });
        assert_eq!(
            ids(&findings),
            [
                "role_policy/excess/datalake-copy",
                "role_policy/unreadable/datalake-copy"
            ]
        );
        let excess = &findings[0];
        assert!(
            excess
                .message
                .contains("inline policies not in the spec: debugging, garbled"),
            "{excess:?}"
        );
        assert!(excess
            .message
            .contains("attached policies: arn:aws:iam::aws:policy/ReadOnlyAccess, arn:aws:iam::111111111111:policy/broken"));
        assert!(excess.remediation.contains("removes inline policies"));
        let unreadable = &findings[1];
        assert!(
            unreadable.actual.contains(
                "attached policy arn:aws:iam::111111111111:policy/broken: no default version"
            ),
            "{unreadable:?}"
        );
        assert!(unreadable.actual.contains("inline policy garbled: "));
        assert_eq!(unreadable.expected, "readable policies");
        assert!(
            unreadable
                .message
                .starts_with("some policies of datalake-copy cannot be read"),
            "{unreadable:?}"
        );

        // A spec policy emptied: lost, and nothing called extra.
        let findings = after(|_, live| {
            let found = live.source.roles[0].found.as_mut().unwrap();
            for (_, text) in &mut found.inline {
                *text = r#"{"Statement":[]}"#.into();
            }
        });
        assert_eq!(ids(&findings), ["role_policy/lost/datalake-copy"]);
        assert!(!findings[0].message.contains("not in the spec"));
    }

    #[test]
    fn key_findings_say_what_is_wrong_and_the_command_that_fixes_it() {
        let source_key = key_arn(Side::Source);
        let destination_key = key_arn(Side::Destination);

        // Rotation off (or unreadable) on a created key: medium, the state read, and the
        // KMS command that turns it on for that key.
        for (read, shown) in [(Some(false), "off"), (None, "unknown")] {
            let findings = after(|_, live| live.source.key.rotation = read);
            assert_eq!(
                ids(&findings),
                ["kms_rotation/rotation-off/datalake-landing-source"]
            );
            let f = &findings[0];
            assert_eq!(f.severity, Severity::Medium);
            assert_eq!(
                (f.expected.as_str(), f.actual.as_str()),
                ("automatic rotation on", shown)
            );
            assert_eq!(
                f.message,
                format!("automatic rotation of the source key {source_key} is off")
            );
            assert!(f.remediation.ends_with(&format!(
                "`aws kms enable-key-rotation --key-id {source_key}`"
            )));
        }

        // A disabled key: enable it; a key pending deletion: cancel the deletion first.
        for (state, first_command) in [
            ("Disabled", "`aws kms enable-key"),
            ("PendingDeletion", "`aws kms cancel-key-deletion"),
        ] {
            let findings = after(|_, live| {
                let metadata = live.destination.key.metadata.as_mut().unwrap();
                metadata.enabled = false;
                metadata.state = state.into();
            });
            assert_eq!(
                ids(&findings),
                ["kms_key/not-enabled/datalake-landing-destination"]
            );
            let f = &findings[0];
            assert_eq!(f.severity, Severity::High);
            assert_eq!((f.expected.as_str(), f.actual.as_str()), ("Enabled", state));
            assert!(
                f.message.contains(&format!("{destination_key} is {state}")),
                "{f:?}"
            );
            assert!(f.remediation.starts_with(first_command), "{f:?}");
            assert!(f.remediation.contains(&destination_key), "{f:?}");
        }

        // An AWS-managed key: cannot be shared with the other account; the spec must name
        // a customer-managed one.
        let findings = after(|_, live| {
            live.source.key.metadata.as_mut().unwrap().manager = "AWS".into();
        });
        assert_eq!(
            ids(&findings),
            ["kms_key/not-customer-managed/datalake-landing-source"]
        );
        let f = &findings[0];
        assert_eq!(f.severity, Severity::High);
        assert_eq!(
            (f.expected.as_str(), f.actual.as_str()),
            ("CUSTOMER", "AWS")
        );
        assert!(f.message.contains("managed by AWS"), "{f:?}");
        assert!(f.remediation.contains("`source.kms_key: create`"), "{f:?}");

        // A created key that is gone: apply creates it again.
        let findings = after(|_, live| live.source.key.metadata = None);
        assert_eq!(ids(&findings), ["kms_key/missing/datalake-landing-source"]);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::High);
        assert!(
            f.expected.starts_with("an enabled customer-managed key"),
            "{f:?}"
        );
        assert!(f.actual.starts_with("no key behind the alias"), "{f:?}");
        assert!(
            f.message.contains("cannot be found") && f.message.contains("111111111111"),
            "{f:?}"
        );
        assert!(f.remediation.contains("creates the key"), "{f:?}");
    }
}
