//! `s3bridge audit` on a two-account moto. The fixture bundle is generated and applied
//! once (~75 s); then, one property at a time, a drift is injected through the SDK, the
//! audit must name it (property, resource, severity, exit 1, a diff showing the injected
//! statement for policies), and the drift is undone so the next step starts clean.
//! The output formats are checked on a drifted state (SARIF against the official 2.1.0
//! schema, JUnit parsed back), and last, with moto enforcing IAM, audit runs through
//! profiles as a role holding exactly `s3bridge policies --auditor`, listed in the spec's
//! `auditors:` (the key policy names it, as AWS requires; the independent IAM evaluator
//! decides the key-policy half moto ignores, and refuses an unlisted role): it succeeds,
//! and with one read action removed it exits 2 naming that action.
//!
//! moto gaps are covered in tests/support/moto_server.py (bucket-policy conditions,
//! S3 Batch Operations jobs, replication status, IAM action names), never in s3bridge.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use aws_sdk_s3::types::{
    BucketVersioningStatus, ObjectOwnership, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    StorageClass, VersioningConfiguration,
};
use s3bridge::aws::Session;
use s3bridge::model::{Desired, RolePurpose};
use s3bridge::spec::Side;
use serde_json::{json, Value};
use support::{bundle, fixture, moto::Moto, python, stderr, stdout};
use support::{DESTINATION_ACCOUNT, SOURCE_ACCOUNT};

/// Everything the steps share: the applied bundle's spec and model, admin sessions.
struct World {
    moto: Moto,
    spec_path: String,
    desired: Desired,
    source: Session,
    destination: Session,
}

impl World {
    fn side(&self, side: Side) -> &Session {
        match side {
            Side::Source => &self.source,
            Side::Destination => &self.destination,
        }
    }

    fn bucket(&self, side: Side) -> (&str, &str) {
        let b = self.desired.bucket(side);
        (&b.name, &b.arn)
    }

    fn role(&self, purpose: RolePurpose) -> &s3bridge::model::Role {
        self.desired.role(purpose).expect("role in the model")
    }

    /// Runs `s3bridge audit SPEC --endpoint-url MOTO ARGS`.
    fn audit(&self, args: &[&str]) -> Output {
        let mut all = vec![
            "audit",
            &self.spec_path,
            "--endpoint-url",
            &self.moto.endpoint,
        ];
        all.extend_from_slice(args);
        support::s3bridge(&all)
    }

    /// The JSON report and the exit code.
    fn audit_json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let output = self.audit(&all);
        let code = output.status.code().unwrap_or(-1);
        let report: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| {
            panic!(
                "audit printed no JSON ({e}), exit {code}:\n{}\n{}",
                stdout(&output),
                stderr(&output)
            )
        });
        (code, report)
    }

    /// Audits, expects exit 1 and findings only of `property`, all on `resource`.
    fn expect_drift(&self, property: &str, resource: &str) -> Vec<Value> {
        self.expect_drift_with(&[], property, resource)
    }

    /// `expect_drift` for an audit run with `args` (e.g. `--object-status`).
    fn expect_drift_with(&self, args: &[&str], property: &str, resource: &str) -> Vec<Value> {
        let (code, report) = self.audit_json(args);
        let findings = report["findings"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            code, 1,
            "a {property} drift must fail the audit:\n{report:#}"
        );
        assert!(!findings.is_empty(), "no finding for {property}");
        for f in &findings {
            assert_eq!(f["property"], property, "unexpected finding:\n{f:#}");
            assert_eq!(f["resource"], resource, "wrong resource:\n{f:#}");
            for field in [
                "id",
                "severity",
                "expected",
                "actual",
                "message",
                "remediation",
            ] {
                assert!(
                    f[field].as_str().is_some_and(|v| !v.is_empty()),
                    "{field} is empty:\n{f:#}"
                );
            }
        }
        findings
    }

    fn expect_clean(&self, after: &str) {
        self.expect_clean_with(&[], after)
    }

    fn expect_clean_with(&self, args: &[&str], after: &str) {
        let (code, report) = self.audit_json(args);
        assert_eq!(
            (code, report["findings"].as_array().map(Vec::len)),
            (0, Some(0)),
            "after {after}, the audit must be clean again:\n{report:#}"
        );
    }
}

fn with_id<'a>(findings: &'a [Value], id: &str) -> &'a Value {
    findings
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no finding {id} in:\n{:#}", json!(findings)))
}

