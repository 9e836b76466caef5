//! SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), the format GitHub
//! code scanning and other security dashboards import. A command describes its rules
//! and results with these types; `to_json` writes a log that validates against the
//! official SARIF 2.1.0 schema (tests/audit.rs checks it against
//! fixtures/sarif/sarif-schema-2.1.0.json).

use serde_json::{json, Map, Value};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const VERSION: &str = "2.1.0";

/// `error`, `warning` or `note`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Note,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    pub version: String,
    pub information_uri: Option<String>,
}

/// A kind of result (one per check and kind of drift).
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub short_description: String,
    pub full_description: String,
    pub help: String,
    pub level: Level,
    /// GitHub's `security-severity` (0.0-10.0), which orders alerts.
    pub security_severity: Option<f32>,
    pub tags: Vec<String>,
}

/// Where a result points: a file position, and the cloud resource by name.
#[derive(Debug, Clone, Default)]
pub struct Location {
    /// A path relative to the repository root (or an absolute file URI).
    pub uri: String,
    pub line: u32,
    pub column: u32,
    /// The resource the result is about (an ARN), as a logical location.
    pub logical: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule_id: String,
    pub level: Level,
    pub message: String,
    pub location: Location,
    /// Stable identity across runs (`partialFingerprints`).
    pub fingerprint: String,
    /// Extra fields shown by viewers (expected, actual, remediation, diff).
    pub properties: Map<String, Value>,
}

fn text(value: &str) -> Value {
    json!({ "text": value })
}

/// The SARIF log of one run.
pub fn to_json(tool: &Tool, rules: &[Rule], findings: &[Finding]) -> Value {
    let rule_values: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut properties = Map::new();
            if !r.tags.is_empty() {
                properties.insert("tags".into(), json!(r.tags));
            }
            if let Some(severity) = r.security_severity {
                properties.insert("security-severity".into(), json!(format!("{severity:.1}")));
            }
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": text(&r.short_description),
                "fullDescription": text(&r.full_description),
                "help": text(&r.help),
                "defaultConfiguration": {"level": r.level.as_str()},
                "properties": properties,
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut location = Map::new();
            location.insert(
                "physicalLocation".into(),
                json!({
                    "artifactLocation": {"uri": f.location.uri},
                    "region": {"startLine": f.location.line.max(1), "startColumn": f.location.column.max(1)},
                }),
            );
            if let Some(logical) = &f.location.logical {
                location.insert(
                    "logicalLocations".into(),
                    json!([{"fullyQualifiedName": logical, "kind": "resource"}]),
                );
            }
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": f.level.as_str(),
                "message": text(&f.message),
                "locations": [Value::Object(location)],
                "partialFingerprints": {"s3bridgeFindingId/v1": f.fingerprint},
                "properties": f.properties,
            });
            if let Some(index) = rules.iter().position(|r| r.id == f.rule_id) {
                result["ruleIndex"] = json!(index);
            }
            result
        })
        .collect();
    let mut driver = json!({
        "name": tool.name,
        "version": tool.version,
        "semanticVersion": tool.version,
        "rules": rule_values,
    });
    if let Some(uri) = &tool.information_uri {
        driver["informationUri"] = json!(uri);
    }
    json!({
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [{
            "tool": {"driver": driver},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_results_to_rules() {
        let log = to_json(
            &Tool {
                name: "t".into(),
                version: "1".into(),
                information_uri: None,
            },
            &[Rule {
                id: "a/b".into(),
                name: "a".into(),
                short_description: "s".into(),
                full_description: "f".into(),
                help: "h".into(),
                level: Level::Error,
                security_severity: Some(8.0),
                tags: vec!["security".into()],
            }],
            &[Finding {
                rule_id: "a/b".into(),
                level: Level::Error,
                message: "m".into(),
                location: Location {
                    uri: "spec.yaml".into(),
                    line: 3,
                    column: 1,
                    logical: Some("arn:aws:s3:::b".into()),
                },
                fingerprint: "a/b/c".into(),
                properties: Map::new(),
            }],
        );
        assert_eq!(log["version"], "2.1.0");
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["ruleIndex"], 0);
        assert_eq!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"],
            3
        );
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
            "8.0"
        );
    }
}
