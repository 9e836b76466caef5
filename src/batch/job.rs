//! The CreateJob request of an S3 Batch Operations job, as one value that is both printed
//! (`--dry-run`) and sent: its serde form uses AWS's own member names, so the JSON is what
//! `aws s3control create-job --cli-input-json` accepts, and `to_sdk` maps the very same
//! value onto the SDK's request. Nothing is decided twice.
//!
//! Also here: how s3bridge recognises its own jobs (description and tags) and the
//! deterministic client request token that makes a retried CreateJob return the job the
//! first attempt created instead of starting a second one.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::{Desired, RolePurpose};
use crate::spec::Side;

/// Tag every s3bridge job carries, valued with the spec's name (as the bundle's resources).
pub const SPEC_TAG: &str = "s3bridge";
/// Tag saying what the job is for (`JobPurpose::as_str`).
pub const PURPOSE_TAG: &str = "s3bridge:purpose";
/// Batch Operations priority of s3bridge's jobs (higher runs first; AWS's examples use 10).
pub const PRIORITY: i32 = 10;

/// Why s3bridge runs a job. Part of the description, the tags and the request token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPurpose {
    /// Replicate objects that existed before replication was on (S3ReplicateObject).
    ReplicateExisting,
    /// Copy objects missing or different in the destination (S3PutObjectCopy).
    Copy,
}

impl JobPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            JobPurpose::ReplicateExisting => "replicate-existing",
            JobPurpose::Copy => "copy",
        }
    }

    pub fn from_tag(value: &str) -> Option<JobPurpose> {
        [JobPurpose::ReplicateExisting, JobPurpose::Copy]
            .into_iter()
            .find(|p| p.as_str() == value)
    }
}

/// Every job s3bridge creates for a spec has a description starting with this, which is
/// how `status` finds them: ListJobs returns descriptions but not tags.
pub fn description_prefix(spec_name: &str) -> String {
    format!("s3bridge {spec_name}: ")
}

/// CreateJob input (botocore's `CreateJobRequest` shape, member for member).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateJob {
    pub account_id: String,
    pub confirmation_required: bool,
    pub operation: Operation,
    pub report: Report,
    pub client_request_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    pub description: String,
    pub priority: i32,
    pub role_arn: String,
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_generator: Option<ManifestGenerator>,
}

/// `JobOperation`: exactly one member is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Operation {
    S3ReplicateObject {},
    S3PutObjectCopy(CopyOperation),
}

impl Operation {
    /// The operation's name as ListJobs reports it.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::S3ReplicateObject {} => "S3ReplicateObject",
            Operation::S3PutObjectCopy(_) => "S3PutObjectCopy",
        }
    }
}

/// `S3CopyObjectOperation`, the members s3bridge's copy engine sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CopyOperation {
    /// The destination bucket ARN.
    pub target_resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_directive: Option<String>,
    #[serde(rename = "SSEAwsKmsKeyId", skip_serializing_if = "Option::is_none")]
    pub sse_aws_kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_key_enabled: Option<bool>,
    /// `bucket-owner-full-control` where the destination still uses ACLs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canned_access_control_list: Option<String>,
}

/// `JobReport`: where the completion report goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Report {
    pub bucket: String,
    pub format: String,
    pub enabled: bool,
    pub prefix: String,
    pub report_scope: String,
    pub expected_bucket_owner: String,
}

/// `JobManifest`: a manifest object s3bridge wrote (the copy engine's CSV).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Manifest {
    pub spec: ManifestSpec,
    pub location: ManifestLocation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManifestSpec {
    pub format: String,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManifestLocation {
    pub object_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_version_id: Option<String>,
    #[serde(rename = "ETag")]
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// `JobManifestGenerator`: S3 lists the objects itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManifestGenerator {
    pub s3_job_manifest_generator: S3ManifestGenerator,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3ManifestGenerator {
    pub expected_bucket_owner: String,
    pub source_bucket: String,
    pub manifest_output_location: ManifestOutputLocation,
    pub filter: ManifestFilter,
    pub enable_manifest_output: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManifestOutputLocation {
    pub expected_manifest_bucket_owner: String,
    pub bucket: String,
    pub manifest_prefix: String,
    pub manifest_format: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManifestFilter {
    pub eligible_for_replication: bool,
    pub object_replication_statuses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name_constraint: Option<KeyNameConstraint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyNameConstraint {
    pub match_any_prefix: Vec<String>,
}

/// Why a spec has no Batch Replication job to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoBatchJob {
    #[error(
        "the spec does not ask for existing objects to be replicated, so the bundle has no S3 Batch Replication role"
    )]
    NotRequested,
    #[error(
        "the spec replicates existing objects through its replication rules (`existing_objects_via_rule: true`), \
         so there is no Batch Replication job and no batch role"
    )]
    ViaRule,
}

