"""Authorisation of S3 requests on moto, at least as strict as AWS on the paths s3bridge uses.

moto gaps this module closes (moto 5.2.1):
- moto checks a bucket policy only for object requests, under names of its own making
  (`s3:{Method}Object`: CreateMultipartUpload is checked as `s3:PostObject`, HEAD as
  `s3:HeadObject`), so a Deny on `s3:PutObject` never stops a multipart upload;
- it evaluates conditions against an empty request and treats operators it does not
  know as met, and it ignores the Principal element;
- with IAM enforced, bucket reads it has no name for are authorised as s3:ListBucket;
- any account may read and write any other account's bucket.

Here every S3 request is named by the IAM action(s) AWS authorises it as (S3 user guide,
"Required permissions for Amazon S3 API operations",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html,
and "Multipart upload API and permissions", .../userguide/mpuAndPermissions.html:
CreateMultipartUpload, UploadPart, UploadPartCopy and CompleteMultipartUpload all need
s3:PutObject; HeadObject needs s3:GetObject; ListObjectsV2 s3:ListBucket; ...). The
bucket policy is evaluated for that action with the request's context keys, the
Principal element is matched against the caller, and a request from another account
needs a bucket-policy Allow (IAM user guide, "Cross-account policy evaluation logic").
A request the harness cannot name, or a condition operator or key it cannot evaluate,
is refused with 501 `HarnessCannotEvaluate` and a message saying what: a test sees it
fail instead of passing because the emulator looked away.

`aws:SecureTransport` is always "true" (see `_context`): every AWS SDK reaches AWS over
TLS, and the tests talk plain HTTP to moto only because moto serves no TLS.
"""

import fnmatch
import json
import sys
import threading
from urllib.parse import unquote

PARTITION = "aws"
DEFAULT_ACCOUNT = "123456789012"  # moto's account for credentials it does not know


class Refusal(Exception):
    """A request the harness refuses to judge (answered 501 HarnessCannotEvaluate)."""


class Denied(Exception):
    """A request AWS would refuse (answered 403 AccessDenied)."""


# --- which IAM actions a request needs ---------------------------------------------------

# Bucket sub-resources → IAM action, per method (the page cited above, "Bucket
# operations"). Deleting a configuration needs the Put action of that configuration.
BUCKET_ACTIONS = {
    "GET": {
        "accelerate": "GetAccelerateConfiguration",
        "acl": "GetBucketAcl",
        "analytics": "GetAnalyticsConfiguration",
        "cors": "GetBucketCORS",
        "encryption": "GetEncryptionConfiguration",
        "intelligent-tiering": "GetIntelligentTieringConfiguration",
        "inventory": "GetInventoryConfiguration",
        "lifecycle": "GetLifecycleConfiguration",
        "location": "GetBucketLocation",
        "logging": "GetBucketLogging",
        "metrics": "GetMetricsConfiguration",
        "notification": "GetBucketNotification",
        "object-lock": "GetBucketObjectLockConfiguration",
        "ownershipControls": "GetBucketOwnershipControls",
        "policy": "GetBucketPolicy",
        "policyStatus": "GetBucketPolicyStatus",
        "publicAccessBlock": "GetBucketPublicAccessBlock",
        "replication": "GetReplicationConfiguration",
        "requestPayment": "GetBucketRequestPayment",
        "tagging": "GetBucketTagging",
        "uploads": "ListBucketMultipartUploads",
        "versioning": "GetBucketVersioning",
        "versions": "ListBucketVersions",
        "website": "GetBucketWebsite",
    },
    "PUT": {
        "accelerate": "PutAccelerateConfiguration",
        "acl": "PutBucketAcl",
        "cors": "PutBucketCORS",
        "encryption": "PutEncryptionConfiguration",
        "intelligent-tiering": "PutIntelligentTieringConfiguration",
        "inventory": "PutInventoryConfiguration",
        "lifecycle": "PutLifecycleConfiguration",
        "logging": "PutBucketLogging",
        "notification": "PutBucketNotification",
        "object-lock": "PutBucketObjectLockConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "policy": "PutBucketPolicy",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "replication": "PutReplicationConfiguration",
        "requestPayment": "PutBucketRequestPayment",
        "tagging": "PutBucketTagging",
        "versioning": "PutBucketVersioning",
        "website": "PutBucketWebsite",
    },
    "DELETE": {
        "cors": "PutBucketCORS",
        "encryption": "PutEncryptionConfiguration",
        "intelligent-tiering": "PutIntelligentTieringConfiguration",
        "inventory": "PutInventoryConfiguration",
        "lifecycle": "PutLifecycleConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "policy": "DeleteBucketPolicy",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "replication": "PutReplicationConfiguration",
        "tagging": "PutBucketTagging",
        "website": "DeleteBucketWebsite",
    },
}

