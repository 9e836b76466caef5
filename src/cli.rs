//! Command-line definitions (clap). Each subcommand's arguments are a struct that its
//! module in `commands/` receives. Flags that mean the same on several commands are one
//! struct flattened into each (`AwsArgs`, `FilterArgs`, `ShardArgs`, `JobArgs`), so they
//! read, default and behave the same everywhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

// `-V/--version` only at the top level (no propagate_version): on a subcommand, a
// mistyped `--regoin` is then not offered "similar to --version".
#[derive(Debug, Parser)]
#[command(
    name = "s3bridge",
    version,
    about = "Set up, prove and keep honest a cross-account S3 replication from one YAML spec.",
    long_about = None,
    after_help = crate::commands::exit_status_help()
)]
pub struct Cli {
    /// No notes or progress on stderr (results, warnings and errors still print).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec and report every problem with file:line:col. Exit 0 valid, 1 the
    /// spec has errors, 2 it cannot be read.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the spec (for editor completion), or an example spec.
    Schema(SchemaArgs),
    /// Write the Terraform bundle for a spec.
    Generate(GenerateArgs),
    /// Write a starting spec that adopts two live buckets: every setting they have is
    /// imported, the policy statements and lifecycle rules that are not s3bridge's kept.
    Discover(DiscoverArgs),
    /// Rewrite in place, under the bucket's key, the objects that predate it (SSE-S3 or
    /// another key): metadata, tags and storage class kept; a rerun rewrites only what is
    /// left. Exit 0 when every object is under the key, 1 when some are not.
    Reencrypt(ReencryptArgs),
    /// Print every policy document the bundle creates.
    Policies(PoliciesArgs),
    /// Replicate the objects already in the source bucket with an S3 Batch Replication job.
    ReplicateExisting(ReplicateExistingArgs),
    /// Replication health: per rule the last hour/day of replication metrics, the
    /// monitoring alarms, the S3 Batch Operations jobs and their progress, and a verdict.
    /// Exit 0 healthy, 1 degraded, 2 broken (or could not run): docs/monitoring.md.
    Status(StatusArgs),
    /// Key-range shards, to run `copy` and `verify` on many machines side by side.
    #[command(subcommand)]
    Shards(ShardsCommand),
    /// Compare what is deployed in both accounts with the spec and explain every drift
    /// (read-only). Exit 0 clean, 1 findings at or above --fail-on, 2 could not audit.
    Audit(AuditArgs),
    /// Copy the objects already in the source bucket: only what is missing or different,
    /// server-side where one principal reaches both buckets, streamed otherwise.
    Copy(Box<CopyArgs>),
    /// Prove a copy complete and intact: every key matched, or exactly which are not.
    Verify(Box<VerifyArgs>),
    /// Put keys back as they were at a past time, from the replica's (or the source's own)
    /// versions, server-side. Exit 0 restored, 1 some keys failed, 2 could not run.
    Restore(Box<RestoreArgs>),
    /// Print a shell completion script: `s3bridge completions bash > /etc/bash_completion.d/s3bridge`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    Man(ManArgs),
}

/// How to reach AWS: the same flags on every command that talks to it, read the way the
/// AWS CLI reads them.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "AWS access")]
pub struct AwsArgs {
    /// Named profile (~/.aws/config) for both sides, as `aws --profile`. Its region is
    /// used where neither the spec nor a flag gives one.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Profile for the source side (default: --profile, else the default credential chain).
    #[arg(long, value_name = "NAME")]
    pub source_profile: Option<String>,
    /// Profile for the destination side (default: --profile, else the default credential
    /// chain).
    #[arg(long, value_name = "NAME")]
    pub destination_profile: Option<String>,
    /// Region of both buckets given as s3:// URLs (default: asked of S3 with HeadBucket).
    /// With a spec, the spec's regions are used and this must agree with them.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Region of the source bucket (default: --region).
    #[arg(long, value_name = "REGION")]
    pub source_region: Option<String>,
    /// Region of the destination bucket (default: --region).
    #[arg(long, value_name = "REGION")]
    pub destination_region: Option<String>,
    /// Send every request to this AWS-compatible endpoint (moto, LocalStack, MinIO)
    /// instead of AWS; S3 is then addressed path-style.
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    /// The profile of one side: its own flag, else --profile.
    pub fn profile(&self, side: crate::spec::Side) -> Option<String> {
        match side {
            crate::spec::Side::Source => self.source_profile.clone(),
            crate::spec::Side::Destination => self.destination_profile.clone(),
        }
        .or_else(|| self.profile.clone())
    }

