//! The S3 Control calls s3bridge makes for Batch Operations jobs: CreateJob, DescribeJob,
//! ListJobs, and waiting for a job to end. Each answer is turned into a plain `JobState`
//! so commands print and serialise one type, whatever call it came from.

use std::time::Duration;

use crate::aws::error::{AwsError, AwsErrorKind};
use anyhow::{Context, Result};
use aws_sdk_s3control::types::{JobProgressSummary, JobStatus};
use serde::Serialize;

use super::job::CreateJob;

/// What s3bridge knows about a job at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobState {
    pub id: String,
    pub status: String,
    pub description: Option<String>,
    /// S3ReplicateObject, S3PutObjectCopy, ...
    pub operation: Option<String>,
    pub total: Option<i64>,
    pub succeeded: i64,
    pub failed: i64,
    pub elapsed_seconds: Option<i64>,
    pub created: Option<String>,
    pub terminated: Option<String>,
    /// Why the job itself failed (a manifest S3 could not read, a role it could not assume).
    pub failure_reasons: Vec<JobFailure>,
    pub status_update_reason: Option<String>,
    pub suspended_cause: Option<String>,
    pub report: Option<ReportLocation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobFailure {
    pub code: String,
    pub reason: String,
}

/// Where a job writes its completion report: `s3://bucket/prefix/job-<id>/`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportLocation {
    pub bucket: String,
    pub prefix: Option<String>,
}

impl ReportLocation {
    /// The key of the report's top-level manifest.
    pub fn manifest_key(&self, job_id: &str) -> String {
        match self.prefix.as_deref().map(|p| p.trim_end_matches('/')) {
            Some(prefix) if !prefix.is_empty() => format!("{prefix}/job-{job_id}/manifest.json"),
            _ => format!("job-{job_id}/manifest.json"),
        }
    }
}

impl JobState {
    /// Complete, Failed or Cancelled: nothing will change any more.
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "Complete" | "Failed" | "Cancelled")
    }

    /// One line for a terminal: status and task counts.
    pub fn progress_line(&self) -> String {
        let done = self.succeeded + self.failed;
        let counts = match self.total {
            Some(total) if total > 0 => format!(
                "{done}/{total} tasks ({:.1}%), {} failed",
                done as f64 * 100.0 / total as f64,
                self.failed
            ),
            Some(total) => format!("{done}/{total} tasks, {} failed", self.failed),
            None => "task count not known yet".to_string(),
        };
        format!("job {}: {}, {counts}", self.id, self.status)
    }

    fn progress(&mut self, summary: Option<&JobProgressSummary>) {
        if let Some(p) = summary {
            self.total = p.total_number_of_tasks();
            self.succeeded = p.number_of_tasks_succeeded().unwrap_or(0);
            self.failed = p.number_of_tasks_failed().unwrap_or(0);
            self.elapsed_seconds = p.timers().and_then(|t| t.elapsed_time_in_active_seconds());
        }
    }
}

fn status_name(status: Option<&JobStatus>) -> String {
    status
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "Unknown".into())
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

/// The bucket name in an S3 bucket ARN (`arn:aws:s3:::name`).
pub fn bucket_of_arn(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// An S3 Control error in words, with what to check when access was refused.
fn explain<E>(
    error: aws_sdk_s3control::error::SdkError<E>,
    operation: &str,
    resource: &str,
    hint: &str,
) -> anyhow::Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let error = AwsError::new(operation, resource, &error);
    if error.kind() == AwsErrorKind::AccessDenied {
        error.with_hint(hint).into()
    } else {
        error.into()
    }
}

/// Sends CreateJob and returns the job id. With the same client request token S3 returns
/// the job it created the first time.
pub async fn create(client: &aws_sdk_s3control::Client, job: &CreateJob) -> Result<String> {
    let output = job
        .to_sdk(client)
        .context("building the CreateJob request")?
        .send()
        .await
        .map_err(|e| {
            explain(
                e,
                "CreateJob",
                &format!("account {}", job.account_id),
                &format!(
                    "the credentials must belong to account {} and allow s3:CreateJob, and iam:PassRole on {}",
                    job.account_id, job.role_arn
                ),
            )
        })?;
    output.job_id.context("CreateJob answered without a job id")
}

