//! The independent IAM evaluator (tests/iam: @cloud-copilot/iam-simulate, pinned and
//! patched, installed by scripts/setup): decides requests against policy documents the
//! way AWS does, where moto cannot (key policies, cross-account rules, conditions).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::{repo, stderr, stdout};

/// Evaluates `requests` (the shape of `s3bridge::model::requests::Request`) against
/// `documents` (as `s3bridge policies --format json` prints them) and `auditor` (as
/// `--auditor` prints them); one `{"decision", "detail"}` per request.
pub fn evaluate(documents: &Value, auditor: &Value, requests: &Value) -> Vec<Value> {
    let dir = repo().join("tests/iam");
    let engine = dir.join("node_modules/@cloud-copilot/iam-simulate");
    assert!(
        engine.exists(),
        "the IAM evaluator is not installed: run ./scripts/setup (npm ci in tests/iam)"
    );
    let patched =
        std::fs::read_to_string(engine.join("dist/esm/simulation_engine/simulationEngine.js"))
            .unwrap();
    assert!(
        patched.contains("s3bridge-patch:colon-variable-keys"),
        "iam-simulate is not patched (tests/iam/patch-iam-simulate.mjs): run ./scripts/setup"
    );
    let mut child = Command::new("node")
        .arg(dir.join("evaluate.mjs"))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node (Node.js 18+ is needed for the permission tests)");
    let input = json!({"documents": documents, "auditor": auditor, "requests": requests});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "evaluator failed: {}", stderr(&out));
    let results: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(Some(results.len()), requests.as_array().map(Vec::len));
    results
}
