//! The desired state a spec implies: every bucket setting, key, role, policy document and
//! replication rule, with names and ARNs resolved.
//!
//! This is the one place that decides what "correct" means. `render` turns it into
//! Terraform, `s3bridge policies` prints its documents, and audit compares live state
//! with it — so generate and audit can never disagree about an action list or a setting.

pub mod monitoring;
mod policies;
pub mod requests;

use std::collections::BTreeMap;

use crate::arn::{bucket_arn, partition_for_region, role_arn};
use crate::policy::{Kind, NamedDocument, Reference, Term};
use crate::spec::{BucketSetting, CopyEngine, KmsKeySpec, Side, Spec, StorageClass};

/// Days after which incomplete multipart uploads are aborted by the lifecycle rule.
pub const ABORT_INCOMPLETE_MULTIPART_DAYS: u32 = 7;
/// ID of the lifecycle rule s3bridge writes on every bucket (modules/s3-bucket).
pub const ABORT_RULE_ID: &str = "abort-incomplete-multipart-uploads";
/// Waiting period before a scheduled key deletion takes effect (the maximum).
pub const KEY_DELETION_WINDOW_DAYS: u32 = 30;
/// Replication Time Control's only threshold.
pub const RTC_MINUTES: u32 = 15;
pub const DEFAULT_BATCH_PREFIX: &str = "s3bridge/batch-replication/";
/// Where, in the destination bucket, `s3bridge copy --engine batch` puts its manifests and
/// S3 writes the job's completion reports: in the account and Region where the copy job
/// runs (S3PutObjectCopy jobs "must be created in the destination Region", S3 user guide,
/// batch-ops-copy-object), so nothing but the source objects crosses an account.
pub const BATCH_COPY_PREFIX: &str = "s3bridge/batch-copy/";

/// Bucket settings s3bridge enforces on both buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSettings {
    pub versioning: &'static str,
    pub sse_algorithm: &'static str,
    pub bucket_key_enabled: bool,
    pub object_ownership: &'static str,
    /// block_public_acls, block_public_policy, ignore_public_acls, restrict_public_buckets.
    pub block_public_access: bool,
    pub abort_incomplete_multipart_days: u32,
}

impl BucketSettings {
    pub const ENFORCED: BucketSettings = BucketSettings {
        versioning: "Enabled",
        sse_algorithm: "aws:kms",
        bucket_key_enabled: true,
        object_ownership: "BucketOwnerEnforced",
        block_public_access: true,
        abort_incomplete_multipart_days: ABORT_INCOMPLETE_MULTIPART_DAYS,
    };
}

#[derive(Debug, Clone)]
pub struct Bucket {
    pub side: Side,
    pub name: String,
    pub account: String,
    pub region: String,
    pub partition: &'static str,
    pub arn: String,
    /// Import instead of create; `imports` lists the settings that already exist.
    pub existing: bool,
    pub imports: Vec<BucketSetting>,
    /// The key the bucket encrypts with (a reference when s3bridge creates it).
    pub key: Term,
    pub settings: BucketSettings,
    pub policy: crate::policy::Document,
    /// Statements of the existing policy that are the user's, kept next to `policy`.
    pub kept_statements: Vec<serde_json::Value>,
    /// Lifecycle rules of the existing bucket, kept next to the abort rule.
    pub kept_lifecycle_rules: Vec<crate::spec::LifecycleRuleSpec>,
    /// The bucket's own tags (the provider's default tags add the spec's).
    pub tags: BTreeMap<String, String>,
}

impl Bucket {
    /// The bucket policy as it should read live: s3bridge's statements, then the kept ones.
    pub fn policy_json(&self, resolve: &dyn Fn(&Term) -> String) -> serde_json::Value {
        let mut document = self.policy.to_json_with(resolve);
        if let Some(statements) = document["Statement"].as_array_mut() {
            statements.extend(self.kept_statements.iter().cloned());
        }
        document
    }

    /// Kept statements whose Sid is one of s3bridge's own (they cannot both be in the
    /// policy; the spec must drop or rename them).
    pub fn clashing_sids(&self) -> Vec<String> {
        let ours: Vec<&str> = self
            .policy
            .statements
            .iter()
            .map(|s| s.sid.as_str())
            .collect();
        self.kept_statements
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .filter(|sid| ours.contains(sid))
            .map(String::from)
            .collect()
    }
}

