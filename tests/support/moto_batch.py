"""A stand-in for S3 Batch Operations (S3 Control jobs), which moto does not have.

CreateJob, DescribeJob and ListJobs are served from a store per account. What AWS checks
is checked here too, so a test cannot pass because the stand-in looked away:
- the request against the documented CreateJob shape
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_CreateJob.html), an
  S3PutObjectCopy operation (API_control_S3CopyObjectOperation.html) and a CSV manifest
  (API_control_JobManifest.html);
- the account: `AccountId` must be the caller's own;
- the role: it must exist in that account and trust `batchoperations.s3.amazonaws.com`
  (its conditions evaluated for this job), and with IAM enforced the caller must be
  allowed `iam:PassRole` on it ("Granting permissions for Batch Operations",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-iam-role-policies.html:
  "the s3:CreateJob user permission is required. The same entity that creates the job must
  also have the iam:PassRole permission");
- the client request token: the same token with the same request returns the first job,
  with another request it is an IdempotencyException (as the Rust stub answers too).

Jobs run when they are created (or when confirmation is not required): each task is done
as the job's role, whose identity policies (and the buckets' policies, moto_authz) must
allow it, so a role without `s3:InitiateReplication` fails its tasks with
InitiateReplicationNotPermitted as Batch Replication reports it. What the tasks write is
not written: S3PutObjectCopy tasks make no copy (a test follows one job across reruns of
`copy --engine batch`, which on AWS still find the objects differing while the job runs),
and S3ReplicateObject tasks set the object's replication status to COMPLETED (or FAILED)
but write no replica (moto has no replication). A test can also make one
object's task fail: PutObject it with the test-only header `x-amz-s3bridge-batch-failure:
<ErrorCode>` (moto_server.py keeps it on the object; S3 never sees such a header).
A job over a manifest reads it first, as the role: missing, unreadable or another ETag
than the request's fails the job. The completion report is written under the report
prefix as the role with SSE-S3, as S3 writes it (so the bucket policy's encryption Denies
must spare the role), in AWS's format (fixtures/batch/README.md): `job-<id>/manifest.json` and one CSV
per task outcome, rows `Bucket,Key,VersionId,TaskStatus,HTTPStatusCode,ErrorCode,
ResultMessage` with URL-encoded keys.
"""

import csv
import datetime
import hashlib
import io
import json
import re
import uuid
from urllib.parse import quote, unquote

from moto.core.responses import ActionResult

import moto_authz
from moto_authz import PARTITION, Caller, Refusal

SERVICE = "batchoperations.s3.amazonaws.com"


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _members(value):
    """A list member as moto's XML parsing hands it over: `{"member": x}` or a list."""
    if isinstance(value, dict) and "member" in value:
        value = value["member"]
    return _as_list(value)


