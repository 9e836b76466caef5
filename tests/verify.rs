//! `s3bridge verify` end to end on moto: one object in every class, exit codes, a
//! multipart object re-uploaded with another part layout (unverified without --deep,
//! matched with it), unicode keys, prefix remapping (ad hoc and from a spec), the
//! report file, JUnit read back by an independent XML parser, SSE-KMS buckets, and the
//! same buckets read through generated S3 Inventories giving the same answer.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use s3bridge::aws::{Access, Session};
use serde_json::Value;
use support::objects::put_parts;
use support::{moto::Moto, put, REGION};

/// A client in moto's default account; `checksums: false` uploads without additional
/// checksums (as objects written before 2025 are).
async fn client(moto: &Moto, checksums: bool) -> aws_sdk_s3::Client {
    let session = Session::connect(&Access {
        endpoint_url: Some(moto.endpoint.clone()),
        ..Access::new(REGION)
    })
    .await
    .unwrap();
    let s3 = session.s3();
    if checksums {
        s3
    } else {
        without_checksums(&s3)
    }
}

/// `s3` sending checksums only where S3 requires them (objects stored without one).
fn without_checksums(s3: &aws_sdk_s3::Client) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        s3.config()
            .to_builder()
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .build(),
    )
}

async fn bucket(s3: &aws_sdk_s3::Client, name: &str) {
    support::create_bucket(s3, name, REGION).await;
}

/// Runs the CLI; returns the exit code and stdout.
fn run(moto: &Moto, args: &[&str]) -> (i32, String) {
    run_in(moto, args, &[])
}

/// Runs the CLI with `envs` (e.g. `support::acting_in`: spec mode checks the accounts).
fn run_in(moto: &Moto, args: &[&str], envs: &[(String, String)]) -> (i32, String) {
    let mut all: Vec<&str> = vec!["verify"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--endpoint-url", &moto.endpoint]);
    let output = support::s3bridge_with(&all, envs);
    let code = output.status.code().unwrap_or(-1);
    if code == 2 {
        eprintln!("stderr of {args:?}:\n{}", support::stderr(&output));
    }
    (code, support::stdout(&output))
}

fn json(moto: &Moto, args: &[&str]) -> (i32, Value) {
    json_in(moto, args, &[])
}

fn json_in(moto: &Moto, args: &[&str], envs: &[(String, String)]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--format", "json"]);
    let (code, out) = run_in(moto, &all, envs);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}")),
    )
}

