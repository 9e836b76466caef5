//! The canonical form of a policy document: what audit compares and what a reviewer reads.
//!
//! Live documents come back from AWS in whatever shape they were written (a string
//! where a list may stand, `{"AWS": "*"}` for `"*"`, a bare account id for its root,
//! actions in any case, statements in any order). Both sides of a comparison — the
//! model's document (`Document`, with placeholders resolved) and the live JSON — are
//! parsed into the same `Canonical` value: lists become sorted sets, actions are spelt as
//! the catalog spells them, principals are normalised, and statements are sorted. Its
//! JSON (sorted keys) is what the unified diff of a policy finding shows; its meaning
//! (`policy::semantic`) is what decides whether there is a finding at all.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::catalog::catalog;
use super::{Document, Effect, Term};

/// Who a statement applies to, normalised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalId {
    /// `"*"` or `{"AWS": "*"}`: anyone at all.
    Everyone,
    /// An IAM ARN; a bare account id becomes `arn:aws:iam::ID:root`.
    Aws(String),
    Service(String),
    Federated(String),
    CanonicalUser(String),
}

impl PrincipalId {
    /// The way a reviewer reads it: `*`, an ARN, `service:s3.amazonaws.com`.
    pub fn describe(&self) -> String {
        match self {
            PrincipalId::Everyone => "*".into(),
            PrincipalId::Aws(arn) => arn.clone(),
            PrincipalId::Service(s) => format!("service {s}"),
            PrincipalId::Federated(s) => format!("federated {s}"),
            PrincipalId::CanonicalUser(s) => format!("canonical user {s}"),
        }
    }
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principals {
    pub negated: bool,
    pub ids: BTreeSet<PrincipalId>,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Items {
    pub negated: bool,
    pub values: BTreeSet<String>,
}

/// One condition: operator, key and the values it accepts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cond {
    pub operator: String,
    pub key: String,
    pub values: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stmt {
    pub sid: Option<String>,
    pub effect: Effect,
    /// None in identity policies (the role is the principal).
    pub principals: Option<Principals>,
    pub actions: Items,
    /// None when the statement has no Resource element (trust policies).
    pub resources: Option<Items>,
    pub conditions: BTreeSet<Cond>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    pub version: Option<String>,
    pub statements: Vec<Stmt>,
}

/// A live document that is not a policy s3bridge can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("not an IAM policy document: {0}")]
    Shape(String),
}

fn shape(message: impl Into<String>) -> ParseError {
    ParseError::Shape(message.into())
}

/// A string or a list of strings (numbers and booleans are read as their text).
fn strings(value: &Value, field: &str) -> Result<BTreeSet<String>, ParseError> {
    let one = |v: &Value| -> Result<String, ParseError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(shape(format!("{field} holds {other}"))),
        }
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(BTreeSet::from([one(other)?])),
    }
}

fn principals(value: &Value, negated: bool) -> Result<Principals, ParseError> {
    let mut ids = BTreeSet::new();
    match value {
        Value::String(s) if s == "*" => {
            ids.insert(PrincipalId::Everyone);
        }
        Value::Object(map) => {
            for (kind, names) in map {
                for name in strings(names, "Principal")? {
                    ids.insert(match kind.as_str() {
                        _ if name == "*" && kind == "AWS" => PrincipalId::Everyone,
                        "AWS" if crate::arn::is_account_id(&name) => {
                            PrincipalId::Aws(format!("arn:aws:iam::{name}:root"))
                        }
                        "AWS" => PrincipalId::Aws(name),
                        "Service" => PrincipalId::Service(name),
                        "Federated" => PrincipalId::Federated(name),
                        "CanonicalUser" => PrincipalId::CanonicalUser(name),
                        other => return Err(shape(format!("unknown principal type {other}"))),
                    });
                }
            }
        }
        other => return Err(shape(format!("Principal holds {other}"))),
    }
    Ok(Principals { negated, ids })
}

/// Reads `X` or `NotX` from a statement.
fn either<'a>(
    statement: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<(&'a Value, bool)>, ParseError> {
    let not = format!("Not{name}");
    match (statement.get(name), statement.get(&not)) {
        (Some(_), Some(_)) => Err(shape(format!("a statement has both {name} and {not}"))),
        (Some(v), None) => Ok(Some((v, false))),
        (None, Some(v)) => Ok(Some((v, true))),
        (None, None) => Ok(None),
    }
}

