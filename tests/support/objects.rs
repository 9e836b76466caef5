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

/// A multipart object with parts of these sizes (MiB, the last may be smaller); returns its ETag.
pub async fn put_multipart(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    sizes_mib: &[usize],
) -> String {
    let upload = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .content_type("application/x-test")
        .metadata("origin", "multipart")
        .tagging("layout=by-part")
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let mut parts = Vec::new();
    for (i, size) in sizes_mib.iter().enumerate() {
        let n = i as i32 + 1;
        let body = vec![b'a' + i as u8; size << 20];
        let part = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(body.into())
            .send()
            .await
            .unwrap();
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
        .bucket(bucket)
        .key(key)
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

/// Every key of a bucket with its ETag.
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        for o in page.unwrap().contents() {
            out.insert(
                o.key().unwrap().to_string(),
                o.e_tag().unwrap().trim_matches('"').to_string(),
            );
        }
    }
    out
}
