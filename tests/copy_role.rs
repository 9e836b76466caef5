//! The README's copy and verify commands run as written with nothing but the copy role's
//! credentials: the example bundle is applied to moto, moto enforces IAM, and
//! `s3bridge copy SPEC --assume-copy-role --dry-run`, `s3bridge copy SPEC
//! --assume-copy-role` and `s3bridge verify SPEC` run as the spec's trusted principal,
//! whose only permission is to assume the copy role (verify with the copy role's profile
//! as the default chain).
//! The dry run needs no key; the real run finds the destination key by its alias ARN with
//! the DescribeKey the bundle grants the copy role.
//!
//! moto enforces identity policies only (not key policies, and bucket policies only for
//! their denies, see tests/support/moto_server.py); the key-policy half of every request
//! here is proven by tests/permissions.rs.

mod support;

use serde_json::json;
use support::moto::Moto;
use support::{bundle, fixture, put, stderr, stdout, SOURCE_ACCOUNT};

#[tokio::test(flavor = "multi_thread")]
async fn readme_copy_and_verify_run_as_the_copy_role_alone() {
    let moto = Moto::start();
    let spec_path = fixture("specs/example.yaml");
    let applied = bundle::apply(&moto, &spec_path).await;
    let spec = &applied.spec;
    let desired = s3bridge::model::build(spec);
    let copy_role = desired
        .role(s3bridge::model::RolePurpose::Copy)
        .unwrap()
        .arn
        .clone();

    let source = moto.session(SOURCE_ACCOUNT).await;
    for (key, body) in [
        ("scans/a.dcm", &b"scan a"[..]),
        ("images/p.png", b"picture"),
        ("notes/n.txt", b"note"),
    ] {
        put(&source.s3(), &spec.source.bucket, key, body).await;
    }

    // The spec's trusted principal (role platform-engineer, assumed by a user), allowed
    // to assume the copy role and nothing else. moto checks the copy role's trust policy
    // on AssumeRole, so only a principal `trusted_principals` lists gets in.
    let engineer = &spec.copy_role.trusted_principals[0];
    let iam = source.iam();
    let user = iam
        .create_user()
        .user_name("operator")
        .send()
        .await
        .unwrap()
        .user
        .unwrap()
        .arn;
    iam.put_user_policy()
        .user_name("operator")
        .policy_name("assume-engineer")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": engineer}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name(engineer.rsplit('/').next().unwrap())
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": user}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(engineer.rsplit('/').next().unwrap())
        .policy_name("assume-copy-role")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": copy_role}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("operator")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[default]\nregion = {region}\nendpoint_url = {endpoint}\n\n\
             [profile engineer]\nrole_arn = {engineer}\nsource_profile = default\n\
             region = {region}\nendpoint_url = {endpoint}\n\n\
             [profile copy-role]\nrole_arn = {copy_role}\nsource_profile = engineer\n\
             region = {region}\nendpoint_url = {endpoint}\n",
            region = support::REGION,
            endpoint = moto.endpoint
        ),
    )
    .unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key.access_key_id, key.secret_access_key
        ),
    )
    .unwrap();
    let run = |args: &[&str], profile: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_s3bridge"));
        command
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials);
        match profile {
            Some(profile) => command.env("AWS_PROFILE", profile),
            None => command.env_remove("AWS_PROFILE"),
        };
        command.output().unwrap()
    };
    let spec_arg = spec_path.to_str().unwrap();
    let endpoint = moto.endpoint.as_str();

    moto.enforce_iam(true);
    let dry = run(
        &[
            "copy",
            spec_arg,
            "--assume-copy-role",
            "--dry-run",
            "--endpoint-url",
            endpoint,
        ],
        Some("engineer"),
    );
    let copied = run(
        &[
            "copy",
            spec_arg,
            "--assume-copy-role",
            "--endpoint-url",
            endpoint,
            "--format",
            "json",
        ],
        Some("engineer"),
    );
    let verified = run(
        &["verify", spec_arg, "--endpoint-url", endpoint],
        Some("copy-role"),
    );
    // Negative control: the trusted principal itself, without the copy role, cannot
    // read the source.
    let unassumed = run(
        &["copy", spec_arg, "--dry-run", "--endpoint-url", endpoint],
        Some("engineer"),
    );
    moto.enforce_iam(false);

    assert_eq!(
        dry.status.code(),
        Some(0),
        "dry run: {}\n{}",
        stdout(&dry),
        stderr(&dry)
    );
    assert!(
        !stderr(&dry).contains("DescribeKey"),
        "a dry run needs no key: {}",
        stderr(&dry)
    );
    assert_eq!(
        copied.status.code(),
        Some(0),
        "copy: {}\n{}",
        stdout(&copied),
        stderr(&copied)
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout(&copied)).unwrap();
    assert!(summary["copied"].as_u64().unwrap() >= 2, "{summary}");
    assert!(
        summary["requests"].get("CopyObject").is_some(),
        "server-side, one principal: {summary}"
    );
    assert_eq!(
        verified.status.code(),
        Some(0),
        "verify: {}\n{}",
        stdout(&verified),
        stderr(&verified)
    );
    assert_eq!(
        unassumed.status.code(),
        Some(2),
        "without the copy role the operator may not list: {}",
        stderr(&unassumed)
    );

    // The copies are encrypted with the destination key the copy role looked up.
    let destination = moto.session(support::DESTINATION_ACCOUNT).await;
    let head = destination
        .s3()
        .head_object()
        .bucket(&spec.destination.bucket)
        .key("scans/a.dcm")
        .send()
        .await
        .unwrap();
    let key_id = head.ssekms_key_id().unwrap_or_default().to_string();
    let alias = desired
        .key(s3bridge::spec::Side::Destination)
        .unwrap()
        .alias
        .clone();
    let expected = destination
        .kms()
        .describe_key()
        .key_id(&alias)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    assert_eq!(key_id, expected);
}