fn classes(summary: &Value) -> BTreeMap<String, u64> {
    summary["classes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

fn expect(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    let mut all: BTreeMap<String, u64> = [
        "match",
        "missing",
        "extra",
        "size_mismatch",
        "content_mismatch",
        "unverified",
    ]
    .iter()
    .map(|c| (c.to_string(), 0))
    .collect();
    for (class, n) in pairs {
        all.insert(class.to_string(), *n);
    }
    all
}

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn every_class_exit_codes_reports_and_inventories() {
    let moto = Moto::start();
    let s3 = client(&moto, true).await;
    let plain = client(&moto, false).await;
    bucket(&s3, "vsrc").await;
    bucket(&s3, "vdst").await;
    // data/ → copy/: one key in every class.
    put(&s3, "vsrc", "data/match.txt", b"same").await;
    put(&s3, "vdst", "copy/match.txt", b"same").await;
    put(&s3, "vsrc", "data/ünï cödé+plus/€.txt", b"unicode").await;
    put(&s3, "vdst", "copy/ünï cödé+plus/€.txt", b"unicode").await;
    put(&s3, "vsrc", "data/missing.txt", b"gone").await;
    put(&s3, "vdst", "copy/extra.txt", b"surplus").await;
    put(&s3, "vsrc", "data/size.txt", b"abc").await;
    put(&s3, "vdst", "copy/size.txt", b"abcd").await;
    put(&plain, "vsrc", "data/content.txt", b"aaaa").await;
    put(&plain, "vdst", "copy/content.txt", b"bbbb").await;
    // The same 11 MiB re-uploaded with another part layout.
    let big: Vec<u8> = (0..11 * MIB).map(|i| (i * 7 % 251) as u8).collect();
    put_parts(
        &plain,
        "vsrc",
        "data/relayout.bin",
        &big,
        &[5 * MIB, 5 * MIB, MIB],
    )
    .await;
    put_parts(
        &plain,
        "vdst",
        "copy/relayout.bin",
        &big,
        &[5 * MIB, 6 * MIB],
    )
    .await;
    put(&s3, "vsrc", "elsewhere/not-compared.txt", b"x").await;
    // mp/ → mp-copy/: only the re-layout, for exit code 3 and --deep.
    put_parts(
        &plain,
        "vsrc",
        "mp/relayout.bin",
        &big,
        &[5 * MIB, 5 * MIB, MIB],
    )
    .await;
    put_parts(
        &plain,
        "vdst",
        "mp-copy/relayout.bin",
        &big,
        &[5 * MIB, 6 * MIB],
    )
    .await;
    // ok/ → ok-copy/: all match, plus an extra.
    put(&s3, "vsrc", "ok/a", b"a").await;
    put(&s3, "vdst", "ok-copy/a", b"a").await;
    put(&s3, "vdst", "ok-copy/surplus", b"s").await;

    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.csv");
    let report_arg = report.to_str().unwrap();
    let region = ["--source-region", REGION, "--destination-region", REGION];
    let mut args = vec!["s3://vsrc/data", "s3://vdst/copy/", "--report", report_arg];
    args.extend_from_slice(&region);
    let (code, summary) = json(&moto, &args);
    assert_eq!(code, 1, "{summary:#}");
    let every_class = expect(&[
        ("match", 2),
        ("missing", 1),
        ("extra", 1),
        ("size_mismatch", 1),
        ("content_mismatch", 1),
        ("unverified", 1),
    ]);
    assert_eq!(classes(&summary), every_class, "{summary:#}");
    // Each key counted once per side: 6 source, 6 destination objects.
    assert_eq!(summary["source"]["objects"], 6);
    assert_eq!(summary["destination"]["objects"], 6);
    assert_eq!(
        summary["source"]["bytes"],
        4 + 7 + 4 + 3 + 4 + 11 * MIB as u64
    );
    assert_eq!(summary["verdict"], "failed");
    // The content mismatch needed HEADs; nothing was read without --deep.
    assert!(
        summary["requests"]["HeadObject"].as_u64().unwrap() >= 4,
        "{summary:#}"
    );
    assert!(
        summary["requests"].get("GetObject").is_none(),
        "{summary:#}"
    );
    let unverified = &summary["examples"]["unverified"][0];
    assert_eq!(unverified["destination_key"], "copy/relayout.bin");

    // The report has every non-matching key, keys intact.
    let text = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 5, "{text}");
    assert!(lines[0].starts_with("class,tier,reason,source_key,destination_key"));
    for expected in [
        "missing,1,not in the destination,data/missing.txt,copy/missing.txt,4,",
        "extra,1,not in the source,data/extra.txt,copy/extra.txt,,7,",
        "size_mismatch,1,",
        "content_mismatch,2,",
        "unverified,2,",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "{expected} in {text}"
        );
    }

    // JSON Lines too.
    let jsonl = dir.path().join("report.jsonl");
    let mut args = vec![
        "s3://vsrc/data",
        "s3://vdst/copy",
        "--report",
        jsonl.to_str().unwrap(),
    ];
    args.extend_from_slice(&region);
    let (code, _) = run(&moto, &args);
    assert_eq!(code, 1);
    let lines: Vec<Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let missing = lines.iter().find(|l| l["class"] == "missing").unwrap();
    assert_eq!(missing["destination"], Value::Null);
    assert_eq!(missing["source"]["size"], 4);

    // --deep settles the re-layout (the source's multipart ETag recomputed from the
    // destination's bytes and layout) and reads only that pair.
    let mut args = vec!["s3://vsrc/data", "s3://vdst/copy", "--deep"];
    args.extend_from_slice(&region);
    let (code, summary) = json(&moto, &args);
    assert_eq!(code, 1);
    assert_eq!(
        classes(&summary),
        expect(&[
            ("match", 3),
            ("missing", 1),
            ("extra", 1),
            ("size_mismatch", 1),
            ("content_mismatch", 1),
        ]),
        "{summary:#}"
    );
    assert_eq!(summary["settled_by"]["deep"], 1);
    assert_eq!(summary["deep"]["bytes_read"], 11 * MIB as u64);

    // Exit codes: 3 when only unverified objects remain, 0 when all match.
    let mut args = vec!["s3://vsrc/mp", "s3://vdst/mp-copy"];
    args.extend_from_slice(&region);
    let (code, summary) = json(&moto, &args);
    assert_eq!((code, classes(&summary)), (3, expect(&[("unverified", 1)])));
    args.push("--deep");
    let (code, summary) = json(&moto, &args);
    assert_eq!((code, classes(&summary)), (0, expect(&[("match", 1)])));
    let mut args = vec!["s3://vsrc/mp", "s3://vdst/mp-copy", "--sample", "1"];
    args.extend_from_slice(&region);
    let (code, summary) = json(&moto, &args);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["deep"]["sample"]["checked"], 1);
    let mut args = vec!["s3://vsrc/ok", "s3://vdst/ok-copy"];
    args.extend_from_slice(&region);
    assert_eq!(run(&moto, &args).0, 1);
    args.push("--allow-extra");
    let (code, text) = run(&moto, &args);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("VERIFIED"), "{text}");
    let (code, _) = run(
        &moto,
        &[
            "s3://no-such-bucket",
            "s3://vdst",
            "--source-region",
            REGION,
            "--destination-region",
            REGION,
        ],
    );
    assert_eq!(code, 2);

    // JUnit, read back by Python's XML parser.
    let mut args = vec!["s3://vsrc/data", "s3://vdst/copy", "--format", "junit"];
    args.extend_from_slice(&region);
    let (code, xml) = run(&moto, &args);
    assert_eq!(code, 1);
    let parsed = parse_junit(&xml);
    assert_eq!(parsed["tests"], 6, "{xml}");
    assert_eq!(parsed["failures"], 5, "{xml}");
    assert_eq!(parsed["failed"]["missing"], "1 objects missing (4 B)");
    assert!(parsed["failed"].get("match").is_none());
    assert!(parsed["details"]["unverified"]
        .as_str()
        .unwrap()
        .contains("data/relayout.bin → copy/relayout.bin"));

    // The same buckets through S3 Inventories (shuffled rows, several data files, keys
    // URL-encoded): the same classes as the live listing.
    let mirror = dir.path().join("mirror");
    let source_manifest = inventory_of(&s3, "vsrc", &mirror).await;
    let destination_manifest = inventory_of(&s3, "vdst", &mirror).await;
    let mut args = vec![
        "s3://vsrc/data",
        "s3://vdst/copy",
        "--source-inventory",
        source_manifest.to_str().unwrap(),
        "--destination-inventory",
        destination_manifest.to_str().unwrap(),
    ];
    args.extend_from_slice(&region);
    let (code, summary) = json(&moto, &args);
    assert_eq!(code, 1);
    assert_eq!(classes(&summary), every_class, "{summary:#}");
    assert_eq!(
        summary["source"]["listing"],
        source_manifest.to_str().unwrap()
    );
    assert!(
        summary["requests"].get("ListObjectsV2").is_none(),
        "{summary:#}"
    );
    // One side from an inventory, the other listed.
    let mut args = vec![
        "s3://vsrc/data",
        "s3://vdst/copy",
        "--destination-inventory",
        destination_manifest.to_str().unwrap(),
    ];
    args.extend_from_slice(&region);
    let (_, summary) = json(&moto, &args);
    assert_eq!(classes(&summary), every_class, "{summary:#}");
    // An inventory of another bucket is refused.
    let mut args = vec![
        "s3://vsrc/data",
        "s3://vdst/copy",
        "--source-inventory",
        destination_manifest.to_str().unwrap(),
    ];
    args.extend_from_slice(&region);
    assert_eq!(run(&moto, &args).0, 2);
}