class JobError(Exception):
    """An S3 Control error answer: (HTTP status, code, message)."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code = status, code


def invalid(message):
    return JobError(400, "InvalidRequest", message)


def _error_answer(error):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error>'
        f"<Code>{error.code}</Code><Message>{moto_authz._xml(str(error))}</Message>"
        "</Error><RequestId>STANDIN</RequestId></ErrorResponse>"
    )
    # moto's dispatcher takes the status from a "status" header of a handler's answer.
    return error.status, {"content-type": "application/xml", "status": str(error.status)}, body


def _refusal_answer(message):
    status, headers, body = moto_authz.refusal_response(message)
    return status, dict(headers, status=str(status)), body


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


# --- the request's shape ----------------------------------------------------------------

_ARN = re.compile(r"arn:[^:]+:s3:.*")


def check_shape(params):
    for required in ("AccountId", "Operation", "Report", "ClientRequestToken", "Priority", "RoleArn"):
        if params.get(required) in (None, ""):
            raise invalid(f"{required} is required")
    if ("Manifest" in params) == ("ManifestGenerator" in params):
        raise invalid("exactly one of Manifest and ManifestGenerator is required")
    operation = params["Operation"]
    if not isinstance(operation, dict) or len(operation) != 1:
        raise invalid("Operation must name exactly one operation")
    if not str(params["RoleArn"]).startswith("arn:") or ":role/" not in params["RoleArn"]:
        raise invalid("RoleArn must be an IAM role ARN")
    if int(params["Priority"]) < 0:
        raise invalid("Priority must be >= 0")
    report = params["Report"]
    if report.get("Enabled") in (True, "true"):
        for field in ("Bucket", "Format", "ReportScope"):
            if not report.get(field):
                raise invalid(f"Report.{field} is required when the report is enabled")
        if report["Format"] != "Report_CSV_20180820":
            raise invalid("Report.Format must be Report_CSV_20180820")
    generator = params.get("ManifestGenerator", {}).get("S3JobManifestGenerator")
    if "ManifestGenerator" in params:
        if not generator or not generator.get("SourceBucket"):
            raise invalid("ManifestGenerator.S3JobManifestGenerator.SourceBucket is required")
        if "EnableManifestOutput" not in generator:
            raise invalid("S3JobManifestGenerator.EnableManifestOutput is required")
    if "Manifest" in params:
        _check_manifest(params["Manifest"])
    if "S3PutObjectCopy" in operation:
        _check_copy_operation(operation["S3PutObjectCopy"] or {})


def _check_manifest(manifest):
    """JobManifest: Spec (Format, Fields) and Location (ObjectArn, ETag) are required."""
    spec = manifest.get("Spec") or {}
    location = manifest.get("Location") or {}
    formats = ("S3BatchOperations_CSV_20180820", "S3InventoryReport_CSV_20161130")
    if spec.get("Format") not in formats:
        raise invalid(f"Manifest.Spec.Format must be one of {formats}")
    if spec["Format"] == "S3BatchOperations_CSV_20180820":
        fields = _members(spec.get("Fields"))
        if not fields:
            raise invalid("Manifest.Spec.Fields is required for a CSV manifest")
        unknown = [f for f in fields if f not in ("Ignore", "Bucket", "Key", "VersionId")]
        if unknown:
            raise invalid(f"Manifest.Spec.Fields: unknown fields {unknown}")
        if "Bucket" not in fields or "Key" not in fields:
            raise invalid("Manifest.Spec.Fields must name the Bucket and Key columns")
    arn = location.get("ObjectArn") or ""
    if not _ARN.fullmatch(arn) or "/" not in arn:
        raise invalid("Manifest.Location.ObjectArn must be an S3 object ARN")
    if not location.get("ETag"):
        raise invalid("Manifest.Location.ETag is required")


def _check_copy_operation(copy):
    """S3CopyObjectOperation: TargetResource (a bucket ARN) and enum members."""
    target = copy.get("TargetResource") or ""
    if not _ARN.fullmatch(target) or "/" in target:
        raise invalid("S3PutObjectCopy.TargetResource must be a bucket ARN")
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
            raise invalid(f"S3PutObjectCopy.{member} must be one of {allowed}")
    if copy.get("BucketKeyEnabled") in (True, "true") and not copy.get("SSEAwsKmsKeyId"):
        raise invalid("S3PutObjectCopy.BucketKeyEnabled needs SSEAwsKmsKeyId")


# --- the account, the role, the caller --------------------------------------------------


def _iam(account):
    from moto.iam.models import iam_backends

    return iam_backends[account][PARTITION]


def role_policies(account, role_arn):
    """The role's inline and attached policy documents (text), or None without the role."""
    from moto.iam.models import Policy

    try:
        role = _iam(account).get_role_by_arn(role_arn)
    except Exception:
        return None, None
    documents = list(role.policies.values())
    for policy in role.managed_policies.values():
        if isinstance(policy, Policy):
            documents.append(next(v.document for v in policy.versions if v.is_default))
    return role, documents