impl NoBatchJob {
    /// What to do instead.
    pub fn hint(&self) -> &'static str {
        match self {
            NoBatchJob::NotRequested => {
                "set `replication.existing_objects: true`, run `s3bridge generate` and `terraform apply` (it creates \
                 the role and the report prefix), then run this again; or copy them with `s3bridge copy`"
            }
            NoBatchJob::ViaRule => {
                "nothing to run: S3 replicates existing objects by itself once AWS has enabled it for the account; \
                 remove `existing_objects_via_rule` (then generate and apply) to use a Batch Replication job instead"
            }
        }
    }
}

/// Where, under the batch prefix, S3 writes completion reports and generated manifests.
pub fn report_prefix(batch_prefix: &str) -> String {
    format!("{batch_prefix}reports")
}

pub fn manifest_prefix(batch_prefix: &str) -> String {
    format!("{batch_prefix}manifests")
}

/// The prefixes a Batch Replication manifest may be narrowed to, or None for the whole
/// bucket. A rule without a prefix covers every key, and `MatchAnyPrefix` has no way to
/// say "every key" (its members may not be empty), so then there is no key constraint at
/// all. Prefixes inside another listed prefix are dropped: they add nothing.
///
/// The constraint only narrows: S3 already limits a generated manifest to objects the
/// replication configuration covers (prefix and tags) through `EligibleForReplication`.
pub fn match_any_prefix<'a>(prefixes: impl IntoIterator<Item = &'a str>) -> Option<Vec<String>> {
    let mut prefixes: Vec<&str> = prefixes.into_iter().collect();
    if prefixes.is_empty() || prefixes.contains(&"") {
        return None;
    }
    prefixes.sort_unstable();
    prefixes.dedup();
    let mut kept: Vec<String> = Vec::new();
    for prefix in prefixes {
        // Sorted order puts a covering prefix before everything it covers.
        if !kept.iter().any(|k| prefix.starts_with(k.as_str())) {
            kept.push(prefix.to_string());
        }
    }
    Some(kept)
}

/// The S3 Batch Replication job of a spec: on the source account, S3ReplicateObject over a
/// manifest S3 generates from the source bucket (objects eligible for replication whose
/// status is NONE or FAILED), run by the bundle's batch role, reporting to the batch
/// prefix. `attempt` starts a new job for the same spec (each attempt has its own token).
pub fn replicate_existing(desired: &Desired, attempt: u32) -> Result<CreateJob, NoBatchJob> {
    let Some(batch) = &desired.batch else {
        let via_rule = desired
            .replications
            .iter()
            .flat_map(|r| &r.rules)
            .any(|rule| rule.existing_object_replication);
        return Err(if via_rule {
            NoBatchJob::ViaRule
        } else {
            NoBatchJob::NotRequested
        });
    };
    let role = desired
        .role(RolePurpose::BatchReplication)
        .expect("a batch setting comes with its role");
    let source = desired.bucket(Side::Source);
    let destination = desired.bucket(Side::Destination);
    let rules = desired
        .replications
        .iter()
        .filter(|r| r.from == Side::Source)
        .flat_map(|r| &r.rules);
    let key_name_constraint = match_any_prefix(rules.map(|rule| rule.prefix.as_str()))
        .map(|match_any_prefix| KeyNameConstraint { match_any_prefix });
    let mut job = CreateJob {
        account_id: source.account.clone(),
        confirmation_required: false,
        operation: Operation::S3ReplicateObject {},
        report: Report {
            bucket: batch.bucket_arn.clone(),
            format: "Report_CSV_20180820".into(),
            enabled: true,
            prefix: report_prefix(&batch.prefix),
            // One line per failed object: a report of every task of a billion-object
            // bucket would itself be a billion lines; the counts come from DescribeJob.
            report_scope: "FailedTasksOnly".into(),
            expected_bucket_owner: source.account.clone(),
        },
        client_request_token: String::new(),
        manifest: None,
        description: format!(
            "{}replicate existing objects s3://{} -> s3://{}",
            description_prefix(&desired.name),
            source.name,
            destination.name
        ),
        priority: PRIORITY,
        role_arn: role.arn.clone(),
        tags: tags(&desired.name, JobPurpose::ReplicateExisting),
        manifest_generator: Some(ManifestGenerator {
            s3_job_manifest_generator: S3ManifestGenerator {
                expected_bucket_owner: source.account.clone(),
                source_bucket: source.arn.clone(),
                manifest_output_location: ManifestOutputLocation {
                    expected_manifest_bucket_owner: source.account.clone(),
                    bucket: batch.bucket_arn.clone(),
                    manifest_prefix: manifest_prefix(&batch.prefix),
                    manifest_format: "S3InventoryReport_CSV_20211130".into(),
                },
                filter: ManifestFilter {
                    eligible_for_replication: true,
                    object_replication_statuses: vec!["NONE".into(), "FAILED".into()],
                    key_name_constraint,
                },
                // Kept under the batch prefix: a record of what the job was asked to do.
                enable_manifest_output: true,
            },
        }),
    };
    job.seal(JobPurpose::ReplicateExisting, attempt);
    Ok(job)
}

