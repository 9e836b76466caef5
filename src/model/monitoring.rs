//! Replication health: what the spec's `monitoring:` section asks for, resolved against
//! the source side. Generate renders it (monitoring.tf), audit checks it live, `status`
//! reads the alarms and metrics it names, and the permission catalogue evaluates its
//! topic and key policies: one model for all four.
//!
//! Everything lives in the source account and Region: S3 publishes replication metrics
//! for the source bucket's rules in the source account (S3 user guide,
//! replication-metrics), and S3 notifies only a topic in the bucket's Region
//! (notification-how-to-event-types-and-destinations). Events go to SNS directly, not
//! through EventBridge: S3 names the bucket in `aws:SourceArn` when it publishes, so the
//! topic and key policies can admit exactly this bucket, whereas KMS requests made for
//! EventBridge deliveries carry no `aws:SourceArn`/`aws:SourceAccount` (SNS developer
//! guide, sns-key-management, "compatibility with AWS services") and could not be scoped.

use super::{SideFacts, RTC_MINUTES};
use crate::policy::actions::KEY_ADMINISTRATION;
use crate::policy::{Document, Principal, Reference, Statement, Term};
use crate::spec::{KeyRecovery, Spec};

/// The S3 event types sent to the topic (S3 user guide, replication-metrics: "Receiving
/// replication failure events with Amazon S3 Event Notifications").
pub const REPLICATION_EVENTS: [&str; 3] = [
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationNotTracked",
];

/// CloudWatch namespace and dimensions of S3 replication metrics.
pub const NAMESPACE: &str = "AWS/S3";
/// Seconds per alarm period: S3 replication metrics are published per minute; five-minute
/// periods smooth their gaps.
pub const PERIOD_SECONDS: u32 = 300;
/// The services that publish to the topic.
pub const CLOUDWATCH: &str = "cloudwatch.amazonaws.com";
pub const S3: &str = "s3.amazonaws.com";
/// What the services need of the topic's key (SNS developer guide, sns-key-management).
pub const PUBLISHER_KEY_ACTIONS: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey*"];
pub const SNS_PUBLISH: &str = "sns:Publish";

/// The three alarms each rule gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// OperationsFailedReplication > 0 in a five-minute period.
    Failed,
    /// ReplicationLatency above the threshold (maximum over five minutes).
    Latency,
    /// OperationsPendingReplication grew in every period of the window.
    Pending,
}

impl AlarmKind {
    pub const ALL: [AlarmKind; 3] = [AlarmKind::Failed, AlarmKind::Latency, AlarmKind::Pending];

    pub fn metric(self) -> &'static str {
        match self {
            AlarmKind::Failed => "OperationsFailedReplication",
            AlarmKind::Latency => "ReplicationLatency",
            AlarmKind::Pending => "OperationsPendingReplication",
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            AlarmKind::Failed => "failed-operations",
            AlarmKind::Latency => "latency",
            AlarmKind::Pending => "pending-growing",
        }
    }
}

/// One CloudWatch alarm on one rule's replication metric.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alarm {
    pub name: String,
    pub rule_id: String,
    pub kind: AlarmKind,
    pub metric: &'static str,
    /// `Sum`, `Maximum`; for `Pending` the statistic of the metric the expression reads.
    pub statistic: &'static str,
    pub threshold: f64,
    /// Consecutive five-minute periods that must breach.
    pub periods: u32,
    /// CloudWatch metric math over `m1` (the metric), when the alarm watches a rate.
    pub expression: Option<&'static str>,
    pub description: String,
}

/// The topic alarms and events go to.
#[derive(Debug, Clone)]
pub struct Topic {
    pub arn: String,
    pub name: String,
    /// The statements the topic policy needs (the whole policy of a created topic; the
    /// statements to add to an existing one).
    pub policy: Document,
    pub created: Option<CreatedTopic>,
}

/// A topic the bundle creates, encrypted with its own key.
#[derive(Debug, Clone)]
pub struct CreatedTopic {
    pub key_alias: String,
    pub key: Term,
    pub key_policy: Document,
    pub email: Vec<String>,
    pub https: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Monitoring {
    pub account: String,
    pub region: String,
    pub bucket: String,
    pub bucket_arn: String,
    pub destination_bucket: String,
    pub topic: Topic,
    pub alarms: Vec<Alarm>,
    /// Rule ids whose destination gets `Metrics` (every rule of the source's
    /// configuration).
    pub rules: Vec<String>,
    pub latency_seconds: u32,
}

impl Monitoring {
    pub const MODULE: &'static str = "monitoring";

