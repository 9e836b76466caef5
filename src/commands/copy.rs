//! `s3bridge copy SPEC` and `s3bridge copy s3://SRC[/prefix/] s3://DST[/prefix/]`: works
//! out the key plan, the credentials per side, the destination's settings (KMS key,
//! storage class, ACL) and runs the copy stage (`transfer::copy`).
//!
//! Credentials decide how bytes move. One principal for both sides (the spec's copy role
//! with `--assume-copy-role`, or the same profile) lets S3 copy server-side; different
//! credentials per side mean neither can read the other's bucket, so objects are streamed
//! GET → PUT through this machine.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use aws_config::retry::RetryConfig;

use super::{load_spec, parse_s3_url, Status};
use crate::aws::requests::RequestCounter;
use crate::aws::{Access, Session};
use crate::cli::{CopyArgs, TextOrJson};
use crate::model::{self, RolePurpose};
use crate::spec::{KmsKeySpec, Side, Spec};
use crate::transfer::copy::execute::{Copier, DestinationSettings, StorageClassPolicy, Transport};
use crate::transfer::copy::retry::{Aimd, RetryPolicy};
use crate::transfer::copy::{self, CopyJob};
use crate::transfer::diff::{Bucket, DiffOptions};
use crate::transfer::keys::{KeyFilter, KeyPlan};

/// Everything the two modes (spec, ad hoc) work out before the run.
struct Setup {
    source: (Access, String),
    destination: (Access, String),
    plan: KeyPlan,
    settings: DestinationSettings,
    /// Spec mode: the model says ACLs are disabled; ad hoc: ask the bucket.
    probe_acl: bool,
    /// Spec mode: the destination key's alias ARN, resolved with DescribeKey (which the
    /// copy role is granted) when no key ARN is known; never for a dry run.
    key_alias: Option<String>,
    /// Spec mode: the accounts each side's credentials must act in.
    accounts: Option<[Vec<String>; 2]>,
}

fn default_region() -> String {
    std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".into())
}

fn ad_hoc(args: &CopyArgs, destination: &str) -> Result<Setup> {
    if args.assume_copy_role {
        bail!("--assume-copy-role needs a spec (it names the copy role)");
    }
    let (source_bucket, source_prefix) = parse_s3_url(&args.source)?;
    let (destination_bucket, destination_prefix) = parse_s3_url(destination)?;
    if source_bucket == destination_bucket
        && (source_prefix.starts_with(&destination_prefix)
            || destination_prefix.starts_with(&source_prefix))
    {
        bail!("the source and destination prefixes overlap in one bucket: copies would be listed as sources");
    }
    let source_region = args.source_region.clone().unwrap_or_else(default_region);
    let access = |profile: &Option<String>, region: String| Access {
        profile: profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        session_name: "s3bridge-copy".into(),
        ..Access::new(&region)
    };
    let filter = KeyFilter::new(&args.include, &args.exclude)?;
    Ok(Setup {
        source: (
            access(&args.source_profile, source_region.clone()),
            source_bucket,
        ),
        destination: (
            access(
                &args.destination_profile,
                args.destination_region.clone().unwrap_or(source_region),
            ),
            destination_bucket,
        ),
        plan: KeyPlan::ad_hoc(&source_prefix, &destination_prefix, filter),
        settings: DestinationSettings {
            kms_key_arn: args.destination_kms_key.clone(),
            storage_class: StorageClassPolicy {
                by_prefix: Vec::new(),
                default: args.storage_class.clone(),
            },
            acl: None,
        },
        probe_acl: true,
        key_alias: None,
        accounts: None,
    })
}