/// What a batch copy job (`copy --engine batch`) is made of.
#[derive(Debug, Clone)]
pub struct CopyObjects<'a> {
    /// Where the job runs: the account of the credentials that create it.
    pub account_id: &'a str,
    /// The spec's name, or None for an ad hoc copy.
    pub spec_name: Option<&'a str>,
    pub partition: &'a str,
    pub role_arn: &'a str,
    pub source_bucket: &'a str,
    pub destination_bucket: &'a str,
    /// The bucket and prefix (empty or ending in '/') of the manifest and the report.
    pub work_bucket: &'a str,
    pub work_prefix: &'a str,
    /// The uploaded manifest: its key and the ETag S3 answered.
    pub manifest_key: &'a str,
    pub manifest_etag: &'a str,
    pub kms_key_arn: Option<&'a str>,
    pub storage_class: Option<&'a str>,
    pub acl: Option<&'a str>,
    pub attempt: u32,
}

/// Name, in `manifest_prefix(work prefix)`, of the manifest whose lines have `digest`.
pub fn copy_manifest_key(work_prefix: &str, digest: &str) -> String {
    format!("{}/copy-{digest}.csv", manifest_prefix(work_prefix))
}

/// The S3PutObjectCopy job of a batch copy: every object of the manifest is copied to the
/// same key in the destination bucket, SSE-KMS with the destination key (so the copies
/// pass the destination bucket policy's encryption denies), metadata and tags copied.
pub fn copy_objects(input: &CopyObjects<'_>) -> CreateJob {
    let name = input.spec_name.unwrap_or("ad-hoc");
    let work_bucket_arn = crate::arn::bucket_arn(input.partition, input.work_bucket);
    let mut job = CreateJob {
        account_id: input.account_id.to_string(),
        confirmation_required: false,
        operation: Operation::S3PutObjectCopy(CopyOperation {
            target_resource: crate::arn::bucket_arn(input.partition, input.destination_bucket),
            storage_class: input.storage_class.map(str::to_string),
            metadata_directive: Some("COPY".into()),
            sse_aws_kms_key_id: input.kms_key_arn.map(str::to_string),
            bucket_key_enabled: input.kms_key_arn.map(|_| true),
            canned_access_control_list: input.acl.map(str::to_string),
        }),
        report: Report {
            bucket: work_bucket_arn.clone(),
            format: "Report_CSV_20180820".into(),
            enabled: true,
            prefix: report_prefix(input.work_prefix),
            // As for Batch Replication: failures only; DescribeJob has the counts.
            report_scope: "FailedTasksOnly".into(),
            expected_bucket_owner: input.account_id.to_string(),
        },
        client_request_token: String::new(),
        manifest: Some(Manifest {
            spec: ManifestSpec {
                format: crate::transfer::copy::manifest::FORMAT.into(),
                fields: crate::transfer::copy::manifest::FIELDS
                    .iter()
                    .map(|f| f.to_string())
                    .collect(),
            },
            location: ManifestLocation {
                object_arn: format!("{work_bucket_arn}/{}", input.manifest_key),
                object_version_id: None,
                etag: input.manifest_etag.to_string(),
            },
        }),
        description: format!(
            "{}copy s3://{} -> s3://{}",
            description_prefix(name),
            input.source_bucket,
            input.destination_bucket
        ),
        priority: PRIORITY,
        role_arn: input.role_arn.to_string(),
        tags: tags(name, JobPurpose::Copy),
        manifest_generator: None,
    };
    job.seal(JobPurpose::Copy, input.attempt);
    job
}

