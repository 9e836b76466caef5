//! JUnit XML, the format CI systems show in their test tabs: one test case per check,
//! a failure element for each check that found something.

use std::fmt::Write;

#[derive(Debug, Clone, Default)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Default)]
pub struct Case {
    /// What was checked, e.g. `versioning arn:aws:s3:::bucket`.
    pub name: String,
    /// Grouping shown by CI tools, e.g. the property or class.
    pub classname: String,
    pub seconds: f64,
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// One line.
    pub message: String,
    /// A category, e.g. a severity or a class name.
    pub kind: String,
    /// Free text: expected, actual, remediation, a diff.
    pub details: String,
}

/// Escapes text for XML attributes and character data.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

pub fn to_xml(suites: &[Suite]) -> String {
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| c.failure.is_some())
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites tests=\"{tests}\" failures=\"{failures}\">"
    );
    for suite in suites {
        let suite_failures = suite.cases.iter().filter(|c| c.failure.is_some()).count();
        let seconds: f64 = suite.cases.iter().map(|c| c.seconds).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{suite_failures}\" errors=\"0\" skipped=\"0\" time=\"{seconds:.3}\">",
            escape(&suite.name),
            suite.cases.len()
        );
        for case in &suite.cases {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                escape(&case.name),
                escape(&case.classname),
                case.seconds
            );
            match &case.failure {
                None => out.push_str("/>\n"),
                Some(f) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        escape(&f.message),
                        escape(&f.kind),
                        escape(&f.details)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_escapes() {
        let xml = to_xml(&[Suite {
            name: "audit <spec>".into(),
            cases: vec![
                Case {
                    name: "ok".into(),
                    classname: "versioning".into(),
                    ..Case::default()
                },
                Case {
                    name: "bad & worse".into(),
                    classname: "role_policy".into(),
                    failure: Some(Failure {
                        message: "s3:* granted".into(),
                        kind: "high".into(),
                        details: "\"x\"".into(),
                    }),
                    ..Case::default()
                },
            ],
        }]);
        assert!(xml.contains("<testsuites tests=\"2\" failures=\"1\">"));
        assert!(xml.contains("name=\"audit &lt;spec&gt;\""));
        assert!(xml.contains("name=\"bad &amp; worse\""));
        assert!(xml.contains("&quot;x&quot;</failure>"));
    }
}