/// The lines a diff adds (without the `+++` header).
fn added(diff: &Value) -> String {
    diff.as_str()
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn removed(diff: &Value) -> String {
    diff.as_str()
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn key_arn(world: &World, side: Side) -> String {
    let alias = &world.desired.key(side).expect("created key").alias;
    world
        .side(side)
        .kms()
        .describe_key()
        .key_id(alias)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap()
}

/// Puts a source object, optionally with the replication status moto cannot produce
/// (`x-amz-replication-status`) or a Batch Operations task failure the harness should
/// report for it (`x-amz-s3bridge-batch-failure`): test-only headers moto_server.py keeps.
async fn put_source(
    world: &World,
    key: &str,
    status: Option<&'static str>,
    fail: Option<&'static str>,
) {
    let (bucket, _) = world.bucket(Side::Source);
    world
        .source
        .s3()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(b"scan".to_vec().into())
        .customize()
        .mutate_request(move |request| {
            if let Some(status) = status {
                request
                    .headers_mut()
                    .insert("x-amz-replication-status", status);
            }
            if let Some(fail) = fail {
                request
                    .headers_mut()
                    .insert("x-amz-s3bridge-batch-failure", fail);
            }
        })
        .send()
        .await
        .unwrap();
}

/// `s3bridge replicate-existing SPEC --wait` in the source account, through a profile
/// (the job and its report belong to that account).
fn replicate_existing(world: &World, scratch: &Path, attempt: &str) -> (i32, Value) {
    let config = scratch.join("operator-config");
    std::fs::write(
        &config,
        format!(
            "[profile operator]\nrole_arn = arn:aws:iam::{SOURCE_ACCOUNT}:role/operator\ncredential_source = Environment\nregion = {}\n",
            support::REGION
        ),
    )
    .unwrap();
    let output = support::isolated_command(
        &[
            "replicate-existing",
            &world.spec_path,
            "--endpoint-url",
            &world.moto.endpoint,
            "--source-profile",
            "operator",
            "--attempt",
            attempt,
            "--wait",
            "--poll-interval",
            "0.05",
            "--format",
            "json",
        ],
        &[
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_ENDPOINT_URL", world.moto.endpoint.as_str()),
        ],
    )
    .output()
    .unwrap();
    let code = output.status.code().unwrap_or(-1);
    let result = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| {
        panic!(
            "replicate-existing printed no JSON ({e}), exit {code}:\n{}",
            stderr(&output)
        )
    });
    (code, result)
}

/// Whether objects predate the rules is read from their replication status: HeadObject,
/// which audit makes only with `--object-status` (without it, only an empty bucket is known
/// to need no job).
const OBJECT_STATUS: &[&str] = &["--object-status"];

/// Objects older than the replication rules need a Batch Replication job; objects
/// written under the rules do not. The existing source bucket holds one object from
/// before the apply: reported until a job replicated it. Then each end of a job: one
/// that failed (its manifest unreadable), one that failed some objects (the `--wait`
/// summary names them), and one that replicated everything.
async fn existing_objects(world: &World, scratch: &Path) {
    let (bucket, arn) = world.bucket(Side::Source);
    let not_replicated = format!("replication/existing-objects-not-replicated/{bucket}");
    let findings = world.expect_drift_with(OBJECT_STATUS, "replication", arn);
    // That object also predates the bucket's key (SSE-S3, as AWS gives every bucket):
    // the HEAD sample names it for `s3bridge reencrypt`.
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let outside = with_id(
        &findings,
        &format!("replication/objects-not-under-key/{bucket}"),
    );
    assert!(
        outside["actual"]
            .as_str()
            .unwrap()
            .contains("scans/existing-before-import.dcm (AES256)"),
        "{outside:#}"
    );
    let f = with_id(&findings, &not_replicated);
    assert_eq!(f["severity"], "medium");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("scans/existing-before-import.dcm"),
        "{f:#}"
    );
    assert!(f["remediation"]
        .as_str()
        .unwrap()
        .starts_with("`s3bridge replicate-existing SPEC --wait`"));

    // Without that object, nothing predates the rules: clean, as right after an apply on
    // new buckets; an object written under the rules (it has a status) changes nothing.
    let s3 = world.source.s3();
    let delete = |key: &'static str| s3.delete_object().bucket(bucket).key(key).send();
    delete("scans/existing-before-import.dcm").await.unwrap();
    world.expect_clean_with(
        OBJECT_STATUS,
        "the only object older than the rules is gone",
    );
    put_source(world, "scans/new.dcm", Some("COMPLETED"), None).await;
    world.expect_clean_with(OBJECT_STATUS, "an object written under the rules");
    // An object without a status stands for one from before the rules: it must be the
    // oldest (on S3 every object written after it under the rules gets a status).
    delete("scans/new.dcm").await.unwrap();
    put_source(world, "scans/old.dcm", None, None).await;
    put_source(world, "scans/new.dcm", Some("COMPLETED"), None).await;
    let findings = world.expect_drift_with(OBJECT_STATUS, "replication", arn);
    assert!(with_id(&findings, &not_replicated)["message"]
        .as_str()
        .unwrap()
        .contains("scans/old.dcm"));

    // A job that fails as a whole: its manifest cannot be read.
    let batch = world
        .desired
        .batch
        .as_ref()
        .expect("existing_objects: true");
    let mut request = s3bridge::batch::job::replicate_existing(&world.desired, 9).unwrap();
    request.manifest_generator = None;
    request.manifest = Some(s3bridge::batch::job::Manifest {
        spec: s3bridge::batch::job::ManifestSpec {
            format: "S3BatchOperations_CSV_20180820".into(),
            fields: vec!["Bucket".into(), "Key".into()],
        },
        location: s3bridge::batch::job::ManifestLocation {
            object_arn: format!("{arn}/{}manifests/missing.csv", batch.prefix),
            object_version_id: None,
            etag: "0123456789abcdef0123456789abcdef".into(),
        },
    });
    request.seal(s3bridge::batch::job::JobPurpose::ReplicateExisting, 9);
    request
        .to_sdk(&world.source.s3control())
        .unwrap()
        .send()
        .await
        .expect("CreateJob is accepted; the job fails when it reads the manifest");
    let findings = world.expect_drift_with(OBJECT_STATUS, "replication", arn);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = with_id(
        &findings,
        &format!("replication/existing-objects-job-failed/{bucket}"),
    );
    assert!(f["actual"].as_str().unwrap().contains("Failed"), "{f:#}");

    // A job run by `replicate-existing --wait` that fails one object: exit 1, the
    // summary names it; the audit reports the failed job and the object's FAILED status.
    put_source(
        world,
        "scans/broken.dcm",
        None,
        Some("DstPutObjectNotPermitted"),
    )
    .await;
    let (code, result) = replicate_existing(world, scratch, "1");
    assert_eq!(code, 1, "{result:#}");
    assert_eq!(result["job"]["status"], "Complete", "{result:#}");
    assert_eq!(
        (&result["job"]["total"], &result["job"]["failed"]),
        (&json!(2), &json!(1)),
        "{result:#}"
    );
    let reasons = &result["report"]["failures"]["reasons"];
    assert_eq!(
        reasons[0]["reason"], "DstPutObjectNotPermitted",
        "{result:#}"
    );
    assert_eq!(reasons[0]["examples"], json!(["scans/broken.dcm"]));
    let findings = world.expect_drift_with(OBJECT_STATUS, "replication", arn);
    let f = with_id(
        &findings,
        &format!("replication/existing-objects-failed/{bucket}"),
    );
    assert!(
        f["remediation"]
            .as_str()
            .unwrap()
            .contains("--attempt 3 --wait"),
        "{f:#}"
    );
    with_id(&findings, &format!("replication/objects-failed/{bucket}"));

    // The cause fixed (the object written again), a new attempt replicates it: clean.
    put_source(world, "scans/broken.dcm", None, None).await;
    let (code, result) = replicate_existing(world, scratch, "2");
    assert_eq!(code, 0, "{result:#}");
    assert_eq!(
        (&result["job"]["total"], &result["job"]["failed"]),
        (&json!(1), &json!(0)),
        "{result:#}"
    );
}