/// The tags of a job of `spec_name` made for `purpose`.
pub fn tags(spec_name: &str, purpose: JobPurpose) -> Vec<Tag> {
    vec![
        Tag {
            key: SPEC_TAG.into(),
            value: spec_name.into(),
        },
        Tag {
            key: PURPOSE_TAG.into(),
            value: purpose.as_str().into(),
        },
    ]
}

impl CreateJob {
    /// Sets the client request token to a digest of the purpose, the attempt and every
    /// other member of the request: running the same command again (a retry after a
    /// timeout, a re-run of a pipeline) sends the same token, and S3 answers with the job
    /// it already created. A changed spec changes the request and so the token.
    pub fn seal(&mut self, purpose: JobPurpose, attempt: u32) {
        self.client_request_token.clear();
        let body = serde_json::to_vec(self).expect("a job request is JSON");
        let mut digest = Sha256::new();
        digest.update(purpose.as_str().as_bytes());
        digest.update([0]);
        digest.update(attempt.to_be_bytes());
        digest.update(&body);
        let hex: String = digest.finalize()[..24]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // 9 + 48 characters: within CreateJob's 64.
        self.client_request_token = format!("s3bridge-{hex}");
    }

    /// The request as `aws s3control create-job --cli-input-json` takes it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a job request is JSON")
    }

    /// The same request on the SDK's fluent builder.
    pub fn to_sdk(
        &self,
        client: &aws_sdk_s3control::Client,
    ) -> Result<
        aws_sdk_s3control::operation::create_job::builders::CreateJobFluentBuilder,
        BuildError,
    > {
        use aws_sdk_s3control::types as t;
        let operation = match &self.operation {
            Operation::S3ReplicateObject {} => t::JobOperation::builder()
                .s3_replicate_object(t::S3ReplicateObjectOperation::builder().build())
                .build(),
            Operation::S3PutObjectCopy(copy) => t::JobOperation::builder()
                .s3_put_object_copy(
                    t::S3CopyObjectOperation::builder()
                        .target_resource(&copy.target_resource)
                        .set_storage_class(copy.storage_class.as_deref().map(Into::into))
                        .set_metadata_directive(copy.metadata_directive.as_deref().map(Into::into))
                        .set_sse_aws_kms_key_id(copy.sse_aws_kms_key_id.clone())
                        .set_bucket_key_enabled(copy.bucket_key_enabled)
                        .set_canned_access_control_list(
                            copy.canned_access_control_list.as_deref().map(Into::into),
                        )
                        .build(),
                )
                .build(),
        };
        let report = t::JobReport::builder()
            .bucket(&self.report.bucket)
            .format(self.report.format.as_str().into())
            .enabled(self.report.enabled)
            .prefix(&self.report.prefix)
            .report_scope(self.report.report_scope.as_str().into())
            .expected_bucket_owner(&self.report.expected_bucket_owner)
            .build();
        let mut request = client
            .create_job()
            .account_id(&self.account_id)
            .confirmation_required(self.confirmation_required)
            .operation(operation)
            .report(report)
            .client_request_token(&self.client_request_token)
            .description(&self.description)
            .priority(self.priority)
            .role_arn(&self.role_arn);
        for tag in &self.tags {
            request = request.tags(
                t::S3Tag::builder()
                    .key(&tag.key)
                    .value(&tag.value)
                    .build()?,
            );
        }
        if let Some(manifest) = &self.manifest {
            let spec = t::JobManifestSpec::builder()
                .format(manifest.spec.format.as_str().into())
                .set_fields(Some(
                    manifest
                        .spec
                        .fields
                        .iter()
                        .map(|f| f.as_str().into())
                        .collect(),
                ))
                .build()?;
            let location = t::JobManifestLocation::builder()
                .object_arn(&manifest.location.object_arn)
                .set_object_version_id(manifest.location.object_version_id.clone())
                .e_tag(&manifest.location.etag)
                .build()?;
            request = request.manifest(
                t::JobManifest::builder()
                    .spec(spec)
                    .location(location)
                    .build(),
            );
        }
        if let Some(generator) = &self.manifest_generator {
            let g = &generator.s3_job_manifest_generator;
            let output = &g.manifest_output_location;
            let filter = t::JobManifestGeneratorFilter::builder()
                .eligible_for_replication(g.filter.eligible_for_replication)
                .set_object_replication_statuses(Some(
                    g.filter
                        .object_replication_statuses
                        .iter()
                        .map(|s| s.as_str().into())
                        .collect(),
                ))
                .set_key_name_constraint(g.filter.key_name_constraint.as_ref().map(|k| {
                    t::KeyNameConstraint::builder()
                        .set_match_any_prefix(Some(k.match_any_prefix.clone()))
                        .build()
                }))
                .build();
            let s3 = t::S3JobManifestGenerator::builder()
                .expected_bucket_owner(&g.expected_bucket_owner)
                .source_bucket(&g.source_bucket)
                .manifest_output_location(
                    t::S3ManifestOutputLocation::builder()
                        .expected_manifest_bucket_owner(&output.expected_manifest_bucket_owner)
                        .bucket(&output.bucket)
                        .manifest_prefix(&output.manifest_prefix)
                        .manifest_format(output.manifest_format.as_str().into())
                        .build()?,
                )
                .filter(filter)
                .enable_manifest_output(g.enable_manifest_output)
                .build()?;
            request =
                request.manifest_generator(t::JobManifestGenerator::S3JobManifestGenerator(s3));
        }
        Ok(request)
    }
}

