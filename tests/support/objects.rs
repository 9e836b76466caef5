//! Objects for tests: sessions with the plain test credentials, multipart uploads with a
//! chosen part layout, and a bucket's keys with their ETags.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use s3bridge::aws::{Access, Session};

use super::{fake_credentials, REGION};

/// A session with the plain test credentials: the account the binary acts in too.
pub async fn plain_session(endpoint: &str) -> Session {
    fake_credentials();
    Session::connect(&Access {
        endpoint_url: Some(endpoint.to_string()),
        ..Access::new(REGION)
    })
    .await
    .unwrap()
}

/// A multipart object with parts of these sizes (MiB, the last may be smaller; part i
/// holds the byte `b'a' + i`), with a content type, metadata and a tag; returns its ETag.
pub async fn put_multipart(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    sizes_mib: &[usize],
) -> String {
    let body: Vec<u8> = sizes_mib
        .iter()
        .enumerate()
        .flat_map(|(i, size)| std::iter::repeat_n(b'a' + i as u8, size << 20))
        .collect();
    let create = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .content_type("application/x-test")
        .metadata("origin", "multipart")
        .tagging("layout=by-part");
    let sizes: Vec<usize> = sizes_mib.iter().map(|m| m << 20).collect();
    upload(s3, create, &body, &sizes).await
}

/// `body` uploaded in parts of these sizes (bytes), nothing else set; returns its ETag.
pub async fn put_parts(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: &[u8],
    sizes: &[usize],
) -> String {
    let create = s3.create_multipart_upload().bucket(bucket).key(key);
    upload(s3, create, body, sizes).await
}

async fn upload(
    s3: &aws_sdk_s3::Client,
    create: aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder,
    body: &[u8],
    sizes: &[usize],
) -> String {
    let (bucket, key) = (
        create.get_bucket().clone().unwrap(),
        create.get_key().clone().unwrap(),
    );
    let upload = create.send().await.unwrap();
    let id = upload.upload_id().unwrap();
    let (mut parts, mut at) = (Vec::new(), 0);
    for (i, size) in sizes.iter().enumerate() {
        let n = i as i32 + 1;
        let part = s3
            .upload_part()
            .bucket(&bucket)
            .key(&key)
            .upload_id(id)
            .part_number(n)
            .body(body[at..at + size].to_vec().into())
            .send()
            .await
            .unwrap();
        at += size;
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(part.e_tag().unwrap())
                .set_checksum_crc32(part.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    let done = s3
        .complete_multipart_upload()
        .bucket(&bucket)
        .key(&key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    done.e_tag().unwrap().trim_matches('"').to_string()
}

/// A new KMS key in the session's account; returns its ARN.
pub async fn create_key(kms: &aws_sdk_kms::Client) -> String {
    kms.create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string()
}

/// Every key of a bucket with its ETag.
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> BTreeMap<String, String> {
    objects(s3, bucket)
        .await
        .into_iter()
        .map(|(key, (_, etag))| (key, etag))
        .collect()
}

/// Every key of a bucket with its size and ETag.
pub async fn objects(s3: &aws_sdk_s3::Client, bucket: &str) -> BTreeMap<String, (i64, String)> {
    let mut out = BTreeMap::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        for o in page.unwrap().contents() {
            out.insert(
                o.key().unwrap().to_string(),
                (
                    o.size().unwrap(),
                    o.e_tag().unwrap().trim_matches('"').to_string(),
                ),
            );
        }
    }
    out
}
