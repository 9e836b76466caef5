//! Runs the independent judges — checkov and parliament — and reads their verdicts.

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

/// The checks the bundle must pass: versioning, KMS default encryption, key rotation,
/// key policy, public access block, ownership, bucket policy.
pub const REQUIRED: &[&str] = &[
    "CKV_AWS_21",  // versioning
    "CKV_AWS_145", // default encryption with KMS
    "CKV_AWS_19",  // encrypted at rest
    "CKV_AWS_7",   // key rotation
    "CKV_AWS_33",  // no wildcard principal in key policies
    "CKV2_AWS_64", // key policy defined
    "CKV2_AWS_6",  // public access block on the bucket
    "CKV_AWS_53",  // block public ACLs
    "CKV_AWS_54",  // block public policy
    "CKV_AWS_55",  // ignore public ACLs
    "CKV_AWS_56",  // restrict public buckets
    "CKV2_AWS_65", // ACLs disabled (BucketOwnerEnforced)
    "CKV_AWS_93",  // bucket policy does not lock out all but root
];

/// parliament's findings on one IAM policy document (empty when it is clean).
pub fn parliament(document: &serde_json::Value) -> Vec<serde_json::Value> {
    let output = Command::new(tool("judges", "parliament"))
        .args(["--string", &document.to_string(), "--json"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run parliament (scripts/setup installs it)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| serde_json::json!({ "unparsed": l })))
        .collect()
}
