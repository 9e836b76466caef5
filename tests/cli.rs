//! The command line as an operator meets it: one exit-status table for every command,
//! errors as one readable block (and as a JSON document with `--format json`), a closed
//! pipe that ends quietly, a spec's every mistake in one `validate`, the shared AWS flags
//! (a bucket's region found with HeadBucket, AWS_ENDPOINT_URL honoured by every command,
//! a refused connection named at once), completions and the man page.

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use s3bridge::aws::{Access, Session};
use serde_json::Value;
use support::moto::Moto;
use support::{create_bucket, fixture, isolated_command, put, stderr, stdout};

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    isolated_command(args, envs).output().expect("run s3bridge")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn example() -> String {
    fixture("specs/example.yaml").to_str().unwrap().to_string()
}

/// A spec with one semantic error (an invalid account id), and the commands that read a
/// spec, each with the arguments it needs besides the spec.
fn spec_commands(spec: &str, dir: &Path) -> Vec<Vec<String>> {
    let out = dir.join("out").to_str().unwrap().to_string();
    let plan = dir.join("plan.json").to_str().unwrap().to_string();
    [
        vec!["generate", spec, "--out", &out],
        vec!["policies", spec],
        vec!["replicate-existing", spec, "--dry-run"],
        vec!["status", spec],
        vec!["shards", "plan", spec, "--out", &plan],
        vec!["audit", spec],
        vec!["copy", spec],
        vec!["verify", spec],
    ]
    .into_iter()
    .map(|args| args.into_iter().map(String::from).collect())
    .collect()
}

fn invalid_spec(dir: &Path) -> String {
    let text = std::fs::read_to_string(fixture("specs/example.yaml"))
        .unwrap()
        .replace("\"111111111111\"", "\"11111\"");
    let path = dir.join("invalid.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn an_invalid_spec_is_exit_2_for_every_command_but_validate() {
    let dir = tempfile::tempdir().unwrap();
    let spec = invalid_spec(dir.path());
    let validate = run(&["validate", &spec], &[]);
    assert_eq!(
        code(&validate),
        1,
        "validate found errors: {}",
        stderr(&validate)
    );
    for args in spec_commands(&spec, dir.path()) {
        let output = run(&strs(&args), &[]);
        let err = stderr(&output);
        assert_eq!(code(&output), 2, "{args:?}: {err}");
        assert!(
            err.contains("source.account_id: `11111` is not a 12-digit account id")
                || err.contains("source.account_id"),
            "{args:?} names the field: {err}"
        );
        assert!(
            err.contains("error: 1 error in the spec") && err.contains("nothing was done"),
            "{args:?}: {err}"
        );
        assert!(!dir.path().join("out").exists(), "{args:?} wrote nothing");
    }
    // validate itself: 2 when it cannot read the file at all.
    let missing = run(&["validate", "/nonexistent/spec.yaml"], &[]);
    assert_eq!(code(&missing), 2, "{}", stderr(&missing));
    assert!(stderr(&missing).contains("cannot read the spec"));
}

#[test]
fn json_output_is_a_json_document_also_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let spec = invalid_spec(dir.path());
    for mut args in spec_commands(&spec, dir.path()) {
        if args[0] == "replicate-existing" && args.contains(&"--dry-run".to_string()) {
            // A dry run prints the CreateJob input, not a result: no --format there.
            args.retain(|a| a != "--dry-run");
        }
        args.extend(["--format".into(), "json".into()]);
        let output = run(&strs(&args), &[]);
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        let document: Value = serde_json::from_str(&stdout(&output))
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&output)));
        let error = &document["error"];
        assert_eq!(error["kind"], "invalid_spec", "{args:?}: {document}");
        assert_eq!(error["exit_code"], 2);
        assert_eq!(
            error["diagnostics"][0]["field"], "source.account_id",
            "{document}"
        );
        assert_eq!(error["diagnostics"][0]["line"], 7, "{document}");
    }
    // A refusal by the command line itself, an unreadable spec, a bad plan: JSON too.
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["verify", "s3://only-one", "--format", "json"], "usage"),
        (vec!["verify", "--format", "json"], "usage"),
        (
            vec!["copy", "--format=json", "--no-such-flag", "x"],
            "usage",
        ),
        (
            vec!["validate", "/nonexistent/spec.yaml", "--format", "json"],
            "invalid_spec",
        ),
        (
            vec![
                "shards",
                "show",
                "/nonexistent/plan.json",
                "--shards",
                "2",
                "--format",
                "json",
            ],
            "failed",
        ),
    ];
    for (args, kind) in cases {
        let output = run(&args, &[]);
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        let document: Value = serde_json::from_str(&stdout(&output))
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&output)));
        assert_eq!(document["error"]["kind"], kind, "{args:?}: {document}");
        assert!(
            document["error"]["message"].as_str().unwrap().len() > 10,
            "{document}"
        );
    }
}

