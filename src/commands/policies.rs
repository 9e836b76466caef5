//! `s3bridge policies SPEC`: every policy document the bundle will create, for review
//! before apply (and for linters such as parliament). With `--auditor`, the read-only
//! policy `s3bridge audit` needs in each account instead.

use anyhow::Result;
use serde_json::json;

use super::{load_spec, Status};
use crate::cli::{PoliciesArgs, TextOrJson};
use crate::policy::{Kind, NamedDocument};

pub fn run(args: &PoliciesArgs) -> Result<Status> {
    let loaded = match load_spec(&args.spec)? {
        Ok(loaded) => loaded,
        Err(status) => return Ok(status),
    };
    let desired = crate::model::build(&loaded.spec);
    if args.auditor && loaded.spec.auditors.is_empty() {
        eprintln!(
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
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        TextOrJson::Text => {
            for d in &documents {
                println!(
                    "# {} ({} policy, account {})",
                    d.name,
                    d.kind.as_str(),
                    d.account
                );
                println!("{}\n", serde_json::to_string_pretty(&d.document.to_json())?);
            }
        }
    }
    Ok(Status::Success)
}
