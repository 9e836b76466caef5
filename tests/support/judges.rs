//! Runs the independent judges — checkov and parliament — and reads their verdicts.
//! A judge that crashes, prints something else than its report, or checks less than it
//! must is a failure here, never a clean verdict.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use super::{repo, tool};

/// One checkov result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Check {
    pub id: String,
    pub resource: String,
    pub passed: bool,
}

fn checkov(args: &[&str]) -> Vec<Check> {
    // checkov's HCL parser (lark) leaves a grammar cache in the temp dir: give it one
    // that goes away with the run.
    let scratch = tempfile::tempdir().expect("a temp dir for checkov");
    let output = Command::new(tool("judges", "checkov"))
        .args(args)
        .env("TMPDIR", scratch.path())
        .args(["--skip-download", "--output", "json", "--compact"])
        // Offline: never ask the vendor's API for check metadata.
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .expect("run checkov (scripts/setup installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    // checkov exits 1 when a check failed, 0 when none did; anything else is a crash.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "checkov {args:?} ended with {}:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}): {text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let reports = match json {
        serde_json::Value::Array(reports) => reports,
        report => vec![report],
    };
    let mut checks = Vec::new();
    for report in reports {
        for (key, passed) in [("passed_checks", true), ("failed_checks", false)] {
            for c in report["results"][key].as_array().into_iter().flatten() {
                checks.push(Check {
                    id: c["check_id"].as_str().unwrap_or_default().to_string(),
                    resource: c["resource"].as_str().unwrap_or_default().to_string(),
                    passed,
                });
            }
        }
    }
    checks
}

/// checkov on a Terraform directory, as a user would run it.
pub fn checkov_dir(dir: &Path) -> Vec<Check> {
    checkov(&[
        "-d",
        dir.to_str().unwrap(),
        "--framework",
        "terraform",
        "--download-external-modules",
        "false",
    ])
}

/// checkov on `terraform show -json` of a plan: every resource instance with its values.
pub fn checkov_plan(plan_json: &Path) -> Vec<Check> {
    checkov(&[
        "-f",
        plan_json.to_str().unwrap(),
        "--framework",
        "terraform_plan",
    ])
}

/// The checks docs/checkov.md explains as not applicable (its table's first column).
pub fn documented_exceptions() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(repo().join("docs/checkov.md")).expect("docs/checkov.md");
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|id| id.starts_with("CKV"))
        .map(str::to_string)
        .collect()
}

/// What a required check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Bucket,
    Key,
}

/// The checks the bundle must pass on every bucket or key: versioning, KMS default
/// encryption, key rotation, key policy, public access block, ownership, bucket policy.
pub const REQUIRED: &[(&str, Subject)] = &[
    ("CKV_AWS_21", Subject::Bucket),  // versioning
    ("CKV_AWS_145", Subject::Bucket), // default encryption with KMS
    ("CKV_AWS_19", Subject::Bucket),  // encrypted at rest
    ("CKV_AWS_7", Subject::Key),      // key rotation
    ("CKV_AWS_33", Subject::Key),     // no wildcard principal in key policies
    ("CKV2_AWS_64", Subject::Key),    // key policy defined
    ("CKV2_AWS_6", Subject::Bucket),  // public access block on the bucket
    ("CKV_AWS_53", Subject::Bucket),  // block public ACLs
    ("CKV_AWS_54", Subject::Bucket),  // block public policy
    ("CKV_AWS_55", Subject::Bucket),  // ignore public ACLs
    ("CKV_AWS_56", Subject::Bucket),  // restrict public buckets
    ("CKV2_AWS_65", Subject::Bucket), // ACLs disabled (BucketOwnerEnforced)
    ("CKV_AWS_93", Subject::Bucket),  // bucket policy does not lock out all but root
];

/// The required checks a static scan of the directory can evaluate. The others read
/// values a module receives through variables (rotation, the public access block flags,
/// ownership, versioning status), which checkov resolves only in a plan; the plan scan
/// must pass every one of REQUIRED (docs/checkov.md).
pub const DIRECTORY_SCAN_EVALUATES: &[&str] = &[
    "CKV_AWS_145",
    "CKV_AWS_19",
    "CKV_AWS_33",
    "CKV2_AWS_64",
    "CKV_AWS_93",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    Directory,
    Plan,
}

pub fn is_required(id: &str) -> bool {
    REQUIRED.iter().any(|(required, _)| *required == id)
}

/// What is wrong with a scan: each required check (those the scan can evaluate) must have
/// passed on every bucket or key module of `desired`, and failed nowhere.
pub fn missing_required(
    checks: &[Check],
    desired: &s3bridge::model::Desired,
    scan: Scan,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, subject) in REQUIRED {
        if scan == Scan::Directory && !DIRECTORY_SCAN_EVALUATES.contains(id) {
            continue;
        }
        let modules: Vec<String> = match subject {
            Subject::Bucket => desired.buckets.iter().map(|b| b.module()).collect(),
            Subject::Key => desired.keys.iter().map(|k| k.module()).collect(),
        };
        for module in modules {
            let prefix = format!("module.{module}.");
            if !checks
                .iter()
                .any(|c| c.id == *id && c.passed && c.resource.starts_with(&prefix))
            {
                problems.push(format!("{id} did not pass on module.{module}"));
            }
        }
        for c in checks.iter().filter(|c| c.id == *id && !c.passed) {
            problems.push(format!("{id} failed on {}", c.resource));
        }
    }
    problems
}

/// parliament's findings on one IAM policy document (empty when it is clean). Its exit
/// status must agree with its report (0: none, 1: findings) and it must print nothing
/// else: a crash or a line that is not a finding fails the caller.
pub fn parliament(document: &serde_json::Value) -> Vec<serde_json::Value> {
    let output = Command::new(tool("judges", "parliament"))
        .args(["--string", &document.to_string(), "--json"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run parliament (scripts/setup installs it)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.trim().is_empty(),
        "parliament wrote to stderr ({}):\n{stderr}",
        output.status
    );
    let findings: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| {
                panic!("parliament printed a line that is not a finding ({e}): {l}")
            })
        })
        .collect();
    let expected = if findings.is_empty() { 0 } else { 1 };
    assert_eq!(
        output.status.code(),
        Some(expected),
        "parliament's exit status disagrees with its {} finding(s)",
        findings.len()
    );
    findings
}
