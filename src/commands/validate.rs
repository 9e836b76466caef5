//! `s3bridge validate SPEC`: every problem in the spec, with where and what to do.

use anyhow::Result;
use serde_json::json;

use super::Status;
use crate::cli::{TextOrJson, ValidateArgs};
use crate::spec::{self, Diagnostic, Severity};

fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    json!({
        "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "file": d.file, "line": d.line, "column": d.col, "field": d.field,
        "message": d.message, "hint": d.hint,
    })
}

pub fn run(args: &ValidateArgs) -> Result<Status> {
    let (diagnostics, status) = match spec::load(&args.spec) {
        Ok(loaded) => (loaded.warnings, Status::Success),
        Err(error) => (error.diagnostics, Status::Failure),
    };
    match args.format {
        TextOrJson::Json => {
            let out = json!({
                "valid": status == Status::Success,
                "diagnostics": diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        TextOrJson::Text => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            if status == Status::Success {
                let warnings = diagnostics.len();
                println!(
                    "{}: valid{}",
                    args.spec.display(),
                    if warnings == 0 {
                        String::new()
                    } else {
                        format!(
                            " ({warnings} warning{})",
                            if warnings == 1 { "" } else { "s" }
                        )
                    }
                );
            } else {
                let errors = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                eprintln!(
                    "{}: {errors} error{}",
                    args.spec.display(),
                    if errors == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(status)
}