    pub fn alarm_arn(&self, alarm: &str) -> String {
        format!(
            "arn:{}:cloudwatch:{}:{}:alarm:{alarm}",
            crate::arn::partition_for_region(&self.region),
            self.region,
            self.account
        )
    }
}

/// Name of the alarm of `kind` on rule `rule` of the spec `name`.
pub fn alarm_name(name: &str, rule: &str, kind: AlarmKind) -> String {
    format!("{}{rule}-{}", alarm_prefix(name), kind.suffix())
}

/// What every alarm of the spec `name` is called first.
pub fn alarm_prefix(name: &str) -> String {
    format!("s3bridge-{name}-")
}

pub(crate) fn build(spec: &Spec, source: &SideFacts) -> Option<Monitoring> {
    let m = spec.monitoring.as_ref()?;
    let topic_name = match &m.notify.topic_arn {
        Some(arn) => arn.rsplit(':').next().unwrap_or(arn).to_string(),
        None => format!("{}-replication-health", spec.name),
    };
    let topic_arn = m.notify.topic_arn.clone().unwrap_or_else(|| {
        format!(
            "arn:{}:sns:{}:{}:{topic_name}",
            source.partition, source.region, source.account
        )
    });
    let alarm_pattern = format!(
        "arn:{}:cloudwatch:{}:{}:alarm:s3bridge-{}-*",
        source.partition, source.region, source.account, spec.name
    );
    // Each service may act only for this account's alarms, and this bucket (the
    // confused-deputy conditions, IAM user guide confused-deputy).
    let scoped = |statement: Statement, source_arn: &str| {
        statement
            .condition(
                "StringEquals",
                "aws:SourceAccount",
                vec![source.account.clone().into()],
            )
            .condition("ArnLike", "aws:SourceArn", vec![source_arn.into()])
    };
    let topic_policy = Document::new(vec![
        scoped(
            Statement::allow("CloudWatchAlarmsPublish")
                .principal(Principal::Service(vec![CLOUDWATCH.into()]))
                .actions(&[SNS_PUBLISH])
                .resources([topic_arn.clone()]),
            &alarm_pattern,
        ),
        scoped(
            Statement::allow("S3ReplicationEventsPublish")
                .principal(Principal::Service(vec![S3.into()]))
                .actions(&[SNS_PUBLISH])
                .resources([topic_arn.clone()]),
            &source.bucket_arn,
        ),
    ]);
    let created = m.notify.create.as_ref().map(|create| {
        let mut statements = vec![Statement::allow("KeyAdministration")
            .principal(Principal::Aws(
                source.admins.iter().cloned().map(Term::Text).collect(),
            ))
            .actions(KEY_ADMINISTRATION)
            .resources(["*"])];
        if source.recovery == KeyRecovery::Account || source.admins.is_empty() {
            statements.push(
                Statement::allow("AccountRecovery")
                    .principal(Principal::Aws(vec![Term::Text(source.account_root())]))
                    .actions(KEY_ADMINISTRATION)
                    .resources(["*"]),
            );
        }
        statements.push(scoped(
            Statement::allow("CloudWatchAlarmsEncrypt")
                .principal(Principal::Service(vec![CLOUDWATCH.into()]))
                .actions(PUBLISHER_KEY_ACTIONS)
                .resources(["*"]),
            &alarm_pattern,
        ));
        statements.push(scoped(
            Statement::allow("S3ReplicationEventsEncrypt")
                .principal(Principal::Service(vec![S3.into()]))
                .actions(PUBLISHER_KEY_ACTIONS)
                .resources(["*"]),
            &source.bucket_arn,
        ));
        CreatedTopic {
            key_alias: format!("alias/{}-replication-health", spec.name),
            key: Term::Ref(Reference {
                text: format!(
                    "arn:{}:kms:{}:{}:key/MONITORING-KEY-ID",
                    source.partition, source.region, source.account
                ),
                known: false,
                module: Monitoring::MODULE.into(),
                output: "kms_key_arn".into(),
            }),
            key_policy: Document::new(statements),
            email: create.email.clone(),
            https: create.https.clone(),
        }
    });
    let mut alarms = Vec::new();
    for rule in &spec.replication.rules {
        let latency = if rule.replication_time_control {
            RTC_MINUTES * 60
        } else {
            m.latency_seconds
        };
        for kind in AlarmKind::ALL {
            let (statistic, threshold, periods, expression, description) = match kind {
                AlarmKind::Failed => (
                    "Sum",
                    0.0,
                    1,
                    None,
                    format!("Objects of rule {} failed to replicate to s3://{} in the last 5 minutes (docs/monitoring.md).", rule.id, spec.destination.bucket),
                ),
                AlarmKind::Latency => (
                    "Maximum",
                    f64::from(latency),
                    1,
                    None,
                    format!("Rule {} replicates more than {latency} s behind (docs/monitoring.md).", rule.id),
                ),
                AlarmKind::Pending => (
                    "Maximum",
                    0.0,
                    m.pending_growth_minutes / 5,
                    Some("DIFF(m1)"),
                    format!("Operations pending replication for rule {} have grown for {} minutes (docs/monitoring.md).", rule.id, m.pending_growth_minutes),
                ),
            };
            alarms.push(Alarm {
                name: alarm_name(&spec.name, &rule.id, kind),
                rule_id: rule.id.clone(),
                kind,
                metric: kind.metric(),
                statistic,
                threshold,
                periods,
                expression,
                description,
            });
        }
    }
    Some(Monitoring {
        account: source.account.clone(),
        region: source.region.clone(),
        bucket: source.bucket.clone(),
        bucket_arn: source.bucket_arn.clone(),
        destination_bucket: spec.destination.bucket.clone(),
        topic: Topic {
            arn: topic_arn,
            name: topic_name,
            policy: topic_policy,
            created,
        },
        alarms,
        rules: spec
            .replication
            .rules
            .iter()
            .map(|r| r.id.clone())
            .collect(),
        latency_seconds: m.latency_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(monitoring: &str) -> Spec {
        let text = format!(
            "{}{monitoring}",
            include_str!("../../fixtures/specs/example.yaml")
                .split("monitoring:")
                .next()
                .unwrap()
        );
        crate::spec::parse_str("spec.yaml", &text)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .0
    }

    #[test]
    fn an_existing_topic_gets_statements_and_no_key() {
        let spec = spec("monitoring:\n  notify:\n    topic_arn: arn:aws:sns:ap-southeast-2:111111111111:ops\n  latency_seconds: 120\n");
        let desired = crate::model::build(&spec);
        let m = desired.monitoring.as_ref().unwrap();
        assert_eq!(m.topic.arn, "arn:aws:sns:ap-southeast-2:111111111111:ops");
        assert_eq!(m.topic.name, "ops");
        assert!(m.topic.created.is_none());
        let policy = m.topic.policy.to_json().to_string();
        assert!(
            policy.contains("arn:aws:s3:::annalise-ai-datalake"),
            "{policy}"
        );
        // The example's only rule has RTC: its latency threshold is RTC's, not 120 s.
        let latency = m
            .alarms
            .iter()
            .find(|a| a.kind == AlarmKind::Latency)
            .unwrap();
        assert_eq!(latency.threshold, 900.0);
        assert_eq!(latency.name, "s3bridge-datalake-landing-scans-latency");
        let files = crate::render::generate(&desired, &Default::default());
        let tf = &files["monitoring.tf"];
        assert!(tf.contains("create_topic       = false"), "{tf}");
        assert!(!tf.contains("kms_key_policy"), "{tf}");
        assert!(files["README.md"].contains("Statements the existing topic needs"));
    }

    #[test]
    fn a_topic_elsewhere_or_both_choices_are_refused() {
        let base = include_str!("../../fixtures/specs/example.yaml")
            .split("monitoring:")
            .next()
            .unwrap()
            .to_string();
        for (monitoring, expected) in [
            (
                "monitoring:\n  notify:\n    topic_arn: arn:aws:sns:us-east-1:111111111111:ops\n",
                "monitoring.notify.topic_arn",
            ),
            (
                "monitoring:\n  notify:\n    topic_arn: arn:aws:sns:ap-southeast-2:111111111111:ops\n    create: {}\n",
                "monitoring.notify",
            ),
            (
                "monitoring:\n  notify:\n    create:\n      email: [not-an-address]\n",
                "monitoring.notify.create.email[0]",
            ),
            (
                "monitoring:\n  notify:\n    create: {}\n  pending_growth_minutes: 7\n",
                "monitoring.pending_growth_minutes",
            ),
        ] {
            let error = crate::spec::parse_str("spec.yaml", &format!("{base}{monitoring}"))
                .expect_err(monitoring);
            assert!(
                error.diagnostics.iter().any(|d| d.field == expected && d.line > 40),
                "{monitoring}: {error:?}"
            );
        }
    }
}
