//! The comparisons: desired state (`model`) against live state (`live`), one module per
//! group of properties. Each check registers itself (a JUnit test case) and adds a
//! finding per drift, with a stable id, severity, expected, actual, message, remediation
//! and, for policies, the diff of the canonical documents.

mod buckets;
mod keys;
mod replication;
mod roles;

use std::collections::BTreeMap;

use super::live::Live;
use super::{Check, Finding, Property, Severity};
use crate::model::Desired;
use crate::policy::canonical::{unified_diff, Canonical};
use crate::policy::{Document, Term};
use crate::spec::Side;

/// What every remediation that Terraform can fix starts with.
pub(super) const APPLY: &str =
    "run `terraform plan` then `terraform apply` in the bundle `s3bridge generate` wrote (it manages this setting)";

/// One drift, before it is tied to its check.
pub(super) struct Drift {
    /// Short stable name of the kind of drift (`not-enabled`, `excess`).
    pub code: String,
    pub severity: Severity,
    pub expected: String,
    pub actual: String,
    pub message: String,
    pub remediation: String,
    pub diff: Option<String>,
}

impl Default for Drift {
    fn default() -> Drift {
        Drift {
            code: String::new(),
            severity: Severity::High,
            expected: String::new(),
            actual: String::new(),
            message: String::new(),
            remediation: APPLY.into(),
            diff: None,
        }
    }
}

/// One property being checked on one resource.
#[derive(Debug, Clone)]
pub(super) struct Subject {
    pub property: Property,
    /// The resource's ARN.
    pub resource: String,
    /// A short stable name for finding ids (bucket, role or alias name).
    pub name: String,
    pub spec_field: String,
}

pub(super) struct Ctx<'a> {
    pub desired: &'a Desired,
    pub live: &'a Live,
    /// Created keys' live ARNs by the model's reference module (`source_key`).
    keys: BTreeMap<String, String>,
    checks: Vec<Check>,
    findings: Vec<Finding>,
}

impl<'a> Ctx<'a> {
    /// A term as it should read live: placeholders of created keys become the ARN of the
    /// key behind the alias the model names.
    pub fn resolve(&self, term: &Term) -> String {
        match term {
            Term::Ref(r) if !r.known => self
                .keys
                .get(&r.module)
                .cloned()
                .unwrap_or_else(|| r.text.clone()),
            other => other.as_str().to_string(),
        }
    }

    pub fn canonical(&self, document: &Document) -> Canonical {
        Canonical::from_document(document, &|t| self.resolve(t))
    }

    /// Registers a check (a JUnit case) and returns its subject.
    pub fn check(
        &mut self,
        property: Property,
        resource: &str,
        name: &str,
        spec_field: &str,
    ) -> Subject {
        self.checks.push(Check {
            property,
            resource: resource.to_string(),
            spec_field: spec_field.to_string(),
        });
        Subject {
            property,
            resource: resource.to_string(),
            name: name.to_string(),
            spec_field: spec_field.to_string(),
        }
    }

    pub fn add(&mut self, subject: &Subject, drift: Drift) {
        self.findings.push(Finding {
            id: format!("{}/{}/{}", subject.property, drift.code, subject.name),
            severity: drift.severity,
            property: subject.property,
            resource: subject.resource.clone(),
            expected: drift.expected,
            actual: drift.actual,
            message: drift.message,
            remediation: drift.remediation,
            diff: drift.diff,
            spec_field: subject.spec_field.clone(),
        });
    }
}

/// The diff of two canonical documents, or None when they read the same.
pub(super) fn diff(expected: &Canonical, actual: &Canonical, name: &str) -> Option<String> {
    Some(unified_diff(expected, actual, name)).filter(|d| !d.is_empty())
}

/// The spec field of a side's setting, e.g. `source.bucket`.
pub(super) fn field(side: Side, name: &str) -> String {
    format!("{side}.{name}")
}

/// `a, b and 3 more` for messages.
pub(super) fn list_some(items: &[String], shown: usize) -> String {
    if items.len() <= shown {
        items.join(", ")
    } else {
        format!(
            "{} and {} more",
            items[..shown].join(", "),
            items.len() - shown
        )
    }
}

pub(super) fn run(desired: &Desired, live: &Live) -> (Vec<Check>, Vec<Finding>) {
    let mut keys = BTreeMap::new();
    for side in [Side::Source, Side::Destination] {
        let side_live = live.side(side);
        if let (Some(module), Some(metadata)) =
            (&side_live.targets.key.module, &side_live.key.metadata)
        {
            keys.insert(module.clone(), metadata.arn.clone());
        }
    }
    let mut ctx = Ctx {
        desired,
        live,
        keys,
        checks: Vec::new(),
        findings: Vec::new(),
    };
    for side in [Side::Source, Side::Destination] {
        buckets::check(&mut ctx, side);
        keys::check(&mut ctx, side);
    }
    roles::check(&mut ctx);
    replication::check(&mut ctx);
    (ctx.checks, ctx.findings)
}
