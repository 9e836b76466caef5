//! `s3bridge copy ... --engine batch`: the same listing diff and decision as a local copy
//! (`transfer::copy`), but the objects to copy are written into an S3 Batch Operations
//! CSV manifest (`transfer::copy::manifest`) instead of being copied from this machine;
//! the manifest is then uploaded under the work prefix and an S3PutObjectCopy job
//! (`batch::job::copy_objects`) created and followed like `replicate-existing`'s
//! (`jobs::create_and_follow`). What the job cannot copy (over 5 GiB, renamed keys,
//! another storage class) is copied here during the listing and listed in the output.
//!
//! `prepare` checks the flags before anything is listed; `finish` runs after the copy
//! stage. A run that stopped early creates no job: its manifest would be partial.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use super::jobs::{self, Follow};
use super::{parse_s3_url, Status};
use crate::arn::partition_for_region;
use crate::aws::{Access, Session};
use crate::batch::job;
use crate::cli::{CopyArgs, TextOrJson};
use crate::error::Problem;
use crate::spec::{CopyEngine, Spec};
use crate::transfer::copy::execute::DestinationSettings;
use crate::transfer::copy::manifest::{ManifestFile, ManifestWriter};
use crate::transfer::copy::outcome::Summary;
use crate::transfer::keys::KeyPlan;
use crate::{errln, outln};

/// A batch copy, from its flags (or the spec's model) to its job.
pub(super) struct BatchCopy {
    pub writer: Arc<ManifestWriter>,
    role_arn: String,
    work_bucket: String,
    /// Empty or ending in '/'.
    work_prefix: String,
    spec_name: Option<String>,
    /// Spec mode: the destination account, where the job runs; ad hoc: asked of STS.
    account_id: Option<String>,
    /// The destination Region, where S3PutObjectCopy jobs must be created.
    region: String,
    /// The temporary manifest is removed after its upload unless --manifest named it.
    keep_manifest: bool,
    follow: Follow,
}

/// The engine `args` and `spec` choose.
fn engine(args: &CopyArgs, spec: Option<&Spec>) -> CopyEngine {
    args.engine
        .or(spec.map(|s| s.copy.engine))
        .unwrap_or(CopyEngine::Local)
}

/// Checks the batch flags and works out the role and the work prefix; None for the local
/// engine. The work prefix is kept out of the copy itself (its manifests and reports
/// are not data to copy).
pub(super) fn prepare(
    args: &CopyArgs,
    spec: Option<&Spec>,
    buckets: (&str, &str),
    region: &str,
    plan: &mut KeyPlan,
    settings: &DestinationSettings,
) -> Result<Option<BatchCopy>> {
    if engine(args, spec) == CopyEngine::Local {
        let batch_only = [
            ("--role-arn", args.role_arn.is_some()),
            ("--work-prefix", args.work_prefix.is_some()),
            ("--manifest", args.manifest.is_some()),
            ("--wait", args.job.wait),
        ];
        if let Some((flag, _)) = batch_only.iter().find(|(_, given)| *given) {
            return Err(Problem::usage(
                format!("{flag} is for the batch engine"),
                "add --engine batch, or drop the flag",
            )
            .into());
        }
        return Ok(None);
    }
    if args.delete {
        return Err(Problem::usage(
            "--delete cannot run with --engine batch (S3 Batch Operations only copies)",
            "delete extras with a local run: s3bridge copy ... --engine local --delete",
        )
        .into());
    }
    let desired = spec.map(crate::model::build);
    let model = desired.as_ref().and_then(|d| d.batch_copy.as_ref());
    let role_arn = match (&args.role_arn, model) {
        (Some(arn), _) => arn.clone(),
        (None, Some(model)) => model.role_arn.clone(),
        (None, None) if spec.is_some() => {
            return Err(Problem::usage(
                "the spec has no batch copy role",
                "set `copy.engine: batch` in the spec, run `s3bridge generate` and `terraform apply` (it creates \
                 the role S3 Batch Operations assumes), then run this again; or pass --role-arn ARN and \
                 --work-prefix s3://BUCKET/PREFIX/",
            )
            .into())
        }
        (None, None) => {
            return Err(Problem::usage(
                "--engine batch with s3:// URLs needs --role-arn ARN",
                "the IAM role S3 Batch Operations assumes (trusting batchoperations.s3.amazonaws.com; \
                 s3:GetObject and s3:GetObjectTagging on the source, s3:PutObject and s3:PutObjectTagging on \
                 the destination, s3:PutObject under the work prefix)",
            )
            .into())
        }
    };
    if !(role_arn.starts_with("arn:") && role_arn.contains(":role/")) {
        return Err(Problem::usage(
            format!("--role-arn `{role_arn}` is not an IAM role ARN"),
            "write arn:aws:iam::ACCOUNT:role/NAME",
        )
        .into());
    }
    let (work_bucket, work_prefix) = match (&args.work_prefix, model) {
        (Some(url), _) => {
            if !url.starts_with("s3://") {
                return Err(Problem::usage(
                    format!("--work-prefix `{url}` is not an s3:// URL"),
                    "give s3://BUCKET/PREFIX/",
                )
                .into());
            }
            parse_s3_url(url)?
        }
        (None, Some(model)) => (model.bucket.clone(), model.prefix.clone()),
        (None, None) => {
            return Err(Problem::usage(
                "--engine batch with s3:// URLs needs --work-prefix s3://BUCKET/PREFIX/",
                "where the manifest is uploaded and S3 writes the completion report: a bucket of the destination \
                 account and Region, where the job runs",
            )
            .into())
        }
    };
    let follow = Follow::new(
        &args.job,
        args.format,
        spec.map(|_| format!("s3bridge status {}", args.source)),
    )?;
    let (source_bucket, destination_bucket) = buckets;
    let work = |bucket: &str| (work_bucket == bucket).then_some(work_prefix.as_str());
    super::skip_work_prefixes(plan, work(source_bucket), work(destination_bucket));
    let (path, keep_manifest) = match &args.manifest {
        Some(path) => (path.clone(), true),
        None => (
            std::env::temp_dir().join(format!("s3bridge-copy-{}.csv", std::process::id())),
            args.dry_run,
        ),
    };
    let writer = ManifestWriter::create(&path, source_bucket, settings.storage_class.clone())
        .with_context(|| format!("creating the manifest {}", path.display()))?;
    Ok(Some(BatchCopy {
        writer: Arc::new(writer),
        role_arn,
        work_bucket,
        work_prefix,
        spec_name: spec.map(|s| s.name.clone()),
        account_id: spec.map(|s| s.destination.account_id.clone()),
        region: region.to_string(),
        keep_manifest,
        follow,
    }))
}

