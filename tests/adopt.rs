//! Adopting live buckets on a two-account moto: a source bucket with years of
//! configuration (a policy granting a third party's role, two lifecycle rules, tags, CORS,
//! SSE-S3 default encryption, SSE-S3 objects single and multipart) and a destination
//! bucket that exists in the other account. `discover` writes a spec that validates; the
//! bundle's plan imports every setting that exists and only updates in place (no create
//! over live configuration, no destroy); after apply the third party's statement, the
//! lifecycle rules and the tags are still there, a second plan is empty and the audit is
//! clean.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, CompletedMultipartUpload, CompletedPart, CorsConfiguration,
    CorsRule, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, ObjectOwnership, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, Transition, TransitionStorageClass,
};
use serde_json::Value;
use support::moto::Moto;
use support::terraform::Terraform;
use support::{s3bridge_with, stderr, stdout, DESTINATION_ACCOUNT, REGION, SOURCE_ACCOUNT};

const SOURCE: &str = "lake-raw";
const DESTINATION: &str = "lake-dr";
const PARTNER_ROLE: &str = "arn:aws:iam::333333333333:role/partner-reader";

/// Profiles acting in each account (moto hands out credentials of an assumed role's
/// account), as a user with one profile per account has them.
fn profiles(dir: &Path, endpoint: &str) -> Vec<(String, String)> {
    let config = dir.join("aws-config");
    let credentials = dir.join("aws-credentials");
    let mut text = format!("[profile test]\nregion = {REGION}\nendpoint_url = {endpoint}\n\n");
    for (name, account) in [("src", SOURCE_ACCOUNT), ("dst", DESTINATION_ACCOUNT)] {
        text.push_str(&format!(
            "[profile {name}]\nrole_arn = arn:aws:iam::{account}:role/operator\nsource_profile = test\nregion = {REGION}\nendpoint_url = {endpoint}\n\n"
        ));
    }
    std::fs::write(&config, text).unwrap();
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
    ]
}

fn sse_s3() -> ServerSideEncryptionConfiguration {
    ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
        .unwrap()
}