def check_role(account, role_arn, job_arn):
    """The role exists in the job's account and trusts Batch Operations for this job."""
    role_account = role_arn.split(":")[4]
    if role_account != account:
        raise invalid(
            f"RoleArn {role_arn} is in account {role_account}; a job can only be given a "
            f"role of its own account {account} (iam:PassRole)"
        )
    role, _ = role_policies(account, role_arn)
    if role is None:
        raise invalid(f"the role {role_arn} does not exist in account {account}")
    trust = json.loads(role.assume_role_policy_document)
    values = {"aws:sourceaccount": account, "aws:sourcearn": job_arn}
    known = set(values)
    for statement in _as_list(trust.get("Statement")):
        principal = statement.get("Principal", {})
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        actions = _as_list(statement.get("Action"))
        if statement.get("Effect") != "Allow" or SERVICE not in services:
            continue
        if not any(moto_authz._matches(a, "sts:AssumeRole") for a in actions):
            continue
        if all(
            moto_authz.condition_holds(op, key, expected, values, known)
            for op, keys in statement.get("Condition", {}).items()
            for key, expected in keys.items()
        ):
            return
    raise invalid(
        f"the role {role_arn} does not trust {SERVICE} for this job (its trust policy); "
        "Batch Operations cannot assume it"
    )


def check_pass_role(self, role_arn):
    """With IAM enforced, the caller needs iam:PassRole on the role."""
    if not moto_authz.identity_allows(self, "iam:PassRole", role_arn):
        caller = moto_authz.caller_of(self.get_access_key(), self.current_account)
        raise JobError(
            403,
            "AccessDenied",
            f"User: {caller.arn} is not authorized to perform: iam:PassRole on resource: {role_arn}",
        )


def role_may(account, role_arn, action, bucket, resource, headers=None):
    """Whether the job's role may do `action` on `resource` (a request with `headers`):
    its identity policies allow it and the bucket's policy neither denies it nor (across
    accounts) fails to allow it."""
    from moto.s3.models import s3_backends

    _, documents = role_policies(account, role_arn)
    name = role_arn.rsplit("/", 1)[-1]
    caller = Caller(account, role_arn, f"arn:{PARTITION}:sts::{account}:assumed-role/{name}/s3-batch-operations")
    values, known = moto_authz.context(caller, headers or {}, {}, "BatchOperations")
    identity = None
    for document in documents or []:
        verdict = moto_authz.identity_verdict(document, action, resource, values, known)
        if verdict == "deny":
            return False
        identity = identity or verdict
    if identity != "allow":
        return False
    try:
        target = s3_backends[account][PARTITION].get_bucket(bucket)
    except Exception:
        return True  # the task itself finds the bucket missing
    verdict = moto_authz.bucket_policy_verdict(target.policy, action, resource, caller, values, known)
    if verdict == "deny":
        return False
    return target.account_id == account or verdict == "allow"


# --- running a job ----------------------------------------------------------------------


def _s3(account):
    from moto.s3.models import s3_backends

    return s3_backends[account][PARTITION]


def _bucket_of(arn):
    return arn.split(":::", 1)[1].split("/", 1)[0]


def _read_manifest(account, role_arn, manifest):
    """The manifest's rows (bucket, key, version), read as the role the way Batch
    Operations does before a job runs; raises JobFailed when it cannot be read."""
    arn = manifest["Location"]["ObjectArn"]
    bucket, _, key = arn.split(":::", 1)[1].partition("/")
    if not role_may(account, role_arn, "s3:GetObject", bucket, arn):
        raise JobFailed("ManifestReadFailed", f"Reading the manifest is forbidden: AccessDenied ({arn})")
    try:
        stored = _s3(account).get_object(bucket, key)
    except Exception as error:  # a missing bucket
        stored, problem = None, error
    else:
        problem = None
    if stored is None:
        raise JobFailed("ManifestReadFailed", f"Reading the manifest failed: {arn} does not exist ({problem or 'NoSuchKey'})")
    if stored.etag.strip('"') != manifest["Location"]["ETag"].strip('"'):
        raise JobFailed(
            "ManifestReadFailed",
            f"Reading the manifest failed: the ETag of {arn} is {stored.etag}, not {manifest['Location']['ETag']}",
        )
    fields = _members(manifest["Spec"].get("Fields"))
    rows = []
    for line in stored.value.decode().splitlines():
        if not line:
            continue
        columns = line.split(",")
        if len(columns) != len(fields):
            raise JobFailed("ManifestReadFailed", f"The manifest has lines without {len(fields)} columns: {line}")
        row = dict(zip(fields, columns))
        rows.append((row["Bucket"], unquote(row["Key"]), row.get("VersionId") or None))
    return rows


