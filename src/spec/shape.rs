//! The shape of a spec, checked against its JSON Schema (the one `s3bridge schema`
//! prints, derived from the spec types): every unknown key, wrong type, scalar where a
//! list belongs, value outside an enum and missing required key, all in one pass, each
//! with its `file:line:col`.
//!
//! Typing with serde (`de`) stops at the first problem, so a spec with six mistakes
//! would take six runs to fix. This walk reports them all; serde then only runs on a
//! spec whose shape is right. It reads scalars the way `de` does (YAML 1.2 core schema:
//! `true`/`false` only, a quoted scalar is always a string, a plain number may be a
//! string), so the two never disagree.

use serde_json::{Map, Value};

use super::de::closest;
use super::yaml::{join, scalar_text, Node, NodeKind};
use super::Diagnostic;

/// Every shape problem of `root` against `schema` (a schemars JSON Schema with `$defs`).
pub fn check(root: &Node, schema: &Value, file: &str) -> Vec<Diagnostic> {
    let empty = Map::new();
    let mut walker = Walker {
        defs: schema
            .get("$defs")
            .and_then(Value::as_object)
            .unwrap_or(&empty),
        file,
        found: Vec::new(),
    };
    walker.walk(root, schema, "");
    walker.found
}

struct Walker<'a> {
    defs: &'a Map<String, Value>,
    file: &'a str,
    found: Vec<Diagnostic>,
}

/// The JSON types a schema allows (`"type": "x"` or `"type": ["x", "null"]`).
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn plain_scalar(node: &Node) -> Option<&str> {
    match &node.kind {
        NodeKind::Scalar { text, plain: true } => Some(text),
        _ => None,
    }
}

/// How a node reads in a message: its text for a scalar, else what it is.
fn found(node: &Node) -> String {
    match &node.kind {
        NodeKind::Scalar { text, plain } if !node.is_null() => {
            if *plain {
                format!("`{text}`")
            } else {
                format!("`\"{text}\"` (quoted, so a string)")
            }
        }
        _ => node.describe().to_string(),
    }
}

impl<'a> Walker<'a> {
    fn error(&mut self, node: &Node, path: &str, message: String, hint: Option<String>) {
        self.found
            .push(Diagnostic::error(self.file, node.pos, path, message, hint));
    }

    fn resolve(&self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/$defs/");
            match self.defs.get(name) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn walk(&mut self, node: &Node, schema: &'a Value, path: &str) {
        let schema = self.resolve(schema);
        if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
            self.any_of(node, alternatives, path);
            return;
        }
        let types = types(schema);
        if node.is_null() && types.contains(&"null") {
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            self.one_of(node, allowed, path);
            return;
        }
        if let Some(constant) = schema.get("const").and_then(Value::as_str) {
            if node.is_null() || scalar_text(node) != constant {
                self.error(
                    node,
                    path,
                    format!("expected `{constant}`, found {}", found(node)),
                    None,
                );
            }
            return;
        }
        match types.iter().find(|t| **t != "null").copied() {
            Some("object") => self.object(node, schema, path),
            Some("array") => self.array(node, schema, path),
            Some("string") if !matches!(node.kind, NodeKind::Scalar { .. }) || node.is_null() => {
                self.error(
                    node,
                    path,
                    format!("expected a string, found {}", found(node)),
                    None,
                );
            }
            Some("boolean") => self.boolean(node, path),
            Some("integer") => self.integer(node, schema, path),
            _ => {}
        }
    }

    /// `Option<T>` is `anyOf [T, null]`; other alternatives pass if any one does.
    fn any_of(&mut self, node: &Node, alternatives: &'a [Value], path: &str) {
        let resolved: Vec<&'a Value> = alternatives.iter().map(|a| self.resolve(a)).collect();
        let allows_null = resolved.iter().any(|a| types(a) == ["null"]);
        if node.is_null() && allows_null {
            return;
        }
        let others: Vec<&'a Value> = resolved
            .into_iter()
            .filter(|a| types(a) != ["null"])
            .collect();
        // Report the first alternative's problems when none fits.
        let mut first_problems: Option<Vec<Diagnostic>> = None;
        for alternative in others {
            let before = self.found.len();
            self.walk(node, alternative, path);
            if self.found.len() == before {
                return;
            }
            let problems = self.found.split_off(before);
            first_problems.get_or_insert(problems);
        }
        self.found.extend(first_problems.unwrap_or_default());
    }

    fn one_of(&mut self, node: &Node, allowed: &[Value], path: &str) {
        let words: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
        let text = match &node.kind {
            NodeKind::Scalar { text, .. } if !node.is_null() => text.as_str(),
            _ => {
                self.error(
                    node,
                    path,
                    format!("expected one of the listed words, found {}", found(node)),
                    Some(format!("expected one of: {}", words.join(", "))),
                );
                return;
            }
        };
        if words.contains(&text) {
            return;
        }
        let hint = match closest(text, &words) {
            Some(best) => format!(
                "did you mean `{best}`? (expected one of: {})",
                words.join(", ")
            ),
            None => format!("expected one of: {}", words.join(", ")),
        };
        self.error(
            node,
            path,
            format!("`{text}` is not a valid value"),
            Some(hint),
        );
    }

