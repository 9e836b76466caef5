//! `s3bridge shards plan SPEC|s3://BUCKET/PREFIX --out PLAN` lists the source bucket once
//! and writes the shard plan (`transfer::shard::Plan`) that every `--shard I/N` worker
//! reads, so all workers cut the key space at the same boundaries (for a spec or an ad
//! hoc `copy s3://... s3://... --shard I/N` alike). `s3bridge shards show PLAN --shards N`
//! prints the ranges a plan gives N workers.

use anyhow::{Context, Result};
use serde_json::json;

use super::{block_on, load_spec, parse_s3_url, side_access, Status};
use crate::aws::error::AwsResultExt;
use crate::cli::{ShardsCommand, ShardsPlanArgs, ShardsShowArgs, TextOrJson};
use crate::error::Problem;
use crate::spec::Side;
use crate::transfer::shard::{Plan, Sampler};
use crate::{errln, note, outln};

pub fn run(command: &ShardsCommand) -> Result<Status> {
    match command {
        ShardsCommand::Plan(args) => plan(args),
        ShardsCommand::Show(args) => show(args),
    }
}

fn plan(args: &ShardsPlanArgs) -> Result<Status> {
    // The source bucket and prefix, and how to reach it.
    // Spec mode also knows the account the source bucket lives in: checked before listing.
    let (bucket, prefix, access, region, account) = if args.source.starts_with("s3://") {
        let (bucket, prefix) = parse_s3_url(&args.source)?;
        if !args.prefix.is_empty() {
            return Err(Problem::usage(
                "--prefix is for a spec; an s3:// URL carries its own prefix",
                format!("write s3://{bucket}/{}", args.prefix),
            )
            .into());
        }
        let (access, region) = side_access(&args.aws, Side::Source, None, "s3bridge")?;
        (bucket, prefix, access, region, None)
    } else {
        let loaded = load_spec(std::path::Path::new(&args.source))?;
        let spec = loaded.spec;
        let (access, region) =
            side_access(&args.aws, Side::Source, Some(&spec.source), "s3bridge")?;
        let account = Some(spec.source.account_id.clone());
        (
            spec.source.bucket,
            args.prefix.clone(),
            access,
            region,
            account,
        )
    };
    let plan = block_on(async {
        let (session, _) = crate::aws::bucket_session(&access, &bucket, region.as_deref()).await?;
        if let Some(account) = &account {
            session.expect_account("source", &[account]).await?;
        }
        let s3 = session.s3();
        let mut sampler = Sampler::new(args.resolution);
        let mut next_note = 1_000_000;
        let mut pages = s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.aws("ListObjectsV2", format!("s3://{bucket}/{prefix}"))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    sampler.push(key)?;
                }
            }
            if sampler.seen() >= next_note {
                note!("listed {} keys", sampler.seen());
                next_note += 1_000_000;
            }
        }
        anyhow::Ok(sampler.finish(&bucket, &prefix))
    })??;
    std::fs::write(&args.out, plan.to_json() + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    if args.format == TextOrJson::Json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "out": args.out,
                "plan": plan.digest(),
                "bucket": plan.bucket,
                "prefix": plan.prefix,
                "keys": plan.total_keys,
                "sampled": plan.keys.len(),
                "balanced_up_to": plan.balanced_up_to(),
            }))?
        )?;
    }
    note!(
        "wrote {}: {} keys of s3://{}/{}, {} sampled, plan {}; shards stay within 2x of each other up to {} shards",
        args.out.display(),
        plan.total_keys,
        plan.bucket,
        plan.prefix,
        plan.keys.len(),
        plan.digest(),
        plan.balanced_up_to()
    );
    Ok(Status::Success)
}

fn show(args: &ShardsShowArgs) -> Result<Status> {
    let plan = Plan::load(&args.plan)?;
    let ranges = plan.ranges(args.shards)?;
    if args.shards > plan.balanced_up_to() {
        errln!(
            "warning: this plan keeps shards within 2x of each other only up to {} shards; \
             make one with a higher --resolution for {}",
            plan.balanced_up_to(),
            args.shards
        );
    }
    match args.format {
        TextOrJson::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "plan": plan.digest(),
                "bucket": plan.bucket,
                "prefix": plan.prefix,
                "ranges": ranges,
            }))?
        )?,
        TextOrJson::Text => {
            for (index, range) in ranges.iter().enumerate() {
                outln!("{index}/{}: {range}", args.shards)?;
            }
        }
    }
    Ok(Status::Success)
}