/// Runs `args` with stdout a pipe whose reader is gone before the first write.
fn closed_pipe(args: &[&str]) -> (i32, String) {
    let mut child = isolated_command(args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run s3bridge");
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), err)
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_commands_own_status() {
    let dir = tempfile::tempdir().unwrap();
    let spec = example();
    // generate --check against an empty directory: every file differs (exit 1).
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    // A plan to show, made the way `shards plan` makes one.
    let plan = dir.path().join("plan.json");
    let mut sampler = s3bridge::transfer::shard::Sampler::new(4096);
    for i in 0..40_000 {
        sampler.push(&format!("k/{i:06}")).unwrap();
    }
    std::fs::write(&plan, sampler.finish("b", "").to_json()).unwrap();
    let empty = empty.to_str().unwrap();
    let plan = plan.to_str().unwrap();
    for (args, expected) in [
        (vec!["policies", spec.as_str()], 0),
        (vec!["policies", spec.as_str(), "--format", "json"], 0),
        (
            vec!["generate", spec.as_str(), "--out", empty, "--check"],
            1,
        ),
        (vec!["shards", "show", plan, "--shards", "300"], 0),
        (vec!["schema"], 0),
        (vec!["completions", "bash"], 0),
    ] {
        let (status, err) = closed_pipe(&args);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(status, expected, "{args:?}: {err}");
    }
}

#[test]
fn validate_reports_every_shape_mistake_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("six.yaml");
    // Six mistakes: a quoted bool, a scalar for a list, an unknown key, a missing
    // required key, a bad enum value, `yes` for a bool.
    std::fs::write(
        &spec,
        "version: 1
name: demo
source:
  bucket: src-bucket
  account_id: \"111111111111\"
  region: eu-west-1
  existing: \"true\"
  kms_admins: arn:aws:iam::111111111111:role/kms-admin
  colour: blue
destination:
  bucket: dst-bucket
  region: eu-west-1
copy_role:
  name: copier
  account: sauce
  trusted_principals: [arn:aws:iam::111111111111:role/engineer]
replication:
  bidirectional: yes
",
    )
    .unwrap();
    let spec = spec.to_str().unwrap();
    let output = run(&["validate", spec, "--format", "json"], &[]);
    assert_eq!(code(&output), 1);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let found: Vec<(u64, u64, &str, &str, &str)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["field"].as_str().unwrap(),
                d["message"].as_str().unwrap(),
                d["hint"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                7,
                13,
                "source.existing",
                "expected true or false, found `\"true\"` (quoted, so a string)",
                "remove the quotes: `true`"
            ),
            (
                8,
                15,
                "source.kms_admins",
                "expected a list, found `arn:aws:iam::111111111111:role/kms-admin`",
                "write a list, one `- item` per line (or `[arn:aws:iam::111111111111:role/kms-admin]`)"
            ),
            (
                9,
                3,
                "source.colour",
                "unknown key `colour`",
                "expected one of: bucket, account_id, region, existing, existing_config, keep_policy_statements, keep_lifecycle_rules, bucket_tags, replace_existing_replication, kms_key, kms_alias, kms_admins, kms_key_recovery, kms_users, terraform_role"
            ),
            (
                11,
                3,
                "destination.account_id",
                "missing required key `account_id`",
                "add `account_id:` here (`s3bridge schema` describes every field)"
            ),
            (
                15,
                12,
                "copy_role.account",
                "`sauce` is not a valid value",
                "did you mean `source`? (expected one of: source, destination)"
            ),
            (
                18,
                18,
                "replication.bidirectional",
                "expected true or false, found `yes`",
                "YAML 1.2 booleans are only `true` and `false`"
            ),
        ]
    );
    // The text form: each at file:line:col, and the count.
    let text = run(&["validate", spec], &[]);
    let err = stderr(&text);
    for (line, col, ..) in &found {
        assert!(
            err.contains(&format!("{spec}:{line}:{col}: error: ")),
            "{err}"
        );
    }
    assert!(err.contains(&format!("{spec}: 6 errors")), "{err}");
}

