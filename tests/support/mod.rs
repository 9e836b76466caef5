//! The local-AWS test harness every integration test shares: a moto server per test
//! (started on a free port, stopped on drop), sessions into either of two accounts,
//! a Terraform runner wired to the offline provider mirror, and the s3bridge binary.
//!
//! Known moto gaps are worked around here, visibly, never in the product; each
//! workaround says which gap it covers (moto_server.py lists them). The harness is at
//! least as strict as AWS on the paths s3bridge uses: what it cannot judge, it refuses
//! loudly (tests/harness.rs proves each refusal).

#![allow(dead_code)]

pub mod bundle;
pub mod fault_proxy;
pub mod iam;
pub mod judges;
pub mod list_server;
pub mod moto;
pub mod objects;
pub mod s3control_stub;
pub mod terraform;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

pub const SOURCE_ACCOUNT: &str = "111111111111";
pub const DESTINATION_ACCOUNT: &str = "222222222222";
pub const REGION: &str = "ap-southeast-2";

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> PathBuf {
    repo().join("fixtures").join(path)
}

/// moto accepts any credentials; the SDK and Terraform must find some. Set once, to the
/// same values, before any test talks to moto.
pub fn fake_credentials() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: every test sets the same values through this Once before reading them.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
            std::env::remove_var("AWS_PROFILE");
            std::env::remove_var("AWS_SESSION_TOKEN");
        }
    });
}

/// Runs the s3bridge binary built for this test run.
pub fn s3bridge(args: &[&str]) -> Output {
    fake_credentials();
    Command::new(env!("CARGO_BIN_EXE_s3bridge"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run s3bridge")
}

/// The s3bridge binary with `args`, kept from this machine's AWS profiles and credential
/// files (the test credentials come from the environment), with `envs` set on top.
pub fn isolated_command(args: &[&str], envs: &[(&str, &str)]) -> Command {
    fake_credentials();
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3bridge"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env("AWS_CONFIG_FILE", "/nonexistent/s3bridge-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/s3bridge-test-credentials",
        );
    for (name, value) in envs {
        command.env(name, value);
    }
    command
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The Python that has the test tools (moto, checkov, parliament): the project's
/// virtualenv made by scripts/setup when present, else python3 from PATH.
pub fn python(venv: &str) -> PathBuf {
    let candidate = repo().join(".venv").join(venv).join("bin/python");
    if candidate.exists() {
        candidate
    } else {
        PathBuf::from("python3")
    }
}

/// A console script (checkov, parliament) from the project's virtualenv, else PATH.
pub fn tool(venv: &str, name: &str) -> PathBuf {
    let candidate = repo().join(".venv").join(venv).join("bin").join(name);
    if candidate.exists() {
        candidate
    } else {
        PathBuf::from(name)
    }
}

/// Writes `files` (relative path → content) under `dir`.
pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// Puts one object.
pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
}

/// Creates `name` in `region` (S3 requires the location constraint outside us-east-1).
pub async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str, region: &str) {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
}

/// Sets a bucket's object ownership (ACLs are disabled only by BucketOwnerEnforced).
pub async fn set_ownership(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    ownership: aws_sdk_s3::types::ObjectOwnership,
) {
    use aws_sdk_s3::types::{OwnershipControls, OwnershipControlsRule};
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ownership)
        .build()
        .unwrap();
    s3.put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(OwnershipControls::builder().rules(rule).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// Environment under which the default credential chain acts in `account`: a profile
/// that assumes a role there (moto hands out credentials of the role's account) from the
/// test credentials, kept in a credentials file because the default chain reads
/// AWS_ACCESS_KEY_ID before AWS_PROFILE (`s3bridge_with` drops those variables when a
/// profile is set). Commands that act on a spec's account check it first, and moto's plain
/// test credentials belong to its default account, which no spec names.
pub fn acting_in(dir: &Path, account: &str, endpoint: &str) -> Vec<(String, String)> {
    let config = dir.join(format!("aws-config-{account}"));
    let credentials = dir.join(format!("aws-credentials-{account}"));
    std::fs::write(
        &config,
        format!(
            "[profile in-{account}]\nrole_arn = arn:aws:iam::{account}:role/operator\n\
             source_profile = test\nregion = {REGION}\nendpoint_url = {endpoint}\n\n\
             [profile test]\nregion = {REGION}\nendpoint_url = {endpoint}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        &credentials,
        "[test]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    vec![
        ("AWS_CONFIG_FILE".into(), config.display().to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            credentials.display().to_string(),
        ),
        ("AWS_PROFILE".into(), format!("in-{account}")),
    ]
}

/// Runs the s3bridge binary with `envs` on top of the test credentials (without them
/// when `envs` names a profile, so that the profile decides who the default chain is).
pub fn s3bridge_with(args: &[&str], envs: &[(String, String)]) -> Output {
    fake_credentials();
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3bridge"));
    command.args(args).env("NO_COLOR", "1");
    if envs.iter().any(|(name, _)| name == "AWS_PROFILE") {
        command
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
    }
    command
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run s3bridge")
}