fn from_spec(args: &CopyArgs, spec: &Spec) -> Result<Setup> {
    let mut plan = KeyPlan::from_spec(spec)?;
    plan.filter = KeyFilter::new(
        &[spec.copy.include.clone(), args.include.clone()].concat(),
        &[spec.copy.exclude.clone(), args.exclude.clone()].concat(),
    )?;
    let (source_work, destination_work) = super::spec_work_prefixes(spec);
    super::skip_work_prefixes(
        &mut plan,
        source_work.as_deref(),
        destination_work.as_deref(),
    );
    let copy_role = model::role_arn_for(spec, RolePurpose::Copy);
    let access = |side: Side| {
        let b = spec.side(side);
        let mut access = Access {
            endpoint_url: args.endpoint_url.clone(),
            session_name: "s3bridge-copy".into(),
            ..Access::new(&b.region)
        };
        if args.assume_copy_role {
            access.profile = args.source_profile.clone();
            access.assume_role = Some(copy_role.clone());
        } else {
            access.profile = match side {
                Side::Source => args.source_profile.clone(),
                Side::Destination => args.destination_profile.clone(),
            };
        }
        access
    };
    let desired = model::build(spec);
    let (kms_key_arn, key_alias) = match (&args.destination_kms_key, &spec.destination.kms_key) {
        (Some(arn), _) => (Some(arn.clone()), None),
        (None, KmsKeySpec::Existing(arn)) => (Some(arn.clone()), None),
        (None, KmsKeySpec::Create) => (None, desired.key(Side::Destination).map(|k| k.alias_arn())),
    };
    let sides = [access(Side::Source), access(Side::Destination)];
    let accounts = super::expected_accounts(spec, [&sides[0], &sides[1]]);
    let [source, destination] = sides;
    Ok(Setup {
        source: (source, spec.source.bucket.clone()),
        destination: (destination, spec.destination.bucket.clone()),
        plan,
        settings: DestinationSettings {
            kms_key_arn,
            storage_class: StorageClassPolicy {
                by_prefix: spec
                    .replication
                    .rules
                    .iter()
                    .filter_map(|r| {
                        r.storage_class
                            .map(|c| (r.prefix.clone(), c.as_str().to_string()))
                    })
                    .collect(),
                default: args.storage_class.clone(),
            },
            // The bundle enforces BucketOwnerEnforced: ACLs are off, none is sent.
            acl: None,
        },
        probe_acl: desired.bucket(Side::Destination).settings.object_ownership
            != "BucketOwnerEnforced",
        key_alias,
        accounts: Some(accounts),
    })
}

/// The key ARN behind the destination key's alias ARN (an alias ARN names the key in its
/// own account, where a bare alias would resolve in the caller's).
async fn resolve_alias(session: &Session, alias: &str) -> Result<String> {
    let described = session
        .kms()
        .describe_key()
        .key_id(alias)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_kms::error::DisplayErrorContext(e)))
        .with_context(|| {
            format!(
                "cannot resolve the destination key {alias} to its ARN (copies are encrypted with it); \
                 the copy role is allowed kms:DescribeKey on it once the bundle is applied; \
                 or pass --destination-kms-key ARN (`terraform output -raw destination_kms_key_arn` in the bundle)"
            )
        })?;
    described
        .key_metadata()
        .map(|m| m.arn().unwrap_or(m.key_id()).to_string())
        .context("DescribeKey returned no key metadata")
}

/// The canned ACL for a destination that still uses ACLs; None where they are disabled.
async fn acl_for(s3: &aws_sdk_s3::Client, bucket: &str) -> Option<String> {
    match s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => {
            let enforced = out
                .ownership_controls()
                .map(|c| {
                    c.rules()
                        .iter()
                        .any(|r| r.object_ownership().as_str() == "BucketOwnerEnforced")
                })
                .unwrap_or(false);
            (!enforced).then(|| "bucket-owner-full-control".to_string())
        }
        Err(e) => {
            use aws_sdk_s3::error::ProvideErrorMetadata;
            if e.code() == Some("OwnershipControlsNotFoundError") {
                // No ownership controls at all: an old bucket where ACLs decide ownership.
                Some("bucket-owner-full-control".to_string())
            } else {
                eprintln!(
                    "note: cannot read the destination's object ownership ({}); sending no ACL",
                    e.code().unwrap_or("error")
                );
                None
            }
        }
    }
}

