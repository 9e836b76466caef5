//! `s3bridge discover s3://SRC s3://DST [--out FILE]`: reads two live buckets (account,
//! region, versioning, default encryption, ownership, Block Public Access, policy,
//! lifecycle, replication, tags, object lock, CORS, logging, notifications, ACLs) and
//! writes a starting spec that adopts them: `existing: true`, every setting they have in
//! `existing_config` (imported, never created over), the policy statements and lifecycle
//! rules that are not s3bridge's kept, comments where a choice is needed, and a warning on
//! stderr for everything the bundle would change.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::Value;

use super::{block_on, parse_s3_url, side_access, Status};
use crate::aws::error::AwsError;
use crate::aws::{bucket_session, Session};
use crate::cli::DiscoverArgs;
use crate::error::Problem;
use crate::spec::{BucketSetting, LifecycleRuleSpec, Side, TransitionSpec};
use crate::{errln, note, out};

/// What one live bucket has.
#[derive(Debug, Default)]
struct Found {
    bucket: String,
    /// False: no such bucket yet (a destination the bundle will create).
    exists: bool,
    account: String,
    /// The IAM principal discover ran as (a role for an assumed-role session).
    principal: Option<String>,
    region: String,
    versioning: Option<String>,
    /// (algorithm, key, bucket key) of the default encryption rule.
    encryption: Option<(String, Option<String>, bool)>,
    ownership: Option<String>,
    public_access_block: Option<[bool; 4]>,
    policy: Option<Value>,
    lifecycle: Option<Vec<aws_sdk_s3::types::LifecycleRule>>,
    replication: Option<aws_sdk_s3::types::ReplicationConfiguration>,
    tags: BTreeMap<String, String>,
    object_lock: bool,
    cors_rules: usize,
    logging_target: Option<String>,
    notifications: Vec<String>,
    /// Grants of the bucket ACL to anyone but the owner.
    acl_grants: usize,
}

/// `Some(answer)`, `None` when S3 answers one of `absent` (the setting is not configured).
fn optional<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    operation: &str,
    bucket: &str,
    absent: &[&str],
) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(answer) => Ok(Some(answer)),
        Err(error) if error.code().is_some_and(|code| absent.contains(&code)) => Ok(None),
        Err(error) => Err(AwsError::new(operation, format!("s3://{bucket}"), &error).into()),
    }
}

