//! `s3bridge verify SPEC` and `s3bridge verify s3://SRC[/prefix] s3://DST[/prefix]`:
//! connect to both sides, run `transfer::verify`, print the summary as text, JSON or
//! JUnit, and turn the verdict into the exit code (0 verified, 1 failed, 3 unverified,
//! 2 could not verify). Progress and the cost estimate go to stderr.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::json;

use super::{key_filter, load_spec, parse_s3_url, side_access, transfer_access, Status};
use crate::aws::requests::RequestCounter;
use crate::aws::{bucket_session, Access};
use crate::cli::{VerifyArgs, VerifyFormat};
use crate::error::Problem;
use crate::report::junit;
use crate::spec::Side as SpecSide;
use crate::transfer::inventory::{Location, ReadOptions};
use crate::transfer::keys::KeyPlan;
use crate::transfer::shutdown::Shutdown;
use crate::transfer::verify::cost;
use crate::transfer::verify::{self, Class, Side, Summary, Verdict};
use crate::{out, outln};

/// What to compare, from the arguments.
struct Target {
    plan: KeyPlan,
    buckets: [String; 2],
    /// How each side is reached, and its region (None: ask the bucket).
    access: [(Access, Option<String>); 2],
    title: String,
    /// Spec mode: the spec, whose accounts the credentials must act in.
    spec: Option<crate::spec::Spec>,
}

fn target(args: &VerifyArgs) -> Result<Target> {
    const SESSION: &str = "s3bridge-verify";
    match args.targets.as_slice() {
        [url] if url.starts_with("s3://") => Err(Problem::usage(
            format!("`verify {url}` names one bucket; verify compares two"),
            "give the source and the destination, s3://SOURCE-BUCKET[/PREFIX] s3://DESTINATION-BUCKET[/PREFIX], or a spec file",
        )
        .into()),
        [spec] => {
            let spec = load_spec(std::path::Path::new(spec))?.spec;
            let mut plan = KeyPlan::from_spec(&spec)?;
            plan.filter = key_filter(Some(&spec), &args.filter)?;
            let access = |side: SpecSide| -> Result<(Access, Option<String>)> {
                Ok((
                    transfer_access(&args.aws, &spec, side, args.assume_copy_role, SESSION)?,
                    Some(spec.side(side).region.clone()),
                ))
            };
            // The bundle's Batch Operations manifests and reports are not copied data.
            let (source_work, destination_work) = super::spec_work_prefixes(&spec);
            super::skip_work_prefixes(
                &mut plan,
                source_work.as_deref(),
                destination_work.as_deref(),
            );
            Ok(Target {
                title: plan.describe(&spec.source.bucket, &spec.destination.bucket),
                plan,
                buckets: [spec.source.bucket.clone(), spec.destination.bucket.clone()],
                access: [access(SpecSide::Source)?, access(SpecSide::Destination)?],
                spec: Some(spec.clone()),
            })
        }
        [source, destination] => {
            if args.assume_copy_role {
                return Err(Problem::usage(
                    "--assume-copy-role needs a spec (it names the copy role)",
                    "give the spec file instead of the two URLs, or a --profile allowed to read both buckets",
                )
                .into());
            }
            let (source_bucket, source_prefix) = parse_s3_url(source)?;
            let (destination_bucket, destination_prefix) = parse_s3_url(destination)?;
            Ok(Target {
                plan: KeyPlan::ad_hoc(
                    &source_prefix,
                    &destination_prefix,
                    key_filter(None, &args.filter)?,
                ),
                title: format!(
                    "s3://{source_bucket}/{source_prefix} → s3://{destination_bucket}/{destination_prefix}"
                ),
                buckets: [source_bucket, destination_bucket],
                access: [
                    side_access(&args.aws, SpecSide::Source, None, SESSION)?,
                    side_access(&args.aws, SpecSide::Destination, None, SESSION)?,
                ],
                spec: None,
            })
        }
        _ => Err(Problem::usage(
            "give a spec file, or two s3:// URLs",
            "s3bridge verify SPEC, or s3bridge verify s3://SOURCE-BUCKET[/PREFIX] s3://DESTINATION-BUCKET[/PREFIX]",
        )
        .into()),
    }
}