/// Clean: exit 0, zero findings, in every format's verdict.
fn clean_audit(world: &World) {
    let (code, report) = world.audit_json(&[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["findings"], json!([]), "{report:#}");
    let summary = &report["summary"];
    assert!(summary["checks"].as_u64().unwrap() >= 20, "{summary:#}");
    assert_eq!(summary["failed"], false);
    assert!(
        summary["calls"]["count"].as_u64().unwrap() > 20,
        "{summary:#}"
    );
    let text = world.audit(&[]);
    assert_eq!(text.status.code(), Some(0));
    assert!(
        stdout(&text).contains("verdict: CLEAN"),
        "{}",
        stdout(&text)
    );
}

async fn versioning(world: &World) {
    let (bucket, arn) = world.bucket(Side::Destination);
    let s3 = world.destination.s3();
    let set = |status: BucketVersioningStatus| {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
    };
    set(BucketVersioningStatus::Suspended).await.unwrap();
    let findings = world.expect_drift("versioning", arn);
    let f = with_id(&findings, &format!("versioning/not-enabled/{bucket}"));
    assert_eq!(
        (&f["severity"], &f["actual"]),
        (&json!("high"), &json!("Suspended"))
    );
    set(BucketVersioningStatus::Enabled).await.unwrap();
}

async fn encryption(world: &World) {
    let (bucket, arn) = world.bucket(Side::Source);
    let s3 = world.source.s3();
    let key = key_arn(world, Side::Source).await;
    let alias = world.desired.key(Side::Source).unwrap().alias.clone();
    let set_with = |algorithm: ServerSideEncryption, key: Option<String>, bucket_key: bool| {
        s3.put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(
                                ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(algorithm)
                                    .set_kms_master_key_id(key)
                                    .build()
                                    .unwrap(),
                            )
                            .bucket_key_enabled(bucket_key)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let set = |algorithm, key| set_with(algorithm, key, true);
    set(ServerSideEncryption::AwsKms, Some(alias))
        .await
        .unwrap();
    let findings = world.expect_drift("encryption", arn);
    assert_eq!(
        with_id(&findings, &format!("encryption/alias/{bucket}"))["severity"],
        "medium"
    );

    set(ServerSideEncryption::Aes256, None).await.unwrap();
    let findings = world.expect_drift("encryption", arn);
    assert_eq!(
        with_id(&findings, &format!("encryption/not-kms/{bucket}"))["severity"],
        "high"
    );

    // SSE-KMS with the AWS managed key (no key named).
    set(ServerSideEncryption::AwsKms, None).await.unwrap();
    let findings = world.expect_drift("encryption", arn);
    assert_eq!(
        with_id(&findings, &format!("encryption/aws-managed-key/{bucket}"))["severity"],
        "high"
    );

    set_with(ServerSideEncryption::AwsKms, Some(key.clone()), false)
        .await
        .unwrap();
    let findings = world.expect_drift("encryption", arn);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(
        with_id(&findings, &format!("encryption/bucket-key-off/{bucket}"))["severity"],
        "low"
    );

    set(ServerSideEncryption::AwsKms, Some(key)).await.unwrap();
}

async fn kms_rotation(world: &World) {
    let key = key_arn(world, Side::Destination).await;
    let kms = world.destination.kms();
    kms.disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let findings = world.expect_drift("kms_rotation", &key);
    let alias = world
        .desired
        .key(Side::Destination)
        .unwrap()
        .alias
        .trim_start_matches("alias/");
    assert_eq!(
        with_id(&findings, &format!("kms_rotation/rotation-off/{alias}"))["severity"],
        "medium"
    );
    kms.enable_key_rotation().key_id(&key).send().await.unwrap();
}

async fn key_policy(world: &World) {
    let key = key_arn(world, Side::Source).await;
    let kms = world.source.kms();
    let original = kms
        .get_key_policy()
        .key_id(&key)
        .policy_name("default")
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let mut widened: Value = serde_json::from_str(&original).unwrap();
    widened["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "Backdoor", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "kms:*", "Resource": "*"
    }));
    kms.put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(widened.to_string())
        .send()
        .await
        .unwrap();
    let findings = world.expect_drift("key_policy", &key);
    let alias = world
        .desired
        .key(Side::Source)
        .unwrap()
        .alias
        .trim_start_matches("alias/");
    for code in ["kms-star", "extra-principal"] {
        let f = with_id(&findings, &format!("key_policy/{code}/{alias}"));
        assert_eq!(f["severity"], "high");
        let added = added(&f["diff"]);
        assert!(
            added.contains("Backdoor") && added.contains("arn:aws:iam::999999999999:root"),
            "{added}"
        );
    }
    // An administrator granted use of the key, and a statement open to anyone.
    let admin = admin_arn(world);
    let mut opened: Value = serde_json::from_str(&original).unwrap();
    opened["Statement"].as_array_mut().unwrap().extend([
        json!({"Sid": "AdminReads", "Effect": "Allow", "Principal": {"AWS": admin},
               "Action": "kms:Decrypt", "Resource": "*"}),
        json!({"Sid": "Anyone", "Effect": "Allow", "Principal": "*",
               "Action": "kms:DescribeKey", "Resource": "*"}),
    ]);
    kms.put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(opened.to_string())
        .send()
        .await
        .unwrap();
    let findings = world.expect_drift("key_policy", &key);
    let f = with_id(&findings, &format!("key_policy/admin-can-use/{alias}"));
    assert!(
        f["actual"].as_str().unwrap().contains("kms:Decrypt"),
        "{f:#}"
    );
    let f = with_id(&findings, &format!("key_policy/wildcard-principal/{alias}"));
    assert_eq!(f["severity"], "high");
    kms.put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(original)
        .send()
        .await
        .unwrap();
}