# Object sub-resources → (action, action on a specific version).
OBJECT_ACTIONS = {
    "GET": {
        "acl": ("GetObjectAcl", "GetObjectVersionAcl"),
        "attributes": ("GetObjectAttributes", "GetObjectVersionAttributes"),
        "legal-hold": ("GetObjectLegalHold", "GetObjectLegalHold"),
        "retention": ("GetObjectRetention", "GetObjectRetention"),
        "tagging": ("GetObjectTagging", "GetObjectVersionTagging"),
        "torrent": ("GetObjectTorrent", "GetObjectVersionTorrent"),
        "uploadId": ("ListMultipartUploadParts", "ListMultipartUploadParts"),
    },
    "PUT": {
        "acl": ("PutObjectAcl", "PutObjectVersionAcl"),
        "legal-hold": ("PutObjectLegalHold", "PutObjectLegalHold"),
        "retention": ("PutObjectRetention", "PutObjectRetention"),
        "tagging": ("PutObjectTagging", "PutObjectVersionTagging"),
    },
    "DELETE": {
        "tagging": ("DeleteObjectTagging", "DeleteObjectVersionTagging"),
        "uploadId": ("AbortMultipartUpload", "AbortMultipartUpload"),
    },
    "POST": {
        "restore": ("RestoreObject", "RestoreObject"),
        "select": ("GetObject", "GetObjectVersion"),
        "uploadId": ("PutObject", "PutObject"),  # CompleteMultipartUpload
        "uploads": ("PutObject", "PutObject"),  # CreateMultipartUpload
    },
}


def bucket_arn(bucket):
    return f"arn:{PARTITION}:s3:::{bucket}"


def object_arn(bucket, key):
    return f"arn:{PARTITION}:s3:::{bucket}/{key}"


def _copy_source(headers):
    """(bucket, key, version) of an `x-amz-copy-source` header."""
    source = unquote(headers["x-amz-copy-source"]).lstrip("/")
    source, _, query = source.partition("?")
    bucket, _, key = source.partition("/")
    version = query[len("versionId="):] if query.startswith("versionId=") else None
    return bucket, key, version


