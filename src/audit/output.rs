//! An audit report as text (grouped by resource, coloured on a terminal, one-line
//! verdict), JSON (the documented shape), SARIF 2.1.0 and JUnit XML. The generic
//! writers live in `report`; this module maps findings onto them.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Map, Value};

use super::{Finding, Property, Report, Severity};
use crate::report::{junit, sarif};

/// What every format needs besides the report.
pub struct Context<'a> {
    /// The spec path as given (SARIF locations point into it).
    pub spec: &'a str,
    pub fail_on: Severity,
    /// Line and column of a spec field (`source.bucket`), for SARIF.
    pub locate: &'a dyn Fn(&str) -> (u32, u32),
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The one-line verdict.
pub fn verdict(report: &Report, fail_on: Severity) -> String {
    let counts = format!(
        "{} high, {} medium, {} low",
        report.count(Severity::High),
        report.count(Severity::Medium),
        report.count(Severity::Low)
    );
    if report.findings.is_empty() {
        format!(
            "CLEAN: {} match the spec, no drift",
            plural(report.checks.len(), "check")
        )
    } else if report.fails(fail_on) {
        format!(
            "DRIFT: {} ({counts}) in {}, failing at --fail-on {}",
            plural(report.findings.len(), "finding"),
            plural(report.checks.len(), "check"),
            fail_on.as_str()
        )
    } else {
        format!(
            "PASS at --fail-on {}: {} below it ({counts}) in {}",
            fail_on.as_str(),
            plural(report.findings.len(), "finding"),
            plural(report.checks.len(), "check")
        )
    }
}

struct Paint(bool);

impl Paint {
    fn code(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(&self, severity: Severity) -> String {
        let label = format!("{:<6}", severity.as_str().to_uppercase());
        match severity {
            Severity::High => self.code("1;31", &label),
            Severity::Medium => self.code("33", &label),
            Severity::Low => self.code("36", &label),
        }
    }

    fn diff_line(&self, line: &str) -> String {
        if line.starts_with("+++") || line.starts_with("---") {
            self.code("1", line)
        } else if line.starts_with('+') {
            self.code("32", line)
        } else if line.starts_with('-') {
            self.code("31", line)
        } else if line.starts_with("@@") {
            self.code("36", line)
        } else {
            line.to_string()
        }
    }
}

/// Findings grouped by resource, then the verdict.
pub fn text(report: &Report, fail_on: Severity, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "s3bridge audit of {}: {} in {:.2} s ({} AWS calls, slowest {} {:.2} s)",
        report.name,
        plural(report.checks.len(), "check"),
        report.elapsed.as_secs_f64(),
        report.calls.count,
        report.calls.slowest_operation,
        report.calls.slowest.as_secs_f64()
    );
    let mut by_resource: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_resource.entry(&f.resource).or_default().push(f);
    }
    for (resource, findings) in by_resource {
        let _ = writeln!(out, "\n{}", paint.code("1", resource));
        for f in findings {
            let _ = writeln!(
                out,
                "  {} {:<20} {}",
                paint.severity(f.severity),
                f.property.as_str(),
                f.message
            );
            let pad = " ".repeat(30);
            let _ = writeln!(out, "{pad}expected: {}", f.expected);
            let _ = writeln!(out, "{pad}actual:   {}", f.actual);
            let _ = writeln!(out, "{pad}fix:      {}", f.remediation);
            let _ = writeln!(out, "{pad}id:       {}", f.id);
            if let Some(diff) = &f.diff {
                for line in diff.lines() {
                    let _ = writeln!(out, "{pad}{}", paint.diff_line(line));
                }
            }
        }
    }
    let verdict_line = verdict(report, fail_on);
    let styled = if report.fails(fail_on) {
        paint.code("1;31", &verdict_line)
    } else {
        paint.code("1;32", &verdict_line)
    };
    let _ = writeln!(out, "\nverdict: {styled}");
    out
}

