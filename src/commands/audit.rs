//! `s3bridge audit SPEC`: read both accounts, compare with the spec, report every drift.
//!
//! Credentials per side: `--source-profile`/`--destination-profile` (or `--profile`)
//! when given, else the spec's `terraform_role` assumed from the default chain, else the
//! default chain. The exit status is 0 (no finding at or above `--fail-on`), 1 (findings)
//! or 2 (could not audit: no credentials, access denied, unreachable endpoint, invalid
//! spec).

use anyhow::{Context, Result};

use super::{load_spec, side_access, Status};
use crate::audit::{self, output, Sessions};
use crate::aws::{Access, Session};
use crate::cli::{AuditArgs, AuditFormat, AwsArgs};
use crate::spec::{self, Side, Spec};
use crate::{errln, out, outln};

fn access(spec: &Spec, side: Side, aws: &AwsArgs) -> Result<Access> {
    let (mut access, _) = side_access(aws, side, Some(spec.side(side)), "s3bridge-audit")?;
    // A named profile says who to be; otherwise act as the spec's deployer would.
    if access.profile.is_none() {
        access.assume_role = spec.side(side).terraform_role.clone();
    }
    Ok(access)
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
    let loaded = load_spec(&args.spec)?;
    let desired = crate::model::build(&loaded.spec);
    let source = access(&loaded.spec, Side::Source, &args.aws)?;
    let destination = access(&loaded.spec, Side::Destination, &args.aws)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let (source, destination) =
            tokio::join!(Session::connect(&source), Session::connect(&destination));
        let sessions = Sessions {
            source: source.with_context(|| {
                format!(
                    "reaching the source account {}",
                    loaded.spec.source.account_id
                )
            })?,
            destination: destination.with_context(|| {
                format!(
                    "reaching the destination account {}",
                    loaded.spec.destination.account_id
                )
            })?,
        };
        let scope = audit::reads::Scope {
            object_status: args.object_status,
        };
        Ok::<_, anyhow::Error>(audit::run(&desired, &sessions, scope).await)
    })?;
    let report = outcome
        .map_err(anyhow::Error::new)
        .with_context(|| format!("could not audit {}", args.spec.display()))?;
    if !args.object_status && !desired.replications.is_empty() {
        crate::note!(
            "note: recent objects' replication status was not read; add --object-status to check it \
             (it needs s3:GetObject: `s3bridge policies SPEC --auditor --object-status`)"
        );
    }
    let spec_path = args.spec.display().to_string();
    match args.format {
        AuditFormat::Text => out!(
            "{}",
            output::text(&report, args.fail_on, crate::report::use_colour())
        )?,
        AuditFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&output::json(&report, args.fail_on))?
        )?,
        AuditFormat::Sarif => {
            let locate = locator(&args.spec);
            let context = output::Context {
                spec: &spec_path,
                fail_on: args.fail_on,
                locate: &locate,
            };
            outln!(
                "{}",
                serde_json::to_string_pretty(&output::sarif(&report, &context))?
            )?;
        }
        AuditFormat::Junit => out!("{}", output::junit(&report))?,
    }
    if args.format != AuditFormat::Text {
        errln!("verdict: {}", output::verdict(&report, args.fail_on));
    }
    Ok(if report.fails(args.fail_on) {
        Status::Failure
    } else {
        Status::Success
    })
}
