"""Starts moto server for s3bridge's tests, with two kinds of S3 responses fixed.

moto stores a bucket's replication configuration as it was sent, but its
GetBucketReplication answer rebuilds each rule from ID, Priority, Status and
Destination only, and always claims `DeleteMarkerReplication: Disabled` and
`Filter: {Prefix: ""}`; a lone tag inside `Filter.And` is also lost (xmltodict stores
it as a mapping where the serializer expects a list). Terraform then sees a diff on
every plan and an audit would read wrong values. This launcher returns the rules as
stored instead, which is what S3 does. Nothing else about moto is changed.

Second, some of moto's S3 XML answers are wrapped in a root element named after the
operation (`<GetBucketVersioningResponse>`) where S3 uses the shape's own name
(`<VersioningConfiguration>`). boto3 ignores the root name; the Rust SDK checks it and
refuses the answer, so those roots are renamed to what S3 sends.

Third, HEAD with `partNumber` on a multipart object: S3 answers with the whole object's
ETag (`"<md5>-N"`, with `x-amz-mp-parts-count`) and evaluates `If-Match` against it;
moto answers with the part's own ETag and compares `If-Match` with that, so a request
pinned to the object's ETag (as `s3bridge verify` sends for part sizes) gets 412. This
launcher evaluates the precondition and reports the ETag as S3 does.

Usage: python moto_server.py HOST PORT
"""

import sys

from moto.s3 import responses
from moto.s3.exceptions import ReplicationConfigurationNotFoundError
from moto.core.responses import ActionResult


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _rule_as_stored(rule):
    rule = dict(rule)
    # Field names as S3's response shapes name them.
    filt = rule.get("Filter")
    if isinstance(filt, dict) and isinstance(filt.get("And"), dict):
        and_ = dict(filt["And"])
        if "Tag" in and_:
            and_["Tags"] = _as_list(and_.pop("Tag"))
        filt = dict(filt, And=and_)
        rule["Filter"] = filt
    return rule


def get_bucket_replication(self):
    self.data["Action"] = "GetBucketReplication"
    replication = self.backend.get_bucket_replication(self.bucket_name)
    if not replication:
        raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
    rules = [_rule_as_stored(rule) for rule in _as_list(replication["Rule"])]
    return self.serialized(
        ActionResult(
            {"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}
        )
    )


responses.S3Response.get_bucket_replication = get_bucket_replication

# moto's root element → S3's (the names aws-sdk-s3 expects).
S3_ROOTS = {
    "CompleteMultipartUploadResponse": "CompleteMultipartUploadResult",
    "GetBucketAccelerateConfigurationResponse": "AccelerateConfiguration",
    "GetBucketNotificationResponse": "NotificationConfiguration",
    "GetBucketVersioningResponse": "VersioningConfiguration",
    "ListBucketInventoryConfigurationsResponse": "ListInventoryConfigurationsResult",
    "ListPartsResponse": "ListPartsResult",
}

_serialized = responses.S3Response.serialized


def serialized(self, action_result):
    status, headers, body = _serialized(self, action_result)
    text = body.decode() if isinstance(body, bytes) else body
    if isinstance(text, str):
        for moto_root, s3_root in S3_ROOTS.items():
            if f"<{moto_root}" in text:
                text = text.replace(f"<{moto_root}", f"<{s3_root}", 1)
                text = text.replace(f"</{moto_root}>", f"</{s3_root}>", 1)
                body = text.encode() if isinstance(body, bytes) else text
                break
    return status, headers, body


responses.S3Response.serialized = serialized

_head_object = responses.S3Response.head_object


def head_object(self, bucket_name, query, key_name, headers):
    part_number = query.get("partNumber", [None])[0]
    if not part_number:
        return _head_object(self, bucket_name, query, key_name, headers)
    if_match = headers.get("If-Match")
    headers = {k: v for k, v in headers.items() if k.lower() != "if-match"}
    status, response_headers, body = _head_object(self, bucket_name, query, key_name, headers)
    version_id = query.get("versionId", [None])[0]
    try:
        full_key = self.backend.head_object(bucket_name, key_name, version_id)
    except Exception:
        full_key = None
    if full_key is not None and status in (200, 206):
        response_headers = dict(response_headers)
        for name in list(response_headers):
            if name.lower() == "etag":
                del response_headers[name]
        response_headers["ETag"] = full_key.etag
        if if_match and if_match != full_key.etag:
            return 412, response_headers, ""
    return status, response_headers, body


responses.S3Response.head_object = head_object

if __name__ == "__main__":
    from moto.server import main

    host, port = sys.argv[1], sys.argv[2]
    main(["-H", host, "-p", port])
