//! `s3bridge restore SPEC --as-of TIME` and `s3bridge verify SPEC --as-of TIME`: work out
//! which bucket the versions are read from (the replica by default, or the source's own
//! versions), where the keys go (the source, or s3://BUCKET/PREFIX), the prefixes and
//! the target's KMS key, check the accounts, then run `transfer::restore` to copy, or to
//! compare (the proof of a restore).

use std::sync::Arc;

use anyhow::{Context, Result};
use aws_config::retry::RetryConfig;
use serde_json::json;

use super::{key_filter, load_spec, parse_s3_url, side_access, Status};
use crate::aws::requests::RequestCounter;
use crate::aws::{bucket_session, Access, Session};
use crate::cli::{FilterArgs, RestoreArgs, RestoreFrom, RestorePoint, TextOrJson, VerifyArgs};
use crate::error::Problem;
use crate::model;
use crate::spec::{KmsKeySpec, Side, Spec};
use crate::transfer::copy::execute::{Copier, DestinationSettings, Transport};
use crate::transfer::copy::outcome::human_bytes;
use crate::transfer::copy::retry::{Aimd, RetryPolicy};
use crate::transfer::copy::uploads::Principal;
use crate::transfer::diff::Bucket;
use crate::transfer::restore::{self, First, Mapping, RestoreJob, Scope, Settled};
use crate::transfer::shutdown::Shutdown;
use crate::transfer::verify::Class;
use crate::{errln, note, outln};

const SESSION: &str = "s3bridge-restore";

/// What a restore (or its check) works on, from the spec and the flags.
struct Setup {
    as_of_ms: i64,
    as_of: String,
    from: (Access, String),
    target: (Access, String),
    /// None: ask the bucket (a target given as a URL).
    target_region: Option<String>,
    mappings: Vec<Mapping>,
    /// The target's KMS key ARN, or its alias ARN to resolve (the spec's created key).
    kms_key: Option<String>,
    key_alias: Option<String>,
    /// The accounts each side's credentials must act in (from, target).
    accounts: [Option<Vec<String>>; 2],
}

