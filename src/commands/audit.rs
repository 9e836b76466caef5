//! `s3bridge audit SPEC`: read both accounts, compare with the spec, report every drift.
//!
//! Credentials per side: `--source-profile`/`--destination-profile` when given, else the
//! spec's `terraform_role` assumed from the default chain, else the default chain. The
//! exit status is 0 (no finding at or above `--fail-on`), 1 (findings) or 2 (could not
//! audit: no credentials, access denied, unreachable endpoint, invalid spec).

use anyhow::{Context, Result};

use super::{load_spec, Status};
use crate::audit::{self, output, Sessions};
use crate::aws::{Access, Session};
use crate::cli::{AuditArgs, AuditFormat};
use crate::spec::{self, BucketSpec};

fn access(side: &BucketSpec, profile: Option<&String>, endpoint_url: Option<&String>) -> Access {
    Access {
        profile: profile.cloned(),
        // A named profile says who to be; otherwise act as the spec's deployer would.
        assume_role: if profile.is_some() {
            None
        } else {
            side.terraform_role.clone()
        },
        session_name: "s3bridge-audit".into(),
        endpoint_url: endpoint_url.cloned(),
        ..Access::new(&side.region)
    }
}

/// Line and column of spec fields, for SARIF locations (1:1 when the file cannot be read).
fn locator(path: &std::path::Path) -> impl Fn(&str) -> (u32, u32) {
    let index = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| spec::yaml::parse(&text).ok().flatten())
        .map(|root| spec::yaml::PosIndex::build(&root));
    move |field: &str| match &index {
        Some(index) => {
            let pos = index.find(field);
            (pos.line as u32, pos.col as u32)
        }
        None => (1, 1),
    }
}

pub fn run(args: &AuditArgs) -> Result<Status> {
    let loaded = match load_spec(&args.spec)? {
        Ok(loaded) => loaded,
        // An invalid spec cannot be audited against.
        Err(_) => return Ok(Status::CouldNotRun),
    };
    let desired = crate::model::build(&loaded.spec);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let source = access(
            &loaded.spec.source,
            args.source_profile.as_ref(),
            args.endpoint_url.as_ref(),
        );
        let destination = access(
            &loaded.spec.destination,
            args.destination_profile.as_ref(),
            args.endpoint_url.as_ref(),
        );
        let (source, destination) =
            tokio::join!(Session::connect(&source), Session::connect(&destination));
        let sessions = Sessions {
            source: source.context("source account credentials")?,
            destination: destination.context("destination account credentials")?,
        };
        let scope = audit::reads::Scope {
            object_status: args.object_status,
        };
        Ok::<_, anyhow::Error>(audit::run(&desired, &sessions, scope).await)
    })?;
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: could not audit {}: {error}", args.spec.display());
            eprintln!("  help: {}", error.hint());
            return Ok(Status::CouldNotRun);
        }
    };
    if !args.object_status && !desired.replications.is_empty() {
        eprintln!(
            "note: recent objects' replication status was not read; add --object-status to check it \
             (it needs s3:GetObject: `s3bridge policies SPEC --auditor --object-status`)"
        );
    }
    let spec_path = args.spec.display().to_string();
    match args.format {
        AuditFormat::Text => print!(
            "{}",
            output::text(&report, args.fail_on, crate::report::use_colour())
        ),
        AuditFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&output::json(&report, args.fail_on))?
        ),
        AuditFormat::Sarif => {
            let locate = locator(&args.spec);
            let context = output::Context {
                spec: &spec_path,
                fail_on: args.fail_on,
                locate: &locate,
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&output::sarif(&report, &context))?
            );
        }
        AuditFormat::Junit => print!("{}", output::junit(&report)),
    }
    if args.format != AuditFormat::Text {
        eprintln!("verdict: {}", output::verdict(&report, args.fail_on));
    }
    Ok(if report.fails(args.fail_on) {
        Status::Failure
    } else {
        Status::Success
    })
}
