//! The s3bridge spec: one YAML file that declares a source bucket, a destination bucket,
//! their KMS keys, the copy role and the replication between them.
//!
//! Loading goes YAML text → positioned tree (`yaml`) → typed `Spec` (`de`) → semantic
//! checks (`validate`). Every problem found on the way becomes a `Diagnostic` that names
//! `file:line:col`, the field, and what to do. The types below are also the source of
//! the JSON Schema that `s3bridge schema` prints, so their doc comments are user-facing.

pub mod de;
pub mod diagnostic;
pub mod names;
pub mod shape;
pub mod validate;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use diagnostic::{Diagnostic, Severity, SpecError};

/// The whole spec file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "s3bridge spec", extend("$id" = "https://s3bridge.dev/schema/v1.json"))]
pub struct Spec {
    /// Format version of this file. Only `1` exists.
    pub version: u32,
    /// Short name of this replication (lowercase letters, digits, hyphens; at most 40).
    /// Generated role names and key aliases start with it.
    pub name: String,
    /// Tags put on every resource the bundle creates.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The bucket objects are replicated from.
    pub source: BucketSpec,
    /// The bucket objects are replicated to, usually in another account.
    pub destination: BucketSpec,
    /// The role people or jobs assume to run the initial copy and verification.
    pub copy_role: CopyRoleSpec,
    /// Native S3 replication between the buckets.
    #[serde(default)]
    pub replication: ReplicationSpec,
    /// How `s3bridge copy` and `s3bridge verify` map and filter keys.
    #[serde(default)]
    pub copy: CopySpec,
    /// Principals (role or user ARNs) that run `s3bridge audit`. The keys s3bridge creates
    /// let them read the key's configuration and policy, never use it; give them the
    /// read-only policy `s3bridge policies SPEC --auditor` prints.
    #[serde(default)]
    pub auditors: Vec<String>,
    /// A restore role for `s3bridge restore` (optional): reads versions of the replica
    /// (and of the source, for rollbacks in place) and writes them back into the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreSpec>,
    /// Replication health: metrics on every rule, CloudWatch alarms per rule and S3
    /// replication event notifications, all sent to one SNS topic in the source account.
    /// `s3bridge status` reads them back; `s3bridge audit` checks they are wired.
    #[serde(default)]
    pub monitoring: Option<MonitoringSpec>,
}

/// Replication health monitoring (docs/monitoring.md says what each alarm means).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSpec {
    /// Where alarms and replication events go: `topic_arn` (an existing SNS topic in the
    /// source account and Region) or `create` (a KMS-encrypted topic the bundle creates).
    pub notify: NotifySpec,
    /// Alarm when a rule's ReplicationLatency stays above this many seconds (rules with
    /// Replication Time Control always use 900, RTC's 15 minutes). Default 900.
    #[serde(default = "default_latency_seconds")]
    pub latency_seconds: u32,
    /// Alarm when a rule's OperationsPendingReplication has grown for this many minutes
    /// in a row (a multiple of 5). Default 30.
    #[serde(default = "default_pending_growth_minutes")]
    pub pending_growth_minutes: u32,
}

pub fn default_latency_seconds() -> u32 {
    900
}

pub fn default_pending_growth_minutes() -> u32 {
    30
}

/// The SNS topic alarms and events are sent to: give exactly one of the two.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    /// ARN of an existing SNS topic in the source bucket's account and Region. Its owner
    /// adds the statements the bundle's README lists to the topic (and key) policy.
    #[serde(default)]
    pub topic_arn: Option<String>,
    /// Create a KMS-encrypted topic (`<name>-replication-health`) with these subscriptions.
    #[serde(default)]
    pub create: Option<CreateTopicSpec>,
}

/// Subscriptions of a topic the bundle creates.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTopicSpec {
    /// Email addresses to notify (each must confirm the subscription mail).
    #[serde(default)]
    pub email: Vec<String>,
    /// HTTPS endpoints to notify (each must confirm the subscription).
    #[serde(default)]
    pub https: Vec<String>,
}

