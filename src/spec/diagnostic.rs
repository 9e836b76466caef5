//! Spec diagnostics: what is wrong, where (`file:line:col` and the field path), and what
//! to do about it. Rendered like compiler messages so editors can jump to them.

use std::fmt;

use super::yaml::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// Dotted field path, e.g. `replication.rules[0].storage_class`; empty for the file.
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(file: &str, pos: Pos, field: &str, message: String, hint: Option<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            line: pos.line,
            col: pos.col,
            field: field.to_string(),
            message,
            hint,
        }
    }

    pub fn warning(
        file: &str,
        pos: Pos,
        field: &str,
        message: String,
        hint: Option<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, pos, field, message, hint)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}:{}: {kind}: ", self.file, self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

impl Diagnostic {
    /// The JSON form `validate --format json` and `{"error": ...}` documents use.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "severity": match self.severity { Severity::Error => "error", Severity::Warning => "warning" },
            "file": self.file, "line": self.line, "column": self.col, "field": self.field,
            "message": self.message, "hint": self.hint,
        })
    }
}

/// A spec that cannot be used, with every problem found (errors first).
#[derive(Debug, Clone, thiserror::Error)]
pub struct SpecError {
    pub diagnostics: Vec<Diagnostic>,
    /// The file could not be read at all (no problem in the spec was found: `validate`
    /// could not run, exit 2, rather than found problems, exit 1).
    pub unreadable: bool,
}

impl SpecError {
    pub fn single(diagnostic: Diagnostic) -> Self {
        SpecError {
            diagnostics: vec![diagnostic],
            unreadable: false,
        }
    }

    /// The file named on the command line cannot be read.
    pub fn unreadable(diagnostic: Diagnostic) -> Self {
        SpecError {
            diagnostics: vec![diagnostic],
            unreadable: true,
        }
    }

    /// One line: how many errors, in which file.
    pub fn summary(&self) -> String {
        let file = self
            .diagnostics
            .first()
            .map(|d| d.file.as_str())
            .unwrap_or("the spec");
        if self.unreadable {
            return format!("cannot read the spec {file}");
        }
        let errors = self.error_count();
        format!(
            "{errors} error{} in the spec {file}; nothing was done",
            if errors == 1 { "" } else { "s" }
        )
    }

    /// What to do next.
    pub fn hint(&self) -> String {
        if self.unreadable {
            "check the path given on the command line".to_string()
        } else {
            "fix the lines above; `s3bridge validate SPEC` checks again, `s3bridge schema` \
             prints every field"
                .to_string()
        }
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

impl fmt::Display for SpecError {
    /// The summary line; `crate::error::Error::render` prints the diagnostics above it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}
