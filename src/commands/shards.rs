//! `s3bridge shards plan SPEC --out PLAN` lists the source bucket once and writes the
//! shard plan (`transfer::shard::Plan`) that every `--shard I/N` worker reads, so all
//! workers cut the key space at the same boundaries. `s3bridge shards show PLAN
//! --shards N` prints the ranges a plan gives N workers.

use anyhow::{Context, Result};
use serde_json::json;

use super::{block_on, load_spec, source_session, Status};
use crate::cli::{ShardsCommand, ShardsPlanArgs, ShardsShowArgs, TextOrJson};
use crate::transfer::shard::{Plan, Sampler};

pub fn run(command: &ShardsCommand) -> Result<Status> {
    match command {
        ShardsCommand::Plan(args) => plan(args),
        ShardsCommand::Show(args) => show(args),
    }
}

fn plan(args: &ShardsPlanArgs) -> Result<Status> {
    let loaded = match load_spec(&args.spec)? {
        Ok(loaded) => loaded,
        Err(status) => return Ok(status),
    };
    let bucket = loaded.spec.source.bucket.clone();
    let plan = block_on(async {
        let s3 = source_session(&loaded.spec, &args.access).await?.s3();
        let mut sampler = Sampler::new(args.resolution);
        let mut next_note = 1_000_000;
        let mut pages = s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&args.prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| {
                    anyhow::anyhow!(aws_smithy_types::error::display::DisplayErrorContext(e))
                })
                .with_context(|| format!("listing s3://{bucket}/{}", args.prefix))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    sampler.push(key)?;
                }
            }
            if sampler.seen() >= next_note {
                eprintln!("listed {} keys", sampler.seen());
                next_note += 1_000_000;
            }
        }
        anyhow::Ok(sampler.finish(&bucket, &args.prefix))
    })??;
    std::fs::write(&args.out, plan.to_json() + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
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
        eprintln!(
            "warning: this plan keeps shards within 2x of each other only up to {} shards; \
             make one with a higher --resolution for {}",
            plan.balanced_up_to(),
            args.shards
        );
    }
    match args.format {
        TextOrJson::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "plan": plan.digest(),
                "bucket": plan.bucket,
                "prefix": plan.prefix,
                "ranges": ranges,
            }))?
        ),
        TextOrJson::Text => {
            for (index, range) in ranges.iter().enumerate() {
                println!("{index}/{}: {range}", args.shards);
            }
        }
    }
    Ok(Status::Success)
}
