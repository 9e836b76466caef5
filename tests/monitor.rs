//! Replication health on moto: `s3bridge status` turns the replication metrics the test
//! writes with PutMetricData (moto never emits S3 replication metrics itself), the
//! alarms' states and the Batch Operations jobs into a verdict — healthy 0, degraded 1,
//! broken 2 — with the JSON a pipeline reads.
//!
//! The alarms are created here with PutMetricAlarm, exactly as the model names them
//! (`s3bridge::model::monitoring`), so that the verdict, not Terraform, is under test;
//! ListJobs goes to the S3 Control stand-in (moto has no S3 Control jobs), which passes
//! CloudWatch and STS on to moto.

mod support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, MetricDatum, StateValue, Statistic,
};
use aws_smithy_types::DateTime;
use s3bridge::model::monitoring::Monitoring;
use serde_json::Value;
use support::moto::Moto;
use support::s3control_stub::{Outcome, S3ControlStub};
use support::{fixture, stderr, stdout, SOURCE_ACCOUNT};

fn monitoring() -> (s3bridge::spec::Spec, Monitoring) {
    let spec = s3bridge::spec::load(&fixture("specs/example.yaml"))
        .unwrap()
        .spec;
    let desired = s3bridge::model::build(&spec);
    let monitoring = desired.monitoring.expect("the example spec has monitoring");
    (spec, monitoring)
}

/// Creates every alarm the model asks for, as the bundle would.
async fn create_alarms(client: &aws_sdk_cloudwatch::Client, m: &Monitoring) {
    for alarm in &m.alarms {
        client
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .namespace("AWS/S3")
            .metric_name(alarm.metric)
            .statistic(Statistic::from(alarm.statistic))
            .period(300)
            .evaluation_periods(alarm.periods as i32)
            .threshold(alarm.threshold)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .alarm_actions(&m.topic.arn)
            .send()
            .await
            .unwrap();
    }
}

