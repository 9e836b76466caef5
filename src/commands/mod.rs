//! One module per subcommand: each turns parsed arguments into library calls and output.
//!
//! Exit statuses are shared by every command so pipelines can rely on them: 0 all good,
//! 1 the answer is "no" (invalid spec, drift, a diff, a mismatch), 2 the command could
//! not do its job (unreadable files, no credentials, unreachable endpoint). `verify`
//! adds 3 for "nothing wrong found, but some objects could not be verified".

mod audit;
mod copy;
mod copy_batch;
mod generate;
mod jobs;
mod policies;
mod replicate_existing;
mod shards;
mod status;
mod validate;
mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Failure,
    CouldNotRun,
    Unverified,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Failure => 1,
            Status::CouldNotRun => 2,
            Status::Unverified => 3,
        }
    }
}

pub fn run(cli: Cli) -> Result<Status> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::spec::Spec::json_schema())?
            );
            Ok(Status::Success)
        }
        Command::Generate(args) => generate::run(&args),
        Command::Policies(args) => policies::run(&args),
        Command::ReplicateExisting(args) => replicate_existing::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Shards(command) => shards::run(&command),
        Command::Audit(args) => audit::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Copy(args) => copy::run(&args),
    }
}

/// Keeps s3bridge's own work files (Batch Operations manifests and reports under a work
/// prefix) out of a key plan, on the side(s) whose bucket holds them.
pub(crate) fn skip_work_prefixes(
    plan: &mut crate::transfer::keys::KeyPlan,
    source: Option<&str>,
    destination: Option<&str>,
) {
    for segment in &mut plan.segments {
        if let Some(prefix) = source.filter(|p| p.starts_with(&segment.source_prefix)) {
            segment.source_skip.push(prefix.to_string());
        }
        if let Some(prefix) = destination.filter(|p| p.starts_with(&segment.destination_prefix)) {
            segment.destination_skip.push(prefix.to_string());
        }
    }
}

/// The work prefixes of a spec's bundle: Batch Replication's in the source bucket, the
/// batch copy's in the destination bucket.
pub(crate) fn spec_work_prefixes(spec: &crate::spec::Spec) -> (Option<String>, Option<String>) {
    let desired = crate::model::build(spec);
    let in_bucket = |batch: &Option<crate::model::Batch>, bucket: &str| {
        batch
            .as_ref()
            .filter(|b| b.bucket == bucket)
            .map(|b| b.prefix.clone())
    };
    (
        in_bucket(&desired.batch, &spec.source.bucket),
        in_bucket(&desired.batch_copy, &spec.destination.bucket),
    )
}

/// Loads a spec, printing its warnings, or prints its errors and fails.
pub(crate) fn load_spec(
    path: &std::path::Path,
) -> Result<std::result::Result<crate::spec::LoadedSpec, Status>> {
    match crate::spec::load(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            Ok(Ok(loaded))
        }
        Err(error) => {
            eprintln!("{error}");
            Ok(Err(Status::Failure))
        }
    }
}

/// `s3://bucket/prefix` → (bucket, prefix) for the ad hoc forms of `copy` and `verify`.
/// A prefix that does not end in `/` is taken as a folder (`s3://b/images` is `images/`),
/// as `aws s3 sync` and rclone do.
pub(crate) fn parse_s3_url(url: &str) -> Result<(String, String)> {
    let Some(rest) = url.strip_prefix("s3://") else {
        anyhow::bail!(
            "`{url}` is not an s3:// URL (give a spec file, or s3://SOURCE-BUCKET[/PREFIX] \
             s3://DESTINATION-BUCKET[/PREFIX])"
        );
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        anyhow::bail!("`{url}` names no bucket");
    }
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_string(), prefix))
}