impl Bucket {
    /// Terraform module instance name, e.g. `source_bucket`.
    pub fn module(&self) -> String {
        format!("{}_bucket", self.side)
    }
}

/// A customer-managed key s3bridge creates.
#[derive(Debug, Clone)]
pub struct Key {
    pub side: Side,
    /// The bucket whose objects it encrypts.
    pub bucket: String,
    pub account: String,
    pub region: String,
    pub alias: String,
    pub description: String,
    pub rotation: bool,
    pub deletion_window_days: u32,
    pub policy: crate::policy::Document,
}

impl Key {
    pub fn module(&self) -> String {
        format!("{}_key", self.side)
    }

    /// The alias ARN (`alias` is `alias/NAME`): names the key from any account, where a
    /// bare alias resolves in the caller's account.
    pub fn alias_arn(&self) -> String {
        format!(
            "arn:{}:kms:{}:{}:{}",
            partition_for_region(&self.region),
            self.region,
            self.account,
            self.alias
        )
    }
}

/// What a role is for; also decides its Terraform module name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RolePurpose {
    /// Runs `s3bridge copy` and `verify`.
    Copy,
    /// Assumed by S3 to replicate from the given side's bucket.
    Replication(Side),
    /// Assumed by S3 Batch Operations to replicate existing objects.
    BatchReplication,
    /// Assumed by S3 Batch Operations to copy objects (`copy --engine batch`).
    BatchCopy,
    /// Runs `s3bridge restore` (the spec's `restore:` section).
    Restore,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub purpose: RolePurpose,
    pub name: String,
    /// The side whose account hosts the role.
    pub side: Side,
    pub account: String,
    pub arn: String,
    /// What the role does, in a few words ("S3 replication from s3://a to s3://b").
    pub summary: String,
    /// IAM description: the summary with the spec's name.
    pub description: String,
    pub trust: crate::policy::Document,
    /// Inline policies by name.
    pub policies: Vec<(String, crate::policy::Document)>,
}

impl Role {
    pub fn module(&self) -> String {
        match self.purpose {
            RolePurpose::Copy => "copy_role".into(),
            RolePurpose::Replication(Side::Source) => "replication_role".into(),
            RolePurpose::Replication(Side::Destination) => "reverse_replication_role".into(),
            RolePurpose::BatchReplication => "batch_replication_role".into(),
            RolePurpose::BatchCopy => "batch_copy_role".into(),
            RolePurpose::Restore => "restore_role".into(),
        }
    }

    /// The role ARN as a reference, so Terraform creates the role before any policy
    /// that names it (IAM and KMS refuse principals that do not exist).
    pub fn reference(&self) -> Term {
        Term::Ref(Reference {
            text: self.arn.clone(),
            known: true,
            module: self.module(),
            output: "arn".into(),
        })
    }
}

/// A replication configuration on one bucket (two when bidirectional).
#[derive(Debug, Clone)]
pub struct Replication {
    pub from: Side,
    pub bucket: String,
    pub role: Term,
    pub rules: Vec<Rule>,
}

