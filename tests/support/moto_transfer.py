"""moto gaps that copy's safety tests meet (imported by moto_server.py).

Who started a multipart upload, and when. moto's ListMultipartUploads answers every upload with one made-up initiator
(`user1-11111a31-...`) and the same date (2010-11-10). S3 answers with the principal
that called CreateMultipartUpload (Initiator.ID: a user or role-session ARN) and the
time it did, which is how `s3bridge copy` recognises the uploads an earlier run of its
own left behind. Here each upload records, at creation, the caller's ARN (as moto's own
sts:GetCallerIdentity reports it for the request's access key) and the time, and
ListMultipartUploads answers with them. Nothing else about multipart uploads changes.
(`x-amz-copy-source-if-match`, which moto ignores, is honoured by moto_server.py.)
"""

import datetime

from moto.core.responses import ActionResult
from moto.s3 import responses
from moto.sts.models import sts_backends

# What moto answers for uploads made before this module was loaded (none, in practice).
_MOTO_DATE = datetime.datetime(2010, 11, 10, 20, 48, 33, tzinfo=datetime.timezone.utc)

_key_response_post = responses.S3Response._key_response_post


def _caller_arn(response):
    backend = sts_backends[response.current_account][response.partition]
    _, arn, _ = backend.get_caller_identity(response.get_access_key(), response.region)
    return arn


def _key_response_post_recording_initiator(self, request, body, bucket_name, query, key_name):
    if not (body == b"" and "uploads" in query):
        return _key_response_post(self, request, body, bucket_name, query, key_name)
    bucket = self.backend.get_bucket(bucket_name)
    before = set(bucket.multiparts)
    result = _key_response_post(self, request, body, bucket_name, query, key_name)
    now = datetime.datetime.now(datetime.timezone.utc)
    for upload_id in set(bucket.multiparts) - before:
        upload = bucket.multiparts[upload_id]
        upload.s3bridge_initiator = _caller_arn(self)
        upload.s3bridge_initiated = now
    return result


responses.S3Response._key_response_post = _key_response_post_recording_initiator


def list_multipart_uploads(self):
    uploads = list(self.backend.list_multipart_uploads(self.bucket_name).values())
    prefix = self.querystring.get("prefix", [""])[0] or ""
    uploads = [u for u in uploads if u.key_name.startswith(prefix)]
    # S3 sorts by key, then by initiation time.
    uploads.sort(key=lambda u: (u.key_name, getattr(u, "s3bridge_initiated", _MOTO_DATE)))
    result = {
        "Bucket": self.bucket_name,
        "KeyMarker": "",
        "UploadIdMarker": "",
        "MaxUploads": 1000,
        "IsTruncated": False,
        "Uploads": [
            {
                "Key": u.key_name,
                "UploadId": u.id,
                "Initiator": {
                    "ID": getattr(u, "s3bridge_initiator", "unknown"),
                    "DisplayName": getattr(u, "s3bridge_initiator", "unknown").split("/")[-1],
                },
                "Owner": {
                    "ID": "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a",
                    "DisplayName": "webfile",
                },
                "StorageClass": "STANDARD",
                "Initiated": getattr(u, "s3bridge_initiated", _MOTO_DATE),
                "ChecksumAlgorithm": u.metadata.get("x-amz-checksum-algorithm"),
                "ChecksumType": u.metadata.get("x-amz-checksum-type"),
            }
            for u in uploads
        ],
    }
    self.data["Action"] = "ListMultipartUploads"
    return self.serialized(ActionResult(result))


responses.S3Response.list_multipart_uploads = list_multipart_uploads
