//! `s3bridge generate SPEC --out DIR [--check]`: write (or compare) the Terraform bundle.
//! With `--check` it writes nothing and exits 1 with a unified diff when DIR is out of
//! date, for CI. Prints the spec's warnings (as `validate` does).

use anyhow::{Context, Result};
use serde_json::json;

use super::Status;
use crate::cli::{GenerateArgs, TextOrJson};
use crate::error::Problem;
use crate::render::{self, write};
use crate::{errln, note, out, outln};

pub fn run(args: &GenerateArgs) -> Result<Status> {
    let loaded = crate::spec::load(&args.spec)?;
    for warning in &loaded.warnings {
        errln!("{warning}");
    }
    let desired = crate::model::build(&loaded.spec);
    for bucket in &desired.buckets {
        let clashing = bucket.clashing_sids();
        if !clashing.is_empty() {
            return Err(Problem::input(
                format!(
                    "{}.keep_policy_statements keeps statement{} {} that s3bridge writes itself",
                    bucket.side,
                    if clashing.len() == 1 { "" } else { "s" },
                    clashing.join(", ")
                ),
                "remove them from keep_policy_statements (the bundle writes its own version), or rename their Sid",
            )
            .into());
        }
    }
    let options = render::Options {
        endpoint_url: args.endpoint_url.clone(),
        spec_name: args
            .spec
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "spec.yaml".into()),
    };
    let files = render::generate(&desired, &options);
    let json = args.format == TextOrJson::Json;
    if args.check {
        let diffs = write::check(&args.out, &files);
        if json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "out": args.out,
                    "up_to_date": diffs.is_empty(),
                    "diffs": diffs,
                }))?
            )?;
        } else {
            for diff in &diffs {
                out!("{diff}")?;
            }
        }
        if diffs.is_empty() {
            note!(
                "{} is up to date with {}",
                args.out.display(),
                args.spec.display()
            );
            return Ok(Status::Success);
        }
        errln!(
            "{} differs from what {} generates ({} file{}); run s3bridge generate without --check",
            args.out.display(),
            args.spec.display(),
            diffs.len(),
            if diffs.len() == 1 { "" } else { "s" }
        );
        return Ok(Status::Failure);
    }
    let written = match write::write(&args.out, &files, args.force) {
        Ok(written) => written,
        Err(write::WriteError::Foreign(path)) => {
            return Err(Problem::input(
                format!(
                    "{} exists and was not written by s3bridge generate",
                    path.display()
                ),
                "move it away, or pass --force to overwrite it",
            )
            .into())
        }
        Err(error) => {
            return Err(error)
                .with_context(|| format!("writing the bundle into {}", args.out.display()))
        }
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "out": args.out,
                "changed": written.changed,
                "unchanged": written.unchanged,
                "removed": written.removed,
            }))?
        )?;
    }
    note!(
        "wrote {}: {} file{} changed, {} unchanged{}",
        args.out.display(),
        written.changed.len(),
        if written.changed.len() == 1 { "" } else { "s" },
        written.unchanged,
        if written.removed.is_empty() {
            String::new()
        } else {
            format!(", {} removed", written.removed.len())
        }
    );
    note!(
        "next: cd {} && terraform init && terraform plan",
        args.out.display()
    );
    Ok(Status::Success)
}
