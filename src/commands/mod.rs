//! One module per subcommand: each turns parsed arguments into library calls and output.
//!
//! Exit statuses are one table for every command, so pipelines can rely on them: `Status`
//! below (0 success, 1 found something, 2 could not run, 3 verify's unverified), whose
//! `meaning()`s `s3bridge --help` prints and README's "Exit status" repeats (a unit test
//! keeps the three equal).
//!
//! A command returns `Ok(Status)` for 0, 1 and 3; every error is 2, shown by
//! `crate::error::Error` (a block on stderr, and `{"error": ...}` on stdout with
//! `--format json`).

mod audit;
mod copy;
mod copy_batch;
mod discover;
mod generate;
mod jobs;
mod policies;
mod reencrypt;
mod replicate_existing;
mod restore;
mod shards;
mod status;
mod validate;
mod verify;

use anyhow::Result;

use crate::aws::Access;
use crate::cli::{AwsArgs, Cli, Command, FilterArgs};
use crate::error::{Error, Problem};
use crate::spec::{BucketSpec, Side, Spec};

/// How a command ended; `code()` is the process's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: valid, clean, verified, copied.
    Success,
    /// 1: the command found something (spec errors, findings, a diff, objects missing,
    /// different or failed).
    Failure,
    /// 2: the command could not do its job.
    CouldNotRun,
    /// 3: `verify` found nothing wrong but could not verify every object.
    Unverified,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Success,
        Status::Failure,
        Status::CouldNotRun,
        Status::Unverified,
    ];

    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Failure => 1,
            Status::CouldNotRun => 2,
            Status::Unverified => 3,
        }
    }

    /// What the code means, as `--help` and README's table say it.
    pub fn meaning(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Failure => {
                "found something: spec errors, findings, a diff, objects missing, different or failed"
            }
            Status::CouldNotRun => {
                "could not run: bad usage or input (invalid spec, but for validate), no access, unreachable"
            }
            Status::Unverified => "verify only: nothing wrong found, but some objects could not be verified",
        }
    }
}

/// The exit-status table of `s3bridge --help`, from `Status`.
pub fn exit_status_help() -> String {
    let mut help = String::from("Exit status (every command):");
    for status in Status::ALL {
        help.push_str(&format!("\n  {}  {}", status.code(), status.meaning()));
    }
    help
}

/// The whole program: parse the command line, run the command, report how it ended.
/// Returns the exit status.
pub fn main() -> u8 {
    let cli = match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    execute(cli)
}

/// A command line clap refused (or `--help`/`--version`, which exit 0). With
/// `--format json` among the arguments, the refusal is a JSON document too.
fn usage_error(error: &clap::Error) -> u8 {
    let code = error.exit_code();
    if code != 0 {
        let args: Vec<String> = std::env::args().collect();
        let json = args
            .windows(2)
            .any(|w| w[0] == "--format" && w[1] == "json")
            || args.iter().any(|a| a == "--format=json");
        if json {
            let rendered = error.render().to_string();
            let message = rendered
                .lines()
                .next()
                .unwrap_or("invalid command line")
                .trim_start_matches("error: ");
            let problem = Problem::usage(message, "`s3bridge COMMAND --help` lists every flag");
            let document =
                serde_json::to_string_pretty(&Error::from(problem).to_json()).unwrap_or_default();
            let _ = crate::outln!("{document}");
            let _ = crate::output::flush_stdout();
        }
    }
    let _ = error.print();
    u8::try_from(code).unwrap_or(Status::CouldNotRun.code())
}

/// Runs a parsed command line and reports its end: the exit status, with an error shown
/// on stderr (and as `{"error": ...}` on stdout when the command prints JSON).
pub fn execute(cli: Cli) -> u8 {
    crate::output::set_quiet(cli.quiet);
    let json = cli.wants_json();
    let outcome = run(cli).and_then(|status| {
        crate::output::flush_stdout()?;
        Ok(status)
    });
    match outcome {
        Ok(status) => status.code(),
        Err(error) => {
            report(&Error::from(error), json);
            Status::CouldNotRun.code()
        }
    }
}

/// Shows an error: the block on stderr, and the JSON document on stdout for `json`.
pub fn report(error: &Error, json: bool) {
    crate::errln!("{}", error.render());
    if json {
        let document = serde_json::to_string_pretty(&error.to_json()).unwrap_or_default();
        let _ = crate::outln!("{document}");
        let _ = crate::output::flush_stdout();
    }
}

pub fn run(cli: Cli) -> Result<Status> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Schema(args) => {
            if args.example {
                crate::out!("{}", crate::spec::EXAMPLE)?;
            } else {
                crate::outln!(
                    "{}",
                    serde_json::to_string_pretty(&crate::spec::Spec::json_schema())?
                )?;
            }
            Ok(Status::Success)
        }
        Command::Generate(args) => generate::run(&args),
        Command::Discover(args) => discover::run(&args),
        Command::Reencrypt(args) => reencrypt::run(&args),
        Command::Policies(args) => policies::run(&args),
        Command::ReplicateExisting(args) => replicate_existing::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Shards(command) => shards::run(&command),
        Command::Audit(args) => audit::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Copy(args) => copy::run(&args),
        Command::Restore(args) => restore::run(&args),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "s3bridge", &mut script);
            crate::out!("{}", String::from_utf8_lossy(&script))?;
            Ok(Status::Success)
        }
        Command::Man(args) => man(args.out.as_deref()),
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