    fn object(&mut self, node: &Node, schema: &'a Value, path: &str) {
        let NodeKind::Map(entries) = &node.kind else {
            self.error(
                node,
                path,
                format!("expected a mapping, found {}", found(node)),
                Some("write `key: value` lines, indented under this one".into()),
            );
            return;
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let known: Vec<&str> = properties
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for (key, value) in entries {
            let name = scalar_text(key);
            let child = join(path, name);
            match (properties.and_then(|p| p.get(name)), additional) {
                (Some(property), _) => self.walk(value, property, &child),
                (None, Some(additional @ Value::Object(_))) => self.walk(value, additional, &child),
                // Free-form mappings (a kept policy statement): any key.
                (None, Some(Value::Bool(true))) => {}
                (None, _) => {
                    let hint = match closest(name, &known) {
                        Some(best) => format!(
                            "did you mean `{best}`? (expected one of: {})",
                            known.join(", ")
                        ),
                        None => format!("expected one of: {}", known.join(", ")),
                    };
                    self.error(key, &child, format!("unknown key `{name}`"), Some(hint));
                }
            }
        }
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>())
            .unwrap_or_default();
        for field in required {
            if !entries.iter().any(|(key, _)| scalar_text(key) == field) {
                self.error(
                    node,
                    &join(path, field),
                    format!("missing required key `{field}`"),
                    Some(format!(
                        "add `{field}:` here (`s3bridge schema` describes every field)"
                    )),
                );
            }
        }
    }

    fn array(&mut self, node: &Node, schema: &'a Value, path: &str) {
        let NodeKind::Seq(items) = &node.kind else {
            let hint = match &node.kind {
                NodeKind::Scalar { .. } if !node.is_null() => {
                    format!(
                        "write a list, one `- item` per line (or `[{}]`)",
                        scalar_text(node)
                    )
                }
                _ => "write a list, one `- item` per line".to_string(),
            };
            self.error(
                node,
                path,
                format!("expected a list, found {}", found(node)),
                Some(hint),
            );
            return;
        };
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.walk(item, item_schema, &format!("{path}[{i}]"));
            }
        }
    }

    fn boolean(&mut self, node: &Node, path: &str) {
        if matches!(plain_scalar(node), Some("true" | "false")) {
            return;
        }
        let hint = match &node.kind {
            NodeKind::Scalar { text, plain: false } if text == "true" || text == "false" => {
                Some(format!("remove the quotes: `{text}`"))
            }
            NodeKind::Scalar { text, plain: true }
                if matches!(
                    text.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                ) =>
            {
                Some("YAML 1.2 booleans are only `true` and `false`".into())
            }
            _ => None,
        };
        self.error(
            node,
            path,
            format!("expected true or false, found {}", found(node)),
            hint,
        );
    }

    fn integer(&mut self, node: &Node, schema: &Value, path: &str) {
        let limit = match schema.get("format").and_then(Value::as_str) {
            Some("uint32") => u64::from(u32::MAX),
            _ => u64::MAX,
        };
        match plain_scalar(node).map(str::parse::<u64>) {
            Some(Ok(n)) if n <= limit => {}
            _ => {
                let hint = match &node.kind {
                    NodeKind::Scalar { text, plain: false } if text.parse::<u64>().is_ok() => {
                        Some(format!("remove the quotes: `{text}`"))
                    }
                    _ => None,
                };
                self.error(
                    node,
                    path,
                    format!("expected a whole number, found {}", found(node)),
                    hint,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::yaml::parse;
    use crate::spec::Spec;

    fn problems(text: &str) -> Vec<(usize, usize, String, String)> {
        let root = parse(text).unwrap().unwrap();
        check(&root, &Spec::json_schema(), "spec.yaml")
            .into_iter()
            .map(|d| (d.line, d.col, d.field, d.message))
            .collect()
    }

    #[test]
    fn every_kind_of_shape_problem_is_reported_at_once() {
        let found = problems(
            "version: 1\nname: x\nsource:\n  bucket: a\n  region: eu-west-1\n  existing: \"true\"\n  kms_admins: arn:aws:iam::1:role/a\n  colour: red\ncopy_role:\n  name: c\n  account: sauce\n  trusted_principals: []\nreplication:\n  rules:\n    - id: r\n      priority: high\n",
        );
        let messages: Vec<&str> = found.iter().map(|f| f.3.as_str()).collect();
        assert_eq!(
            messages,
            [
                "expected true or false, found `\"true\"` (quoted, so a string)",
                "expected a list, found `arn:aws:iam::1:role/a`",
                "unknown key `colour`",
                "missing required key `account_id`",
                "`sauce` is not a valid value",
                "expected a whole number, found `high`",
                "missing required key `destination`",
            ],
            "{found:#?}"
        );
        assert_eq!((found[0].0, found[0].1), (6, 13));
        assert_eq!(found[0].2, "source.existing");
        assert_eq!(found[3].2, "source.account_id");
    }

    #[test]
    fn a_valid_shape_has_no_problems() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs/example.yaml"),
        )
        .unwrap();
        assert_eq!(problems(&text), []);
    }

    #[test]
    fn options_and_nulls() {
        let found = problems("version: 1\nname: x\nsource: {bucket: a, account_id: \"1\", region: r, kms_alias: ~, existing_config: [versionin]}\ndestination: {bucket: b, account_id: \"2\", region: r}\ncopy_role: {name: c, account: source, trusted_principals: []}\nreplication: {rules: [{id: r, storage_class: ~}, {id: s, storage_class: GLACIER}]}\n");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].3, "`versionin` is not a valid value");
    }
}
