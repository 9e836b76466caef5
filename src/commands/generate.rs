//! `s3bridge generate SPEC --out DIR [--check]`: write (or compare) the Terraform bundle.

use anyhow::{Context, Result};

use super::{load_spec, Status};
use crate::cli::GenerateArgs;
use crate::render::{self, write};

pub fn run(args: &GenerateArgs) -> Result<Status> {
    let loaded = match load_spec(&args.spec)? {
        Ok(loaded) => loaded,
        Err(status) => return Ok(status),
    };
    let desired = crate::model::build(&loaded.spec);
    let options = render::Options {
        endpoint_url: args.endpoint_url.clone(),
        spec_name: args
            .spec
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "spec.yaml".into()),
    };
    let files = render::generate(&desired, &options);
    if args.check {
        let diffs = write::check(&args.out, &files);
        if diffs.is_empty() {
            eprintln!(
                "{} is up to date with {}",
                args.out.display(),
                args.spec.display()
            );
            return Ok(Status::Success);
        }
        for diff in &diffs {
            print!("{diff}");
        }
        eprintln!(
            "{} differs from what {} generates ({} file{}); run s3bridge generate without --check",
            args.out.display(),
            args.spec.display(),
            diffs.len(),
            if diffs.len() == 1 { "" } else { "s" }
        );
        return Ok(Status::Failure);
    }
    let written = write::write(&args.out, &files, args.force)
        .with_context(|| format!("writing the bundle into {}", args.out.display()))?;
    eprintln!(
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
    eprintln!(
        "next: cd {} && terraform init && terraform plan",
        args.out.display()
    );
    Ok(Status::Success)
}
