//! `s3bridge status SPEC`: can the replica be trusted today? Per rule of the source's
//! replication, the last hour and day of the replication metrics (CloudWatch
//! GetMetricData), the state of the alarms the bundle's monitoring created
//! (DescribeAlarms), and the S3 Batch Operations jobs s3bridge created for this spec
//! (found by their description, see `batch::job::description_prefix`) with their progress
//! — then one verdict. Read-only, all in the source account.
//!
//! Verdict and exit status: healthy 0; degraded 1 (something needs a look: latency above
//! the threshold, a growing backlog, objects a job could not replicate, a job not moving,
//! alarms missing); broken 2 (objects failed to replicate in the last hour, a failed-
//! operations alarm firing, a Batch job that failed as a whole). 2 is also what every
//! command answers when it could not run: either way the replica cannot be trusted today.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use anyhow::Result;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_smithy_types::DateTime;
use serde::Serialize;

use super::{block_on, load_spec, source_session, Status};
use crate::aws::error::{AwsError, AwsErrorKind};
use crate::batch::control::{self, JobState};
use crate::batch::job;
use crate::cli::{StatusArgs, TextOrJson};
use crate::model::monitoring::{AlarmKind, Monitoring, NAMESPACE};
use crate::model::RTC_MINUTES;
use crate::outln;
use crate::spec::Spec;

/// How far the replica can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Healthy,
    Degraded,
    Broken,
}

impl Verdict {
    pub fn status(self) -> Status {
        match self {
            Verdict::Healthy => Status::Success,
            Verdict::Degraded => Status::Failure,
            Verdict::Broken => Status::CouldNotRun,
        }
    }
}

