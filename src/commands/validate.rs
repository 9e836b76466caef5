//! `s3bridge validate SPEC`: every problem in the spec, with where and what to do.
//!
//! Exit 0 when the spec is valid (warnings allowed), 1 when it has errors (what validate
//! is for finding), 2 when the file cannot be read at all.

use anyhow::Result;
use serde_json::json;

use super::Status;
use crate::cli::{TextOrJson, ValidateArgs};
use crate::spec::{self, Diagnostic, Severity};
use crate::{errln, outln};

pub fn run(args: &ValidateArgs) -> Result<Status> {
    let (diagnostics, status) = match spec::load(&args.spec) {
        Ok(loaded) => (loaded.warnings, Status::Success),
        Err(error) if error.unreadable => return Err(error.into()),
        Err(error) => (error.diagnostics, Status::Failure),
    };
    match args.format {
        TextOrJson::Json => {
            let out = json!({
                "valid": status == Status::Success,
                "diagnostics": diagnostics.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
            });
            outln!("{}", serde_json::to_string_pretty(&out)?)?;
        }
        TextOrJson::Text => {
            for d in &diagnostics {
                errln!("{d}");
            }
            let count = |severity: Severity| {
                let n = diagnostics
                    .iter()
                    .filter(|d| d.severity == severity)
                    .count();
                let word = match severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                format!("{n} {word}{}", if n == 1 { "" } else { "s" })
            };
            if status == Status::Success {
                let warnings = if diagnostics.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", count(Severity::Warning))
                };
                outln!("{}: valid{warnings}", args.spec.display())?;
            } else {
                errln!("{}: {}", args.spec.display(), count(Severity::Error));
            }
        }
    }
    Ok(status)
}