/// A key administrator of the source key, as the spec names it.
fn admin_arn(world: &World) -> String {
    let spec = s3bridge::spec::load(Path::new(&world.spec_path))
        .unwrap()
        .spec;
    spec.source.kms_admins[0].clone()
}

async fn bucket_policy(world: &World) {
    let (bucket, arn) = world.bucket(Side::Destination);
    let s3 = world.destination.s3();
    let original = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let mut changed: Value = serde_json::from_str(&original).unwrap();
    let statements = changed["Statement"].as_array_mut().unwrap();
    statements.retain(|s| s["Sid"] != "DenyInsecureTransport");
    statements.push(json!({
        "Sid": "OutsiderRead", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [arn, format!("{arn}/*")]
    }));
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(changed.to_string())
        .send()
        .await
        .unwrap();
    let findings = world.expect_drift("bucket_policy", arn);
    let tls = with_id(
        &findings,
        &format!("bucket_policy/missing-deny-insecure-transport/{bucket}"),
    );
    assert_eq!(tls["severity"], "high");
    assert!(
        removed(&tls["diff"]).contains("DenyInsecureTransport"),
        "{}",
        tls["diff"]
    );
    let excess = with_id(&findings, &format!("bucket_policy/excess/{bucket}"));
    assert_eq!(excess["severity"], "high");
    assert!(excess["message"]
        .as_str()
        .unwrap()
        .contains("arn:aws:iam::999999999999:root"));
    assert!(
        added(&excess["diff"]).contains("OutsiderRead"),
        "{}",
        excess["diff"]
    );
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(original)
        .send()
        .await
        .unwrap();
}

async fn public_access_block(world: &World) {
    let (bucket, arn) = world.bucket(Side::Source);
    let s3 = world.source.s3();
    let set = |on: bool| {
        s3.put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(on)
                    .restrict_public_buckets(on)
                    .build(),
            )
            .send()
    };
    set(false).await.unwrap();
    let findings = world.expect_drift("public_access_block", arn);
    let f = with_id(&findings, &format!("public_access_block/off/{bucket}"));
    assert_eq!(f["actual"], "off: BlockPublicPolicy, RestrictPublicBuckets");
    set(true).await.unwrap();
}

async fn set_ownership(world: &World, ownership: ObjectOwnership) {
    let (bucket, _) = world.bucket(Side::Destination);
    support::set_ownership(&world.destination.s3(), bucket, ownership).await;
}

async fn ownership(world: &World) {
    let (bucket, arn) = world.bucket(Side::Destination);
    set_ownership(world, ObjectOwnership::ObjectWriter).await;
    let findings = world.expect_drift("ownership", arn);
    let f = with_id(&findings, &format!("ownership/acls-enabled/{bucket}"));
    assert_eq!(
        (&f["severity"], &f["actual"]),
        (&json!("medium"), &json!("ObjectWriter"))
    );
    set_ownership(world, ObjectOwnership::BucketOwnerEnforced).await;
}