async fn read(session: &Session, bucket: &str) -> Result<Found> {
    let s3 = session.s3();
    let b = bucket;
    let (versioning, encryption, ownership, pab, policy, lifecycle, replication) = tokio::join!(
        s3.get_bucket_versioning().bucket(b).send(),
        s3.get_bucket_encryption().bucket(b).send(),
        s3.get_bucket_ownership_controls().bucket(b).send(),
        s3.get_public_access_block().bucket(b).send(),
        s3.get_bucket_policy().bucket(b).send(),
        s3.get_bucket_lifecycle_configuration().bucket(b).send(),
        s3.get_bucket_replication().bucket(b).send(),
    );
    let (tagging, lock, cors, logging, notifications, acl) = tokio::join!(
        s3.get_bucket_tagging().bucket(b).send(),
        s3.get_object_lock_configuration().bucket(b).send(),
        s3.get_bucket_cors().bucket(b).send(),
        s3.get_bucket_logging().bucket(b).send(),
        s3.get_bucket_notification_configuration().bucket(b).send(),
        s3.get_bucket_acl().bucket(b).send(),
    );
    let mut found = Found {
        bucket: bucket.to_string(),
        exists: true,
        region: session.access.region.clone(),
        ..Found::default()
    };
    let versioning = optional(versioning, "GetBucketVersioning", b, &[])?;
    found.versioning = versioning.and_then(|v| v.status().map(|s| s.as_str().to_string()));
    let encryption = optional(
        encryption,
        "GetBucketEncryption",
        b,
        &["ServerSideEncryptionConfigurationNotFoundError"],
    )?;
    found.encryption = encryption
        .and_then(|e| e.server_side_encryption_configuration)
        .and_then(|c| c.rules().first().cloned())
        .map(|rule| {
            let default = rule.apply_server_side_encryption_by_default();
            (
                default
                    .map(|d| d.sse_algorithm().as_str().to_string())
                    .unwrap_or_default(),
                default
                    .and_then(|d| d.kms_master_key_id())
                    .map(String::from),
                rule.bucket_key_enabled().unwrap_or(false),
            )
        });
    found.ownership = optional(
        ownership,
        "GetBucketOwnershipControls",
        b,
        &["OwnershipControlsNotFoundError"],
    )?
    .and_then(|o| o.ownership_controls)
    .and_then(|c| {
        c.rules()
            .first()
            .map(|r| r.object_ownership().as_str().to_string())
    });
    found.public_access_block = optional(
        pab,
        "GetPublicAccessBlock",
        b,
        &["NoSuchPublicAccessBlockConfiguration"],
    )?
    .and_then(|p| p.public_access_block_configuration)
    .map(|c| {
        [
            c.block_public_acls().unwrap_or(false),
            c.ignore_public_acls().unwrap_or(false),
            c.block_public_policy().unwrap_or(false),
            c.restrict_public_buckets().unwrap_or(false),
        ]
    });
    if let Some(text) =
        optional(policy, "GetBucketPolicy", b, &["NoSuchBucketPolicy"])?.and_then(|p| p.policy)
    {
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            Problem::input(
                format!("the bucket policy of s3://{b} is not JSON: {e}"),
                "fix the live policy first",
            )
        })?;
        found.policy = Some(value);
    }
    found.lifecycle = optional(
        lifecycle,
        "GetBucketLifecycleConfiguration",
        b,
        &["NoSuchLifecycleConfiguration"],
    )?
    .map(|l| l.rules().to_vec());
    found.replication = optional(
        replication,
        "GetBucketReplication",
        b,
        &["ReplicationConfigurationNotFoundError"],
    )?
    .and_then(|r| r.replication_configuration);
    found.tags = optional(tagging, "GetBucketTagging", b, &["NoSuchTagSet"])?
        .map(|t| {
            t.tag_set()
                .iter()
                .map(|tag| (tag.key().to_string(), tag.value().to_string()))
                .collect()
        })
        .unwrap_or_default();
    found.object_lock = optional(
        lock,
        "GetObjectLockConfiguration",
        b,
        &["ObjectLockConfigurationNotFoundError"],
    )?
    .and_then(|l| l.object_lock_configuration)
    .is_some_and(|c| c.object_lock_enabled().is_some());
    found.cors_rules = optional(cors, "GetBucketCors", b, &["NoSuchCORSConfiguration"])?
        .map_or(0, |c| c.cors_rules().len());
    found.logging_target = optional(logging, "GetBucketLogging", b, &[])?
        .and_then(|l| l.logging_enabled)
        .map(|l| l.target_bucket().to_string());
    if let Some(n) = optional(notifications, "GetBucketNotificationConfiguration", b, &[])? {
        let kinds = [
            ("SNS topic", n.topic_configurations().len()),
            ("SQS queue", n.queue_configurations().len()),
            ("Lambda function", n.lambda_function_configurations().len()),
            (
                "EventBridge",
                usize::from(n.event_bridge_configuration().is_some()),
            ),
        ];
        found.notifications = kinds
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
    }
    if let Some(acl) = optional(acl, "GetBucketAcl", b, &[])? {
        let owner = acl.owner().and_then(|o| o.id()).unwrap_or_default();
        found.acl_grants = acl
            .grants()
            .iter()
            .filter(|g| g.grantee().and_then(|e| e.id()) != Some(owner))
            .count();
    }
    Ok(found)
}

