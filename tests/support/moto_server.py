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

Third, moto gives every object an ETag that is the MD5 of its content. On S3 the
ETag of an SSE-KMS (or SSE-C) object is not an MD5 of the content: it is opaque, and
a copy of the object gets a different one. Copy's decision depends on that (same size,
different ETag must be settled with checksums, or SSE-KMS objects would be copied again
on every run), so single-part SSE-KMS objects here get an ETag unique to each write,
as on S3.

Fourth, reading one part of a multipart object (`?partNumber=N`, how a copy learns the
source's part layout): moto's GET ignores partNumber and sends the whole object without
`x-amz-mp-parts-count`, and its HEAD answers with the part's own ETag, metadata and
content type (checking `If-Match` against the part's ETag). S3 answers both with the
part's size (and bytes) and the object's ETag, metadata and parts count; so here.

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

import hashlib
import uuid

from moto.s3.models import FakeKey

_md5_etag = FakeKey.etag


def _etag_as_s3(self):
    etag = _md5_etag.fget(self)
    if self.encryption != "aws:kms" or "-" in etag:
        return etag
    nonce = self.__dict__.setdefault("_s3bridge_write_nonce", uuid.uuid4().hex)
    return '"' + hashlib.md5((etag + nonce).encode()).hexdigest() + '"'


FakeKey.etag = property(_etag_as_s3)

from moto.s3.exceptions import InvalidRange, PreconditionFailed


def _multipart_key(self, key_name, query):
    version_id = query.get("versionId", [None])[0]
    key = self.backend.get_object(self.bucket_name, key_name, version_id=version_id)
    return key if key is not None and key.multipart else None


def _check_object_etag(key, headers):
    if_match = headers.get("If-Match")
    if if_match and key.etag not in [if_match, f'"{if_match}"']:
        raise PreconditionFailed("If-Match")


def _part_response(self, key, part_number, body_wanted):
    numbers = key.multipart.partlist
    if part_number > len(numbers):
        raise InvalidRange(actual_size=str(key.size), range_requested=f"part {part_number}")
    start = sum(key.multipart.parts[n].size for n in numbers[: part_number - 1])
    size = key.multipart.parts[numbers[part_number - 1]].size
    headers = dict(key.metadata)
    headers.update(key.response_dict)
    headers["content-range"] = f"bytes {start}-{start + size - 1}/{key.size}"
    headers["content-length"] = str(size)
    headers["x-amz-mp-parts-count"] = str(len(numbers))
    tags = self.backend.tagger.list_tags_for_resource(key.arn)["Tags"]
    headers["x-amz-tagging-count"] = str(len(tags))
    body = key.value[start : start + size] if body_wanted else ""
    return 206, headers, body


_head_object = responses.S3Response.head_object


def head_object(self, bucket_name, query, key_name, headers):
    part_number = int(query.get("partNumber", ["0"])[0] or 0)
    if part_number:
        self.bucket_name = bucket_name
        key = _multipart_key(self, key_name, query)
        if key is not None:
            self._set_action("KEY", "HEAD", query)
            self._authenticate_and_authorize_s3_action(bucket_name=bucket_name, key_name=key_name)
            _check_object_etag(key, headers)
            return _part_response(self, key, part_number, body_wanted=False)
    return _head_object(self, bucket_name, query, key_name, headers)


responses.S3Response.head_object = head_object

_key_response_get = responses.S3Response._key_response_get


def _key_response_get_part(self, query, key_name):
    part_number = int(query.get("partNumber", ["0"])[0] or 0)
    key = _multipart_key(self, key_name, query) if part_number else None
    if key is None or "uploadId" in query:
        return _key_response_get(self, query, key_name)
    self._set_action("KEY", "GET", query)
    self._authenticate_and_authorize_s3_action(bucket_name=self.bucket_name, key_name=key_name)
    _check_object_etag(key, self.headers)
    return _part_response(self, key, part_number, body_wanted=True)


responses.S3Response._key_response_get = _key_response_get_part

if __name__ == "__main__":
    from moto.server import main

    host, port = sys.argv[1], sys.argv[2]
    main(["-H", host, "-p", port])
