//! Every permission proven by an independent IAM evaluator. For each fixture spec, the
//! request catalogue (`s3bridge::model::requests`, the permission model: every request
//! each flow makes, with the context AWS sets) is evaluated with
//! `@cloud-copilot/iam-simulate` (tests/iam, installed by scripts/setup) against the
//! documents `s3bridge policies SPEC --format json` prints: every required request must
//! be Allowed, every must-deny request Denied, no request may be malformed or lose a
//! context key. Negative controls prove the evaluator bites: with one statement removed
//! the request it authorises is refused, and with the TLS deny removed plain HTTP passes.
//! docs/permissions.md is the catalogue rendered for the example spec
//! (`S3BRIDGE_UPDATE_GOLDEN=1` or scripts/update-golden rewrites it).

mod support;

use std::path::Path;

use s3bridge::model::requests::{catalogue, Caller, Expect, Request};
use serde_json::Value;
use support::{repo, stderr, stdout};

fn policies(spec: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["policies", spec.to_str().unwrap(), "--format", "json"];
    args.extend(extra);
    let out = support::s3bridge(&args);
    assert!(out.status.success(), "policies {spec:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn requests_of(spec_path: &Path) -> Vec<Request> {
    let loaded = s3bridge::spec::load(spec_path).expect("fixture specs are valid");
    let desired = s3bridge::model::build(&loaded.spec);
    catalogue(&loaded.spec, &desired)
}

/// Runs the evaluator over `requests` with `documents`; one decision per request.
fn evaluate(documents: &Value, auditor: &Value, requests: &[Request]) -> Vec<Value> {
    support::iam::evaluate(documents, auditor, &serde_json::to_value(requests).unwrap())
}

fn describe(r: &Request) -> String {
    format!(
        "[{}] {}: {} {} on {} ({:?}, context {:?})",
        r.flow, r.step, r.principal, r.action, r.resource, r.caller, r.context
    )
}

/// The requests whose decision differs from what the catalogue expects.
fn wrong(requests: &[Request], results: &[Value]) -> Vec<String> {
    requests
        .iter()
        .zip(results)
        .filter_map(|(r, result)| {
            let decision = result["decision"].as_str().unwrap_or("Error");
            let ignored = result["detail"]["ignoredContextKeys"]
                .as_array()
                .map(|a| !a.is_empty())
                .unwrap_or(false);
            let ok = match r.expect {
                Expect::Allow => decision == "Allowed",
                Expect::Deny => decision == "ExplicitlyDenied" || decision == "ImplicitlyDenied",
            };
            (!ok || ignored).then(|| format!("{} → {decision} {}", describe(r), result["detail"]))
        })
        .collect()
}

fn fixture_specs() -> Vec<std::path::PathBuf> {
    let mut specs: Vec<_> = std::fs::read_dir(repo().join("fixtures/specs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    specs.sort();
    specs
}

#[test]
fn every_documented_request_is_decided_as_aws_would() {
    let specs = fixture_specs();
    assert!(specs.len() >= 4, "{specs:?}");
    for spec in specs {
        let requests = requests_of(&spec);
        let allowed = requests
            .iter()
            .filter(|r| r.expect == Expect::Allow)
            .count();
        let denied = requests.len() - allowed;
        assert!(
            allowed > 20 && denied > 10,
            "{spec:?}: {allowed} allowed, {denied} denied"
        );
        let results = evaluate(
            &policies(&spec, &[]),
            &policies(&spec, &["--auditor"]),
            &requests,
        );
        let wrong = wrong(&requests, &results);
        assert!(
            wrong.is_empty(),
            "{spec:?}: {} of {} requests not decided as documented:\n{}",
            wrong.len(),
            requests.len(),
            wrong.join("\n")
        );
    }
}

/// Removes the statement `sid` from the document named `name`.
fn without_statement(documents: &Value, name: &str, sid: &str) -> Value {
    let mut documents = documents.clone();
    let doc = documents
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no document {name}"));
    let statements = doc["document"]["Statement"].as_array_mut().unwrap();
    let before = statements.len();
    statements.retain(|s| s["Sid"] != sid);
    assert_eq!(
        statements.len(),
        before - 1,
        "{name} has no statement {sid}"
    );
    documents
}

#[test]
fn the_evaluator_refuses_once_a_statement_is_gone() {
    let spec = repo().join("fixtures/specs/two-way.yaml");
    let requests = requests_of(&spec);
    let documents = policies(&spec, &[]);
    let auditor = policies(&spec, &["--auditor"]);
    let pick = |flow: &str, action: &str, resource: &str| -> Request {
        requests
            .iter()
            .find(|r| {
                r.flow.starts_with(flow)
                    && r.action == action
                    && r.resource.contains(resource)
                    && r.expect == Expect::Allow
            })
            .unwrap_or_else(|| panic!("no {action} on {resource} in {flow}"))
            .clone()
    };
    let cases = [
        // The replica key's Decrypt (S3 Bucket Keys) lives in the destination key policy;
        // without it the cross-account request fails even though IAM allows it.
        (
            pick(
                "live replication (source",
                "kms:Decrypt",
                "DESTINATION-KEY-ID",
            ),
            without_statement(
                &documents,
                "alias/media/secondary/key-policy",
                "ReplicationRoleEncryptReplicas",
            ),
            "Denied",
        ),
        // The copy role's own policy: the identity half of a cross-account read.
        (
            pick(
                "copy, server-side",
                "s3:GetObjectTagging",
                "media-eu-primary",
            ),
            without_statement(&documents, "media-copy/copy", "ReadSourceObjects"),
            "Denied",
        ),
        // The source bucket policy grants the copy role (another account) its reads.
        (
            pick(
                "copy, server-side",
                "s3:GetObjectTagging",
                "media-eu-primary",
            ),
            without_statement(
                &documents,
                "media-eu-primary/bucket-policy",
                "CopyRoleReadSourceObjects",
            ),
            "Denied",
        ),
        // The TLS deny is what refuses plain HTTP.
        (
            requests
                .iter()
                .find(|r| r.context.get("aws:SecureTransport").map(String::as_str) == Some("false"))
                .unwrap()
                .clone(),
            without_statement(
                &documents,
                "media-eu-primary/bucket-policy",
                "DenyInsecureTransport",
            ),
            "Allowed",
        ),
    ];
    for (request, documents, expected) in cases {
        let before = evaluate(
            &policies(&spec, &[]),
            &auditor,
            std::slice::from_ref(&request),
        );
        let after = evaluate(&documents, &auditor, std::slice::from_ref(&request));
        let (before, after) = (
            before[0]["decision"].as_str().unwrap().to_string(),
            after[0]["decision"].as_str().unwrap().to_string(),
        );
        assert_ne!(
            before,
            after,
            "{}: removing the statement changed nothing",
            describe(&request)
        );
        assert!(
            after.ends_with(expected),
            "{} → {after}",
            describe(&request)
        );
    }
}

#[test]
fn an_auditor_the_spec_does_not_list_reads_keys_only_through_account_recovery() {
    // two-way.yaml: the source key has `kms_key_recovery: account` (the root administers
    // it, so the account's IAM policies decide), the destination key `admins` (no root
    // statement: only the principals the key policy names). An auditor role holding the
    // --auditor policy but not listed under `auditors:` is let in by the first, refused by
    // the second — what AWS does, where moto ignores key policies (tests/audit.rs).
    let spec = repo().join("fixtures/specs/two-way.yaml");
    let listed = requests_of(&spec)
        .into_iter()
        .filter(|r| r.caller == Caller::Auditor && r.action == "kms:DescribeKey")
        .collect::<Vec<_>>();
    assert_eq!(listed.len(), 2, "one created key per side");
    let unlisted: Vec<Request> = listed
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let account = r.resource.split(':').nth(4).unwrap().to_string();
            r.principal = format!("arn:aws:iam::{account}:role/auditor-not-in-spec");
            r.context
                .insert("aws:PrincipalArn".into(), r.principal.clone());
            r
        })
        .collect();
    let all: Vec<Request> = listed.iter().chain(&unlisted).cloned().collect();
    let results = evaluate(
        &policies(&spec, &[]),
        &policies(&spec, &["--auditor"]),
        &all,
    );
    let decisions: Vec<&str> = results
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        ["Allowed", "Allowed", "Allowed", "ImplicitlyDenied"],
        "listed (source, destination), unlisted (source: recovery, destination: admins only)"
    );
}

