//! Generate a spec's bundle, make its "existing" buckets exist the way an old bucket
//! would, and apply it to moto: the starting point of the apply, audit and copy tests.

use std::path::Path;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketVersioningStatus, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, ObjectOwnership, PublicAccessBlockConfiguration,
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
    /// `terraform show -json` of the plan that was applied (for plan-based checks).
    pub plan_json: std::path::PathBuf,
}

/// Creates an existing side's bucket as AWS would have it, with the settings its spec
/// says it already has.
async fn make_existing_bucket(moto: &Moto, spec: &s3bridge::spec::Spec, side: Side) {
    let b = spec.side(side);
    let s3 = moto.session_in(&b.account_id, &b.region).await.s3();
    super::create_bucket(&s3, &b.bucket, &b.region).await;
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
            // An old bucket whose owner allowed public ACLs.
            BucketSetting::PublicAccessBlock => {
                s3.put_public_access_block()
                    .bucket(&b.bucket)
                    .public_access_block_configuration(
                        PublicAccessBlockConfiguration::builder()
                            .block_public_acls(true)
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
            BucketSetting::Policy => {
                let policy = format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"LegacyReader","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{}/*"}}]}}"#,
                    b.account_id, b.bucket
                );
                s3.put_bucket_policy()
                    .bucket(&b.bucket)
                    .policy(policy)
                    .send()
                    .await
                    .unwrap();
            }
            BucketSetting::Lifecycle => {
                let rule = LifecycleRule::builder()
                    .id("expire-tmp")
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
                    .expiration(LifecycleExpiration::builder().days(30).build())
                    .build()
                    .unwrap();
                s3.put_bucket_lifecycle_configuration()
                    .bucket(&b.bucket)
                    .lifecycle_configuration(
                        BucketLifecycleConfiguration::builder()
                            .rules(rule)
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
            BucketSetting::Ownership => {
                super::set_ownership(&s3, &b.bucket, ObjectOwnership::ObjectWriter).await;
            }
            BucketSetting::Replication => {
                panic!("the harness does not pre-create an existing replication configuration")
            }
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

/// Credentials in the account of the sides without a terraform_role: what a user who
/// has signed in to that account would have in the environment (moto's own default
/// credentials belong to account 123456789012, which allowed_account_ids refuses).
async fn default_credentials(moto: &Moto, spec: &s3bridge::spec::Spec) -> Vec<(String, String)> {
    use aws_credential_types::provider::ProvideCredentials;
    let accounts: Vec<&str> = [&spec.source, &spec.destination]
        .into_iter()
        .filter(|b| b.terraform_role.is_none())
        .map(|b| b.account_id.as_str())
        .collect();
    let Some(account) = accounts.first() else {
        return Vec::new();
    };
    assert!(
        accounts.iter().all(|a| a == account),
        "without terraform_role, both sides must share an account"
    );
    let session = moto.session(account).await;
    let credentials = session
        .config
        .credentials_provider()
        .expect("moto sessions have credentials")
        .provide_credentials()
        .await
        .expect("assume a role in the account");
    vec![
        (
            "AWS_ACCESS_KEY_ID".into(),
            credentials.access_key_id().into(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            credentials.secret_access_key().into(),
        ),
        (
            "AWS_SESSION_TOKEN".into(),
            credentials.session_token().unwrap_or_default().into(),
        ),
    ]
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
    let mut terraform = Terraform::new(dir.path());
    terraform.env = default_credentials(moto, &spec).await;
    let plan_json = dir.path().join("plan.json");
    let for_blocking = (terraform.clone(), plan_json.clone());
    tokio::task::spawn_blocking(move || {
        let (terraform, plan_json) = for_blocking;
        terraform.init();
        terraform.expect(&["plan", "-no-color", "-input=false", "-out=tfplan"], &[0]);
        let shown = terraform.expect(&["show", "-json", "tfplan"], &[0]);
        std::fs::write(plan_json, shown.stdout).unwrap();
        terraform.expect(&["apply", "-no-color", "-input=false", "tfplan"], &[0]);
    })
    .await
    .unwrap();
    Bundle {
        dir,
        terraform,
        spec,
        plan_json,
    }
}
