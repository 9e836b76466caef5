//! IAM policy documents as data: identity policies, trust policies, bucket policies and
//! key policies are all built from these types by `model`, then rendered as JSON (for
//! `s3bridge policies` and for audit) or as HCL (for the generated Terraform).
//!
//! Some ARNs are only known after Terraform creates the resource (a new KMS key) or must
//! be referenced through Terraform so resources are created in the right order (a role
//! that a key policy names must exist first). Those are `Term::Ref`: they print as the
//! literal ARN or a placeholder in JSON, and as a module-output reference in HCL.
//!
//! Reading policies back (audit): `canonical` parses any policy JSON into one normal form
//! (the diffs reviewers read), `catalog` knows every IAM action of the services involved
//! (generated data), and `semantic` compares two documents by what they grant.

pub mod actions;
pub mod canonical;
pub mod catalog;
pub mod semantic;

use serde_json::{json, Map, Value};

/// The only policy language version AWS supports for these documents.
pub const VERSION: &str = "2012-10-17";

/// A string in a policy: a literal, or a reference to something Terraform creates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Term {
    Text(String),
    Ref(Reference),
}

/// Something a policy names before it exists, or whose creation must come first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// The ARN when it is known from the spec (role ARNs are), else a placeholder in the
    /// shape of the real ARN (a new key's id is not known before apply).
    pub text: String,
    /// False when `text` is a placeholder to be resolved against live state.
    pub known: bool,
    /// The Terraform module whose output yields the value, e.g. `source_key`.
    pub module: String,
    /// That module's output, e.g. `arn`.
    pub output: String,
}

impl Reference {
    /// The Terraform expression, e.g. `module.source_key.arn`.
    pub fn terraform(&self) -> String {
        format!("module.{}.{}", self.module, self.output)
    }
}

impl Term {
    pub fn text(value: impl Into<String>) -> Term {
        Term::Text(value.into())
    }

    /// The value as JSON shows it (known ARN or placeholder).
    pub fn as_str(&self) -> &str {
        match self {
            Term::Text(s) => s,
            Term::Ref(r) => &r.text,
        }
    }
}

impl From<&str> for Term {
    fn from(s: &str) -> Term {
        Term::Text(s.to_string())
    }
}

impl From<String> for Term {
    fn from(s: String) -> Term {
        Term::Text(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// Who a resource policy or trust policy applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// `"*"`: only used in Deny statements, which must catch everyone.
    Everyone,
    /// IAM roles or users, by ARN.
    Aws(Vec<Term>),
    /// AWS service principals, e.g. `s3.amazonaws.com`.
    Service(Vec<String>),
}

/// One condition: `operator` → `key` → values, e.g. StringEquals kms:ViaService.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<Term>,
}

impl Condition {
    pub fn new(operator: &str, key: &str, values: Vec<Term>) -> Condition {
        Condition {
            operator: operator.into(),
            key: key.into(),
            values,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    /// None for identity policies (attached to a role).
    pub principal: Option<Principal>,
    pub actions: Vec<String>,
    pub resources: Vec<Term>,
    pub conditions: Vec<Condition>,
}

impl Statement {
    pub fn allow(sid: &str) -> Statement {
        Statement {
            sid: sid.into(),
            effect: Effect::Allow,
            principal: None,
            actions: Vec::new(),
            resources: Vec::new(),
            conditions: Vec::new(),
        }
    }

    pub fn deny(sid: &str) -> Statement {
        Statement {
            effect: Effect::Deny,
            ..Statement::allow(sid)
        }
    }

    pub fn principal(mut self, principal: Principal) -> Statement {
        self.principal = Some(principal);
        self
    }

    pub fn actions(mut self, actions: &[&str]) -> Statement {
        self.actions.extend(actions.iter().map(|a| a.to_string()));
        self
    }

    pub fn resources<T: Into<Term>>(mut self, resources: impl IntoIterator<Item = T>) -> Statement {
        self.resources.extend(resources.into_iter().map(Into::into));
        self
    }

    pub fn condition(mut self, operator: &str, key: &str, values: Vec<Term>) -> Statement {
        self.conditions.push(Condition::new(operator, key, values));
        self
    }
}

/// What a document is, which decides how it is attached and reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An identity policy on a role.
    Iam,
    /// A role's trust (assume-role) policy.
    Trust,
    Bucket,
    Key,
    /// An SNS topic policy.
    Topic,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Iam => "iam",
            Kind::Trust => "trust",
            Kind::Bucket => "bucket",
            Kind::Key => "key",
            Kind::Topic => "topic",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub statements: Vec<Statement>,
}

impl Document {
    pub fn new(statements: Vec<Statement>) -> Document {
        Document { statements }
    }

