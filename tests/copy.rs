//! `s3bridge copy` on moto: prefix remap, what is preserved (metadata, content type,
//! tags, multipart ETags), unicode keys, reruns that copy nothing, a SIGKILL mid-run,
//! nothing touched outside the prefix, aborted uploads after an injected failure,
//! SSE-KMS reruns settled by checksums, and spec mode with separate credentials
//! per side (streamed).

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::types::ServerSideEncryption;
use serde_json::Value;
use support::fault_proxy::{Fault, FaultProxy};
use support::moto::Moto;
use support::objects::{create_key, keys, plain_session, put_multipart};
use support::{create_bucket, put, stderr, REGION};

fn binary(args: &[&str], envs: &[(&str, &str)]) -> Command {
    support::isolated_command(args, envs)
}

/// Runs `s3bridge copy ARGS --format json --quiet` (blocking, off the async workers).
async fn copy(args: &[&str], envs: &[(&str, &str)]) -> (Output, Value) {
    let mut all = vec!["copy"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "--quiet"]);
    let mut command = binary(&all, envs);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let summary = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "no JSON summary ({e}): stdout {text:?}, stderr {}",
            stderr(&output)
        )
    });
    (output, summary)
}

fn report(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ad_hoc_copy_remaps_preserves_and_reruns_to_nothing() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    s3.put_object()
        .bucket("src")
        .key("images/a.png")
        .body(b"png bytes".to_vec().into())
        .content_type("image/png")
        .cache_control("max-age=60")
        .metadata("owner", "team-a")
        .tagging("class=clinical&keep=yes")
        .send()
        .await
        .unwrap();
    put(&s3, "src", "images/sub dir/ü ñ + 100%.txt", b"unicode").await;
    put(&s3, "src", "images/skip.tmp", b"temporary").await;
    put(&s3, "src", "other/outside.txt", b"not in the prefix").await;
    let big_etag = put_multipart(&s3, "src", "images/big.bin", &[5, 5, 1]).await;
    assert!(big_etag.ends_with("-3"), "{big_etag}");
    put(&s3, "dst", "avatar/stale.txt", b"only in destination").await;
    put(&s3, "dst", "elsewhere/keep.txt", b"outside the prefix").await;
    put(
        &s3,
        "dst",
        "images/a.png",
        b"outside the destination prefix",
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("copy.jsonl");
    let endpoint = moto.endpoint.as_str();
    let common = [
        "s3://src/images/",
        "s3://dst/avatar/",
        "--endpoint-url",
        endpoint,
        "--source-region",
        REGION,
        "--exclude",
        "*.tmp",
    ];
    let mut args = common.to_vec();
    args.extend_from_slice(&["--report", report_path.to_str().unwrap()]);
    let (output, summary) = copy(&args, &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(summary["copied"], 3, "{summary}");
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["kept_extra"], 1);
    // One request per single-part object; the multipart one by its own 3 parts.
    assert_eq!(summary["requests"]["CopyObject"], 2, "{summary}");
    assert_eq!(summary["requests"]["UploadPartCopy"], 3, "{summary}");

    let after = keys(&s3, "dst").await;
    assert_eq!(after["avatar/big.bin"], big_etag, "multipart ETag kept");
    assert!(
        after.contains_key("avatar/sub dir/ü ñ + 100%.txt"),
        "{after:?}"
    );
    assert!(!after.contains_key("avatar/skip.tmp"));
    assert!(!after.keys().any(|k| k.contains("outside")));
    // What lies outside the destination prefix is untouched.
    let untouched = s3
        .get_object()
        .bucket("dst")
        .key("images/a.png")
        .send()
        .await
        .unwrap();
    assert_eq!(
        untouched
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
            .as_ref(),
        b"outside the destination prefix"
    );

    let head = s3
        .head_object()
        .bucket("dst")
        .key("avatar/a.png")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("image/png"));
    assert_eq!(head.metadata().unwrap()["owner"], "team-a");
    let tags = s3
        .get_object_tagging()
        .bucket("dst")
        .key("avatar/a.png")
        .send()
        .await
        .unwrap();
    let tags: BTreeMap<&str, &str> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(
        tags,
        BTreeMap::from([("class", "clinical"), ("keep", "yes")])
    );
    let big = s3
        .head_object()
        .bucket("dst")
        .key("avatar/big.bin")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(big.parts_count(), Some(3));
    assert_eq!(big.content_length(), Some(5 << 20));
    assert_eq!(big.metadata().unwrap()["origin"], "multipart");
    assert_eq!(big.content_type(), Some("application/x-test"));
    let tags = s3
        .get_object_tagging()
        .bucket("dst")
        .key("avatar/big.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set().len(), 1, "multipart tags copied");
    assert_eq!(summary["requests"]["GetObjectTagging"], 1, "{summary}");

    let lines = report(&report_path);
    assert_eq!(lines.len(), 4, "{lines:?}");
    let big_line = lines
        .iter()
        .find(|l| l["source_key"] == "images/big.bin")
        .unwrap();
    assert_eq!(big_line["destination_key"], "avatar/big.bin");
    assert_eq!(big_line["action"], "copy");
    assert_eq!(big_line["method"], "upload_part_copy");
    assert_eq!(big_line["result"], "ok");
    assert_eq!(big_line["source_etag"], big_etag.as_str());
    assert_eq!(big_line["destination_etag"], big_etag.as_str());

    // A rerun copies nothing.
    let (output, summary) = copy(&common, &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        (summary["copied"].as_u64(), summary["skipped"].as_u64()),
        (Some(0), Some(3)),
        "{summary}"
    );
    assert!(summary["requests"].get("CopyObject").is_none(), "{summary}");

    // A dry run plans a new object without copying it, and prices the plan.
    put(&s3, "src", "images/new.txt", b"new object").await;
    let mut dry = common.to_vec();
    dry.push("--dry-run");
    let (output, summary) = copy(&dry, &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(summary["to_copy"], 1, "{summary}");
    assert_eq!(summary["bytes"], 10);
    assert_eq!(summary["planned_requests"]["CopyObject"], 1);
    assert!(summary["request_cost_usd"].as_f64().unwrap() > 0.0);
    assert!(!keys(&s3, "dst").await.contains_key("avatar/new.txt"));

    // --delete removes what only the destination has, inside the prefix only, and says so
    // first (one key: under the threshold, no --yes needed).
    let mut delete = common.to_vec();
    delete.push("--delete");
    let (output, summary) = copy(&delete, &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        (summary["copied"].as_u64(), summary["deleted"].as_u64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    assert!(
        stderr(&output)
            .contains("--delete: 1 object only in the destination s3://dst/avatar/ is to be deleted:\n  s3://dst/avatar/stale.txt"),
        "{}",
        stderr(&output)
    );
    let after = keys(&s3, "dst").await;
    assert!(!after.contains_key("avatar/stale.txt"));
    assert!(after.contains_key("elsewhere/keep.txt") && after.contains_key("images/a.png"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_run_then_rerun_copies_only_the_rest() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    const OBJECTS: usize = 400;
    for i in 0..OBJECTS {
        put(
            &s3,
            "src",
            &format!("data/{:02}/object-{i:04}", i % 10),
            format!("body {i}").as_bytes(),
        )
        .await;
    }
    let endpoint = moto.endpoint.clone();
    let args = [
        "copy",
        "s3://src/data/",
        "s3://dst/data/",
        "--endpoint-url",
        &endpoint,
        "--source-region",
        REGION,
        "--concurrency",
        "1",
        "--quiet",
    ];
    let mut child = binary(&args, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let copied = s3
            .list_objects_v2()
            .bucket("dst")
            .send()
            .await
            .unwrap()
            .key_count()
            .unwrap_or(0);
        if copied >= 25 {
            break;
        }
        assert!(Instant::now() < deadline, "the copy did not start");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the copy ended before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL: no cleanup, no state written
    child.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // requests moto had already received
    let before = keys(&s3, "dst").await;
    assert!(
        before.len() < OBJECTS,
        "killed too late: {} copied",
        before.len()
    );

    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("rerun.jsonl");
    let (output, summary) = copy(
        &[
            "s3://src/data/",
            "s3://dst/data/",
            "--endpoint-url",
            &endpoint,
            "--source-region",
            REGION,
            "--report",
            report_path.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        summary["copied"].as_u64().unwrap() as usize,
        OBJECTS - before.len(),
        "{summary}"
    );
    assert_eq!(
        summary["skipped"].as_u64().unwrap() as usize,
        before.len(),
        "{summary}"
    );
    for line in report(&report_path) {
        if line["action"] == "copy" {
            let key = line["destination_key"].as_str().unwrap();
            assert!(!before.contains_key(key), "{key} was copied twice");
        }
    }
    assert_eq!(keys(&s3, "dst").await.len(), OBJECTS);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_part_aborts_the_upload_and_a_rerun_finishes() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    let etag = put_multipart(&s3, "src", "big.bin", &[5, 5, 1]).await;
    put(&s3, "src", "small.txt", b"small").await;
    let upstream = moto.endpoint.trim_start_matches("http://").to_string();
    // The destination refuses the second part of any multipart upload.
    let proxy = FaultProxy::start(&upstream, |request| {
        (request.operation == "UploadPartCopy"
            && request.bucket() == "dst"
            && request.query.contains("partNumber=2"))
        .then_some(Fault::Refuse)
    });
    let (output, summary) = copy(
        &[
            "s3://src",
            "s3://dst",
            "--endpoint-url",
            &proxy.endpoint,
            "--source-region",
            REGION,
        ],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        (summary["copied"].as_u64(), summary["failed"].as_u64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    assert!(proxy.injected("UploadPartCopy", "Refuse") >= 1);
    assert!(
        stderr(&output).contains("AccessDenied"),
        "{}",
        stderr(&output)
    );
    assert_eq!(summary["requests"]["AbortMultipartUpload"], 1, "{summary}");
    let open = s3
        .list_multipart_uploads()
        .bucket("dst")
        .send()
        .await
        .unwrap();
    assert!(
        open.uploads().is_empty(),
        "orphan uploads: {:?}",
        open.uploads()
    );
    assert!(!keys(&s3, "dst").await.contains_key("big.bin"));

    let (output, summary) = copy(
        &[
            "s3://src",
            "s3://dst",
            "--endpoint-url",
            &moto.endpoint,
            "--source-region",
            REGION,
        ],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        (summary["copied"].as_u64(), summary["skipped"].as_u64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    assert_eq!(keys(&s3, "dst").await["big.bin"], etag);
}

#[tokio::test(flavor = "multi_thread")]
async fn sse_kms_reruns_are_settled_by_checksums_not_copied_again() {
    let moto = Moto::start();
    let session = plain_session(&moto.endpoint).await;
    let s3 = session.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    let kms = session.kms();
    let source_key = create_key(&kms).await;
    let destination_key = create_key(&kms).await;
    for i in 0..5 {
        s3.put_object()
            .bucket("src")
            .key(format!("k/{i}"))
            .body(format!("secret {i}").into_bytes().into())
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&source_key)
            .send()
            .await
            .unwrap();
    }
    let args = [
        "s3://src/k/",
        "s3://dst/k/",
        "--endpoint-url",
        &moto.endpoint,
        "--source-region",
        REGION,
        "--destination-kms-key",
        &destination_key,
    ];
    let (output, summary) = copy(&args, &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(summary["copied"], 5, "{summary}");
    let head = s3
        .head_object()
        .bucket("dst")
        .key("k/0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.ssekms_key_id(), Some(destination_key.as_str()));
    let (source, destination) = (keys(&s3, "src").await, keys(&s3, "dst").await);
    assert_ne!(
        source["k/0"], destination["k/0"],
        "SSE-KMS ETags are opaque: a copy gets its own"
    );

    // Same sizes, different ETags everywhere: settled with one HEAD per side, copied 0.
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("rerun.jsonl");
    let mut rerun = args.to_vec();
    rerun.extend_from_slice(&["--report", report_path.to_str().unwrap()]);
    let (output, summary) = copy(&rerun, &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        (summary["copied"].as_u64(), summary["skipped"].as_u64()),
        (Some(0), Some(5)),
        "{summary}"
    );
    assert_eq!(summary["settled_with_head"], 5);
    assert_eq!(summary["requests"]["HeadObject"], 10, "{summary}");
    assert!(report(&report_path)
        .iter()
        .all(|l| l["reason"] == "same size and checksum"));

    // Same size, new content: the checksums differ, so it is copied.
    s3.put_object()
        .bucket("src")
        .key("k/1")
        .body(b"SECRET 1".to_vec().into())
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&source_key)
        .send()
        .await
        .unwrap();
    let (output, summary) = copy(&args, &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        (summary["copied"].as_u64(), summary["skipped"].as_u64()),
        (Some(1), Some(4)),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn spec_copy_with_separate_credentials_streams_with_the_destination_key() {
    use support::{DESTINATION_ACCOUNT, SOURCE_ACCOUNT};
    let moto = Moto::start();
    let spec_path = support::fixture("specs/example.yaml");
    let spec = s3bridge::spec::load(&spec_path).unwrap().spec;
    let (source_bucket, destination_bucket) =
        (spec.source.bucket.clone(), spec.destination.bucket.clone());
    let source = moto.session(SOURCE_ACCOUNT).await;
    let destination = moto.session(DESTINATION_ACCOUNT).await;
    create_bucket(&source.s3(), &source_bucket, REGION).await;
    create_bucket(&destination.s3(), &destination_bucket, REGION).await;
    // The destination key as the bundle creates it: found by its alias, in its account.
    let kms = destination.kms();
    let key_arn = create_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/datalake-landing-destination")
        .target_key_id(&key_arn)
        .send()
        .await
        .unwrap();
    let src = source.s3();
    src.put_object()
        .bucket(&source_bucket)
        .key("images/p.png")
        .body(b"picture".to_vec().into())
        .content_type("image/png")
        .metadata("camera", "x1")
        .tagging("class=public")
        .send()
        .await
        .unwrap();
    put(&src, &source_bucket, "scans/a.dcm", b"scan").await;
    put(&src, &source_bucket, "scans/b.tmp", b"excluded by the spec").await;
    put(
        &src,
        &source_bucket,
        "other/x.txt",
        b"in no rule, in no mapping",
    )
    .await;
    let etag = put_multipart(&src, &source_bucket, "scans/big.dcm", &[5, 1]).await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile src]\nrole_arn = arn:aws:iam::{SOURCE_ACCOUNT}:role/reader\ncredential_source = Environment\nregion = {REGION}\n\n\
             [profile dst]\nrole_arn = arn:aws:iam::{DESTINATION_ACCOUNT}:role/writer\ncredential_source = Environment\nregion = {REGION}\n"
        ),
    )
    .unwrap();
    let envs = [
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
    ];
    let args = [
        spec_path.to_str().unwrap(),
        "--endpoint-url",
        &moto.endpoint,
        "--source-profile",
        "src",
        "--destination-profile",
        "dst",
    ];
    let (output, summary) = copy(&args, &envs).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(summary["copied"], 3, "{summary}");
    assert_eq!(summary["requests"]["PutObject"], 2, "streamed: {summary}");
    assert!(summary["requests"].get("CopyObject").is_none(), "{summary}");

    let dst = destination.s3();
    let copied = keys(&dst, &destination_bucket).await;
    assert_eq!(
        copied.keys().cloned().collect::<Vec<_>>(),
        vec![
            "avatar/p.png".to_string(),
            "scans/a.dcm".into(),
            "scans/big.dcm".into()
        ]
    );
    // SSE-KMS: the ETag is opaque on both sides, but the layout is the source's.
    assert!(copied["scans/big.dcm"].ends_with("-2") && etag.ends_with("-2"));
    let first = dst
        .head_object()
        .bucket(&destination_bucket)
        .key("scans/big.dcm")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (first.parts_count(), first.content_length()),
        (Some(2), Some(5 << 20))
    );
    let picture = dst
        .head_object()
        .bucket(&destination_bucket)
        .key("avatar/p.png")
        .send()
        .await
        .unwrap();
    assert_eq!(picture.content_type(), Some("image/png"));
    assert_eq!(picture.metadata().unwrap()["camera"], "x1");
    let tags = dst
        .get_object_tagging()
        .bucket(&destination_bucket)
        .key("avatar/p.png")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set().len(), 1, "tags streamed too");
    let scan = dst
        .head_object()
        .bucket(&destination_bucket)
        .key("scans/a.dcm")
        .send()
        .await
        .unwrap();
    assert_eq!(
        scan.ssekms_key_id(),
        Some(key_arn.as_str()),
        "the destination key, by ARN"
    );
    assert_eq!(
        scan.storage_class().map(|c| c.as_str()),
        Some("STANDARD_IA"),
        "the rule's storage class"
    );

    let (output, summary) = copy(&args, &envs).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        (summary["copied"].as_u64(), summary["skipped"].as_u64()),
        (Some(0), Some(3)),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_finishes_objects_in_flight_and_prints_the_summary() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    const OBJECTS: usize = 300;
    for i in 0..OBJECTS {
        put(&s3, "src", &format!("k/{i:04}"), b"x").await;
    }
    let endpoint = moto.endpoint.clone();
    let args = [
        "copy",
        "s3://src",
        "s3://dst",
        "--endpoint-url",
        &endpoint,
        "--source-region",
        REGION,
        "--concurrency",
        "2",
        "--quiet",
        "--format",
        "json",
    ];
    let child = binary(&args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while s3
        .list_objects_v2()
        .bucket("dst")
        .send()
        .await
        .unwrap()
        .key_count()
        .unwrap_or(0)
        < 10
    {
        assert!(Instant::now() < deadline, "the copy did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        summary["error"].as_str().unwrap().contains("interrupted"),
        "{summary}"
    );
    let copied = summary["copied"].as_u64().unwrap() as usize;
    assert!(copied > 0 && copied < OBJECTS, "{summary}");
    // Everything started was finished and counted: the summary matches the bucket.
    assert_eq!(keys(&s3, "dst").await.len(), copied);
}
