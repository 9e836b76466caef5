"""Starts moto server for s3bridge's tests, with the gaps that matter to them fixed.

moto (5.2.1) differs from AWS in ways that would let a test pass for the wrong reason or
fail for none; each change below names its gap. Every other behaviour is moto's own.

1. Replication read-back. moto stores a bucket's replication configuration as it was
   sent, but its GetBucketReplication answer rebuilds each rule from ID, Priority, Status
   and Destination only, and always claims `DeleteMarkerReplication: Disabled` and
   `Filter: {Prefix: ""}`; a lone tag inside `Filter.And` is also lost (xmltodict stores
   it as a mapping where the serializer expects a list). Here the rules come back as
   stored, as S3 does. And as S3 does, a rule with `ExistingObjectReplication` Enabled is
   refused with MalformedXML (S3 accepts it only in accounts AWS enabled it for; Terraform
   provider issues 23803, 24427, 43746), unless the launcher is started with
   `S3BRIDGE_EXISTING_OBJECT_REPLICATION_ACCOUNTS=<id>,...`: a test that opts in proves a
   round trip through the API, not that AWS would accept it.

2. XML root names. Some of moto's S3 answers are wrapped in a root element named after
   the operation (`<GetBucketVersioningResponse>`) where S3 uses the shape's own name
   (`<VersioningConfiguration>`). boto3 ignores the root name; the Rust SDK checks it and
   refuses the answer, so those roots are renamed to what S3 sends.

3. Authorisation (tests/support/moto_authz.py): every S3 request is named by the IAM
   action AWS authorises it as, the bucket policy is evaluated for that action with the
   request's context keys and Principal, another account needs a bucket-policy grant, and
   what the harness cannot evaluate is refused loudly (501 HarnessCannotEvaluate). With
   IAM enforced, KMS calls are authorised against the key (moto uses `*`).

   Also with IAM enforced: a role session matches its role's ARN in a trust policy, and
   S3 signatures are not re-checked (moto rejects valid ones); see their sections below.

4. S3 Batch Operations (tests/support/moto_batch.py): moto has none. CreateJob,
   DescribeJob and ListJobs are served with AWS's checks (shape, account, role, trust,
   iam:PassRole, idempotency); jobs run their tasks as the role and write a completion
   report.

5. Replication status. moto never replicates, so a test marks an object's replication
   status by sending the test-only header `x-amz-replication-status` with its PutObject
   (HEAD and GET then report it as S3 would); `x-amz-s3bridge-batch-failure: <ErrorCode>`
   makes a Batch Operations task on that object fail with that code.

6. ETags. moto gives every object an ETag that is the MD5 of its content. On S3 the ETag
   of an SSE-KMS (or SSE-C) object is not an MD5 of the content: it is opaque, and a copy
   of the object gets a different one. Copy's decision depends on that (same size,
   different ETag must be settled with checksums, or SSE-KMS objects would be copied
   again on every run), so single-part SSE-KMS objects here get an ETag unique to each
   write, as on S3.

7. Reading one part of a multipart object (`?partNumber=N`, how a copy learns the
   source's part layout): moto's GET ignores partNumber and sends the whole object without
   `x-amz-mp-parts-count`, and its HEAD answers with the part's own ETag, metadata and
   content type (checking `If-Match` against the part's ETag). S3 answers both with the
   part's size (and bytes) and the object's ETag, metadata and parts count, and evaluates
   `If-Match` against the object's ETag (as `s3bridge verify` sends for part sizes); so here.

8. Copies: `x-amz-copy-source-if-match` is honoured, and an archived source is refused
   with InvalidObjectState, as S3 does.

9. KMS: a key ARN or alias ARN of another account is resolved in that account (moto
   resolves every KeyId in the caller's), as AWS does.

10. Multipart uploads (tests/support/moto_transfer.py): ListMultipartUploads answers with
   the real initiator and initiation time (moto makes both up).

Usage: python moto_server.py HOST PORT
"""

import hashlib
import json
import os
import re
import sys
import uuid

from moto.core.responses import ActionResult
from moto.s3 import responses
from moto.s3.exceptions import MalformedXML, ReplicationConfigurationNotFoundError
from moto.s3.models import FakeKey, S3Backend

import moto_authz
import moto_batch

def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _rule_as_stored(rule):
    rule = dict(rule)
    filt = rule.get("Filter")
    # xmltodict reads an empty <Filter/> (every object) or <Prefix></Prefix> as None,
    # which the serializer then drops, so the rule would come back without its filter.
    # Answer with the equivalent empty prefix instead.
    if "Filter" in rule and filt is None:
        filt = {"Prefix": ""}
        rule["Filter"] = filt
    if isinstance(filt, dict) and "Prefix" in filt and filt["Prefix"] is None:
        filt = dict(filt, Prefix="")
        rule["Filter"] = filt
    # Field names as S3's response shapes name them.
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

