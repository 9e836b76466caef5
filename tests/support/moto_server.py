"""Starts moto server for s3bridge's tests, with the gaps that matter to them fixed.

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

Third (sections below, each naming its gap), what audit's and batch's tests need:
- bucket policies: moto evaluates their conditions against an empty request and treats
  any unknown operator as met, so s3bridge's TLS-only Deny refuses every object request;
  here conditions are evaluated as AWS does for a request over TLS (the SDK's only way
  to reach AWS) with the request's SSE headers;
- with IAM enforced, KMS calls are authorised against the key (not `*`) and bucket reads
  by their own IAM action (not s3:ListBucket);
- S3 Batch Operations: moto has none; ListJobs, DescribeJob and CreateJob are served
  from an in-memory store per account, with CreateJob's request checked against the
  documented shape (jobs complete at once; no object is copied);
- object replication never happens on moto, so a test can mark an object's replication
  status by sending `x-amz-replication-status` with its PutObject (a test-only header;
  HEAD and GET then report it as S3 would).

(Also: a KMS key ARN or alias ARN of another account is resolved in that account, and a
role session matches its role's ARN in a trust policy, as on AWS; see the sections below.)

Fourth, moto gives every object an ETag that is the MD5 of its content. On S3 the
ETag of an SSE-KMS (or SSE-C) object is not an MD5 of the content: it is opaque, and
a copy of the object gets a different one. Copy's decision depends on that (same size,
different ETag must be settled with checksums, or SSE-KMS objects would be copied again
on every run), so single-part SSE-KMS objects here get an ETag unique to each write,
as on S3.

Fifth, reading one part of a multipart object (`?partNumber=N`, how a copy learns the
source's part layout): moto's GET ignores partNumber and sends the whole object without
`x-amz-mp-parts-count`, and its HEAD answers with the part's own ETag, metadata and
content type (checking `If-Match` against the part's ETag). S3 answers both with the
part's size (and bytes) and the object's ETag, metadata and parts count, and evaluate
`If-Match` against the object's ETag (as `s3bridge verify` sends for part sizes); so here.

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


# --- moto gap: bucket-policy conditions ------------------------------------------------
# moto's FakeBucket.get_permission evaluates statements with an empty request context and
# ignores operators it does not know (Bool, ...IfExists), so `Deny s3:* when
# aws:SecureTransport is false` denies every object request. Evaluate as AWS does.

import fnmatch
import json
import threading

from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket, FakeKey

_request = threading.local()
_key_response = responses.S3Response._key_response


def _remember_headers(self, request, full_url):
    _request.headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        return _key_response(self, request, full_url)
    finally:
        _request.headers = {}


responses.S3Response._key_response = _remember_headers


def _context():
    headers = getattr(_request, "headers", {}) or {}
    # Every AWS SDK reaches AWS over TLS; s3bridge's tests talk plain HTTP to moto only
    # because moto serves no TLS.
    context = {"aws:securetransport": "true"}
    for header in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"):
        if header in headers:
            context["s3:" + header] = headers[header]
    return context


def _matches(patterns, value):
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _condition_holds(operator, key, expected, context):
    expected = [str(v).lower() for v in (expected if isinstance(expected, list) else [expected])]
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    base = base.split(":")[-1]  # ForAnyValue:/ForAllValues: on single values
    actual = context.get(key.lower())
    if base == "Null":
        return (actual is None) == (expected[0] == "true")
    negated = "Not" in base
    if actual is None:
        # An absent key: ...IfExists conditions hold; otherwise only negated ones do.
        return if_exists or negated
    actual = actual.lower()
    if base in ("Bool", "StringEquals", "StringEqualsIgnoreCase", "ArnEquals", "NumericEquals"):
        return actual in expected
    if base in ("StringNotEquals", "StringNotEqualsIgnoreCase", "ArnNotEquals", "NumericNotEquals"):
        return actual not in expected
    if base in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(actual, e) for e in expected)
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(fnmatch.fnmatchcase(actual, e) for e in expected)
    return True  # operators no test uses: keep moto's leniency


def get_permission(self, action, resource):
    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    context = _context()
    result = PermissionResult.NEUTRAL
    for statement in statements:
        if "NotAction" in statement:
            if _matches(statement["NotAction"], action):
                continue
        elif not _matches(statement.get("Action", []), action):
            continue
        if "NotResource" in statement:
            if _matches(statement["NotResource"], resource):
                continue
        elif not _matches(statement.get("Resource", "*"), resource):
            continue
        conditions = statement.get("Condition", {})
        if not all(
            _condition_holds(operator, key, values, context)
            for operator, keys in conditions.items()
            for key, values in keys.items()
        ):
            continue
        if statement.get("Effect") == "Deny":
            return PermissionResult.DENIED
        result = PermissionResult.PERMITTED
    return result


FakeBucket.get_permission = get_permission


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


# --- moto gap: IAM actions of bucket reads ---------------------------------------------
# With IAM enforced, moto authorises the bucket reads it has no name for as s3:ListBucket
# (and looks for `public_access_block` where S3 sends `publicAccessBlock`). AWS checks
# these actions; a least-privilege policy is judged against them.

responses.ACTION_MAP["BUCKET"]["GET"].update(
    {
        "encryption": "GetEncryptionConfiguration",
        "publicAccessBlock": "GetBucketPublicAccessBlock",
        "ownershipControls": "GetBucketOwnershipControls",
        "replication": "GetReplicationConfiguration",
    }
)


# --- moto gap: S3 Batch Operations (s3control jobs) ------------------------------------
# moto has no Batch Operations. ListJobs, DescribeJob and CreateJob are served from a store
# per account; CreateJob's request is checked against the documented CreateJob shape
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_CreateJob.html), including
# an S3PutObjectCopy operation (API_control_S3CopyObjectOperation.html) and a manifest
# s3bridge wrote (API_control_JobManifest.html, JobManifestSpec, JobManifestLocation).
# Jobs created without confirmation complete at once (nothing is copied); with
# ConfirmationRequired they wait, Suspended, as on AWS. A job over a Manifest reads it
# from moto's S3 as Batch Operations does before running: a missing manifest or another
# ETag than the request's fails the job; otherwise each CSV line counts as one task.

import datetime
import re
import uuid

from moto.s3control import urls as s3control_urls
from moto.s3control.exceptions import S3ControlError
from moto.s3control.responses import S3ControlResponse

s3control_urls.url_paths.update(
    {
        r"{0}/v20180820/jobs$": S3ControlResponse.dispatch,
        r"{0}/v20180820/jobs/(?P<id>[^/]+)$": S3ControlResponse.dispatch,
        "/v20180820/jobs": S3ControlResponse.dispatch,
        "/v20180820/jobs/<id>": S3ControlResponse.dispatch,
    }
)


class InvalidJobRequest(S3ControlError):
    code = "InvalidRequestException"


class JobNotFound(S3ControlError):
    code = "NotFoundException"


def _job_answer(self, operation, result):
    """Serialises like moto, with S3 Control's root element (`ListJobsResult`) where moto
    writes `ListJobsResponse` (which the Rust SDK refuses)."""
    status, headers, body = self.serialized(ActionResult(result))
    text = body.decode() if isinstance(body, bytes) else body
    text = text.replace(f"<{operation}Response", f"<{operation}Result", 1)
    text = text.replace(f"</{operation}Response>", f"</{operation}Result>", 1)
    return status, headers, text


def _jobs(self):
    if not hasattr(self.backend, "s3bridge_jobs"):
        self.backend.s3bridge_jobs = {}
    return self.backend.s3bridge_jobs


def _check_create_job(params):
    for required in ("AccountId", "Operation", "Report", "ClientRequestToken", "Priority", "RoleArn"):
        if params.get(required) in (None, ""):
            raise InvalidJobRequest(f"{required} is required")
    if ("Manifest" in params) == ("ManifestGenerator" in params):
        raise InvalidJobRequest("exactly one of Manifest and ManifestGenerator is required")
    operation = params["Operation"]
    if not isinstance(operation, dict) or len(operation) != 1:
        raise InvalidJobRequest("Operation must name exactly one operation")
    if not str(params["RoleArn"]).startswith("arn:") or ":role/" not in params["RoleArn"]:
        raise InvalidJobRequest("RoleArn must be an IAM role ARN")
    if int(params["Priority"]) < 0:
        raise InvalidJobRequest("Priority must be >= 0")
    report = params["Report"]
    if report.get("Enabled") in (True, "true"):
        for field in ("Bucket", "Format", "ReportScope"):
            if not report.get(field):
                raise InvalidJobRequest(f"Report.{field} is required when the report is enabled")
        if report["Format"] != "Report_CSV_20180820":
            raise InvalidJobRequest("Report.Format must be Report_CSV_20180820")
    generator = params.get("ManifestGenerator", {}).get("S3JobManifestGenerator")
    if "ManifestGenerator" in params:
        if not generator or not generator.get("SourceBucket"):
            raise InvalidJobRequest("ManifestGenerator.S3JobManifestGenerator.SourceBucket is required")
        if "EnableManifestOutput" not in generator:
            raise InvalidJobRequest("S3JobManifestGenerator.EnableManifestOutput is required")
    if "Manifest" in params:
        _check_manifest(params["Manifest"])
    if "S3PutObjectCopy" in operation:
        _check_copy_operation(operation["S3PutObjectCopy"] or {})


def _members(value):
    """A list member as moto's XML parsing hands it over: `{"member": x}` or a list."""
    if isinstance(value, dict) and "member" in value:
        value = value["member"]
    return _as_list(value)