/// Whether the bucket exists (HeadBucket: 404 when it does not; a 403 means it exists
/// and the reads that follow say what is refused).
async fn bucket_exists(session: &Session, bucket: &str) -> Result<bool> {
    match session.s3().head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Ok(false)
        }
        Err(error)
            if error
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 403) =>
        {
            Ok(true)
        }
        Err(error) => Err(AwsError::new("HeadBucket", format!("s3://{bucket}"), &error).into()),
    }
}

/// A live lifecycle rule as the spec keeps it, or why it cannot be kept.
fn lifecycle_rule(rule: &aws_sdk_s3::types::LifecycleRule) -> Result<LifecycleRuleSpec, String> {
    let id = rule.id().unwrap_or_default().to_string();
    let mut unsupported = Vec::new();
    let (mut prefix, mut tags) = (String::new(), BTreeMap::new());
    #[allow(deprecated)]
    if let Some(p) = rule.prefix() {
        prefix = p.to_string();
    }
    if let Some(filter) = rule.filter() {
        if let Some(p) = filter.prefix() {
            prefix = p.to_string();
        }
        if let Some(tag) = filter.tag() {
            tags.insert(tag.key().to_string(), tag.value().to_string());
        }
        if let Some(and) = filter.and() {
            prefix = and.prefix().unwrap_or_default().to_string();
            for tag in and.tags() {
                tags.insert(tag.key().to_string(), tag.value().to_string());
            }
            if and.object_size_greater_than().is_some() || and.object_size_less_than().is_some() {
                unsupported.push("an object size filter");
            }
        }
        if filter.object_size_greater_than().is_some() || filter.object_size_less_than().is_some() {
            unsupported.push("an object size filter");
        }
    }
    let expiration = rule.expiration();
    if expiration.is_some_and(|e| e.date().is_some()) {
        unsupported.push("an expiration date");
    }
    if expiration.is_some_and(|e| e.expired_object_delete_marker().is_some()) {
        unsupported.push("expired_object_delete_marker");
    }
    let transition = |days: Option<i32>, class: Option<String>, dated: bool| {
        if dated {
            return None;
        }
        Some(TransitionSpec {
            days: u32::try_from(days.unwrap_or(0)).unwrap_or(0),
            storage_class: class.unwrap_or_default(),
        })
    };
    let transitions: Vec<TransitionSpec> = rule
        .transitions()
        .iter()
        .filter_map(|t| {
            let converted = transition(
                t.days(),
                t.storage_class().map(|c| c.as_str().to_string()),
                t.date().is_some(),
            );
            if converted.is_none() {
                unsupported.push("a transition on a date");
            }
            converted
        })
        .collect();
    if rule
        .noncurrent_version_expiration()
        .is_some_and(|e| e.newer_noncurrent_versions().is_some())
    {
        unsupported.push("newer_noncurrent_versions");
    }
    let noncurrent_transitions = rule
        .noncurrent_version_transitions()
        .iter()
        .filter_map(|t| {
            transition(
                t.noncurrent_days(),
                t.storage_class().map(|c| c.as_str().to_string()),
                false,
            )
        })
        .collect();
    if !unsupported.is_empty() {
        unsupported.dedup();
        return Err(format!(
            "lifecycle rule `{id}` uses {}, which s3bridge cannot keep yet",
            unsupported.join(", ")
        ));
    }
    let days = |d: Option<i32>| d.and_then(|d| u32::try_from(d).ok());
    Ok(LifecycleRuleSpec {
        id,
        enabled: rule.status().as_str() == "Enabled",
        prefix,
        tags,
        expiration_days: days(expiration.and_then(|e| e.days())),
        transitions,
        noncurrent_expiration_days: days(
            rule.noncurrent_version_expiration()
                .and_then(|e| e.noncurrent_days()),
        ),
        noncurrent_transitions,
        abort_incomplete_multipart_days: days(
            rule.abort_incomplete_multipart_upload()
                .and_then(|a| a.days_after_initiation()),
        ),
    })
}