/// Parses JUnit XML with Python's xml.etree: totals, failure messages and details by case.
fn parse_junit(xml: &str) -> Value {
    let script = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
out = {"tests": int(root.get("tests")), "failures": int(root.get("failures")), "failed": {}, "details": {}}
for case in root.iter("testcase"):
    failure = case.find("failure")
    if failure is not None:
        out["failed"][case.get("name")] = failure.get("message")
        out["details"][case.get("name")] = failure.text
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new(support::python("moto"))
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "JUnit did not parse: {xml}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Writes a CSV inventory of `bucket` as S3 would (quoted fields, URL-encoded keys,
/// rows in no particular order, three data files) into a local mirror; returns the
/// manifest's path.
async fn inventory_of(s3: &aws_sdk_s3::Client, bucket: &str, mirror: &Path) -> std::path::PathBuf {
    let listing = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut rows: Vec<String> = listing
        .contents()
        .iter()
        .map(|o| {
            let key: String = o
                .key()
                .unwrap()
                .bytes()
                .map(|b| match b {
                    b' ' => "+".to_string(),
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!(
                "\"{bucket}\",\"{key}\",\"{}\",\"2024-05-01T10:00:00.000Z\",\"{}\",\"STANDARD\"",
                o.size().unwrap(),
                o.e_tag().unwrap().trim_matches('"')
            )
        })
        .collect();
    rows.reverse();
    let mut files = Vec::new();
    for (i, chunk) in rows.chunks(rows.len().div_ceil(3)).enumerate() {
        let key = format!("{bucket}/inv/data/part-{i}.csv.gz");
        let path = mirror.join("inventory-bucket").join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for row in chunk {
            writeln!(gz, "{row}").unwrap();
        }
        let bytes = gz.finish().unwrap();
        std::fs::write(&path, &bytes).unwrap();
        files.push(
            serde_json::json!({"key": key, "size": bytes.len(), "MD5checksum": md5_hex(&bytes)}),
        );
    }
    let manifest = serde_json::json!({
        "sourceBucket": bucket,
        "destinationBucket": "arn:aws:s3:::inventory-bucket",
        "version": "2016-11-30",
        "creationTimestamp": "1714557600000",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass",
        "files": files,
    });
    let path = mirror
        .join("inventory-bucket")
        .join(bucket)
        .join("inv/2024-05-01T10-00Z/manifest.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    path
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sse_kms_buckets_and_spec_prefix_map() {
    let moto = Moto::start();
    // The example spec's buckets, both SSE-KMS by default, in its source account: verify
    // acts in it (its account check), and another account's bucket needs a grant.
    let session = moto.session(support::SOURCE_ACCOUNT).await;
    let s3 = session.s3();
    let plain = without_checksums(&s3);
    let (source, destination) = ("annalise-ai-datalake", "harrison-ai-landing");
    for name in [source, destination] {
        bucket(&s3, name).await;
        let key = session.kms().create_key().send().await.unwrap();
        let arn = key.key_metadata().unwrap().arn().unwrap().to_string();
        s3.put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(
                                ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(ServerSideEncryption::AwsKms)
                                    .kms_master_key_id(arn)
                                    .build()
                                    .unwrap(),
                            )
                            .bucket_key_enabled(true)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    // images/ → avatar/ (copy.prefix_map), scans/ as is, *.tmp excluded.
    put(&s3, source, "images/a.png", b"pixels").await;
    put(&s3, destination, "avatar/a.png", b"pixels").await;
    put(&s3, source, "scans/ü/x.dcm", b"scan").await;
    put(&s3, destination, "scans/ü/x.dcm", b"scan").await;
    put(&s3, source, "scans/skip.tmp", b"temp").await;
    // Same size, different bytes, with CRC32 checksums: tier 2 settles it.
    put(&s3, source, "scans/crc.dcm", b"1111").await;
    put(&s3, destination, "scans/crc.dcm", b"2222").await;
    // Same size, different bytes, no checksums: SSE-KMS ETags prove nothing.
    put(&plain, source, "images/kms.png", b"left").await;
    put(&plain, destination, "avatar/kms.png", b"rght").await;
    put(&s3, destination, "images/a.png", b"not part of the plan").await;

    let spec = support::fixture("specs/example.yaml");
    let spec = spec.to_str().unwrap();
    // One principal for both sides, of one of the spec's accounts (checked first).
    let scratch = tempfile::tempdir().unwrap();
    let envs = support::acting_in(scratch.path(), support::SOURCE_ACCOUNT, &moto.endpoint);
    let (code, summary) = json_in(&moto, &[spec], &envs);
    assert_eq!(code, 1, "{summary:#}");
    assert_eq!(
        classes(&summary),
        expect(&[("match", 2), ("content_mismatch", 1), ("unverified", 1)]),
        "{summary:#}"
    );
    assert_eq!(summary["destination"]["encryption"]["algorithm"], "aws:kms");
    let unverified = &summary["examples"]["unverified"][0];
    assert_eq!(unverified["destination_key"], "avatar/kms.png");
    assert!(
        unverified["reason"].as_str().unwrap().contains("SSE-KMS"),
        "{summary:#}"
    );
    let mismatch = &summary["examples"]["content_mismatch"][0];
    assert_eq!(mismatch["reason"], "CRC32 full-object checksums differ");
    // --deep compares the bytes (no digest of either side can be trusted).
    let (code, summary) = json_in(&moto, &[spec, "--deep"], &envs);
    assert_eq!(code, 1);
    assert_eq!(
        classes(&summary),
        expect(&[("match", 2), ("content_mismatch", 2)]),
        "{summary:#}"
    );
    assert_eq!(summary["requests"]["GetObject"], 2);
}
