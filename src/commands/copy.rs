//! `s3bridge copy SPEC` and `s3bridge copy s3://SRC[/prefix/] s3://DST[/prefix/]`: works
//! out the key plan, the credentials per side, the destination's settings (KMS key,
//! storage class, ACL) and runs the copy stage (`transfer::copy`).
//!
//! Credentials decide how bytes move. One principal for both sides (the spec's copy role
//! with `--assume-copy-role`, or the same profile) lets S3 copy server-side; different
//! credentials per side mean neither can read the other's bucket, so objects are streamed
//! GET → PUT through this machine.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, Result};
use aws_config::retry::RetryConfig;

use super::{key_filter, load_spec, parse_s3_url, side_access, transfer_access, Status};
use crate::aws::error::AwsResultExt;
use crate::aws::requests::RequestCounter;
use crate::aws::{bucket_session, Access, RegionSource, Session};
use crate::cli::{CopyArgs, TextOrJson};
use crate::error::{Error, ErrorKind, Problem};
use crate::model;
use crate::spec::{KmsKeySpec, Side, Spec};
use crate::transfer::copy::execute::{Copier, DestinationSettings, StorageClassPolicy, Transport};
use crate::transfer::copy::retry::{Aimd, RetryPolicy};
use crate::transfer::copy::uploads::Principal;
use crate::transfer::copy::{self, CopyJob, DeleteGuard};
use crate::transfer::diff::{Bucket, DiffOptions};
use crate::transfer::keys::KeyPlan;
use crate::transfer::shutdown::Shutdown;
use crate::{errln, note, outln};