/// The key range of `--shard I/N` in the plan of `--shard-plan` (None without `--shard`),
/// announced on stderr with the plan's fingerprint so the logs of all shards show they
/// read the same plan.
pub(crate) fn shard_range(
    args: &crate::cli::ShardArgs,
    source_bucket: &str,
) -> Result<Option<crate::transfer::listing::KeyRange>> {
    let (Some(shard), Some(path)) = (args.shard, &args.shard_plan) else {
        return Ok(None);
    };
    let plan = crate::transfer::shard::Plan::load(path)?;
    if plan.bucket != source_bucket {
        anyhow::bail!(
            "the shard plan {} was made for bucket `{}`, not the source `{source_bucket}`; \
             make one with `s3bridge shards plan`",
            path.display(),
            plan.bucket
        );
    }
    let range = plan.range(shard)?;
    eprintln!("shard {shard} of plan {}: {range}", plan.digest());
    if shard.count > plan.balanced_up_to() {
        eprintln!(
            "warning: this plan keeps shards within 2x of each other only up to {} shards",
            plan.balanced_up_to()
        );
    }
    Ok(Some(range))
}

/// Runs the async part of a command (the AWS calls) to completion.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}

/// A session into the source account of `spec`, refused (exit 2) when its credentials
/// act in another account.
pub(crate) async fn source_session(
    spec: &crate::spec::Spec,
    access: &crate::cli::SourceAccessArgs,
) -> Result<crate::aws::Session> {
    let access = crate::aws::Access {
        profile: access.source_profile.clone(),
        endpoint_url: access.endpoint_url.clone(),
        ..crate::aws::Access::new(&spec.source.region)
    };
    let session = crate::aws::Session::connect(&access).await?;
    session
        .expect_account("source", &[&spec.source.account_id])
        .await?;
    Ok(session)
}

/// The accounts each side's credentials may act in, in spec mode of `copy` and `verify`:
/// the copy role's account when both sides assume it; a side's own account when each
/// side has its own credentials; either account when one principal reaches both buckets.
pub(crate) fn expected_accounts(
    spec: &crate::spec::Spec,
    sides: [&crate::aws::Access; 2],
) -> [Vec<String>; 2] {
    use crate::spec::Side;
    let copy_role = crate::model::role_arn_for(spec, crate::model::RolePurpose::Copy);
    let same_principal =
        sides[0].profile == sides[1].profile && sides[0].assume_role == sides[1].assume_role;
    let own = |side: Side| vec![spec.side(side).account_id.clone()];
    [Side::Source, Side::Destination].map(|side| {
        let access = sides[side as usize];
        if access.assume_role.as_deref() == Some(copy_role.as_str()) {
            own(spec.copy_role.account)
        } else if same_principal {
            let mut both = own(Side::Source);
            both.extend(own(Side::Destination));
            both.dedup();
            both
        } else {
            own(side)
        }
    })
}

/// Checks both sides' sessions against `expected_accounts`.
pub(crate) async fn expect_accounts(
    sessions: [&crate::aws::Session; 2],
    expected: &[Vec<String>; 2],
) -> Result<()> {
    for (i, (session, accounts)) in sessions.iter().zip(expected).enumerate() {
        let what = if i == 0 { "source" } else { "destination" };
        let accounts: Vec<&str> = accounts.iter().map(String::as_str).collect();
        session.expect_account(what, &accounts).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_s3_url;

    #[test]
    fn s3_urls_split_into_bucket_and_folder_prefix() {
        assert_eq!(parse_s3_url("s3://b").unwrap(), ("b".into(), "".into()));
        assert_eq!(parse_s3_url("s3://b/").unwrap(), ("b".into(), "".into()));
        assert_eq!(
            parse_s3_url("s3://b/images").unwrap(),
            ("b".into(), "images/".into())
        );
        assert_eq!(
            parse_s3_url("s3://b/a/b/").unwrap(),
            ("b".into(), "a/b/".into())
        );
        assert!(parse_s3_url("b/x").is_err());
        assert!(parse_s3_url("s3:///x").is_err());
    }
}