_ARN = re.compile(r"arn:[^:]+:s3:.*")


def _check_manifest(manifest):
    """JobManifest: Spec (Format, Fields) and Location (ObjectArn, ETag) are required."""
    spec = manifest.get("Spec") or {}
    location = manifest.get("Location") or {}
    formats = ("S3BatchOperations_CSV_20180820", "S3InventoryReport_CSV_20161130")
    if spec.get("Format") not in formats:
        raise InvalidJobRequest(f"Manifest.Spec.Format must be one of {formats}")
    if spec["Format"] == "S3BatchOperations_CSV_20180820":
        fields = _members(spec.get("Fields"))
        if not fields:
            raise InvalidJobRequest("Manifest.Spec.Fields is required for a CSV manifest")
        unknown = [f for f in fields if f not in ("Ignore", "Bucket", "Key", "VersionId")]
        if unknown:
            raise InvalidJobRequest(f"Manifest.Spec.Fields: unknown fields {unknown}")
        if "Bucket" not in fields or "Key" not in fields:
            raise InvalidJobRequest("Manifest.Spec.Fields must name the Bucket and Key columns")
    arn = location.get("ObjectArn") or ""
    if not _ARN.fullmatch(arn) or "/" not in arn:
        raise InvalidJobRequest("Manifest.Location.ObjectArn must be an S3 object ARN")
    if not location.get("ETag"):
        raise InvalidJobRequest("Manifest.Location.ETag is required")