/// `s3bridge man`: the top-level page on stdout, or every page into a directory.
fn man(out: Option<&std::path::Path>) -> Result<Status> {
    use anyhow::Context;
    let command = <Cli as clap::CommandFactory>::command();
    match out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            crate::out!("{}", String::from_utf8_lossy(&page))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            crate::note!("wrote the man pages into {}", dir.display());
        }
    }
    Ok(Status::Success)
}

/// Loads a spec for a command that uses it (every command but `validate`): an invalid
/// spec is an error (exit 2). Warnings are left to `validate` and `generate`, which are
/// where a spec is reviewed; every other command would repeat them on each run.
pub(crate) fn load_spec(path: &std::path::Path) -> Result<crate::spec::LoadedSpec> {
    Ok(crate::spec::load(path)?)
}

/// How one side is reached: its profile and the endpoint from the flags; its region from
/// the spec (a region flag must agree) or from the flags (None: ask the bucket).
pub(crate) fn side_access(
    aws: &AwsArgs,
    side: Side,
    spec_side: Option<&BucketSpec>,
    session_name: &str,
) -> Result<(Access, Option<String>)> {
    let flag = aws.region(side);
    let region = match (spec_side, flag) {
        (Some(bucket), Some(flag)) if flag != bucket.region => {
            return Err(Problem::usage(
                format!(
                    "--region {flag} disagrees with the spec, which puts the {side} bucket in {}",
                    bucket.region
                ),
                format!(
                    "drop the region flag (the spec names each bucket's region) or fix {side}.region in the spec"
                ),
            )
            .into())
        }
        (Some(bucket), _) => Some(bucket.region.clone()),
        (None, flag) => flag,
    };
    let access = Access {
        profile: aws.profile(side),
        endpoint_url: aws.endpoint_url.clone(),
        session_name: session_name.into(),
        ..Access::new(region.as_deref().unwrap_or("us-east-1"))
    };
    Ok((access, region))
}

/// Spec mode of `copy` and `verify`: each side's own credentials, or with
/// `--assume-copy-role` the spec's copy role for both, assumed from the source side's
/// credentials (one principal, so S3 can copy server-side).
pub(crate) fn transfer_access(
    aws: &AwsArgs,
    spec: &Spec,
    side: Side,
    assume_copy_role: bool,
    session_name: &str,
) -> Result<Access> {
    let (mut access, _) = side_access(aws, side, Some(spec.side(side)), session_name)?;
    if assume_copy_role {
        access.profile = aws.profile(Side::Source);
        access.assume_role = Some(crate::model::role_arn_for(
            spec,
            crate::model::RolePurpose::Copy,
        ));
    }
    Ok(access)
}

/// The key filter of a run: the spec's copy.include/exclude and the flags'.
pub(crate) fn key_filter(
    spec: Option<&Spec>,
    flags: &FilterArgs,
) -> Result<crate::transfer::keys::KeyFilter> {
    let (include, exclude) = match spec {
        Some(spec) => (
            [spec.copy.include.clone(), flags.include.clone()].concat(),
            [spec.copy.exclude.clone(), flags.exclude.clone()].concat(),
        ),
        None => (flags.include.clone(), flags.exclude.clone()),
    };
    Ok(crate::transfer::keys::KeyFilter::new(&include, &exclude)?)
}

/// `s3://bucket/prefix` → (bucket, prefix) for the ad hoc forms of `copy` and `verify`.
/// A prefix that does not end in `/` is taken as a folder (`s3://b/images` is `images/`),
/// as `aws s3 sync` and rclone do.
pub(crate) fn parse_s3_url(url: &str) -> Result<(String, String)> {
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(Problem::usage(
            format!("`{url}` is not an s3:// URL"),
            "give a spec file, or s3://SOURCE-BUCKET[/PREFIX] s3://DESTINATION-BUCKET[/PREFIX]",
        )
        .into());
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Problem::usage(
            format!("`{url}` names no bucket"),
            "write s3://BUCKET[/PREFIX]",
        )
        .into());
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
        return Err(Problem::input(
            format!(
                "the shard plan {} was made for bucket `{}`, not the source `{source_bucket}`",
                path.display(),
                plan.bucket
            ),
            "make one for this source with `s3bridge shards plan`",
        )
        .into());
    }
    let range = plan.range(shard)?;
    // Even with --quiet: the logs of all shards must show they read the same plan.
    crate::errln!("shard {shard} of plan {}: {range}", plan.digest());
    if shard.count > plan.balanced_up_to() {
        crate::errln!(
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

/// A session into the source account of `spec` (status, replicate-existing, shards),
/// refused (exit 2) when its credentials act in another account.
pub(crate) async fn source_session(spec: &Spec, aws: &AwsArgs) -> Result<crate::aws::Session> {
    let (access, _) = side_access(aws, Side::Source, Some(&spec.source), "s3bridge")?;
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
    use super::{parse_s3_url, Status};

    #[test]
    fn the_exit_status_table_is_one_table() {
        // README's table says what `Status` (which --help prints) says.
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"),
        )
        .unwrap();
        for status in Status::ALL {
            let code = status.code();
            let meaning = status.meaning();
            assert!(
                readme.contains(&format!("| {code} | {meaning} |")),
                "README's exit status table lacks `| {code} | {meaning} |`"
            );
        }
    }

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
