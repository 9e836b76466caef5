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

/// Exit 2, no report, and one error block on stderr: `error: {says}` then `help: {hint}`.
fn assert_could_not_audit(output: &Output, says: &str, hint: &str) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}\n{}",
        stdout(output),
        stderr(output)
    );
    assert!(stdout(output).is_empty(), "no report: {}", stdout(output));
    let err = stderr(output);
    assert!(
        err.starts_with(&format!("error: {says}")),
        "expected `error: {says}` in:\n{err}"
    );
    let help = err
        .lines()
        .find_map(|l| l.strip_prefix("  help: "))
        .unwrap_or_else(|| panic!("no help line in:\n{err}"));
    assert!(help.starts_with(hint), "expected help `{hint}` in:\n{err}");
    for dump in ["ServiceError", "SdkBody", "DispatchFailure"] {
        assert!(!err.contains(dump), "the SDK's debug dump: {err}");
    }
}

#[test]
fn an_invalid_spec_cannot_be_audited() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("spec.yaml", "version: 1\nname: x\n")]);
    let spec = dir.path().join("spec.yaml");
    let output = audit(&[spec.to_str().unwrap()], &[], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    for missing in ["source", "destination", "copy_role"] {
        assert!(
            err.contains(&format!(
                "{}:1:1: error: {missing}: missing required key `{missing}`",
                spec.display()
            )),
            "{err}"
        );
    }
    assert!(
        err.contains(&format!(
            "error: 3 errors in the spec {}; nothing was done",
            spec.display()
        )),
        "{err}"
    );
}

#[test]
fn no_credentials_and_unreachable_endpoints_are_named() {
    let spec = fixture("specs/example.yaml");
    let spec = spec.to_str().unwrap();
    // An endpoint that accepts connections: what fails is finding credentials.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let home = tempfile::tempdir().unwrap();
    let no_credentials = audit(
        &[spec, "--endpoint-url", &endpoint],
        &[
            ("HOME", home.path().to_str().unwrap()),
            ("AWS_CONFIG_FILE", "/nonexistent/s3bridge-test-config"),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/s3bridge-test-credentials",
            ),
        ],
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    assert_could_not_audit(
        &no_credentials,
        &format!("could not audit {spec}: no usable credentials for the source account: "),
        "set AWS credentials",
    );
    assert!(stderr(&no_credentials).contains("no credentials found in chain"));
    drop(listener);

    // A port with no listener: connection refused, named with the endpoint, at once.
    let unreachable = audit(&[spec, "--endpoint-url", &endpoint], &[], &[]);
    assert_could_not_audit(
        &unreachable,
        &format!("reaching the source account 111111111111: cannot connect to {endpoint}: connection refused"),
        &format!("nothing answers at {endpoint}"),
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
        &format!(
            "could not audit {}: the source credentials act in account 222222222222, but the spec puts the source bucket in account 111111111111",
            spec.display()
        ),
        "pass the profile of the right account",
    );
}
