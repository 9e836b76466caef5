//! `s3bridge copy ... --engine batch` on moto. moto has no S3 Batch Operations: the
//! launcher (tests/support/moto_server.py) serves CreateJob/DescribeJob/ListJobs, checks
//! CreateJob against AWS's documented shape (S3PutObjectCopy, a CSV Manifest) and reads
//! the manifest from moto's S3 as Batch Operations would (missing, or another ETag: the
//! job fails). These checks prove, on one moto server:
//! - bad flag combinations are refused before anything is listed;
//! - `--dry-run` writes the manifest locally, prints a CreateJob input botocore accepts,
//!   and uploads, creates and copies nothing;
//! - a run uploads a manifest holding exactly the keys the diff found missing or
//!   different (URL-encoded), creates a job whose manifest ETag is that object's, copies
//!   here only what the job cannot (another storage class), and follows it with --wait;
//! - a rerun gets the same job back (same manifest, same token), and the work prefix in
//!   the source bucket is never copied;
//! - spec mode takes the role and work prefix from the model (`copy.engine: batch`).

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use aws_sdk_s3::types::StorageClass;
use serde_json::Value;
use support::moto::Moto;
use support::{create_bucket, put, python, repo, stderr, stdout, REGION};

const ROLE: &str = "arn:aws:iam::123456789012:role/batch-copy";
/// moto's default account: the plain test credentials act in it.
const JOB_ACCOUNT: &str = "123456789012";

/// How many jobs the job account has.
async fn job_count(control: &aws_sdk_s3control::Client) -> usize {
    let listed = control.list_jobs().account_id(JOB_ACCOUNT).send().await;
    listed.unwrap().jobs().len()
}

/// DescribeJob of `id` in the job account.
async fn describe(
    control: &aws_sdk_s3control::Client,
    id: &str,
) -> aws_sdk_s3control::types::JobDescriptor {
    let described = control
        .describe_job()
        .account_id(JOB_ACCOUNT)
        .job_id(id)
        .send()
        .await
        .unwrap();
    described.job.unwrap()
}

/// Runs the binary off the async workers, with no profile of this machine in the way.
async fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = support::isolated_command(args, envs);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> BTreeSet<String> {
    let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    listed
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_string())
        .collect()
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_string).collect()
}

/// botocore's own validation of a CreateJob input (tests/support/s3control_check.py).
fn botocore_accepts(dir: &Path, job: &Value) {
    let path = dir.join("job.json");
    std::fs::write(&path, serde_json::to_string_pretty(job).unwrap()).unwrap();
    let output = Command::new(python("moto"))
        .arg(repo().join("tests/support/s3control_check.py"))
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "botocore refuses the CreateJob input: {}{}",
        stdout(&output),
        stderr(&output)
    );
}

