//! The generated bundle applies on a two-account moto, imports the existing bucket
//! instead of recreating it, brings it to the baseline, and a second plan is empty.

mod support;

use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption};
use support::{bundle, fixture, moto::Moto, DESTINATION_ACCOUNT, SOURCE_ACCOUNT};

async fn applies_and_converges(spec: &str) {
    let moto = Moto::start();
    let bundle = bundle::apply(&moto, &fixture(spec)).await;

    let second_plan =
        bundle
            .terraform
            .run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(
        second_plan.status.code(),
        Some(0),
        "a second plan must be empty:\n{}\n{}",
        String::from_utf8_lossy(&second_plan.stdout),
        String::from_utf8_lossy(&second_plan.stderr)
    );

    for (account, side) in [
        (SOURCE_ACCOUNT, &bundle.spec.source),
        (DESTINATION_ACCOUNT, &bundle.spec.destination),
    ] {
        let s3 = moto.session(account).await.s3();
        let versioning = s3
            .get_bucket_versioning()
            .bucket(&side.bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(
            versioning.status(),
            Some(&BucketVersioningStatus::Enabled),
            "{}",
            side.bucket
        );
        let encryption = s3
            .get_bucket_encryption()
            .bucket(&side.bucket)
            .send()
            .await
            .unwrap();
        let rule = &encryption
            .server_side_encryption_configuration()
            .unwrap()
            .rules()[0];
        let default = rule.apply_server_side_encryption_by_default().unwrap();
        assert_eq!(
            default.sse_algorithm(),
            &ServerSideEncryption::AwsKms,
            "{}",
            side.bucket
        );
        assert!(default
            .kms_master_key_id()
            .unwrap()
            .contains(&format!(":{account}:key/")));
        assert_eq!(rule.bucket_key_enabled(), Some(true));
    }

    // The existing bucket was imported, not replaced: its object is still there.
    let s3 = moto.session(SOURCE_ACCOUNT).await.s3();
    let listed = s3
        .list_objects_v2()
        .bucket(&bundle.spec.source.bucket)
        .send()
        .await
        .unwrap();
    assert!(listed
        .contents()
        .iter()
        .any(|o| o.key() == Some("scans/existing-before-import.dcm")));
}

#[tokio::test(flavor = "multi_thread")]
async fn example_bundle_applies_and_converges() {
    applies_and_converges("specs/example.yaml").await;
}