/// The source bucket as years of console work left it.
async fn make_lived_in_source(s3: &aws_sdk_s3::Client) {
    support::create_bucket(s3, SOURCE, REGION).await;
    s3.put_bucket_encryption()
        .bucket(SOURCE)
        .server_side_encryption_configuration(sse_s3())
        .send()
        .await
        .unwrap();
    support::set_ownership(s3, SOURCE, ObjectOwnership::ObjectWriter).await;
    s3.put_public_access_block()
        .bucket(SOURCE)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PartnerRead",
            "Effect": "Allow",
            "Principal": {"AWS": PARTNER_ROLE},
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{SOURCE}/shared/*"),
        }]
    });
    s3.put_bucket_policy()
        .bucket(SOURCE)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let rules = [
        LifecycleRule::builder()
            .id("expire-tmp")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
            .expiration(LifecycleExpiration::builder().days(30).build())
            .build()
            .unwrap(),
        LifecycleRule::builder()
            .id("archive-logs")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
            .transitions(
                Transition::builder()
                    .days(90)
                    .storage_class(TransitionStorageClass::Glacier)
                    .build(),
            )
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(365)
                    .build(),
            )
            .build()
            .unwrap(),
    ];
    s3.put_bucket_lifecycle_configuration()
        .bucket(SOURCE)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules.to_vec()))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_tagging()
        .bucket(SOURCE)
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key("team").value("data").build().unwrap())
                .tag_set(
                    Tag::builder()
                        .key("cost-centre")
                        .value("cc-42")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_cors()
        .bucket(SOURCE)
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(
                    CorsRule::builder()
                        .allowed_methods("GET")
                        .allowed_origins("https://viewer.example.com")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // SSE-S3 objects: one single-part, one multipart (two parts).
    s3.put_object()
        .bucket(SOURCE)
        .key("shared/report.csv")
        .body(b"a,b\n1,2\n".to_vec().into())
        .content_type("text/csv")
        .metadata("origin", "etl")
        .tagging("class=internal")
        .send()
        .await
        .unwrap();
    let upload = s3
        .create_multipart_upload()
        .bucket(SOURCE)
        .key("scans/big.bin")
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let mut parts = Vec::new();
    for (number, byte) in [(1, b'a'), (2, b'b')] {
        let size = if number == 1 { 5 * 1024 * 1024 } else { 1024 };
        let part = s3
            .upload_part()
            .bucket(SOURCE)
            .key("scans/big.bin")
            .upload_id(id)
            .part_number(number)
            .body(vec![byte; size].into())
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(SOURCE)
        .key("scans/big.bin")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The destination bucket: it exists in the other account, with what AWS gives every
/// bucket (moto gap: no default encryption, so the harness sets SSE-S3 as AWS would).
async fn make_destination(s3: &aws_sdk_s3::Client) {
    support::create_bucket(s3, DESTINATION, REGION).await;
    s3.put_bucket_encryption()
        .bucket(DESTINATION)
        .server_side_encryption_configuration(sse_s3())
        .send()
        .await
        .unwrap();
}

/// The plan's resource changes under the bucket modules, by address.
fn bucket_changes(plan: &Value) -> BTreeMap<String, (Vec<String>, bool)> {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            let address = c["address"].as_str().unwrap();
            address.starts_with("module.source_bucket.")
                || address.starts_with("module.destination_bucket.")
        })
        .map(|c| {
            let actions = c["change"]["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            let importing = !c["change"]["importing"].is_null();
            (
                c["address"].as_str().unwrap().to_string(),
                (actions, importing),
            )
        })
        .collect()
}

/// What reencrypt must keep (and change) of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    body: Vec<u8>,
    metadata: BTreeMap<String, String>,
    content_type: Option<String>,
    tags: Vec<(String, String)>,
    parts: Option<i32>,
    storage_class: Option<String>,
    sse: Option<String>,
    key_id: Option<String>,
    version: Option<String>,
}

async fn snapshot(s3: &aws_sdk_s3::Client) -> BTreeMap<String, Seen> {
    let mut seen = BTreeMap::new();
    let listed = s3.list_objects_v2().bucket(SOURCE).send().await.unwrap();
    for object in listed.contents() {
        let key = object.key().unwrap();
        let head = s3
            .head_object()
            .bucket(SOURCE)
            .key(key)
            .part_number(1)
            .send()
            .await
            .unwrap();
        let body = s3
            .get_object()
            .bucket(SOURCE)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
            .to_vec();
        let tags = s3
            .get_object_tagging()
            .bucket(SOURCE)
            .key(key)
            .send()
            .await
            .unwrap();
        seen.insert(
            key.to_string(),
            Seen {
                body,
                metadata: head
                    .metadata()
                    .map(|m| m.clone().into_iter().collect())
                    .unwrap_or_default(),
                content_type: head.content_type().map(String::from),
                tags: tags
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                parts: head.parts_count(),
                storage_class: head.storage_class().map(|c| c.as_str().to_string()),
                sse: head
                    .server_side_encryption()
                    .map(|e| e.as_str().to_string()),
                key_id: head.ssekms_key_id().map(String::from),
                version: head.version_id().map(String::from),
            },
        );
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn live_buckets_are_adopted_without_losing_their_configuration() {
    let moto = Moto::start();
    let scratch = tempfile::tempdir().unwrap();
    let source = moto.session(SOURCE_ACCOUNT).await.s3();
    let destination = moto.session(DESTINATION_ACCOUNT).await.s3();
    make_lived_in_source(&source).await;
    make_destination(&destination).await;

    // discover → a spec that validates.
    let envs = profiles(scratch.path(), &moto.endpoint);
    let spec_path = scratch.path().join("spec.yaml");
    let aws_flags = [
        "--source-profile",
        "src",
        "--destination-profile",
        "dst",
        "--endpoint-url",
        &moto.endpoint,
    ];
    let mut args = vec![
        "discover",
        "s3://lake-raw",
        "s3://lake-dr",
        "--out",
        spec_path.to_str().unwrap(),
    ];
    args.extend(aws_flags);
    let discovered = s3bridge_with(&args, &envs);
    assert!(
        discovered.status.success(),
        "discover: {}",
        stderr(&discovered)
    );
    let warnings = stderr(&discovered);
    assert!(
        warnings.contains("SSE-S3") && warnings.contains("BucketOwnerEnforced"),
        "discover warns of what the bundle changes: {warnings}"
    );
    let spec = std::fs::read_to_string(&spec_path).unwrap();
    for expected in [
        "existing_config: [versioning, encryption, ownership, public_access_block, policy, lifecycle]",
        "\"Sid\":\"PartnerRead\"",
        "\"id\":\"expire-tmp\"",
        "\"id\":\"archive-logs\"",
        "\"team\": \"data\"",
        "CORS (1 rules)",
    ] {
        assert!(spec.contains(expected), "the spec lacks {expected}:\n{spec}");
    }
    let validated = s3bridge_with(&["validate", spec_path.to_str().unwrap()], &envs);
    assert!(
        validated.status.success(),
        "discover's spec validates as written:\n{spec}\n{}{}",
        stdout(&validated),
        stderr(&validated)
    );

    // discover ran as the `operator` role of each account: it is who applies (terraform_role)
    // and who runs the copy until the user chooses otherwise.
    assert!(
        spec.contains(&format!(
            "terraform_role: \"arn:aws:iam::{DESTINATION_ACCOUNT}:role/operator\""
        )),
        "{spec}"
    );

    let bundle = scratch.path().join("bundle");
    let generated = s3bridge_with(
        &[
            "generate",
            spec_path.to_str().unwrap(),
            "--out",
            bundle.to_str().unwrap(),
            "--endpoint-url",
            &moto.endpoint,
        ],
        &envs,
    );
    assert!(
        generated.status.success(),
        "generate: {}",
        stderr(&generated)
    );
    let readme = std::fs::read_to_string(bundle.join("README.md")).unwrap();
    assert!(
        readme.contains("`PartnerRead`") && readme.contains("`expire-tmp`, `archive-logs`"),
        "the bundle README names what is kept:\n{readme}"
    );

    let terraform = Terraform::new(&bundle);
    let plan = tokio::task::spawn_blocking({
        let terraform = terraform.clone();
        move || {
            terraform.init();
            terraform.expect(&["plan", "-no-color", "-input=false", "-out=tfplan"], &[0]);
            let shown = terraform.expect(&["show", "-json", "tfplan"], &[0]);
            serde_json::from_slice::<Value>(&shown.stdout).unwrap()
        }
    })
    .await
    .unwrap();

    // Every live setting is imported and at most updated in place; nothing anywhere is
    // destroyed.
    let changes = bucket_changes(&plan);
    for (address, (actions, importing)) in &changes {
        if address.contains("terraform_data.") {
            continue;
        }
        let live = !address.ends_with("aws_s3_bucket_ownership_controls.this")
            && !address.ends_with("aws_s3_bucket_public_access_block.this")
            && !address.ends_with("aws_s3_bucket_policy.this")
            && !address.ends_with("aws_s3_bucket_lifecycle_configuration.this")
            || address.starts_with("module.source_bucket.");
        if live {
            assert!(
                *importing && actions.iter().all(|a| a == "update" || a == "no-op"),
                "{address} exists live: it must be imported and updated in place, not {actions:?}"
            );
        }
    }
    assert!(changes.contains_key("module.source_bucket.aws_s3_bucket_lifecycle_configuration.this"));
    for change in plan["resource_changes"].as_array().unwrap() {
        let actions = change["change"]["actions"].to_string();
        assert!(
            !actions.contains("delete"),
            "{} would be destroyed",
            change["address"]
        );
    }

    tokio::task::spawn_blocking({
        let terraform = terraform.clone();
        move || {
            terraform.expect(&["apply", "-no-color", "-input=false", "tfplan"], &[0]);
        }
    })
    .await
    .unwrap();

    // The third party's statement, the lifecycle rules and the tags survived.
    let policy = source
        .get_bucket_policy()
        .bucket(SOURCE)
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let partner = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "PartnerRead")
        .expect("the partner's statement is kept");
    assert_eq!(partner["Principal"]["AWS"], PARTNER_ROLE);
    assert!(
        policy.to_string().contains("DenyInsecureTransport"),
        "the bundle's statements are there too: {policy}"
    );
    let lifecycle = source
        .get_bucket_lifecycle_configuration()
        .bucket(SOURCE)
        .send()
        .await
        .unwrap();
    let mut ids: Vec<&str> = lifecycle.rules().iter().filter_map(|r| r.id()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "abort-incomplete-multipart-uploads",
            "archive-logs",
            "expire-tmp"
        ]
    );
    let archive = lifecycle
        .rules()
        .iter()
        .find(|r| r.id() == Some("archive-logs"))
        .unwrap();
    assert_eq!(archive.transitions()[0].days(), Some(90));
    assert_eq!(
        archive.transitions()[0].storage_class(),
        Some(&TransitionStorageClass::Glacier)
    );
    let tags = source
        .get_bucket_tagging()
        .bucket(SOURCE)
        .send()
        .await
        .unwrap();
    let tags: BTreeMap<&str, &str> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags.get("team"), Some(&"data"));
    assert_eq!(tags.get("cost-centre"), Some(&"cc-42"));
    let cors = source
        .get_bucket_cors()
        .bucket(SOURCE)
        .send()
        .await
        .unwrap();
    assert_eq!(cors.cors_rules().len(), 1, "CORS is left as it was");

    let second = tokio::task::spawn_blocking({
        let terraform = terraform.clone();
        move || terraform.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"])
    })
    .await
    .unwrap();
    assert_eq!(
        second.status.code(),
        Some(0),
        "a second plan is empty:\n{}\n{}",
        String::from_utf8_lossy(&second.stdout),
        String::from_utf8_lossy(&second.stderr)
    );

    // The audit knows the partner's statement is the user's: no drift.
    let mut args = vec!["audit", spec_path.to_str().unwrap()];
    args.extend(aws_flags);
    let audit = s3bridge_with(&args, &envs);
    assert_eq!(
        audit.status.code(),
        Some(0),
        "audit is clean:\n{}\n{}",
        stdout(&audit),
        stderr(&audit)
    );

    // With --object-status the audit HEADs a sample and names the objects not under the
    // key (the SSE-S3 ones that predate the bundle).
    let not_under_key = || {
        let mut args = vec![
            "audit",
            spec_path.to_str().unwrap(),
            "--object-status",
            "--format",
            "json",
        ];
        args.extend(aws_flags);
        let audit = s3bridge_with(&args, &envs);
        let report: Value = serde_json::from_str(&stdout(&audit))
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&audit), stderr(&audit)));
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "replication/objects-not-under-key/lake-raw")
            .map(|f| f["actual"].as_str().unwrap().to_string())
    };
    let sampled = not_under_key().expect("the SSE-S3 objects are reported");
    assert!(
        sampled.starts_with("2 of 2 objects sampled") && sampled.contains("(AES256)"),
        "{sampled}"
    );

    // reencrypt: the SSE-S3 objects move under the bucket's key, bytes, metadata, tags,
    // storage class and part layout kept; a rerun rewrites nothing.
    let before = snapshot(&source).await;
    let mut args = vec!["reencrypt", spec_path.to_str().unwrap(), "--dry-run"];
    args.extend(aws_flags);
    let dry = s3bridge_with(&args, &envs);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("2 objects: 0 under the bucket's key, 2 SSE-S3")
            && stdout(&dry).contains("dry run: 2 objects would be rewritten"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(snapshot(&source).await, before, "a dry run writes nothing");
    args.retain(|a| *a != "--dry-run");
    let reencrypted = s3bridge_with(&args, &envs);
    assert!(
        reencrypted.status.success(),
        "{}{}",
        stdout(&reencrypted),
        stderr(&reencrypted)
    );
    assert!(
        stdout(&reencrypted).contains("after: s3://lake-raw: 2 objects: 2 under the bucket's key"),
        "{}",
        stdout(&reencrypted)
    );
    let after = snapshot(&source).await;
    let key_arn = source
        .get_bucket_encryption()
        .bucket(SOURCE)
        .send()
        .await
        .unwrap()
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .kms_master_key_id()
        .unwrap()
        .to_string();
    for (key, object) in &after {
        let old = &before[key];
        assert_eq!(old.sse.as_deref(), Some("AES256"), "{key} was SSE-S3");
        assert_eq!(object.sse.as_deref(), Some("aws:kms"), "{key}");
        assert!(
            object
                .key_id
                .as_deref()
                .is_some_and(|k| key_arn.ends_with(k.rsplit('/').next().unwrap())),
            "{key} is under {key_arn}: {:?}",
            object.key_id
        );
        assert_eq!(
            (
                &object.body,
                &object.metadata,
                &object.content_type,
                &object.tags,
                &object.parts,
                &object.storage_class
            ),
            (
                &old.body,
                &old.metadata,
                &old.content_type,
                &old.tags,
                &old.parts,
                &old.storage_class
            ),
            "{key} kept its bytes, metadata, tags, part layout and class"
        );
    }
    let rerun = s3bridge_with(&args, &envs);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(
        stdout(&rerun).contains("nothing to rewrite"),
        "{}",
        stdout(&rerun)
    );
    assert_eq!(snapshot(&source).await, after, "a rerun touches nothing");
    assert_eq!(
        not_under_key(),
        None,
        "the audit's sample is under the key now"
    );

    // A rerun of discover on the adopted buckets keeps only the user's statement.
    let mut args = vec!["discover", "s3://lake-raw", "s3://lake-dr"];
    args.extend(aws_flags);
    let again = s3bridge_with(&args, &envs);
    assert!(again.status.success(), "{}", stderr(&again));
    let again = stdout(&again);
    assert!(again.contains("\"Sid\":\"PartnerRead\""), "{again}");
    assert!(
        again.contains("replace_existing_replication: true"),
        "the replication configuration is the bundle's own:\n{again}"
    );
    assert!(
        !again.contains("\"Sid\":\"DenyInsecureTransport\""),
        "the bundle's own statements are not kept as the user's:\n{again}"
    );

    // A destination that does not exist yet is a bucket the bundle creates.
    let fresh = scratch.path().join("fresh.yaml");
    let mut args = vec![
        "discover",
        "s3://lake-raw",
        "s3://lake-new",
        "--out",
        fresh.to_str().unwrap(),
    ];
    args.extend(aws_flags);
    let discovered = s3bridge_with(&args, &envs);
    assert!(discovered.status.success(), "{}", stderr(&discovered));
    let text = std::fs::read_to_string(&fresh).unwrap();
    let destination = &text[text.find("destination:").unwrap()..];
    assert!(
        destination.contains("does not exist yet") && !destination.contains("existing: true"),
        "{text}"
    );
    // The source replicates to lake-dr: a spec to lake-new would replace that, so it
    // needs the user's consent, and validate says so (the only error).
    assert!(
        stderr(&discovered).contains("the bundle replaces it"),
        "{}",
        stderr(&discovered)
    );
    let validated = s3bridge_with(
        &["validate", fresh.to_str().unwrap(), "--format", "json"],
        &envs,
    );
    let report: Value = serde_json::from_str(&stdout(&validated)).unwrap();
    let errors: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("replication configuration would be replaced"));
    std::fs::write(
        &fresh,
        text.replace(
            "replace_existing_replication: false",
            "replace_existing_replication: true",
        ),
    )
    .unwrap();
    let validated = s3bridge_with(&["validate", fresh.to_str().unwrap()], &envs);
    assert!(validated.status.success(), "{}", stderr(&validated));
}
