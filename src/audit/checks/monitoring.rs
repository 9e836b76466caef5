//! Replication health wiring (`monitoring:`): every alarm the model names exists and
//! notifies the topic, and the source bucket sends its replication events to the topic.
//! The rules' metrics are compared with the rest of each rule (replication.rs).

use super::{Ctx, Drift, APPLY};
use crate::audit::{Property, Severity};
use crate::model::monitoring::REPLICATION_EVENTS;

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let Some(m) = ctx.desired.monitoring.clone() else {
        return;
    };
    let Some(live) = ctx.live.source.monitoring.clone() else {
        return;
    };
    for alarm in &m.alarms {
        let subject = ctx.check(
            Property::Monitoring,
            &m.alarm_arn(&alarm.name),
            &alarm.name,
            "monitoring",
        );
        match live.alarms.get(&alarm.name) {
            None => ctx.add(
                &subject,
                Drift {
                    code: "alarm-missing".into(),
                    severity: Severity::High,
                    expected: format!("alarm {} notifying {}", alarm.name, m.topic.arn),
                    actual: "no such alarm".into(),
                    message: format!(
                        "alarm {} ({} of rule {}) does not exist: nobody is told when it would fire",
                        alarm.name, alarm.metric, alarm.rule_id
                    ),
                    ..Drift::default()
                },
            ),
            Some(actions) if !actions.contains(&m.topic.arn) => ctx.add(
                &subject,
                Drift {
                    code: "alarm-not-notifying".into(),
                    severity: Severity::Medium,
                    expected: format!("alarm actions include {}", m.topic.arn),
                    actual: if actions.is_empty() {
                        "no alarm actions".into()
                    } else {
                        actions.join(", ")
                    },
                    message: format!(
                        "alarm {} fires without notifying the spec's topic",
                        alarm.name
                    ),
                    ..Drift::default()
                },
            ),
            Some(_) => {}
        }
    }
    if !ctx.live.source.bucket.exists {
        // One cause, one finding: the missing bucket (buckets.rs) has no notifications.
        return;
    }
    let subject = ctx.check(
        Property::Monitoring,
        &m.bucket_arn,
        &m.bucket,
        "monitoring.notify",
    );
    let delivered: Vec<&str> = live
        .topics
        .iter()
        .filter(|(topic, _)| *topic == m.topic.arn)
        .flat_map(|(_, events)| events.iter().map(String::as_str))
        .collect();
    let missing: Vec<&str> = REPLICATION_EVENTS
        .iter()
        .copied()
        .filter(|event| !delivered.contains(event) && !delivered.contains(&"s3:Replication:*"))
        .collect();
    if !missing.is_empty() {
        ctx.add(
            &subject,
            Drift {
                code: "events-not-notified".into(),
                severity: Severity::High,
                expected: format!("{} → {}", REPLICATION_EVENTS.join(", "), m.topic.arn),
                actual: if live.topics.is_empty() {
                    "no SNS notification configuration".into()
                } else {
                    live.topics
                        .iter()
                        .map(|(topic, events)| format!("{} → {topic}", events.join(", ")))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
                message: format!(
                    "s3://{} does not send {} to the topic: failed replications go unnoticed",
                    m.bucket,
                    missing.join(", ")
                ),
                remediation: format!("{APPLY} (the bundle's monitoring.tf owns the bucket's notification configuration)"),
                ..Drift::default()
            },
        );
    }
}