async fn role_trust(world: &World) {
    let role = world.role(RolePurpose::Copy);
    let iam = world.side(role.side).iam();
    let mut widened = role.trust.to_json();
    widened["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "Outsider", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "sts:AssumeRole"
    }));
    let update = |document: String| {
        iam.update_assume_role_policy()
            .role_name(&role.name)
            .policy_document(document)
            .send()
    };
    update(widened.to_string()).await.unwrap();
    let findings = world.expect_drift("role_trust", &role.arn);
    let f = with_id(&findings, &format!("role_trust/excess/{}", role.name));
    assert_eq!(f["severity"], "high");
    assert!(added(&f["diff"]).contains("Outsider"), "{}", f["diff"]);
    update(role.trust.to_json().to_string()).await.unwrap();
}

async fn role_policy(world: &World) {
    // An inline policy added beside the spec's: s3:* on everything.
    let role = world.role(RolePurpose::Replication(Side::Source));
    let iam = world.side(role.side).iam();
    iam.put_role_policy()
        .role_name(&role.name)
        .policy_name("creep")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Creep", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
            ]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let findings = world.expect_drift("role_policy", &role.arn);
    let f = with_id(&findings, &format!("role_policy/excess/{}", role.name));
    assert_eq!(f["severity"], "high");
    assert!(
        f["actual"].as_str().unwrap().contains("s3:* (all "),
        "{f:#}"
    );
    let creep = added(&f["diff"]);
    assert!(
        creep.contains("\"Creep\"") && creep.contains("\"s3:*\""),
        "{creep}"
    );
    iam.delete_role_policy()
        .role_name(&role.name)
        .policy_name("creep")
        .send()
        .await
        .unwrap();

    // The spec's own policy, narrowed: replication of deletes breaks.
    let (policy, document) = &role.policies[0];
    let mut narrowed = document.to_json_with(&|t| t.as_str().to_string());
    let source_key = key_arn(world, Side::Source).await;
    let destination_key = key_arn(world, Side::Destination).await;
    let resolved = |text: String| {
        text.replace(world.desired.bucket(Side::Source).key.as_str(), &source_key)
            .replace(
                world.desired.bucket(Side::Destination).key.as_str(),
                &destination_key,
            )
    };
    for s in narrowed["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = s["Action"].as_array_mut() {
            actions.retain(|a| a != "s3:ReplicateDelete");
        }
    }
    let put = |text: String| {
        iam.put_role_policy()
            .role_name(&role.name)
            .policy_name(policy)
            .policy_document(text)
            .send()
    };
    put(resolved(narrowed.to_string())).await.unwrap();
    let findings = world.expect_drift("role_policy", &role.arn);
    let f = with_id(&findings, &format!("role_policy/lost/{}", role.name));
    assert_eq!(f["severity"], "medium");
    assert!(
        f["expected"]
            .as_str()
            .unwrap()
            .contains("s3:ReplicateDelete"),
        "{f:#}"
    );
    assert!(
        removed(&f["diff"]).contains("s3:ReplicateDelete"),
        "{}",
        f["diff"]
    );
    put(resolved(document.to_json().to_string())).await.unwrap();

    // An attached managed policy whose default version (v2) widens the copy role.
    let copy = world.role(RolePurpose::Copy);
    let created = iam
        .create_policy()
        .policy_name("audit-test-read")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": world.bucket(Side::Source).1}
            ]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let policy_arn = created.policy.unwrap().arn.unwrap();
    iam.create_policy_version()
        .policy_arn(&policy_arn)
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "ReadEverything", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}
            ]})
            .to_string(),
        )
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name(&copy.name)
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    let findings = world.expect_drift("role_policy", &copy.arn);
    let f = with_id(&findings, &format!("role_policy/excess/{}", copy.name));
    assert!(
        f["message"].as_str().unwrap().contains(&policy_arn),
        "{f:#}"
    );
    assert!(
        added(&f["diff"]).contains("ReadEverything"),
        "{}",
        f["diff"]
    );
    iam.detach_role_policy()
        .role_name(&copy.name)
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
}

