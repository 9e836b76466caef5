//! `s3bridge copy` against sources that are not simply there to be copied: keys an
//! `--include` leaves out, a source overwritten between the listing and its copy (the
//! copy's `CopySourceIfMatch` must lose the race, not copy the new bytes under the old
//! listing's name), and archived objects S3 refuses to copy (InvalidObjectState). The
//! harness answers the last two as S3 does (moto_server.py: copy preconditions and
//! archived sources).

mod support;

use std::collections::BTreeMap;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_s3::types::StorageClass;
use serde_json::Value;
use support::fault_proxy::FaultProxy;
use support::moto::Moto;
use support::{create_bucket, put, stderr, REGION};

/// Runs `s3bridge copy ARGS --format json --quiet --report REPORT`; returns the output,
/// the summary and the report's lines by source key.
async fn copy(args: &[&str], report: &std::path::Path) -> (Output, Value, BTreeMap<String, Value>) {
    let mut all = vec!["copy"];
    all.extend_from_slice(args);
    all.extend_from_slice(&[
        "--format",
        "json",
        "--quiet",
        "--report",
        report.to_str().unwrap(),
    ]);
    let mut command = support::isolated_command(&all, &[]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let summary: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "no JSON summary ({e}): {text:?}, stderr {}",
            stderr(&output)
        )
    });
    let lines = std::fs::read_to_string(report)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|l| (l["source_key"].as_str().unwrap_or_default().to_string(), l))
        .collect();
    (output, summary, lines)
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    listed
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_string())
        .collect()
}

async fn body(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    object.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn include_copies_only_the_keys_it_names() {
    let moto = Moto::start();
    let s3 = moto.plain_session().await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    for key in [
        "scans/a.dcm",
        "scans/b.dcm",
        "scans/notes.txt",
        "images/c.dcm",
        "x.dcm",
    ] {
        put(&s3, "src", key, key.as_bytes()).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (output, summary, _) = copy(
        &[
            "s3://src/",
            "s3://dst/",
            "--endpoint-url",
            &moto.endpoint,
            "--include",
            "scans/*.dcm",
            "--include",
            "x.*",
        ],
        &dir.path().join("report.jsonl"),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(summary["copied"], 3, "{summary}");
    assert_eq!(
        keys(&s3, "dst").await,
        ["scans/a.dcm", "scans/b.dcm", "x.dcm"]
    );
}

/// Overwrites an object from a plain thread (the proxy's hook), on a runtime of its own.
fn overwrite(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &'static [u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(put(s3, bucket, key, body));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_overwritten_after_the_listing_is_not_copied_under_its_old_etag() {
    let moto = Moto::start();
    let s3 = moto.plain_session().await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    put(&s3, "src", "racy.txt", b"the listed version").await;
    put(&s3, "src", "calm.txt", b"unchanged").await;
    // When the copy of racy.txt reaches the server, the source has just been overwritten.
    let raced = Arc::new(AtomicBool::new(false));
    let proxy = {
        let (raced, s3) = (raced.clone(), s3.clone());
        FaultProxy::start(
            moto.endpoint.trim_start_matches("http://"),
            move |request| {
                if request.method == "PUT"
                    && request.path == "/dst/racy.txt"
                    && !raced.swap(true, Ordering::SeqCst)
                {
                    overwrite(&s3, "src", "racy.txt", b"written during the copy");
                }
                None
            },
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let args = ["s3://src/", "s3://dst/", "--endpoint-url", &proxy.endpoint];
    let (output, summary, lines) = copy(&args, &report).await;
    assert!(
        raced.load(Ordering::SeqCst),
        "the copy never reached the proxy"
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "{summary}\n{}",
        stderr(&output)
    );
    assert_eq!(
        (&summary["copied"], &summary["failed"]),
        (&Value::from(1), &Value::from(1)),
        "{summary}"
    );
    let racy = &lines["racy.txt"];
    assert_eq!(racy["result"], "failed", "{racy}");
    assert!(
        racy["error"]
            .as_str()
            .unwrap()
            .contains("the source changed after it was listed"),
        "{racy}"
    );
    assert_eq!(
        keys(&s3, "dst").await,
        ["calm.txt"],
        "nothing copied under the old ETag"
    );

    // A rerun lists the new version and copies it.
    let (output, summary, _) = copy(&args, &report).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{summary}\n{}",
        stderr(&output)
    );
    assert_eq!(
        body(&s3, "dst", "racy.txt").await,
        b"written during the copy"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn archived_sources_fail_with_invalid_object_state_and_the_rest_is_copied() {
    let moto = Moto::start();
    let s3 = moto.plain_session().await.s3();
    create_bucket(&s3, "src", REGION).await;
    create_bucket(&s3, "dst", REGION).await;
    put(&s3, "src", "warm.txt", b"warm").await;
    for (key, class) in [
        ("cold.txt", StorageClass::Glacier),
        ("frozen.txt", StorageClass::DeepArchive),
    ] {
        s3.put_object()
            .bucket("src")
            .key(key)
            .storage_class(class)
            .body(b"archived".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (output, summary, lines) = copy(
        &["s3://src/", "s3://dst/", "--endpoint-url", &moto.endpoint],
        &dir.path().join("report.jsonl"),
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "{summary}\n{}",
        stderr(&output)
    );
    assert_eq!(
        (&summary["copied"], &summary["failed"]),
        (&Value::from(1), &Value::from(2)),
        "{summary}"
    );
    for key in ["cold.txt", "frozen.txt"] {
        let line = &lines[key];
        assert_eq!(line["result"], "failed", "{line}");
        assert!(
            line["error"]
                .as_str()
                .unwrap()
                .contains("InvalidObjectState"),
            "{line}"
        );
    }
    assert_eq!(keys(&s3, "dst").await, ["warm.txt"]);
}