/// The IAM principal behind a caller ARN: `arn:aws:sts::1:assumed-role/NAME/session` is
/// the role `arn:aws:iam::1:role/NAME` (its path is not in the session ARN); a user is
/// itself. None for the account root and federated sessions.
fn iam_principal(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, service, _, account, resource] = parts[..] else {
        return None;
    };
    match (service, resource.split('/').collect::<Vec<_>>().as_slice()) {
        ("sts", ["assumed-role", name, ..]) => {
            Some(format!("arn:{partition}:iam::{account}:role/{name}"))
        }
        ("iam", ["user", ..]) | ("iam", ["role", ..]) => Some(arn.to_string()),
        _ => None,
    }
}

/// A spec name from a bucket name: lowercase letters, digits and hyphens, at most 40.
fn name_from(bucket: &str) -> String {
    let mut name: String = bucket
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(34);
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "adopted".into()
    } else {
        name
    }
}

/// A YAML scalar: JSON's double-quoted string is also YAML's.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string is JSON")
}

/// What one side of the spec says, and the warnings about it.
struct SideText {
    text: String,
    warnings: Vec<String>,
}

/// What of the live configuration is s3bridge's own, by the model of a spec over the
/// same buckets: its bucket policy Sids, and its replication (role and destination).
#[derive(Debug, Default)]
struct Owned {
    sids: Vec<String>,
    replication_role: Option<String>,
    destination_arn: String,
}