pub async fn describe(
    client: &aws_sdk_s3control::Client,
    account: &str,
    job_id: &str,
) -> Result<JobState> {
    let output = client
        .describe_job()
        .account_id(account)
        .job_id(job_id)
        .send()
        .await
        .map_err(|e| {
            explain(
                e,
                "DescribeJob",
                &format!("job {job_id} in account {account}"),
                "the credentials need s3:DescribeJob in the source account",
            )
        })?;
    let job = output
        .job
        .with_context(|| format!("DescribeJob {job_id} answered without a job"))?;
    let mut state = JobState {
        id: job.job_id().unwrap_or(job_id).to_string(),
        status: status_name(job.status()),
        description: job.description().map(str::to_string),
        operation: job.operation().and_then(operation_name),
        created: time(job.creation_time()),
        terminated: time(job.termination_date()),
        failure_reasons: job
            .failure_reasons()
            .iter()
            .map(|f| JobFailure {
                code: f.failure_code().unwrap_or_default().to_string(),
                reason: f.failure_reason().unwrap_or_default().to_string(),
            })
            .collect(),
        status_update_reason: job.status_update_reason().map(str::to_string),
        suspended_cause: job.suspended_cause().map(str::to_string),
        report: job.report().filter(|r| r.enabled()).and_then(|r| {
            r.bucket().map(|bucket| ReportLocation {
                bucket: bucket_of_arn(bucket).to_string(),
                prefix: r.prefix().map(str::to_string),
            })
        }),
        ..JobState::default()
    };
    state.progress(job.progress_summary());
    Ok(state)
}

fn operation_name(operation: &aws_sdk_s3control::types::JobOperation) -> Option<String> {
    if operation.s3_replicate_object().is_some() {
        Some("S3ReplicateObject".into())
    } else if operation.s3_put_object_copy().is_some() {
        Some("S3PutObjectCopy".into())
    } else {
        None
    }
}

/// Every job of the account (ListJobs keeps about 90 days) whose description starts with
/// `description_prefix`, newest first.
pub async fn list(
    client: &aws_sdk_s3control::Client,
    account: &str,
    description_prefix: &str,
) -> Result<Vec<JobState>> {
    let mut pages = client
        .list_jobs()
        .account_id(account)
        .into_paginator()
        .send();
    let mut jobs = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            explain(
                e,
                "ListJobs",
                &format!("account {account}"),
                "the credentials need s3:ListJobs in the source account",
            )
        })?;
        for job in page.jobs() {
            let Some(description) = job.description() else {
                continue;
            };
            if !description.starts_with(description_prefix) {
                continue;
            }
            let mut state = JobState {
                id: job.job_id().unwrap_or_default().to_string(),
                status: status_name(job.status()),
                description: Some(description.to_string()),
                operation: job.operation().map(|o| o.as_str().to_string()),
                created: time(job.creation_time()),
                terminated: time(job.termination_date()),
                ..JobState::default()
            };
            state.progress(job.progress_summary());
            jobs.push(state);
        }
    }
    jobs.sort_by(|a, b| b.created.cmp(&a.created));
    Ok(jobs)
}

/// Polls DescribeJob every `every` until the job is Complete, Failed or Cancelled,
/// handing each new state to `progress`.
pub async fn wait(
    client: &aws_sdk_s3control::Client,
    account: &str,
    job_id: &str,
    every: Duration,
    mut progress: impl FnMut(&JobState),
) -> Result<JobState> {
    let mut last: Option<JobState> = None;
    loop {
        let state = describe(client, account, job_id).await?;
        if last.as_ref() != Some(&state) {
            progress(&state);
        }
        if state.is_finished() {
            return Ok(state);
        }
        last = Some(state);
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_manifest_sits_under_the_prefix_without_a_double_slash() {
        let with = |prefix: Option<&str>| ReportLocation {
            bucket: "b".into(),
            prefix: prefix.map(str::to_string),
        };
        assert_eq!(
            with(Some("s3bridge/batch-replication/reports")).manifest_key("j1"),
            "s3bridge/batch-replication/reports/job-j1/manifest.json"
        );
        assert_eq!(
            with(Some("reports/")).manifest_key("j1"),
            "reports/job-j1/manifest.json"
        );
        assert_eq!(with(None).manifest_key("j1"), "job-j1/manifest.json");
    }

    #[test]
    fn progress_line_counts_tasks() {
        let state = JobState {
            id: "j".into(),
            status: "Active".into(),
            total: Some(200),
            succeeded: 40,
            failed: 10,
            ..JobState::default()
        };
        assert_eq!(
            state.progress_line(),
            "job j: Active, 50/200 tasks (25.0%), 10 failed"
        );
        assert!(!state.is_finished());
    }

    #[test]
    fn bucket_name_from_arn() {
        assert_eq!(bucket_of_arn("arn:aws:s3:::my-bucket"), "my-bucket");
        assert_eq!(bucket_of_arn("my-bucket"), "my-bucket");
    }
}
