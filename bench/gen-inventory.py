#!/usr/bin/env python3
"""Generates two S3 Inventory reports (CSV, gzip, manifest.json) with known differences,
for bench/verify-inventory.sh.

The source inventory lists ROWS objects in key order, cut into FILES consecutive data
files (as a sorted report would be). The destination inventory lists the same objects,
except: every 1000th is missing, every 5000th (offset 11) has another size, and one
extra object follows every 2000th; its rows are dealt round-robin over FILES data
files and shuffled in blocks of 50,000, so neither the files nor their rows are in
key order. Every 97th key has a space, '+', unicode and '%' in it (URL-encoded as S3
does). The expected classes are written to expected.json.

Usage: gen-inventory.py OUT_DIR ROWS FILES
"""

import gzip
import hashlib
import json
import os
import random
import sys
import urllib.parse
from multiprocessing import Pool

SCHEMA = "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ChecksumAlgorithm"
BLOCK = 50_000


def key(i, extra=False):
    name = f"data/{i // 1_000_000:02d}/{(i // 1000) % 1000:03d}/obj-{i:010d}"
    if extra:
        name += "-extra"
    if i % 97 == 0:
        name += " ü+50%"
    return name + ".parquet"


def etag(i):
    return hashlib.md5(i.to_bytes(8, "little")).hexdigest()


def row(bucket, i, size_delta=0, extra=False):
    size = 1000 + (i * 7919) % 9_000_000 + size_delta
    return (
        f'"{bucket}","{urllib.parse.quote_plus(key(i, extra), safe="/")}","{size}",'
        f'"2024-03-15T10:{i % 60:02d}:{(i // 60) % 60:02d}.000Z","{etag(i)}","STANDARD","false","","SSE-S3","CRC64NVME"\n'
    )


def missing(i):
    return i % 1000 == 7


def size_changed(i):
    return i % 5000 == 11


def has_extra(i):
    return i % 2000 == 3


def destination_rows(i):
    out = []
    if not missing(i):
        out.append(row("bench-destination", i, 1 if size_changed(i) else 0))
    if has_extra(i):
        out.append(row("bench-destination", i, extra=True))
    return out


def write_file(job):
    side, path, rows, files, index = job
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with gzip.open(path, "wt", compresslevel=6, encoding="utf-8", newline="") as out:
        if side == "source":
            per_file = (rows + files - 1) // files
            start = index * per_file
            for i in range(start, min(rows, start + per_file)):
                out.write(row("bench-source", i))
        else:
            for block in range(0, rows, BLOCK):
                lines = []
                for i in range(block + index, min(rows, block + BLOCK), files):
                    lines.extend(destination_rows(i))
                random.Random(block * 131 + index).shuffle(lines)
                out.writelines(lines)
    with open(path, "rb") as f:
        data = f.read()
    return {"key": None, "size": len(data), "MD5checksum": hashlib.md5(data).hexdigest()}


def main():
    out_dir, rows, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    jobs, keys = [], []
    for side, bucket in (("source", "bench-source"), ("destination", "bench-destination")):
        for index in range(files):
            data_key = f"{bucket}/bench/data/{index:04d}.csv.gz"
            keys.append((side, bucket, data_key))
            jobs.append((side, os.path.join(out_dir, data_key), rows, files, index))
    with Pool(os.cpu_count() or 2) as pool:
        results = pool.map(write_file, jobs)
    for side, bucket in (("source", "bench-source"), ("destination", "bench-destination")):
        files_meta = [
            dict(r, key=k) for (s, b, k), r in zip(keys, results) if s == side
        ]
        manifest = {
            "sourceBucket": bucket,
            "destinationBucket": "arn:aws:s3:::bench-inventories",
            "version": "2016-11-30",
            "creationTimestamp": "1710496800000",
            "fileFormat": "CSV",
            "fileSchema": SCHEMA,
            "files": files_meta,
        }
        path = os.path.join(out_dir, bucket, "bench", "2024-03-15T10-00Z", "manifest.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = json.dumps(manifest, indent=2).encode()
        with open(path, "wb") as f:
            f.write(text)
        with open(os.path.join(os.path.dirname(path), "manifest.checksum"), "w") as f:
            f.write(hashlib.md5(text).hexdigest())
    n_missing = sum(1 for i in range(rows) if missing(i))
    n_size = sum(1 for i in range(rows) if size_changed(i) and not missing(i))
    n_extra = sum(1 for i in range(rows) if has_extra(i))
    expected = {
        "classes": {
            "match": rows - n_missing - n_size,
            "missing": n_missing,
            "extra": n_extra,
            "size_mismatch": n_size,
            "content_mismatch": 0,
            "unverified": 0,
        },
        "source_rows": rows,
        "destination_rows": rows - n_missing + n_extra,
    }
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)


if __name__ == "__main__":
    main()