/// One side of the replication: a bucket, its account, region and key.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    /// Bucket name (S3 general-purpose bucket naming rules).
    pub bucket: String,
    /// The 12-digit AWS account that owns the bucket. Quote it: "111111111111".
    pub account_id: String,
    /// AWS region of the bucket, e.g. ap-southeast-2.
    pub region: String,
    /// The bucket already exists: import it (and its existing settings) into Terraform,
    /// never recreate it.
    #[serde(default)]
    pub existing: bool,
    /// Settings the existing bucket already has, each imported rather than created so the
    /// plan shows what changes. Only with `existing: true`. Every bucket has `versioning`
    /// and `encryption`; list the others your bucket has (`s3bridge audit` shows them).
    #[serde(default)]
    pub existing_config: Option<Vec<BucketSetting>>,
    /// Statements of the existing bucket policy that s3bridge does not own (grants to
    /// other teams or accounts), kept in the policy the bundle writes: PutBucketPolicy
    /// replaces the whole policy. Each is an IAM policy statement as JSON. Only with
    /// `existing: true`; `s3bridge discover` fills it from the live policy.
    #[serde(default)]
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    pub keep_policy_statements: Vec<serde_json::Value>,
    /// Lifecycle rules of the existing bucket kept next to s3bridge's own rule:
    /// PutBucketLifecycleConfiguration replaces every rule. Only with `existing: true`;
    /// `s3bridge discover` fills it from the live configuration.
    #[serde(default)]
    pub keep_lifecycle_rules: Vec<LifecycleRuleSpec>,
    /// The bucket's own tags (beyond the spec's `tags`), kept when the bucket is imported:
    /// Terraform would otherwise remove the tags it does not know.
    #[serde(default)]
    pub bucket_tags: BTreeMap<String, String>,
    /// The existing bucket has a replication configuration and the bundle may replace it
    /// (`replication` in existing_config). Required then: PutBucketReplication replaces
    /// every rule the bucket had.
    #[serde(default)]
    pub replace_existing_replication: bool,
    /// `create` for a new customer-managed key, or the key ARN of an existing one (in this
    /// bucket's account and region; not an alias).
    #[serde(default)]
    pub kms_key: KmsKeySpec,
    /// Alias for a created key. Default: `alias/<name>-<side>`.
    #[serde(default)]
    pub kms_alias: Option<String>,
    /// Principals (role or user ARNs) that administer the created key. They can manage it
    /// but not use it to encrypt or decrypt.
    #[serde(default)]
    pub kms_admins: Vec<String>,
    /// How a created key stays manageable if every administrator role is deleted (a key
    /// nobody may manage can only be recovered by AWS Support). `account` (default): the
    /// account root may administer the key, never use it, so an IAM administrator of the
    /// account can restore a key policy. `admins`: no root statement; at least two
    /// `kms_admins` are required instead.
    #[serde(default)]
    pub kms_key_recovery: KeyRecovery,
    /// Principals (role or user ARNs) that read and write this bucket's objects, e.g. the
    /// applications using it. The key policy lets them use the key through S3 only.
    #[serde(default)]
    pub kms_users: Vec<String>,
    /// Role the Terraform provider for this side assumes (optional). It also stays a key
    /// administrator, or KMS would refuse the key policy (lockout safety check).
    #[serde(default)]
    pub terraform_role: Option<String>,
}

/// A bucket setting that Terraform manages as its own resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BucketSetting {
    Versioning,
    Encryption,
    Ownership,
    PublicAccessBlock,
    Policy,
    Lifecycle,
    Replication,
}

impl BucketSetting {
    pub const ALL: [BucketSetting; 7] = [
        BucketSetting::Versioning,
        BucketSetting::Encryption,
        BucketSetting::Ownership,
        BucketSetting::PublicAccessBlock,
        BucketSetting::Policy,
        BucketSetting::Lifecycle,
        BucketSetting::Replication,
    ];

    /// What every S3 bucket has, whatever its age: a versioning state (possibly never
    /// enabled) and, since January 2023, default encryption.
    pub const ALWAYS_PRESENT: [BucketSetting; 2] =
        [BucketSetting::Versioning, BucketSetting::Encryption];

    pub fn as_str(self) -> &'static str {
        match self {
            BucketSetting::Versioning => "versioning",
            BucketSetting::Encryption => "encryption",
            BucketSetting::Ownership => "ownership",
            BucketSetting::PublicAccessBlock => "public_access_block",
            BucketSetting::Policy => "policy",
            BucketSetting::Lifecycle => "lifecycle",
            BucketSetting::Replication => "replication",
        }
    }
}

/// A lifecycle rule of an existing bucket, kept when the bundle writes the bucket's
/// lifecycle configuration (the fields s3bridge can carry over; `s3bridge discover` says
/// when a live rule uses others).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRuleSpec {
    /// Rule ID, unique in the bucket.
    pub id: String,
    /// Whether the rule is enabled. Default: true.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Only keys starting with this prefix. Default: every key.
    #[serde(default)]
    pub prefix: String,
    /// Only objects carrying all these tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Days after creation when current versions expire.
    #[serde(default)]
    pub expiration_days: Option<u32>,
    /// Transitions of current versions to other storage classes.
    #[serde(default)]
    pub transitions: Vec<TransitionSpec>,
    /// Days after becoming noncurrent when noncurrent versions expire.
    #[serde(default)]
    pub noncurrent_expiration_days: Option<u32>,
    /// Transitions of noncurrent versions (days after becoming noncurrent).
    #[serde(default)]
    pub noncurrent_transitions: Vec<TransitionSpec>,
    /// Days after which this rule aborts incomplete multipart uploads.
    #[serde(default)]
    pub abort_incomplete_multipart_days: Option<u32>,
}

