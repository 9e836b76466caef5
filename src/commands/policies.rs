//! `s3bridge policies SPEC`: every policy document the bundle will create, for review
//! before apply. The text form is for reviewers: per document, a table of who (principal)
//! may do what (actions) on what (resources) under which conditions, and what each
//! placeholder ARN stands for. `--format json` prints the documents as AWS stores them
//! (for linters such as parliament). With `--auditor`, the read-only policy `s3bridge
//! audit` needs in each account instead.

use anyhow::Result;
use serde_json::json;

use super::{load_spec, Status};
use crate::cli::{PoliciesArgs, TextOrJson};
use crate::policy::{Kind, NamedDocument, Principal, Reference, Statement, Term};
use crate::{errln, outln};

pub fn run(args: &PoliciesArgs) -> Result<Status> {
    let loaded = load_spec(&args.spec)?;
    let desired = crate::model::build(&loaded.spec);
    if args.auditor && loaded.spec.auditors.is_empty() {
        errln!(
            "note: KMS also checks the key policy; keys s3bridge creates let only their administrators \
             (kms_admins and terraform_role) and the spec's `auditors` read them: list the role that runs \
             audit under `auditors:`, or kms:DescribeKey will be denied to it"
        );
    }
    if args.auditor {
        if args.object_status {
            eprintln!(
                "note: with --object-status the policy allows s3:GetObject on the replicating buckets' objects \
                 (HEAD needs it): the auditor can then download any object that is not encrypted with a KMS key, \
                 or whose key it may use"
            );
        } else {
            eprintln!(
                "note: this policy reads no object, so an auditor holding it cannot download data; \
                 `s3bridge audit --object-status` also reads recent objects' replication status and needs \
                 s3:GetObject: print that policy with --auditor --object-status"
            );
        }
    }
    let scope = crate::audit::reads::Scope {
        object_status: args.object_status,
    };
    let documents = if args.auditor {
        crate::audit::reads::auditor_policies(&desired, scope)
            .into_iter()
            .map(|(account, document)| NamedDocument {
                name: format!("{}-auditor/audit-read-only", desired.name),
                kind: Kind::Iam,
                account,
                attached_to: None,
                document,
            })
            .collect()
    } else {
        desired.documents()
    };
    match args.format {
        TextOrJson::Json => {
            let out: Vec<_> = documents
                .iter()
                .map(|d| json!({"name": d.name, "kind": d.kind.as_str(), "account": d.account, "attached_to": d.attached_to, "document": d.document.to_json()}))
                .collect();
            outln!("{}", serde_json::to_string_pretty(&out)?)?;
        }
        TextOrJson::Text => crate::out!("{}", review(&documents))?,
    }
    Ok(Status::Success)
}

/// What a document is, in words.
fn title(document: &NamedDocument) -> String {
    let (owner, _) = document
        .name
        .split_once('/')
        .unwrap_or((&document.name, ""));
    let what = match document.kind {
        Kind::Iam => format!("identity policy of role {owner}"),
        Kind::Trust => format!("trust policy of role {owner} (who may assume it)"),
        Kind::Bucket => format!("bucket policy of {owner}"),
        Kind::Key => format!("key policy of {owner}"),
        Kind::Topic => format!("SNS topic policy of {owner}"),
    };
    format!("{} — {what}, account {}", document.name, document.account)
}

fn principal_cell(document: &NamedDocument, statement: &Statement) -> Vec<String> {
    let owner = document.name.split('/').next().unwrap_or_default();
    match &statement.principal {
        None => vec![format!("role {owner}")],
        Some(Principal::Everyone) => vec!["everyone (*)".to_string()],
        Some(Principal::Aws(terms)) => terms.iter().map(|t| t.as_str().to_string()).collect(),
        Some(Principal::Service(names)) => names.iter().map(|n| format!("service {n}")).collect(),
    }
}

fn resources_cell(document: &NamedDocument, statement: &Statement) -> Vec<String> {
    if statement.resources.is_empty() && document.kind == Kind::Trust {
        let owner = document.name.split('/').next().unwrap_or_default();
        return vec![format!("role {owner}")];
    }
    statement
        .resources
        .iter()
        .map(|t| match (t.as_str(), document.kind) {
            // In a key policy, "*" is the key the policy is attached to.
            ("*", Kind::Key) => "* (this key)".to_string(),
            (text, _) => text.to_string(),
        })
        .collect()
}

fn conditions_cell(statement: &Statement) -> Vec<String> {
    if statement.conditions.is_empty() {
        return vec!["-".to_string()];
    }
    statement
        .conditions
        .iter()
        .map(|c| {
            let values: Vec<&str> = c.values.iter().map(Term::as_str).collect();
            let any_of = if values.len() > 1 { "any of " } else { "" };
            format!("{} {} = {any_of}{}", c.operator, c.key, values.join(", "))
        })
        .collect()
}

/// The reviewer's form: a table per document, then the placeholders explained.
fn review(documents: &[NamedDocument]) -> String {
    let mut out = String::new();
    let mut placeholders: Vec<&Reference> = Vec::new();
    for document in documents {
        out.push_str(&format!("== {}\n", title(document)));
        let rows: Vec<Vec<Vec<String>>> = document
            .document
            .statements
            .iter()
            .map(|s| {
                vec![
                    vec![s.sid.clone(), s.effect.as_str().to_string()],
                    principal_cell(document, s),
                    s.actions.clone(),
                    resources_cell(document, s),
                    conditions_cell(s),
                ]
            })
            .collect();
        out.push_str(&crate::report::table(
            &[
                "STATEMENT",
                "PRINCIPAL",
                "ACTIONS",
                "RESOURCES",
                "CONDITIONS",
            ],
            &rows,
        ));
        out.push('\n');
        for reference in document.document.references() {
            if !reference.known && !placeholders.contains(&reference) {
                placeholders.push(reference);
            }
        }
    }
    if !placeholders.is_empty() {
        out.push_str("Placeholders (known only once `terraform apply` has created them):\n");
        for reference in placeholders {
            out.push_str(&format!(
                "  {}\n    {}\n",
                reference.text,
                placeholder_meaning(reference)
            ));
        }
    }
    out
}

/// What a placeholder stands for and where its real value shows up.
fn placeholder_meaning(reference: &Reference) -> String {
    match reference.module.strip_suffix("_key") {
        Some(side) if reference.output == "arn" => format!(
            "the KMS key the bundle creates for the {side} bucket ({}); after apply, \
             `terraform output -raw {side}_kms_key_arn` prints it",
            reference.terraform()
        ),
        _ => format!(
            "the value of {} once Terraform has created it",
            reference.terraform()
        ),
    }
}