#[tokio::test]
async fn bad_combinations_are_refused_before_anything_is_listed() {
    // No endpoint is reachable here: each refusal must come before any request.
    let nowhere = "http://127.0.0.1:9";
    let base = ["copy", "s3://a/", "s3://b/", "--endpoint-url", nowhere];
    let cases: [(&[&str], &str); 7] = [
        (&["--engine", "batch"], "needs --role-arn"),
        (
            &["--engine", "batch", "--role-arn", ROLE],
            "needs --work-prefix",
        ),
        (
            &[
                "--engine",
                "batch",
                "--role-arn",
                ROLE,
                "--work-prefix",
                "work/x/",
            ],
            "is not an s3:// URL",
        ),
        (
            &[
                "--engine",
                "batch",
                "--role-arn",
                "batch-copy",
                "--work-prefix",
                "s3://w/",
            ],
            "is not an IAM role ARN",
        ),
        (
            &[
                "--engine",
                "batch",
                "--role-arn",
                ROLE,
                "--work-prefix",
                "s3://w/",
                "--delete",
            ],
            "--delete cannot run with --engine batch",
        ),
        (&["--wait"], "--wait is for the batch engine"),
        (&["--role-arn", ROLE], "--role-arn is for the batch engine"),
    ];
    for (extra, expected) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let output = run(&args, &[]).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    // A spec whose bundle has no batch copy role says how to get one.
    let spec = support::fixture("specs/example.yaml");
    let output = run(
        &[
            "copy",
            spec.to_str().unwrap(),
            "--engine",
            "batch",
            "--endpoint-url",
            nowhere,
        ],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("set `copy.engine: batch`"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn the_job_copies_exactly_what_differs_from_a_manifest_it_can_read() {
    let moto = Moto::start();
    // The account the binary's plain test credentials act in, where its jobs run.
    let session = moto.session(JOB_ACCOUNT).await;
    let s3 = session.s3();
    for bucket in ["src", "dst"] {
        create_bucket(&s3, bucket, REGION).await;
    }
    // The job's role, as CreateJob needs it (the stand-in checks it exists, trusts Batch
    // Operations, and runs each task as it): read the sources and the manifest, write the
    // copies and the completion report.
    let iam = session.iam();
    iam.create_role()
        .role_name("batch-copy")
        .assume_role_policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "batchoperations.s3.amazonaws.com"},
                "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("batch-copy")
        .policy_name("copy")
        .policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                 "Resource": "arn:aws:s3:::src/*"},
                {"Effect": "Allow", "Action": "s3:PutObject",
                 "Resource": ["arn:aws:s3:::dst/*", "arn:aws:s3:::src/s3bridge-work/*"]}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    put(&s3, "src", "a.txt", b"a").await;
    put(
        &s3,
        "src",
        "photos/b c+é,1.txt",
        "needs encoding".as_bytes(),
    )
    .await;
    put(&s3, "src", "same.txt", b"same").await;
    put(&s3, "dst", "same.txt", b"same").await;
    put(&s3, "src", "diff.txt", b"new content").await;
    put(&s3, "dst", "diff.txt", b"old").await;
    put(
        &s3,
        "dst",
        "extra.txt",
        "only in the destination".as_bytes(),
    )
    .await;
    // Another storage class than the job's: this machine copies it.
    s3.put_object()
        .bucket("src")
        .key("cold.txt")
        .storage_class(StorageClass::StandardIa)
        .body(b"cold".to_vec().into())
        .send()
        .await
        .unwrap();
    // The work prefix lives in the source bucket; what is there is never copied.
    put(
        &s3,
        "src",
        "s3bridge-work/reports/old.csv",
        "an old report".as_bytes(),
    )
    .await;
    let expected: BTreeSet<String> = [
        "src,a.txt",
        "src,diff.txt",
        "src,photos/b%20c%2B%C3%A9%2C1.txt",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();

    let dir = tempfile::tempdir().unwrap();
    let manifest_file = dir.path().join("manifest.csv");
    let batch = [
        "copy",
        "s3://src/",
        "s3://dst/",
        "--endpoint-url",
        &moto.endpoint,
        "--engine",
        "batch",
        "--role-arn",
        ROLE,
        "--work-prefix",
        "s3://src/s3bridge-work/",
        "--quiet",
    ];

    // Dry run: the manifest is written locally; nothing is uploaded, created or copied.
    let mut args = batch.to_vec();
    args.extend(["--dry-run", "--manifest", manifest_file.to_str().unwrap()]);
    let output = run(&args, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let job: Value = serde_json::from_str(&stdout(&output)).expect("the dry run prints the job");
    assert_eq!(
        lines(&std::fs::read_to_string(&manifest_file).unwrap()),
        expected
    );
    botocore_accepts(dir.path(), &job);
    let location = job["Manifest"]["Location"]["ObjectArn"].as_str().unwrap();
    assert!(
        location.starts_with("arn:aws:s3:::src/s3bridge-work/manifests/copy-")
            && location.ends_with(".csv"),
        "{location}"
    );
    assert!(stderr(&output).contains("cold.txt -> cold.txt (another storage class"));
    assert_eq!(
        job["Operation"]["S3PutObjectCopy"],
        serde_json::json!({
            "TargetResource": "arn:aws:s3:::dst",
            "MetadataDirective": "COPY",
            "CannedAccessControlList": "bucket-owner-full-control",
        })
    );
    assert_eq!(job["Report"]["Prefix"], "s3bridge-work/reports");
    assert_eq!(job["Report"]["Bucket"], "arn:aws:s3:::src");
    assert_eq!(job["RoleArn"], ROLE);
    assert_eq!(
        keys(&s3, "src")
            .await
            .iter()
            .filter(|k| k.contains("manifests"))
            .count(),
        0,
        "a dry run uploads nothing"
    );
    assert!(
        !keys(&s3, "dst").await.contains("cold.txt"),
        "a dry run copies nothing"
    );
    let control = session.s3control();
    assert_eq!(job_count(&control).await, 0, "a dry run creates no job");

    // The run: upload, create, follow.
    let mut args = batch.to_vec();
    args.extend(["--wait", "--poll-interval", "0.1", "--format", "json"]);
    let output = run(&args, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let result: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(result["job"]["status"], "Complete", "{result}");
    assert_eq!(
        result["job"]["total"], 3,
        "one task per manifest line: {result}"
    );
    assert_eq!(result["copy"]["to_batch"], 3, "{result}");
    assert_eq!(result["copy"]["copied"], 1, "only cold.txt here: {result}");
    assert_eq!(result["copy"]["skipped"], 1, "{result}");
    assert_eq!(result["manifest"]["copied_locally_count"], 1, "{result}");
    assert_eq!(
        result["manifest"]["copied_locally"][0]["source_key"], "cold.txt",
        "{result}"
    );
    // The manifest object S3 Batch Operations reads holds exactly the differing keys...
    let url = result["manifest_location"].as_str().unwrap();
    let key = url.strip_prefix("s3://src/").unwrap();
    assert_eq!(
        format!("arn:aws:s3:::src/{key}"),
        location,
        "the dry run showed it"
    );
    let object = s3.get_object().bucket("src").key(key).send().await.unwrap();
    let etag = object.e_tag().unwrap().trim_matches('"').to_string();
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(lines(std::str::from_utf8(&body).unwrap()), expected);
    // ... and the job names it with its ETag.
    let id = result["job"]["id"].as_str().unwrap();
    let described = describe(&control, id).await;
    let manifest = described.manifest().unwrap();
    let location_sent = manifest.location().unwrap();
    assert_eq!(location_sent.object_arn(), location);
    assert_eq!(location_sent.e_tag().trim_matches('"'), etag);
    // The job copies the rest; this machine copied only what the job cannot.
    let copied = keys(&s3, "dst").await;
    assert!(copied.contains("cold.txt"));
    assert!(!copied.contains("a.txt"), "left to the job");

    // A rerun: the same objects differ, so the same manifest (not uploaded again), the
    // same token and the same job; the work prefix (now with the manifest) is not copied.
    let output = run(&args, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let again: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(again["job"]["id"], id, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("already there"),
        "{}",
        stderr(&output)
    );
    assert_eq!(job_count(&control).await, 1);
    assert!(keys(&s3, "dst")
        .await
        .iter()
        .all(|k| !k.starts_with("s3bridge-work/")));

    // A manifest changed behind s3bridge's back is not trusted by its name: uploaded again.
    s3.put_object()
        .bucket("src")
        .key(key)
        .body(b"src,tampered.txt\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let mut args = args.clone();
    args.extend(["--attempt", "2"]);
    let output = run(&args, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let second: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(second["job"]["total"], 3, "{second}");
    assert_ne!(second["job"]["id"], id, "another attempt, another job");
    let object = s3.get_object().bucket("src").key(key).send().await.unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(lines(std::str::from_utf8(&body).unwrap()), expected);

    // The stand-in for Batch Operations can fail a job: a manifest ETag that is not the
    // object's (what S3 checks before running) ends the job Failed.
    let request = s3bridge::batch::job::copy_objects(&s3bridge::batch::job::CopyObjects {
        account_id: JOB_ACCOUNT,
        spec_name: None,
        partition: "aws",
        role_arn: ROLE,
        source_bucket: "src",
        destination_bucket: "dst",
        work_bucket: "src",
        work_prefix: "s3bridge-work/",
        manifest_key: key,
        manifest_etag: "0123456789abcdef0123456789abcdef",
        kms_key_arn: None,
        storage_class: None,
        acl: None,
        attempt: 9,
    });
    let created = request.to_sdk(&control).unwrap().send().await.unwrap();
    let job = describe(&control, created.job_id().unwrap()).await;
    assert_eq!(job.status().unwrap().as_str(), "Failed");
    assert!(job.failure_reasons()[0]
        .failure_reason()
        .unwrap()
        .contains("ETag"));

    // Spec mode: the role and the work prefix come from the model.
    spec_mode(&moto, dir.path()).await;
}

/// The example spec with `copy.engine: batch`, dry run: the model's role, work prefix
/// (in the destination bucket) and the destination key are in the job, created in the
/// destination account.
async fn spec_mode(moto: &Moto, dir: &Path) {
    let text = std::fs::read_to_string(support::fixture("specs/example.yaml")).unwrap();
    let edited = text.replace("copy:\n", "copy:\n  engine: batch\n");
    assert_ne!(edited, text);
    let spec_path = dir.join("batch.yaml");
    std::fs::write(&spec_path, edited).unwrap();
    let spec = s3bridge::spec::load(&spec_path).unwrap().spec;
    let desired = s3bridge::model::build(&spec);
    let model = desired
        .batch_copy
        .as_ref()
        .expect("copy.engine: batch adds the role");

    let source = moto.session(support::SOURCE_ACCOUNT).await.s3();
    let destination = moto.session(support::DESTINATION_ACCOUNT).await.s3();
    create_bucket(&source, &spec.source.bucket, REGION).await;
    create_bucket(&destination, &spec.destination.bucket, REGION).await;
    put(&source, &spec.source.bucket, "scans/a.dcm", b"scan").await;
    put(
        &source,
        &spec.source.bucket,
        "images/p.png",
        b"renamed: copied here",
    )
    .await;
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "[profile src]\nrole_arn = arn:aws:iam::{}:role/operator\ncredential_source = Environment\nregion = {REGION}\n\n\
             [profile dst]\nrole_arn = arn:aws:iam::{}:role/operator\ncredential_source = Environment\nregion = {REGION}\n",
            support::SOURCE_ACCOUNT,
            support::DESTINATION_ACCOUNT
        ),
    )
    .unwrap();
    let key = "arn:aws:kms:ap-southeast-2:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    // A dry run keeps its manifest: here, not in the system's temp dir.
    let manifest = dir.join("manifest.csv");
    let output = run(
        &[
            "copy",
            spec_path.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
            "--endpoint-url",
            &moto.endpoint,
            "--source-profile",
            "src",
            // The job runs in the destination account: its credentials create it, and
            // list the destination in its own account (another account's bucket needs a
            // bucket-policy grant, which this bare bucket does not have).
            "--destination-profile",
            "dst",
            "--destination-kms-key",
            key,
            "--storage-class",
            "STANDARD_IA",
            "--dry-run",
            "--quiet",
        ],
        &[
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            // The profile's role is assumed through moto's STS too.
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let job: Value = serde_json::from_str(&stdout(&output)).unwrap();
    // S3PutObjectCopy jobs run in the destination account and Region, with their
    // manifest and report in the destination bucket.
    assert_eq!(job["AccountId"], support::DESTINATION_ACCOUNT);
    assert_eq!(job["RoleArn"], model.role_arn.as_str());
    assert!(model.role_arn.contains(support::DESTINATION_ACCOUNT));
    assert_eq!(model.bucket, spec.destination.bucket);
    assert_eq!(job["Report"]["Bucket"], model.bucket_arn.as_str());
    assert!(job["Manifest"]["Location"]["ObjectArn"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/s3bridge/batch-copy/", model.bucket_arn)));
    assert!(
        stderr(&output).contains(&format!("--region {}", spec.destination.region)),
        "{}",
        stderr(&output)
    );
    assert_eq!(job["Report"]["Prefix"], "s3bridge/batch-copy/reports");
    let copy = &job["Operation"]["S3PutObjectCopy"];
    assert_eq!(copy["SSEAwsKmsKeyId"], key);
    assert_eq!(copy["BucketKeyEnabled"], true);
    assert_eq!(copy["StorageClass"], "STANDARD_IA");
    assert_eq!(copy["TargetResource"], "arn:aws:s3:::harrison-ai-landing");
    assert!(job["Description"]
        .as_str()
        .unwrap()
        .starts_with("s3bridge datalake-landing: copy"));
    assert!(
        stderr(&output).contains("images/p.png -> avatar/p.png (renamed"),
        "{}",
        stderr(&output)
    );
}