fn statement(value: &Value) -> Result<Stmt, ParseError> {
    let Value::Object(s) = value else {
        return Err(shape("a statement is not an object"));
    };
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => return Err(shape(format!("Effect is {other:?}"))),
    };
    let principals = either(s, "Principal")?
        .map(|(v, negated)| principals(v, negated))
        .transpose()?;
    let actions = match either(s, "Action")? {
        Some((v, negated)) => Items {
            negated,
            values: strings(v, "Action")?
                .iter()
                .map(|a| catalog().spell(a))
                .collect(),
        },
        None => return Err(shape("a statement has no Action")),
    };
    let resources = either(s, "Resource")?
        .map(|(v, negated)| -> Result<Items, ParseError> {
            Ok(Items {
                negated,
                values: strings(v, "Resource")?,
            })
        })
        .transpose()?;
    let mut conditions = BTreeSet::new();
    if let Some(block) = s.get("Condition") {
        let Value::Object(operators) = block else {
            return Err(shape("Condition is not an object"));
        };
        for (operator, keys) in operators {
            let Value::Object(keys) = keys else {
                return Err(shape(format!("Condition {operator} is not an object")));
            };
            for (key, values) in keys {
                conditions.insert(Cond {
                    operator: operator.clone(),
                    key: key.clone(),
                    values: strings(values, "Condition")?,
                });
            }
        }
    }
    Ok(Stmt {
        sid: s
            .get("Sid")
            .and_then(Value::as_str)
            .filter(|sid| !sid.is_empty())
            .map(String::from),
        effect,
        principals,
        actions,
        resources,
        conditions,
    })
}

impl Canonical {
    /// Parses a policy document as AWS returns it.
    pub fn from_json(document: &Value) -> Result<Canonical, ParseError> {
        let Value::Object(doc) = document else {
            return Err(shape("the document is not a JSON object"));
        };
        let statements = match doc.get("Statement") {
            Some(Value::Array(items)) => items.iter().map(statement).collect::<Result<_, _>>()?,
            Some(one @ Value::Object(_)) => vec![statement(one)?],
            Some(_) => return Err(shape("Statement is neither a list nor an object")),
            None => Vec::new(),
        };
        let mut canonical = Canonical {
            version: doc.get("Version").and_then(Value::as_str).map(String::from),
            statements,
        };
        canonical.sort();
        Ok(canonical)
    }

    /// Parses policy text; IAM returns documents URL-encoded, which is undone here.
    pub fn from_text(text: &str) -> Result<Canonical, ParseError> {
        let trimmed = text.trim_start();
        let decoded;
        let json = if trimmed.starts_with('{') {
            trimmed
        } else {
            decoded = percent_encoding::percent_decode_str(trimmed)
                .decode_utf8()
                .map_err(|e| ParseError::Json(e.to_string()))?
                .into_owned();
            decoded.as_str()
        };
        let value: Value =
            serde_json::from_str(json).map_err(|e| ParseError::Json(e.to_string()))?;
        Canonical::from_json(&value)
    }

    /// The model's document with its references resolved to live ARNs.
    pub fn from_document(document: &Document, resolve: &dyn Fn(&Term) -> String) -> Canonical {
        Canonical::from_json(&document.to_json_with(resolve))
            .expect("documents the model builds are well-formed policies")
    }

    /// Several documents read as one (a role's inline and attached policies).
    pub fn merged(documents: impl IntoIterator<Item = Canonical>) -> Canonical {
        let mut merged = Canonical {
            version: Some(super::VERSION.into()),
            statements: Vec::new(),
        };
        for d in documents {
            merged.statements.extend(d.statements);
        }
        merged.sort();
        merged
    }

