//! A CI guard for memory, not for time: the peak RSS of `s3bridge verify` over two
//! generated inventories and of `copy --dry-run` listing a synthetic bucket, held against
//! ceilings with a wide margin. A change of allocator, allocator setting or buffering that
//! doubles memory fails here instead of in a user's container (BENCHMARKS.md has the
//! release-build numbers at 10M rows; these run the test profile's build on small inputs).
//!
//! Peak RSS is the child's `ru_maxrss` from wait4(2) (kilobytes on Linux, getrusage(2)).
//! Linux seeds a child's maxrss with the high-water mark of the memory it replaced at
//! execve (fs/exec.c, exec_mmap), so this test process's own peak is a floor of what is
//! read. It is kept small: inventories are written streaming, the measurements run one at
//! a time, and this process runs without transparent huge pages (with THP "always", the
//! listing server's per-thread malloc arenas alone fault in ~70 MiB of 2 MiB pages). Each
//! measured child gets THP back as the system sets it, so s3bridge is measured as users
//! run it; the floor is checked to be far below the ceilings, so a reading above a
//! ceiling can only be the child's.

// Peak RSS comes from Linux's wait4 and /proc; the ceilings are Linux measurements.
#![cfg(target_os = "linux")]

mod support;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, Once};

use md5::Digest;
use support::list_server::ListServer;

/// The test profile's build, measured on the 2-core development machine (2026-12-02,
/// BENCHMARKS.md "Memory guard"): verify of 2 x 100k rows 58 MiB, copy --dry-run of 100k
/// keys 44 MiB; with transparent huge pages and mimalloc's default purge delay (the
/// regression this guards against) 88 and 75 MiB. The ceilings leave 40% more room than
/// measured: wide for noise and small growth, not for that regression or a doubling.
const VERIFY_CEILING_MIB: f64 = 80.0;
const COPY_DRY_RUN_CEILING_MIB: f64 = 62.0;

/// Holds the measurements apart, and this process's own peak low (see the top).
fn measuring_alone() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    static SMALL_PAGES: Once = Once::new();
    SMALL_PAGES.call_once(|| {
        // SAFETY: prctl with integer arguments only sets a flag of this process.
        let done = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1 as libc::c_ulong, 0, 0, 0) };
        assert_eq!(done, 0, "prctl: {}", std::io::Error::last_os_error());
    });
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a measured run left behind.
struct Measured {
    exit_code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_rss_mib: f64,
}

