//! `s3bridge replicate-existing SPEC [--dry-run] [--wait]`: replicate the objects that
//! were in the source bucket before replication was on, with the S3 Batch Replication job
//! `batch::job::replicate_existing` describes (on the source account, run by the bundle's
//! batch role). `--wait` follows the job and summarises its completion report
//! (`jobs::create_and_follow`, shared with `copy --engine batch`).

use anyhow::Result;

use super::jobs::{self, Follow};
use super::{block_on, load_spec, source_session, Status};
use crate::batch::job;
use crate::cli::ReplicateExistingArgs;

pub fn run(args: &ReplicateExistingArgs) -> Result<Status> {
    let loaded = load_spec(&args.spec)?;
    let desired = crate::model::build(&loaded.spec);
    let request = job::replicate_existing(&desired, args.job.attempt).map_err(|e| {
        crate::error::Problem::input(
            format!("{} has no Batch Replication job: {e}", args.spec.display()),
            e.hint(),
        )
    })?;
    let region = &loaded.spec.source.region;
    if args.dry_run {
        jobs::print_dry_run(&request, region)?;
        return Ok(Status::Success);
    }
    let follow = Follow::new(
        &args.job,
        args.format,
        Some(format!("s3bridge status {}", args.spec.display())),
    )?;
    block_on(async {
        let session = source_session(&loaded.spec, &args.aws).await?;
        let what = format!("S3 Batch Replication of s3://{}", loaded.spec.source.bucket);
        jobs::create_and_follow(
            &session,
            &request,
            region,
            &what,
            &follow,
            Default::default(),
        )
        .await
    })?
}
