//! Replication: each replicating bucket's configuration (role, every rule field by
//! field), whether existing objects were replicated by S3 Batch Replication, and a sample
//! of recent objects whose replication FAILED.

use super::buckets::kebab;
use super::{list_some, Ctx, Drift, Subject, APPLY};
use crate::audit::live::{LiveJob, Predating, RuleView, SAMPLE_SIZE};
use crate::audit::{Property, Severity};
use crate::model::{Replication, Rule, RTC_MINUTES};

/// The model's rule in the shape S3's rules are read into.
fn expected_rule(ctx: &Ctx<'_>, rule: &Rule) -> RuleView {
    let enabled = |on: bool| {
        if on {
            "Enabled".to_string()
        } else {
            String::new()
        }
    };
    let rtc = if rule.replication_time_control {
        format!("Enabled {RTC_MINUTES} minutes")
    } else {
        String::new()
    };
    RuleView {
        id: rule.id.clone(),
        status: "Enabled".into(),
        priority: Some(rule.priority as i32),
        prefix: rule.prefix.clone(),
        tags: rule.tags.clone(),
        delete_markers: if rule.delete_markers {
            "Enabled"
        } else {
            "Disabled"
        }
        .into(),
        sse_kms_objects: "Enabled".into(),
        replica_modifications: enabled(rule.replica_modifications),
        existing_objects: enabled(rule.existing_object_replication),
        destination_bucket: rule.destination_bucket_arn.clone(),
        destination_account: rule.destination_account.clone().unwrap_or_default(),
        owner_override: if rule.destination_account.is_some() {
            "Destination".into()
        } else {
            String::new()
        },
        replica_key: ctx.resolve(&rule.replica_key),
        storage_class: rule
            .storage_class
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        // Replication metrics: with RTC and its threshold, or alone for `monitoring:`.
        metrics: if rule.metrics && rtc.is_empty() {
            "Enabled".into()
        } else {
            rtc.clone()
        },
        replication_time: rtc,
    }
}

/// S3 reports switched-off options as `Disabled` where the spec leaves them out.
fn normalised(mut rule: RuleView) -> RuleView {
    for value in [
        &mut rule.replica_modifications,
        &mut rule.existing_objects,
        &mut rule.replication_time,
        &mut rule.metrics,
    ] {
        if value.starts_with("Disabled") {
            value.clear();
        }
    }
    rule
}

/// Fields whose drift sends data elsewhere or stops it (high); the rest are medium.
const CRITICAL_FIELDS: &[&str] = &[
    "status",
    "destination.bucket",
    "destination.account",
    "destination.replica_kms_key",
];

fn show(value: &str) -> &str {
    if value.is_empty() {
        "(not set)"
    } else {
        value
    }
}

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let desired = ctx.desired;
    for replication in &desired.replications {
        let bucket = desired.bucket(replication.from);
        if !ctx.live.side(replication.from).bucket.exists {
            continue; // `bucket/missing` says it: one cause, one finding
        }
        let subject = ctx.check(
            Property::Replication,
            &bucket.arn,
            &bucket.name,
            "replication",
        );
        check_configuration(ctx, replication, &subject);
        if desired
            .batch
            .as_ref()
            .is_some_and(|b| b.bucket == replication.bucket)
        {
            check_batch(ctx, replication, &subject);
        }
        check_sample(ctx, replication, &subject);
    }
}