/// Runs `command` to its end and reads its peak RSS from wait4's rusage.
fn run_measured(mut command: Command) -> Measured {
    let stdout = tempfile::NamedTempFile::new().unwrap();
    let stderr = tempfile::NamedTempFile::new().unwrap();
    command
        .stdout(stdout.reopen().unwrap())
        .stderr(stderr.reopen().unwrap());
    // SAFETY: runs in the forked child before exec; prctl is async-signal-safe. It
    // clears the THP-disable flag this process set for itself, so the child starts with
    // the system's setting (the flag is otherwise inherited: PR_SET_THP_DISABLE(2const)).
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_THP_DISABLE, 0 as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().expect("start s3bridge");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child, which is reaped
    // here (std's Child is not waited on afterwards, and dropping it does not wait).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    Measured {
        exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: std::fs::read_to_string(stdout.path()).unwrap(),
        stderr: std::fs::read_to_string(stderr.path()).unwrap(),
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// This test process's own peak RSS (VmHWM), the floor of any child's reading.
fn own_peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

fn assert_under(what: &str, measured: &Measured, ceiling_mib: f64) {
    let floor = own_peak_mib();
    eprintln!(
        "{what}: peak RSS {:.1} MiB (ceiling {ceiling_mib} MiB; test process {floor:.1} MiB)",
        measured.peak_rss_mib
    );
    assert!(
        measured.peak_rss_mib <= ceiling_mib,
        "{what} peaked at {:.1} MiB, over its {ceiling_mib} MiB ceiling{}",
        measured.peak_rss_mib,
        if floor > ceiling_mib / 2.0 {
            format!(
                " -- but this test process itself peaked at {floor:.1} MiB, a floor of the \
                 reading (see the top of tests/memory.rs; a panic's backtrace in another \
                 test of this binary can do that)"
            )
        } else {
            String::new()
        }
    );
}

const SCHEMA: &str = "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ChecksumAlgorithm";

/// The keys of bench/gen-inventory.py: every 97th with a space, `+`, `ü` and `%`.
fn key(i: usize, extra: bool) -> String {
    let mut name = format!(
        "data/{:02}/{:03}/obj-{i:010}",
        i / 1_000_000,
        (i / 1000) % 1000
    );
    if extra {
        name.push_str("-extra");
    }
    if i.is_multiple_of(97) {
        name.push_str(" ü+50%");
    }
    name + ".parquet"
}

/// S3 Inventory's form URL-encoding of a key: `+` for space, `%XX` for anything not plain.
fn encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn row(bucket: &str, i: usize, size_delta: u64, extra: bool) -> String {
    let size = 1000 + (i as u64 * 7919) % 9_000_000 + size_delta;
    let etag: String = md5::Md5::digest((i as u64).to_le_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "\"{bucket}\",\"{}\",\"{size}\",\"2024-03-15T10:{:02}:{:02}.000Z\",\"{etag}\",\"STANDARD\",\"false\",\"\",\"SSE-S3\",\"CRC64NVME\"\n",
        encode(&key(i, extra)),
        i % 60,
        (i / 60) % 60
    )
}

/// The differences the destination inventory has (bench/gen-inventory.py's).
fn missing(i: usize) -> bool {
    i % 1000 == 7
}
fn size_changed(i: usize) -> bool {
    i % 5000 == 11
}
fn has_extra(i: usize) -> bool {
    i % 2000 == 3
}

/// Writes one gzip data file from `rows`, streaming; returns its manifest entry.
fn write_data_file(
    dir: &Path,
    bucket: &str,
    index: usize,
    rows: impl Iterator<Item = String>,
) -> serde_json::Value {
    let key = format!("{bucket}/bench/data/{index:04}.csv.gz");
    let path = dir.join(&key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = BufWriter::new(File::create(&path).unwrap());
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    for row in rows {
        gz.write_all(row.as_bytes()).unwrap();
    }
    gz.finish().unwrap().flush().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let md5: String = md5::Md5::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    serde_json::json!({"key": key, "size": bytes.len(), "MD5checksum": md5})
}

fn write_manifest(dir: &Path, bucket: &str, files: Vec<serde_json::Value>) -> PathBuf {
    let manifest = serde_json::json!({
        "sourceBucket": bucket,
        "destinationBucket": "arn:aws:s3:::bench-inventories",
        "version": "2016-11-30",
        "creationTimestamp": "1710496800000",
        "fileFormat": "CSV",
        "fileSchema": SCHEMA,
        "files": files,
    });
    let path = dir.join(format!("{bucket}/bench/2024-03-15T10-00Z/manifest.json"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    path
}

/// Two inventories like bench/gen-inventory.py's: the source's `rows` in key order over
/// `files` files; the destination's dealt over its files and shuffled in blocks, so
/// neither file nor row order helps. Returns the manifests and the expected classes.
fn generate_inventories(
    dir: &Path,
    rows: usize,
    files: usize,
) -> (PathBuf, PathBuf, serde_json::Value) {
    let per_file = rows.div_ceil(files);
    let source_files = (0..files)
        .map(|index| {
            let range = index * per_file..rows.min((index + 1) * per_file);
            write_data_file(
                dir,
                "bench-source",
                index,
                range.map(|i| row("bench-source", i, 0, false)),
            )
        })
        .collect();
    const BLOCK: usize = 10_000;
    let destination_files = (0..files)
        .map(|index| {
            let blocks = (0..rows).step_by(BLOCK).flat_map(move |block| {
                let mut lines: Vec<String> = (block + index..rows.min(block + BLOCK))
                    .step_by(files)
                    .flat_map(|i| {
                        let mut out = Vec::new();
                        if !missing(i) {
                            out.push(row(
                                "bench-destination",
                                i,
                                u64::from(size_changed(i)),
                                false,
                            ));
                        }
                        if has_extra(i) {
                            out.push(row("bench-destination", i, 0, true));
                        }
                        out
                    })
                    .collect();
                fastrand::Rng::with_seed((block * 131 + index) as u64).shuffle(&mut lines);
                lines
            });
            write_data_file(dir, "bench-destination", index, blocks)
        })
        .collect();
    let n_missing = (0..rows).filter(|&i| missing(i)).count();
    let n_size = (0..rows)
        .filter(|&i| size_changed(i) && !missing(i))
        .count();
    let n_extra = (0..rows).filter(|&i| has_extra(i)).count();
    let classes = serde_json::json!({
        "match": rows - n_missing - n_size,
        "missing": n_missing,
        "extra": n_extra,
        "size_mismatch": n_size,
        "content_mismatch": 0,
        "unverified": 0,
    });
    (
        write_manifest(dir, "bench-source", source_files),
        write_manifest(dir, "bench-destination", destination_files),
        classes,
    )
}

#[test]
fn verify_of_two_inventories_stays_under_its_memory_ceiling() {
    const ROWS: usize = 100_000;
    let _alone = measuring_alone();
    let dir = tempfile::tempdir().unwrap();
    let (source, destination, classes) = generate_inventories(dir.path(), ROWS, 4);
    let report = dir.path().join("report.csv");
    // No S3 request is made when every pair is settled from the inventories (counted
    // below); the endpoint only keeps the clients away from AWS and answers verify's
    // reachability probe (a TCP connect).
    let server = ListServer::start();
    let command = support::isolated_command(
        &[
            "verify",
            "s3://bench-source",
            "s3://bench-destination",
            "--source-inventory",
            source.to_str().unwrap(),
            "--destination-inventory",
            destination.to_str().unwrap(),
            "--endpoint-url",
            &server.endpoint,
            "--source-region",
            "us-east-1",
            "--destination-region",
            "us-east-1",
            "--format",
            "json",
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    let measured = run_measured(command);
    // The run must be the real one: every class as generated, exit 1 for the differences.
    assert_eq!(measured.exit_code, Some(1), "stderr: {}", measured.stderr);
    let summary: serde_json::Value = serde_json::from_str(&measured.stdout)
        .unwrap_or_else(|e| panic!("verify's JSON summary ({e}): {}", measured.stdout));
    assert_eq!(summary["classes"], classes, "stderr: {}", measured.stderr);
    assert_eq!(
        server.requests.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "verify asked S3 for what the inventories hold"
    );
    assert_under(
        "verify, 2 x 100k inventory rows",
        &measured,
        VERIFY_CEILING_MIB,
    );
}

#[test]
fn copy_dry_run_listing_stays_under_its_memory_ceiling() {
    const KEYS: usize = 100_000;
    let _alone = measuring_alone();
    let server = ListServer::start();
    let source = format!("s3://keys-{KEYS}");
    let command = support::isolated_command(
        &[
            "copy",
            &source,
            "s3://empty",
            "--endpoint-url",
            &server.endpoint,
            "--source-region",
            "us-east-1",
            "--destination-region",
            "us-east-1",
            "--dry-run",
            "--quiet",
            "--format",
            "json",
        ],
        &[],
    );
    let measured = run_measured(command);
    assert_eq!(measured.exit_code, Some(0), "stderr: {}", measured.stderr);
    let summary: serde_json::Value = serde_json::from_str(&measured.stdout)
        .unwrap_or_else(|e| panic!("copy's JSON summary ({e}): {}", measured.stdout));
    // Every key listed and planned: the memory measured is that of the whole listing.
    assert_eq!(summary["to_copy"], KEYS, "summary: {summary}");
    assert_under(
        "copy --dry-run, 100k keys",
        &measured,
        COPY_DRY_RUN_CEILING_MIB,
    );
}