pub use aws_sdk_s3control::error::BuildError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_bucket_rule_means_no_key_constraint() {
        assert_eq!(match_any_prefix(["scans/", ""]), None);
        assert_eq!(match_any_prefix(Vec::<&str>::new()), None);
    }

    #[test]
    fn covered_and_repeated_prefixes_are_dropped() {
        assert_eq!(
            match_any_prefix(["scans/2024/", "images/", "scans/", "images/"]),
            Some(vec!["images/".to_string(), "scans/".to_string()])
        );
        // `scans` covers `scans/` and `scansets/` alike: prefixes are byte prefixes.
        assert_eq!(
            match_any_prefix(["scans/", "scans", "scansets/"]),
            Some(vec!["scans".to_string()])
        );
    }

    fn example() -> Desired {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs/example.yaml");
        crate::model::build(&crate::spec::load(&path).unwrap().spec)
    }

    #[test]
    fn the_token_follows_the_request_attempt_and_purpose() {
        let desired = example();
        let first = replicate_existing(&desired, 1).unwrap();
        assert_eq!(replicate_existing(&desired, 1).unwrap(), first);
        assert_ne!(
            replicate_existing(&desired, 2)
                .unwrap()
                .client_request_token,
            first.client_request_token
        );
        let mut other = first.clone();
        other.seal(JobPurpose::Copy, 1);
        assert_ne!(other.client_request_token, first.client_request_token);
        let mut changed = first.clone();
        changed.priority += 1;
        changed.seal(JobPurpose::ReplicateExisting, 1);
        assert_ne!(changed.client_request_token, first.client_request_token);
        assert!(first.client_request_token.len() <= 64);
    }

    #[test]
    fn no_batch_role_is_explained() {
        let mut desired = example();
        desired.batch = None;
        assert_eq!(
            replicate_existing(&desired, 1),
            Err(NoBatchJob::NotRequested)
        );
        for r in &mut desired.replications {
            for rule in &mut r.rules {
                rule.existing_object_replication = true;
            }
        }
        assert_eq!(replicate_existing(&desired, 1), Err(NoBatchJob::ViaRule));
    }

    #[test]
    fn purposes_round_trip_through_their_tag() {
        for purpose in [JobPurpose::ReplicateExisting, JobPurpose::Copy] {
            assert_eq!(JobPurpose::from_tag(purpose.as_str()), Some(purpose));
        }
        assert_eq!(JobPurpose::from_tag("other"), None);
    }
}