    /// The region one side's flags give: its own flag, else --region.
    pub fn region(&self, side: crate::spec::Side) -> Option<String> {
        match side {
            crate::spec::Side::Source => self.source_region.clone(),
            crate::spec::Side::Destination => self.destination_region.clone(),
        }
        .or_else(|| self.region.clone())
    }
}

/// Which source keys to copy or verify (on top of the spec's copy.include/exclude).
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only source keys matching this glob (repeatable; `*` stays within one `/` level,
    /// `**` crosses levels; a glob without `/` also matches the last path element).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out source keys matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print a complete, valid example spec instead (the README's) to start from.
    #[arg(long)]
    pub example: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write s3bridge.1 and one s3bridge-COMMAND.1 per command into DIR instead of
    /// printing the top-level page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl Cli {
    /// Whether the command prints JSON (`--format json`); its failures are then a JSON
    /// document on stdout too.
    pub fn wants_json(&self) -> bool {
        match &self.command {
            Command::Validate(a) => a.format == TextOrJson::Json,
            Command::Generate(a) => a.format == TextOrJson::Json,
            Command::Policies(a) => a.format == TextOrJson::Json,
            Command::ReplicateExisting(a) => a.format == TextOrJson::Json,
            Command::Status(a) => a.format == TextOrJson::Json,
            Command::Shards(ShardsCommand::Plan(a)) => a.format == TextOrJson::Json,
            Command::Shards(ShardsCommand::Show(a)) => a.format == TextOrJson::Json,
            Command::Audit(a) => a.format == AuditFormat::Json,
            Command::Copy(a) => a.format == TextOrJson::Json,
            Command::Verify(a) => a.format == VerifyFormat::Json,
            Command::Restore(a) => a.format == TextOrJson::Json,
            Command::Schema(_)
            | Command::Discover(_)
            | Command::Reencrypt(_)
            | Command::Completions(_)
            | Command::Man(_) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The spec file.
    pub spec: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The spec file.
    pub spec: PathBuf,
    /// Directory to write the Terraform root module into (created if missing).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Write nothing; exit 1 with a unified diff when DIR differs from what SPEC generates.
    #[arg(long)]
    pub check: bool,
    /// Overwrite files in DIR that s3bridge did not write.
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
    /// Write this AWS-compatible endpoint (moto, LocalStack) into the bundle's providers,
    /// so Terraform sends every request there instead of AWS. (generate itself sends none.)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Output format of the result (files written, or the differences with --check).
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The live source bucket, s3://BUCKET.
    pub source: String,
    /// The live destination bucket, s3://BUCKET (usually in another account).
    pub destination: String,
    /// Write the spec to this file instead of stdout (refused if it exists, unless --force).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Name of the replication in the spec (default: from the source bucket's name).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ReencryptArgs {
    /// The spec file.
    pub spec: PathBuf,
    /// Which bucket's objects to rewrite.
    #[arg(long, value_enum, default_value_t = crate::spec::Side::Source)]
    pub side: crate::spec::Side,
    /// Count what would be rewritten; rewrite nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who rewrites: `local` (this machine sends the copies). `batch` is not built yet.
    #[arg(long, value_enum)]
    pub engine: Option<crate::spec::CopyEngine>,
    /// Objects HEADed and rewritten at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=512))]
    pub concurrency: u32,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct PoliciesArgs {
    /// The spec file.
    pub spec: PathBuf,
    /// Output format: a review table per document, or the documents as JSON (as AWS
    /// stores them).
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// Print instead the least-privilege read-only policy `s3bridge audit` needs, per
    /// account. It reads no object: an auditor holding it cannot download data.
    #[arg(long)]
    pub auditor: bool,
    /// With --auditor: add what `audit --object-status` needs (s3:ListBucket and
    /// s3:GetObject on the replicating buckets' objects, which also allows downloads of
    /// objects whose key the auditor may use or that are not KMS-encrypted).
    #[arg(long, requires = "auditor")]
    pub object_status: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Text,
    Json,
    Sarif,
    Junit,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The spec file.
    pub spec: PathBuf,
    /// Output format (SARIF 2.1.0 for code scanning, JUnit XML for CI test tabs).
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
    /// Exit 1 only for findings at or above this severity.
    #[arg(long, value_enum, default_value_t = crate::audit::Severity::Low)]
    pub fail_on: crate::audit::Severity,
    /// Without a profile, each side acts as the spec's terraform_role, assumed from the
    /// default credential chain (or as the chain itself when the spec names none).
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Also HEAD the most recent objects of replicating buckets for their replication
    /// status (FAILED objects are findings). Needs s3:GetObject, which the default auditor
    /// policy leaves out: `s3bridge policies SPEC --auditor --object-status` adds it.
    #[arg(long)]
    pub object_status: bool,
}

#[derive(Debug, Args)]
pub struct ReplicateExistingArgs {
    /// The spec file.
    pub spec: PathBuf,
    /// Print the CreateJob input as JSON (what `aws s3control create-job --cli-input-json`
    /// takes) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of the result.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Following an S3 Batch Operations job s3bridge creates (`replicate-existing`,
/// `copy --engine batch`).
#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// Follow the job to its end, then summarise its completion report; exit 1 if any
    /// object failed.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between two progress checks with --wait.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub poll_interval: f64,
    /// Start another job where the same request already ran one (e.g. 2, to retry
    /// objects that failed once the cause is fixed). The same request and attempt never
    /// create a second job.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub attempt: u32,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The spec file.
    pub spec: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Subcommand)]
pub enum ShardsCommand {
    /// List the source bucket once and write the shard plan every worker reads.
    Plan(Box<ShardsPlanArgs>),
    /// Print the key ranges of N shards of a plan.
    Show(ShardsShowArgs),
}

#[derive(Debug, Args)]
pub struct ShardsPlanArgs {
    /// A spec file (its source bucket), or the source as s3://BUCKET[/PREFIX].
    #[arg(value_name = "SPEC | s3://BUCKET[/PREFIX]")]
    pub source: String,
    /// Where to write the plan (JSON).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Only keys under this prefix of the source bucket (with a spec; an s3:// URL
    /// carries its own).
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// How many sampled keys the plan keeps; shards stay within 2x of each other up to
    /// about resolution/12 shards.
    #[arg(long, default_value_t = crate::transfer::shard::DEFAULT_RESOLUTION)]
    pub resolution: usize,
    /// Output format of the result.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ShardsShowArgs {
    /// The plan file `s3bridge shards plan` wrote.
    pub plan: PathBuf,
    /// Number of shards.
    #[arg(long, value_name = "N")]
    pub shards: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
}

/// `--shard I/N --shard-plan PLAN`: one of N key ranges of the source, for running
/// `copy` or `verify` on many machines side by side (docs/sharding.md).
#[derive(Debug, Clone, Args)]
pub struct ShardArgs {
    /// Only the I-th (from 0) of N key ranges of the source. N processes with
    /// I = 0..N-1 and the same plan together cover every key exactly once.
    #[arg(long, value_name = "I/N", requires = "shard_plan")]
    pub shard: Option<crate::transfer::shard::ShardSelector>,
    /// The plan `s3bridge shards plan` wrote; every shard must read the same file.
    #[arg(long, value_name = "FILE", requires = "shard")]
    pub shard_plan: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    Text,
    Json,
    Junit,
}

/// Exit status: 0 every object matched; 1 something is missing, extra (unless
/// --allow-extra), or differs in size or content; 3 nothing wrong found but some objects
/// could not be verified; 2 the verification could not run.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A spec file (its buckets, prefixes and copy.prefix_map), or two S3 URLs:
    /// s3://SOURCE-BUCKET[/prefix] s3://DESTINATION-BUCKET[/prefix].
    #[arg(required = true, num_args = 1..=2, value_name = "SPEC | SRC DST")]
    pub targets: Vec<String>,
    /// Spec mode: assume the spec's copy role (from the source side's credentials) for
    /// both sides, as `copy --assume-copy-role` does.
    #[arg(long)]
    pub assume_copy_role: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    pub format: VerifyFormat,
    /// Write every key that did not match to FILE as it is found (.csv or .jsonl).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Objects only in the destination do not fail the verification.
    #[arg(long)]
    pub allow_extra: bool,
    /// Read the bytes of every object that listings and checksums cannot settle.
    #[arg(long)]
    pub deep: bool,
    /// Read the bytes of N randomly chosen objects that listings and checksums cannot
    /// settle; the others stay unverified.
    #[arg(long, value_name = "N", conflicts_with = "deep")]
    pub sample: Option<u64>,
    /// Read the source keys from this S3 Inventory (CSV) manifest.json instead of
    /// listing: s3://INVENTORY-BUCKET/.../manifest.json or a local mirror's path.
    #[arg(long, value_name = "MANIFEST")]
    pub source_inventory: Option<String>,
    /// Read the destination keys from this S3 Inventory manifest.json.
    #[arg(long, value_name = "MANIFEST")]
    pub destination_inventory: Option<String>,
    /// Key ranges listed and objects checked at once. Half of copy's default: with --deep
    /// every object in flight streams its bytes through this machine to be hashed.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Memory for sorting inventories, in MiB (more spills to --temp-dir).
    #[arg(long, value_name = "MIB", default_value_t = 40)]
    pub inventory_memory: usize,
    /// Also check each local inventory data file's MD5 against the manifest (files read
    /// from S3 always are; size and gzip CRC-32 are always checked).
    #[arg(long)]
    pub inventory_md5: bool,
    /// Where inventory sort runs and queued objects are spilled (default: system temp).
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Restore proof (`--as-of TIME`): the target's current objects against the
    /// restored-from bucket's state at TIME, instead of source against destination.
    #[command(flatten)]
    pub point: RestorePoint,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub interrupt: InterruptArgs,
}

/// How a run stops on Ctrl-C or SIGTERM (copy and verify).
#[derive(Debug, Clone, Args)]
pub struct InterruptArgs {
    /// After the first Ctrl-C or SIGTERM, seconds the work in flight may take to finish
    /// before it is stopped (multipart uploads aborted). The summary and report are
    /// written either way; a second signal stops it at once, a third exits.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::transfer::shutdown::DEFAULT_GRACE_SECONDS)]
    pub grace_period: u64,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  s3bridge copy spec.yaml --assume-copy-role --dry-run\n  s3bridge copy s3://a/images/ s3://b/avatar/ --format json --report copy.jsonl"
)]
pub struct CopyArgs {
    /// A spec file, or the source as s3://BUCKET[/PREFIX/] for an ad hoc copy.
    pub source: String,
    /// The destination as s3://BUCKET[/PREFIX/] (ad hoc copy only). Keys under the
    /// source prefix land under this prefix instead.
    pub destination: Option<String>,
    /// Spec mode: assume the spec's copy role (from the source side's credentials) for
    /// both sides, so S3 copies server-side. Without it, sides with different profiles
    /// are streamed GET → PUT through this machine; with it, --destination-profile is
    /// only used to create the batch engine's job (in the destination account).
    #[arg(long)]
    pub assume_copy_role: bool,
    /// Encrypt copies with this KMS key ARN (SSE-KMS). Spec mode: default the
    /// destination's key, resolved from its alias ARN with kms:DescribeKey (granted to
    /// the copy role); a local --dry-run needs no key.
    #[arg(long, value_name = "ARN")]
    pub destination_kms_key: Option<String>,
    /// Storage class of the copies (default: the spec rule's, else the source object's).
    #[arg(long, value_name = "CLASS")]
    pub storage_class: Option<String>,
    /// Objects copied at once (lowered automatically while S3 answers SlowDown). Each is
    /// a server-side copy that holds no bytes here, so twice verify's default.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// List and compare only: print counts, bytes and the request cost of the copy.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete destination objects (within the copied prefixes) that the source does not
    /// have, after the copy. The count and the first keys are printed before anything is
    /// deleted; more than --delete-threshold need --yes (or a "y" on a terminal).
    #[arg(long)]
    pub delete: bool,
    /// With --delete: delete more than --delete-threshold objects without asking. Without
    /// it, a run whose stdin is not a terminal refuses (exit 2) and deletes nothing.
    #[arg(long, requires = "delete")]
    pub yes: bool,
    /// With --delete: how many deletions a run may make without --yes.
    #[arg(long, value_name = "N", default_value_t = crate::transfer::copy::DEFAULT_DELETE_THRESHOLD, requires = "delete")]
    pub delete_threshold: u64,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// Write one JSON line per object (source key, version, ETag → destination key,
    /// action, result) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub shard: ShardArgs,
    #[command(flatten)]
    pub interrupt: InterruptArgs,
    // --- the batch engine (`--engine batch`) ---
    /// Who copies: `local` (this machine) or `batch` (an S3 Batch Operations
    /// S3PutObjectCopy job over a manifest of what is missing or different; objects over
    /// 5 GiB, renamed keys and other storage classes are still copied here). Default: the
    /// spec's `copy.engine`, else local.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub engine: Option<crate::spec::CopyEngine>,
    /// Batch engine: the role S3 Batch Operations assumes (default: the spec's
    /// `<name>-batch-copy` role; required with s3:// URLs).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Batch engine: s3://BUCKET/PREFIX/ where the manifest is uploaded and S3 writes the
    /// completion report (default: the spec's `s3bridge/batch-copy/` in the destination bucket;
    /// required with s3:// URLs).
    #[arg(long, value_name = "S3URL")]
    pub work_prefix: Option<String>,
    /// Batch engine: keep the manifest CSV at FILE (default: a temporary file, kept and
    /// printed with --dry-run).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Batch engine: --wait, --poll-interval, --attempt.
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Which bucket a restore reads its versions from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RestoreFrom {
    /// The replica (the spec's destination bucket): restore the source from its backup.
    Destination,
    /// The source bucket's own versions: roll it back in place.
    Source,
}

/// `s3bridge restore` (and `verify --as-of`): what to restore, as of when, into where.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The spec file (its buckets, prefixes, keys and copy.prefix_map).
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    #[command(flatten)]
    pub point: RestorePoint,
    /// Assume the spec's restore role (its `restore:` section) for both buckets, from the
    /// source side's credentials: one principal, so S3 copies server-side.
    #[arg(long)]
    pub assume_restore_role: bool,
    /// Plan only: counts, bytes, the versions chosen and the request cost; nothing written.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete the target's keys that did not exist at TIME (a delete marker where the
    /// target is versioned). Without it they are listed and kept.
    #[arg(long)]
    pub delete_newer: bool,
    /// Write one JSON line per key (version chosen, action, result) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// Objects copied at once.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub interrupt: InterruptArgs,
}

/// The state a restore brings back (shared by `restore` and `verify --as-of`).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Point in time")]
pub struct RestorePoint {
    /// The moment to restore, RFC 3339: 2026-03-01T09:30:00Z (or with an offset).
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Only keys under this prefix (a key prefix of the source bucket; repeatable).
    /// Default: every prefix the spec replicates.
    #[arg(long = "prefix", value_name = "P")]
    pub prefixes: Vec<String>,
    /// Where the versions are read: the replica (default) or the source's own versions.
    #[arg(long, value_enum, value_name = "destination|source")]
    pub from: Option<RestoreFrom>,
    /// Where the keys are restored: `source` (default), or s3://BUCKET/PREFIX to put
    /// them beside the data (under PREFIX, with their source keys).
    #[arg(long, value_name = "source|s3://BUCKET/PREFIX")]
    pub to: Option<String>,
}