/// Everything the two modes (spec, ad hoc) work out before the run.
struct Setup {
    source: (Access, String),
    destination: (Access, String),
    /// The regions the spec or flags give; None: ask the bucket (HeadBucket).
    regions: [Option<String>; 2],
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

const SESSION: &str = "s3bridge-copy";

fn ad_hoc(args: &CopyArgs, destination: &str) -> Result<Setup> {
    if args.assume_copy_role {
        return Err(Problem::usage(
            "--assume-copy-role needs a spec (it names the copy role)",
            "give the spec file instead of the two URLs, or --profile of a principal that reaches both buckets",
        )
        .into());
    }
    let (source_bucket, source_prefix) = parse_s3_url(&args.source)?;
    let (destination_bucket, destination_prefix) = parse_s3_url(destination)?;
    if source_bucket == destination_bucket
        && (source_prefix.starts_with(&destination_prefix)
            || destination_prefix.starts_with(&source_prefix))
    {
        return Err(Problem::usage(
            "the source and destination prefixes overlap in one bucket: copies would be listed as sources",
            "copy into a prefix outside the source's, or into another bucket",
        )
        .into());
    }
    let (source_access, source_region) = side_access(&args.aws, Side::Source, None, SESSION)?;
    let (destination_access, destination_region) =
        side_access(&args.aws, Side::Destination, None, SESSION)?;
    let filter = key_filter(None, &args.filter)?;
    Ok(Setup {
        source: (source_access, source_bucket),
        destination: (destination_access, destination_bucket),
        regions: [source_region, destination_region],
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
    plan.filter = key_filter(Some(spec), &args.filter)?;
    let (source_work, destination_work) = super::spec_work_prefixes(spec);
    super::skip_work_prefixes(
        &mut plan,
        source_work.as_deref(),
        destination_work.as_deref(),
    );
    let access =
        |side: Side| transfer_access(&args.aws, spec, side, args.assume_copy_role, SESSION);
    let desired = model::build(spec);
    let (kms_key_arn, key_alias) = match (&args.destination_kms_key, &spec.destination.kms_key) {
        (Some(arn), _) => (Some(arn.clone()), None),
        (None, KmsKeySpec::Existing(arn)) => (Some(arn.clone()), None),
        (None, KmsKeySpec::Create) => (None, desired.key(Side::Destination).map(|k| k.alias_arn())),
    };
    let sides = [access(Side::Source)?, access(Side::Destination)?];
    let accounts = super::expected_accounts(spec, [&sides[0], &sides[1]]);
    let [source, destination] = sides;
    Ok(Setup {
        source: (source, spec.source.bucket.clone()),
        destination: (destination, spec.destination.bucket.clone()),
        regions: [
            Some(spec.source.region.clone()),
            Some(spec.destination.region.clone()),
        ],
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
pub(super) async fn resolve_alias(session: &Session, alias: &str) -> Result<String> {
    let described = session
        .kms()
        .describe_key()
        .key_id(alias)
        .send()
        .await
        .aws_hinted(
            "DescribeKey",
            alias,
            "copies are encrypted with that key and the destination bucket policy only accepts its ARN; \
             the copy role is allowed kms:DescribeKey on it once the bundle is applied; or pass \
             --destination-kms-key ARN (`terraform output -raw destination_kms_key_arn` in the bundle)",
        )
        .with_context(|| format!("resolving the destination key {alias} to its ARN"))?;
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
                errln!(
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
                return Err(Problem::usage(
                    format!("`copy {}` names no destination", args.source),
                    "give the destination s3://BUCKET[/PREFIX] after the source, or a spec file instead",
                )
                .into());
            }
            let loaded = load_spec(std::path::Path::new(&args.source))?;
            let setup = from_spec(args, &loaded.spec)?;
            spec = Some(loaded.spec);
            setup
        }
    };
    let shard = super::shard_range(&args.shard, &setup.source.1)?;
    // The batch engine (`--engine batch`): checked before anything is listed.
    // S3PutObjectCopy jobs run in the destination Region (S3 user guide,
    // batch-ops-copy-object: "Copy jobs must be created in the destination Region").
    let mut batch = super::copy_batch::prepare(
        args,
        spec.as_ref(),
        (&setup.source.1, &setup.destination.1),
        &setup.destination.0.region,
        &mut setup.plan,
        &setup.settings,
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        // First, so that a SIGTERM at any point from here on stops the run cleanly.
        let shutdown =
            Shutdown::on_signals(std::time::Duration::from_secs(args.interrupt.grace_period));
        let [source_region, destination_region] = &setup.regions;
        let (source, destination) = tokio::join!(
            bucket_session(&setup.source.0, &setup.source.1, source_region.as_deref()),
            bucket_session(
                &setup.destination.0,
                &setup.destination.1,
                destination_region.as_deref()
            ),
        );
        let ((source_session, source_found), (destination_session, destination_found)) = (
            source
                .with_context(|| format!("reaching the source bucket s3://{}", setup.source.1))?,
            destination.with_context(|| {
                format!(
                    "reaching the destination bucket s3://{}",
                    setup.destination.1
                )
            })?,
        );
        // Ad hoc buckets are where S3 says they are.
        setup.source.0.region = source_session.access.region.clone();
        setup.destination.0.region = destination_session.access.region.clone();
        if let Some(batch) = &mut batch {
            batch.set_region(&setup.destination.0.region);
        }
        // Jobs are created in the destination account with the destination side's own
        // credentials (--destination-profile or the default chain), never the copy role's.
        let job_access = Access {
            profile: args.aws.profile(Side::Destination),
            assume_role: None,
            ..setup.destination.0.clone()
        };
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
                shutdown: shutdown.clone(),
                // Uploads are created with the destination side's credentials.
                principal: Arc::new(Principal::of(destination_session.sts())),
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
            delete_guard: DeleteGuard {
                threshold: args.delete_threshold,
                confirmed: args.yes,
                interactive: std::io::stdin().is_terminal(),
            },
            clean_up_uploads: true,
            report: args.report.clone(),
            progress: !crate::output::quiet(),
            counter,
            manifest: batch.as_ref().map(|b| b.writer.clone()),
        };
        let region = |session: &Session, found: RegionSource| match found {
            RegionSource::Bucket => format!("{}, from HeadBucket", session.access.region),
            RegionSource::Given => session.access.region.clone(),
            RegionSource::Default => format!("{}, assumed", session.access.region),
        };
        note!(
            "copying {} (source {}, destination {}), {}{}",
            job.plan.describe(&setup.source.1, &setup.destination.1),
            region(&source_session, source_found),
            region(&destination_session, destination_found),
            match transport {
                Transport::ServerSide => "server-side, one principal",
                Transport::Stream => "streamed GET → PUT, separate credentials per side",
            },
            if args.dry_run { ", dry run" } else { "" }
        );
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
            let finish = batch.finish(
                summary,
                &job_access,
                buckets,
                &destination_settings,
                args.dry_run,
                args.job.attempt,
            );
            // A signal while the job is created or followed stops waiting; the job (if
            // created) runs on, and the same command finds it again (same request token).
            return tokio::select! {
                finished = finish => finished,
                _ = shutdown.draining() => anyhow::bail!(
                    "interrupted by {} while creating or following the S3 Batch Operations job; \
                     run the same command again to find it (`s3bridge status` shows it)",
                    shutdown.cause().unwrap_or("a signal")
                ),
            };
        }
        match args.format {
            TextOrJson::Json => outln!("{}", serde_json::to_string(&summary)?)?,
            TextOrJson::Text => outln!("{}", summary.text())?,
        }
        Ok(status_of(&summary))
    })
}

/// The exit status of a finished copy stage; a run that stopped early says why on stderr
/// (its summary, on stdout, counts what was done before).
pub(super) fn status_of(summary: &crate::transfer::copy::outcome::Summary) -> Status {
    if let Some(error) = &summary.error {
        let stopped = Error::from(Problem {
            kind: ErrorKind::Failed,
            message: format!("the copy stopped early: {error}"),
            hint: Some(
                "the summary counts what was done before it stopped; fix the cause and run the same \
                 command again (it copies only what is still missing)"
                    .into(),
            ),
        });
        errln!("{}", stopped.render());
        Status::CouldNotRun
    } else if summary.failed > 0 {
        Status::Failure
    } else {
        Status::Success
    }
}