_put_bucket_replication = S3Backend.put_bucket_replication
_EXISTING_OBJECTS_ALLOWED = {
    a for a in os.environ.get("S3BRIDGE_EXISTING_OBJECT_REPLICATION_ACCOUNTS", "").split(",") if a
}


def put_bucket_replication(self, bucket_name, replication):
    for rule in _as_list(replication.get("Rule")):
        existing = (rule.get("ExistingObjectReplication") or {}).get("Status")
        if existing == "Enabled" and self.account_id not in _EXISTING_OBJECTS_ALLOWED:
            moto_authz.log(
                f"PutBucketReplication of {bucket_name}: ExistingObjectReplication is refused "
                f"(MalformedXML) in account {self.account_id}, as S3 does unless AWS enabled it"
            )
            raise MalformedXML()
    return _put_bucket_replication(self, bucket_name, replication)


S3Backend.put_bucket_replication = put_bucket_replication

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


moto_authz.install()
moto_batch.install()


# --- moto gap: KMS authorisation resource ----------------------------------------------
# With IAM enforced, moto checks KMS calls against resource `*`, so a least-privilege
# policy scoped to a key ARN is refused. AWS authorises them against the key.

from moto.kms.responses import KmsResponse


def _kms_resource(self):
    try:
        body = self.body.decode() if isinstance(self.body, bytes) else self.body
        key_id = json.loads(body or "{}").get("KeyId")
        return _backend_of(self, key_id).describe_key(key_id).arn if key_id else "*"
    except Exception:  # an unknown key: let the operation itself answer NotFound
        return "*"


KmsResponse._determine_resource = _kms_resource


# --- moto gap: CloudWatch alarm authorisation resource -----------------------------------
# With IAM enforced, moto checks CloudWatch calls against resource `*`, so the auditor
# policy, which scopes cloudwatch:DescribeAlarms to the bundle's alarms
# (`arn:aws:cloudwatch:REGION:ACCOUNT:alarm:s3bridge-NAME-*`), is refused. AWS authorises
# DescribeAlarms against alarm ARNs (Service Authorization Reference, Amazon CloudWatch:
# DescribeAlarms, resource type `alarm`); audit asks by name prefix, which is an alarm ARN
# with that prefix here.

from moto.cloudwatch.responses import CloudWatchResponse


def _cloudwatch_resource(self):
    try:
        # Parameters are parsed after authorisation: read the form body's field.
        prefix = (self.querystring.get("AlarmNamePrefix") or [None])[0]
        if self._get_action() == "DescribeAlarms" and prefix:
            return f"arn:aws:cloudwatch:{self.region}:{self.current_account}:alarm:{prefix}"
    except Exception:
        pass
    return "*"


CloudWatchResponse._determine_resource = _cloudwatch_resource

# moto also names the IAM action after the SigV4 signing name, `monitoring:DescribeAlarms`
# for CloudWatch; the IAM prefix is `cloudwatch` (Service Authorization Reference).
from moto.iam import access_control as _cw_access_control

_iam_request_init = _cw_access_control.IAMRequest.__init__


def _iam_request_with_cloudwatch_prefix(self, *args, **kwargs):
    _iam_request_init(self, *args, **kwargs)
    if self._action.startswith("monitoring:"):
        self._action = "cloudwatch:" + self._action.split(":", 1)[1]


_cw_access_control.IAMRequest.__init__ = _iam_request_with_cloudwatch_prefix


# --- moto gap: role sessions as trust-policy principals ----------------------------------
# With IAM enforced, moto checks a role's trust policy on AssumeRole by comparing the
# caller's ARN with the Principal literally, so a session of a trusted role
# (`arn:aws:sts::A:assumed-role/R/S`) is refused where the trust names `arn:aws:iam::A:role/R`.
# AWS matches role sessions against the role ARN (IAM user guide,
# reference_policies_elements_principal, "Role session principals" / "IAM role principals"):
# a spec's trusted principal is typically such a role (tests/copy_role.rs).

from moto.iam import access_control as _access_control

_check_principal = _access_control.IAMPolicyStatement._check_principal


def _check_principal_or_its_role(self, principal):
    if _check_principal(self, principal):
        return True
    session = re.match(r"arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/", principal or "")
    return bool(session) and _check_principal(
        self, f"arn:{session[1]}:iam::{session[2]}:role/{session[3]}"
    )


_access_control.IAMPolicyStatement._check_principal = _check_principal_or_its_role


# --- moto gap: S3 signatures under IAM enforcement ---------------------------------------
# With IAM enforced, moto recomputes each S3 request's SigV4 signature from a canonical
# query string it builds differently from the SDKs for some parameters (a ListObjectsV2
# `prefix` or `start-after` with `/`), and answers SignatureDoesNotMatch to valid
# requests. Signatures are not what these tests prove; the access key still decides the
# principal whose policies are evaluated. So S3 requests are not re-signed here.

