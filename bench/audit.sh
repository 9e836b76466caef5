#!/usr/bin/env bash
# Times `s3bridge audit` of the fixture bundle on a local two-account moto (the launcher
# the tests use), to show that audit's calls run concurrently: the wall time should be
# near the longest chain of dependent calls, far below the sum of all call times.
#
# Usage: bench/audit.sh [RUNS]      (default 20; needs ./scripts/setup and Terraform)
#
# Steps: start moto; generate the bundle of fixtures/specs/example.yaml (with its source
# bucket created by the bundle rather than imported, so no harness is needed to pre-create
# it); terraform apply; create a completed S3 Batch Replication job (moto has none: the
# launcher's stub) so the audit is clean and reads jobs too; then audit RUNS times with
# the release build and report the wall time and the per-call statistics audit records.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
python=.venv/moto/bin/python
[ -x "$python" ] || { echo "run ./scripts/setup first" >&2; exit 2; }
command -v terraform >/dev/null || { echo "audit.sh needs Terraform (see ./scripts/setup)" >&2; exit 2; }

work=$(mktemp -d)
moto_pid=
cleanup() {
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

cargo build --release --quiet
bin=$PWD/target/release/s3bridge

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
endpoint=http://127.0.0.1:$port
"$python" tests/support/moto_server.py 127.0.0.1 "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
  "$python" -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/')" 2>/dev/null && break
  sleep 0.1
done

sed 's/^  existing: true .*/  existing: false/' fixtures/specs/example.yaml >"$work/spec.yaml"
"$bin" generate "$work/spec.yaml" --out "$work/bundle" --endpoint-url "$endpoint" 2>/dev/null
plugins=$(scripts/tf-plugin-dir 2>/dev/null || true)
(
  cd "$work/bundle"
  terraform init -input=false -no-color ${plugins:+-plugin-dir "$plugins"} >/dev/null
  terraform apply -input=false -no-color -auto-approve >/dev/null
)

# A completed Batch Replication job, created through the S3 Control API as
# `s3bridge replicate-existing` would (signed by hand: botocore adds an account host prefix
# that does not resolve locally).
"$python" - "$endpoint" "$("$bin" policies "$work/spec.yaml" --format json 2>/dev/null | "$python" -c '
import json, sys
roles = [d["name"].split("/")[0] for d in json.load(sys.stdin) if d["name"].endswith("/batch-replication")]
print(roles[0])')" <<'EOF'
import sys, urllib.request
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
endpoint, role = sys.argv[1], sys.argv[2]
creds = boto3.client("sts", endpoint_url=endpoint, region_name="ap-southeast-2").assume_role(
    RoleArn="arn:aws:iam::111111111111:role/bench", RoleSessionName="bench")["Credentials"]
body = f"""<?xml version="1.0" encoding="UTF-8"?><CreateJobRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">
<ConfirmationRequired>false</ConfirmationRequired><Operation><S3ReplicateObject/></Operation>
<Report><Enabled>false</Enabled></Report><ClientRequestToken>bench</ClientRequestToken><Priority>10</Priority>
<RoleArn>arn:aws:iam::111111111111:role/{role}</RoleArn>
<ManifestGenerator><S3JobManifestGenerator><SourceBucket>arn:aws:s3:::annalise-ai-datalake</SourceBucket>
<EnableManifestOutput>false</EnableManifestOutput></S3JobManifestGenerator></ManifestGenerator></CreateJobRequest>""".encode()
request = AWSRequest(method="POST", url=f"{endpoint}/v20180820/jobs", data=body,
                     headers={"x-amz-account-id": "111111111111", "Content-Type": "application/xml"})
from botocore.credentials import Credentials
SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]),
          "s3", "ap-southeast-2").add_auth(request)
urllib.request.urlopen(urllib.request.Request(request.url, data=body, method="POST", headers=dict(request.headers)))
EOF

for _ in $(seq "$runs"); do
  start=$(date +%s.%N)
  set +e
  "$bin" audit "$work/spec.yaml" --endpoint-url "$endpoint" --format json 2>/dev/null >"$work/report.json"
  code=$?
  set -e
  end=$(date +%s.%N)
  "$python" -c "
import json, sys
r = json.load(open('$work/report.json'))['summary']
print($code, r['findings'], $end - $start, r['seconds'], r['calls']['count'], r['calls']['total_seconds'], r['calls']['slowest_seconds'], r['calls']['slowest_operation'])
" >>"$work/runs.txt"
done

"$python" - "$work/runs.txt" "$runs" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
codes = {r[0] for r in rows}
findings = {r[1] for r in rows}
wall = [float(r[2]) for r in rows]
audit = [float(r[3]) for r in rows]
calls = rows[0][4]
total = [float(r[5]) for r in rows]
slowest = [float(r[6]) for r in rows]
ops = sorted({r[7] for r in rows})
med = statistics.median
print(f"runs: {sys.argv[2]}, exit codes {sorted(codes)}, findings {sorted(findings)}")
print(f"process wall time (s): median {med(wall):.3f}, min {min(wall):.3f}, max {max(wall):.3f}")
print(f"audit (reads + checks, s): median {med(audit):.3f}, min {min(audit):.3f}, max {max(audit):.3f}")
print(f"AWS calls per audit: {calls}; sum of call times (s): median {med(total):.3f}; "
      f"slowest single call (s): median {med(slowest):.3f} ({', '.join(ops)})")
print(f"concurrency: sum of calls / audit time = {med(total) / med(audit):.1f}x; "
      f"audit time / slowest call = {med(audit) / med(slowest):.1f}x")
sys.path.insert(0, "bench/lib")
from results import result
clean = codes == {"0"} and findings == {"0"}
result("audit", "a clean bundle audits clean (exit 0, 0 findings)",
       f"exit {'/'.join(sorted(codes))}, findings {'/'.join(sorted(findings))}", clean)
# Every call that does not wait for another's answer is in flight at once, and the longest
# chain of dependent calls is two deep: the audit should take about two slowest calls.
result("audit", "concurrent: audit time <= 2x slowest call (median)",
       f"{med(audit) / med(slowest):.1f}x ({med(audit):.3f} s; {calls} calls summing {med(total):.3f} s)",
       med(audit) <= 2 * med(slowest))
EOF
