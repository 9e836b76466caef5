"""A listing-only S3 endpoint with synthetic buckets, to measure a client's memory while it
lists a million keys without storing a million objects anywhere.

Bucket `keys-N` holds N virtual keys `pFFFF/kNNNNNNN` (1,000 keys per folder, in S3's
key order); any other bucket is empty. It answers ListObjectsV2 (prefix, delimiter,
start-after, continuation-token, max-keys) and GetBucketOwnershipControls; nothing
else. Pages are computed on the fly, so the server's own memory stays flat.

Usage: python fake_list_server.py PORT
"""

import bisect
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

PER_FOLDER = 1000
ETAG = '"0f343b0931126a20f133d67c2b018a3b"'  # md5 of 1 KiB of zeros


def key(i):
    return f"p{i // PER_FOLDER:04d}/k{i:07d}"


class Keys:
    """The sorted virtual keys of one bucket, searchable without materializing them."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return key(i)


def page(bucket, query):
    n = int(bucket[len("keys-"):]) if bucket.startswith("keys-") else 0
    keys = Keys(n)
    prefix = query.get("prefix", [""])[0]
    delimiter = query.get("delimiter", [None])[0]
    max_keys = int(query.get("max-keys", ["1000"])[0])
    after = query.get("continuation-token", query.get("start-after", [""]))[0]
    i = bisect.bisect_right(keys, after) if after else bisect.bisect_left(keys, prefix)
    contents, prefixes = [], []
    last = None
    while i < n and len(contents) + len(prefixes) < max_keys:
        k = key(i)
        if not k.startswith(prefix):
            break
        rest = k[len(prefix):]
        if delimiter and delimiter in rest:
            folder = prefix + rest.split(delimiter, 1)[0] + delimiter
            prefixes.append(folder)
            last = folder + "\U0010ffff"
            i = bisect.bisect_right(keys, last)
            continue
        contents.append(k)
        last = k
        i += 1
    truncated = i < n and key(i).startswith(prefix)
    body = ['<?xml version="1.0" encoding="UTF-8"?>',
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
            f"<Name>{bucket}</Name><Prefix>{prefix}</Prefix><MaxKeys>{max_keys}</MaxKeys>",
            f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount>",
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
    if truncated:
        body.append(f"<NextContinuationToken>{last}</NextContinuationToken>")
    for k in contents:
        body.append(f"<Contents><Key>{k}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
                    f"<ETag>{ETAG}</ETag><Size>1024</Size><StorageClass>STANDARD</StorageClass></Contents>")
    for p in prefixes:
        body.append(f"<CommonPrefixes><Prefix>{p}</Prefix></CommonPrefixes>")
    body.append("</ListBucketResult>")
    return "".join(body)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        bucket = unquote(url.path.strip("/").split("/", 1)[0])
        if "ownershipControls" in query:
            text = ('<?xml version="1.0" encoding="UTF-8"?><OwnershipControls><Rule>'
                    "<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>")
        else:
            text = page(bucket, query)
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