fn side_text(side: Side, found: &Found, owned: &Owned) -> SideText {
    let owned_sids = &owned.sids;
    let mut text = String::new();
    let mut warnings = Vec::new();
    let b = &found.bucket;
    let mut warn = |w: String| warnings.push(format!("{side} s3://{b}: {w}"));
    if !found.exists {
        let _ = writeln!(
            text,
            "{side}:\n  bucket: {}\n  account_id: {}\n  region: {}\n  # The bucket does not exist yet: the bundle creates it (CHOICE: check the region).",
            quoted(b),
            quoted(&found.account),
            quoted(&found.region)
        );
        if let Some(warning) = push_principals(&mut text, found) {
            warn(warning);
        }
        return SideText { text, warnings };
    }
    let mut settings = BucketSetting::ALWAYS_PRESENT.to_vec();
    if found.ownership.is_some() {
        settings.push(BucketSetting::Ownership);
    }
    if found.public_access_block.is_some() {
        settings.push(BucketSetting::PublicAccessBlock);
    }
    if found.policy.is_some() {
        settings.push(BucketSetting::Policy);
    }
    if found.lifecycle.is_some() {
        settings.push(BucketSetting::Lifecycle);
    }
    if found.replication.is_some() {
        settings.push(BucketSetting::Replication);
    }
    let _ = writeln!(text, "{side}:");
    let _ = writeln!(text, "  bucket: {}", quoted(b));
    let _ = writeln!(text, "  account_id: {}", quoted(&found.account));
    let _ = writeln!(text, "  region: {}", quoted(&found.region));
    let _ = writeln!(text, "  existing: true");
    let _ = writeln!(
        text,
        "  # Every setting the bucket has is imported, so the plan shows in-place updates only."
    );
    let _ = writeln!(
        text,
        "  existing_config: [{}]",
        settings
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    if found.versioning.as_deref() != Some("Enabled") {
        warn(format!(
            "versioning is {}; the bundle enables it (replication needs it), and it can never be turned off again, only suspended",
            found.versioning.as_deref().unwrap_or("off (never enabled)")
        ));
    }
    match &found.encryption {
        Some((algorithm, Some(key), _)) if algorithm == "aws:kms" && key.contains(":key/") => {
            let _ = writeln!(
                text,
                "  # The bucket's default key, kept. `create` would make a new key for new objects instead."
            );
            let _ = writeln!(text, "  kms_key: {}", quoted(key));
        }
        other => {
            let what = match other {
                Some((algorithm, key, _)) if algorithm == "aws:kms" => format!(
                    "SSE-KMS with {}",
                    key.as_deref().unwrap_or("the AWS managed key aws/s3")
                ),
                Some((algorithm, _, _)) if algorithm == "AES256" => "SSE-S3 (AES256)".into(),
                Some((algorithm, _, _)) => algorithm.clone(),
                None => "no default encryption".into(),
            };
            let _ = writeln!(
                text,
                "  # CHOICE: the bucket encrypts with {what}; the bundle creates a customer-managed key\n  # for new objects. Objects already there keep their encryption (and Batch Replication\n  # copies them with it). Or give the ARN of an existing key of this account."
            );
            let _ = writeln!(text, "  kms_key: create");
            warn(format!("default encryption is {what}; the bundle switches it to a customer-managed KMS key (objects already there keep {what})"));
        }
    }
    match found.ownership.as_deref() {
        Some("BucketOwnerEnforced") => {}
        other => {
            let acls = if found.acl_grants > 0 {
                format!(
                    "; its ACL grants access to {} other grantee{}, which stop working",
                    found.acl_grants,
                    if found.acl_grants == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            };
            warn(format!(
                "object ownership is {}; the bundle sets BucketOwnerEnforced, which disables ACLs{acls}",
                other.unwrap_or("not configured (ObjectWriter)")
            ));
        }
    }
    if found.public_access_block != Some([true; 4]) {
        warn("Block Public Access is not fully on; the bundle turns on all four settings (public grants in the policy or ACLs stop working)".into());
    }

    if let Some(policy) = &found.policy {
        let statements: Vec<Value> = match &policy["Statement"] {
            Value::Array(items) => items.clone(),
            one @ Value::Object(_) => vec![one.clone()],
            _ => Vec::new(),
        };
        let (ours, theirs): (Vec<Value>, Vec<Value>) = statements.into_iter().partition(|s| {
            s["Sid"]
                .as_str()
                .is_some_and(|sid| owned_sids.iter().any(|o| o == sid))
        });
        if !ours.is_empty() {
            let _ = writeln!(
                text,
                "  # {} statement{} of the live policy are s3bridge's own (by Sid) and are rewritten.",
                ours.len(),
                if ours.len() == 1 { "" } else { "s" }
            );
        }
        if !theirs.is_empty() {
            let _ = writeln!(
                text,
                "  # The live policy's other statements, kept verbatim in the policy the bundle writes.\n  # CHOICE: remove any that should go."
            );
            let _ = writeln!(text, "  keep_policy_statements:");
            for statement in &theirs {
                let _ = writeln!(
                    text,
                    "    - {}",
                    serde_json::to_string(statement).expect("JSON")
                );
            }
        }
    }

    if let Some(rules) = &found.lifecycle {
        let mut kept = Vec::new();
        for rule in rules {
            if rule.id() == Some(crate::model::ABORT_RULE_ID) {
                continue;
            }
            match lifecycle_rule(rule) {
                Ok(spec) => kept.push(spec),
                Err(why) => warn(format!(
                    "{why}: the bundle's lifecycle configuration would drop it; re-create it by hand after apply, or keep lifecycle out of the bundle"
                )),
            }
        }
        if !kept.is_empty() {
            let _ = writeln!(
                text,
                "  # The bucket's own lifecycle rules, kept next to s3bridge's abort rule."
            );
            let _ = writeln!(text, "  keep_lifecycle_rules:");
            for rule in &kept {
                let value = serde_json::to_value(rule).expect("JSON");
                let _ = writeln!(
                    text,
                    "    - {}",
                    serde_json::to_string(&compact(value)).expect("JSON")
                );
            }
        }
    }

    // `s3bridge` is the provider's default tag on everything the bundle manages.
    let own_tags: Vec<(&String, &String)> = found
        .tags
        .iter()
        .filter(|(key, _)| *key != "s3bridge")
        .collect();
    if !own_tags.is_empty() {
        let _ = writeln!(text, "  bucket_tags:");
        for (key, value) in own_tags {
            let _ = writeln!(text, "    {}: {}", quoted(key), quoted(value));
        }
    }

    if let Some(replication) = &found.replication {
        let rules: Vec<String> = replication
            .rules()
            .iter()
            .map(|r| {
                format!(
                    "{} ({}, to {})",
                    r.id().unwrap_or("no id"),
                    r.status().as_str(),
                    r.destination().map(|d| d.bucket()).unwrap_or("?")
                )
            })
            .collect();
        // The bundle's own configuration (a rerun on adopted buckets): its role, to this
        // spec's destination.
        let ours = owned.replication_role.as_deref() == Some(replication.role())
            && replication.rules().iter().all(|r| {
                r.destination()
                    .is_some_and(|d| d.bucket() == owned.destination_arn)
            });
        if ours {
            let _ = writeln!(
                text,
                "  # The replication configuration is the bundle's own (role {}).\n  replace_existing_replication: true",
                replication.role()
            );
        } else {
            let _ = writeln!(
                text,
                "  # CHOICE: the bucket replicates already (role {}), rules:\n  #   {}\n  # The bundle replaces these rules with the spec's. Set true once reviewed.",
                replication.role(),
                rules.join("\n  #   ")
            );
            let _ = writeln!(text, "  replace_existing_replication: false");
            warn(format!(
                "it has a replication configuration ({}); the bundle replaces it: set replace_existing_replication: true to agree",
                rules.join("; ")
            ));
        }
    }

    let mut untouched = Vec::new();
    if found.object_lock {
        untouched.push("Object Lock".to_string());
    }
    if found.cors_rules > 0 {
        untouched.push(format!("CORS ({} rules)", found.cors_rules));
    }
    if let Some(target) = &found.logging_target {
        untouched.push(format!("server access logging to s3://{target}"));
    }
    if !found.notifications.is_empty() {
        untouched.push(format!(
            "event notifications ({})",
            found.notifications.join(", ")
        ));
    }
    if !untouched.is_empty() {
        let _ = writeln!(
            text,
            "  # Left as they are (the bundle does not manage them): {}.",
            untouched.join(", ")
        );
    }
    if let Some(warning) = push_principals(&mut text, found) {
        warn(warning);
    }
    SideText { text, warnings }
}

/// Who administers the key (terraform_role, else kms_admins) and who uses it: the
/// principal discover ran as, as a starting point. A warning when it cannot be named.
fn push_principals(text: &mut String, found: &Found) -> Option<String> {
    let mut warning = None;
    match found.principal.as_deref() {
        Some(role) if role.contains(":role/") => {
            let _ = writeln!(
                text,
                "  # CHOICE: the role Terraform assumes in this account (here: the role discover ran as;\n  # add its path if it has one). It administers the key the bundle creates.\n  terraform_role: {}",
                quoted(role)
            );
        }
        Some(user) => {
            let _ = writeln!(
                text,
                "  # CHOICE: who administers the key the bundle creates (here: who ran discover), or\n  # set terraform_role to the role Terraform assumes in this account.\n  kms_admins: [{}]",
                quoted(user)
            );
        }
        None => {
            warning = Some(
                "discover ran as a principal that cannot be named in a policy; set terraform_role or kms_admins"
                    .to_string(),
            )
        }
    }
    let _ = writeln!(
        text,
        "  # CHOICE: the principals (role ARNs) of the applications that read and write this\n  # bucket, so that they may use its key through S3.\n  kms_users: []"
    );
    warning
}

/// A lifecycle rule's JSON without its empty and default fields.
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(key, v)| match v {
                    Value::Null => false,
                    Value::String(s) => !(s.is_empty() && key == "prefix"),
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => !o.is_empty(),
                    Value::Bool(b) => !(key == "enabled" && *b),
                    _ => true,
                })
                .collect(),
        ),
        other => other,
    }
}

