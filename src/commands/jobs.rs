//! What `replicate-existing` and `copy --engine batch` do alike with the S3 Batch
//! Operations job they built: print it (`--dry-run`), or create it, say where it runs,
//! and with `--wait` follow it to its end and summarise its completion report. One
//! flow, so both commands print, exit and fail the same way.

use std::time::Duration;

use anyhow::Result;
use serde_json::{json, Map, Value};

use super::Status;
use crate::aws::Session;
use crate::batch::{control, job, report};
use crate::cli::{JobArgs, TextOrJson};
use crate::{errln, note, outln};

/// How to follow a job once it is created.
pub(crate) struct Follow {
    pub format: TextOrJson,
    pub wait: bool,
    pub poll_interval: f64,
    /// The command that shows the job's progress later (printed without --wait).
    pub status_hint: Option<String>,
}

impl Follow {
    /// From the flags; refuses a poll interval `--wait` could not sleep.
    pub fn new(args: &JobArgs, format: TextOrJson, status_hint: Option<String>) -> Result<Follow> {
        if !(args.poll_interval.is_finite() && args.poll_interval > 0.0) {
            return Err(crate::error::Problem::usage(
                format!(
                    "--poll-interval {} is not a positive number of seconds",
                    args.poll_interval
                ),
                "give the seconds between two progress checks, e.g. --poll-interval 30",
            )
            .into());
        }
        Ok(Follow {
            format,
            wait: args.wait,
            poll_interval: args.poll_interval,
            status_hint,
        })
    }
}

/// `--dry-run`: the CreateJob input on stdout, as `aws s3control create-job
/// --cli-input-json` takes it, and how to send it.
pub(crate) fn print_dry_run(request: &job::CreateJob, region: &str) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(&request.to_json())?)?;
    // Printed even with --quiet: the Region is part of the result (the request is only
    // valid there).
    errln!(
        "dry run: nothing was sent. To create the job yourself: \
         aws s3control create-job --region {region} --cli-input-json file://job.json"
    );
    Ok(())
}

/// Creates the job (or gets the one the same token created before) and follows it as
/// `follow` says. `what` names the job on stderr; `extra` goes into the JSON output
/// next to the job's fields. Exit: success unless the job ended other than Complete or
/// any task failed (only known with --wait).
pub(crate) async fn create_and_follow(
    session: &Session,
    request: &job::CreateJob,
    region: &str,
    what: &str,
    follow: &Follow,
    extra: Map<String, Value>,
) -> Result<Status> {
    let control_client = session.s3control();
    let id = control::create(&control_client, request).await?;
    // Which job this run created or found, even with --quiet: it is the run's result.
    errln!(
        "job {id}: {what} in account {} (token {})",
        request.account_id,
        request.client_request_token
    );
    if !follow.wait {
        match follow.format {
            TextOrJson::Json => {
                let mut out = extra;
                out.insert("job_id".into(), json!(id));
                out.insert("account_id".into(), json!(request.account_id));
                out.insert("region".into(), json!(region));
                out.insert(
                    "client_request_token".into(),
                    json!(request.client_request_token),
                );
                outln!("{}", serde_json::to_string_pretty(&out)?)?;
            }
            TextOrJson::Text => {
                outln!("{id}")?;
                if let Some(hint) = &follow.status_hint {
                    note!("follow it with: {hint}");
                }
            }
        }
        return Ok(Status::Success);
    }
    let every = Duration::from_secs_f64(follow.poll_interval);
    let finished = control::wait(&control_client, &request.account_id, &id, every, |state| {
        crate::note!("{}", state.progress_line())
    })
    .await?;
    // S3 writes no report when no task ran (nothing eligible, or the job failed before
    // starting), so a missing report is told, not fatal: the exit status comes from
    // DescribeJob's counts either way.
    let completion = match report::read(&session.s3(), &finished).await {
        Ok(completion) => completion,
        Err(error) => {
            errln!("warning: no completion report of job {id}: {error:#}");
            None
        }
    };
    let clean = finished.status == "Complete" && finished.failed == 0;
    match follow.format {
        TextOrJson::Json => {
            let mut out = extra;
            out.insert("job".into(), serde_json::to_value(&finished)?);
            out.insert("report".into(), serde_json::to_value(&completion)?);
            outln!("{}", serde_json::to_string_pretty(&out)?)?;
        }
        TextOrJson::Text => print_text(&finished, completion.as_ref())?,
    }
    Ok(if clean {
        Status::Success
    } else {
        Status::Failure
    })
}

fn print_text(
    job: &control::JobState,
    completion: Option<&report::CompletionReport>,
) -> Result<()> {
    outln!("{}", job.progress_line())?;
    for failure in &job.failure_reasons {
        outln!("job failure {}: {}", failure.code, failure.reason)?;
    }
    if let Some(reason) = &job.status_update_reason {
        if job.status != "Complete" {
            outln!("status reason: {reason}")?;
        }
    }
    match completion {
        Some(report) => {
            outln!(
                "completion report: s3://{}/{}",
                report.bucket,
                report.manifest_key
            )?;
            if report.failures.failed > 0 {
                crate::out!("{}", report.failures.to_text())?;
            }
        }
        None => outln!("no completion report")?,
    }
    Ok(())
}
