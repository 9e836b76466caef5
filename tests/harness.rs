//! The test harness refuses what AWS refuses. Each test drives tests/support/moto_server.py
//! (with moto_authz.py and moto_batch.py) into a request AWS would refuse and checks the
//! refusal, next to the request AWS would allow, so a green test elsewhere cannot mean
//! that the emulator looked away:
//! - S3 requests are judged as the IAM action AWS authorises them as: a multipart upload
//!   as s3:PutObject (so the bundle's encryption Denies stop it), HEAD as s3:GetObject,
//!   a copy as s3:PutObject plus s3:GetObject on its source, a listing as s3:ListBucket;
//! - the Principal element is evaluated, and another account needs a bucket-policy grant;
//! - a condition the harness cannot evaluate fails the request loudly (501);
//! - PutBucketReplication with existing-object replication is MalformedXML, as S3 answers
//!   in accounts AWS has not enabled it for;
//! - Batch Operations' CreateJob checks the account, the role, its trust, iam:PassRole and
//!   the request token, and jobs fail tasks the role may not do, with a completion report
//!   in AWS's format.

mod support;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ServerSideEncryption, StorageClass,
};
use s3bridge::aws::Session;
use s3bridge::policy::Term;
use s3bridge::spec::Side;
use serde_json::{json, Value};
use support::moto::Moto;
use support::{create_bucket, put, DESTINATION_ACCOUNT, REGION, SOURCE_ACCOUNT};

/// The error code of a failed call ("" when it succeeded).
fn code<T, E: ProvideErrorMetadata>(result: &Result<T, E>) -> String {
    match result {
        Ok(_) => String::new(),
        Err(e) => e.code().unwrap_or("(no code)").to_string(),
    }
}

fn message<T, E: ProvideErrorMetadata>(result: &Result<T, E>) -> String {
    match result {
        Ok(_) => String::new(),
        Err(e) => e.message().unwrap_or_default().to_string(),
    }
}

async fn set_policy(s3: &aws_sdk_s3::Client, bucket: &str, policy: Value) {
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
}

/// A session in `account` as the role `role` (moto lets any role be assumed).
async fn as_role(moto: &Moto, account: &str, role: &str) -> Session {
    Session::connect(&s3bridge::aws::Access {
        assume_role: Some(format!("arn:aws:iam::{account}:role/{role}")),
        endpoint_url: Some(moto.endpoint.clone()),
        ..s3bridge::aws::Access::new(REGION)
    })
    .await
    .unwrap()
}