pub fn run(args: &DiscoverArgs) -> Result<Status> {
    let (source_bucket, _) = parse_s3_url(&args.source)?;
    let (destination_bucket, _) = parse_s3_url(&args.destination)?;
    if let Some(out) = &args.out {
        if out.exists() && !args.force {
            return Err(Problem::usage(
                format!("{} exists", out.display()),
                "choose another --out, or pass --force to overwrite it",
            )
            .into());
        }
    }
    let found = block_on(async {
        let mut found = Vec::new();
        for (side, bucket) in [
            (Side::Source, &source_bucket),
            (Side::Destination, &destination_bucket),
        ] {
            let (access, region) = side_access(&args.aws, side, None, "s3bridge-discover")?;
            let (session, _) = bucket_session(&access, bucket, region.as_deref()).await?;
            let identity = session
                .sts()
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| {
                    AwsError::new("GetCallerIdentity", format!("the {side} credentials"), &e)
                })?;
            let mut one = if bucket_exists(&session, bucket).await? {
                read(&session, bucket).await?
            } else if side == Side::Destination {
                Found {
                    bucket: bucket.to_string(),
                    region: session.access.region.clone(),
                    ..Found::default()
                }
            } else {
                return Err(Problem::input(
                    format!("the source bucket s3://{bucket} does not exist"),
                    "check the name, and that --source-profile acts in the bucket's account",
                )
                .into());
            };
            one.account = identity.account().unwrap_or_default().to_string();
            one.principal = identity.arn().and_then(iam_principal);
            found.push(one);
        }
        anyhow::Ok(found)
    })??;
    let [source, destination] = <[Found; 2]>::try_from(found).expect("two sides");
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| name_from(&source.bucket));

    // s3bridge's own statement Sids, from the model of a spec over the same buckets (a
    // rerun on adopted buckets must not keep the bundle's statements as the user's).
    let skeleton = skeleton(&name, &source, &destination);
    let owned = match crate::spec::parse_str("discover", &skeleton) {
        Ok((spec, _)) => {
            // The skeleton names no existing key, so the key Sids are the created key's;
            // the bucket policy's Sids do not depend on it.
            let desired = crate::model::build(&spec);
            Owned {
                sids: desired
                    .buckets
                    .iter()
                    .flat_map(|b| b.policy.statements.iter().map(|s| s.sid.clone()))
                    .collect(),
                replication_role: desired
                    .role(crate::model::RolePurpose::Replication(Side::Source))
                    .map(|r| r.arn.clone()),
                destination_arn: desired.bucket(Side::Destination).arn.clone(),
            }
        }
        Err(_) => Owned::default(),
    };

    let source_text = side_text(Side::Source, &source, &owned);
    let destination_text = side_text(Side::Destination, &destination, &owned);
    let mut spec = format!(
        "# Written by `s3bridge discover {} {}` from the live buckets.\n# Review every CHOICE, then `s3bridge validate` and `s3bridge generate`.\nversion: 1\nname: {}\n",
        args.source,
        args.destination,
        quoted(&name)
    );
    spec.push_str(&source_text.text);
    spec.push_str(&destination_text.text);
    let operators = source.principal.as_deref().map(quoted).unwrap_or_default();
    let _ = writeln!(
        spec,
        "copy_role:\n  name: {}\n  account: source\n  # CHOICE: who runs `s3bridge copy` and `s3bridge verify` (role or user ARNs; here:\n  # who ran discover in the source account).\n  trusted_principals: [{operators}]",
        quoted(&format!("{name}-copy"))
    );
    for warning in source_text
        .warnings
        .iter()
        .chain(&destination_text.warnings)
    {
        errln!("warning: {warning}");
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &spec).map_err(|e| {
                Problem::input(
                    format!("cannot write {}: {e}", path.display()),
                    "check the directory exists and is writable",
                )
            })?;
            note!("wrote {}; next: s3bridge validate {0}", path.display());
        }
        None => out!("{spec}")?,
    }
    Ok(Status::Success)
}