pub fn run(args: &VerifyArgs) -> Result<Status> {
    if args.point.as_of.is_some() {
        // The proof of a restore: the target against the versions of TIME.
        return super::restore::verify_as_of(args);
    }
    let target = target(args)?;
    let inventories = [
        args.source_inventory
            .as_deref()
            .map(Location::parse)
            .transpose()?,
        args.destination_inventory
            .as_deref()
            .map(Location::parse)
            .transpose()?,
    ];
    if args.shard.shard.is_some() && inventories.iter().any(Option::is_some) {
        return Err(Problem::usage(
            "--shard splits live listings; an inventory is read whole by one process (millions of keys a second)",
            "drop --shard or the inventories",
        )
        .into());
    }
    let shard = super::shard_range(&args.shard, &target.buckets[0])?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = runtime.block_on(async {
        // First, so that a SIGTERM at any point from here on stops the run cleanly.
        let shutdown =
            Shutdown::on_signals(std::time::Duration::from_secs(args.interrupt.grace_period));
        let [source, destination] = &target.access;
        let (source, destination) = tokio::join!(
            bucket_session(&source.0, &target.buckets[0], source.1.as_deref()),
            bucket_session(&destination.0, &target.buckets[1], destination.1.as_deref()),
        );
        let ((source, _), (destination, _)) = (
            source.with_context(|| {
                format!("reaching the source bucket s3://{}", target.buckets[0])
            })?,
            destination.with_context(|| {
                format!("reaching the destination bucket s3://{}", target.buckets[1])
            })?,
        );
        if let Some(spec) = &target.spec {
            let accounts = super::expected_accounts(spec, [&source.access, &destination.access]);
            super::expect_accounts([&source, &destination], &accounts).await?;
        }
        let counter = RequestCounter::default();
        let [source_inventory, destination_inventory] = inventories;
        let sides = (
            Side {
                s3: counter.count(&source.s3()),
                bucket: target.buckets[0].clone(),
                inventory: source_inventory,
            },
            Side {
                s3: counter.count(&destination.s3()),
                bucket: target.buckets[1].clone(),
                inventory: destination_inventory,
            },
        );
        let options = verify::Options {
            concurrency: args.concurrency as usize,
            deep: args.deep,
            sample: args.sample,
            allow_extra: args.allow_extra,
            report: args.report.clone(),
            inventory: ReadOptions {
                memory_budget: args.inventory_memory.max(4) << 20,
                temp_dir: args.temp_dir.clone(),
                // Verify compares sizes and ETags; timestamps and the rest are not parsed.
                detail: false,
                check_md5: args.inventory_md5,
                ..ReadOptions::default()
            },
            shard: shard.clone(),
            shutdown,
            ..verify::Options::default()
        };
        let announce = |line: String| crate::note!("verify: {line}");
        verify::run(
            sides.0,
            sides.1,
            Arc::new(target.plan.clone()),
            options,
            &counter,
            &announce,
        )
        .await
        .map_err(anyhow::Error::from)
    })?;
    let verdict = summary.verdict();
    let status = match verdict {
        Verdict::Interrupted => Status::CouldNotRun,
        Verdict::Verified => Status::Success,
        Verdict::Failed => Status::Failure,
        Verdict::Unverified => Status::Unverified,
    };
    match args.format {
        VerifyFormat::Text => out!("{}", text(&summary, &target.title, args))?,
        VerifyFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&to_json(&summary, status))?
        )?,
        VerifyFormat::Junit => out!("{}", junit::to_xml(&[suite(&summary, &target.title)]))?,
    }
    Ok(status)
}

fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Interrupted => "interrupted",
        Verdict::Verified => "verified",
        Verdict::Failed => "failed",
        Verdict::Unverified => "unverified",
    }
}

/// The JSON summary: `classes`, `source`/`destination` objects and bytes, then detail.
pub fn to_json(summary: &Summary, status: Status) -> serde_json::Value {
    let tally = &summary.tally;
    let classes: serde_json::Map<String, serde_json::Value> = Class::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), json!(tally.count(*c).objects)))
        .collect();
    let class_bytes: serde_json::Map<String, serde_json::Value> = Class::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), json!(tally.count(*c).bytes)))
        .collect();
    let side = |count: &verify::Count, report: &verify::SideReport| {
        json!({
            "objects": count.objects,
            "bytes": count.bytes,
            "bucket": report.bucket,
            "listing": report.listing,
            "encryption": report.encryption,
            "inventory_rows": report.inventory_rows,
        })
    };
    let examples: serde_json::Map<String, serde_json::Value> = summary
        .examples
        .iter()
        .map(|(class, list)| (class.as_str().to_string(), json!(list)))
        .collect();
    json!({
        "classes": classes,
        "source": side(&tally.source, &summary.sides[0]),
        "destination": side(&tally.destination, &summary.sides[1]),
        "class_bytes": class_bytes,
        "settled_by": {
            "listing": tally.settled_by[0],
            "checksums": tally.settled_by[1],
            "deep": tally.settled_by[2],
        },
        "deep": {
            "objects_read": summary.deep_read.gets,
            "bytes_read": summary.deep_read.bytes,
            "sample": summary.sampled.map(|(asked, checked)| json!({"requested": asked, "checked": checked})),
        },
        "estimate": summary.estimate,
        "requests": summary.requests,
        "cost_usd": summary.cost_usd,
        "allow_extra": summary.allow_extra,
        "verdict": verdict_name(summary.verdict()),
        "exit_code": status.code(),
        "elapsed_seconds": summary.elapsed.as_secs_f64(),
        "examples": examples,
        "interrupted": summary.interrupted,
    })
}