/// docs/permissions.md between the markers: the catalogue of the example spec.
fn render(spec_name: &str, requests: &[Request]) -> String {
    let mut out = format!(
        "<!-- generated by tests/permissions.rs from fixtures/specs/{spec_name}: do not edit; \
         S3BRIDGE_UPDATE_GOLDEN=1 cargo test --test permissions rewrites it -->\n"
    );
    let mut flow = "";
    for r in requests {
        if r.flow != flow {
            flow = r.flow;
            out.push_str(&format!(
                "\n#### {flow}\n\n| | Principal | Action | Resource | Context AWS sets | AWS page |\n|---|---|---|---|---|---|\n"
            ));
        }
        let context: Vec<String> = r
            .context
            .iter()
            .filter(|(k, _)| {
                k.as_str() != "aws:PrincipalArn" && k.as_str() != "aws:SecureTransport"
            })
            .chain(
                r.context
                    .get_key_value("aws:SecureTransport")
                    .filter(|(_, v)| v.as_str() == "false"),
            )
            .map(|(k, v)| format!("`{k}`=`{v}`"))
            .collect();
        let page = r.source.rsplit('/').next().unwrap_or(r.source);
        out.push_str(&format!(
            "| {} {} | `{}` | `{}` | `{}` | {} | [{}]({}) |\n",
            match r.expect {
                Expect::Allow => "allow",
                Expect::Deny => "**deny**",
            },
            r.step.replace('|', "\\|"),
            r.principal,
            r.action,
            r.resource,
            if context.is_empty() {
                "—".to_string()
            } else {
                context.join("<br>")
            },
            page,
            r.source
        ));
    }
    out
}

#[test]
fn docs_permissions_md_is_the_catalogue() {
    const BEGIN: &str = "<!-- BEGIN REQUESTS -->\n";
    const END: &str = "<!-- END REQUESTS -->";
    let path = repo().join("docs/permissions.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = text
        .split_once(BEGIN)
        .expect("docs/permissions.md has the BEGIN marker");
    let (_, tail) = rest
        .split_once(END)
        .expect("docs/permissions.md has the END marker");
    let generated = render(
        "example.yaml",
        &requests_of(&repo().join("fixtures/specs/example.yaml")),
    );
    let expected = format!("{head}{BEGIN}{generated}{END}{tail}");
    if std::env::var_os("S3BRIDGE_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        text == expected,
        "docs/permissions.md is not the current catalogue: run scripts/update-golden"
    );
}
