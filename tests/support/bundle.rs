//! Generate a spec's bundle, make its "existing" buckets exist the way an old bucket
//! would, and apply it to moto: the starting point of the apply, audit and copy tests.

use std::path::Path;

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, VersioningConfiguration,
};
use s3bridge::spec::{BucketSetting, Side};

use super::moto::Moto;
use super::terraform::Terraform;
use super::{s3bridge, stderr};

pub struct Bundle {
    pub dir: tempfile::TempDir,
    pub terraform: Terraform,
    pub spec: s3bridge::spec::Spec,
}

/// Creates an existing side's bucket as AWS would have it, with the settings its spec
/// says it already has.
async fn make_existing_bucket(moto: &Moto, spec: &s3bridge::spec::Spec, side: Side) {
    let b = spec.side(side);
    let s3 = moto.session(&b.account_id).await.s3();
    s3.create_bucket()
        .bucket(&b.bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(b.region.as_str()))
                .build(),
        )
        .send()
        .await
        .expect("create the existing bucket");
    let settings = b
        .existing_config
        .clone()
        .unwrap_or_else(|| BucketSetting::ALWAYS_PRESENT.to_vec());
    for setting in settings {
        match setting {
            // An old bucket: versioning suspended, not enabled.
            BucketSetting::Versioning => {
                s3.put_bucket_versioning()
                    .bucket(&b.bucket)
                    .versioning_configuration(
                        VersioningConfiguration::builder()
                            .status(BucketVersioningStatus::Suspended)
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
            // moto gap: AWS gives every bucket SSE-S3 default encryption (since January
            // 2023); moto gives none, so the harness sets what AWS would have.
            BucketSetting::Encryption => {
                let rule = ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::Aes256)
                            .build()
                            .unwrap(),
                    )
                    .build();
                s3.put_bucket_encryption()
                    .bucket(&b.bucket)
                    .server_side_encryption_configuration(
                        ServerSideEncryptionConfiguration::builder()
                            .rules(rule)
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
            other => panic!("the harness does not pre-create `{}` yet", other.as_str()),
        }
    }
    s3.put_object()
        .bucket(&b.bucket)
        .key("scans/existing-before-import.dcm")
        .body(b"already here".to_vec().into())
        .send()
        .await
        .unwrap();
}

/// Generates `spec_path`'s bundle for moto, creates its existing buckets, and applies it.
pub async fn apply(moto: &Moto, spec_path: &Path) -> Bundle {
    let spec = s3bridge::spec::load(spec_path).expect("valid spec").spec;
    for side in [Side::Source, Side::Destination] {
        if spec.side(side).existing {
            make_existing_bucket(moto, &spec, side).await;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let generated = s3bridge(&[
        "generate",
        spec_path.to_str().unwrap(),
        "--out",
        out,
        "--endpoint-url",
        &moto.endpoint,
    ]);
    assert!(
        generated.status.success(),
        "generate failed: {}",
        stderr(&generated)
    );
    let terraform = Terraform::new(dir.path());
    terraform.init();
    let terraform_for_blocking = Terraform::new(dir.path());
    tokio::task::spawn_blocking(move || {
        terraform_for_blocking.expect(
            &["apply", "-no-color", "-auto-approve", "-input=false"],
            &[0],
        );
    })
    .await
    .unwrap();
    Bundle {
        dir,
        terraform,
        spec,
    }
}