/// The manifest's MD5, the ETag S3 gives an object stored without SSE-KMS: what a dry
/// run can show before anything is uploaded.
fn md5_hex(path: &std::path::Path) -> Result<String> {
    use md5::Digest;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = md5::Md5::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut file, &mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Object metadata naming the digest of the lines a manifest was uploaded with.
const DIGEST_METADATA: &str = "s3bridge-digest";

/// Uploads the manifest under `key`, or finds it there from an earlier run with the same
/// objects (its name is its content's digest; its metadata and size must agree, or it
/// is uploaded again); returns its ETag.
async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    manifest: &ManifestFile,
    owner: &str,
) -> Result<String> {
    let url = format!("s3://{bucket}/{key}");
    let path = &manifest.path;
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if let Ok(head) = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        let same = head
            .metadata()
            .and_then(|m| m.get(DIGEST_METADATA))
            .is_some_and(|d| *d == manifest.digest)
            && head.content_length() == Some(size as i64);
        if let (true, Some(etag)) = (same, head.e_tag()) {
            // What this run did (even with --quiet): no second upload.
            errln!("manifest {url} is already there (the same objects as an earlier run)");
            return Ok(etag.trim_matches('"').to_string());
        }
    }
    let body = aws_sdk_s3::primitives::ByteStream::from_path(path)
        .await
        .with_context(|| format!("reading {}", path.display()))?;
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("text/csv")
        .metadata(DIGEST_METADATA, &manifest.digest)
        .expected_bucket_owner(owner)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            crate::aws::error::AwsError::new("PutObject", &url, &e).with_hint(
                "the credentials that create the job need s3:PutObject under the work prefix",
            )
        })
        .context("uploading the manifest")?;
    put.e_tag()
        .map(|e| e.trim_matches('"').to_string())
        .context("PutObject of the manifest answered without an ETag")
}

impl BatchCopy {
    /// The region the job runs in, once the destination bucket's is known (ad hoc:
    /// HeadBucket): S3PutObjectCopy jobs run in the destination Region.
    pub fn set_region(&mut self, region: &str) {
        self.region = region.to_string();
    }

