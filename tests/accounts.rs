//! Commands that act on a spec's accounts check them before their first request: with
//! credentials of another account each exits 2 naming the expected and the actual
//! account (a Batch Replication job must never land in whatever account the default
//! credentials belong to). One check (`s3bridge::aws::check_account`) serves them all.

mod support;

use support::moto::Moto;
use support::{fixture, stderr, stdout, SOURCE_ACCOUNT};

const STRANGER: &str = "999999999999";

#[test]
fn commands_refuse_credentials_of_another_account() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = fixture("specs/example.yaml");
    let spec = spec.to_str().unwrap();
    let plan = dir.path().join("plan.json");
    let plan = plan.to_str().unwrap();
    let endpoint = moto.endpoint.as_str();
    let commands: Vec<Vec<&str>> = vec![
        vec!["replicate-existing", spec, "--endpoint-url", endpoint],
        vec!["status", spec, "--endpoint-url", endpoint],
        vec![
            "shards",
            "plan",
            spec,
            "--out",
            plan,
            "--endpoint-url",
            endpoint,
        ],
        vec!["copy", spec, "--endpoint-url", endpoint, "--dry-run"],
        vec!["verify", spec, "--endpoint-url", endpoint],
        vec![
            "audit",
            spec,
            "--endpoint-url",
            endpoint,
            "--source-profile",
            "in-999999999999",
            "--destination-profile",
            "in-999999999999",
        ],
    ];
    let stranger = support::acting_in(dir.path(), STRANGER, endpoint);
    for args in &commands {
        let output = support::s3bridge_with(args, &stranger);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert!(
            message.contains(&format!("act in account {STRANGER}"))
                && message.contains(SOURCE_ACCOUNT),
            "{args:?} must name the actual and the expected account: {message}"
        );
        assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
        assert!(!std::path::Path::new(plan).exists(), "no plan written");
    }
    // The right account passes the check (and then fails or succeeds on its own merits).
    let source = support::acting_in(dir.path(), SOURCE_ACCOUNT, endpoint);
    let output = support::s3bridge_with(&["status", spec, "--endpoint-url", endpoint], &source);
    assert!(
        !stderr(&output).contains("act in account"),
        "{}",
        stderr(&output)
    );
}