pub fn run(args: &CopyArgs) -> Result<Status> {
    let mut spec = None;
    let mut setup = match &args.destination {
        Some(destination) => ad_hoc(args, destination)?,
        None => {
            if args.source.starts_with("s3://") {
                bail!("give a destination s3://BUCKET[/PREFIX] after the source, or a spec file instead");
            }
            let loaded = match load_spec(std::path::Path::new(&args.source))? {
                Ok(loaded) => loaded,
                Err(status) => return Ok(status),
            };
            let setup = from_spec(args, &loaded.spec)?;
            spec = Some(loaded.spec);
            setup
        }
    };
    let shard = super::shard_range(&args.shard, &setup.source.1)?;
    // The batch engine (`--engine batch`): checked before anything is listed.
    // S3PutObjectCopy jobs run in the destination Region (S3 user guide,
    // batch-ops-copy-object: "Copy jobs must be created in the destination Region").
    let batch = super::copy_batch::prepare(
        args,
        spec.as_ref(),
        (&setup.source.1, &setup.destination.1),
        &setup.destination.0.region,
        &mut setup.plan,
        &setup.settings,
    )?;
    // Jobs are created in the destination account with the destination side's own
    // credentials (--destination-profile or the default chain), never the copy role's.
    let job_access = Access {
        profile: args.destination_profile.clone(),
        assume_role: None,
        ..setup.destination.0.clone()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let source_session = Session::connect(&setup.source.0).await?;
        let destination_session = Session::connect(&setup.destination.0).await?;
        let same_principal = setup.source.0.profile == setup.destination.0.profile
            && setup.source.0.assume_role == setup.destination.0.assume_role;
        let transport = if same_principal {
            Transport::ServerSide
        } else {
            Transport::Stream
        };
        if let Some(accounts) = &setup.accounts {
            super::expect_accounts([&source_session, &destination_session], accounts).await?;
        }
        // A local dry run sends nothing encrypted: it needs no key (a batch dry run prints
        // the job, which names it).
        let needs_key = !args.dry_run || batch.is_some();
        if let (None, Some(alias), true) =
            (&setup.settings.kms_key_arn, &setup.key_alias, needs_key)
        {
            setup.settings.kms_key_arn = Some(resolve_alias(&destination_session, alias).await?);
        }
        let counter = RequestCounter::new();
        let listing = |session: &Session| session.s3_with(|b| counter.attach(b));
        // The copy clients retry in the copy stage (jitter, AIMD on SlowDown), not in the SDK.
        let copying = |session: &Session| {
            session.s3_with(|b| counter.attach(b).retry_config(RetryConfig::disabled()))
        };
        let destination_listing = listing(&destination_session);
        if setup.probe_acl {
            setup.settings.acl = acl_for(&destination_listing, &setup.destination.1).await;
        }
        let concurrency = args.concurrency as usize;
        let destination_settings = setup.settings.clone();
        let job = CopyJob {
            source: Bucket {
                s3: listing(&source_session),
                name: setup.source.1.clone(),
            },
            destination: Bucket {
                s3: destination_listing,
                name: setup.destination.1.clone(),
            },
            copier: Copier {
                source: Bucket {
                    s3: copying(&source_session),
                    name: setup.source.1.clone(),
                },
                destination: Bucket {
                    s3: copying(&destination_session),
                    name: setup.destination.1.clone(),
                },
                settings: setup.settings,
                transport,
                retry: RetryPolicy::default(),
                gate: Aimd::new(concurrency),
                part_concurrency: 8,
            },
            plan: Arc::new(setup.plan),
            // Four key ranges per segment list ~40,000 keys/s per side on S3, more than
            // copies consume; fewer listers in flight keep memory flat (pages buffered).
            diff: DiffOptions {
                ranges_per_segment: 4,
                concurrent_ranges: 8,
                shard,
                ..DiffOptions::default()
            },
            dry_run: args.dry_run,
            delete: args.delete,
            report: args.report.clone(),
            progress: !args.quiet,
            counter,
            manifest: batch.as_ref().map(|b| b.writer.clone()),
        };
        if !args.quiet {
            eprintln!(
                "copying s3://{} → s3://{} ({}){}",
                setup.source.1,
                setup.destination.1,
                match transport {
                    Transport::ServerSide => "server-side, one principal",
                    Transport::Stream => "streamed GET → PUT, separate credentials per side",
                },
                if args.dry_run { ", dry run" } else { "" }
            );
        }
        let report_path = args.report.clone();
        // On the runtime's workers, not on this thread: with one core, one thread runs
        // everything and no wake-up crosses threads.
        let summary = tokio::spawn(copy::run(job))
            .await
            .context("the copy stage stopped unexpectedly")?
            .with_context(|| match &report_path {
                Some(path) => format!("writing the report {}", path.display()),
                None => "collecting results".to_string(),
            })?;
        if let Some(batch) = batch {
            let buckets = (setup.source.1.as_str(), setup.destination.1.as_str());
            return batch
                .finish(
                    summary,
                    &job_access,
                    buckets,
                    &destination_settings,
                    args.dry_run,
                    args.job.attempt,
                )
                .await;
        }
        match args.format {
            TextOrJson::Json => println!("{}", serde_json::to_string(&summary)?),
            TextOrJson::Text => println!("{}", summary.text()),
        }
        Ok(if summary.error.is_some() {
            Status::CouldNotRun
        } else if summary.failed > 0 {
            Status::Failure
        } else {
            Status::Success
        })
    })
}