fn seconds(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

/// `{"findings": [...], "summary": {...}}`.
pub fn json(report: &Report, fail_on: Severity) -> Value {
    json!({
        "findings": report.findings,
        "summary": {
            "name": report.name,
            "checks": report.checks.len(),
            "findings": report.findings.len(),
            "high": report.count(Severity::High),
            "medium": report.count(Severity::Medium),
            "low": report.count(Severity::Low),
            "fail_on": fail_on.as_str(),
            "failed": report.fails(fail_on),
            "verdict": verdict(report, fail_on),
            "seconds": seconds(report.elapsed),
            "calls": {
                "count": report.calls.count,
                "total_seconds": seconds(report.calls.total),
                "slowest_seconds": seconds(report.calls.slowest),
                "slowest_operation": report.calls.slowest_operation,
            },
        },
    })
}

fn sarif_level(severity: Severity) -> sarif::Level {
    match severity {
        Severity::High => sarif::Level::Error,
        Severity::Medium => sarif::Level::Warning,
        Severity::Low => sarif::Level::Note,
    }
}

/// The rule of a finding: its id without the resource (`versioning/not-enabled`).
fn rule_id(finding: &Finding) -> String {
    let mut parts = finding.id.splitn(3, '/');
    format!(
        "{}/{}",
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default()
    )
}

pub fn sarif(report: &Report, context: &Context<'_>) -> Value {
    let mut rules: BTreeMap<String, (Property, Severity)> = BTreeMap::new();
    for f in &report.findings {
        let entry = rules.entry(rule_id(f)).or_insert((f.property, f.severity));
        entry.1 = entry.1.max(f.severity);
    }
    let rules: Vec<sarif::Rule> = rules
        .into_iter()
        .map(|(id, (property, severity))| sarif::Rule {
            name: property.as_str().into(),
            short_description: property.summary().into(),
            full_description: format!("{} {}", property.summary(), property.why()),
            help: format!(
                "s3bridge audit check `{}`: {} See docs/audit.md.",
                property.as_str(),
                property.why()
            ),
            level: sarif_level(severity),
            security_severity: Some(match severity {
                Severity::High => 8.0,
                Severity::Medium => 5.0,
                Severity::Low => 2.0,
            }),
            tags: vec!["security".into(), "drift".into(), property.as_str().into()],
            id,
        })
        .collect();
    let findings: Vec<sarif::Finding> = report
        .findings
        .iter()
        .map(|f| {
            let (line, column) = (context.locate)(&f.spec_field);
            let mut properties = Map::new();
            properties.insert("severity".into(), json!(f.severity));
            properties.insert("property".into(), json!(f.property));
            properties.insert("resource".into(), json!(f.resource));
            properties.insert("expected".into(), json!(f.expected));
            properties.insert("actual".into(), json!(f.actual));
            properties.insert("remediation".into(), json!(f.remediation));
            if let Some(diff) = &f.diff {
                properties.insert("diff".into(), json!(diff));
            }
            sarif::Finding {
                rule_id: rule_id(f),
                level: sarif_level(f.severity),
                message: format!("{} ({}). Fix: {}", f.message, f.resource, f.remediation),
                location: sarif::Location {
                    uri: context.spec.to_string(),
                    line,
                    column,
                    logical: Some(f.resource.clone()),
                },
                fingerprint: f.id.clone(),
                properties,
            }
        })
        .collect();
    sarif::to_json(
        &sarif::Tool {
            name: "s3bridge".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            information_uri: None,
        },
        &rules,
        &findings,
    )
}

/// One test case per check; a failure for each check with findings.
pub fn junit(report: &Report) -> String {
    let cases = report
        .checks
        .iter()
        .map(|check| {
            let findings: Vec<&Finding> = report.findings_for(check).collect();
            let failure = (!findings.is_empty()).then(|| {
                let worst = findings
                    .iter()
                    .map(|f| f.severity)
                    .max()
                    .unwrap_or(Severity::Low);
                let mut details = String::new();
                for f in &findings {
                    let _ = writeln!(
                        details,
                        "[{}] {}\nexpected: {}\nactual: {}\nfix: {}\nid: {}",
                        f.severity.as_str(),
                        f.message,
                        f.expected,
                        f.actual,
                        f.remediation,
                        f.id
                    );
                    if let Some(diff) = &f.diff {
                        details.push_str(diff);
                    }
                    details.push('\n');
                }
                junit::Failure {
                    message: findings
                        .iter()
                        .map(|f| f.message.as_str())
                        .collect::<Vec<_>>()
                        .join(" | "),
                    kind: worst.as_str().into(),
                    details,
                }
            });
            junit::Case {
                name: format!("{} {}", check.property, check.resource),
                classname: format!("s3bridge.audit.{}", check.property),
                seconds: 0.0,
                failure,
            }
        })
        .collect();
    junit::to_xml(&[junit::Suite {
        name: format!("s3bridge audit {}", report.name),
        cases,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{CallStats, Check};
    use std::time::Duration;

    fn report() -> Report {
        let finding = |id: &str, severity, property, resource: &str| Finding {
            id: id.into(),
            severity,
            property,
            resource: resource.into(),
            expected: "Enabled".into(),
            actual: "Suspended".into(),
            message: format!("{id} drifted"),
            remediation: "apply".into(),
            diff: None,
            spec_field: "source.bucket".into(),
        };
        Report {
            name: "demo".into(),
            checks: vec![
                Check {
                    property: Property::Versioning,
                    resource: "arn:aws:s3:::a".into(),
                    spec_field: "source.bucket".into(),
                },
                Check {
                    property: Property::Ownership,
                    resource: "arn:aws:s3:::b".into(),
                    spec_field: "destination.bucket".into(),
                },
                Check {
                    property: Property::Encryption,
                    resource: "arn:aws:s3:::b".into(),
                    spec_field: "destination.kms_key".into(),
                },
            ],
            findings: vec![
                finding(
                    "versioning/not-enabled/a",
                    Severity::High,
                    Property::Versioning,
                    "arn:aws:s3:::a",
                ),
                finding(
                    "ownership/acls-enabled/b",
                    Severity::Medium,
                    Property::Ownership,
                    "arn:aws:s3:::b",
                ),
            ],
            elapsed: Duration::from_millis(1234),
            calls: CallStats::default(),
        }
    }

    #[test]
    fn json_has_the_documented_shape() {
        let value = json(&report(), Severity::Low);
        let keys: Vec<&str> = value["findings"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "severity",
                "property",
                "resource",
                "expected",
                "actual",
                "message",
                "remediation"
            ]
        );
        assert_eq!(value["findings"][0]["property"], "versioning");
        assert_eq!(value["summary"]["high"], 1);
        assert_eq!(value["summary"]["failed"], true);
    }

    #[test]
    fn verdict_follows_fail_on() {
        let report = report();
        assert!(verdict(&report, Severity::Low)
            .starts_with("DRIFT: 2 findings (1 high, 1 medium, 0 low)"));
        let mut medium_only = report.clone();
        medium_only.findings.remove(0);
        assert!(verdict(&medium_only, Severity::High).starts_with("PASS at --fail-on high"));
        medium_only.findings.clear();
        assert!(verdict(&medium_only, Severity::Low).starts_with("CLEAN"));
    }

    #[test]
    fn text_groups_by_resource_and_colours_only_when_asked() {
        let plain = text(&report(), Severity::Low, false);
        let a = plain.find("\narn:aws:s3:::a\n").expect("resource a");
        let b = plain.find("\narn:aws:s3:::b\n").expect("resource b");
        assert!(a < b && plain[a..b].contains("versioning/not-enabled/a"));
        assert!(!plain.contains('\x1b'));
        assert!(text(&report(), Severity::Low, true).contains("\x1b[1;31m"));
    }

    #[test]
    fn junit_has_a_case_per_check_and_sarif_a_rule_per_kind() {
        let xml = junit(&report());
        assert!(
            xml.contains("<testsuites tests=\"3\" failures=\"2\">"),
            "{xml}"
        );
        let log = sarif(
            &report(),
            &Context {
                spec: "spec.yaml",
                fail_on: Severity::Low,
                locate: &|_| (7, 3),
            },
        );
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(log["runs"][0]["results"][1]["level"], "warning");
        assert_eq!(
            log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            7
        );
    }
}