    fn sort(&mut self) {
        let mut keyed: Vec<(String, Stmt)> = self
            .statements
            .drain(..)
            .map(|s| {
                let key = format!(
                    "{}\u{0}{}",
                    s.sid.clone().unwrap_or_default(),
                    statement_json(&s)
                );
                (key, s)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.0 == b.0);
        self.statements = keyed.into_iter().map(|(_, s)| s).collect();
    }

    /// The canonical JSON: sorted keys, lists as sorted arrays.
    pub fn to_json(&self) -> Value {
        let mut doc = Map::new();
        doc.insert(
            "Statement".into(),
            Value::Array(self.statements.iter().map(statement_json).collect()),
        );
        if let Some(version) = &self.version {
            doc.insert("Version".into(), Value::String(version.clone()));
        }
        Value::Object(doc)
    }

    pub fn pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.to_json()).expect("JSON");
        text.push('\n');
        text
    }

    /// Statements by Sid, for checks that look for a named statement.
    pub fn by_sid(&self) -> BTreeMap<&str, &Stmt> {
        self.statements
            .iter()
            .filter_map(|s| s.sid.as_deref().map(|sid| (sid, s)))
            .collect()
    }
}

fn list(values: &BTreeSet<String>) -> Value {
    Value::Array(values.iter().cloned().map(Value::String).collect())
}

