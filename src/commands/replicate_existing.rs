//! `s3bridge replicate-existing SPEC [--dry-run] [--wait]`: replicate the objects that
//! were in the source bucket before replication was on, with the S3 Batch Replication job
//! `batch::job::replicate_existing` describes (on the source account, run by the bundle's
//! batch role). `--wait` follows the job and summarises its completion report.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use super::{block_on, load_spec, source_session, Status};
use crate::batch::{control, job, report};
use crate::cli::{ReplicateExistingArgs, TextOrJson};

pub fn run(args: &ReplicateExistingArgs) -> Result<Status> {
    let loaded = match load_spec(&args.spec)? {
        Ok(loaded) => loaded,
        Err(status) => return Ok(status),
    };
    let desired = crate::model::build(&loaded.spec);
    let request = job::replicate_existing(&desired, args.attempt)
        .with_context(|| format!("{} has no Batch Replication job", args.spec.display()))?;
    if args.dry_run {
        println!("{}", serde_json::to_string_pretty(&request.to_json())?);
        eprintln!(
            "dry run: nothing was sent. To create the job yourself: \
             aws s3control create-job --region {} --cli-input-json file://job.json",
            loaded.spec.source.region
        );
        return Ok(Status::Success);
    }
    if !(args.poll_interval.is_finite() && args.poll_interval > 0.0) {
        anyhow::bail!("--poll-interval must be a positive number of seconds");
    }
    block_on(async {
        let session = source_session(&loaded.spec, &args.access).await?;
        let control_client = session.s3control();
        let id = control::create(&control_client, &request).await?;
        eprintln!(
            "job {id}: S3 Batch Replication of s3://{} in account {} (token {})",
            loaded.spec.source.bucket, request.account_id, request.client_request_token
        );
        if !args.wait {
            match args.format {
                TextOrJson::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "job_id": id,
                        "account_id": request.account_id,
                        "region": loaded.spec.source.region,
                        "client_request_token": request.client_request_token,
                    }))?
                ),
                TextOrJson::Text => {
                    println!("{id}");
                    eprintln!("follow it with: s3bridge status {}", args.spec.display());
                }
            }
            return Ok(Status::Success);
        }
        let every = Duration::from_secs_f64(args.poll_interval);
        let finished = control::wait(&control_client, &request.account_id, &id, every, |state| {
            eprintln!("{}", state.progress_line())
        })
        .await?;
        // S3 writes no report when no task ran (nothing eligible, or the job failed
        // before starting), so a missing report is told, not fatal: the exit status comes
        // from DescribeJob's counts either way.
        let completion = match report::read(&session.s3(), &finished).await {
            Ok(completion) => completion,
            Err(error) => {
                eprintln!("warning: no completion report of job {id}: {error:#}");
                None
            }
        };
        let clean = finished.status == "Complete" && finished.failed == 0;
        match args.format {
            TextOrJson::Json => println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "job": finished,
                    "report": completion,
                }))?
            ),
            TextOrJson::Text => print_text(&finished, completion.as_ref()),
        }
        Ok(if clean {
            Status::Success
        } else {
            Status::Failure
        })
    })?
}

fn print_text(job: &control::JobState, completion: Option<&report::CompletionReport>) {
    println!("{}", job.progress_line());
    for failure in &job.failure_reasons {
        println!("job failure {}: {}", failure.code, failure.reason);
    }
    if let Some(reason) = &job.status_update_reason {
        if job.status != "Complete" {
            println!("status reason: {reason}");
        }
    }
    match completion {
        Some(report) => {
            println!(
                "completion report: s3://{}/{}",
                report.bucket, report.manifest_key
            );
            if report.failures.failed > 0 {
                print!("{}", report.failures.to_text());
            }
        }
        None => println!("no completion report"),
    }
}