def required_actions(method, bucket, key, query, headers):
    """The (operation, [(action, bucket, resource ARN)]) AWS authorises a request as.

    `query` maps parameter → values, `headers` is lower-cased. The first pair is the
    request's own; a copy adds the read of its source (in the source's bucket).
    """
    if not key:
        if method == "HEAD":
            return "HeadBucket", [("s3:ListBucket", bucket, bucket_arn(bucket))]
        if method == "POST":
            # DeleteObjects: moto asks for s3:DeleteObject per key (get_permission).
            if "delete" in query:
                return "DeleteObjects", []
            return "PostObject", [("s3:PutObject", bucket, bucket_arn(bucket) + "/*")]
        table = BUCKET_ACTIONS.get(method, {})
        named = [sub for sub in table if sub in query]
        if len(named) > 1:
            raise Refusal(f"a {method} on bucket {bucket} names several sub-resources {named}")
        if named:
            return named[0], [("s3:" + table[named[0]], bucket, bucket_arn(bucket))]
        plain = {"GET": ("ListObjects", "ListBucket"), "PUT": ("CreateBucket", "CreateBucket"),
                 "DELETE": ("DeleteBucket", "DeleteBucket")}
        if method not in plain:
            raise Refusal(f"{method} on bucket {bucket}: no IAM action known for it")
        operation, action = plain[method]
        return operation, [("s3:" + action, bucket, bucket_arn(bucket))]

    resource = object_arn(bucket, key)
    versioned = "versionId" in query
    table = OBJECT_ACTIONS.get(method, {})
    named = [sub for sub in table if sub in query]
    if method == "PUT" and "uploadId" in query:
        named = []  # UploadPart(Copy): s3:PutObject below
    if len(named) > 1:
        raise Refusal(f"a {method} on {resource} names several sub-resources {named}")
    needed = []
    if named:
        operation = named[0]
        plain, version = table[operation]
        needed.append(("s3:" + (version if versioned else plain), bucket, resource))
    elif method in ("GET", "HEAD"):
        operation = "GetObject" if method == "GET" else "HeadObject"
        needed.append(("s3:GetObjectVersion" if versioned else "s3:GetObject", bucket, resource))
    elif method == "PUT":
        operation = "UploadPart" if "uploadId" in query else "PutObject"
        needed.append(("s3:PutObject", bucket, resource))
        if "x-amz-copy-source" in headers:
            operation = "UploadPartCopy" if operation == "UploadPart" else "CopyObject"
            source_bucket, source_key, source_version = _copy_source(headers)
            read = "s3:GetObjectVersion" if source_version else "s3:GetObject"
            needed.append((read, source_bucket, object_arn(source_bucket, source_key)))
    elif method == "DELETE":
        operation = "DeleteObject"
        needed.append(("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", bucket, resource))
    else:
        raise Refusal(f"{method} on {resource}: no IAM action known for it")
    # Tags set with the write need s3:PutObjectTagging too (PutObject, CopyObject,
    # CreateMultipartUpload: "Required permissions ...", conditionally required actions).
    if "x-amz-tagging" in headers and operation in ("PutObject", "CopyObject", "uploads"):
        needed.append(("s3:PutObjectTagging", bucket, resource))
    if operation == "uploads":
        operation = "CreateMultipartUpload"
    elif operation == "uploadId" and method == "POST":
        operation = "CompleteMultipartUpload"
    return operation, needed


# --- who is calling -----------------------------------------------------------------------


class Caller:
    """The principal behind a request's access key."""

    def __init__(self, account, principal_arn, arn):
        self.account = account
        # aws:PrincipalArn: a role session's is its role's ARN (IAM user guide, "AWS
        # global condition context keys").
        self.principal_arn = principal_arn
        self.arn = arn

    def __repr__(self):
        return self.arn


def caller_of(access_key, account):
    """Resolves an access key to its principal the way moto issued it: STS keys carry
    their role, IAM users own theirs; anything else acts as moto's default account root."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    key = iam_backends[account][PARTITION].access_keys.get(access_key)
    if key is not None and getattr(key, "role_arn", None):
        role = key.role_arn.split(":role/", 1)[1].split("/")[-1]
        assumed = sts_backends[account][PARTITION].get_assumed_role_from_access_key(access_key)
        session = assumed.session_name if assumed else "session"
        return Caller(
            account, key.role_arn, f"arn:{PARTITION}:sts::{account}:assumed-role/{role}/{session}"
        )
    if key is not None and key.user_name:
        user = f"arn:{PARTITION}:iam::{account}:user/{key.user_name}"
        return Caller(account, user, user)
    root = f"arn:{PARTITION}:iam::{account}:root"
    return Caller(account, root, root)


def _principal_matches(principal, caller):
    """Whether a statement's Principal (or NotPrincipal) names the caller. AWS principals
    name an account (its id or root ARN: every principal of that account), a role (its
    sessions), a user, or `*`; service principals never name an IAM caller."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        raise Refusal(f"a Principal element of an unknown shape: {principal!r}")
    unknown = set(principal) - {"AWS", "Service", "Federated", "CanonicalUser"}
    if unknown:
        raise Refusal(f"Principal types the harness cannot evaluate: {sorted(unknown)}")
    if "CanonicalUser" in principal:
        raise Refusal("CanonicalUser principals are not evaluated by the harness")
    names = principal.get("AWS", [])
    for name in names if isinstance(names, list) else [names]:
        if name == "*":
            return True
        if name.isdigit() and len(name) == 12:
            name = f"arn:{PARTITION}:iam::{name}:root"
        if "*" in name or "?" in name:
            raise Refusal(f"a wildcard in an AWS principal ({name}) is not valid IAM")
        if name == f"arn:{PARTITION}:iam::{caller.account}:root":
            return True
        if name in (caller.principal_arn, caller.arn):
            return True
    return False