/// One statement as canonical JSON (keys in sorted order: the map keeps insertion order).
fn statement_json(s: &Stmt) -> Value {
    let mut out = Map::new();
    let action_key = if s.actions.negated {
        "NotAction"
    } else {
        "Action"
    };
    let mut fields: Vec<(String, Value)> = vec![
        (action_key.into(), list(&s.actions.values)),
        ("Effect".into(), Value::String(s.effect.as_str().into())),
    ];
    if !s.conditions.is_empty() {
        let mut operators: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
        for c in &s.conditions {
            operators
                .entry(&c.operator)
                .or_default()
                .insert(c.key.clone(), list(&c.values));
        }
        let mut block = Map::new();
        for (operator, keys) in operators {
            let mut sorted: Vec<(String, Value)> = keys.into_iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            block.insert(operator.into(), Value::Object(sorted.into_iter().collect()));
        }
        fields.push(("Condition".into(), Value::Object(block)));
    }
    if let Some(p) = &s.principals {
        let key = if p.negated {
            "NotPrincipal"
        } else {
            "Principal"
        };
        let value = if p.ids.len() == 1 && p.ids.contains(&PrincipalId::Everyone) {
            Value::String("*".into())
        } else {
            let mut kinds: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
            for id in &p.ids {
                let (kind, name) = match id {
                    PrincipalId::Everyone => ("AWS", "*".to_string()),
                    PrincipalId::Aws(n) => ("AWS", n.clone()),
                    PrincipalId::Service(n) => ("Service", n.clone()),
                    PrincipalId::Federated(n) => ("Federated", n.clone()),
                    PrincipalId::CanonicalUser(n) => ("CanonicalUser", n.clone()),
                };
                kinds.entry(kind).or_default().insert(name);
            }
            Value::Object(
                kinds
                    .into_iter()
                    .map(|(k, v)| (k.into(), list(&v)))
                    .collect(),
            )
        };
        fields.push((key.into(), value));
    }
    if let Some(r) = &s.resources {
        let key = if r.negated { "NotResource" } else { "Resource" };
        fields.push((key.into(), list(&r.values)));
    }
    if let Some(sid) = &s.sid {
        fields.push(("Sid".into(), Value::String(sid.clone())));
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in fields {
        out.insert(k, v);
    }
    Value::Object(out)
}

/// A unified diff of two canonical documents (expected from the spec, actual from AWS);
/// empty when their canonical forms are identical.
pub fn unified_diff(expected: &Canonical, actual: &Canonical, name: &str) -> String {
    let (a, b) = (expected.pretty(), actual.pretty());
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("expected/{name} (spec)"),
            &format!("actual/{name} (live)"),
        )
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalises_shapes_case_and_order() {
        let written = json!({
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Principal": {"AWS": "111111111111"},
                "Action": "S3:getobject",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"Bool": {"aws:SecureTransport": true}}
            }
        });
        let c = Canonical::from_json(&written).unwrap();
        assert_eq!(
            c.to_json(),
            json!({"Statement": [{
                "Action": ["s3:GetObject"],
                "Condition": {"Bool": {"aws:SecureTransport": ["true"]}},
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::111111111111:root"]},
                "Resource": ["arn:aws:s3:::b/*"]
            }], "Version": "2012-10-17"})
        );
        let star = Canonical::from_json(&json!({"Statement": [
            {"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": "s3:*", "Resource": "*"}
        ]}))
        .unwrap();
        assert_eq!(star.to_json()["Statement"][0]["Principal"], json!("*"));
    }

    #[test]
    fn url_encoded_documents_are_read() {
        let c = Canonical::from_text(
            "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
        )
        .unwrap();
        assert_eq!(
            c.statements[0].actions.values.first().unwrap(),
            "sts:AssumeRole"
        );
        assert!(Canonical::from_text("not json").is_err());
        assert!(
            Canonical::from_text(r#"{"Statement":[{"Effect":"Maybe","Action":"x"}]}"#).is_err()
        );
    }

    #[test]
    fn diff_shows_the_changed_statement_only() {
        let expected = Canonical::from_json(&json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}
        ]}))
        .unwrap();
        let mut actual = expected.clone();
        assert_eq!(unified_diff(&expected, &actual, "p"), "");
        actual = Canonical::merged([
            actual,
            Canonical::from_json(&json!({"Statement": [
                {"Sid": "Creep", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
            ]}))
            .unwrap(),
        ]);
        let diff = unified_diff(&expected, &actual, "p");
        assert!(diff.contains("+      \"Sid\": \"Creep\""), "{diff}");
        assert!(diff.contains("+        \"s3:*\""), "{diff}");
        assert!(
            !diff
                .lines()
                .any(|l| l.starts_with('-') && !l.starts_with("---")),
            "nothing removed:\n{diff}"
        );
    }

    #[test]
    fn every_principal_type_is_read_and_described() {
        let c = Canonical::from_json(&json!({"Statement": {
            "Effect": "Allow",
            "Principal": {
                "AWS": ["arn:aws:iam::1:role/r", "222222222222"],
                "Service": "s3.amazonaws.com",
                "Federated": "cognito-identity.amazonaws.com",
                "CanonicalUser": "79a59df900b949e5"
            },
            "Action": "sts:AssumeRole"
        }}))
        .unwrap();
        let described: Vec<String> = c.statements[0]
            .principals
            .as_ref()
            .unwrap()
            .ids
            .iter()
            .map(PrincipalId::describe)
            .collect();
        assert_eq!(
            described,
            [
                "arn:aws:iam::1:role/r",
                "arn:aws:iam::222222222222:root",
                "service s3.amazonaws.com",
                "federated cognito-identity.amazonaws.com",
                "canonical user 79a59df900b949e5",
            ]
        );
        assert_eq!(PrincipalId::Everyone.describe(), "*");
        // The canonical JSON keeps each type under its own key.
        assert_eq!(
            c.to_json()["Statement"][0]["Principal"],
            json!({
                "AWS": ["arn:aws:iam::1:role/r", "arn:aws:iam::222222222222:root"],
                "CanonicalUser": ["79a59df900b949e5"],
                "Federated": ["cognito-identity.amazonaws.com"],
                "Service": ["s3.amazonaws.com"]
            })
        );
        // Only `*` may stand as a bare string; other types are refused, not guessed.
        for principal in [json!("arn:aws:iam::1:root"), json!({"Group": "g"})] {
            let doc = json!({"Statement": {"Effect": "Allow", "Principal": principal,
                "Action": "s3:GetObject"}});
            assert!(
                matches!(Canonical::from_json(&doc), Err(ParseError::Shape(_))),
                "{doc}"
            );
        }
    }

    #[test]
    fn statement_order_and_repeats_do_not_matter() {
        let a = json!({"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
        let b = json!({"Sid": "B", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"});
        let one = Canonical::from_json(&json!({"Statement": [a, b]})).unwrap();
        let other = Canonical::from_json(&json!({"Statement": [b, a, b]})).unwrap();
        assert_eq!(one, other);
        assert_eq!(
            other
                .statements
                .iter()
                .map(|s| s.sid.as_deref().unwrap())
                .collect::<Vec<_>>(),
            ["A", "B"]
        );
        let by_sid = other.by_sid();
        assert_eq!(by_sid.keys().copied().collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(by_sid["B"].effect, Effect::Deny);
    }
}