/// The destination bucket of the example spec with the bucket policy the bundle gives it
/// (its key placeholder resolved to a real key): the product's own encryption Denies.
#[tokio::test(flavor = "multi_thread")]
async fn multipart_uploads_meet_the_bundles_encryption_denies() {
    let moto = Moto::start();
    let spec = s3bridge::spec::load(&support::fixture("specs/example.yaml"))
        .unwrap()
        .spec;
    let desired = s3bridge::model::build(&spec);
    let bucket = desired.bucket(Side::Destination);
    let session = moto.session(DESTINATION_ACCOUNT).await;
    let s3 = session.s3();
    create_bucket(&s3, &bucket.name, REGION).await;
    let kms = session.kms();
    let mut keys = Vec::new();
    for _ in 0..2 {
        let created = kms.create_key().send().await.unwrap();
        keys.push(created.key_metadata.unwrap().arn.unwrap());
    }
    let (right, other) = (keys[0].clone(), keys[1].clone());
    let placeholder = bucket.key.as_str().to_string();
    let policy = bucket.policy.to_json_with(&|term: &Term| {
        let text = term.as_str();
        if text == placeholder {
            right.clone()
        } else {
            text.to_string()
        }
    });
    set_policy(&s3, &bucket.name, policy).await;
    let name = bucket.name.as_str();

    let create = |key: &'static str| s3.create_multipart_upload().bucket(name).key(key);
    let other_key = create("other-key")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&other)
        .send()
        .await;
    assert_eq!(code(&other_key), "AccessDenied", "{other_key:?}");
    assert!(
        message(&other_key).contains("s3:PutObject"),
        "judged as s3:PutObject: {}",
        message(&other_key)
    );
    let sse_s3 = create("sse-s3")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .await;
    assert_eq!(code(&sse_s3), "AccessDenied", "{sse_s3:?}");
    // Single PutObject and CopyObject meet the same Denies.
    let put_other = s3
        .put_object()
        .bucket(name)
        .key("put-other-key")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&other)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(code(&put_other), "AccessDenied");

    // The right key, or no header (default encryption): the whole upload goes through;
    // UploadPart and CompleteMultipartUpload carry no encryption header.
    for (key, with_key) in [("right-key", true), ("default", false)] {
        let mut request = create(key);
        if with_key {
            request = request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(&right);
        }
        let upload = request.send().await.expect("allowed");
        let id = upload.upload_id().unwrap();
        let part = s3
            .upload_part()
            .bucket(name)
            .key(key)
            .upload_id(id)
            .part_number(1)
            .body(ByteStream::from(vec![7u8; 5 << 20]))
            .send()
            .await
            .unwrap();
        s3.complete_multipart_upload()
            .bucket(name)
            .key(key)
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("the upload completes");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_judged_as_their_iam_action_for_their_principal() {
    let moto = Moto::start();
    let writer = as_role(&moto, SOURCE_ACCOUNT, "writer").await.s3();
    let reader = as_role(&moto, SOURCE_ACCOUNT, "reader").await.s3();
    create_bucket(&writer, "judged", REGION).await;
    put(&writer, "judged", "a.txt", b"a").await;
    put(&writer, "judged", "b.txt", b"b").await;
    let arn = "arn:aws:s3:::judged";
    // Denies for one role only: GetObject (HEAD is GetObject too), ListBucket, and a
    // statement on `s3:HeadObject`, which is no IAM action and so denies nothing.
    set_policy(
        &writer,
        "judged",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": ["s3:GetObject", "s3:ListBucket"],
             "Principal": {"AWS": format!("arn:aws:iam::{SOURCE_ACCOUNT}:role/reader")},
             "Resource": [arn, format!("{arn}/a.txt")]},
            {"Effect": "Deny", "Action": "s3:HeadObject", "Principal": "*",
             "Resource": format!("{arn}/b.txt")},
            {"Effect": "Deny", "Action": "s3:ListBucketVersions", "Principal": "*",
             "Resource": arn,
             "Condition": {"StringEquals": {"aws:PrincipalArn":
                 format!("arn:aws:iam::{SOURCE_ACCOUNT}:role/writer")}}}
        ]}),
    )
    .await;
    let head = reader
        .head_object()
        .bucket("judged")
        .key("a.txt")
        .send()
        .await;
    assert!(head.is_err(), "HEAD is s3:GetObject: {head:?}");
    let get = reader
        .get_object()
        .bucket("judged")
        .key("a.txt")
        .send()
        .await;
    assert_eq!(code(&get), "AccessDenied");
    let list = reader.list_objects_v2().bucket("judged").send().await;
    assert_eq!(
        code(&list),
        "AccessDenied",
        "ListObjectsV2 is s3:ListBucket"
    );
    // Another principal of the account is not named: allowed.
    writer
        .get_object()
        .bucket("judged")
        .key("a.txt")
        .send()
        .await
        .expect("the writer is not denied");
    writer
        .list_objects_v2()
        .bucket("judged")
        .send()
        .await
        .unwrap();
    reader
        .head_object()
        .bucket("judged")
        .key("b.txt")
        .send()
        .await
        .expect("s3:HeadObject is not an action: nothing denied");
    // ListObjectVersions is s3:ListBucketVersions; aws:PrincipalArn is the role's ARN.
    let versions = writer.list_object_versions().bucket("judged").send().await;
    assert_eq!(code(&versions), "AccessDenied", "{versions:?}");
    reader
        .list_object_versions()
        .bucket("judged")
        .send()
        .await
        .expect("the condition names the writer only");

    // A copy reads its source: a Deny on the source object stops CopyObject and
    // UploadPartCopy, although the destination allows the write.
    create_bucket(&writer, "copied", REGION).await;
    set_policy(
        &writer,
        "judged",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:GetObject", "Principal": "*",
             "Resource": format!("{arn}/a.txt")}
        ]}),
    )
    .await;
    let copy = writer
        .copy_object()
        .bucket("copied")
        .key("a.txt")
        .copy_source("judged/a.txt")
        .send()
        .await;
    assert_eq!(code(&copy), "AccessDenied", "{copy:?}");
    let upload = writer
        .create_multipart_upload()
        .bucket("copied")
        .key("a.txt")
        .send()
        .await
        .unwrap();
    let part = writer
        .upload_part_copy()
        .bucket("copied")
        .key("a.txt")
        .upload_id(upload.upload_id().unwrap())
        .part_number(1)
        .copy_source("judged/a.txt")
        .send()
        .await;
    assert_eq!(code(&part), "AccessDenied", "{part:?}");
    writer
        .copy_object()
        .bucket("copied")
        .key("b.txt")
        .copy_source("judged/b.txt")
        .send()
        .await
        .expect("b.txt is not denied");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_account_needs_a_bucket_policy_grant() {
    let moto = Moto::start();
    let owner = moto.session(SOURCE_ACCOUNT).await.s3();
    let outsider = as_role(&moto, DESTINATION_ACCOUNT, "copier").await.s3();
    create_bucket(&owner, "owned", REGION).await;
    put(&owner, "owned", "k", b"data").await;
    let read = outsider.get_object().bucket("owned").key("k").send().await;
    assert_eq!(code(&read), "AccessDenied", "no grant: {read:?}");
    let write = outsider
        .put_object()
        .bucket("owned")
        .key("w")
        .body(ByteStream::from_static(b"w"))
        .send()
        .await;
    assert_eq!(code(&write), "AccessDenied");
    // A grant to the role's ARN lets its sessions read, and only read.
    set_policy(
        &owner,
        "owned",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Principal": {"AWS": format!("arn:aws:iam::{DESTINATION_ACCOUNT}:role/copier")},
             "Resource": "arn:aws:s3:::owned/*"}
        ]}),
    )
    .await;
    outsider
        .get_object()
        .bucket("owned")
        .key("k")
        .send()
        .await
        .expect("granted");
    let write = outsider
        .put_object()
        .bucket("owned")
        .key("w")
        .body(ByteStream::from_static(b"w"))
        .send()
        .await;
    assert_eq!(code(&write), "AccessDenied", "only GetObject was granted");
    let other_role = as_role(&moto, DESTINATION_ACCOUNT, "someone-else")
        .await
        .s3();
    let read = other_role
        .get_object()
        .bucket("owned")
        .key("k")
        .send()
        .await;
    assert_eq!(code(&read), "AccessDenied", "the grant names one role");
    // A grant to the account (its root) covers every principal of it.
    set_policy(
        &owner,
        "owned",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Principal": {"AWS": DESTINATION_ACCOUNT}, "Resource": "arn:aws:s3:::owned/*",
             "Condition": {"StringEquals": {"aws:PrincipalAccount": DESTINATION_ACCOUNT}}}
        ]}),
    )
    .await;
    other_role
        .get_object()
        .bucket("owned")
        .key("k")
        .send()
        .await
        .expect("the account is granted");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_harness_cannot_evaluate_fails_loudly() {
    let moto = Moto::start();
    let s3 = moto.session(SOURCE_ACCOUNT).await.s3();
    create_bucket(&s3, "strict", REGION).await;
    put(&s3, "strict", "k", b"v").await;
    for (operator, key, value) in [
        ("DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z"),
        ("IpAddress", "aws:SourceIp", "10.0.0.0/8"),
        ("StringEquals", "s3:ExistingObjectTag/class", "secret"),
        ("StringLike", "aws:PrincipalArn", "${aws:username}"),
    ] {
        set_policy(
            &s3,
            "strict",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "s3:GetObject", "Principal": "*",
                 "Resource": "arn:aws:s3:::strict/*",
                 "Condition": {operator: {key: value}}}
            ]}),
        )
        .await;
        let get = s3.get_object().bucket("strict").key("k").send().await;
        assert_eq!(
            code(&get),
            "HarnessCannotEvaluate",
            "{operator} {key} must not pass silently: {get:?}"
        );
        let said = message(&get);
        assert!(
            said.contains(key) || said.contains(operator) || said.contains("policy variables"),
            "{said}"
        );
        // A statement that does not apply to the request is never evaluated.
        let list = s3.list_objects_v2().bucket("strict").send().await;
        assert!(list.is_ok(), "{list:?}");
    }
    // A condition it can evaluate is evaluated: the ACL header key, absent and present.
    set_policy(
        &s3,
        "strict",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:PutObject", "Principal": "*",
             "Resource": "arn:aws:s3:::strict/*",
             "Condition": {"StringEquals": {"s3:x-amz-acl": "public-read"}}}
        ]}),
    )
    .await;
    let public = s3
        .put_object()
        .bucket("strict")
        .key("p")
        .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
        .body(ByteStream::from_static(b"p"))
        .send()
        .await;
    assert_eq!(code(&public), "AccessDenied");
    put(&s3, "strict", "p", b"p").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_object_replication_is_malformed_xml_unless_the_account_has_it() {
    use aws_sdk_s3::types::*;
    let configuration = |account: &str| {
        ReplicationConfiguration::builder()
            .role(format!("arn:aws:iam::{account}:role/replication"))
            .rules(
                ReplicationRule::builder()
                    .id("all")
                    .priority(1)
                    .status(ReplicationRuleStatus::Enabled)
                    .filter(ReplicationRuleFilter::builder().prefix("").build())
                    .delete_marker_replication(
                        DeleteMarkerReplication::builder()
                            .status(DeleteMarkerReplicationStatus::Disabled)
                            .build(),
                    )
                    .existing_object_replication(
                        ExistingObjectReplication::builder()
                            .status(ExistingObjectReplicationStatus::Enabled)
                            .build()
                            .unwrap(),
                    )
                    .destination(
                        Destination::builder()
                            .bucket("arn:aws:s3:::to")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    for (enabled_for, expected) in [("", "MalformedXML"), (SOURCE_ACCOUNT, "")] {
        let moto =
            Moto::start_with(&[("S3BRIDGE_EXISTING_OBJECT_REPLICATION_ACCOUNTS", enabled_for)]);
        let s3 = moto.session(SOURCE_ACCOUNT).await.s3();
        create_bucket(&s3, "from", REGION).await;
        s3.put_bucket_versioning()
            .bucket("from")
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let put = s3
            .put_bucket_replication()
            .bucket("from")
            .replication_configuration(configuration(SOURCE_ACCOUNT))
            .send()
            .await;
        assert_eq!(code(&put), expected, "enabled for {enabled_for:?}: {put:?}");
    }
}

/// An IAM role in `account` with `trust` and one inline policy.
async fn role(session: &Session, name: &str, trust: Value, policy: Value) -> String {
    let iam = session.iam();
    let created = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(name)
        .policy_name("inline")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    created.role.unwrap().arn
}

fn batch_trust(account: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "batchoperations.s3.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]})
}

fn copy_job(
    account: &str,
    role_arn: &str,
    manifest_key: &str,
    etag: &str,
    attempt: u32,
) -> s3bridge::batch::job::CreateJob {
    s3bridge::batch::job::copy_objects(&s3bridge::batch::job::CopyObjects {
        account_id: account,
        spec_name: None,
        partition: "aws",
        role_arn,
        source_bucket: "batch-src",
        destination_bucket: "batch-dst",
        work_bucket: "batch-src",
        work_prefix: "work/",
        manifest_key,
        manifest_etag: etag,
        kms_key_arn: None,
        storage_class: None,
        acl: None,
        attempt,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn create_job_checks_account_role_trust_pass_role_and_token() {
    let moto = Moto::start();
    let session = moto.session(SOURCE_ACCOUNT).await;
    let s3 = session.s3();
    for bucket in ["batch-src", "batch-dst"] {
        create_bucket(&s3, bucket, REGION).await;
    }
    put(&s3, "batch-src", "a.txt", b"a").await;
    put(&s3, "batch-src", "b.txt", b"b").await;
    let manifest = s3
        .put_object()
        .bucket("batch-src")
        .key("work/manifest.csv")
        .body(ByteStream::from_static(
            b"batch-src,a.txt\nbatch-src,b.txt\n",
        ))
        .send()
        .await
        .unwrap();
    let etag = manifest.e_tag().unwrap().trim_matches('"').to_string();
    let copy_policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": ["arn:aws:s3:::batch-src/*", "arn:aws:s3:::batch-dst/*"]}]});
    let good = role(
        &session,
        "batch-copy",
        batch_trust(SOURCE_ACCOUNT),
        copy_policy.clone(),
    )
    .await;
    let untrusting = role(
        &session,
        "not-for-batch",
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}),
        copy_policy.clone(),
    )
    .await;
    let other_account_trust = role(
        &session,
        "confused-deputy",
        batch_trust("999999999999"),
        copy_policy.clone(),
    )
    .await;
    let control = session.s3control();
    let create = |job: s3bridge::batch::job::CreateJob| {
        let control = control.clone();
        async move { job.to_sdk(&control).unwrap().send().await }
    };
    let missing = format!("arn:aws:iam::{SOURCE_ACCOUNT}:role/no-such-role");
    for (role_arn, why) in [
        (missing.as_str(), "does not exist"),
        (untrusting.as_str(), "does not trust"),
        (other_account_trust.as_str(), "does not trust"),
    ] {
        let refused = create(copy_job(
            SOURCE_ACCOUNT,
            role_arn,
            "work/manifest.csv",
            &etag,
            1,
        ))
        .await;
        assert_eq!(code(&refused), "InvalidRequest", "{role_arn}: {refused:?}");
        assert!(message(&refused).contains(why), "{}", message(&refused));
    }
    // AccountId must be the caller's own.
    let elsewhere = create(copy_job(
        DESTINATION_ACCOUNT,
        &good,
        "work/manifest.csv",
        &etag,
        1,
    ))
    .await;
    assert_eq!(code(&elsewhere), "AccessDenied", "{elsewhere:?}");

    // The token: the same request returns the job, another request is refused.
    let first = create(copy_job(
        SOURCE_ACCOUNT,
        &good,
        "work/manifest.csv",
        &etag,
        2,
    ))
    .await
    .unwrap();
    let again = create(copy_job(
        SOURCE_ACCOUNT,
        &good,
        "work/manifest.csv",
        &etag,
        2,
    ))
    .await
    .unwrap();
    assert_eq!(first.job_id(), again.job_id());
    let mut changed = copy_job(SOURCE_ACCOUNT, &good, "work/manifest.csv", &etag, 2);
    changed.priority += 1;
    let reused = create(changed).await;
    assert_eq!(code(&reused), "IdempotencyException", "{reused:?}");
    let job = s3bridge::batch::control::describe(&control, SOURCE_ACCOUNT, first.job_id().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (job.status.as_str(), job.succeeded),
        ("Complete", 2),
        "{job:?}"
    );

    // With IAM enforced, the caller needs iam:PassRole on the role.
    let iam = session.iam();
    iam.create_user()
        .user_name("operator")
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
    let operator_policy = |pass_role: bool| {
        let mut statements =
            vec![json!({"Effect": "Allow", "Action": "s3:CreateJob", "Resource": "*"})];
        if pass_role {
            statements.push(json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": good}));
        }
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    };
    let operator = Session {
        config: session
            .config
            .clone()
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new(
                        key.access_key_id(),
                        key.secret_access_key(),
                        None,
                        None,
                        "operator",
                    ),
                ),
            )
            .build(),
        access: session.access.clone(),
    }
    .s3control();
    for (pass_role, expected) in [(false, "AccessDenied"), (true, "")] {
        iam.put_user_policy()
            .user_name("operator")
            .policy_name("batch")
            .policy_document(operator_policy(pass_role))
            .send()
            .await
            .unwrap();
        moto.enforce_iam(true);
        let attempt = if pass_role { 6 } else { 5 };
        let job = copy_job(SOURCE_ACCOUNT, &good, "work/manifest.csv", &etag, attempt);
        let result = job.to_sdk(&operator).unwrap().send().await;
        moto.enforce_iam(false);
        assert_eq!(
            code(&result),
            expected,
            "iam:PassRole allowed: {pass_role}: {result:?}"
        );
        if !pass_role {
            assert!(
                message(&result).contains("iam:PassRole"),
                "{}",
                message(&result)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_fail_the_tasks_their_role_may_not_do_and_report_them_as_aws_does() {
    let moto = Moto::start();
    let session = moto.session(SOURCE_ACCOUNT).await;
    let s3 = session.s3();
    for bucket in ["batch-src", "batch-dst"] {
        create_bucket(&s3, bucket, REGION).await;
    }
    for key in ["open/a.txt", "open/b c.txt", "closed/x.txt"] {
        put(&s3, "batch-src", key, key.as_bytes()).await;
    }
    // One object the test marks to fail (a test-only header the harness keeps).
    s3.put_object()
        .bucket("batch-src")
        .key("open/marked.txt")
        .storage_class(StorageClass::Standard)
        .body(ByteStream::from_static(b"m"))
        .customize()
        .mutate_request(|r| {
            r.headers_mut()
                .insert("x-amz-s3bridge-batch-failure", "SlowDown");
        })
        .send()
        .await
        .unwrap();
    let lines = "batch-src,open/a.txt\nbatch-src,open/b%20c.txt\nbatch-src,closed/x.txt\nbatch-src,open/marked.txt\nbatch-src,open/gone.txt\n";
    let manifest = s3
        .put_object()
        .bucket("batch-src")
        .key("work/manifest.csv")
        .body(ByteStream::from_static(lines.as_bytes()))
        .send()
        .await
        .unwrap();
    let etag = manifest.e_tag().unwrap().trim_matches('"').to_string();
    // The role may read open/ and the manifest, write the destination and the reports.
    let role_arn = role(
        &session,
        "batch-copy",
        batch_trust(SOURCE_ACCOUNT),
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": ["arn:aws:s3:::batch-src/open/*", "arn:aws:s3:::batch-src/work/*"]},
            {"Effect": "Allow", "Action": "s3:PutObject",
             "Resource": ["arn:aws:s3:::batch-dst/*", "arn:aws:s3:::batch-src/work/*"]}]}),
    )
    .await;
    let control = session.s3control();
    let job = copy_job(SOURCE_ACCOUNT, &role_arn, "work/manifest.csv", &etag, 3);
    let created = job.to_sdk(&control).unwrap().send().await.unwrap();
    let id = created.job_id().unwrap().to_string();
    let state = s3bridge::batch::control::describe(&control, SOURCE_ACCOUNT, &id)
        .await
        .unwrap();
    assert_eq!(state.status, "Complete", "{state:?}");
    assert_eq!(
        (state.total, state.succeeded, state.failed),
        (Some(5), 2, 3),
        "{state:?}"
    );

    // The report, read by s3bridge's own reader: every failure with AWS's codes.
    let report = s3bridge::batch::report::read(&s3, &state)
        .await
        .unwrap()
        .expect("a completion report");
    let failures = serde_json::to_value(&report.failures).unwrap();
    assert_eq!(failures["failed"], 3, "{failures:#}");
    let reasons: Vec<(String, u64)> = failures["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut reasons = reasons;
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("AccessDenied".to_string(), 1),
            ("NoSuchKey".to_string(), 1),
            ("SlowDown".to_string(), 1)
        ]
    );
    // The files are where and how AWS writes them: manifest.json naming a CSV per
    // outcome, only the failed one for the FailedTasksOnly scope s3bridge asks for.
    let manifest_key = format!("work/reports/job-{id}/manifest.json");
    let text = s3
        .get_object()
        .bucket("batch-src")
        .key(&manifest_key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let parsed =
        s3bridge::batch::report::parse_manifest(std::str::from_utf8(&text).unwrap()).unwrap();
    let outcomes: Vec<&str> = parsed
        .results
        .iter()
        .map(|r| r.task_execution_status.as_str())
        .collect();
    assert_eq!(outcomes, ["failed"]);
    let failed = &parsed.results[0];
    assert!(
        failed
            .key
            .starts_with(&format!("work/reports/job-{id}/results/"))
            && failed.key.ends_with(".csv"),
        "{failed:?}"
    );

    // A manifest the role may not read fails the job itself.
    let denied_role = role(
        &session,
        "batch-blind",
        batch_trust(SOURCE_ACCOUNT),
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::batch-dst/*"}]}),
    )
    .await;
    let job = copy_job(SOURCE_ACCOUNT, &denied_role, "work/manifest.csv", &etag, 4);
    let created = job.to_sdk(&control).unwrap().send().await.unwrap();
    let state =
        s3bridge::batch::control::describe(&control, SOURCE_ACCOUNT, created.job_id().unwrap())
            .await
            .unwrap();
    assert_eq!(state.status, "Failed", "{state:?}");
    assert!(
        state.failure_reasons[0]
            .reason
            .contains("Reading the manifest is forbidden"),
        "{state:?}"
    );
}

/// With IAM enforced, moto checks a request's own action against identity policies; the
/// read of a copy's source (s3:GetObject on it) is checked by the harness, as AWS does.
#[tokio::test(flavor = "multi_thread")]
async fn a_copy_needs_its_source_read_in_the_callers_policies() {
    let moto = Moto::start();
    let admin = moto.plain_session().await;
    let s3 = admin.s3();
    create_bucket(&s3, "from-here", REGION).await;
    create_bucket(&s3, "to-there", REGION).await;
    put(&s3, "from-here", "k", b"v").await;
    let iam = admin.iam();
    iam.create_user().user_name("copier").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("copier")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let copier = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&admin.config)
            .credentials_provider(aws_credential_types::Credentials::new(
                key.access_key_id(),
                key.secret_access_key(),
                None,
                None,
                "copier",
            ))
            .force_path_style(true)
            .build(),
    );
    for (reads, expected) in [(false, "AccessDenied"), (true, "")] {
        let mut actions = vec!["s3:PutObject"];
        if reads {
            actions.push("s3:GetObject");
        }
        iam.put_user_policy()
            .user_name("copier")
            .policy_name("copy")
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Action": actions, "Resource": "arn:aws:s3:::*/*"}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        moto.enforce_iam(true);
        let copied = copier
            .copy_object()
            .bucket("to-there")
            .key("k")
            .copy_source("from-here/k")
            .send()
            .await;
        moto.enforce_iam(false);
        assert_eq!(
            code(&copied),
            expected,
            "source readable: {reads}: {copied:?}"
        );
    }
}