/// A rule's replication metrics over one window; None where CloudWatch has no data.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Window {
    /// OperationsFailedReplication, summed.
    pub failed_operations: Option<f64>,
    /// ReplicationLatency, the maximum, in seconds.
    pub max_latency_seconds: Option<f64>,
    /// OperationsPendingReplication, the maximum.
    pub pending_operations: Option<f64>,
    /// BytesPendingReplication, the maximum.
    pub pending_bytes: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleHealth {
    pub id: String,
    /// Latency above which the rule is degraded (RTC rules: 15 minutes).
    pub latency_threshold_seconds: u32,
    pub last_hour: Window,
    pub last_day: Window,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmHealth {
    pub name: String,
    pub rule_id: String,
    pub kind: AlarmKind,
    /// OK, ALARM, INSUFFICIENT_DATA, or MISSING when the alarm does not exist.
    pub state: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub verdict: Verdict,
    /// Why the verdict is not healthy, most serious first.
    pub reasons: Vec<String>,
    /// False when the spec has no `monitoring:`: metrics and alarms were not read.
    pub monitoring: bool,
    pub rules: Vec<RuleHealth>,
    pub alarms: Vec<AlarmHealth>,
    pub jobs: Vec<JobState>,
    /// Commands that replay what failed.
    pub replay: Vec<String>,
}

/// A job that is neither finished nor moving on its own: suspended jobs wait for
/// confirmation (or for a cause S3 reports in `suspended_cause`), paused ones for a resume.
fn is_stuck(job: &JobState) -> bool {
    matches!(job.status.as_str(), "Suspended" | "Paused" | "Pausing")
}

/// The verdict from what was read. Pure, so every rule of it is tested without AWS.
pub fn judge(
    rules: &[RuleHealth],
    alarms: &[AlarmHealth],
    jobs: &[JobState],
) -> (Verdict, Vec<String>) {
    let mut broken = Vec::new();
    let mut degraded = Vec::new();
    for rule in rules {
        if let Some(failed) = rule.last_hour.failed_operations.filter(|f| *f > 0.0) {
            broken.push(format!(
                "rule {}: {failed} operations failed to replicate in the last hour",
                rule.id
            ));
        } else if let Some(failed) = rule.last_day.failed_operations.filter(|f| *f > 0.0) {
            degraded.push(format!(
                "rule {}: {failed} operations failed to replicate in the last day",
                rule.id
            ));
        }
        if let Some(latency) = rule
            .last_hour
            .max_latency_seconds
            .filter(|l| *l > f64::from(rule.latency_threshold_seconds))
        {
            degraded.push(format!(
                "rule {}: replication latency reached {latency} s in the last hour (threshold {} s)",
                rule.id, rule.latency_threshold_seconds
            ));
        }
    }
    for alarm in alarms {
        match (alarm.state.as_str(), alarm.kind) {
            ("ALARM", AlarmKind::Failed) => {
                broken.push(format!("alarm {} is firing", alarm.name));
            }
            ("ALARM", _) => degraded.push(format!("alarm {} is firing", alarm.name)),
            ("MISSING", _) => degraded.push(format!(
                "alarm {} does not exist: nobody is told when rule {} breaks (apply the bundle)",
                alarm.name, alarm.rule_id
            )),
            _ => {}
        }
    }
    for job in jobs {
        if job.status == "Failed" {
            broken.push(format!("Batch Operations job {} failed", job.id));
        } else if job.failed > 0 {
            degraded.push(format!(
                "Batch Operations job {} could not process {} objects",
                job.id, job.failed
            ));
        }
        if is_stuck(job) {
            degraded.push(format!(
                "Batch Operations job {} is {} and will not finish on its own{}",
                job.id,
                job.status,
                job.suspended_cause
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            ));
        }
    }
    let verdict = if !broken.is_empty() {
        Verdict::Broken
    } else if !degraded.is_empty() {
        Verdict::Degraded
    } else {
        Verdict::Healthy
    };
    broken.extend(degraded);
    (verdict, broken)
}

/// The commands that replay the objects jobs could not process: another attempt of the
/// same request, which S3 runs over what is still unreplicated (FAILED or never
/// replicated), never over what succeeded.
fn replay_commands(spec_path: &str, jobs: &[JobState]) -> Vec<String> {
    let mut out = Vec::new();
    let replicate: Vec<&JobState> = jobs
        .iter()
        .filter(|j| j.operation.as_deref() == Some("S3ReplicateObject"))
        .collect();
    if replicate
        .iter()
        .any(|j| j.failed > 0 || j.status == "Failed")
    {
        out.push(format!(
            "s3bridge replicate-existing {spec_path} --attempt {} --wait",
            replicate.len() + 1
        ));
    }
    let copies: Vec<&JobState> = jobs
        .iter()
        .filter(|j| j.operation.as_deref() == Some("S3PutObjectCopy"))
        .collect();
    if copies.iter().any(|j| j.failed > 0 || j.status == "Failed") {
        out.push(format!(
            "s3bridge copy {spec_path} --engine batch --attempt {} --wait",
            copies.len() + 1
        ));
    }
    out
}

pub fn run(args: &StatusArgs) -> Result<Status> {
    let loaded = load_spec(&args.spec)?;
    let spec = &loaded.spec;
    let desired = crate::model::build(spec);
    let (jobs, metrics, alarms) = block_on(async {
        let session = source_session(spec, &args.aws).await?;
        let jobs = control::list(
            &session.s3control(),
            &spec.source.account_id,
            &job::description_prefix(&spec.name),
        )
        .await?;
        let (metrics, alarms) = match &desired.monitoring {
            Some(m) => {
                let client = session.cloudwatch();
                (
                    read_metrics(&client, spec, m).await?,
                    read_alarms(&client, spec, m).await?,
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        anyhow::Ok((jobs, metrics, alarms))
    })??;
    let (verdict, reasons) = judge(&metrics, &alarms, &jobs);
    let health = Health {
        verdict,
        reasons,
        monitoring: desired.monitoring.is_some(),
        rules: metrics,
        alarms,
        replay: replay_commands(&args.spec.display().to_string(), &jobs),
        jobs,
    };
    match args.format {
        TextOrJson::Json => outln!("{}", serde_json::to_string_pretty(&health)?)?,
        TextOrJson::Text => print_text(spec, &health)?,
    }
    Ok(verdict.status())
}

fn explain<E>(
    error: aws_sdk_cloudwatch::error::SdkError<E>,
    operation: &str,
    resource: &str,
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
        error
            .with_hint(format!(
                "the credentials need {} in the source account (docs/monitoring.md lists what `status` reads)",
                match operation {
                    "GetMetricData" => "cloudwatch:GetMetricData",
                    _ => "cloudwatch:DescribeAlarms",
                }
            ))
            .into()
    } else {
        error.into()
    }
}

/// The metrics each rule's window reads: (metric, statistic, field).
const READS: [(&str, &str, usize); 4] = [
    ("OperationsFailedReplication", "Sum", 0),
    ("ReplicationLatency", "Maximum", 1),
    ("OperationsPendingReplication", "Maximum", 2),
    ("BytesPendingReplication", "Maximum", 3),
];

fn set(window: &mut Window, field: usize, value: f64) {
    let slot = match field {
        0 => &mut window.failed_operations,
        1 => &mut window.max_latency_seconds,
        2 => &mut window.pending_operations,
        _ => &mut window.pending_bytes,
    };
    *slot = Some(value);
}

/// One GetMetricData per window, one datapoint per rule and metric (the period is the
/// window), for every rule of the source's replication.
async fn read_metrics(
    client: &aws_sdk_cloudwatch::Client,
    spec: &Spec,
    m: &Monitoring,
) -> Result<Vec<RuleHealth>> {
    let now = SystemTime::now();
    let mut rules: Vec<RuleHealth> = spec
        .replication
        .rules
        .iter()
        .map(|r| RuleHealth {
            id: r.id.clone(),
            latency_threshold_seconds: if r.replication_time_control {
                RTC_MINUTES * 60
            } else {
                m.latency_seconds
            },
            last_hour: Window::default(),
            last_day: Window::default(),
        })
        .collect();
    for (hours, day) in [(1u64, false), (24, true)] {
        let seconds = hours * 3600;
        let start = now - Duration::from_secs(seconds);
        let mut queries = Vec::new();
        let mut ids = BTreeMap::new();
        for (r, rule) in rules.iter().enumerate() {
            for (metric, stat, field) in READS {
                let id = format!("r{r}m{field}");
                ids.insert(id.clone(), (r, field));
                let dimensions = [
                    ("SourceBucket", m.bucket.as_str()),
                    ("DestinationBucket", m.destination_bucket.as_str()),
                    ("RuleId", rule.id.as_str()),
                ]
                .map(|(name, value)| Dimension::builder().name(name).value(value).build());
                let metric = Metric::builder()
                    .namespace(NAMESPACE)
                    .metric_name(metric)
                    .set_dimensions(Some(dimensions.to_vec()))
                    .build();
                queries.push(
                    MetricDataQuery::builder()
                        .id(id)
                        .metric_stat(
                            MetricStat::builder()
                                .metric(metric)
                                .period(seconds as i32)
                                .stat(stat)
                                .build(),
                        )
                        .return_data(true)
                        .build(),
                );
            }
        }
        let mut token: Option<String> = None;
        loop {
            let page = client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(DateTime::from(start))
                .end_time(DateTime::from(now))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| explain(e, "GetMetricData", &format!("s3://{}", m.bucket)))?;
            for result in page.metric_data_results() {
                let Some(&(r, field)) = result.id().and_then(|id| ids.get(id)) else {
                    continue;
                };
                // One period spans the window, but CloudWatch aligns periods, so the
                // window may straddle two: combine them as the statistic does.
                let values = result.values();
                if values.is_empty() {
                    continue;
                }
                let value = if field == 0 {
                    values.iter().sum()
                } else {
                    values.iter().copied().fold(f64::MIN, f64::max)
                };
                let window = if day {
                    &mut rules[r].last_day
                } else {
                    &mut rules[r].last_hour
                };
                set(window, field, value);
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(rules)
}

/// The state of every alarm the monitoring asks for; MISSING for those that do not exist.
async fn read_alarms(
    client: &aws_sdk_cloudwatch::Client,
    spec: &Spec,
    m: &Monitoring,
) -> Result<Vec<AlarmHealth>> {
    let prefix = format!("s3bridge-{}-", spec.name);
    let mut found: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .describe_alarms()
            .alarm_name_prefix(&prefix)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| explain(e, "DescribeAlarms", &format!("alarms {prefix}*")))?;
        for alarm in page.metric_alarms() {
            if let Some(name) = alarm.alarm_name() {
                found.insert(
                    name.to_string(),
                    (
                        alarm
                            .state_value()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_else(|| "INSUFFICIENT_DATA".into()),
                        alarm.state_reason().map(str::to_string),
                    ),
                );
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(m.alarms
        .iter()
        .map(|a| {
            let (state, reason) = found
                .get(&a.name)
                .cloned()
                .unwrap_or_else(|| ("MISSING".into(), None));
            AlarmHealth {
                name: a.name.clone(),
                rule_id: a.rule_id.clone(),
                kind: a.kind,
                state,
                reason,
            }
        })
        .collect())
}

fn number(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |v| format!("{v}"))
}

fn print_text(spec: &Spec, health: &Health) -> Result<()> {
    let verdict = match health.verdict {
        Verdict::Healthy => "HEALTHY",
        Verdict::Degraded => "DEGRADED",
        Verdict::Broken => "BROKEN",
    };
    outln!(
        "{}: {verdict} (s3://{} → s3://{})",
        spec.name,
        spec.source.bucket,
        spec.destination.bucket
    )?;
    for reason in &health.reasons {
        outln!("  - {reason}")?;
    }
    if !health.monitoring {
        outln!("  (no `monitoring:` in the spec: replication metrics and alarms not read)")?;
    }
    if !health.rules.is_empty() {
        outln!(
            "\n{:<20}  {:>14}  {:>14}  {:>14}  {:>12}  {:>12}",
            "RULE",
            "FAILED 1H/24H",
            "LATENCY 1H (S)",
            "LATENCY 24H",
            "PENDING OPS",
            "PENDING BYTES"
        )?;
        for rule in &health.rules {
            outln!(
                "{:<20}  {:>14}  {:>14}  {:>14}  {:>12}  {:>12}",
                rule.id,
                format!(
                    "{}/{}",
                    number(rule.last_hour.failed_operations),
                    number(rule.last_day.failed_operations)
                ),
                number(rule.last_hour.max_latency_seconds),
                number(rule.last_day.max_latency_seconds),
                number(rule.last_hour.pending_operations),
                number(rule.last_hour.pending_bytes)
            )?;
        }
    }
    if !health.alarms.is_empty() {
        outln!("\n{:<60}  STATE", "ALARM")?;
        for alarm in &health.alarms {
            outln!("{:<60}  {}", alarm.name, alarm.state)?;
        }
    }
    if health.jobs.is_empty() {
        outln!(
            "\nno S3 Batch Operations jobs of {} in account {} (ListJobs keeps the last 90 days)",
            spec.name,
            spec.source.account_id
        )?;
    } else {
        outln!(
            "\n{:<36}  {:<18}  {:<10}  {:>12}  {:>10}  {:>10}  CREATED",
            "JOB",
            "OPERATION",
            "STATUS",
            "TOTAL",
            "SUCCEEDED",
            "FAILED"
        )?;
        for j in &health.jobs {
            outln!(
                "{:<36}  {:<18}  {:<10}  {:>12}  {:>10}  {:>10}  {}",
                j.id,
                j.operation.as_deref().unwrap_or("-"),
                j.status,
                j.total.map_or("-".to_string(), |t| t.to_string()),
                j.succeeded,
                j.failed,
                j.created.as_deref().unwrap_or("-")
            )?;
        }
    }
    for command in &health.replay {
        outln!("\nreplay what failed: {command}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(hour: Window, day: Window) -> RuleHealth {
        RuleHealth {
            id: "scans".into(),
            latency_threshold_seconds: 900,
            last_hour: hour,
            last_day: day,
        }
    }

    fn job(status: &str, failed: i64) -> JobState {
        JobState {
            id: "j".into(),
            status: status.into(),
            description: None,
            operation: Some("S3ReplicateObject".into()),
            total: Some(10),
            succeeded: 10 - failed,
            failed,
            elapsed_seconds: None,
            created: None,
            terminated: None,
            failure_reasons: Vec::new(),
            status_update_reason: None,
            suspended_cause: None,
            report: None,
        }
    }

    #[test]
    fn verdicts() {
        let quiet = Window {
            failed_operations: Some(0.0),
            max_latency_seconds: Some(12.0),
            ..Window::default()
        };
        assert_eq!(
            judge(&[rule(quiet.clone(), quiet.clone())], &[], &[]).0,
            Verdict::Healthy
        );
        let slow = Window {
            max_latency_seconds: Some(901.0),
            ..quiet.clone()
        };
        assert_eq!(
            judge(&[rule(slow, quiet.clone())], &[], &[]).0,
            Verdict::Degraded
        );
        let failing = Window {
            failed_operations: Some(3.0),
            ..quiet.clone()
        };
        let (verdict, reasons) = judge(&[rule(failing.clone(), failing.clone())], &[], &[]);
        assert_eq!(verdict, Verdict::Broken);
        assert!(reasons[0].contains("3 operations failed"), "{reasons:?}");
        assert_eq!(
            judge(&[rule(quiet.clone(), failing)], &[], &[]).0,
            Verdict::Degraded
        );
        assert_eq!(judge(&[], &[], &[job("Complete", 2)]).0, Verdict::Degraded);
        assert_eq!(judge(&[], &[], &[job("Suspended", 0)]).0, Verdict::Degraded);
        assert_eq!(judge(&[], &[], &[job("Failed", 0)]).0, Verdict::Broken);
        assert_eq!(
            replay_commands("spec.yaml", &[job("Complete", 2)]),
            ["s3bridge replicate-existing spec.yaml --attempt 2 --wait"]
        );
        assert!(replay_commands("spec.yaml", &[job("Complete", 0)]).is_empty());
    }
}