# --- the request context -------------------------------------------------------------------

# S3 request-header condition keys: known to the harness, present when the request has
# the header (Service Authorization Reference, "Condition keys for Amazon S3").
HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-copy-source",
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write",
    "x-amz-grant-write-acp",
    "x-amz-metadata-directive",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-storage-class",
    "x-amz-content-sha256",
    "x-amz-object-ownership",
    "x-amz-website-redirect-location",
)
# ListBucket's query keys.
QUERY_KEYS = ("prefix", "delimiter", "max-keys")
# Keys AWS sets only for requests made by AWS services (or from a VPC), never for an SDK
# caller over the internet: known, and absent here.
ABSENT_KEYS = (
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:viaawsservice",
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
)


def context(caller, headers, query, operation):
    """The condition keys of one request, lower-cased, with the set of keys the harness
    knows (present or absent)."""
    values = {
        # Every AWS SDK reaches AWS over TLS; the tests use plain HTTP only because moto
        # serves no TLS. This is the one key the harness sets by assumption.
        "aws:securetransport": "true",
        "aws:principalarn": caller.principal_arn,
        "aws:principalaccount": caller.account,
        "aws:principaltype": "AssumedRole" if ":assumed-role/" in caller.arn
        else "Account" if caller.arn.endswith(":root") else "User",
        "s3:authtype": "REST-HEADER",
        "s3:signatureversion": "AWS4-HMAC-SHA256",
    }
    for header in HEADER_KEYS:
        if header in headers:
            values["s3:" + header] = headers[header]
    if operation in ("ListObjects", "ListObjectsV2", "versions"):
        for name in QUERY_KEYS:
            if name in query:
                values["s3:" + name] = query[name][0]
    if "versionId" in query:
        values["s3:versionid"] = query["versionId"][0]
    known = set(values) | {"s3:" + h for h in HEADER_KEYS} | {"s3:" + q for q in QUERY_KEYS}
    known |= set(ABSENT_KEYS) | {"s3:versionid"}
    return values, known


# --- conditions (IAM user guide, "IAM JSON policy elements: Condition operators") ----------

STRING_OPERATORS = {
    "StringEquals": (False, lambda a, e: a == e),
    "StringNotEquals": (True, lambda a, e: a == e),
    "StringEqualsIgnoreCase": (False, lambda a, e: a.lower() == e.lower()),
    "StringNotEqualsIgnoreCase": (True, lambda a, e: a.lower() == e.lower()),
    "StringLike": (False, lambda a, e: fnmatch.fnmatchcase(a, e)),
    "StringNotLike": (True, lambda a, e: fnmatch.fnmatchcase(a, e)),
    "ArnEquals": (False, lambda a, e: a == e),
    "ArnNotEquals": (True, lambda a, e: a == e),
    "ArnLike": (False, lambda a, e: fnmatch.fnmatchcase(a, e)),
    "ArnNotLike": (True, lambda a, e: fnmatch.fnmatchcase(a, e)),
    "Bool": (False, lambda a, e: a.lower() == e.lower()),
}
NUMERIC_OPERATORS = {
    "NumericEquals": (False, lambda a, e: a == e),
    "NumericNotEquals": (True, lambda a, e: a == e),
    "NumericLessThan": (False, lambda a, e: a < e),
    "NumericLessThanEquals": (False, lambda a, e: a <= e),
    "NumericGreaterThan": (False, lambda a, e: a > e),
    "NumericGreaterThanEquals": (False, lambda a, e: a >= e),
}


