//! Reads the live state audit compares: each side's bucket settings, key, roles,
//! replication and Batch Replication jobs, with that side's credentials.
//!
//! Both sides are read at once, and within a side every call that does not need
//! another's answer is in flight at the same time, so an audit takes about as long as
//! its longest chain of dependent calls (DescribeKey → GetKeyPolicy; ListRolePolicies
//! → GetRolePolicy; ListObjectsV2 → HeadObject; ListJobs → DescribeJob).
//!
//! Every call goes through `call` with its entry in `reads`, which turns AWS errors
//! into "not configured" (`None`) or a typed `AuditError` that names the IAM action.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures_util::future::join_all;

use super::reads::{self, KeyTarget, Read, Targets};
use super::{AuditError, Sessions};
use crate::aws::error::{AwsErrorKind, Cause, CREDENTIAL_CODES, DENIED_CODES};
use crate::aws::Session;
use crate::model::{Desired, RolePurpose};
use crate::spec::Side;

/// How many of the most recent source objects have their replication status read.
pub const SAMPLE_SIZE: usize = 25;
/// How many Batch Replication jobs are described (most recent first).
pub const JOBS_DESCRIBED: usize = 20;

#[derive(Debug, Clone)]
pub struct Live {
    pub source: LiveSide,
    pub destination: LiveSide,
    /// How long each call took, by operation.
    pub calls: Vec<(&'static str, Duration)>,
}

impl Live {
    pub fn side(&self, side: Side) -> &LiveSide {
        match side {
            Side::Source => &self.source,
            Side::Destination => &self.destination,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LiveSide {
    pub targets: Targets,
    pub bucket: LiveBucket,
    pub key: LiveKey,
    pub roles: Vec<LiveRole>,
    /// None when the side has no Batch Replication to look for.
    pub jobs: Option<Vec<LiveJob>>,
    /// None when the spec has no monitoring on this side.
    pub monitoring: Option<LiveMonitoring>,
}

/// The replication-health wiring of the source bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveMonitoring {
    /// The bucket's SNS notifications: (topic ARN, event types).
    pub topics: Vec<(String, Vec<String>)>,
    /// The bundle's alarms (by name prefix): name → alarm actions.
    pub alarms: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct LiveBucket {
    pub exists: bool,
    /// `Enabled`, `Suspended`, or None when versioning was never enabled.
    pub versioning: Option<String>,
    /// None: no default encryption configuration.
    pub encryption: Option<Vec<EncryptionRule>>,
    pub public_access_block: Option<PublicAccessBlock>,
    /// Object Ownership of each ownership rule; None: no ownership controls.
    pub ownership: Option<Vec<String>>,
    pub policy: Option<String>,
    /// Read only on buckets that replicate; inner None: no replication configuration.
    pub replication: Option<Option<LiveReplication>>,
    /// Most recent objects and their replication status (replicating buckets only).
    pub sample: Vec<LiveObject>,
    /// Whether objects the rules cover predate them (replicating buckets only).
    pub predating: Predating,
}

/// What the first listing page says about objects older than the replication rules. S3
/// gives an object a replication status (PENDING, COMPLETED, FAILED, REPLICA) when it is
/// written under a rule that covers it; an object without one was there before the rule.
/// The oldest object under the rules' prefixes is read: with a status, every object
/// listed is newer than the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Predating {
    /// Not known: not a replicating bucket, or more objects than one listing page holds and
    /// the oldest of the page has a status.
    #[default]
    Unknown,
    /// Every object the rules cover was written under them (or there is none).
    None,
    /// This object (the oldest the rules cover) has no replication status.
    Object { key: String, last_modified: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionRule {
    pub algorithm: String,
    pub key: Option<String>,
    pub bucket_key: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// The four flags by their API names.
    pub fn flags(&self) -> [(&'static str, bool); 4] {
        [
            ("BlockPublicAcls", self.block_public_acls),
            ("IgnorePublicAcls", self.ignore_public_acls),
            ("BlockPublicPolicy", self.block_public_policy),
            ("RestrictPublicBuckets", self.restrict_public_buckets),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveObject {
    pub key: String,
    pub last_modified: String,
    pub replication_status: Option<String>,
    /// Server-side encryption of the object (`aws:kms`, `AES256`) and its key.
    pub encryption: Option<String>,
    pub kms_key: Option<String>,
}

/// One replication rule, flattened: the shape both the model's rules and S3's are put in
/// to be compared field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleView {
    pub id: String,
    pub status: String,
    pub priority: Option<i32>,
    pub prefix: String,
    pub tags: BTreeMap<String, String>,
    pub delete_markers: String,
    pub sse_kms_objects: String,
    pub replica_modifications: String,
    pub existing_objects: String,
    pub destination_bucket: String,
    pub destination_account: String,
    pub owner_override: String,
    pub replica_key: String,
    pub storage_class: String,
    pub replication_time: String,
    pub metrics: String,
}

impl RuleView {
    /// Every compared field with its value as text (empty: not set).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let tags = self
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        vec![
            ("status", self.status.clone()),
            (
                "priority",
                self.priority.map(|p| p.to_string()).unwrap_or_default(),
            ),
            ("filter.prefix", self.prefix.clone()),
            ("filter.tags", tags),
            ("delete_marker_replication", self.delete_markers.clone()),
            ("sse_kms_encrypted_objects", self.sse_kms_objects.clone()),
            ("replica_modifications", self.replica_modifications.clone()),
            ("existing_object_replication", self.existing_objects.clone()),
            ("destination.bucket", self.destination_bucket.clone()),
            ("destination.account", self.destination_account.clone()),
            ("destination.owner_override", self.owner_override.clone()),
            ("destination.replica_kms_key", self.replica_key.clone()),
            ("destination.storage_class", self.storage_class.clone()),
            (
                "destination.replication_time",
                self.replication_time.clone(),
            ),
            ("destination.metrics", self.metrics.clone()),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveReplication {
    pub role: String,
    pub rules: Vec<RuleView>,
}

#[derive(Debug, Clone, Default)]
pub struct LiveKey {
    /// What DescribeKey was called with (alias or ARN).
    pub id: String,
    /// None: no such key (or alias).
    pub metadata: Option<KeyMetadata>,
    pub rotation: Option<bool>,
    pub policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMetadata {
    pub arn: String,
    pub enabled: bool,
    pub state: String,
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
}

#[derive(Debug, Clone)]
pub struct LiveRole {
    pub purpose: RolePurpose,
    pub name: String,
    /// The ARN the model gives the role.
    pub arn: String,
    /// None: the role does not exist.
    pub found: Option<FoundRole>,
}

#[derive(Debug, Clone, Default)]
pub struct FoundRole {
    pub trust: String,
    /// Inline policies: name → document text.
    pub inline: Vec<(String, String)>,
    /// Attached managed policies: ARN → default version's document (None: unreadable).
    pub attached: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveJob {
    pub id: String,
    pub status: String,
    pub role_arn: String,
    /// The bucket the job's manifest is generated from (an ARN), when it has one.
    pub source_bucket: String,
    /// Where its manifest file is (an object ARN), when it has one.
    pub manifest: String,
    pub total: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub created: String,
}

/// Who is calling (for error messages), and where call times are kept.
struct Ctx<'a> {
    side: Side,
    account: &'a str,
    endpoint: Option<&'a str>,
    calls: &'a Mutex<Vec<(&'static str, Duration)>>,
}

impl Ctx<'_> {
    fn record(&self, operation: &'static str, took: Duration) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((operation, took));
        }
    }
}

/// A failure before any answer: no credentials, or no way to reach AWS (assuming a
/// role is itself a call to STS, so a refused connection shows up as a credentials
/// error too).
fn connection_or_credentials(
    ctx: &Ctx<'_>,
    error: &(dyn std::error::Error + 'static),
) -> AuditError {
    let cause = Cause::of_chain(error);
    if cause.kind == AwsErrorKind::Unreachable {
        AuditError::Unreachable {
            side: ctx.side,
            endpoint: ctx.endpoint.map(String::from),
            detail: cause.to_string(),
        }
    } else {
        AuditError::Credentials {
            side: ctx.side,
            detail: cause.to_string(),
        }
    }
}

/// Classifies an SDK error for `read` on `resource`.
fn classify<E>(
    ctx: &Ctx<'_>,
    read: &Read,
    resource: &str,
    error: SdkError<E, HttpResponse>,
) -> Result<(), AuditError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error.code().map(str::to_string);
    let status = error.raw_response().map(|r| r.status().as_u16());
    let cause = Cause::of(&error);
    let detail = cause.to_string();
    if let Some(code) = &code {
        if read.absent.contains(&code.as_str()) {
            return Ok(());
        }
        if code == "NoSuchBucket" {
            return Err(AuditError::Failed {
                operation: NO_SUCH_BUCKET.into(),
                resource: resource.into(),
                detail,
            });
        }
    }
    // HEAD answers carry no error code, only the status.
    if code.is_none() && status == Some(404) && read.absent.contains(&"NotFound") {
        return Ok(());
    }
    let denied = AuditError::AccessDenied {
        action: read.action.into(),
        operation: read.operation.into(),
        resource: resource.into(),
        side: ctx.side,
        account: ctx.account.into(),
    };
    match &error {
        SdkError::ServiceError(_) => {
            let code = code.unwrap_or_default();
            if DENIED_CODES.contains(&code.as_str()) || (code.is_empty() && status == Some(403)) {
                Err(denied)
            } else if CREDENTIAL_CODES.contains(&code.as_str()) {
                Err(AuditError::Credentials {
                    side: ctx.side,
                    detail,
                })
            } else {
                Err(AuditError::Failed {
                    operation: read.operation.into(),
                    resource: resource.into(),
                    detail,
                })
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
            if cause.kind != AwsErrorKind::Credentials =>
        {
            Err(AuditError::Unreachable {
                side: ctx.side,
                endpoint: ctx.endpoint.map(String::from),
                detail,
            })
        }
        _ if cause.kind == AwsErrorKind::Credentials => Err(AuditError::Credentials {
            side: ctx.side,
            detail,
        }),
        _ => Err(AuditError::Failed {
            operation: read.operation.into(),
            resource: resource.into(),
            detail,
        }),
    }
}

/// Marks the `Failed` error that means the bucket itself is missing.
const NO_SUCH_BUCKET: &str = "NoSuchBucket";

/// Makes one call: `Some(answer)`, `None` when AWS says it is not configured, or why
/// it could not be made.
async fn call<T, E>(
    ctx: &Ctx<'_>,
    read: &'static Read,
    resource: &str,
    request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<Option<T>, AuditError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let started = Instant::now();
    let outcome = request.await;
    ctx.record(read.operation, started.elapsed());
    match outcome {
        Ok(answer) => Ok(Some(answer)),
        Err(error) => classify(ctx, read, resource, error).map(|()| None),
    }
}

fn is_missing_bucket(error: &AuditError) -> bool {
    matches!(error, AuditError::Failed { operation, .. } if operation == NO_SUCH_BUCKET)
}

async fn read_bucket(
    ctx: &Ctx<'_>,
    session: &Session,
    t: &Targets,
) -> Result<LiveBucket, AuditError> {
    let s3 = session.s3();
    let arn = t.bucket_arn.as_str();
    let bucket = t.bucket.as_str();
    let (versioning, encryption, pab, ownership, policy, replication) = tokio::join!(
        call(
            ctx,
            &reads::GET_BUCKET_VERSIONING,
            arn,
            s3.get_bucket_versioning().bucket(bucket).send()
        ),
        call(
            ctx,
            &reads::GET_BUCKET_ENCRYPTION,
            arn,
            s3.get_bucket_encryption().bucket(bucket).send()
        ),
        call(
            ctx,
            &reads::GET_PUBLIC_ACCESS_BLOCK,
            arn,
            s3.get_public_access_block().bucket(bucket).send()
        ),
        call(
            ctx,
            &reads::GET_BUCKET_OWNERSHIP_CONTROLS,
            arn,
            s3.get_bucket_ownership_controls().bucket(bucket).send()
        ),
        call(
            ctx,
            &reads::GET_BUCKET_POLICY,
            arn,
            s3.get_bucket_policy().bucket(bucket).send()
        ),
        async {
            if !t.replicates {
                return Ok((None, (Vec::new(), Predating::Unknown)));
            }
            let (configuration, sample) = tokio::join!(
                call(
                    ctx,
                    &reads::GET_BUCKET_REPLICATION,
                    arn,
                    s3.get_bucket_replication().bucket(bucket).send()
                ),
                read_sample(ctx, &s3, t),
            );
            let configuration = configuration?
                .and_then(|c| c.replication_configuration)
                .map(|c| LiveReplication {
                    role: c.role().to_string(),
                    rules: c.rules().iter().map(rule_view).collect(),
                });
            Ok((Some(configuration), sample?))
        },
    );
    let results = [
        versioning.as_ref().err(),
        encryption.as_ref().err(),
        pab.as_ref().err(),
        ownership.as_ref().err(),
        policy.as_ref().err(),
        replication.as_ref().err(),
    ];
    if results.iter().flatten().any(|e| is_missing_bucket(e)) {
        return Ok(LiveBucket::default());
    }
    if let Some(error) = results.into_iter().flatten().next() {
        return Err(error.clone());
    }
    let (replication, (sample, predating)) = replication?;
    Ok(LiveBucket {
        exists: true,
        versioning: versioning?.and_then(|v| v.status().map(|s| s.as_str().to_string())),
        encryption: encryption?
            .and_then(|e| e.server_side_encryption_configuration)
            .map(|c| {
                c.rules()
                    .iter()
                    .map(|r| {
                        let default = r.apply_server_side_encryption_by_default();
                        EncryptionRule {
                            algorithm: default
                                .map(|d| d.sse_algorithm().as_str().to_string())
                                .unwrap_or_default(),
                            key: default
                                .and_then(|d| d.kms_master_key_id())
                                .map(String::from),
                            bucket_key: r.bucket_key_enabled(),
                        }
                    })
                    .collect()
            }),
        public_access_block: pab?
            .and_then(|p| p.public_access_block_configuration)
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            }),
        ownership: ownership?.and_then(|o| o.ownership_controls).map(|c| {
            c.rules()
                .iter()
                .map(|r| r.object_ownership().as_str().to_string())
                .collect()
        }),
        policy: policy?.and_then(|p| p.policy),
        replication,
        sample,
        predating,
    })
}

/// Whether objects the rules cover predate them, from the first listing page; with
/// `--object-status` (HEAD: s3:GetObject), also the replication status of its most
/// recent objects and of the oldest object the rules cover. Without it, only an empty
/// listing (no object under the rules) settles the question.
async fn read_sample(
    ctx: &Ctx<'_>,
    s3: &aws_sdk_s3::Client,
    t: &Targets,
) -> Result<(Vec<LiveObject>, Predating), AuditError> {
    let listed = call(
        ctx,
        &reads::LIST_OBJECTS,
        &t.bucket_arn,
        s3.list_objects_v2().bucket(&t.bucket).max_keys(1000).send(),
    )
    .await?;
    let complete = listed
        .as_ref()
        .is_some_and(|l| l.is_truncated() != Some(true));
    let mut objects: Vec<(String, String)> = listed
        .map(|l| {
            l.contents()
                .iter()
                .filter_map(|o| Some((o.last_modified()?.to_string(), o.key()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    // RFC 3339 text of UTC times sorts as the times do.
    objects.sort_by(|a, b| b.cmp(a));
    // The oldest objects the rules cover: every one of the oldest time (S3 lists times to
    // the second, so several may share it), a page's worth at most.
    let covered: Vec<&(String, String)> = objects
        .iter()
        .rev()
        .filter(|(_, key)| t.rule_prefixes.iter().any(|p| key.starts_with(p.as_str())))
        .collect();
    let oldest_covered: Vec<(String, String)> = covered
        .iter()
        .take_while(|(modified, _)| Some(modified) == covered.first().map(|(m, _)| m))
        .take(SAMPLE_SIZE)
        .map(|&o| o.clone())
        .collect();
    if !t.object_status {
        let none = complete && covered.is_empty();
        return Ok((
            Vec::new(),
            if none {
                Predating::None
            } else {
                Predating::Unknown
            },
        ));
    }
    objects.truncate(SAMPLE_SIZE);
    let head = |modified: String, key: String| async move {
        let resource = format!("{}/{key}", t.bucket_arn);
        let head = call(
            ctx,
            &reads::HEAD_OBJECT,
            &resource,
            s3.head_object().bucket(&t.bucket).key(&key).send(),
        )
        .await?;
        Ok::<_, AuditError>(head.map(|h| LiveObject {
            key,
            last_modified: modified,
            replication_status: h.replication_status().map(|s| s.as_str().to_string()),
            encryption: h.server_side_encryption().map(|e| e.as_str().to_string()),
            kms_key: h.ssekms_key_id().map(String::from),
        }))
    };
    let heads = join_all(objects.iter().map(|(m, k)| head(m.clone(), k.clone()))).await;
    let sample: Vec<LiveObject> = heads
        .into_iter()
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    let mut predating = if complete {
        Predating::None
    } else {
        Predating::Unknown
    };
    for (modified, key) in oldest_covered {
        let oldest = match sample.iter().find(|o| o.key == key) {
            Some(seen) => Some(seen.clone()),
            None => head(modified, key).await?,
        };
        match oldest {
            Some(o) if o.replication_status.is_none() => {
                predating = Predating::Object {
                    key: o.key,
                    last_modified: o.last_modified,
                };
                break;
            }
            Some(_) => {}
            // Deleted since the listing: nothing to say about it.
            None => predating = Predating::Unknown,
        }
    }
    Ok((sample, predating))
}

fn status_text<T: AsRef<str>>(status: Option<T>) -> String {
    status.map(|s| s.as_ref().to_string()).unwrap_or_default()
}

fn rule_view(rule: &aws_sdk_s3::types::ReplicationRule) -> RuleView {
    let filter = rule.filter();
    let and = filter.and_then(|f| f.and());
    let mut tags = BTreeMap::new();
    if let Some(tag) = filter.and_then(|f| f.tag()) {
        tags.insert(tag.key().to_string(), tag.value().to_string());
    }
    for tag in and.map(|a| a.tags()).unwrap_or_default() {
        tags.insert(tag.key().to_string(), tag.value().to_string());
    }
    #[allow(deprecated)]
    let prefix = filter
        .and_then(|f| f.prefix())
        .or_else(|| and.and_then(|a| a.prefix()))
        .or(rule.prefix())
        .unwrap_or_default()
        .to_string();
    let criteria = rule.source_selection_criteria();
    let destination = rule.destination();
    let minutes = |v: Option<&aws_sdk_s3::types::ReplicationTimeValue>| {
        v.and_then(|v| v.minutes())
            .map(|m| format!(" {m} minutes"))
            .unwrap_or_default()
    };
    RuleView {
        id: rule.id().unwrap_or_default().to_string(),
        status: rule.status().as_str().to_string(),
        priority: rule.priority(),
        prefix,
        tags,
        delete_markers: status_text(
            rule.delete_marker_replication()
                .and_then(|d| d.status())
                .map(|s| s.as_str()),
        ),
        sse_kms_objects: status_text(
            criteria
                .and_then(|c| c.sse_kms_encrypted_objects())
                .map(|s| s.status().as_str()),
        ),
        replica_modifications: status_text(
            criteria
                .and_then(|c| c.replica_modifications())
                .map(|s| s.status().as_str()),
        ),
        existing_objects: status_text(
            rule.existing_object_replication()
                .map(|e| e.status().as_str()),
        ),
        destination_bucket: destination
            .map(|d| d.bucket().to_string())
            .unwrap_or_default(),
        destination_account: status_text(destination.and_then(|d| d.account())),
        owner_override: status_text(
            destination
                .and_then(|d| d.access_control_translation())
                .map(|a| a.owner().as_str()),
        ),
        replica_key: status_text(
            destination
                .and_then(|d| d.encryption_configuration())
                .and_then(|e| e.replica_kms_key_id()),
        ),
        storage_class: status_text(
            destination
                .and_then(|d| d.storage_class())
                .map(|s| s.as_str()),
        ),
        replication_time: destination
            .and_then(|d| d.replication_time())
            .map(|r| format!("{}{}", r.status().as_str(), minutes(r.time())))
            .unwrap_or_default(),
        metrics: destination
            .and_then(|d| d.metrics())
            .map(|m| format!("{}{}", m.status().as_str(), minutes(m.event_threshold())))
            .unwrap_or_default(),
    }
}

async fn read_key(
    ctx: &Ctx<'_>,
    session: &Session,
    key: &KeyTarget,
) -> Result<LiveKey, AuditError> {
    let kms = session.kms();
    let described = call(
        ctx,
        &reads::DESCRIBE_KEY,
        &key.id,
        kms.describe_key().key_id(&key.id).send(),
    )
    .await?;
    let Some(metadata) = described.and_then(|d| d.key_metadata) else {
        return Ok(LiveKey {
            id: key.id.clone(),
            ..LiveKey::default()
        });
    };
    let arn = metadata
        .arn()
        .map(String::from)
        .unwrap_or_else(|| metadata.key_id().to_string());
    let (rotation, policy) = tokio::join!(
        call(
            ctx,
            &reads::GET_KEY_ROTATION_STATUS,
            &arn,
            kms.get_key_rotation_status().key_id(&arn).send()
        ),
        async {
            if key.created {
                call(
                    ctx,
                    &reads::GET_KEY_POLICY,
                    &arn,
                    kms.get_key_policy()
                        .key_id(&arn)
                        .policy_name("default")
                        .send(),
                )
                .await
            } else {
                Ok(None)
            }
        },
    );
    Ok(LiveKey {
        id: key.id.clone(),
        metadata: Some(KeyMetadata {
            arn: arn.clone(),
            enabled: metadata.enabled(),
            state: status_text(metadata.key_state().map(|s| s.as_str())),
            manager: status_text(metadata.key_manager().map(|m| m.as_str())),
        }),
        rotation: rotation?.map(|r| r.key_rotation_enabled()),
        policy: policy?.and_then(|p| p.policy),
    })
}

async fn read_role(
    ctx: &Ctx<'_>,
    session: &Session,
    (purpose, name, arn): &(RolePurpose, String, String),
) -> Result<LiveRole, AuditError> {
    let iam = session.iam();
    let (role, inline_names, attached) = tokio::join!(
        call(
            ctx,
            &reads::GET_ROLE,
            arn,
            iam.get_role().role_name(name).send()
        ),
        async {
            let names = call(ctx, &reads::LIST_ROLE_POLICIES, arn, async {
                let pages: Vec<_> = iam
                    .list_role_policies()
                    .role_name(name)
                    .into_paginator()
                    .items()
                    .send()
                    .collect()
                    .await;
                pages.into_iter().collect::<Result<Vec<String>, _>>()
            })
            .await?;
            Ok::<_, AuditError>(names.unwrap_or_default())
        },
        async {
            let attached = call(ctx, &reads::LIST_ATTACHED_ROLE_POLICIES, arn, async {
                let pages: Vec<_> = iam
                    .list_attached_role_policies()
                    .role_name(name)
                    .into_paginator()
                    .items()
                    .send()
                    .collect()
                    .await;
                pages.into_iter().collect::<Result<Vec<_>, _>>()
            })
            .await?;
            Ok::<_, AuditError>(
                attached
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(String::from))
                    .collect::<Vec<_>>(),
            )
        },
    );
    let missing = LiveRole {
        purpose: *purpose,
        name: name.clone(),
        arn: arn.clone(),
        found: None,
    };
    let Some(role) = role?.and_then(|r| r.role) else {
        return Ok(missing);
    };
    let (inline_names, attached) = (inline_names?, attached?);
    let (inline, attached) = tokio::join!(
        join_all(inline_names.iter().map(|policy| {
            let iam = iam.clone();
            async move {
                let got = call(
                    ctx,
                    &reads::GET_ROLE_POLICY,
                    arn,
                    iam.get_role_policy()
                        .role_name(name)
                        .policy_name(policy)
                        .send(),
                )
                .await?;
                Ok::<_, AuditError>(got.map(|g| (policy.clone(), g.policy_document)))
            }
        })),
        join_all(attached.iter().map(|policy_arn| {
            let iam = iam.clone();
            async move {
                let policy = call(
                    ctx,
                    &reads::GET_POLICY,
                    policy_arn,
                    iam.get_policy().policy_arn(policy_arn).send(),
                )
                .await?;
                let Some(version) = policy
                    .and_then(|p| p.policy)
                    .and_then(|p| p.default_version_id)
                else {
                    return Ok::<_, AuditError>((policy_arn.clone(), None));
                };
                let document = call(
                    ctx,
                    &reads::GET_POLICY_VERSION,
                    policy_arn,
                    iam.get_policy_version()
                        .policy_arn(policy_arn)
                        .version_id(version)
                        .send(),
                )
                .await?;
                Ok((
                    policy_arn.clone(),
                    document
                        .and_then(|d| d.policy_version)
                        .and_then(|v| v.document),
                ))
            }
        })),
    );
    Ok(LiveRole {
        found: Some(FoundRole {
            trust: role.assume_role_policy_document.unwrap_or_default(),
            inline: inline
                .into_iter()
                .filter_map(Result::transpose)
                .collect::<Result<_, _>>()?,
            attached: attached.into_iter().collect::<Result<_, _>>()?,
        }),
        ..missing
    })
}

async fn read_jobs(
    ctx: &Ctx<'_>,
    session: &Session,
    t: &Targets,
) -> Result<Vec<LiveJob>, AuditError> {
    let control = session.s3control();
    let listed = call(
        ctx,
        &reads::LIST_JOBS,
        "*",
        control.list_jobs().account_id(&t.account).send(),
    )
    .await?;
    let mut replication_jobs: Vec<(String, String)> = listed
        .map(|l| {
            l.jobs()
                .iter()
                .filter(|j| {
                    j.operation()
                        == Some(&aws_sdk_s3control::types::OperationName::S3ReplicateObject)
                })
                .filter_map(|j| {
                    Some((
                        j.creation_time().map(|c| c.to_string()).unwrap_or_default(),
                        j.job_id()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    replication_jobs.sort_by(|a, b| b.cmp(a));
    replication_jobs.truncate(JOBS_DESCRIBED);
    let described = join_all(replication_jobs.iter().map(|(_, id)| {
        let control = control.clone();
        async move {
            let resource = format!("arn:{}:s3:{}:{}:job/{id}", t.partition, t.region, t.account);
            let job = call(
                ctx,
                &reads::DESCRIBE_JOB,
                &resource,
                control
                    .describe_job()
                    .account_id(&t.account)
                    .job_id(id)
                    .send(),
            )
            .await?;
            Ok::<_, AuditError>(job.and_then(|j| j.job).map(|job| {
                let progress = job.progress_summary();
                LiveJob {
                    id: id.clone(),
                    status: status_text(job.status().map(|s| s.as_str())),
                    role_arn: job.role_arn().unwrap_or_default().to_string(),
                    source_bucket: job
                        .manifest_generator()
                        .and_then(|g| g.as_s3_job_manifest_generator().ok())
                        .map(|g| g.source_bucket().to_string())
                        .unwrap_or_default(),
                    manifest: job
                        .manifest()
                        .and_then(|m| m.location())
                        .map(|l| l.object_arn().to_string())
                        .unwrap_or_default(),
                    total: progress
                        .and_then(|p| p.total_number_of_tasks())
                        .unwrap_or(0),
                    succeeded: progress
                        .and_then(|p| p.number_of_tasks_succeeded())
                        .unwrap_or(0),
                    failed: progress
                        .and_then(|p| p.number_of_tasks_failed())
                        .unwrap_or(0),
                    created: job
                        .creation_time()
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                }
            }))
        }
    }))
    .await;
    described
        .into_iter()
        .filter_map(Result::transpose)
        .collect()
}

/// The account the side's credentials act in.
async fn identity(ctx: &Ctx<'_>, session: &Session) -> Result<String, AuditError> {
    let started = Instant::now();
    // One retry at most: this call is the first to need credentials, and a failure here
    // (no credentials, unreachable endpoint) should end the audit promptly rather than
    // after the SDK's retries of every other call.
    let answer = session
        .sts()
        .get_caller_identity()
        .customize()
        .config_override(
            aws_sdk_sts::config::Builder::default()
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2)),
        )
        .send()
        .await;
    ctx.record("GetCallerIdentity", started.elapsed());
    match answer {
        Ok(identity) => Ok(identity.account.unwrap_or_default()),
        Err(error) => Err(connection_or_credentials(ctx, &error)),
    }
}

async fn read_side(
    desired: &Desired,
    side: Side,
    session: &Session,
    calls: &Mutex<Vec<(&'static str, Duration)>>,
    scope: reads::Scope,
) -> Result<LiveSide, AuditError> {
    let targets = reads::targets(desired, side, scope);
    let ctx = Ctx {
        side,
        account: &targets.account,
        endpoint: session.access.endpoint_url.as_deref(),
        calls,
    };
    let (account, (bucket, key, roles, jobs, monitoring)) = {
        let reads = async {
            tokio::join!(
                read_bucket(&ctx, session, &targets),
                read_key(&ctx, session, &targets.key),
                join_all(targets.roles.iter().map(|r| read_role(&ctx, session, r))),
                async {
                    if targets.jobs {
                        read_jobs(&ctx, session, &targets).await.map(Some)
                    } else {
                        Ok(None)
                    }
                },
                async {
                    match &targets.alarm_prefix {
                        Some(prefix) => read_monitoring(&ctx, session, &targets, prefix)
                            .await
                            .map(Some),
                        None => Ok(None),
                    }
                },
            )
        };
        let identity = identity(&ctx, session);
        tokio::pin!(reads, identity);
        // Everything is in flight at once; the identity explains every other failure best
        // (no credentials, wrong account, unreachable), so its failure ends the side at once.
        tokio::select! {
            biased;
            account = &mut identity => (account?, reads.await),
            results = &mut reads => (identity.await?, results),
        }
    };
    if let Err(wrong) = crate::aws::check_account(side.as_str(), &[&targets.account], &account) {
        return Err(AuditError::WrongAccount {
            side,
            expected: targets.account.clone(),
            actual: wrong.actual,
        });
    }
    Ok(LiveSide {
        bucket: bucket?,
        key: key?,
        roles: roles.into_iter().collect::<Result<_, _>>()?,
        jobs: jobs?,
        monitoring: monitoring?,
        targets,
    })
}

/// The bucket's notification configuration and the bundle's alarms, both at once.
async fn read_monitoring(
    ctx: &Ctx<'_>,
    session: &Session,
    t: &Targets,
    prefix: &str,
) -> Result<LiveMonitoring, AuditError> {
    let s3 = session.s3();
    let cloudwatch = session.cloudwatch();
    let pattern = reads::alarm_pattern(t, prefix);
    let (notification, alarms) = tokio::join!(
        call(
            ctx,
            &reads::GET_BUCKET_NOTIFICATION,
            &t.bucket_arn,
            s3.get_bucket_notification_configuration()
                .bucket(&t.bucket)
                .expected_bucket_owner(&t.account)
                .send(),
        ),
        async {
            let mut found = BTreeMap::new();
            let mut token: Option<String> = None;
            loop {
                let Some(page) = call(
                    ctx,
                    &reads::DESCRIBE_ALARMS,
                    &pattern,
                    cloudwatch
                        .describe_alarms()
                        .alarm_name_prefix(prefix)
                        .set_next_token(token.clone())
                        .send(),
                )
                .await?
                else {
                    break;
                };
                for alarm in page.metric_alarms() {
                    if let Some(name) = alarm.alarm_name() {
                        found.insert(name.to_string(), alarm.alarm_actions().to_vec());
                    }
                }
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Ok::<_, AuditError>(found)
        }
    );
    // A missing bucket is the bucket check's finding, not an audit failure.
    let notification = match notification {
        Err(error) if is_missing_bucket(&error) => None,
        other => other?,
    };
    let topics = notification
        .map(|n| {
            n.topic_configurations()
                .iter()
                .map(|c| {
                    (
                        c.topic_arn().to_string(),
                        c.events().iter().map(|e| e.as_str().to_string()).collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(LiveMonitoring {
        topics,
        alarms: alarms?,
    })
}

/// Reads both sides at once.
pub async fn read(
    desired: &Desired,
    sessions: &Sessions,
    scope: reads::Scope,
) -> Result<Live, AuditError> {
    let calls = Mutex::new(Vec::new());
    let (source, destination) = tokio::join!(
        read_side(desired, Side::Source, &sessions.source, &calls, scope),
        read_side(
            desired,
            Side::Destination,
            &sessions.destination,
            &calls,
            scope
        ),
    );
    Ok(Live {
        source: source?,
        destination: destination?,
        calls: calls.into_inner().unwrap_or_default(),
    })
}