class JobFailed(Exception):
    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code


def _rule_prefixes(bucket):
    """Prefixes of the enabled rules of a bucket's replication configuration (None: no
    configuration)."""
    configuration = bucket.replication
    if not configuration:
        return None
    prefixes = []
    for rule in _as_list(configuration.get("Rule")):
        if rule.get("Status") != "Enabled":
            continue
        filt = rule.get("Filter") or {}
        and_ = filt.get("And") or {}
        prefixes.append(filt.get("Prefix") or and_.get("Prefix") or rule.get("Prefix") or "")
    return prefixes


def _generated_tasks(account, generator):
    """The objects an S3JobManifestGenerator selects (Filter: EligibleForReplication,
    ObjectReplicationStatuses, KeyNameConstraint.MatchAnyPrefix)."""
    from moto.s3.models import FakeKey

    bucket_name = _bucket_of(generator["SourceBucket"])
    try:
        bucket = _s3(account).get_bucket(bucket_name)
    except Exception:
        raise JobFailed("SrcBucketNotFound", f"the source bucket {bucket_name} does not exist")
    filt = generator.get("Filter") or {}
    eligible = filt.get("EligibleForReplication") in (True, "true")
    prefixes = _rule_prefixes(bucket)
    if eligible and prefixes is None:
        raise JobFailed(
            "SrcBucketReplicationConfigMissing",
            f"the source bucket {bucket_name} has no replication configuration",
        )
    statuses = [s.upper() for s in _members(filt.get("ObjectReplicationStatuses"))]
    constraint = (filt.get("KeyNameConstraint") or {}).get("MatchAnyPrefix")
    wanted_prefixes = _members(constraint) if constraint else None
    tasks = []
    for name in list(bucket.keys):
        key = bucket.keys[name]
        if not isinstance(key, FakeKey):
            continue  # a delete marker
        if eligible and not any(name.startswith(p) for p in prefixes):
            continue
        status = getattr(key, "s3bridge_replication_status", None) or "NONE"
        if statuses and status.upper() not in statuses:
            continue
        if wanted_prefixes and not any(name.startswith(p) for p in wanted_prefixes):
            continue
        tasks.append((bucket_name, name, key.version_id if key.version_id != "null" else None))
    return tasks


def _run_task(account, job, task):
    """(status, http status, error code, message) of one task."""
    bucket, key, version = task
    operation = job["OperationName"]
    role = job["RoleArn"]
    s3 = _s3(account)
    try:
        stored = s3.get_object(bucket, key, version_id=version)
    except Exception:
        stored = None
    if stored is None:
        return "failed", 404, "NoSuchKey", "The specified key does not exist."
    marked = getattr(stored, "s3bridge_batch_failure", None)
    resource = moto_authz.object_arn(bucket, key)
    if operation == "S3ReplicateObject":
        if marked or not role_may(account, role, "s3:InitiateReplication", bucket, resource):
            code = marked or "InitiateReplicationNotPermitted"
            stored.s3bridge_replication_status = "FAILED"
            return "failed", 403, code, f"Replication failed: {code}"
        stored.s3bridge_replication_status = "COMPLETED"
        return "succeeded", 200, "", "Successful"
    if operation == "S3PutObjectCopy":
        copy = job["Operation"]["S3PutObjectCopy"] or {}
        target = _bucket_of(copy["TargetResource"])
        if marked:
            return "failed", 403, marked, f"{marked} (set by the test)"
        read = "s3:GetObjectVersion" if version else "s3:GetObject"
        for action, where, arn in (
            (read, bucket, resource),
            ("s3:PutObject", target, moto_authz.object_arn(target, key)),
        ):
            if not role_may(account, role, action, where, arn):
                return "failed", 403, "AccessDenied", f"Access Denied ({action} on {arn})"
        # The copy itself is not made: a test follows one job across reruns of
        # `copy --engine batch`, which on AWS find the objects still differing while the
        # job runs. Everything that decides the task's outcome is checked above.
        return "succeeded", 200, "", "Successful"
    return "failed", 400, "UnsupportedOperation", f"the stand-in does not run {operation}"