fn setup(
    spec: &Spec,
    point: &RestorePoint,
    aws: &crate::cli::AwsArgs,
    assume_restore_role: bool,
) -> Result<Setup> {
    let Some(as_of) = &point.as_of else {
        return Err(Problem::usage(
            "restore needs --as-of TIME",
            "give the moment to go back to, e.g. --as-of 2026-03-01T09:30:00Z",
        )
        .into());
    };
    let as_of_ms = restore::parse_time(as_of).map_err(|e| {
        Problem::usage(
            format!("--as-of `{as_of}` is not an RFC 3339 time ({e})"),
            "write it like 2026-03-01T09:30:00Z or 2026-03-01T10:30:00+01:00",
        )
    })?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    if as_of_ms > now_ms {
        // A time still to come would count the restore's own writes as the state to keep.
        return Err(Problem::usage(
            format!("--as-of {as_of} is in the future"),
            "give a moment before now (the state to go back to)",
        )
        .into());
    }
    let from_side = match point.from.unwrap_or(RestoreFrom::Destination) {
        RestoreFrom::Destination => Side::Destination,
        RestoreFrom::Source => Side::Source,
    };
    let plan = crate::transfer::keys::KeyPlan::from_spec(spec)?;
    // (where the versions are, where the keys live in the source)
    let mut bases: Vec<(String, String)> = Vec::new();
    let from_prefix = |s: &crate::transfer::keys::Segment| match from_side {
        Side::Destination => s.destination_prefix.clone(),
        Side::Source => s.source_prefix.clone(),
    };
    if point.prefixes.is_empty() {
        for segment in &plan.segments {
            bases.push((from_prefix(segment), segment.source_prefix.clone()));
        }
    }
    for prefix in &point.prefixes {
        let mut covered = false;
        for segment in &plan.segments {
            if let Some(rest) = prefix.strip_prefix(segment.source_prefix.as_str()) {
                bases.push((format!("{}{rest}", from_prefix(segment)), prefix.clone()));
                covered = true;
            } else if segment.source_prefix.starts_with(prefix.as_str()) {
                bases.push((from_prefix(segment), segment.source_prefix.clone()));
                covered = true;
            }
        }
        if !covered {
            return Err(Problem::usage(
                format!("--prefix {prefix} is outside what the spec replicates"),
                format!(
                    "give a prefix under one of the replicated prefixes: {}",
                    plan.segments
                        .iter()
                        .map(|s| format!("`{}`", s.source_prefix))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into());
        }
    }
    // A prefix inside another that maps the same way adds nothing (and would restore
    // its keys twice).
    bases.sort();
    bases.dedup();
    let all = bases.clone();
    bases.retain(|(from, source)| {
        !all.iter().any(|(f, s)| {
            s.len() < source.len()
                && source.starts_with(s.as_str())
                && from == &format!("{f}{}", &source[s.len()..])
        })
    });
    let (target_bucket, target_prefix, by_url) = match point.to.as_deref() {
        None | Some("source") => (spec.source.bucket.clone(), String::new(), false),
        Some(url) if url.starts_with("s3://") => {
            let (bucket, prefix) = parse_s3_url(url)?;
            (bucket, prefix, true)
        }
        Some(other) => {
            return Err(Problem::usage(
                format!("--to `{other}` is neither `source` nor an s3:// URL"),
                "restore into the source (the default), or beside it: --to s3://BUCKET/PREFIX",
            )
            .into())
        }
    };
    let from_bucket = spec.side(from_side).bucket.clone();
    let mappings: Vec<Mapping> = bases
        .into_iter()
        .map(|(from_prefix, source_prefix)| Mapping {
            to_prefix: format!("{target_prefix}{source_prefix}"),
            from_prefix,
            source_prefix,
        })
        .collect();
    for m in &mappings {
        let overlap = target_bucket == from_bucket
            && m.to_prefix != m.from_prefix
            && (m.to_prefix.starts_with(&m.from_prefix) || m.from_prefix.starts_with(&m.to_prefix));
        if overlap {
            return Err(Problem::usage(
                format!(
                    "s3://{target_bucket}/{} overlaps s3://{from_bucket}/{}, where the versions are read",
                    m.to_prefix, m.from_prefix
                ),
                "restore in place (same prefix) or into a prefix outside the one restored",
            )
            .into());
        }
    }
    let (mut from_access, _) = side_access(aws, from_side, Some(spec.side(from_side)), SESSION)?;
    let (mut target_access, target_region) = if by_url {
        side_access(aws, Side::Source, None, SESSION)?
    } else {
        side_access(aws, Side::Source, Some(&spec.source), SESSION)?
    };
    if assume_restore_role {
        if spec.restore.is_none() {
            return Err(Problem::usage(
                "--assume-restore-role needs the spec's `restore:` section (it makes the role)",
                "add `restore: {trusted_principals: [ARN]}` to the spec and apply the bundle, or run with credentials that hold the restore grants",
            )
            .into());
        }
        let role = model::role_arn_for(spec, model::RolePurpose::Restore);
        for access in [&mut from_access, &mut target_access] {
            access.profile = aws.profile(Side::Source);
            access.assume_role = Some(role.clone());
        }
    }
    let (kms_key, key_alias) = match (by_url, &spec.source.kms_key) {
        (true, _) => (None, None),
        (false, KmsKeySpec::Existing(arn)) => (Some(arn.clone()), None),
        (false, KmsKeySpec::Create) => (
            None,
            model::build(spec).key(Side::Source).map(|k| k.alias_arn()),
        ),
    };
    let same_principal = from_access.profile == target_access.profile
        && from_access.assume_role == target_access.assume_role;
    let accounts_of = |side: Side| {
        let mut accounts = vec![spec.side(side).account_id.clone()];
        if same_principal {
            accounts.push(spec.side(side.other()).account_id.clone());
        }
        accounts
    };
    Ok(Setup {
        as_of_ms,
        as_of: restore::rfc3339(as_of_ms),
        from: (from_access, from_bucket),
        target: (target_access, target_bucket),
        target_region: if by_url {
            target_region
        } else {
            Some(spec.source.region.clone())
        },
        mappings,
        kms_key,
        key_alias,
        accounts: [
            Some(accounts_of(from_side)),
            (!by_url).then(|| accounts_of(Side::Source)),
        ],
    })
}

/// The sessions of both sides, their accounts checked, and the copier between them.
struct Connected {
    scope: Scope,
    copier: Copier,
    counter: RequestCounter,
    target_session: Session,
    transport: Transport,
}

async fn connect(
    setup: &mut Setup,
    spec: &Spec,
    filter: &FilterArgs,
    concurrency: usize,
    shutdown: Shutdown,
) -> Result<Connected> {
    let from_region = setup.from.0.region.clone();
    let (from, target) = tokio::join!(
        bucket_session(&setup.from.0, &setup.from.1, Some(&from_region)),
        bucket_session(
            &setup.target.0,
            &setup.target.1,
            setup.target_region.as_deref()
        ),
    );
    let (from_session, _) =
        from.with_context(|| format!("reaching the bucket restored from, s3://{}", setup.from.1))?;
    let (target_session, _) =
        target.with_context(|| format!("reaching the target bucket s3://{}", setup.target.1))?;
    for (session, accounts, what) in [
        (&from_session, &setup.accounts[0], "restored-from"),
        (&target_session, &setup.accounts[1], "target"),
    ] {
        if let Some(accounts) = accounts {
            let accounts: Vec<&str> = accounts.iter().map(String::as_str).collect();
            session.expect_account(what, &accounts).await?;
        }
    }
    let transport = if setup.from.0.profile == setup.target.0.profile
        && setup.from.0.assume_role == setup.target.0.assume_role
    {
        Transport::ServerSide
    } else {
        Transport::Stream
    };
    let counter = RequestCounter::new();
    let listing = |session: &Session| session.s3_with(|b| counter.attach(b));
    let copying = |session: &Session| {
        session.s3_with(|b| counter.attach(b).retry_config(RetryConfig::disabled()))
    };
    let scope = Scope {
        from: Bucket {
            s3: listing(&from_session),
            name: setup.from.1.clone(),
        },
        target: Bucket {
            s3: listing(&target_session),
            name: setup.target.1.clone(),
        },
        mappings: setup.mappings.clone(),
        filter: Arc::new(key_filter(Some(spec), filter)?),
        as_of_ms: setup.as_of_ms,
    };
    let copier = Copier {
        source: Bucket {
            s3: copying(&from_session),
            name: setup.from.1.clone(),
        },
        destination: Bucket {
            s3: copying(&target_session),
            name: setup.target.1.clone(),
        },
        settings: DestinationSettings {
            kms_key_arn: setup.kms_key.clone(),
            // The version's own class (S3 writes STANDARD unless told).
            storage_class: Default::default(),
            // The bundle enforces BucketOwnerEnforced: ACLs are off, none is sent.
            acl: None,
        },
        transport,
        retry: RetryPolicy::default(),
        gate: Aimd::new(concurrency),
        part_concurrency: 8,
        shutdown,
        principal: Arc::new(Principal::of(target_session.sts())),
    };
    Ok(Connected {
        scope,
        copier,
        counter,
        target_session,
        transport,
    })
}

fn describe(setup: &Setup) -> String {
    setup
        .mappings
        .iter()
        .map(|m| {
            format!(
                "s3://{}/{} → s3://{}/{}",
                setup.from.1, m.from_prefix, setup.target.1, m.to_prefix
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(args: &RestoreArgs) -> Result<Status> {
    let spec = load_spec(&args.spec)?.spec;
    let mut setup = setup(&spec, &args.point, &args.aws, args.assume_restore_role)?;
    super::block_on(async move {
        let shutdown =
            Shutdown::on_signals(std::time::Duration::from_secs(args.interrupt.grace_period));
        let mut connected = connect(
            &mut setup,
            &spec,
            &FilterArgs::default(),
            args.concurrency as usize,
            shutdown,
        )
        .await?;
        if let (None, Some(alias), false) = (&setup.kms_key, &setup.key_alias, args.dry_run) {
            connected.copier.settings.kms_key_arn =
                Some(super::copy::resolve_alias(&connected.target_session, alias).await?);
        }
        note!(
            "restoring as of {}: {}, {}{}",
            setup.as_of,
            describe(&setup),
            match connected.transport {
                Transport::ServerSide => "server-side, one principal",
                Transport::Stream => "streamed GET → PUT, separate credentials per side",
            },
            if args.dry_run { ", dry run" } else { "" }
        );
        let job = RestoreJob {
            scope: connected.scope,
            copier: connected.copier,
            dry_run: args.dry_run,
            delete_newer: args.delete_newer,
            report: args.report.clone(),
            counter: connected.counter,
        };
        let summary = tokio::spawn(restore::run(job, setup.as_of.clone()))
            .await
            .context("the restore stopped unexpectedly")?
            .with_context(|| match &args.report {
                Some(path) => format!("writing the report {}", path.display()),
                None => "collecting results".to_string(),
            })?;
        match args.format {
            TextOrJson::Json => outln!("{}", serde_json::to_string(&summary)?)?,
            TextOrJson::Text => outln!("{}", text(&summary, args.delete_newer))?,
        }
        Ok(super::copy::status_of(&summary.totals))
    })?
}

/// The text summary of a restore.
fn text(summary: &restore::RestoreSummary, delete_newer: bool) -> String {
    let t = &summary.totals;
    let mut out = if t.dry_run {
        format!(
            "dry run as of {}: would restore {} objects ({}), delete {}; {} already as of then, {} newer kept",
            summary.as_of,
            t.to_copy,
            human_bytes(t.bytes),
            t.to_delete,
            t.skipped,
            t.kept_extra
        )
    } else {
        format!(
            "restored {} objects ({}) as of {}, skipped {} already as of then, failed {}{}, deleted {} newer, kept {} newer, in {:.1}s",
            t.copied,
            human_bytes(t.bytes),
            summary.as_of,
            t.skipped,
            t.failed,
            if t.interrupted > 0 {
                format!(", interrupted {} (uploads aborted)", t.interrupted)
            } else {
                String::new()
            },
            t.deleted,
            t.kept_extra,
            t.seconds
        )
    };
    for chosen in &summary.versions_chosen {
        out.push_str(&format!(
            "\n  {} ← version {} of {} ({})",
            chosen.key,
            chosen.version_id,
            chosen.last_modified,
            human_bytes(chosen.bytes)
        ));
    }
    if t.dry_run && t.to_copy > summary.versions_chosen.len() as u64 {
        out.push_str(&format!(
            "\n  … and {} more (--report FILE lists every one)",
            t.to_copy - summary.versions_chosen.len() as u64
        ));
    }
    if t.kept_extra > 0 && !delete_newer {
        out.push_str(&format!(
            "\n{} keys in the target did not exist at that time; --delete-newer deletes them (--report FILE lists them)",
            t.kept_extra
        ));
    }
    let sent: u64 = t.requests.values().sum();
    let planned: u64 = t.planned_requests.values().sum();
    out.push_str(&format!(
        "\nrequests: {sent} sent{}; cost about ${:.4} at S3 Standard request prices",
        if t.dry_run {
            format!(", {planned} more to restore")
        } else {
            String::new()
        },
        t.request_cost_usd
    ));
    out
}

/// `verify SPEC --as-of TIME`: every key of the target (under the restored prefixes) is
/// the version current at TIME in the bucket restored from, and no other key is there.
/// Classes as verify's: match, missing, extra, size_mismatch, content_mismatch.
pub fn verify_as_of(args: &VerifyArgs) -> Result<Status> {
    let [spec_path] = args.targets.as_slice() else {
        return Err(Problem::usage(
            "verify --as-of compares a spec's buckets; it takes the spec, not two URLs",
            "give the spec file (and --to s3://BUCKET/PREFIX for a restore made beside the data)",
        )
        .into());
    };
    let spec = load_spec(std::path::Path::new(spec_path))?.spec;
    let mut setup = setup(&spec, &args.point, &args.aws, false)?;
    super::block_on(async move {
        let shutdown =
            Shutdown::on_signals(std::time::Duration::from_secs(args.interrupt.grace_period));
        let connected = connect(
            &mut setup,
            &spec,
            &args.filter,
            args.concurrency as usize,
            shutdown.clone(),
        )
        .await?;
        note!("verifying as of {}: {}", setup.as_of, describe(&setup));
        let mut report = match &args.report {
            Some(path) => Some(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating the report {}", path.display()))?,
            )),
            None => None,
        };
        let mut counts: std::collections::BTreeMap<Class, u64> = Default::default();
        let mut examples: Vec<String> = Vec::new();
        let mut batches = restore::pairs(connected.scope);
        let mut error = None;
        'batches: while let Some(batch) = tokio::select! {
            biased;
            _ = shutdown.draining() => None,
            batch = batches.recv() => batch,
        } {
            let pairs = match batch {
                Ok(pairs) => pairs,
                Err(e) => {
                    error = Some(e.to_string());
                    break 'batches;
                }
            };
            for pair in pairs {
                let class = match restore::first_look(&pair) {
                    First::Missing => Class::Missing,
                    First::Newer => Class::Extra,
                    First::SizeDiffers => Class::SizeMismatch,
                    First::Same => Class::Match,
                    First::Settle => match restore::settle_as_of(&connected.copier, &pair).await {
                        Ok(Settled::Same) => Class::Match,
                        Ok(Settled::Differs) => Class::ContentMismatch,
                        Ok(Settled::Unknown) => Class::Unverified,
                        Err(e) => {
                            errln!(
                                "note: {}: HEAD to compare checksums failed: {e}",
                                pair.target_key
                            );
                            Class::Unverified
                        }
                    },
                };
                *counts.entry(class).or_default() += 1;
                if class == Class::Match {
                    continue;
                }
                let version = pair.at_time.as_ref();
                let line = json!({
                    "key": pair.target_key,
                    "class": class.as_str(),
                    "version_at_time": version.map(|v| &v.version_id),
                    "etag_at_time": version.map(|v| &v.entry.etag),
                    "size_at_time": version.map(|v| v.entry.size),
                    "target_etag": pair.target.as_ref().map(|t| &t.etag),
                    "target_size": pair.target.as_ref().map(|t| t.size),
                });
                if examples.len() < 10 {
                    examples.push(format!("{}: {}", class.as_str(), pair.target_key));
                }
                if let Some(report) = report.as_mut() {
                    use std::io::Write;
                    writeln!(report, "{line}").context("writing the report")?;
                }
            }
        }
        if let Some(mut report) = report {
            use std::io::Write;
            report.flush().context("writing the report")?;
        }
        let count = |class| counts.get(&class).copied().unwrap_or(0);
        let failed = count(Class::Missing)
            + count(Class::SizeMismatch)
            + count(Class::ContentMismatch)
            + if args.allow_extra {
                0
            } else {
                count(Class::Extra)
            };
        let interrupted = shutdown.describe("run the same command again");
        let status = if error.is_some() || interrupted.is_some() {
            Status::CouldNotRun
        } else if failed > 0 {
            Status::Failure
        } else if count(Class::Unverified) > 0 {
            Status::Unverified
        } else {
            Status::Success
        };
        let verdict = match status {
            Status::Success => "verified",
            Status::Failure => "failed",
            Status::Unverified => "unverified",
            _ => "incomplete",
        };
        match args.format {
            crate::cli::VerifyFormat::Json => outln!(
                "{}",
                json!({
                    "as_of": setup.as_of,
                    "verdict": verdict,
                    "classes": Class::ALL
                        .iter()
                        .map(|c| (c.as_str().to_string(), json!(count(*c))))
                        .collect::<serde_json::Map<_, _>>(),
                    "requests": connected.counter.counts(),
                    "error": error.clone().or(interrupted.clone()),
                })
            )?,
            _ => {
                outln!(
                    "{verdict} as of {}: {}",
                    setup.as_of,
                    Class::ALL
                        .iter()
                        .map(|c| format!("{} {}", count(*c), c.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
                for example in &examples {
                    outln!("  {example}")?;
                }
            }
        }
        if let Some(stopped) = error.or(interrupted) {
            errln!("error: the check stopped early: {stopped}");
        }
        Ok(status)
    })?
}