fn enabled() -> bool {
    true
}

/// A lifecycle transition: after `days`, move to `storage_class`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionSpec {
    pub days: u32,
    /// STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE.
    pub storage_class: String,
}

/// `create`, or the ARN of an existing key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KmsKeySpec {
    #[default]
    Create,
    Existing(String),
}

impl<'de> Deserialize<'de> for KmsKeySpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(if text == "create" {
            KmsKeySpec::Create
        } else {
            KmsKeySpec::Existing(text)
        })
    }
}

impl Serialize for KmsKeySpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            KmsKeySpec::Create => serializer.serialize_str("create"),
            KmsKeySpec::Existing(arn) => serializer.serialize_str(arn),
        }
    }
}

impl JsonSchema for KmsKeySpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KmsKeySpec".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`create`, or the ARN of an existing customer-managed key.",
            "anyOf": [
                {"const": "create"},
                {"type": "string", "pattern": "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$"}
            ]
        })
    }
}

/// Which side of the replication hosts a role.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    Serialize,
    JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Source,
    Destination,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Destination => "destination",
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Source => Side::Destination,
            Side::Destination => Side::Source,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role that runs the initial copy (`s3bridge copy`) and `s3bridge verify`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyRoleSpec {
    /// IAM role name.
    pub name: String,
    /// Which account hosts the role.
    pub account: Side,
    /// Who may assume it: role or user ARNs. No wildcards, no account roots.
    pub trusted_principals: Vec<String>,
}

/// The restore role (`s3bridge restore`), hosted in the source account.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreSpec {
    /// IAM role name (default: NAME-restore).
    #[serde(default)]
    pub role_name: Option<String>,
    /// Who may assume it: role or user ARNs. No wildcards, no account roots.
    pub trusted_principals: Vec<String>,
}

/// Native S3 replication.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicationSpec {
    /// Replicate the objects already in the source bucket too, through an S3 Batch
    /// Replication job (`s3bridge replicate-existing`).
    #[serde(default)]
    pub existing_objects: bool,
    /// Put `existing_object_replication` in the rules instead of using a Batch
    /// Replication job. Only for accounts where AWS has enabled it (it is otherwise
    /// rejected with MalformedXML).
    #[serde(default)]
    pub existing_objects_via_rule: bool,
    /// Replicate both ways (native two-way replication with replica modification sync).
    #[serde(default)]
    pub bidirectional: bool,
    /// Name of the replication role. Default: `<name>-replication`.
    #[serde(default)]
    pub role_name: Option<String>,
    /// Name of the S3 Batch Replication role. Default: `<name>-batch-replication`.
    #[serde(default)]
    pub batch_role_name: Option<String>,
    /// Where in the source bucket Batch Replication writes manifests and completion
    /// reports. Default: `s3bridge/batch-replication/`.
    #[serde(default)]
    pub batch_report_prefix: Option<String>,
    /// Replication rules. Default: one rule that replicates every object.
    #[serde(default = "default_rules")]
    pub rules: Vec<RuleSpec>,
}

impl Default for ReplicationSpec {
    fn default() -> Self {
        ReplicationSpec {
            existing_objects: false,
            existing_objects_via_rule: false,
            bidirectional: false,
            role_name: None,
            batch_role_name: None,
            batch_report_prefix: None,
            rules: default_rules(),
        }
    }
}

fn default_rules() -> Vec<RuleSpec> {
    vec![RuleSpec {
        id: "all".into(),
        prefix: String::new(),
        tags: BTreeMap::new(),
        priority: None,
        storage_class: None,
        delete_markers: false,
        replication_time_control: false,
    }]
}

/// One replication rule.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Rule id, unique in the spec.
    pub id: String,
    /// Only keys starting with this prefix. Default: every key.
    #[serde(default)]
    pub prefix: String,
    /// Only objects carrying all these tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Rule priority; higher wins where rules overlap. Default: list order, first highest.
    #[serde(default)]
    pub priority: Option<u32>,
    /// Storage class of the replicas. Default: the source object's class.
    #[serde(default)]
    pub storage_class: Option<StorageClass>,
    /// Replicate delete markers (not possible with tag filters).
    #[serde(default)]
    pub delete_markers: bool,
    /// S3 Replication Time Control: 99.99% of objects within 15 minutes, with metrics.
    #[serde(default)]
    pub replication_time_control: bool,
}

/// Storage classes a replica can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(clippy::upper_case_acronyms)]
pub enum StorageClass {
    Standard,
    ReducedRedundancy,
    StandardIa,
    OnezoneIa,
    IntelligentTiering,
    Glacier,
    DeepArchive,
    GlacierIr,
}