def _check_copy_operation(copy):
    """S3CopyObjectOperation: TargetResource (a bucket ARN) and enum members."""
    target = copy.get("TargetResource") or ""
    if not _ARN.fullmatch(target) or "/" in target:
        raise InvalidJobRequest("S3PutObjectCopy.TargetResource must be a bucket ARN")
    enums = {
        "MetadataDirective": ("COPY", "REPLACE"),
        "StorageClass": (
            "STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER", "INTELLIGENT_TIERING",
            "DEEP_ARCHIVE", "GLACIER_IR",
        ),
        "CannedAccessControlList": (
            "private", "public-read", "public-read-write", "aws-exec-read",
            "authenticated-read", "bucket-owner-read", "bucket-owner-full-control",
        ),
    }
    for member, allowed in enums.items():
        if member in copy and copy[member] not in allowed:
            raise InvalidJobRequest(f"S3PutObjectCopy.{member} must be one of {allowed}")
    if copy.get("BucketKeyEnabled") in (True, "true") and not copy.get("SSEAwsKmsKeyId"):
        raise InvalidJobRequest("S3PutObjectCopy.BucketKeyEnabled needs SSEAwsKmsKeyId")


def _read_manifest(account_id, manifest):
    """Reads the manifest object the way Batch Operations does before a job runs; returns
    (task count, failure reason or None)."""
    from moto.s3.models import s3_backends

    arn = manifest["Location"]["ObjectArn"]
    partition = arn.split(":")[1]
    bucket, _, key = arn.split(":::", 1)[1].partition("/")
    try:
        stored = s3_backends[account_id][partition].get_object(bucket, key)
    except Exception as e:  # a missing bucket
        stored, error = None, e
    else:
        error = None
    if stored is None:
        return 0, f"Reading the manifest failed: {arn} does not exist ({error or 'NoSuchKey'})"
    if stored.etag.strip('"') != manifest["Location"]["ETag"].strip('"'):
        return 0, f"Reading the manifest failed: the ETag of {arn} is {stored.etag}, not {manifest['Location']['ETag']}"
    lines = [line for line in stored.value.decode().splitlines() if line]
    columns = len(_members(manifest["Spec"].get("Fields")))
    bad = [line for line in lines if len(line.split(",")) != columns]
    if bad:
        return 0, f"The manifest has lines without {columns} columns: {bad[:3]}"
    return len(lines), None