_access_control.S3IAMRequest.check_signature = lambda self: None


# --- moto gap: KMS keys named by an ARN of another account -------------------------------
# moto resolves every KeyId in the caller's account, so a key ARN or alias ARN of another
# account is NotFound. AWS resolves an ARN in the account it names ("To specify a KMS key
# in a different AWS account, you must use the key ARN or alias ARN", DescribeKey in the
# KMS API reference); `s3bridge copy` finds the destination key so, as the copy role of
# the other account. Whether that account's key policy lets the caller in is not
# modelled here (moto has no key policies): tests/permissions.rs proves that part.


def _named_account(key_id):
    parts = (key_id or "").split(":")
    if (key_id or "").startswith("arn:") and len(parts) > 5 and parts[4].isdigit():
        return parts[4]
    return None


def _backend_of(self, key_id):
    from moto.kms.models import kms_backends

    account = _named_account(key_id)
    return kms_backends[account][self.region] if account else self.kms_backend


def _in_named_account(self, key_id):
    account = _named_account(key_id)
    if account:
        self.current_account = account


_describe_key = KmsResponse.describe_key


def describe_key(self):
    body = self.body.decode() if isinstance(self.body, bytes) else self.body
    _in_named_account(self, json.loads(body or "{}").get("KeyId"))
    return _describe_key(self)


KmsResponse.describe_key = describe_key


# --- moto gap: object replication status -----------------------------------------------
# moto never replicates, so no object ever has a replication status. A test marks one by
# sending the test-only header `x-amz-replication-status` with its PutObject, and makes a
# Batch Operations task on it fail with `x-amz-s3bridge-batch-failure` (moto_batch.py).

_put_object = responses.S3Response.put_object


def put_object(self):
    result = _put_object(self)
    status = self.headers.get("x-amz-replication-status")
    failure = self.headers.get("x-amz-s3bridge-batch-failure")
    if status or failure:
        key = self.backend.get_object(self.bucket_name, self.parse_key_name())
        if status:
            key.s3bridge_replication_status = status
        if failure:
            key.s3bridge_batch_failure = failure
    return result


responses.S3Response.put_object = put_object
_response_dict = FakeKey.response_dict


def _response_dict_with_status(self):
    headers = _response_dict.fget(self)
    status = getattr(self, "s3bridge_replication_status", None)
    if status:
        headers["x-amz-replication-status"] = status
    return headers


FakeKey.response_dict = property(_response_dict_with_status)

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

# --- moto gap: copy preconditions and archived sources ---------------------------------
# moto ignores `x-amz-copy-source-if-match` (CopyObject and UploadPartCopy), so a copy
# whose source changed after it was listed succeeds; S3 answers 412 PreconditionFailed
# (S3 API reference, CopyObject: "x-amz-copy-source-if-match: Copies the object if its
# entity tag (ETag) matches the specified tag"). And a copy of an archived (GLACIER,
# DEEP_ARCHIVE), unrestored source is refused by moto with ObjectNotInActiveTierError
# (CopyObject only), where S3 answers 403 InvalidObjectState, "Operation is not valid for
# the source object's storage class" (as S3 clients report it, e.g. s3tools/s3cmd#193).

from moto.s3.exceptions import InvalidObjectState

ARCHIVED = ("GLACIER", "DEEP_ARCHIVE")


class ArchivedSource(InvalidObjectState):
    def __init__(self, storage_class):
        super().__init__(storage_class)
        self.message = "Operation is not valid for the source object's storage class"


_key_response_put = responses.S3Response._key_response_put


def _key_response_put_with_copy_checks(self, query, key_name):
    headers = {k.lower(): v for k, v in self.headers.items()}
    if "x-amz-copy-source" in headers:
        bucket, key, version = moto_authz._copy_source(headers)
        try:
            source = self.backend.get_object(bucket, key, version_id=version)
        except Exception:  # no such bucket: moto answers it
            source = None
        if source is not None and isinstance(source, FakeKey):
            wanted = headers.get("x-amz-copy-source-if-match")
            if wanted and wanted.strip('"') != source.etag.strip('"'):
                raise PreconditionFailed(failed_condition="x-amz-copy-source-If-Match")
            restore = source.response_dict.get("x-amz-restore")
            if source.storage_class in ARCHIVED and (restore is None or 'ongoing-request="true"' in restore):
                raise ArchivedSource(source.storage_class)
    return _key_response_put(self, query, key_name)


responses.S3Response._key_response_put = _key_response_put_with_copy_checks

import moto_transfer  # noqa: E402,F401  (its own gaps: multipart upload initiators)

if __name__ == "__main__":
    from moto.server import main

    host, port = sys.argv[1], sys.argv[2]
    main(["-H", host, "-p", port])