def _csv(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for bucket, key, version, status, http, code, message in rows:
        writer.writerow([bucket, quote(key, safe="/"), version or "", status, http, code, message])
    return out.getvalue()


def _write_report(account, job, results):
    """The completion report under the report prefix, as S3 writes it."""
    report = job["Report"]
    if report.get("Enabled") not in (True, "true"):
        return
    bucket = _bucket_of(report["Bucket"])
    prefix = (report.get("Prefix") or "").rstrip("/")
    base = f"{prefix}/job-{job['JobId']}" if prefix else f"job-{job['JobId']}"
    scope = report.get("ReportScope")
    files = []
    for outcome in ("succeeded", "failed"):
        rows = [r for r in results if r[3] == outcome]
        if not rows or (outcome == "succeeded" and scope == "FailedTasksOnly"):
            continue
        text = _csv(rows).encode()
        name = hashlib.sha1(f"{job['JobId']}/{outcome}".encode()).hexdigest()
        key = f"{base}/results/{name}.csv"
        files.append((outcome, key, text))
    manifest = {
        "Format": "Report_CSV_20180820",
        "ReportCreationDate": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "Results": [
            {
                "TaskExecutionStatus": outcome,
                "Bucket": bucket,
                "MD5Checksum": hashlib.md5(text).hexdigest(),
                "Key": key,
            }
            for outcome, key, text in files
        ],
        "ReportSchema": "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage",
    }
    files.append(("manifest", f"{base}/manifest.json", json.dumps(manifest, indent=4).encode()))
    # S3 writes completion reports with SSE-S3, whatever the bucket's default encryption.
    sse_s3 = {"x-amz-server-side-encryption": "AES256"}
    for _, key, text in files:
        if not role_may(account, job["RoleArn"], "s3:PutObject", bucket, moto_authz.object_arn(bucket, key), sse_s3):
            raise JobFailed("ReportWriteFailed", f"Writing the completion report is forbidden: AccessDenied (s3://{bucket}/{key})")
    for _, key, text in files:
        _s3(account).put_object(bucket, key, text)


def run(account, job):
    """Runs a job to its end: tasks, counts, report, status."""
    try:
        if job.get("Manifest"):
            tasks = _read_manifest(account, job["RoleArn"], job["Manifest"])
        else:
            tasks = _generated_tasks(account, job["ManifestGenerator"]["S3JobManifestGenerator"])
        results = [(t[0], t[1], t[2], *_run_task(account, job, t)) for t in tasks]
        failed = sum(1 for r in results if r[3] == "failed")
        job["ProgressSummary"] = {
            "TotalNumberOfTasks": len(results),
            "NumberOfTasksSucceeded": len(results) - failed,
            "NumberOfTasksFailed": failed,
        }
        _write_report(account, job, results)
        job["Status"] = "Complete"
    except JobFailed as failure:
        job["Status"] = "Failed"
        job["FailureReasons"] = [{"FailureCode": failure.code, "FailureReason": str(failure)}]
    job["TerminationDate"] = datetime.datetime.now(datetime.timezone.utc)


# --- the API ---------------------------------------------------------------------------

PARAMS = (
    "AccountId", "ConfirmationRequired", "Operation", "Report", "ClientRequestToken",
    "Manifest", "Description", "Priority", "RoleArn", "Tags", "ManifestGenerator",
)


def create_job(self):
    params = {name: self._get_param(name) for name in PARAMS if self._get_param(name) is not None}
    try:
        check_shape(params)
        caller = moto_authz.caller_of(self.get_access_key(), self.current_account)
        account = params["AccountId"]
        if account != caller.account:
            raise JobError(
                403,
                "AccessDenied",
                f"{caller.arn} cannot create jobs in account {account} (AccountId must be "
                "the caller's own account)",
            )
        # A repeated ClientRequestToken: the same request gets the job it created, another
        # request an IdempotencyException.
        for job in _jobs(self).values():
            if job["s3bridge_request"]["ClientRequestToken"] == params["ClientRequestToken"]:
                if job["s3bridge_request"] != params:
                    raise JobError(
                        400,
                        "IdempotencyException",
                        "The client request token was already used with a different request",
                    )
                return _job_answer(self, "CreateJob", {"JobId": job["JobId"]})
        job_id = str(uuid.uuid4())
        job_arn = f"arn:{PARTITION}:s3:{self.region}:{account}:job/{job_id}"
        check_role(account, params["RoleArn"], job_arn)
        check_pass_role(self, params["RoleArn"])
    except JobError as error:
        return _error_answer(error)
    except Refusal as refusal:
        return _refusal_answer(f"CreateJob: {refusal}")
    confirm = params.get("ConfirmationRequired") in (True, "true")
    job = {
        "JobId": job_id,
        "JobArn": job_arn,
        "ConfirmationRequired": confirm,
        "Description": params.get("Description", ""),
        "Status": "Suspended" if confirm else "Active",
        "FailureReasons": None,
        "Operation": params["Operation"],
        "OperationName": next(iter(params["Operation"])),
        "Priority": int(params["Priority"]),
        "RoleArn": params["RoleArn"],
        "Report": params["Report"],
        "Manifest": params.get("Manifest"),
        "ManifestGenerator": params.get("ManifestGenerator"),
        "ProgressSummary": {"TotalNumberOfTasks": 0, "NumberOfTasksSucceeded": 0, "NumberOfTasksFailed": 0},
        "CreationTime": datetime.datetime.now(datetime.timezone.utc),
        "TerminationDate": None,
        "s3bridge_request": params,
    }
    _jobs(self)[job_id] = job
    if not confirm:
        try:
            run(account, job)
        except Refusal as refusal:
            return _refusal_answer(f"running job {job_id}: {refusal}")
    return _job_answer(self, "CreateJob", {"JobId": job_id})


def list_jobs(self):
    jobs = sorted(_jobs(self).values(), key=lambda j: j["CreationTime"], reverse=True)
    statuses = self._get_param("JobStatuses")
    if statuses:
        jobs = [j for j in jobs if j["Status"] in statuses]
    listed = []
    for j in jobs:
        entry = {
            "JobId": j["JobId"],
            "Description": j["Description"],
            "Operation": j["OperationName"],
            "Priority": j["Priority"],
            "Status": j["Status"],
            "CreationTime": j["CreationTime"],
            "TerminationDate": j["TerminationDate"],
            "ProgressSummary": j["ProgressSummary"],
        }
        listed.append({k: v for k, v in entry.items() if v is not None})
    return _job_answer(self, "ListJobs", {"Jobs": listed})


def describe_job(self):
    job = _jobs(self).get(self._get_param("JobId"))
    if job is None:
        return _error_answer(JobError(404, "NotFoundException", "The specified job does not exist."))
    hidden = ("OperationName", "s3bridge_request")
    described = {k: v for k, v in job.items() if k not in hidden and v is not None}
    return _job_answer(self, "DescribeJob", {"Job": described})


def _s3control_resource(self):
    job_id = self.path.rstrip("/").split("/jobs/")[-1] if "/jobs/" in self.path else None
    job = _jobs(self).get(job_id) if job_id else None
    return job["JobArn"] if job else "*"


def install():
    from moto.iam import policy_validation
    from moto.s3control import urls as s3control_urls
    from moto.s3control.responses import S3ControlResponse

    s3control_urls.url_paths.update(
        {
            r"{0}/v20180820/jobs$": S3ControlResponse.dispatch,
            r"{0}/v20180820/jobs/(?P<id>[^/]+)$": S3ControlResponse.dispatch,
            "/v20180820/jobs": S3ControlResponse.dispatch,
            "/v20180820/jobs/<id>": S3ControlResponse.dispatch,
        }
    )
    # moto's policy validator refuses S3 ARNs with a region, but Batch Operations job ARNs
    # have one (arn:aws:s3:REGION:ACCOUNT:job/ID, Service Authorization Reference).
    policy_validation.SERVICE_TYPE_REGION_INFORMATION_ERROR_ASSOCIATIONS["s3"][
        "valid_starting_values"
    ].append("job/")
    S3ControlResponse.create_job = create_job
    S3ControlResponse.list_jobs = list_jobs
    S3ControlResponse.describe_job = describe_job
    S3ControlResponse._determine_resource = _s3control_resource