async fn put(client: &aws_sdk_cloudwatch::Client, m: &Monitoring, metric: &str, value: f64) {
    let dimensions = [
        ("SourceBucket", m.bucket.as_str()),
        ("DestinationBucket", m.destination_bucket.as_str()),
        ("RuleId", "scans"),
    ]
    .map(|(name, value)| Dimension::builder().name(name).value(value).build());
    client
        .put_metric_data()
        .namespace("AWS/S3")
        .metric_data(
            MetricDatum::builder()
                .metric_name(metric)
                .set_dimensions(Some(dimensions.to_vec()))
                .timestamp(DateTime::from(SystemTime::now() - Duration::from_secs(600)))
                .value(value)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Runs `status --format json` in the source account; (exit code, health).
fn status(dir: &Path, endpoint: &str) -> (i32, Value) {
    let spec = fixture("specs/example.yaml");
    let envs = support::acting_in(dir, SOURCE_ACCOUNT, endpoint);
    let out = support::s3bridge_with(
        &[
            "status",
            spec.to_str().unwrap(),
            "--endpoint-url",
            endpoint,
            "--format",
            "json",
        ],
        &envs,
    );
    let code = out.status.code().unwrap();
    let health = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (code, health)
}

fn reasons(health: &Value) -> Vec<String> {
    health["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_turns_metrics_alarms_and_jobs_into_a_verdict() {
    let moto = Moto::start();
    let stub = S3ControlStub::start(
        Some(&moto.endpoint),
        &[],
        Outcome {
            total: 0,
            failed: 0,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let (spec, m) = monitoring();
    let cloudwatch = moto.session(SOURCE_ACCOUNT).await.cloudwatch();
    create_alarms(&cloudwatch, &m).await;

    // Healthy: replication keeps up, nothing failed, nothing pending.
    put(&cloudwatch, &m, "ReplicationLatency", 42.0).await;
    put(&cloudwatch, &m, "OperationsFailedReplication", 0.0).await;
    put(&cloudwatch, &m, "OperationsPendingReplication", 3.0).await;
    let (code, health) = status(dir.path(), &stub.endpoint);
    assert_eq!(code, 0, "{health:#}");
    assert_eq!(health["verdict"], "healthy");
    assert_eq!(health["rules"][0]["id"], "scans");
    assert_eq!(health["rules"][0]["last_hour"]["max_latency_seconds"], 42.0);
    assert_eq!(health["rules"][0]["last_day"]["pending_operations"], 3.0);
    assert_eq!(health["alarms"].as_array().unwrap().len(), 3);
    assert!(health["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["state"] != "MISSING"));

    // Degraded: latency above the rule's threshold (RTC: 15 minutes).
    put(&cloudwatch, &m, "ReplicationLatency", 1250.0).await;
    let (code, health) = status(dir.path(), &stub.endpoint);
    assert_eq!(code, 1, "{health:#}");
    assert_eq!(health["verdict"], "degraded");
    let why = reasons(&health);
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(
        why[0].contains("latency reached 1250 s") && why[0].contains("threshold 900 s"),
        "{why:?}"
    );

    // Broken: operations failed to replicate in the last hour.
    put(&cloudwatch, &m, "OperationsFailedReplication", 4.0).await;
    let (code, health) = status(dir.path(), &stub.endpoint);
    assert_eq!(code, 2, "{health:#}");
    assert_eq!(health["verdict"], "broken");
    assert!(
        reasons(&health)[0]
            .contains("rule scans: 4 operations failed to replicate in the last hour"),
        "{health:#}"
    );

    // The failed-operations alarm firing is broken on its own (metrics gone: reset; the
    // reset also forgets the assumed-role session, hence a new one).
    moto.reset();
    let cloudwatch = moto.session(SOURCE_ACCOUNT).await.cloudwatch();
    create_alarms(&cloudwatch, &m).await;
    let failed_alarm = &m.alarms[0];
    cloudwatch
        .set_alarm_state()
        .alarm_name(&failed_alarm.name)
        .state_value(StateValue::Alarm)
        .state_reason("test: threshold crossed")
        .send()
        .await
        .unwrap();
    let (code, health) = status(dir.path(), &stub.endpoint);
    assert_eq!(code, 2, "{health:#}");
    assert_eq!(
        reasons(&health),
        [format!("alarm {} is firing", failed_alarm.name)]
    );

    // A stuck Batch Replication job, and a deleted alarm: degraded.
    moto.reset();
    let cloudwatch = moto.session(SOURCE_ACCOUNT).await.cloudwatch();
    create_alarms(&cloudwatch, &m).await;
    cloudwatch
        .delete_alarms()
        .alarm_names(&m.alarms[1].name)
        .send()
        .await
        .unwrap();
    stub.add_listed_job(
        "5e5e5e5e-0000-4000-8000-000000000001",
        &format!("s3bridge {}: replicate existing objects", spec.name),
        "Suspended",
    );
    let (code, health) = status(dir.path(), &stub.endpoint);
    assert_eq!(code, 1, "{health:#}");
    let why = reasons(&health);
    assert!(
        why.iter()
            .any(|r| r.contains(&m.alarms[1].name) && r.contains("does not exist")),
        "{why:?}"
    );
    assert!(
        why.iter()
            .any(|r| r.contains("5e5e5e5e") && r.contains("Suspended")),
        "{why:?}"
    );
    assert_eq!(why.len(), 2, "{why:?}");
}

/// `audit --format json`'s findings of one property, by id.
fn monitoring_findings(endpoint: &str) -> (i32, Vec<String>) {
    let spec = fixture("specs/example.yaml");
    let out = support::s3bridge(&[
        "audit",
        spec.to_str().unwrap(),
        "--endpoint-url",
        endpoint,
        "--format",
        "json",
    ]);
    let code = out.status.code().unwrap();
    let report: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    let ids = report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"))
        .iter()
        .filter(|f| f["property"] == "monitoring")
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    (code, ids)
}

/// Audit reads the monitoring back: with every alarm notifying the topic and the
/// source bucket's replication events sent there, no monitoring finding; a deleted alarm
/// and a removed notification configuration are each named. (Only the source bucket and
/// the monitoring exist here, so other properties have findings: not under test.)
#[tokio::test(flavor = "multi_thread")]
async fn audit_finds_a_deleted_alarm_and_a_removed_notification() {
    use aws_sdk_s3::types::{Event, NotificationConfiguration, TopicConfiguration};
    let moto = Moto::start();
    let (_, m) = monitoring();
    let source = moto.session(SOURCE_ACCOUNT).await;
    let s3 = source.s3();
    s3.create_bucket()
        .bucket(&m.bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    support::REGION,
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cloudwatch = source.cloudwatch();
    create_alarms(&cloudwatch, &m).await;
    let wired = NotificationConfiguration::builder()
        .topic_configurations(
            TopicConfiguration::builder()
                .id("s3bridge-replication-events")
                .topic_arn(&m.topic.arn)
                .set_events(Some(
                    s3bridge::model::monitoring::REPLICATION_EVENTS
                        .iter()
                        .map(|e| Event::from(*e))
                        .collect(),
                ))
                .build()
                .unwrap(),
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket(&m.bucket)
        .notification_configuration(wired)
        .send()
        .await
        .unwrap();
    let (code, ids) = monitoring_findings(&moto.endpoint);
    assert_eq!(code, 1, "other properties have findings here");
    assert!(ids.is_empty(), "{ids:?}");

    let deleted = &m.alarms[2].name;
    cloudwatch
        .delete_alarms()
        .alarm_names(deleted)
        .send()
        .await
        .unwrap();
    s3.put_bucket_notification_configuration()
        .bucket(&m.bucket)
        .notification_configuration(NotificationConfiguration::builder().build())
        .send()
        .await
        .unwrap();
    let (_, ids) = monitoring_findings(&moto.endpoint);
    assert_eq!(
        ids,
        [
            format!("monitoring/alarm-missing/{deleted}"),
            format!("monitoring/events-not-notified/{}", m.bucket),
        ]
    );
}