async fn replication(world: &World) {
    let (bucket, arn) = world.bucket(Side::Source);
    let s3 = world.source.s3();
    let original = s3
        .get_bucket_replication()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .replication_configuration
        .unwrap();
    let mut changed = original.clone();
    let rules = changed.rules.iter_mut().map(|rule| {
        let mut rule = rule.clone();
        let mut destination = rule.destination.clone().unwrap();
        destination.storage_class = Some(StorageClass::Glacier);
        rule.destination = Some(destination);
        rule
    });
    changed.rules = rules.collect();
    let put = |configuration| {
        s3.put_bucket_replication()
            .bucket(bucket)
            .replication_configuration(configuration)
            .send()
    };
    put(changed).await.unwrap();
    let findings = world.expect_drift("replication", arn);
    let rule = &world.desired.replications[0].rules[0];
    let f = with_id(&findings, &format!("replication/rule-{}/{bucket}", rule.id));
    assert_eq!(f["severity"], "medium");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("destination.storage_class is GLACIER (expected STANDARD_IA)"),
        "{f:#}"
    );
    // A rule removed, and a rule added that sends objects elsewhere.
    let mut removed = original.clone();
    removed.rules.clear();
    let mut other = original.rules[0].clone();
    other.id = Some("side-door".into());
    other.priority = Some(99);
    let mut destination = other.destination.clone().unwrap();
    destination.bucket = "arn:aws:s3:::somewhere-else".into();
    other.destination = Some(destination);
    removed.rules.push(other);
    put(removed).await.unwrap();
    let findings = world.expect_drift("replication", arn);
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let missing = with_id(
        &findings,
        &format!("replication/rule-{}-missing/{bucket}", rule.id),
    );
    assert_eq!(missing["severity"], "high");
    let extra = with_id(
        &findings,
        &format!("replication/rule-side-door-extra/{bucket}"),
    );
    assert!(
        extra["message"]
            .as_str()
            .unwrap()
            .contains("somewhere-else"),
        "{extra:#}"
    );
    put(original).await.unwrap();

    // An object whose replication FAILED (the status moto cannot produce is set by the
    // harness through a test-only header).
    let key = key_arn(world, Side::Source).await;
    s3.put_object()
        .bucket(bucket)
        .key("scans/failed-to-replicate.dcm")
        .body(b"scan".to_vec().into())
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .customize()
        .mutate_request(|request| {
            request
                .headers_mut()
                .insert("x-amz-replication-status", "FAILED");
        })
        .send()
        .await
        .unwrap();
    // Object reads are an explicit option (HEAD needs s3:GetObject, which the default
    // auditor policy leaves out): without it the sample is not read.
    let (code, quiet) = world.audit_json(&[]);
    assert_eq!(code, 0, "{quiet:#}");
    let (code, report) = world.audit_json(&["--object-status"]);
    assert_eq!(code, 1, "{report:#}");
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings.iter().all(|f| f["property"] == "replication"),
        "{report:#}"
    );
    let f = with_id(&findings, &format!("replication/objects-failed/{bucket}"));
    assert!(
        f["actual"]
            .as_str()
            .unwrap()
            .contains("scans/failed-to-replicate.dcm"),
        "{f:#}"
    );
    s3.delete_object()
        .bucket(bucket)
        .key("scans/failed-to-replicate.dcm")
        .send()
        .await
        .unwrap();
}

/// With a medium and a high drift in place: --fail-on, text, SARIF (validated against
/// the official schema) and JUnit (parsed back).
async fn formats(world: &World, scratch: &Path) {
    set_ownership(world, ObjectOwnership::ObjectWriter).await;
    assert_eq!(world.audit(&["--fail-on", "high"]).status.code(), Some(0));
    let medium = world.audit(&["--fail-on", "medium"]);
    assert_eq!(medium.status.code(), Some(1));
    let text = stdout(&medium);
    let (_, destination_arn) = world.bucket(Side::Destination);
    assert!(text.contains(&format!("\n{destination_arn}\n")), "{text}");
    assert!(
        text.contains("verdict: DRIFT: 1 finding (0 high, 1 medium, 0 low)"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");

    let role = world.role(RolePurpose::Copy);
    let iam = world.side(role.side).iam();
    iam.put_role_policy()
        .role_name(&role.name)
        .policy_name("creep")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let (_, report) = world.audit_json(&[]);
    let findings = report["findings"].as_array().unwrap().clone();
    assert_eq!(findings.len(), 2, "{report:#}");

    let sarif = world.audit(&["--format", "sarif"]);
    assert_eq!(sarif.status.code(), Some(1));
    let sarif_path = scratch.join("audit.sarif");
    std::fs::write(&sarif_path, sarif.stdout).unwrap();
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (result, finding) in results.iter().zip(&findings) {
        assert_eq!(
            result["partialFingerprints"]["s3bridgeFindingId/v1"],
            finding["id"]
        );
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                > 1
        );
    }
    let schema = support::fixture("sarif/sarif-schema-2.1.0.json");
    let validated = Command::new(python("judges"))
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             log = json.load(open(sys.argv[2]))\n\
             jsonschema.validators.validator_for(schema)(schema).validate(log)\n\
             print('valid')",
        ])
        .arg(&schema)
        .arg(&sarif_path)
        .output()
        .unwrap();
    assert!(
        validated.status.success() && stdout(&validated).contains("valid"),
        "SARIF does not validate against the 2.1.0 schema:\n{}",
        stderr(&validated)
    );

    let junit = world.audit(&["--format", "junit"]);
    assert_eq!(junit.status.code(), Some(1));
    let junit_path = scratch.join("audit.xml");
    std::fs::write(&junit_path, junit.stdout).unwrap();
    let parsed = Command::new(python("judges"))
        .args([
            "-c",
            "import json, sys, xml.etree.ElementTree as ET\n\
             root = ET.parse(sys.argv[1]).getroot()\n\
             cases = root.findall('.//testcase')\n\
             failed = [c for c in cases if c.find('failure') is not None]\n\
             print(json.dumps({'tests': int(root.get('tests')), 'failures': int(root.get('failures')),\n\
                 'cases': len(cases), 'failed': [[c.get('name'), c.find('failure').get('type'),\n\
                 c.find('failure').text] for c in failed]}))",
        ])
        .arg(&junit_path)
        .output()
        .unwrap();
    assert!(parsed.status.success(), "{}", stderr(&parsed));
    let parsed: Value = serde_json::from_str(&stdout(&parsed)).unwrap();
    assert_eq!(parsed["cases"], report["summary"]["checks"]);
    assert_eq!(parsed["tests"], parsed["cases"]);
    assert_eq!(parsed["failures"], 2);
    let failed = parsed["failed"].as_array().unwrap();
    assert!(failed
        .iter()
        .any(|c| c[0] == format!("ownership {destination_arn}") && c[1] == "medium"));
    assert!(failed
        .iter()
        .any(|c| c[0] == format!("role_policy {}", role.arn)
            && c[2].as_str().unwrap().contains("kms:*")));

    iam.delete_role_policy()
        .role_name(&role.name)
        .policy_name("creep")
        .send()
        .await
        .unwrap();
    set_ownership(world, ObjectOwnership::BucketOwnerEnforced).await;
}