impl StorageClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::ReducedRedundancy => "REDUCED_REDUNDANCY",
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
            StorageClass::Glacier => "GLACIER",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
            StorageClass::GlacierIr => "GLACIER_IR",
        }
    }
}

/// Who can recover a created key whose administrators are gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyRecovery {
    /// The account root administers the key (no data use): IAM policies of the account
    /// can then grant key administration, as KMS's default key policy allows.
    #[default]
    Account,
    /// Only the listed administrators: at least two `kms_admins`, so one deleted role does
    /// not orphan the key.
    Admins,
}

/// Key mapping and filters for the initial copy and its verification.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopySpec {
    /// Source key prefix → destination key prefix. The longest matching prefix wins;
    /// other keys keep their name.
    #[serde(default)]
    pub prefix_map: BTreeMap<String, String>,
    /// Globs of source keys to leave out (`*.tmp`, `logs/**`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Globs of source keys to copy; default all.
    #[serde(default)]
    pub include: Vec<String>,
    /// How `s3bridge copy` copies by default. `batch` also makes the bundle create the
    /// role S3 Batch Operations assumes to copy (`<name>-batch-copy`), so that
    /// `s3bridge copy SPEC --engine batch` has a job to run.
    #[serde(default)]
    pub engine: CopyEngine,
}

/// Who copies the objects: this machine, or an S3 Batch Operations job (S3PutObjectCopy).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum CopyEngine {
    /// Server-side copies (or streams) sent from this machine.
    #[default]
    Local,
    /// An S3 Batch Operations S3PutObjectCopy job over a manifest of what differs.
    Batch,
}

impl Spec {
    pub fn side(&self, side: Side) -> &BucketSpec {
        match side {
            Side::Source => &self.source,
            Side::Destination => &self.destination,
        }
    }

    /// The JSON Schema of the spec, for editors.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Spec)).expect("schema is JSON")
    }
}

/// A complete, valid spec (README's), printed by `s3bridge schema --example`.
pub const EXAMPLE: &str = include_str!("../../fixtures/specs/example.yaml");

/// What to check in a file that is not YAML.
const YAML_HINT: &str = "check the indentation, the colons and that every bracket and quote is \
     closed at this line or just before it";

/// Where a user of the binary alone finds a spec to start from.
pub const EXAMPLE_HINT: &str =
    "`s3bridge schema --example > spec.yaml` writes a complete example to start from";

/// A spec that loaded and passed validation, with the warnings it raised.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: Spec,
    pub path: PathBuf,
    pub warnings: Vec<Diagnostic>,
}

/// Reads, types and validates a spec file.
pub fn load(path: &Path) -> Result<LoadedSpec, SpecError> {
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| {
        SpecError::unreadable(Diagnostic::error(
            &file,
            yaml::Pos { line: 1, col: 1 },
            "",
            format!("cannot read the spec: {e}"),
            Some("check the path given on the command line".into()),
        ))
    })?;
    let spec_and_warnings = parse_str(&file, &source)?;
    Ok(LoadedSpec {
        spec: spec_and_warnings.0,
        path: path.to_path_buf(),
        warnings: spec_and_warnings.1,
    })
}

/// Types and validates spec text; `file` is only used in diagnostics.
pub fn parse_str(file: &str, source: &str) -> Result<(Spec, Vec<Diagnostic>), SpecError> {
    let root = yaml::parse(source)
        .map_err(|e| {
            SpecError::single(Diagnostic::error(
                file,
                e.pos,
                "",
                format!("invalid YAML: {}", e.message),
                Some(e.hint.unwrap_or_else(|| YAML_HINT.into())),
            ))
        })?
        .ok_or_else(|| {
            SpecError::single(Diagnostic::error(
                file,
                yaml::Pos { line: 1, col: 1 },
                "",
                "the spec is empty".into(),
                Some(EXAMPLE_HINT.into()),
            ))
        })?;
    // Every shape problem at once; serde would stop at the first.
    let shape_problems = shape::check(&root, &Spec::json_schema(), file);
    if !shape_problems.is_empty() {
        return Err(SpecError {
            diagnostics: shape_problems,
            unreadable: false,
        });
    }
    let spec: Spec = de::from_node(&root).map_err(|e| {
        SpecError::single(Diagnostic::error(
            file,
            e.pos.unwrap_or(root.pos),
            &e.path,
            e.message,
            e.hint,
        ))
    })?;
    let positions = yaml::PosIndex::build(&root);
    let diagnostics = validate::check(&spec, file, &positions);
    let (errors, warnings): (Vec<_>, Vec<_>) = diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if errors.is_empty() {
        Ok((spec, warnings))
    } else {
        Err(SpecError {
            diagnostics: errors.into_iter().chain(warnings).collect(),
            unreadable: false,
        })
    }
}
