//! `s3bridge restore` and `verify --as-of` on moto: versioned buckets with a scripted
//! timeline (puts, overwrites, deletes, a multipart overwrite, a deleted-then-recreated
//! key, keys with spaces and unicode) written to the source and, as replication would,
//! to the replica; restores from the replica as of three times, each key checked against
//! the timeline; verify --as-of exits 0 after a restore and 1 after tampering;
//! --delete-newer deletes exactly the newer keys; a rerun copies nothing.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use serde_json::Value;
use support::moto::Moto;
use support::objects::{create_key, put_multipart, put_parts};
use support::{create_bucket, put, REGION};

const SOURCE: &str = "annalise-ai-datalake";
const REPLICA: &str = "harrison-ai-landing";

/// The example spec with the source's key set to `key_arn` (restores into the source
/// are encrypted with it).
fn spec(dir: &std::path::Path, key_arn: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(support::fixture("specs/example.yaml")).unwrap();
    let text = text.replacen("kms_key: create", &format!("kms_key: {key_arn}"), 1);
    let path = dir.join("spec.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs s3bridge; returns the exit code, stdout and stderr.
fn run(args: &[&str], envs: &[(String, String)]) -> (i32, String, String) {
    let output = support::s3bridge_with(args, envs);
    (
        output.status.code().unwrap_or(-1),
        support::stdout(&output),
        support::stderr(&output),
    )
}

/// `restore SPEC --as-of TIME ARGS --format json`: the exit code and the summary.
fn restore(spec: &str, time: &str, args: &[&str], envs: &[(String, String)]) -> (i32, Value) {
    let mut all = vec!["restore", spec, "--as-of", time, "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(&all, envs);
    let summary = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("no JSON summary ({e}): {out:?}, stderr {err}"));
    (code, summary)
}

/// `verify SPEC --as-of TIME ARGS --format json`: the exit code and the summary.
fn verify(spec: &str, time: &str, args: &[&str], envs: &[(String, String)]) -> (i32, Value) {
    let mut all = vec!["verify", spec, "--as-of", time, "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(&all, envs);
    let summary = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("no JSON summary ({e}): {out:?}, stderr {err}"));
    (code, summary)
}

async fn versioned(s3: &aws_sdk_s3::Client, bucket: &str) {
    create_bucket(s3, bucket, REGION).await;
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The replica's key of a source key (the spec's copy.prefix_map: images/ → avatar/).
fn replica_key(key: &str) -> String {
    match key.strip_prefix("images/") {
        Some(rest) => format!("avatar/{rest}"),
        None => key.to_string(),
    }
}

/// A write to the source and, as replication would, to the replica.
async fn put_both(s3: &aws_sdk_s3::Client, key: &str, body: &[u8]) {
    put(s3, SOURCE, key, body).await;
    put(s3, REPLICA, &replica_key(key), body).await;
}

/// A deletion in both (a delete marker each, as delete marker replication would).
async fn delete_both(s3: &aws_sdk_s3::Client, key: &str) {
    for (bucket, key) in [(SOURCE, key.to_string()), (REPLICA, replica_key(key))] {
        s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }
}

/// The current content of every key of the source under scans/ and images/.
async fn contents(s3: &aws_sdk_s3::Client) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (key, _) in support::objects::keys(s3, SOURCE).await {
        let got = s3
            .get_object()
            .bucket(SOURCE)
            .key(&key)
            .send()
            .await
            .unwrap();
        let body = got.body.collect().await.unwrap().into_bytes().to_vec();
        out.insert(key, body);
    }
    out
}

/// Now, RFC 3339, with a pause either side so that no write shares its second (S3
/// keeps LastModified in whole seconds).
async fn mark() -> String {
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let time = aws_sdk_s3::primitives::DateTime::from_millis(now)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    time
}

/// HEAD of part 1 of a source object: its size and the object's part count.
async fn first_part(
    s3: &aws_sdk_s3::Client,
    key: &str,
) -> aws_sdk_s3::operation::head_object::HeadObjectOutput {
    s3.head_object()
        .bucket(SOURCE)
        .key(key)
        .part_number(1)
        .send()
        .await
        .unwrap()
}

fn expected(entries: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn restores_as_of_three_times_and_proves_each() {
    let moto = Moto::start();
    let session = moto.session(support::SOURCE_ACCOUNT).await;
    let s3 = session.s3();
    versioned(&s3, SOURCE).await;
    versioned(&s3, REPLICA).await;
    let key_arn = create_key(&session.kms()).await;
    let scratch = tempfile::tempdir().unwrap();
    let spec_path = spec(scratch.path(), &key_arn);
    let spec = spec_path.to_str().unwrap();
    let envs = support::acting_in(scratch.path(), support::SOURCE_ACCOUNT, &moto.endpoint);
    let unicode = "scans/sub dir/ü ñ + 100%.txt";

    // Phase 0, then T0.
    put_both(&s3, "scans/a.dcm", b"a1").await;
    put_both(&s3, "scans/gone.dcm", b"gone").await;
    put_both(&s3, "scans/back.dcm", b"b1").await;
    put_both(&s3, unicode, b"u1").await;
    put_both(&s3, "images/keep.png", b"keep").await;
    put_both(&s3, "scans/skip.tmp", b"excluded by the spec").await;
    let big_v0 = put_multipart(&s3, SOURCE, "scans/big.bin", &[5, 5, 1]).await;
    assert_eq!(
        put_multipart(&s3, REPLICA, "scans/big.bin", &[5, 5, 1]).await,
        big_v0
    );
    let t0 = mark().await;
    // Phase 1: overwrites, deletions, a new key; then T1.
    put_both(&s3, "scans/a.dcm", b"a2-").await;
    delete_both(&s3, "scans/gone.dcm").await;
    delete_both(&s3, "scans/back.dcm").await;
    put_both(&s3, unicode, b"u2").await;
    put_both(&s3, "images/new.png", b"new").await;
    let t1 = mark().await;
    // Phase 2: the "bad deploy": a multipart overwrite with another layout, a recreated
    // key, another overwrite, a late key; then T2.
    let body = vec![b'z'; 6 << 20];
    let big_v2 = put_parts(&s3, SOURCE, "scans/big.bin", &body, &[5 << 20, 1 << 20]).await;
    put_parts(&s3, REPLICA, "scans/big.bin", &body, &[5 << 20, 1 << 20]).await;
    put_both(&s3, "scans/a.dcm", b"a3--").await;
    put_both(&s3, "scans/back.dcm", b"b2").await;
    put_both(&s3, "scans/late.dcm", b"late").await;
    let t2 = mark().await;

    let big_at = |v0: bool| -> Vec<u8> {
        if v0 {
            [
                vec![b'a'; 5 << 20],
                vec![b'b'; 5 << 20],
                vec![b'c'; 1 << 20],
            ]
            .concat()
        } else {
            vec![b'z'; 6 << 20]
        }
    };
    let state_t0 = expected(&[
        ("images/keep.png", b"keep"),
        ("scans/a.dcm", b"a1"),
        ("scans/back.dcm", b"b1"),
        ("scans/big.bin", &big_at(true)),
        ("scans/gone.dcm", b"gone"),
        ("scans/skip.tmp", b"excluded by the spec"),
        (unicode, b"u1"),
    ]);
    let state_t1 = expected(&[
        ("images/keep.png", b"keep"),
        ("images/new.png", b"new"),
        ("scans/a.dcm", b"a2-"),
        ("scans/big.bin", &big_at(true)),
        ("scans/skip.tmp", b"excluded by the spec"),
        (unicode, b"u2"),
    ]);
    let state_t2 = expected(&[
        ("images/keep.png", b"keep"),
        ("images/new.png", b"new"),
        ("scans/a.dcm", b"a3--"),
        ("scans/back.dcm", b"b2"),
        ("scans/big.bin", &big_at(false)),
        ("scans/late.dcm", b"late"),
        ("scans/skip.tmp", b"excluded by the spec"),
        (unicode, b"u2"),
    ]);
    assert_eq!(contents(&s3).await, state_t2);

    // The state of T2 is what the source holds: verified as is, nothing to restore.
    let (code, summary) = verify(spec, &t2, &[], &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["classes"]["match"], 7, "{summary:#}");

    // A dry run as of T0 plans, names the versions, prices, and writes nothing.
    let (code, summary) = restore(spec, &t0, &["--dry-run"], &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["to_copy"], 5, "{summary:#}");
    assert_eq!(
        summary["kept_extra"], 2,
        "new.png and late.dcm: {summary:#}"
    );
    assert_eq!(summary["skipped"], 1, "keep.png: {summary:#}");
    assert_eq!(summary["bytes"], 2 + 4 + 2 + 2 + (11 << 20), "{summary:#}");
    assert_eq!(summary["versions_chosen"].as_array().unwrap().len(), 5);
    assert!(summary["request_cost_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(
        summary["planned_requests"]["UploadPartCopy"], 3,
        "{summary:#}"
    );
    assert_eq!(contents(&s3).await, state_t2);

    // Restore as of T0: every key as it was, the multipart layout kept; the newer keys
    // listed and kept.
    let report = scratch.path().join("t0.jsonl");
    let (code, summary) = restore(spec, &t0, &["--report", report.to_str().unwrap()], &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["copied"], 5, "{summary:#}");
    assert_eq!(summary["kept_extra"], 2, "{summary:#}");
    assert_eq!(summary["requests"]["CopyObject"], 4, "{summary:#}");
    assert_eq!(summary["requests"]["UploadPartCopy"], 3, "{summary:#}");
    let mut with_newer = state_t0.clone();
    with_newer.insert("images/new.png".into(), b"new".to_vec());
    with_newer.insert("scans/late.dcm".into(), b"late".to_vec());
    assert_eq!(contents(&s3).await, with_newer);
    // The part layout of T0's version (5, 5, 1 MiB). The ETag is another: SSE-KMS with
    // the source's key (moto_server.py makes SSE-KMS ETags opaque, as S3's are).
    let head = first_part(&s3, "scans/big.bin").await;
    assert_eq!(
        (head.parts_count(), head.content_length()),
        (Some(3), Some(5 << 20))
    );
    assert_eq!(head.metadata().unwrap()["origin"], "multipart");
    assert_eq!(head.ssekms_key_id(), Some(key_arn.as_str()));
    let tags = s3
        .get_object_tagging()
        .bucket(SOURCE)
        .key("scans/big.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set()[0].key(), "layout");
    let lines: Vec<Value> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let unicode_line = lines
        .iter()
        .find(|l| l["destination_key"] == unicode)
        .unwrap();
    assert_eq!(unicode_line["action"], "copy");
    assert!(unicode_line["source_version"].is_string());
    assert!(unicode_line["source_last_modified"].as_str().unwrap() < t0.as_str());

    // The proof: extra keys fail it. The multipart version restored under the source's
    // KMS key has an opaque ETag and no checksum to compare (moto stores none for
    // multipart uploads): unverified, so exit 3 with --allow-extra, and a rerun copies
    // that one object again (copying is safe, skipping a maybe-damaged one is not).
    let (code, summary) = verify(spec, &t0, &[], &envs);
    assert_eq!(code, 1, "{summary:#}");
    let classes = |summary: &Value| {
        [
            "match",
            "extra",
            "unverified",
            "missing",
            "size_mismatch",
            "content_mismatch",
        ]
        .map(|c| summary["classes"][c].as_u64().unwrap())
    };
    assert_eq!(classes(&summary), [5, 2, 1, 0, 0, 0], "{summary:#}");
    let (code, _) = verify(spec, &t0, &["--allow-extra"], &envs);
    assert_eq!(code, 3);
    let (code, summary) = restore(spec, &t0, &[], &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["copied"], 1, "only the unprovable one: {summary:#}");
    assert_eq!(summary["skipped"], 5, "{summary:#}");
    assert!(
        summary["requests"].get("CopyObject").is_none(),
        "{summary:#}"
    );

    // --delete-newer deletes exactly the keys that did not exist at T0.
    let (code, summary) = restore(spec, &t0, &["--delete-newer"], &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["deleted"], 2, "{summary:#}");
    assert_eq!(contents(&s3).await, state_t0);
    let (code, summary) = verify(spec, &t0, &[], &envs);
    assert_eq!(code, 3, "{summary:#}");
    assert_eq!(classes(&summary), [5, 0, 1, 0, 0, 0], "{summary:#}");

    // Tampering with one object fails the proof (content, then size).
    put(&s3, SOURCE, "scans/a.dcm", b"XX").await;
    let (code, summary) = verify(spec, &t0, &[], &envs);
    assert_eq!(code, 1, "{summary:#}");
    assert_eq!(classes(&summary), [4, 0, 1, 0, 0, 1], "{summary:#}");
    put(&s3, SOURCE, "scans/a.dcm", b"longer").await;
    let (code, summary) = verify(spec, &t0, &[], &envs);
    assert_eq!(code, 1, "{summary:#}");
    assert_eq!(classes(&summary), [4, 0, 1, 0, 1, 0], "{summary:#}");

    // As of T1: the deleted keys go (deleted-then-recreated `back` too), new.png comes
    // back from the replica's avatar/.
    let (code, summary) = restore(spec, &t1, &["--delete-newer"], &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["deleted"], 2, "gone.dcm and back.dcm: {summary:#}");
    assert_eq!(contents(&s3).await, state_t1);
    let (code, summary) = verify(spec, &t1, &[], &envs);
    assert_eq!(code, 3, "{summary:#}");
    assert_eq!(classes(&summary), [4, 0, 1, 0, 0, 0], "{summary:#}");

    // As of T2: back where the timeline ended, multipart overwrite included.
    let (code, summary) = restore(spec, &t2, &["--delete-newer"], &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(contents(&s3).await, state_t2);
    let head = first_part(&s3, "scans/big.bin").await;
    assert_eq!(
        (head.parts_count(), head.content_length()),
        (Some(2), Some(5 << 20))
    );

    // Beside the data, into a bucket without a KMS key: ETags are MD5s, so the multipart
    // copy's ETag proves its layout, every restore verifies (exit 0) and reruns copy
    // nothing.
    versioned(&s3, "restored-copy").await;
    let to = ["--to", "s3://restored-copy/incident/"];
    for (time, state) in [(&t0, &state_t0), (&t1, &state_t1), (&t2, &state_t2)] {
        let args = [&to[..], &["--delete-newer"]].concat();
        let (code, summary) = restore(spec, time, &args, &envs);
        assert_eq!(code, 0, "{summary:#}");
        let (code, summary) = restore(spec, time, &to, &envs);
        assert_eq!(code, 0, "{summary:#}");
        assert_eq!(summary["copied"], 0, "a rerun copies nothing: {summary:#}");
        assert_eq!(summary["kept_extra"], 0, "{summary:#}");
        let (code, summary) = verify(spec, time, &to, &envs);
        assert_eq!(code, 0, "{summary:#}");
        let restored: BTreeMap<String, String> = support::objects::keys(&s3, "restored-copy")
            .await
            .into_keys()
            .map(|k| (k.clone(), k))
            .collect();
        let expected_keys: BTreeMap<String, String> = state
            .keys()
            .filter(|k| !k.ends_with(".tmp"))
            .map(|k| (format!("incident/{k}"), format!("incident/{k}")))
            .collect();
        assert_eq!(restored, expected_keys);
    }
    let etag = s3
        .head_object()
        .bucket("restored-copy")
        .key("incident/scans/big.bin")
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .trim_matches('"')
        .to_string();
    assert_eq!(etag, big_v2);
}

#[test]
fn bad_times_and_prefixes_are_usage_errors() {
    let spec = support::fixture("specs/example.yaml");
    let spec = spec.to_str().unwrap();
    for (args, says) in [
        (vec!["--as-of", "yesterday"], "not an RFC 3339 time"),
        (vec!["--as-of", "2999-01-01T00:00:00Z"], "in the future"),
        (
            vec!["--as-of", "2026-01-01T00:00:00Z", "--prefix", "logs/"],
            "outside what the spec replicates",
        ),
        (
            vec!["--as-of", "2026-01-01T00:00:00Z", "--to", "elsewhere"],
            "neither `source` nor an s3:// URL",
        ),
    ] {
        let mut all = vec!["restore", spec];
        all.extend_from_slice(&args);
        let output = support::s3bridge(&all);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            support::stderr(&output).contains(says),
            "{args:?}: {}",
            support::stderr(&output)
        );
    }
    let output = support::s3bridge(&["restore", spec]);
    assert_eq!(output.status.code(), Some(2));
    assert!(support::stderr(&output).contains("--as-of"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_restore_then_rerun_restores_only_the_rest() {
    let moto = Moto::start();
    let session = moto.session(support::SOURCE_ACCOUNT).await;
    let s3 = session.s3();
    versioned(&s3, SOURCE).await;
    versioned(&s3, REPLICA).await;
    versioned(&s3, "restored-copy").await;
    let scratch = tempfile::tempdir().unwrap();
    let spec_path = spec(scratch.path(), &create_key(&session.kms()).await);
    let spec = spec_path.to_str().unwrap();
    let envs = support::acting_in(scratch.path(), support::SOURCE_ACCOUNT, &moto.endpoint);
    const OBJECTS: usize = 300;
    for i in 0..OBJECTS {
        put(
            &s3,
            REPLICA,
            &format!("scans/{:02}/o-{i:04}", i % 10),
            b"v1",
        )
        .await;
    }
    let t0 = mark().await;
    for i in (0..OBJECTS).step_by(2) {
        put(
            &s3,
            REPLICA,
            &format!("scans/{:02}/o-{i:04}", i % 10),
            b"v2",
        )
        .await;
    }
    let args = [
        "restore",
        spec,
        "--as-of",
        &t0,
        "--to",
        "s3://restored-copy/incident/",
        "--concurrency",
        "1",
        "--quiet",
    ];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_s3bridge"))
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let count = || async { support::objects::keys(&s3, "restored-copy").await.len() };
    while count().await < 25 {
        assert!(
            std::time::Instant::now() < deadline,
            "the restore did not start"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the restore ended before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL: no cleanup, no state written
    child.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = support::objects::keys(&s3, "restored-copy").await;
    assert!(before.len() < OBJECTS, "killed too late");

    let report = scratch.path().join("rerun.jsonl");
    let (code, summary) = restore(
        spec,
        &t0,
        &[
            "--to",
            "s3://restored-copy/incident/",
            "--report",
            report.to_str().unwrap(),
        ],
        &envs,
    );
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(
        summary["copied"].as_u64().unwrap() as usize,
        OBJECTS - before.len(),
        "{summary:#}"
    );
    assert_eq!(summary["skipped"].as_u64().unwrap() as usize, before.len());
    for line in std::fs::read_to_string(&report).unwrap().lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        if line["action"] == "copy" {
            let key = line["destination_key"].as_str().unwrap();
            assert!(!before.contains_key(key), "{key} was restored twice");
        }
    }
    let (code, summary) = verify(spec, &t0, &["--to", "s3://restored-copy/incident/"], &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["classes"]["match"], OBJECTS as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn from_source_rolls_back_in_place() {
    let moto = Moto::start();
    let session = moto.session(support::SOURCE_ACCOUNT).await;
    let s3 = session.s3();
    versioned(&s3, SOURCE).await;
    versioned(&s3, REPLICA).await;
    let scratch = tempfile::tempdir().unwrap();
    let spec_path = spec(scratch.path(), &create_key(&session.kms()).await);
    let spec = spec_path.to_str().unwrap();
    let envs = support::acting_in(scratch.path(), support::SOURCE_ACCOUNT, &moto.endpoint);
    put(&s3, SOURCE, "scans/x.dcm", b"good").await;
    put(&s3, SOURCE, "images/y.png", b"good").await;
    let t0 = mark().await;
    put(&s3, SOURCE, "scans/x.dcm", b"ransomed").await;
    s3.delete_object()
        .bucket(SOURCE)
        .key("images/y.png")
        .send()
        .await
        .unwrap();
    put(&s3, SOURCE, "scans/x.dcm.locked", b"note").await;

    let from = ["--from", "source", "--delete-newer"];
    let (code, summary) = restore(spec, &t0, &from, &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(
        (&summary["copied"], &summary["deleted"]),
        (&2.into(), &1.into())
    );
    assert_eq!(
        contents(&s3).await,
        expected(&[("images/y.png", b"good"), ("scans/x.dcm", b"good")])
    );
    // The restored copies are new versions, later than T0: the state of T0 is unchanged,
    // so the proof holds and a rerun has nothing to do.
    let (code, summary) = verify(spec, &t0, &["--from", "source"], &envs);
    assert_eq!(code, 0, "{summary:#}");
    let (code, summary) = restore(spec, &t0, &from, &envs);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(
        (&summary["copied"], &summary["deleted"]),
        (&0.into(), &0.into())
    );
}

#[test]
fn the_restore_role_needs_the_spec_section() {
    let spec = support::fixture("specs/example.yaml");
    let output = support::s3bridge(&[
        "restore",
        spec.to_str().unwrap(),
        "--as-of",
        "2026-01-01T00:00:00Z",
        "--assume-restore-role",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        support::stderr(&output).contains("needs the spec's `restore:` section"),
        "{}",
        support::stderr(&output)
    );
}