/// The auditor's credentials, through profiles: a user in each account assumes a role that
/// holds `s3bridge policies --auditor` (optionally less one action).
async fn auditor_profiles(
    world: &World,
    scratch: &Path,
    without: Option<&str>,
) -> Vec<(String, String)> {
    let policies = support::s3bridge(&[
        "policies",
        &world.spec_path,
        "--auditor",
        "--format",
        "json",
    ]);
    assert!(policies.status.success(), "{}", stderr(&policies));
    let policies: Value = serde_json::from_str(&stdout(&policies)).unwrap();
    let mut config = String::new();
    let mut credentials = String::new();
    for (side, account) in [
        (Side::Source, SOURCE_ACCOUNT),
        (Side::Destination, DESTINATION_ACCOUNT),
    ] {
        let iam = world.side(side).iam();
        let mut document = policies
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["account"] == account)
            .unwrap()["document"]
            .clone();
        if let Some(action) = without.filter(|_| side == Side::Source) {
            for s in document["Statement"].as_array_mut().unwrap() {
                s["Action"].as_array_mut().unwrap().retain(|a| a != action);
            }
            document["Statement"]
                .as_array_mut()
                .unwrap()
                .retain(|s| !s["Action"].as_array().unwrap().is_empty());
        }
        let role = format!("arn:aws:iam::{account}:role/s3bridge-auditor");
        if iam.get_user().user_name("auditor").send().await.is_err() {
            let user = iam.create_user().user_name("auditor").send().await.unwrap();
            let user_arn = user.user.unwrap().arn;
            iam.put_user_policy()
                .user_name("auditor")
                .policy_name("assume-auditor")
                .policy_document(
                    json!({"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}]})
                    .to_string(),
                )
                .send()
                .await
                .unwrap();
            iam.create_role()
                .role_name("s3bridge-auditor")
                .assume_role_policy_document(
                    json!({"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}]})
                    .to_string(),
                )
                .send()
                .await
                .unwrap();
            let key = iam
                .create_access_key()
                .user_name("auditor")
                .send()
                .await
                .unwrap();
            let key = key.access_key.unwrap();
            credentials.push_str(&format!(
                "[{side}-user]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n",
                key.access_key_id, key.secret_access_key
            ));
        }
        iam.put_role_policy()
            .role_name("s3bridge-auditor")
            .policy_name("audit")
            .policy_document(document.to_string())
            .send()
            .await
            .unwrap();
        config.push_str(&format!(
            "[profile {side}-auditor]\nregion = {region}\nrole_arn = {role}\nsource_profile = {side}-user\nendpoint_url = {endpoint}\n\n\
             [profile {side}-user]\nregion = {region}\nendpoint_url = {endpoint}\n\n",
            region = support::REGION,
            endpoint = world.moto.endpoint,
        ));
    }
    if !credentials.is_empty() {
        std::fs::write(scratch.join("credentials"), credentials).unwrap();
    }
    std::fs::write(scratch.join("config"), config).unwrap();
    vec![
        (
            "AWS_CONFIG_FILE".into(),
            scratch.join("config").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            scratch.join("credentials").display().to_string(),
        ),
    ]
}

/// Runs the audit as the auditor profiles, with moto enforcing IAM.
fn audit_as_auditor(world: &World, env: &[(String, String)]) -> Output {
    world.moto.enforce_iam(true);
    let output = Command::new(env!("CARGO_BIN_EXE_s3bridge"))
        .args([
            "audit",
            &world.spec_path,
            "--endpoint-url",
            &world.moto.endpoint,
            "--source-profile",
            "source-auditor",
            "--destination-profile",
            "destination-auditor",
        ])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    world.moto.enforce_iam(false);
    output
}

/// What AWS answers the auditor role's kms:DescribeKey on the live key of `side`, with the
/// live key policy (read from moto, which does not evaluate it) and the `--auditor`
/// policy, decided by the independent evaluator (tests/support/iam.rs).
/// With `without_recovery`, the live policy's AccountRecovery statement is left out.
async fn kms_decision(world: &World, side: Side, auditor: &str, without_recovery: bool) -> String {
    let key = key_arn(world, side).await;
    let alias = world.desired.key(side).unwrap().alias.clone();
    let policy = world
        .side(side)
        .kms()
        .get_key_policy()
        .key_id(&key)
        .policy_name("default")
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let policies = support::s3bridge(&[
        "policies",
        &world.spec_path,
        "--auditor",
        "--format",
        "json",
    ]);
    let account = key.split(':').nth(4).unwrap().to_string();
    let mut live: Value = serde_json::from_str(&policy).unwrap();
    if without_recovery {
        let statements = live["Statement"].as_array_mut().unwrap();
        let before = statements.len();
        statements.retain(|s| s["Sid"] != "AccountRecovery");
        assert_eq!(
            statements.len(),
            before - 1,
            "the live key policy has AccountRecovery"
        );
    }
    let documents = json!([{"name": "live/key-policy", "kind": "key", "account": account,
        "attached_to": key, "document": live}]);
    let request = json!([{"flow": "audit", "step": "DescribeKey", "principal": auditor,
        "caller": "auditor", "action": "kms:DescribeKey", "resource": key,
        "resource_account": account, "expect": "allow", "source": "",
        "context": {"aws:SecureTransport": "true", "aws:PrincipalArn": auditor,
            "kms:ResourceAliases": alias}}]);
    let decision = support::iam::evaluate(
        &documents,
        &serde_json::from_str(&stdout(&policies)).unwrap(),
        &request,
    );
    decision[0]["decision"].as_str().unwrap().to_string()
}

async fn least_privilege_and_access_denied(world: &World, scratch: &Path) {
    // moto ignores key policies; the evaluator decides the key-policy half on the live
    // key policy. The auditor role is listed under `auditors:` (the key policy names it);
    // another role holding the same IAM policy gets in only through the account-recovery
    // statement (`kms_key_recovery: account`: the account's IAM decides), and without it
    // AWS refuses it (audit would exit 2: kms:DescribeKey denied).
    for (side, account) in [
        (Side::Source, SOURCE_ACCOUNT),
        (Side::Destination, DESTINATION_ACCOUNT),
    ] {
        let listed = format!("arn:aws:iam::{account}:role/s3bridge-auditor");
        let unlisted = format!("arn:aws:iam::{account}:role/another-auditor");
        for without_recovery in [false, true] {
            assert_eq!(
                kms_decision(world, side, &listed, without_recovery).await,
                "Allowed",
                "{side}: the listed auditor"
            );
        }
        assert_eq!(
            kms_decision(world, side, &unlisted, false).await,
            "Allowed",
            "{side}: an unlisted auditor, through account recovery"
        );
        assert!(
            kms_decision(world, side, &unlisted, true)
                .await
                .ends_with("Denied"),
            "{side}: an unlisted auditor without account recovery"
        );
    }
    let env = auditor_profiles(world, scratch, None).await;
    let full = audit_as_auditor(world, &env);
    assert_eq!(
        full.status.code(),
        Some(0),
        "the --auditor policy must be enough to audit:\n{}\n{}",
        stdout(&full),
        stderr(&full)
    );

    let env = auditor_profiles(world, scratch, Some("s3:GetBucketPolicy")).await;
    let denied = audit_as_auditor(world, &env);
    let (bucket, arn) = world.bucket(Side::Source);
    assert_eq!(
        denied.status.code(),
        Some(2),
        "{}\n{}",
        stdout(&denied),
        stderr(&denied)
    );
    let message = stderr(&denied);
    assert!(
        message.contains(&format!("s3:GetBucketPolicy denied on {arn}")),
        "the refusal must name the action and resource:\n{message}"
    );
    assert!(
        message.contains("s3bridge policies SPEC --auditor"),
        "{message}"
    );
    assert!(
        stdout(&denied).is_empty(),
        "no report when the audit could not be made"
    );
    let _ = bucket;
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_names_every_drift() {
    let moto = Moto::start();
    // The example spec with the auditor role of each account listed under `auditors:`, as
    // AWS requires for audit to read the keys s3bridge creates.
    let scratch = tempfile::tempdir().unwrap();
    let spec_path = scratch.path().join("example-with-auditors.yaml");
    std::fs::write(
        &spec_path,
        std::fs::read_to_string(fixture("specs/example.yaml")).unwrap()
            + &format!(
                "auditors:\n  - arn:aws:iam::{SOURCE_ACCOUNT}:role/s3bridge-auditor\n  \
                 - arn:aws:iam::{DESTINATION_ACCOUNT}:role/s3bridge-auditor\n"
            ),
    )
    .unwrap();
    let applied = bundle::apply(&moto, &spec_path).await;
    let world = World {
        source: moto.session(SOURCE_ACCOUNT).await,
        destination: moto.session(DESTINATION_ACCOUNT).await,
        desired: s3bridge::model::build(&applied.spec),
        spec_path: spec_path.display().to_string(),
        moto,
    };

    existing_objects(&world, scratch.path()).await;
    clean_audit(&world);
    versioning(&world).await;
    world.expect_clean("versioning");
    encryption(&world).await;
    world.expect_clean("encryption");
    kms_rotation(&world).await;
    world.expect_clean("kms_rotation");
    key_policy(&world).await;
    world.expect_clean("key_policy");
    bucket_policy(&world).await;
    world.expect_clean("bucket_policy");
    public_access_block(&world).await;
    world.expect_clean("public_access_block");
    ownership(&world).await;
    world.expect_clean("ownership");
    role_trust(&world).await;
    world.expect_clean("role_trust");
    role_policy(&world).await;
    world.expect_clean("role_policy");
    replication(&world).await;
    world.expect_clean("replication");
    formats(&world, scratch.path()).await;
    world.expect_clean("formats");
    least_privilege_and_access_denied(&world, scratch.path()).await;
}