    /// JSON as AWS stores it, with references shown by their ARN or placeholder.
    pub fn to_json(&self) -> Value {
        self.to_json_with(&|term| term.as_str().to_string())
    }

    /// JSON with references resolved by `resolve` (audit maps placeholders to live ARNs).
    pub fn to_json_with(&self, resolve: &dyn Fn(&Term) -> String) -> Value {
        let statements: Vec<Value> = self
            .statements
            .iter()
            .map(|s| statement_json(s, resolve))
            .collect();
        json!({"Version": VERSION, "Statement": statements})
    }

    /// Every reference in the document, for callers that must resolve them first.
    pub fn references(&self) -> Vec<&Reference> {
        let mut refs: Vec<&Reference> = Vec::new();
        for s in &self.statements {
            let principals = match &s.principal {
                Some(Principal::Aws(terms)) => terms.as_slice(),
                _ => &[],
            };
            let terms = principals
                .iter()
                .chain(&s.resources)
                .chain(s.conditions.iter().flat_map(|c| &c.values));
            for term in terms {
                if let Term::Ref(r) = term {
                    if !refs.contains(&r) {
                        refs.push(r);
                    }
                }
            }
        }
        refs
    }
}

fn statement_json(s: &Statement, resolve: &dyn Fn(&Term) -> String) -> Value {
    let strings = |terms: &[Term]| -> Value {
        Value::Array(terms.iter().map(|t| Value::String(resolve(t))).collect())
    };
    let mut out = Map::new();
    out.insert("Sid".into(), json!(s.sid));
    out.insert("Effect".into(), json!(s.effect.as_str()));
    if let Some(principal) = &s.principal {
        out.insert(
            "Principal".into(),
            match principal {
                Principal::Everyone => json!("*"),
                Principal::Aws(terms) => json!({"AWS": strings(terms)}),
                Principal::Service(names) => json!({"Service": names}),
            },
        );
    }
    out.insert("Action".into(), json!(s.actions));
    // Trust policies have no Resource: the role itself is the resource.
    if !s.resources.is_empty() {
        out.insert("Resource".into(), strings(&s.resources));
    }
    if !s.conditions.is_empty() {
        let mut operators = Map::new();
        for c in &s.conditions {
            let keys = operators
                .entry(c.operator.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(keys) = keys {
                keys.insert(c.key.clone(), strings(&c.values));
            }
        }
        out.insert("Condition".into(), Value::Object(operators));
    }
    Value::Object(out)
}

/// A named document as `s3bridge policies` lists it.
#[derive(Debug, Clone)]
pub struct NamedDocument {
    /// Stable name: `<role>/<policy>` for identity policies, `<role>/trust`,
    /// `<bucket>/bucket-policy`, `<alias>/key-policy`.
    pub name: String,
    pub kind: Kind,
    /// The account whose resource holds the document.
    pub account: String,
    /// The ARN of what the document is attached to (role, bucket or key; a created key's
    /// ARN is its placeholder until apply); None for a policy the user attaches.
    pub attached_to: Option<String>,
    pub document: Document,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_matches_aws() {
        let doc = Document::new(vec![Statement::allow("Read")
            .actions(&["s3:GetObject"])
            .resources(["arn:aws:s3:::b/*"])
            .condition(
                "StringEquals",
                "kms:ViaService",
                vec!["s3.us-east-1.amazonaws.com".into()],
            )]);
        assert_eq!(
            doc.to_json(),
            json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::b/*"],
                "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}}
            }]})
        );
    }
}