def condition_holds(operator, key, expected, values, known):
    """One condition against the request. Raises Refusal for what it cannot evaluate."""
    expected = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
    if any("${" in e for e in expected):
        raise Refusal(f"policy variables in {operator} {key} are not evaluated by the harness")
    lowered = key.lower()
    if lowered not in known:
        raise Refusal(f"condition key {key} is not in the harness's request context")
    qualifier, _, base = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise Refusal(f"condition operator {operator} is not evaluated by the harness")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    actual = values.get(lowered)
    if base == "Null":
        if qualifier or if_exists:
            raise Refusal(f"condition operator {operator} is not evaluated by the harness")
        return (actual is None) == (expected[0].lower() == "true")
    if base in STRING_OPERATORS:
        negated, match = STRING_OPERATORS[base]
        compare = match
    elif base in NUMERIC_OPERATORS:
        negated, match = NUMERIC_OPERATORS[base]

        def compare(a, e):
            try:
                return match(float(a), float(e))
            except ValueError:
                return False
    else:
        raise Refusal(f"condition operator {operator} is not evaluated by the harness")
    if actual is None:
        # An absent key: ForAnyValue has no value to match, ForAllValues holds vacuously,
        # ...IfExists holds, and a negated operator holds (nothing equals the value).
        if qualifier == "ForAnyValue":
            return False
        return qualifier == "ForAllValues" or if_exists or negated
    hit = any(compare(actual, e) for e in expected)
    return not hit if negated else hit


def _matches(patterns, value):
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def statement_applies(statement, action, resource, caller, values, known):
    """Whether one policy statement applies to (action, resource, caller). `caller` None:
    an identity policy (no Principal element; it speaks for its own principal)."""
    if "NotAction" in statement:
        if _matches(statement["NotAction"], action):
            return False
    elif not _matches(statement.get("Action", []), action):
        return False
    if "NotResource" in statement:
        if _matches(statement["NotResource"], resource):
            return False
    elif not _matches(statement.get("Resource", []), resource):
        return False
    if caller is None:
        pass
    elif "NotPrincipal" in statement:
        if _principal_matches(statement["NotPrincipal"], caller):
            return False
    elif "Principal" in statement:
        if not _principal_matches(statement["Principal"], caller):
            return False
    else:
        raise Refusal("a bucket-policy statement without Principal is not valid")
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            if not condition_holds(operator, key, expected, values, known):
                return False
    return True


def bucket_policy_verdict(policy, action, resource, caller, values, known):
    """'deny', 'allow' or None for one action under a bucket policy document (text)."""
    return _verdict(policy, action, resource, caller, values, known)


def identity_verdict(policy, action, resource, values, known):
    """'deny', 'allow' or None for one action under an identity policy document (text)."""
    return _verdict(policy, action, resource, None, values, known)


def _verdict(policy, action, resource, caller, values, known):
    if not policy:
        return None
    document = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    verdict = None
    for statement in statements:
        if not statement_applies(statement, action, resource, caller, values, known):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        verdict = "allow"
    return verdict


# --- the current request ----------------------------------------------------------------

_request = threading.local()


def current():
    """(caller, values, known) of the request being served, or None outside one."""
    return getattr(_request, "state", None)


def log(message):
    print(f"s3bridge harness: {message}", file=sys.stderr, flush=True)


def refusal_response(message):
    log(f"refusing: {message}")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>HarnessCannotEvaluate</Code>'
        f"<Message>the test harness cannot judge this request as AWS would: {_xml(message)}"
        "</Message></Error>"
    )
    return 501, {"content-type": "application/xml"}, body


def denied_response(message):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
        f"<Message>{_xml(message)}</Message></Error>"
    )
    return 403, {"content-type": "application/xml"}, body