fn failing(class: Class, allow_extra: bool) -> bool {
    match class {
        Class::Match => false,
        Class::Extra => !allow_extra,
        _ => true,
    }
}

fn text(summary: &Summary, title: &str, args: &VerifyArgs) -> String {
    use std::fmt::Write;
    let tally = &summary.tally;
    let mut out = String::new();
    let _ = writeln!(out, "verify {title}");
    for class in Class::ALL {
        let count = tally.count(class);
        let _ = writeln!(
            out,
            "  {:<17}{:>14}  {:>10}",
            class.as_str(),
            cost::thousands(count.objects),
            cost::bytes(count.bytes)
        );
    }
    let _ = writeln!(
        out,
        "source: {} objects ({}), destination: {} objects ({})",
        cost::thousands(tally.source.objects),
        cost::bytes(tally.source.bytes),
        cost::thousands(tally.destination.objects),
        cost::bytes(tally.destination.bytes)
    );
    let _ = writeln!(
        out,
        "settled by listings {}, checksums {}, bytes {}",
        cost::thousands(tally.settled_by[0]),
        cost::thousands(tally.settled_by[1]),
        cost::thousands(tally.settled_by[2])
    );
    let requests: Vec<String> = summary
        .requests
        .iter()
        .map(|(op, n)| format!("{op} {}", cost::thousands(*n)))
        .collect();
    let _ = writeln!(
        out,
        "requests: {} ({}) in {:.1}s",
        if requests.is_empty() {
            "none".to_string()
        } else {
            requests.join(", ")
        },
        cost::dollars(summary.cost_usd),
        summary.elapsed.as_secs_f64()
    );
    for (class, examples) in &summary.examples {
        let count = tally.count(*class).objects;
        let _ = writeln!(out, "{} ({}):", class.as_str(), cost::thousands(count));
        for e in examples {
            let _ = writeln!(
                out,
                "  {} → {}: {}",
                e.source_key, e.destination_key, e.reason
            );
        }
        if count > examples.len() as u64 {
            let _ = writeln!(
                out,
                "  … and {} more{}",
                cost::thousands(count - examples.len() as u64),
                if args.report.is_some() {
                    ""
                } else {
                    " (--report FILE lists every one)"
                }
            );
        }
    }
    let problems: Vec<String> = Class::ALL
        .iter()
        .filter(|c| **c != Class::Match && tally.count(**c).objects > 0)
        .map(|c| {
            format!(
                "{} {}",
                cost::thousands(tally.count(*c).objects),
                c.as_str()
            )
        })
        .collect();
    let _ = match summary.verdict() {
        Verdict::Interrupted => writeln!(
            out,
            "INTERRUPTED: {}",
            summary.interrupted.as_deref().unwrap_or("stopped early")
        ),
        Verdict::Verified => writeln!(
            out,
            "VERIFIED: every object matched{}",
            if tally.count(Class::Extra).objects > 0 { " (extra objects allowed)" } else { "" }
        ),
        Verdict::Failed => writeln!(out, "FAILED: {}", problems.join(", ")),
        Verdict::Unverified => writeln!(
            out,
            "UNVERIFIED: nothing wrong found, but {} objects could not be verified (--deep reads their bytes)",
            cost::thousands(tally.count(Class::Unverified).objects)
        ),
    };
    out
}

/// One JUnit test case per class; a class that fails the run is a failure listing its
/// first keys.
pub fn suite(summary: &Summary, title: &str) -> junit::Suite {
    let tally = &summary.tally;
    let mut cases = Class::ALL
        .iter()
        .map(|&class| {
            let count = tally.count(class);
            let failure = (count.objects > 0 && failing(class, summary.allow_extra)).then(|| {
                let examples = summary
                    .examples
                    .get(&class)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let mut details: Vec<String> = examples
                    .iter()
                    .map(|e| format!("{} → {}: {}", e.source_key, e.destination_key, e.reason))
                    .collect();
                if count.objects > examples.len() as u64 {
                    details.push(format!(
                        "… and {} more (--report FILE lists every one)",
                        count.objects - examples.len() as u64
                    ));
                }
                junit::Failure {
                    message: format!(
                        "{} objects {} ({})",
                        count.objects,
                        class.as_str(),
                        cost::bytes(count.bytes)
                    ),
                    kind: class.as_str().to_string(),
                    details: details.join("\n"),
                }
            });
            junit::Case {
                name: class.as_str().to_string(),
                classname: format!("verify {title}"),
                seconds: 0.0,
                failure,
            }
        })
        .collect::<Vec<_>>();
    if let Some(why) = &summary.interrupted {
        cases.push(junit::Case {
            name: "complete".to_string(),
            classname: format!("verify {title}"),
            seconds: 0.0,
            failure: Some(junit::Failure {
                message: why.clone(),
                kind: "interrupted".to_string(),
                details: String::new(),
            }),
        });
    }
    junit::Suite {
        name: format!("s3bridge verify {title}"),
        cases,
    }
}
