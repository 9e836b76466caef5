//! Operator safety of `s3bridge copy` and `verify` on moto: SIGTERM and a double Ctrl-C
//! with multipart uploads in flight (made slow by the fault proxy so the signal lands
//! mid-upload) leave no upload open and still write the summary and the report; a rerun
//! aborts the uploads a killed run left and says how many; `--delete` names what it
//! will delete and refuses too many without `--yes`; a prefix_map that would make
//! `--delete` eat replicas is refused; and copy then verify through a wire full of
//! faults (SlowDown storms, 500s, connections closed before and after the server acted,
//! truncated replies, delays) end with every object right and every class exact; and
//! verify stops on SIGTERM with its report written.

mod support;

use std::collections::BTreeMap;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::fault_proxy::{seeded, Fault, FaultProxy, Request};
use support::moto::Moto;
use support::objects::{create_key, keys, objects, plain_session, put_multipart, put_parts};
use support::{create_bucket, put, stderr, REGION};

/// The seed of the fault schedules (`S3BRIDGE_FAULT_SEED` replays another one).
fn seed() -> u64 {
    std::env::var("S3BRIDGE_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_122)
}

fn command(args: &[&str]) -> Command {
    let mut command = support::isolated_command(args, &[]);
    command.stdin(Stdio::null());
    command
}

/// Runs `s3bridge ARGS` to the end, off the async workers.
async fn run(args: &[&str]) -> Output {
    let mut command = command(args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

async fn wait(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

fn summary(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "no JSON summary ({e}): stdout {text:?}, stderr {}",
            stderr(output)
        )
    })
}

fn report(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

async fn open_uploads(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, String)> {
    let out = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap().to_string(),
                u.initiator()
                    .and_then(|i| i.id())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// Waits until the destination has an upload open and the proxy has seen a part copy:
/// a multipart copy is in flight.
async fn until_mid_upload(s3: &aws_sdk_s3::Client, proxy: &FaultProxy, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_uploads(s3, "dst").await.is_empty() || proxy.requests("UploadPartCopy") == 0 {
        assert!(Instant::now() < deadline, "no multipart copy started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the copy ended before the signal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Source objects for the signal tests: `multipart` objects of three parts and a few
/// small ones.
async fn signal_fixture(s3: &aws_sdk_s3::Client, multipart: usize) {
    create_bucket(s3, "src", REGION).await;
    create_bucket(s3, "dst", REGION).await;
    for i in 0..multipart {
        put_multipart(s3, "src", &format!("data/big-{i}.bin"), &[5, 5, 1]).await;
    }
    for i in 0..10 {
        put(s3, "src", &format!("data/small-{i:02}"), b"small").await;
    }
}

/// Every part copy waits `pause` in the proxy before it reaches moto.
fn slow_parts(moto: &Moto, pause: Duration) -> FaultProxy {
    let upstream = moto.endpoint.trim_start_matches("http://").to_string();
    FaultProxy::start(&upstream, move |request| {
        (request.operation == "UploadPartCopy").then_some(Fault::Delay(pause))
    })
}

/// `copy s3://src/data/ s3://dst/data/` through `proxy`, with `extra` arguments,
/// started in the background.
fn spawn_copy(proxy: &FaultProxy, extra: &[&str]) -> Child {
    let mut args = vec![
        "copy",
        "s3://src/data/",
        "s3://dst/data/",
        "--endpoint-url",
        &proxy.endpoint,
        "--source-region",
        REGION,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_upload_aborts_the_uploads_and_writes_the_summary_and_report() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    signal_fixture(&s3, 4).await;
    let proxy = slow_parts(&moto, Duration::from_secs(3));
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("copy.jsonl");
    let mut child = spawn_copy(
        &proxy,
        &[
            "--concurrency",
            "6",
            "--grace-period",
            "1",
            "--report",
            report_path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    until_mid_upload(&s3, &proxy, &mut child).await;
    signal(&child, "TERM");
    let output = wait(child).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let summary = summary(&output);
    assert!(
        summary["error"]
            .as_str()
            .unwrap()
            .starts_with("interrupted by SIGTERM: the objects in flight were stopped"),
        "{summary}"
    );
    let interrupted = summary["interrupted"].as_u64().unwrap();
    assert!(interrupted >= 1, "{summary}");
    assert!(
        summary["requests"]["AbortMultipartUpload"]
            .as_u64()
            .unwrap()
            >= interrupted
    );
    // Requests the proxy still held reach moto after the abort and find no upload.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(open_uploads(&s3, "dst").await, vec![], "uploads left open");
    // The report has a line for every object the run started, as the summary counts them.
    let lines = report(&report_path);
    let counted = ["copied", "skipped", "failed", "interrupted"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(lines.len() as u64, counted, "{lines:?}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["result"] == "interrupted")
            .count() as u64,
        interrupted
    );
    // Nothing half-copied is in the destination: what is there is what was reported copied.
    let copied: Vec<&str> = lines
        .iter()
        .filter(|l| l["result"] == "ok")
        .map(|l| l["destination_key"].as_str().unwrap())
        .collect();
    let present = keys(&s3, "dst").await;
    assert_eq!(present.len(), copied.len(), "{present:?} vs {copied:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_aborts_the_uploads_it_started_before_exiting() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    signal_fixture(&s3, 4).await;
    let proxy = slow_parts(&moto, Duration::from_secs(4));
    let mut child = spawn_copy(&proxy, &["--concurrency", "4", "--format", "json"]);
    until_mid_upload(&s3, &proxy, &mut child).await;
    let first = Instant::now();
    signal(&child, "INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(&child, "INT");
    let output = wait(child).await;
    // Well before the 20 s grace period, and before the slow parts could finish.
    assert!(
        first.elapsed() < Duration::from_secs(4),
        "{:?}",
        first.elapsed()
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let summary = summary(&output);
    assert!(
        summary["error"]
            .as_str()
            .unwrap()
            .starts_with("interrupted by Ctrl-C: the objects in flight were stopped"),
        "{summary}"
    );
    assert!(summary["interrupted"].as_u64().unwrap() >= 1, "{summary}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(open_uploads(&s3, "dst").await, vec![], "uploads left open");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_aborts_the_uploads_a_killed_run_left_and_only_those() {
    let moto = Moto::start();
    let session = plain_session(&moto.endpoint).await;
    let s3 = session.s3();
    signal_fixture(&s3, 3).await;
    let proxy = slow_parts(&moto, Duration::from_secs(30));
    let mut child = spawn_copy(&proxy, &[]);
    until_mid_upload(&s3, &proxy, &mut child).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // let every object start
    child.kill().unwrap(); // SIGKILL: nothing is cleaned up
    child.wait().unwrap();
    let left = open_uploads(&s3, "dst").await;
    assert!(!left.is_empty());
    let ours = left[0].1.clone();
    // Uploads that are not the killed run's: another principal's in the copied prefix,
    // and this principal's outside it.
    let other = moto.session("123456789012").await.s3();
    other
        .create_multipart_upload()
        .bucket("dst")
        .key("data/big-0.bin")
        .send()
        .await
        .unwrap();
    s3.create_multipart_upload()
        .bucket("dst")
        .key("elsewhere/upload.bin")
        .send()
        .await
        .unwrap();
    let before = open_uploads(&s3, "dst").await;
    let foreign: Vec<_> = before.iter().filter(|(_, who)| *who != ours).collect();
    assert_eq!(foreign.len(), 1, "{before:?}");

    let output = run(&[
        "copy",
        "s3://src/data/",
        "s3://dst/data/",
        "--endpoint-url",
        &moto.endpoint,
        "--source-region",
        REGION,
        "--format",
        "json",
    ])
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(
        summary["left_over_uploads_aborted"].as_u64().unwrap() as usize,
        left.len(),
        "{summary}"
    );
    assert!(
        stderr(&output).contains(&format!(
            "aborted {} incomplete multipart upload{} an earlier s3bridge run left in s3://dst/data/",
            left.len(),
            if left.len() == 1 { "" } else { "s" }
        )),
        "{}",
        stderr(&output)
    );
    let after = open_uploads(&s3, "dst").await;
    let mut expected: Vec<(String, String)> = before
        .iter()
        .filter(|(key, who)| *who != ours || key.starts_with("elsewhere/"))
        .cloned()
        .collect();
    expected.sort();
    let mut after_sorted = after.clone();
    after_sorted.sort();
    assert_eq!(after_sorted, expected, "only the killed run's uploads go");
    assert_eq!(summary["failed"], 0);
    assert_eq!(keys(&s3, "dst").await.len(), 13);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_names_the_count_and_first_keys_and_refuses_too_many_without_yes() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    put(&s3, "src", "p/keep.txt", b"in the source").await;
    for i in 0..5 {
        put(&s3, "dst", &format!("p/stale-{i}.txt"), b"only here").await;
    }
    put(&s3, "dst", "outside/x.txt", b"outside the prefix").await;
    let args = |extra: &[&'static str]| {
        let mut args = vec![
            "copy",
            "s3://src/p/",
            "s3://dst/p/",
            "--endpoint-url",
            moto.endpoint.as_str(),
            "--source-region",
            REGION,
            "--format",
            "json",
            "--delete",
            "--delete-threshold",
            "3",
        ];
        args.extend_from_slice(extra);
        args
    };
    // stdin is not a terminal: more than the threshold is refused, nothing is deleted.
    let output = run(&args(&[])).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("copying s3://src/p/ → s3://dst/p/"),
        "the header names the prefixes: {text}"
    );
    assert!(
        text.contains(
            "--delete: 5 objects only in the destination s3://dst/p/ are to be deleted:\n  s3://dst/p/stale-0.txt\n"
        ),
        "{text}"
    );
    let summary_refused = summary(&output);
    assert_eq!(summary_refused["copied"], 1);
    assert_eq!(summary_refused["deleted"], 0);
    assert_eq!(summary_refused["kept_extra"], 5);
    assert!(
        summary_refused["error"]
            .as_str()
            .unwrap()
            .contains("refusing to delete 5 objects (more than --delete-threshold 3)"),
        "{summary_refused}"
    );
    assert_eq!(keys(&s3, "dst").await.len(), 7);

    let output = run(&args(&["--yes"])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(summary["deleted"], 5, "{summary}");
    let left: Vec<String> = keys(&s3, "dst").await.into_keys().collect();
    assert_eq!(left, vec!["outside/x.txt", "p/keep.txt"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prefix_map_that_would_delete_replicas_is_refused_and_delete_spares_them() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    create_bucket(&s3, "src-bucket", REGION).await;
    create_bucket(&s3, "dst-bucket", REGION).await;
    let spec = |rules: &str, map: &str| {
        format!(
            "version: 1\nname: demo\nsource:\n  bucket: src-bucket\n  account_id: \"123456789012\"\n  region: {REGION}\n  kms_admins: [arn:aws:iam::123456789012:role/kms-admin]\n\
             destination:\n  bucket: dst-bucket\n  account_id: \"123456789012\"\n  region: {REGION}\n  kms_admins: [arn:aws:iam::123456789012:role/kms-admin]\n\
             copy_role:\n  name: copier\n  account: source\n  trusted_principals: [arn:aws:iam::123456789012:role/engineer]\n\
             replication:\n  rules:\n{rules}copy:\n  prefix_map:\n{map}"
        )
    };
    // Replication writes `files/old reports/x` (same key); the copy would write
    // `archive/reports/x`.
    put(&s3, "src-bucket", "files/old reports/x", b"report").await;
    put(&s3, "src-bucket", "images/p.png", b"picture").await;
    put(&s3, "dst-bucket", "files/old reports/x", b"report").await; // the replica
    put(&s3, "dst-bucket", "archive/reports/x", b"report").await;
    put(&s3, "dst-bucket", "avatar/p.png", b"picture").await;
    put(&s3, "dst-bucket", "avatar/stale.png", b"no source").await;
    let dir = tempfile::tempdir().unwrap();
    let trap = dir.path().join("trap.yaml");
    std::fs::write(
        &trap,
        spec(
            "    - id: files\n      prefix: files/\n",
            "    \"files/old reports/\": \"archive/reports/\"\n",
        ),
    )
    .unwrap();
    let output = run(&["validate", trap.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "{}:23:27: error: copy.prefix_map.files/old reports/: `files/old reports/` → `archive/reports/` renames keys that replication rule `files` (prefix `files/`) replicates",
            trap.display()
        )),
        "{}",
        stderr(&output)
    );
    // The spec's destination key is created by the bundle; here one is made and named.
    let key = create_key(&plain_session(&moto.endpoint).await.kms()).await;
    let copy_args = |spec: &std::path::Path| {
        vec![
            "copy".to_string(),
            spec.to_str().unwrap().to_string(),
            "--endpoint-url".into(),
            moto.endpoint.clone(),
            "--destination-kms-key".into(),
            key.clone(),
            "--delete".into(),
            "--yes".into(),
            "--format".into(),
            "json".into(),
        ]
    };
    let args = copy_args(&trap);
    let output = run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_ne!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(keys(&s3, "dst-bucket")
        .await
        .contains_key("files/old reports/x"));

    // An accepted spec: the rule's replicas and the mapping's copies both survive
    // --delete; only what has no source under either mapping goes.
    let accepted = dir.path().join("accepted.yaml");
    std::fs::write(
        &accepted,
        spec(
            "    - id: files\n      prefix: files/\n",
            "    \"images/\": \"avatar/\"\n",
        ),
    )
    .unwrap();
    let args = copy_args(&accepted);
    let output = run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(summary(&output)["deleted"], 1);
    let left: Vec<String> = keys(&s3, "dst-bucket").await.into_keys().collect();
    assert_eq!(
        left,
        vec!["archive/reports/x", "avatar/p.png", "files/old reports/x"]
    );
}

/// Faults for the requests copy retries itself (its clients run without the SDK's
/// retries: 8 attempts with backoff); `SlowDown` storms on writes, and every
/// CreateMultipartUpload, CompleteMultipartUpload and DeleteObjects loses its first
/// reply. S3 answers a retried Complete with the object while it still remembers the
/// upload (moto always does) and NoSuchUpload once it has forgotten it (other S3
/// servers at once): the retries here get the second answer.
fn copy_faults(seed: u64) -> impl Fn(&Request) -> Option<Fault> + Send + Sync + 'static {
    let storm = std::sync::atomic::AtomicU32::new(0);
    let random = seeded(
        seed,
        0.35,
        2,
        vec![
            Fault::SlowDown,
            Fault::InternalError,
            Fault::CloseBefore,
            Fault::CloseAfter,
            Fault::Truncate,
            Fault::Delay(Duration::from_millis(150)),
        ],
        |r| r.operation != "Other" && r.operation != "ListObjectsV2",
    );
    // The listing clients keep the SDK's retries (3 attempts): one fault at most.
    let listing = seeded(
        seed,
        0.5,
        1,
        vec![
            Fault::SlowDown,
            Fault::InternalError,
            Fault::CloseBefore,
            Fault::Delay(Duration::from_millis(100)),
        ],
        |r| r.operation == "ListObjectsV2",
    );
    move |request| match request.operation {
        "CompleteMultipartUpload" | "CreateMultipartUpload" if request.attempt == 1 => {
            Some(Fault::CloseAfter)
        }
        "CompleteMultipartUpload" => Some(Fault::Error(404, "NoSuchUpload")),
        "DeleteObjects" if request.attempt == 1 => Some(Fault::CloseAfter),
        "DeleteObjects" => Some(Fault::Refuse),
        "CopyObject" | "UploadPartCopy"
            if request.attempt <= 3
                && storm.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 25 =>
        {
            Some(Fault::SlowDown)
        }
        _ => listing(request).or_else(|| random(request)),
    }
}

/// Faults for verify, whose clients keep the SDK's standard retries (3 attempts).
fn verify_faults(seed: u64) -> impl Fn(&Request) -> Option<Fault> + Send + Sync + 'static {
    let reads = seeded(
        seed ^ 0x5eed,
        0.4,
        2,
        vec![
            Fault::SlowDown,
            Fault::InternalError,
            Fault::CloseBefore,
            Fault::CloseAfter,
            Fault::Delay(Duration::from_millis(150)),
        ],
        |r| r.operation != "Other",
    );
    // A body cut off mid-way is read again by verify itself.
    let bodies = seeded(seed ^ 0xb0d1e5, 0.5, 2, vec![Fault::Truncate], |r| {
        r.operation == "GetObject"
    });
    move |request| bodies(request).or_else(|| reads(request))
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_then_verify_through_a_bad_wire_end_right_in_one_run() {
    let seed = seed();
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    for i in 0..40 {
        put(
            &s3,
            "src",
            &format!("d/{:02}/object {i}", i % 7),
            format!("body {i}").as_bytes(),
        )
        .await;
    }
    put(&s3, "src", "d/ü ñ/+ 100%.txt", b"unicode").await;
    for i in 0..3 {
        put_multipart(&s3, "src", &format!("d/big-{i}.bin"), &[5, 5, 1]).await;
    }
    put(&s3, "dst", "d/stale-1", b"only in the destination").await;
    put(&s3, "dst", "d/stale-2", b"only in the destination").await;
    let upstream = moto.endpoint.trim_start_matches("http://").to_string();
    let proxy = FaultProxy::start(&upstream, copy_faults(seed));
    let output = run(&[
        "copy",
        "s3://src/d/",
        "s3://dst/d/",
        "--endpoint-url",
        &proxy.endpoint,
        "--source-region",
        REGION,
        "--concurrency",
        "8",
        "--delete",
        "--yes",
        "--format",
        "json",
        "--quiet",
    ])
    .await;
    let context = format!("seed {seed}, faults {}", proxy.summary());
    assert!(output.status.success(), "{context}\n{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(summary["failed"], 0, "{context}\n{summary}");
    assert_eq!(summary["copied"], 44, "{context}\n{summary}");
    assert_eq!(summary["deleted"], 2, "{context}\n{summary}");
    // Each Complete lost its first reply: settled by HEAD, not failed.
    assert!(
        summary["lost_replies_settled"].as_u64().unwrap() >= 3,
        "{summary}"
    );
    for (operation, fault) in [
        ("CompleteMultipartUpload", "CloseAfter"),
        ("CompleteMultipartUpload", "NoSuchUpload"),
        ("CreateMultipartUpload", "CloseAfter"),
        ("DeleteObjects", "CloseAfter"),
        ("*", "SlowDown"),
        ("*", "InternalError"),
        ("*", "CloseBefore"),
        ("*", "Truncate"),
        ("*", "Delay"),
    ] {
        assert!(
            proxy.injected(operation, fault) > 0,
            "no {fault} on {operation}: {context}"
        );
    }
    assert_eq!(
        objects(&s3, "dst").await,
        objects(&s3, "src").await,
        "{context}"
    );
    assert_eq!(open_uploads(&s3, "dst").await, vec![], "{context}");

    // Verify through the same kind of wire: one object in each class, and one pair only
    // the bytes settle (the same content in another part layout: --deep reads it).
    s3.delete_object()
        .bucket("dst")
        .key("d/00/object 0")
        .send()
        .await
        .unwrap();
    put(&s3, "dst", "d/extra", b"extra").await;
    put(&s3, "dst", "d/01/object 1", b"a longer body than before").await;
    put(&s3, "dst", "d/02/object 2", b"BODY 2").await; // same size, other bytes
    let body = s3
        .get_object()
        .bucket("src")
        .key("d/big-1.bin")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    put_parts(
        &s3,
        "dst",
        "d/big-1.bin",
        &body,
        &[6 << 20, body.len() - (6 << 20)],
    )
    .await;
    let proxy = FaultProxy::start(&upstream, verify_faults(seed));
    let output = run(&[
        "verify",
        "s3://src/d/",
        "s3://dst/d/",
        "--endpoint-url",
        &proxy.endpoint,
        "--source-region",
        REGION,
        "--destination-region",
        REGION,
        "--deep",
        "--format",
        "json",
    ])
    .await;
    let context = format!("seed {seed}, faults {}", proxy.summary());
    assert_eq!(
        output.status.code(),
        Some(1),
        "{context}\n{}",
        stderr(&output)
    );
    let verified: Value = serde_json::from_slice(&output.stdout).unwrap();
    let classes: BTreeMap<String, u64> = verified["classes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(
        classes,
        BTreeMap::from([
            ("match".to_string(), 41),
            ("missing".to_string(), 1),
            ("extra".to_string(), 1),
            ("size_mismatch".to_string(), 1),
            ("content_mismatch".to_string(), 1),
            ("unverified".to_string(), 0),
        ]),
        "{context}\n{verified}"
    );
    assert!(
        verified["settled_by"]["deep"].as_u64().unwrap() >= 1,
        "{verified}"
    );
    for fault in [
        "SlowDown",
        "InternalError",
        "CloseBefore",
        "CloseAfter",
        "Truncate",
    ] {
        assert!(proxy.injected("*", fault) > 0, "no {fault}: {context}");
    }
    // Tier 1 counts what was listed, not only the pairs the listings settled.
    assert!(
        stderr(&output).contains("44 source and 44 destination objects listed"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_copy_reply_then_a_changed_source_is_settled_not_failed() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    put(&s3, "src", "k", b"first").await;
    let listed = keys(&s3, "src").await["k"].clone();
    let upstream = moto.endpoint.trim_start_matches("http://").to_string();
    let endpoint = moto.endpoint.clone();
    // The first CopyObject is carried out, then (before its reply, which is lost) the
    // source is overwritten with as many bytes: the retry's CopySourceIfMatch fails.
    let proxy = FaultProxy::start(&upstream, move |request| {
        let endpoint = endpoint.clone();
        (request.operation == "CopyObject" && request.attempt == 1).then(|| {
            Fault::CloseAfterThen(std::sync::Arc::new(move || {
                // On the proxy's thread: a runtime and a client of its own.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let s3 = plain_session(&endpoint).await.s3();
                    put(&s3, "src", "k", b"FIRST").await;
                });
            }))
        })
    });
    let output = run(&[
        "copy",
        "s3://src",
        "s3://dst",
        "--endpoint-url",
        &proxy.endpoint,
        "--source-region",
        REGION,
        "--format",
        "json",
        "--quiet",
    ])
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(
        (
            summary["copied"].as_u64(),
            summary["lost_replies_settled"].as_u64()
        ),
        (Some(1), Some(1)),
        "{summary}"
    );
    assert_eq!(proxy.requests("CopyObject"), 2);
    assert_eq!(
        keys(&s3, "dst").await["k"],
        listed,
        "the listed version was copied"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_verify_cleanly_with_its_report_written() {
    let moto = Moto::start();
    let s3 = plain_session(&moto.endpoint).await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    // Same sizes, other bytes: every pair goes to tier 2, whose HEADs the proxy slows.
    for i in 0..30 {
        put(&s3, "src", &format!("v/{i:02}"), b"source").await;
        put(&s3, "dst", &format!("v/{i:02}"), b"SOURCE").await;
    }
    let upstream = moto.endpoint.trim_start_matches("http://").to_string();
    let proxy = FaultProxy::start(&upstream, |request| {
        (request.operation == "HeadObject").then_some(Fault::Delay(Duration::from_secs(2)))
    });
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("verify.jsonl");
    let mut child = command(&[
        "verify",
        "s3://src/v/",
        "s3://dst/v/",
        "--endpoint-url",
        &proxy.endpoint,
        "--source-region",
        REGION,
        "--destination-region",
        REGION,
        "--concurrency",
        "4",
        "--report",
        report_path.to_str().unwrap(),
        "--format",
        "json",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.requests("HeadObject") == 0 {
        assert!(Instant::now() < deadline, "tier 2 did not start");
        assert!(child.try_wait().unwrap().is_none(), "verify ended early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(&child, "TERM");
    let output = wait(child).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let verified: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verified["verdict"], "interrupted", "{verified}");
    assert!(
        verified["interrupted"]
            .as_str()
            .unwrap()
            .starts_with("interrupted by SIGTERM"),
        "{verified}"
    );
    // The pairs in flight were finished and reported; the rest were not compared.
    let mismatched = verified["classes"]["content_mismatch"].as_u64().unwrap();
    assert!((1..30).contains(&mismatched), "{verified}");
    let lines = std::fs::read_to_string(&report_path).unwrap();
    assert_eq!(lines.lines().count() as u64, mismatched, "{lines}");
}