def _xml(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def authorize(backend, caller, operation, needed, values, known):
    """Raises Denied when a bucket policy denies one of `needed`, or a request from another
    account is not allowed by the bucket's policy."""
    for action, bucket_name, resource in needed:
        try:
            bucket = backend.get_bucket(bucket_name)
        except Exception:  # no such bucket: the operation itself answers NoSuchBucket
            continue
        verdict = bucket_policy_verdict(bucket.policy, action, resource, caller, values, known)
        if verdict == "deny":
            raise Denied(
                f"User: {caller.arn} is not authorized to perform: {action} on resource: "
                f'"{resource}" with an explicit deny in a resource-based policy'
            )
        if bucket.account_id != caller.account and verdict != "allow":
            raise Denied(
                f"User: {caller.arn} is not authorized to perform: {action} on resource: "
                f'"{resource}" because no resource-based policy allows the {action} action '
                f"(the bucket belongs to account {bucket.account_id})"
            )


def identity_allows(response, action, resource):
    """With IAM enforced, whether the caller's identity policies allow `action` (the full
    name, e.g. `iam:PassRole`: moto would prefix the signing service) on `resource`;
    without enforcement, everything is allowed (moto's default)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import AccessDeniedError
    from moto.iam.access_control import IAMRequest

    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        return True
    request = IAMRequest(
        account_id=response.current_account,
        method=response.method,
        path=response.path,
        data=response.data,
        body=response.raw_body,
        headers=response.headers,
        action=action.split(":", 1)[1],
    )
    request._action = action
    try:
        request.check_action_permitted(resource)
    except AccessDeniedError:
        return False
    return True


def install():
    """Patches moto's S3 responses: every bucket and object request is named and
    authorised here before moto serves it."""
    from moto.iam.access_control import PermissionResult
    from moto.s3 import responses
    from moto.s3.models import FakeBucket

    def guarded(serve, is_key):
        def wrapper(self, request, full_url):
            headers = {k.lower(): v for k, v in request.headers.items()}
            bucket = self.parse_bucket_name_from_url(request, full_url)
            key = self.parse_key_name() if is_key else None
            if not bucket:
                return serve(self, request, full_url)  # ListBuckets
            try:
                caller = caller_of(self.get_access_key(), self.current_account)
                operation, needed = required_actions(
                    request.method, bucket, key, self.querystring, headers
                )
                values, known = context(caller, headers, self.querystring, operation)
                _request.state = (caller, values, known)
                _request.action = needed[0][0] if needed else None
                authorize(self.backend, caller, operation, needed, values, known)
                # moto's identity-policy check (IAM enforced) covers the request's own
                # action; a copy's read of its source is checked here.
                for action, _, resource in needed[1:]:
                    if not identity_allows(self, action, resource):
                        raise Denied(
                            f"User: {caller.arn} is not authorized to perform: {action} on "
                            f'resource: "{resource}" because no identity-based policy allows it'
                        )
                return serve(self, request, full_url)
            except Refusal as refusal:
                return refusal_response(f"{request.method} {full_url}: {refusal}")
            except Denied as denied:
                return denied_response(str(denied))
            finally:
                _request.state = None
                _request.action = None

        return wrapper

    responses.S3Response._bucket_response = guarded(responses.S3Response._bucket_response, False)
    responses.S3Response._key_response = guarded(responses.S3Response._key_response, True)

    def get_permission(self, action, resource):
        """moto's own bucket-policy check. Object requests were judged above (moto asks
        again under its own action names: neutral); DeleteObjects asks per key."""
        state = current()
        if state is None or getattr(_request, "action", None) is not None:
            return PermissionResult.NEUTRAL
        caller, values, known = state
        try:
            authorize_one = bucket_policy_verdict(self.policy, action, resource, caller, values, known)
        except Refusal as refusal:
            log(f"refusing {action} on {resource}: {refusal}")
            return PermissionResult.DENIED
        if authorize_one == "deny" or (self.account_id != caller.account and authorize_one != "allow"):
            return PermissionResult.DENIED
        return PermissionResult.PERMITTED if authorize_one == "allow" else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission

    def set_action(self, action_resource_type, method, querystring):
        """With IAM enforced, moto authorises identity policies by `self.data["Action"]`:
        name it as AWS does (the first action the request needs)."""
        if action_resource_type == "CONTROL":
            return _set_action(self, action_resource_type, method, querystring)
        headers = {k.lower(): v for k, v in self.headers.items()}
        key = self.parse_key_name() if action_resource_type == "KEY" else None
        try:
            _, needed = required_actions(method, self.bucket_name, key, querystring, headers)
        except Refusal:
            needed = []
        if needed:
            self.data["Action"] = needed[0][0].split(":", 1)[1]
        else:
            _set_action(self, action_resource_type, method, querystring)

    _set_action = responses.S3Response._set_action
    responses.S3Response._set_action = set_action
