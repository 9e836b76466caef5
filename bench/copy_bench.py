"""Drives bench/copy.sh: the same copy job by s3bridge, s5cmd, rclone and `aws s3 sync`
against one garage server, REPS times each, interleaved. Prints a Markdown report and writes bench/work/copy-results.json.

Per run: wall time, client CPU seconds (the client's rusage), server CPU seconds (garage's
/proc/PID/stat before and after), requests (garage's S3 request counters before and
after). Each run copies into a fresh, empty destination bucket.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

WORK = os.environ["WORK"]
GARAGE = os.environ["GARAGE"]
GARAGE_CONF = os.environ["GARAGE_CONF"]
GARAGE_PID = int(os.environ["GARAGE_PID"])
ENDPOINT = os.environ["ENDPOINT"]
METRICS = os.environ["METRICS"]
KEY_ID = os.environ["AWS_ACCESS_KEY_ID"]
S3BRIDGE = os.environ["S3BRIDGE"]
S5CMD = os.environ["S5CMD"]
REPS = int(os.environ.get("REPS", "3"))
OBJECTS = int(os.environ.get("OBJECTS", "5000"))
CLIENT_CORE = os.environ.get("CLIENT_CORE", "1")
TICK = os.sysconf("SC_CLK_TCK")


def garage(*args):
    return subprocess.run([GARAGE, "-c", GARAGE_CONF, *args], check=True, capture_output=True, text=True).stdout


def server_cpu():
    with open(f"/proc/{GARAGE_PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def requests_served():
    text = urllib.request.urlopen(METRICS).read().decode()
    counts = {}
    for line in text.splitlines():
        m = re.match(r'api_s3_request_counter\{api_endpoint="(\w+)"\} (\d+)', line)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
    return counts


def fresh_bucket(name):
    garage("bucket", "create", name)
    garage("bucket", "allow", "--read", "--write", "--owner", name, "--key", KEY_ID)


def commands(dst):
    return {
        "s3bridge": [S3BRIDGE, "copy", "s3://src", f"s3://{dst}", "--endpoint-url", ENDPOINT,
                     "--source-region", "garage", "--concurrency", "64", "--quiet", "--format", "json"],
        "s5cmd": [S5CMD, "--endpoint-url", ENDPOINT, "cp", "s3://src/*", f"s3://{dst}/"],
        "rclone": ["rclone", "sync", "garage:src", f"garage:{dst}", "--transfers", "64", "--checkers", "64"],
        "aws s3 sync": ["aws", "--endpoint-url", ENDPOINT, "s3", "sync", "s3://src", f"s3://{dst}", "--only-show-errors"],
    }


def timed(argv, env=None):
    """Runs argv pinned to the client core; returns wall, CPU seconds, peak RSS (KiB), output."""
    # Output goes to files: a pipe nobody reads while waiting would block a chatty client.
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        child = subprocess.Popen(["nice", "-n", "-15", "taskset", "-c", CLIENT_CORE, *argv], stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read().decode(), stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} failed ({status}): {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out


def count_objects(bucket):
    out = subprocess.run([S5CMD, "--endpoint-url", ENDPOINT, "ls", f"s3://{bucket}/*"],
                         check=True, capture_output=True, text=True).stdout
    return len(out.splitlines())


def copy_runs():
    runs = []
    for rep in range(REPS):
        for tool in ["s3bridge", "s5cmd", "rclone", "aws s3 sync"]:
            dst = f"dst-{tool.split()[0]}-{rep}-{int(time.time())}"
            fresh_bucket(dst)
            time.sleep(1)
            cpu0, req0 = server_cpu(), requests_served()
            wall, cpu, rss, out = timed(commands(dst)[tool])
            cpu1, req1 = server_cpu(), requests_served()
            served = {k: req1.get(k, 0) - req0.get(k, 0) for k in req1 if req1.get(k, 0) != req0.get(k, 0)}
            copied = count_objects(dst)
            if copied != OBJECTS:
                sys.exit(f"{tool} copied {copied} of {OBJECTS}")
            run = {"tool": tool, "rep": rep, "wall": wall, "client_cpu": cpu, "server_cpu": cpu1 - cpu0,
                   "requests": served, "requests_total": sum(served.values()), "client_rss_kib": rss}
            print(json.dumps(run), file=sys.stderr)
            runs.append(run)
    return runs


def median(runs, tool, field):
    return statistics.median(r[field] for r in runs if r["tool"] == tool)


def main():
    runs = copy_runs()
    with open(os.path.join(WORK, "copy-results.json"), "w") as f:
        json.dump({"runs": runs}, f, indent=1)
    if runs:
        base = {f: median(runs, "s5cmd", f) for f in ["wall", "client_cpu"]}
        print(f"{OBJECTS} objects × 1 KiB, {REPS} repetitions, medians; server on core 0, clients on core {CLIENT_CORE}\n")
        print("| tool | wall s | × s5cmd | client CPU s | × s5cmd | server CPU s | wall ÷ server CPU | requests/object |")
        print("|---|---|---|---|---|---|---|---|")
        for tool in ["s3bridge", "s5cmd", "rclone", "aws s3 sync"]:
            wall, cpu = median(runs, tool, "wall"), median(runs, tool, "client_cpu")
            server = median(runs, tool, "server_cpu")
            reqs = median(runs, tool, "requests_total") / OBJECTS
            print(f"| {tool} | {wall:.2f} | {wall / base['wall']:.2f} | {cpu:.2f} | {cpu / base['client_cpu']:.2f} "
                  f"| {server:.2f} | {wall / server:.2f} | {reqs:.3f} |")
        s3b = [r for r in runs if r["tool"] == "s3bridge"]
        print("\ns3bridge requests by operation (median run):",
              sorted(s3b, key=lambda r: r["wall"])[len(s3b) // 2]["requests"])
        aws = median(runs, "aws s3 sync", "wall")
        print(f"\ns3bridge is {aws / median(runs, 's3bridge', 'wall'):.1f}× faster than aws s3 sync")
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
        from results import result
        wall, cpu = median(runs, "s3bridge", "wall"), median(runs, "s3bridge", "client_cpu")
        server = median(runs, "s3bridge", "server_cpu")
        reqs = median(runs, "s3bridge", "requests_total") / OBJECTS
        result("copy", "wall <= 0.7x s5cmd", f"{wall / base['wall']:.2f}x ({wall:.2f} s)", wall <= 0.7 * base["wall"])
        result("copy", "wall <= 1.1x server CPU seconds", f"{wall / server:.2f}x", wall <= 1.1 * server)
        result("copy", "client CPU <= 0.4x s5cmd", f"{cpu / base['client_cpu']:.2f}x ({cpu:.2f} s)",
               cpu <= 0.4 * base["client_cpu"])
        result("copy", ">= 6x faster than aws s3 sync", f"{aws / wall:.1f}x", aws >= 6 * wall)
        result("copy", "1 request per copied object + listing pages", f"{reqs:.3f} requests/object", reqs <= 1.01)


if __name__ == "__main__":
    main()