/// The smallest spec over the two buckets, to ask the model which Sids are s3bridge's.
fn skeleton(name: &str, source: &Found, destination: &Found) -> String {
    let side = |side: Side, f: &Found| {
        format!(
            "{side}:\n  bucket: {}\n  account_id: {}\n  region: {}\n  terraform_role: \"arn:aws:iam::{}:role/terraform\"\n",
            quoted(&f.bucket),
            quoted(&f.account),
            quoted(&f.region),
            f.account
        )
    };
    format!(
        "version: 1\nname: {}\n{}{}copy_role:\n  name: {}\n  account: source\n  trusted_principals: [\"arn:aws:iam::{}:role/operator\"]\n",
        quoted(name),
        side(Side::Source, source),
        side(Side::Destination, destination),
        quoted(&format!("{name}-copy")),
        source.account
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_principal_behind_a_caller() {
        assert_eq!(
            iam_principal("arn:aws:sts::111111111111:assumed-role/ops/alice").as_deref(),
            Some("arn:aws:iam::111111111111:role/ops")
        );
        assert_eq!(
            iam_principal("arn:aws:iam::111111111111:user/bob").as_deref(),
            Some("arn:aws:iam::111111111111:user/bob")
        );
        assert_eq!(iam_principal("arn:aws:iam::111111111111:root"), None);
    }

    #[test]
    fn live_lifecycle_rules_become_kept_rules_or_say_why_not() {
        use aws_sdk_s3::types::{
            ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator,
            LifecycleRuleFilter, Tag, Transition, TransitionStorageClass,
        };
        let tagged = LifecycleRule::builder()
            .id("archive")
            .status(ExpirationStatus::Disabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .and(
                        LifecycleRuleAndOperator::builder()
                            .prefix("logs/")
                            .tags(Tag::builder().key("k").value("v").build().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .transitions(
                Transition::builder()
                    .days(30)
                    .storage_class(TransitionStorageClass::StandardIa)
                    .build(),
            )
            .build()
            .unwrap();
        let kept = lifecycle_rule(&tagged).unwrap();
        assert_eq!(kept.id, "archive");
        assert!(!kept.enabled);
        assert_eq!(kept.prefix, "logs/");
        assert_eq!(kept.tags.get("k").map(String::as_str), Some("v"));
        assert_eq!(kept.transitions[0].storage_class, "STANDARD_IA");
        let dated = LifecycleRule::builder()
            .id("on-a-date")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .expiration(
                LifecycleExpiration::builder()
                    .date(aws_smithy_types::DateTime::from_secs(1_900_000_000))
                    .build(),
            )
            .build()
            .unwrap();
        let why = lifecycle_rule(&dated).unwrap_err();
        assert!(why.contains("`on-a-date` uses an expiration date"), "{why}");
    }

    #[test]
    fn the_skeleton_is_a_valid_spec_whose_model_names_the_bundles_statements() {
        let side = |bucket: &str, account: &str| Found {
            bucket: bucket.into(),
            account: account.into(),
            region: "eu-west-1".into(),
            ..Found::default()
        };
        let text = skeleton(
            &name_from("Lake.Raw_2024"),
            &side("lake", "111111111111"),
            &side("lake-dr", "222222222222"),
        );
        let (spec, _) = crate::spec::parse_str("skeleton", &text).expect("valid");
        assert_eq!(spec.name, "lake-raw-2024");
        let desired = crate::model::build(&spec);
        assert!(desired
            .bucket(Side::Source)
            .policy
            .statements
            .iter()
            .any(|s| s.sid == "DenyInsecureTransport"));
    }
}
