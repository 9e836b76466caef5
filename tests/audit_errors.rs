//! When `s3bridge audit` cannot audit, it exits 2 and says why and what to do: an invalid
//! spec, no credentials, an unreachable endpoint, credentials of the wrong account. (A
//! refused read naming its action is proven in tests/audit.rs, on an applied bundle.)

mod support;

use std::process::{Command, Output};

use support::{fixture, moto::Moto, stderr, stdout, write_tree};

fn audit(args: &[&str], env: &[(&str, &str)], remove: &[&str]) -> Output {
    support::fake_credentials();
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3bridge"));
    command.arg("audit").args(args).env("NO_COLOR", "1");
    for name in remove {
        command.env_remove(name);
    }
    command
        .envs(env.iter().copied())
        .output()
        .expect("run s3bridge")
}

fn assert_could_not_audit(output: &Output, says: &str) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}\n{}",
        stdout(output),
        stderr(output)
    );
    assert!(stdout(output).is_empty(), "no report: {}", stdout(output));
    assert!(
        stderr(output).contains(says),
        "expected `{says}` in:\n{}",
        stderr(output)
    );
    assert!(stderr(output).contains("help: "), "{}", stderr(output));
}

#[test]
fn an_invalid_spec_cannot_be_audited() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("spec.yaml", "version: 1\nname: x\n")]);
    let output = audit(&[dir.path().join("spec.yaml").to_str().unwrap()], &[], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("error"), "{}", stderr(&output));
}

#[test]
fn no_credentials_and_unreachable_endpoints_are_named() {
    let spec = fixture("specs/example.yaml");
    let spec = spec.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let no_credentials = audit(
        &[spec, "--endpoint-url", "http://127.0.0.1:9"],
        &[("HOME", home.path().to_str().unwrap())],
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    assert_could_not_audit(
        &no_credentials,
        "no usable credentials for the source account",
    );

    // Port 9 (discard) has no listener: connection refused.
    let unreachable = audit(&[spec, "--endpoint-url", "http://127.0.0.1:9"], &[], &[]);
    assert_could_not_audit(
        &unreachable,
        "cannot reach AWS for the source account at http://127.0.0.1:9",
    );
}

#[test]
fn credentials_of_another_account_are_refused() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[profile wrong]\nregion = ap-southeast-2\nrole_arn = arn:aws:iam::222222222222:role/auditor\nsource_profile = base\nendpoint_url = {e}\n\n\
         [profile base]\nregion = ap-southeast-2\naws_access_key_id = testing\naws_secret_access_key = testing\nendpoint_url = {e}\n",
        e = moto.endpoint
    );
    write_tree(dir.path(), &[("config", &config)]);
    let spec = fixture("specs/example.yaml");
    let output = audit(
        &[
            spec.to_str().unwrap(),
            "--endpoint-url",
            &moto.endpoint,
            "--source-profile",
            "wrong",
        ],
        &[(
            "AWS_CONFIG_FILE",
            dir.path().join("config").to_str().unwrap(),
        )],
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    assert_could_not_audit(
        &output,
        "the source credentials act in account 222222222222, but the spec puts the source bucket in account 111111111111",
    );
}