def create_job(self):
    params = {
        name: self._get_param(name)
        for name in (
            "AccountId", "ConfirmationRequired", "Operation", "Report", "ClientRequestToken",
            "Manifest", "Description", "Priority", "RoleArn", "Tags", "ManifestGenerator",
        )
        if self._get_param(name) is not None
    }
    _check_create_job(params)
    # As on AWS, a repeated ClientRequestToken answers with the job it created.
    for job in _jobs(self).values():
        if job["s3bridge_request"]["ClientRequestToken"] == params["ClientRequestToken"]:
            return _job_answer(self, "CreateJob", {"JobId": job["JobId"]})
    job_id = str(uuid.uuid4())
    confirm = params.get("ConfirmationRequired") in (True, "true")
    now = datetime.datetime.now(datetime.timezone.utc)
    tasks, failure = 0, None
    if "Manifest" in params:
        tasks, failure = _read_manifest(params["AccountId"], params["Manifest"])
    _jobs(self)[job_id] = {
        "JobId": job_id,
        "JobArn": f"arn:aws:s3:{self.region}:{params['AccountId']}:job/{job_id}",
        "ConfirmationRequired": confirm,
        "Description": params.get("Description", ""),
        "Status": "Failed" if failure else "Suspended" if confirm else "Complete",
        "FailureReasons": [{"FailureCode": "ManifestReadFailed", "FailureReason": failure}] if failure else None,
        "Operation": params["Operation"],
        "OperationName": next(iter(params["Operation"])),
        "Priority": int(params["Priority"]),
        "RoleArn": params["RoleArn"],
        "Report": params["Report"],
        "Manifest": params.get("Manifest"),
        "ManifestGenerator": params.get("ManifestGenerator"),
        "ProgressSummary": {
            "TotalNumberOfTasks": tasks,
            "NumberOfTasksSucceeded": 0 if confirm else tasks,
            "NumberOfTasksFailed": 0,
        },
        "CreationTime": now,
        "TerminationDate": None if confirm else now,
        "s3bridge_request": params,
    }
    return _job_answer(self, "CreateJob", {"JobId": job_id})


def list_jobs(self):
    jobs = sorted(_jobs(self).values(), key=lambda j: j["CreationTime"], reverse=True)
    statuses = self._get_param("JobStatuses")
    if statuses:
        jobs = [j for j in jobs if j["Status"] in statuses]
    return _job_answer(
        self,
        "ListJobs",
        {
            "Jobs": [
                {
                    k: v
                    for k, v in {
                        "JobId": j["JobId"],
                        "Description": j["Description"],
                        "Operation": j["OperationName"],
                        "Priority": j["Priority"],
                        "Status": j["Status"],
                        "CreationTime": j["CreationTime"],
                        "TerminationDate": j["TerminationDate"],
                        "ProgressSummary": j["ProgressSummary"],
                    }.items()
                    if v is not None
                }
                for j in jobs
            ]
        }
    )


def describe_job(self):
    job = _jobs(self).get(self._get_param("JobId"))
    if job is None:
        raise JobNotFound("The specified job does not exist.")
    described = {k: v for k, v in job.items() if k not in ("OperationName", "s3bridge_request") and v is not None}
    return _job_answer(self, "DescribeJob", {"Job": described})


def _s3control_resource(self):
    job_id = self.path.rstrip("/").split("/jobs/")[-1] if "/jobs/" in self.path else None
    job = _jobs(self).get(job_id) if job_id else None
    return job["JobArn"] if job else "*"


# moto's policy validator refuses S3 ARNs with a region, but Batch Operations job ARNs
# have one (arn:aws:s3:REGION:ACCOUNT:job/ID, Service Authorization Reference).
from moto.iam import policy_validation

policy_validation.SERVICE_TYPE_REGION_INFORMATION_ERROR_ASSOCIATIONS["s3"][
    "valid_starting_values"
].append("job/")

S3ControlResponse.create_job = create_job
S3ControlResponse.list_jobs = list_jobs
S3ControlResponse.describe_job = describe_job
S3ControlResponse._determine_resource = _s3control_resource


# --- moto gap: object replication status -----------------------------------------------
# moto never replicates, so no object ever has a replication status. A test marks one by
# sending the test-only header `x-amz-replication-status` with its PutObject.

_put_object = responses.S3Response.put_object


def put_object(self):
    result = _put_object(self)
    status = self.headers.get("x-amz-replication-status")
    if status:
        key = self.backend.get_object(self.bucket_name, self.parse_key_name())
        key.s3bridge_replication_status = status
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

import moto_transfer  # noqa: E402,F401  (gaps of its own: upload initiators, copy-source-if-match)

if __name__ == "__main__":
    from moto.server import main

    host, port = sys.argv[1], sys.argv[2]
    main(["-H", host, "-p", port])