fn check_configuration(ctx: &mut Ctx<'_>, replication: &Replication, subject: &Subject) {
    let bucket = ctx.desired.bucket(replication.from);
    let live = ctx
        .live
        .side(replication.from)
        .bucket
        .replication
        .clone()
        .flatten();
    let Some(live) = live else {
        ctx.add(
            subject,
            Drift {
                code: "missing".into(),
                expected: format!(
                    "{} rule(s) replicating to the {} bucket",
                    replication.rules.len(),
                    replication.from.other()
                ),
                actual: "no replication configuration".into(),
                message: format!(
                    "s3://{} has no replication configuration: nothing new is replicated",
                    bucket.name
                ),
                ..Drift::default()
            },
        );
        return;
    };
    let role = ctx.resolve(&replication.role);
    if live.role != role {
        ctx.add(
            subject,
            Drift {
                code: "role".into(),
                expected: role.clone(),
                actual: live.role.clone(),
                message: format!(
                    "replication of s3://{} runs as {} instead of {role}: its permissions are not the ones the spec reviewed",
                    bucket.name, live.role
                ),
                ..Drift::default()
            },
        );
    }
    for (index, rule) in replication.rules.iter().enumerate() {
        let expected = expected_rule(ctx, rule);
        let rule_field = format!("replication.rules[{index}]");
        let Some(actual) = live
            .rules
            .iter()
            .find(|r| r.id == rule.id)
            .cloned()
            .map(normalised)
        else {
            ctx.add(
                &Subject {
                    spec_field: rule_field,
                    ..subject.clone()
                },
                Drift {
                    code: format!("rule-{}-missing", kebab(&rule.id)),
                    expected: format!("rule {}", rule.id),
                    actual: "no such rule".into(),
                    message: format!(
                        "replication rule {} of s3://{} was removed: objects it covers are no longer replicated",
                        rule.id, bucket.name
                    ),
                    ..Drift::default()
                },
            );
            continue;
        };
        let differences: Vec<(&str, String, String)> = expected
            .fields()
            .into_iter()
            .zip(actual.fields())
            .filter(|((_, want), (_, have))| want != have)
            .map(|((name, want), (_, have))| (name, want, have))
            .collect();
        if differences.is_empty() {
            continue;
        }
        let critical = differences
            .iter()
            .any(|(name, _, _)| CRITICAL_FIELDS.contains(name));
        let describe = |expected: bool| {
            differences
                .iter()
                .map(|(name, want, have)| {
                    format!("{name}={}", show(if expected { want } else { have }))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        ctx.add(
            &Subject {
                spec_field: rule_field,
                ..subject.clone()
            },
            Drift {
                code: format!("rule-{}", kebab(&rule.id)),
                severity: if critical {
                    Severity::High
                } else {
                    Severity::Medium
                },
                expected: describe(true),
                actual: describe(false),
                message: format!(
                    "replication rule {} of s3://{} differs from the spec: {}",
                    rule.id,
                    bucket.name,
                    differences
                        .iter()
                        .map(|(name, want, have)| format!(
                            "{name} is {} (expected {})",
                            show(have),
                            show(want)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                ..Drift::default()
            },
        );
    }
    for extra in live
        .rules
        .iter()
        .filter(|r| !replication.rules.iter().any(|m| m.id == r.id))
    {
        let elsewhere =
            extra.destination_bucket != ctx.desired.bucket(replication.from.other()).arn;
        ctx.add(
            subject,
            Drift {
                code: format!("rule-{}-extra", kebab(&extra.id)),
                severity: if elsewhere { Severity::High } else { Severity::Medium },
                expected: "only the spec's rules".into(),
                actual: format!("rule {} to {}", extra.id, show(&extra.destination_bucket)),
                message: if elsewhere {
                    format!(
                        "s3://{} has a replication rule the spec does not ({}) copying objects to {}",
                        bucket.name, extra.id, show(&extra.destination_bucket)
                    )
                } else {
                    format!("s3://{} has a replication rule the spec does not ({})", bucket.name, extra.id)
                },
                ..Drift::default()
            },
        );
    }
}

fn job_matches(ctx: &Ctx<'_>, replication: &Replication, job: &LiveJob) -> bool {
    let bucket = ctx.desired.bucket(replication.from);
    let role = ctx.desired.batch.as_ref().map(|b| b.role_arn.as_str());
    job.source_bucket == bucket.arn
        || job.manifest.starts_with(&format!("{}/", bucket.arn))
        || Some(job.role_arn.as_str()) == role
}

fn check_batch(ctx: &mut Ctx<'_>, replication: &Replication, subject: &Subject) {
    let bucket = ctx.desired.bucket(replication.from);
    let jobs: Vec<LiveJob> = ctx
        .live
        .side(replication.from)
        .jobs
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|j| job_matches(ctx, replication, j))
        .collect();
    let subject = Subject {
        spec_field: "replication.existing_objects".into(),
        ..subject.clone()
    };
    let predating = &ctx.live.side(replication.from).bucket.predating;
    // Jobs are listed most recent first.
    let Some(job) = jobs
        .iter()
        .find(|j| j.status == "Complete")
        .or(jobs.first())
    else {
        if *predating == Predating::None {
            return; // no object older than the rules: nothing for a job to replicate
        }
        let example = match predating {
            Predating::Object { key, last_modified } => format!(
                ": s3://{}/{key} (last modified {last_modified}) has no replication status",
                bucket.name
            ),
            _ => String::new(),
        };
        ctx.add(
            &subject,
            Drift {
                code: "existing-objects-not-replicated".into(),
                severity: Severity::Medium,
                expected: "a completed S3 Batch Replication job over the source bucket".into(),
                actual: format!("no Batch Replication job found (last 90 days){example}"),
                message: format!(
                    "objects that were in s3://{} before replication was set up have not been replicated (no S3 Batch Replication job){example}",
                    bucket.name
                ),
                remediation: format!(
                    "`s3bridge replicate-existing SPEC --wait` (an S3 Batch Replication job over s3://{}); copying them with `s3bridge copy` instead does not clear this finding",
                    bucket.name
                ),
                ..Drift::default()
            },
        );
        return;
    };
    let actual = format!(
        "job {} {}: {} of {} tasks succeeded, {} failed",
        job.id, job.status, job.succeeded, job.total, job.failed
    );
    let retry = format!(
        "fix the cause (the failure reasons: `s3bridge status SPEC` and the job's completion report), then start a new job: `s3bridge replicate-existing SPEC --attempt {} --wait` (the attempt that ran returns the same job)",
        2.max(jobs.len() + 1)
    );
    let (code, severity, message, remediation) = match job.status.as_str() {
        "Complete" if job.failed == 0 => return,
        "Complete" => (
            "existing-objects-failed",
            Severity::Medium,
            format!("Batch Replication job {} finished with {} failed objects; they are not in the destination", job.id, job.failed),
            retry,
        ),
        "Failed" | "Cancelled" => (
            "existing-objects-job-failed",
            Severity::Medium,
            format!("the Batch Replication job {} of s3://{} is {}: existing objects were not (all) replicated", job.id, bucket.name, job.status),
            retry,
        ),
        _ => (
            "existing-objects-in-progress",
            Severity::Low,
            format!("the Batch Replication job {} of s3://{} is still {}", job.id, bucket.name, job.status),
            "`s3bridge replicate-existing SPEC --wait` follows the running job (the same request returns it) to its end".to_string(),
        ),
    };
    ctx.add(
        &subject,
        Drift {
            code: code.into(),
            severity,
            expected: "a completed job without failures".into(),
            actual,
            message,
            remediation,
            ..Drift::default()
        },
    );
}

/// Objects of the HEAD sample that are not under the bucket's key (written before the
/// bundle set it, SSE-S3 or another key): Batch Replication copies them with the
/// encryption they have, and the bucket's key policy does not protect them.
fn check_sample_encryption(ctx: &mut Ctx<'_>, replication: &Replication, subject: &Subject) {
    let bucket = ctx.desired.bucket(replication.from);
    let key = ctx.resolve(&bucket.key);
    let key_id = key.rsplit('/').next().unwrap_or_default().to_string();
    let sample = &ctx.live.side(replication.from).bucket.sample;
    let outside: Vec<String> = sample
        .iter()
        .filter(|o| {
            let kms = o.encryption.as_deref() == Some("aws:kms");
            let ours = o
                .kms_key
                .as_deref()
                .is_some_and(|k| k == key || k == key_id);
            !(kms && ours)
        })
        .map(|o| {
            format!(
                "{} ({})",
                o.key,
                match (o.encryption.as_deref(), o.kms_key.as_deref()) {
                    (Some("aws:kms"), Some(other)) => other.to_string(),
                    (Some(algorithm), _) => algorithm.to_string(),
                    (None, _) => "unencrypted".into(),
                }
            )
        })
        .collect();
    if outside.is_empty() {
        return;
    }
    let sampled = sample.len();
    ctx.add(
        subject,
        Drift {
            code: "objects-not-under-key".into(),
            severity: Severity::Medium,
            expected: format!("every object under {key}"),
            actual: format!(
                "{} of {sampled} objects sampled (HEAD of the {SAMPLE_SIZE} most recent at most) are not: {}",
                outside.len(),
                list_some(&outside, 5)
            ),
            message: format!(
                "{} of {sampled} sampled objects of s3://{} are not under its key ({}); the bucket may hold more",
                outside.len(),
                bucket.name,
                list_some(&outside, 3)
            ),
            remediation: format!(
                "`s3bridge reencrypt SPEC --side {}` rewrites every object not under the key in place (before replicate-existing, so the replicas arrive under the destination key)",
                replication.from
            ),
            ..Drift::default()
        },
    );
}

fn check_sample(ctx: &mut Ctx<'_>, replication: &Replication, subject: &Subject) {
    check_sample_encryption(ctx, replication, subject);
    let bucket = ctx.desired.bucket(replication.from);
    let sample = &ctx.live.side(replication.from).bucket.sample;
    let failed: Vec<String> = sample
        .iter()
        .filter(|o| o.replication_status.as_deref() == Some("FAILED"))
        .map(|o| o.key.clone())
        .collect();
    if failed.is_empty() {
        return;
    }
    ctx.add(
        subject,
        Drift {
            code: "objects-failed".into(),
            severity: Severity::Medium,
            expected: "no recent object with ReplicationStatus FAILED".into(),
            actual: format!("{} of the {} most recent objects FAILED: {}", failed.len(), sample.len().min(SAMPLE_SIZE), list_some(&failed, 5)),
            message: format!(
                "{} recent object(s) of s3://{} failed to replicate ({}); S3 does not retry them",
                failed.len(),
                bucket.name,
                list_some(&failed, 5)
            ),
            remediation: format!(
                "fix the cause (the replication role's permissions, the destination key policy, the destination bucket policy — see the other findings), then re-replicate them with a Batch Replication job over FAILED objects: `s3bridge replicate-existing SPEC --attempt N --wait`, with an attempt number not used before (a used one returns its old job); {APPLY} restores the configuration"
            ),
            ..Drift::default()
        },
    );
}