#[test]
fn the_example_spec_warns_nobody_and_warnings_come_from_validate_and_generate_only() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = run(&["validate", &example()], &[]);
    assert_eq!(code(&quiet), 0);
    assert_eq!(stderr(&quiet), "", "the example raises no warning");
    // Without kms_users, an existing bucket moving to a new key is worth a warning...
    let text = std::fs::read_to_string(fixture("specs/example.yaml")).unwrap();
    let start = text.find("  kms_users:").unwrap();
    let end = start + text[start..].find("  terraform_role").unwrap();
    let warned = dir.path().join("warned.yaml");
    std::fs::write(&warned, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let warned = warned.to_str().unwrap();
    let out = dir.path().join("bundle");
    for args in [
        vec!["validate", warned],
        vec!["generate", warned, "--out", out.to_str().unwrap()],
    ] {
        let output = run(&args, &[]);
        assert_eq!(code(&output), 0, "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("warning: source.kms_users"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    // ... said once, where the spec is reviewed, not by every command that reads it.
    let policies = run(&["policies", warned], &[]);
    assert_eq!(code(&policies), 0);
    assert_eq!(stderr(&policies), "");
}

#[test]
fn policies_text_is_a_review_table_with_placeholders_explained() {
    let output = run(&["policies", &example()], &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(
            "== datalake-copy/copy — identity policy of role datalake-copy, account 111111111111"
        ),
        "{text}"
    );
    assert!(text.contains("STATEMENT"), "{text}");
    for header in ["PRINCIPAL", "ACTIONS", "RESOURCES", "CONDITIONS"] {
        assert!(text
            .lines()
            .any(|l| l.starts_with("STATEMENT") && l.contains(header)));
    }
    // A row: who, what, on what, under which condition.
    let row = text
        .lines()
        .find(|l| l.starts_with("DecryptSourceObjects"))
        .expect("the copy role's decrypt statement");
    for cell in [
        "role datalake-copy",
        "kms:Decrypt",
        "arn:aws:kms:ap-southeast-2:111111111111:key/SOURCE-KEY-ID",
        "StringEquals kms:ViaService = s3.ap-southeast-2.amazonaws.com",
    ] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    let placeholders = &text[text.find("Placeholders").expect("explained")..];
    assert!(
        placeholders.contains("arn:aws:kms:ap-southeast-2:111111111111:key/SOURCE-KEY-ID\n    the KMS key the bundle creates for the source bucket"),
        "{placeholders}"
    );
    assert!(placeholders.contains("terraform output -raw destination_kms_key_arn"));
    // JSON stays available, as AWS stores the documents.
    let json = run(&["policies", &example(), "--format", "json"], &[]);
    let documents: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(documents[0]["document"]["Version"], "2012-10-17");
}

#[test]
fn completions_and_man_pages_generate() {
    for shell in ["bash", "zsh", "fish"] {
        let output = run(&["completions", shell], &[]);
        assert_eq!(code(&output), 0, "{shell}: {}", stderr(&output));
        let script = stdout(&output);
        assert!(script.contains("replicate-existing"), "{shell}");
        assert!(script.contains("endpoint-url"), "{shell}");
    }
    let man = run(&["man"], &[]);
    assert_eq!(code(&man), 0);
    assert!(
        stdout(&man).starts_with(".ie"),
        "roff: {}",
        &stdout(&man)[..40]
    );
    assert!(stdout(&man).contains(".TH s3bridge 1"));
    let dir = tempfile::tempdir().unwrap();
    let pages = run(&["man", "--out", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code(&pages), 0, "{}", stderr(&pages));
    for page in ["s3bridge.1", "s3bridge-copy.1", "s3bridge-shards-plan.1"] {
        assert!(dir.path().join(page).exists(), "{page}");
    }
}

#[test]
fn version_is_a_top_level_flag_only() {
    assert_eq!(code(&run(&["--version"], &[])), 0);
    let typo = run(&["audit", &example(), "--regoin", "eu-west-1"], &[]);
    assert_eq!(code(&typo), 2);
    let err = stderr(&typo);
    assert!(err.contains("--region"), "suggests --region: {err}");
    assert!(!err.contains("--version"), "{err}");
    assert_eq!(code(&run(&["audit", &example(), "-V"], &[])), 2);
}

#[test]
fn one_bucket_is_a_usage_error_not_a_spec() {
    for args in [vec!["verify", "s3://a"], vec!["copy", "s3://a"]] {
        let output = run(&args, &[]);
        assert_eq!(code(&output), 2);
        let err = stderr(&output);
        assert!(err.starts_with("error: `"), "{err}");
        assert!(err.contains("s3://a` names"), "{err}");
        assert!(err.contains("\n  help: "), "{err}");
        assert!(!err.contains("cannot read the spec"), "{err}");
    }
}

#[test]
fn a_refused_connection_fails_at_once_and_names_the_endpoint() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let spec = example();
    for args in [
        vec!["audit", spec.as_str(), "--endpoint-url", &endpoint],
        vec!["status", spec.as_str(), "--endpoint-url", &endpoint],
        vec!["copy", "s3://a", "s3://b", "--endpoint-url", &endpoint],
        vec!["verify", "s3://a", "s3://b", "--endpoint-url", &endpoint],
    ] {
        let started = Instant::now();
        let output = run(&args, &[]);
        let took = started.elapsed();
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(
            err.contains(&format!("cannot connect to {endpoint}: connection refused")),
            "{args:?}: {err}"
        );
        assert!(err.contains("help: nothing answers at"), "{err}");
        assert!(
            took < Duration::from_secs(3),
            "{args:?} took {took:?} (retries?)"
        );
    }
}

/// The plain test credentials' session on moto (the account the binary acts in too).
async fn plain(endpoint: &str, region: &str) -> Session {
    support::fake_credentials();
    Session::connect(&Access {
        endpoint_url: Some(endpoint.to_string()),
        ..Access::new(region)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ad_hoc_buckets_region_is_asked_of_s3() {
    let moto = Moto::start();
    let s3 = plain(&moto.endpoint, "us-east-1").await.s3();
    create_bucket(&s3, "src-in-london", "eu-west-2").await;
    create_bucket(&s3, "dst-in-sydney", "ap-southeast-2").await;
    put(&s3, "src-in-london", "a.txt", b"a").await;
    let output = run(
        &[
            "copy",
            "s3://src-in-london",
            "s3://dst-in-sydney",
            "--endpoint-url",
            &moto.endpoint,
        ],
        &[("AWS_REGION", "us-east-1")],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("copying s3://src-in-london/ → s3://dst-in-sydney/ (source eu-west-2, from HeadBucket, destination ap-southeast-2, from HeadBucket)"),
        "{err}"
    );
    // A region given wins, and is not asked for.
    let given = run(
        &[
            "copy",
            "s3://src-in-london",
            "s3://dst-in-sydney",
            "--endpoint-url",
            &moto.endpoint,
            "--region",
            "eu-west-2",
            "--destination-region",
            "ap-southeast-2",
        ],
        &[],
    );
    assert_eq!(code(&given), 0, "{}", stderr(&given));
    assert!(
        stderr(&given)
            .contains("s3://src-in-london/ → s3://dst-in-sydney/ (source eu-west-2, destination ap-southeast-2)"),
        "{}",
        stderr(&given)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_endpoint_url_is_honoured_by_every_command() {
    let moto = Moto::start();
    let endpoint = [("AWS_ENDPOINT_URL", moto.endpoint.as_str())];
    let s3 = plain(&moto.endpoint, support::REGION).await.s3();
    create_bucket(&s3, "env-src", support::REGION).await;
    create_bucket(&s3, "env-dst", support::REGION).await;
    put(&s3, "env-src", "k/1.txt", b"one").await;
    put(&s3, "env-src", "k/2.txt", b"two").await;

    let copy = run(
        &["copy", "s3://env-src", "s3://env-dst", "--format", "json"],
        &endpoint,
    );
    assert_eq!(code(&copy), 0, "{}", stderr(&copy));
    let summary: Value = serde_json::from_str(&stdout(&copy)).unwrap();
    assert_eq!(summary["copied"], 2, "{summary}");

    let verify = run(
        &["verify", "s3://env-src", "s3://env-dst", "--format", "json"],
        &endpoint,
    );
    assert_eq!(code(&verify), 0, "{}", stderr(&verify));
    let result: Value = serde_json::from_str(&stdout(&verify)).unwrap();
    assert_eq!(result["classes"]["match"], 2, "{result}");

    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let shards = run(
        &[
            "shards",
            "plan",
            "s3://env-src/k/",
            "--out",
            plan.to_str().unwrap(),
        ],
        &endpoint,
    );
    assert_eq!(code(&shards), 0, "{}", stderr(&shards));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(written["total_keys"], 2);
    assert_eq!(written["prefix"], "k/");

    // audit reaches moto too: nothing is deployed there, so it finds (exit 1) rather
    // than failing to reach AWS (exit 2).
    let audit = run(&["audit", &example(), "--format", "json"], &endpoint);
    assert_eq!(code(&audit), 1, "{}", stderr(&audit));
    let report: Value = serde_json::from_str(&stdout(&audit)).unwrap();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["resource"] == "arn:aws:s3:::annalise-ai-datalake"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_errors_are_one_short_block_never_the_sdk_dump() {
    let moto = Moto::start();
    let s3 = plain(&moto.endpoint, support::REGION).await.s3();
    create_bucket(&s3, "present", support::REGION).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("copy.jsonl");
    let output = run(
        &[
            "copy",
            "s3://absent-bucket/x/",
            "s3://present/y/",
            "--endpoint-url",
            &moto.endpoint,
            "--region",
            support::REGION,
            "--format",
            "json",
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    let err = stderr(&output);
    for dump in ["ServiceError", "SdkBody", "raw: Response", "Error {"] {
        assert!(!err.contains(dump), "{dump} in {err}");
    }
    // The summary says why it stopped, in a few words...
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let why = summary["error"].as_str().unwrap();
    assert_eq!(
        why,
        "ListObjectsV2 on s3://absent-bucket/x/: NoSuchBucket: The specified bucket does not exist"
    );
    // ... and stderr has the same words in one block, with one hint, after the summary.
    let block: Vec<&str> = err
        .lines()
        .skip_while(|l| !l.starts_with("error: "))
        .collect();
    assert_eq!(block.len(), 2, "{err}");
    assert_eq!(block[0], format!("error: the copy stopped early: {why}"));
    assert!(block[1].starts_with("  help: "), "{err}");
    assert!(!stdout(&output).contains("stopped early"));
}

#[test]
fn quiet_silences_notes_but_not_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let loud = run(
        &["generate", &example(), "--out", out.to_str().unwrap()],
        &[],
    );
    assert!(stderr(&loud).contains("next: cd "), "{}", stderr(&loud));
    for flag in ["--quiet", "-q"] {
        let quiet = run(
            &["generate", &example(), "--out", out.to_str().unwrap(), flag],
            &[],
        );
        assert_eq!(code(&quiet), 0);
        assert_eq!(stderr(&quiet), "", "{flag}");
    }
    let json = run(
        &[
            "-q",
            "generate",
            &example(),
            "--out",
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    let result: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(result["unchanged"].as_u64().unwrap() > 0, "{result}");
}

#[test]
fn a_region_flag_must_agree_with_the_spec() {
    let output = run(
        &[
            "audit",
            &example(),
            "--region",
            "eu-west-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &[],
    );
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.starts_with("error: --region eu-west-1 disagrees with the spec, which puts the source bucket in ap-southeast-2"),
        "{err}"
    );
}

#[test]
fn help_carries_the_exit_status_table() {
    let help = run(&["--help"], &[]);
    assert_eq!(code(&help), 0);
    let text = stdout(&help);
    assert!(text.contains("Exit status (every command):"), "{text}");
    assert!(text.contains("  3  verify only:"), "{text}");
}