impl Replication {
    pub fn module(&self) -> String {
        match self.from {
            Side::Source => "replication".into(),
            Side::Destination => "reverse_replication".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub priority: u32,
    pub prefix: String,
    pub tags: BTreeMap<String, String>,
    pub delete_markers: bool,
    pub destination_bucket_arn: String,
    /// Set only across accounts, with owner override to the destination's owner.
    pub destination_account: Option<String>,
    pub storage_class: Option<StorageClass>,
    pub replica_key: Term,
    pub replication_time_control: bool,
    /// Replication metrics on (RTC, or `monitoring:` in the spec).
    pub metrics: bool,
    /// Keep replicas' metadata changes flowing back (two-way replication).
    pub replica_modifications: bool,
    pub existing_object_replication: bool,
}

/// Where an S3 Batch Operations job of the bundle reads manifests and writes reports,
/// and the role it runs as.
#[derive(Debug, Clone)]
pub struct Batch {
    pub bucket: String,
    pub bucket_arn: String,
    pub prefix: String,
    pub role_arn: String,
}

/// Terraform provider settings for one side.
#[derive(Debug, Clone)]
pub struct Provider {
    pub side: Side,
    pub region: String,
    pub account: String,
    pub assume_role: Option<String>,
}

/// Everything a spec asks for.
#[derive(Debug, Clone)]
pub struct Desired {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub providers: Vec<Provider>,
    pub buckets: Vec<Bucket>,
    pub keys: Vec<Key>,
    pub roles: Vec<Role>,
    pub replications: Vec<Replication>,
    pub batch: Option<Batch>,
    /// The batch copy engine's role and work prefix (`copy.engine: batch`).
    pub batch_copy: Option<Batch>,
    /// For each existing key: the statements its owner must add to the key policy (the
    /// bundle cannot change a key it does not manage).
    pub existing_key_grants: Vec<ExistingKeyGrants>,
    /// Replication health monitoring (`monitoring:`), in the source account.
    pub monitoring: Option<monitoring::Monitoring>,
}

/// What an existing key's policy must allow for the bundle to work.
#[derive(Debug, Clone)]
pub struct ExistingKeyGrants {
    pub side: Side,
    pub key_arn: String,
    pub account: String,
    pub statements: crate::policy::Document,
}

impl Desired {
    pub fn bucket(&self, side: Side) -> &Bucket {
        self.buckets
            .iter()
            .find(|b| b.side == side)
            .expect("both buckets are modelled")
    }

    pub fn key(&self, side: Side) -> Option<&Key> {
        self.keys.iter().find(|k| k.side == side)
    }

    pub fn role(&self, purpose: RolePurpose) -> Option<&Role> {
        self.roles.iter().find(|r| r.purpose == purpose)
    }

    /// Every policy document the bundle creates, in a stable order.
    pub fn documents(&self) -> Vec<NamedDocument> {
        let mut out = Vec::new();
        for role in &self.roles {
            out.push(NamedDocument {
                name: format!("{}/trust", role.name),
                kind: Kind::Trust,
                account: role.account.clone(),
                attached_to: Some(role.arn.clone()),
                document: role.trust.clone(),
            });
            for (policy, document) in &role.policies {
                out.push(NamedDocument {
                    name: format!("{}/{policy}", role.name),
                    kind: Kind::Iam,
                    account: role.account.clone(),
                    attached_to: Some(role.arn.clone()),
                    document: document.clone(),
                });
            }
        }
        for bucket in &self.buckets {
            out.push(NamedDocument {
                name: format!("{}/bucket-policy", bucket.name),
                kind: Kind::Bucket,
                account: bucket.account.clone(),
                attached_to: Some(bucket.arn.clone()),
                document: bucket.policy.clone(),
            });
        }
        for key in &self.keys {
            out.push(NamedDocument {
                name: format!("{}/key-policy", key.alias),
                kind: Kind::Key,
                account: key.account.clone(),
                attached_to: Some(self.bucket(key.side).key.as_str().to_string()),
                document: key.policy.clone(),
            });
        }
        for grants in &self.existing_key_grants {
            out.push(NamedDocument {
                name: format!("{}/statements-to-add", grants.key_arn),
                kind: Kind::Key,
                account: grants.account.clone(),
                attached_to: Some(grants.key_arn.clone()),
                document: grants.statements.clone(),
            });
        }
        if let Some(m) = &self.monitoring {
            let (name, attached_to) = match &m.topic.created {
                Some(created) => {
                    out.push(NamedDocument {
                        name: format!("{}/key-policy", created.key_alias),
                        kind: Kind::Key,
                        account: m.account.clone(),
                        attached_to: Some(created.key.as_str().to_string()),
                        document: created.key_policy.clone(),
                    });
                    (format!("{}/topic-policy", m.topic.name), &m.topic.arn)
                }
                None => (format!("{}/statements-to-add", m.topic.arn), &m.topic.arn),
            };
            out.push(NamedDocument {
                name,
                kind: Kind::Topic,
                account: m.account.clone(),
                attached_to: Some(attached_to.clone()),
                document: m.topic.policy.clone(),
            });
        }
        out
    }
}

/// Facts about one side that every builder below needs.
#[derive(Debug, Clone)]
pub(crate) struct SideFacts {
    pub side: Side,
    pub bucket: String,
    pub bucket_arn: String,
    pub account: String,
    pub region: String,
    pub partition: &'static str,
    pub key: Term,
    pub admins: Vec<String>,
    pub users: Vec<String>,
    /// Principals that run `s3bridge audit`: they read the key, never use it.
    pub auditors: Vec<String>,
    /// Who can recover a created key whose administrators are gone.
    pub recovery: crate::spec::KeyRecovery,
}

impl SideFacts {
    fn new(spec: &Spec, side: Side) -> SideFacts {
        let b = spec.side(side);
        let partition = partition_for_region(&b.region);
        let key = match &b.kms_key {
            KmsKeySpec::Existing(arn) => Term::Text(arn.clone()),
            KmsKeySpec::Create => Term::Ref(Reference {
                text: format!(
                    "arn:{partition}:kms:{}:{}:key/{}-KEY-ID",
                    b.region,
                    b.account_id,
                    side.as_str().to_ascii_uppercase()
                ),
                known: false,
                module: format!("{side}_key"),
                output: "arn".into(),
            }),
        };
        let mut admins = b.kms_admins.clone();
        if let Some(deployer) = &b.terraform_role {
            if !admins.contains(deployer) {
                admins.push(deployer.clone());
            }
        }
        SideFacts {
            side,
            bucket: b.bucket.clone(),
            bucket_arn: bucket_arn(partition, &b.bucket),
            account: b.account_id.clone(),
            region: b.region.clone(),
            partition,
            key,
            admins,
            users: b.kms_users.clone(),
            auditors: spec.auditors.clone(),
            recovery: b.kms_key_recovery,
        }
    }

    /// `kms:ViaService` value: the key may only be used by S3 in the bucket's region.
    pub fn s3_service(&self) -> String {
        format!("s3.{}.amazonaws.com", self.region)
    }

    pub fn objects_arn(&self) -> String {
        format!("{}/*", self.bucket_arn)
    }

    /// The account root, the principal that stands for the whole account in a key policy.
    pub fn account_root(&self) -> String {
        format!("arn:{}:iam::{}:root", self.partition, self.account)
    }
}

/// Builds the desired state from a validated spec.
pub fn build(spec: &Spec) -> Desired {
    let source = SideFacts::new(spec, Side::Source);
    let destination = SideFacts::new(spec, Side::Destination);
    let cross_account = source.account != destination.account;
    let facts = |side: Side| -> &SideFacts {
        match side {
            Side::Source => &source,
            Side::Destination => &destination,
        }
    };

    let mut roles = vec![policies::copy_role(spec, &source, &destination)];
    roles.push(policies::replication_role(
        spec,
        &source,
        &destination,
        cross_account,
    ));
    if spec.replication.bidirectional {
        roles.push(policies::replication_role(
            spec,
            &destination,
            &source,
            cross_account,
        ));
    }
    let batch = if spec.replication.existing_objects && !spec.replication.existing_objects_via_rule
    {
        let prefix = spec
            .replication
            .batch_report_prefix
            .clone()
            .unwrap_or_else(|| DEFAULT_BATCH_PREFIX.to_string());
        let role = policies::batch_role(spec, &source, &prefix);
        let batch = Batch {
            bucket: source.bucket.clone(),
            bucket_arn: source.bucket_arn.clone(),
            prefix,
            role_arn: role.arn.clone(),
        };
        roles.push(role);
        Some(batch)
    } else {
        None
    };
    let batch_copy = (spec.copy.engine == CopyEngine::Batch).then(|| {
        let role = policies::batch_copy_role(spec, &source, &destination, BATCH_COPY_PREFIX);
        let batch_copy = Batch {
            bucket: destination.bucket.clone(),
            bucket_arn: destination.bucket_arn.clone(),
            prefix: BATCH_COPY_PREFIX.to_string(),
            role_arn: role.arn.clone(),
        };
        roles.push(role);
        batch_copy
    });

    if spec.restore.is_some() {
        roles.push(policies::restore_role(spec, &source, &destination));
    }

    let keys = [Side::Source, Side::Destination]
        .into_iter()
        .filter(|side| matches!(spec.side(*side).kms_key, KmsKeySpec::Create))
        .map(|side| {
            let f = facts(side);
            Key {
                side,
                bucket: f.bucket.clone(),
                account: f.account.clone(),
                region: f.region.clone(),
                alias: spec
                    .side(side)
                    .kms_alias
                    .clone()
                    .unwrap_or_else(|| format!("alias/{}-{side}", spec.name)),
                description: format!(
                    "s3bridge {}: default encryption of s3://{}",
                    spec.name, f.bucket
                ),
                rotation: true,
                deletion_window_days: KEY_DELETION_WINDOW_DAYS,
                policy: policies::key_policy(f, &roles),
            }
        })
        .collect();

    // Batch Operations jobs write their reports as their roles: Batch Replication into the
    // source bucket, the batch copy into the destination bucket.
    let report_writers = |f: &SideFacts| -> Vec<&Role> {
        [
            (&batch, RolePurpose::BatchReplication),
            (&batch_copy, RolePurpose::BatchCopy),
        ]
        .into_iter()
        .filter(|(setting, _)| setting.as_ref().is_some_and(|b| b.bucket == f.bucket))
        .filter_map(|(_, purpose)| roles.iter().find(|r| r.purpose == purpose))
        .collect()
    };
    let buckets = [Side::Source, Side::Destination]
        .into_iter()
        .map(|side| {
            let f = facts(side);
            let b = spec.side(side);
            Bucket {
                side,
                name: f.bucket.clone(),
                account: f.account.clone(),
                region: f.region.clone(),
                partition: f.partition,
                arn: f.bucket_arn.clone(),
                existing: b.existing,
                imports: if b.existing {
                    b.existing_config
                        .clone()
                        .unwrap_or_else(|| BucketSetting::ALWAYS_PRESENT.to_vec())
                } else {
                    Vec::new()
                },
                key: f.key.clone(),
                settings: BucketSettings::ENFORCED,
                policy: policies::bucket_policy(f, &roles, &report_writers(f)),
                kept_statements: b.keep_policy_statements.clone(),
                kept_lifecycle_rules: b.keep_lifecycle_rules.clone(),
                tags: b.bucket_tags.clone(),
            }
        })
        .collect();

    let mut replications = vec![replication(
        spec,
        &source,
        &destination,
        &roles,
        cross_account,
    )];
    if spec.replication.bidirectional {
        replications.push(replication(
            spec,
            &destination,
            &source,
            &roles,
            cross_account,
        ));
    }

    let existing_key_grants = [Side::Source, Side::Destination]
        .into_iter()
        .filter_map(|side| match &spec.side(side).kms_key {
            KmsKeySpec::Existing(arn) => Some(ExistingKeyGrants {
                side,
                key_arn: arn.clone(),
                account: facts(side).account.clone(),
                statements: policies::key_grants(facts(side), &roles),
            }),
            KmsKeySpec::Create => None,
        })
        .collect();

    let providers = [Side::Source, Side::Destination]
        .into_iter()
        .map(|side| Provider {
            side,
            region: spec.side(side).region.clone(),
            account: spec.side(side).account_id.clone(),
            assume_role: spec.side(side).terraform_role.clone(),
        })
        .collect();

    Desired {
        name: spec.name.clone(),
        tags: spec.tags.clone(),
        providers,
        buckets,
        keys,
        roles,
        replications,
        batch,
        batch_copy,
        existing_key_grants,
        monitoring: monitoring::build(spec, &source),
    }
}

fn replication(
    spec: &Spec,
    from: &SideFacts,
    to: &SideFacts,
    roles: &[Role],
    cross_account: bool,
) -> Replication {
    let role = roles
        .iter()
        .find(|r| r.purpose == RolePurpose::Replication(from.side))
        .expect("a replication role per direction");
    let count = spec.replication.rules.len() as u32;
    let rules = spec
        .replication
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| Rule {
            id: r.id.clone(),
            priority: r.priority.unwrap_or(count - i as u32),
            prefix: r.prefix.clone(),
            tags: r.tags.clone(),
            delete_markers: r.delete_markers,
            destination_bucket_arn: to.bucket_arn.clone(),
            destination_account: cross_account.then(|| to.account.clone()),
            storage_class: r.storage_class,
            replica_key: to.key.clone(),
            replication_time_control: r.replication_time_control,
            metrics: r.replication_time_control
                || (from.side == Side::Source && spec.monitoring.is_some()),
            replica_modifications: spec.replication.bidirectional,
            existing_object_replication: from.side == Side::Source
                && spec.replication.existing_objects
                && spec.replication.existing_objects_via_rule,
        })
        .collect();
    Replication {
        from: from.side,
        bucket: from.bucket.clone(),
        role: role.reference(),
        rules,
    }
}

/// The ARN of a role by purpose, for callers that only need the name (audit, copy).
pub fn role_arn_for(spec: &Spec, purpose: RolePurpose) -> String {
    let side = match purpose {
        RolePurpose::Copy => spec.copy_role.account,
        RolePurpose::Replication(side) => side,
        RolePurpose::BatchReplication => Side::Source,
        RolePurpose::BatchCopy => Side::Destination,
        RolePurpose::Restore => Side::Source,
    };
    let b = spec.side(side);
    role_arn(
        partition_for_region(&b.region),
        &b.account_id,
        &policies::role_name(spec, purpose),
    )
}