    /// After the copy stage: creates (or, dry run, prints) the job over the manifest and
    /// follows it. `job_access` reaches the account that runs the job, the destination's
    /// (the destination profile's credentials, never the copy role, which may not create
    /// jobs); in spec mode they must belong to the destination account.
    pub async fn finish(
        self,
        summary: Summary,
        job_access: &Access,
        buckets: (&str, &str),
        settings: &DestinationSettings,
        dry_run: bool,
        attempt: u32,
    ) -> Result<Status> {
        let manifest = self.writer.finish().context("finishing the manifest")?;
        let mut extra = Map::new();
        extra.insert("copy".into(), serde_json::to_value(&summary)?);
        extra.insert("manifest".into(), manifest_json(&manifest));
        let text = self.follow.format == TextOrJson::Text;
        if text || dry_run {
            // A dry run's stdout is the job input alone, as replicate-existing's.
            let summary_text = format!("{}{}", summary.text(), local_text(&manifest));
            if dry_run {
                errln!("{summary_text}");
            } else {
                outln!("{summary_text}")?;
            }
        }
        let local_status = super::copy::status_of(&summary);
        let refuse = if let Some(error) = &summary.error {
            Some(format!("the listing stopped early ({error})"))
        } else if manifest.write_errors > 0 {
            Some("the manifest could not be written completely".to_string())
        } else if manifest.objects == 0 {
            Some("nothing for S3 Batch Operations to copy".to_string())
        } else {
            None
        };
        if let Some(why) = refuse {
            errln!("no job created: {why}");
            if !text && !dry_run {
                outln!("{}", serde_json::to_string_pretty(&Value::Object(extra))?)?;
            }
            return Ok(local_status);
        }
        let session = Session::connect(job_access).await?;
        let account_id = match &self.account_id {
            Some(account) => {
                if !dry_run {
                    session
                        .expect_account("destination (batch copy job)", &[account])
                        .await?;
                }
                account.clone()
            }
            None => session.account_id().await?,
        };
        let manifest_key = job::copy_manifest_key(&self.work_prefix, &manifest.digest);
        let location = format!("s3://{}/{manifest_key}", self.work_bucket);
        let etag = if dry_run {
            md5_hex(&manifest.path)?
        } else {
            let etag = upload(
                &session.s3(),
                &self.work_bucket,
                &manifest_key,
                &manifest,
                &account_id,
            )
            .await?;
            etag
        };
        let (source_bucket, destination_bucket) = buckets;
        let request = job::copy_objects(&job::CopyObjects {
            account_id: &account_id,
            spec_name: self.spec_name.as_deref(),
            partition: partition_for_region(&self.region),
            role_arn: &self.role_arn,
            source_bucket,
            destination_bucket,
            work_bucket: &self.work_bucket,
            work_prefix: &self.work_prefix,
            manifest_key: &manifest_key,
            manifest_etag: &etag,
            kms_key_arn: settings.kms_key_arn.as_deref(),
            storage_class: settings.storage_class.default.as_deref(),
            acl: settings.acl.as_deref(),
            attempt,
        });
        if dry_run {
            errln!(
                "manifest: {} objects ({} bytes) written to {}; it would be uploaded to {location} \
                 (the ETag shown is its MD5; S3 answers another one where the bucket encrypts with SSE-KMS)",
                manifest.objects,
                manifest.bytes,
                manifest.path.display()
            );
            jobs::print_dry_run(&request, &self.region)?;
            return Ok(local_status);
        }
        extra.insert("manifest_location".into(), json!(location));
        let what = format!(
            "S3 Batch Operations copy of {} objects s3://{source_bucket} -> s3://{destination_bucket}",
            manifest.objects
        );
        let job_status =
            jobs::create_and_follow(&session, &request, &self.region, &what, &self.follow, extra)
                .await?;
        Ok(match (local_status, job_status) {
            (Status::Success, job) => job,
            (local, _) => local,
        })
    }
}

impl Drop for BatchCopy {
    /// The temporary manifest goes once it is uploaded, or the run ends without a job
    /// (also on an error); `--manifest FILE` and a dry run's are kept.
    fn drop(&mut self) {
        if !self.keep_manifest {
            let _ = std::fs::remove_file(self.writer.path());
        }
    }
}

fn manifest_json(manifest: &ManifestFile) -> Value {
    json!({
        "objects": manifest.objects,
        "bytes": manifest.bytes,
        "digest": manifest.digest,
        "copied_locally": manifest.local,
        "copied_locally_count": manifest.local_objects,
    })
}

/// The objects copied here rather than by the job, and why (empty when none).
fn local_text(manifest: &ManifestFile) -> String {
    use crate::transfer::copy::manifest::CopiedLocally;
    if manifest.local.is_empty() {
        return String::new();
    }
    let listed = if manifest.local_objects > manifest.local.len() as u64 {
        format!(
            " (the first {} listed; all in --report)",
            manifest.local.len()
        )
    } else {
        String::new()
    };
    let mut out = format!(
        "\n{} objects copied by this machine, not by the job{listed}:",
        manifest.local_objects
    );
    for local in &manifest.local {
        let why = match local.why {
            CopiedLocally::TooLarge => "over 5 GiB: multipart copy",
            CopiedLocally::Renamed => "renamed by the key plan",
            CopiedLocally::StorageClass => "another storage class than the job's",
        };
        out.push_str(&format!(
            "\n  {} -> {} ({why})",
            local.source_key, local.destination_key
        ));
    }
    out
}
