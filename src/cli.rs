//! Command-line definitions (clap). Each subcommand's arguments are a struct that its
//! module in `commands/` receives.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "s3bridge",
    version,
    about = "Set up, prove and keep honest a cross-account S3 replication from one YAML spec.",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec and report every problem with file:line:col.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the spec (for editor completion).
    Schema,
    /// Write the Terraform bundle for a spec.
    Generate(GenerateArgs),
    /// Print every policy document the bundle creates.
    Policies(PoliciesArgs),
    /// Copy the objects already in the source bucket: only what is missing or different,
    /// server-side where one principal reaches both buckets, streamed otherwise.
    Copy(Box<CopyArgs>),
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
    /// Point the providers at an S3/IAM/KMS/STS-compatible endpoint (moto, LocalStack)
    /// instead of AWS.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct PoliciesArgs {
    /// The spec file.
    pub spec: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Json)]
    pub format: TextOrJson,
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
    /// An S3-compatible endpoint instead of AWS (path-style addressing).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Profile for the source side (default credential chain when absent).
    #[arg(long, value_name = "NAME")]
    pub source_profile: Option<String>,
    /// Profile for the destination side. When the two sides use different credentials,
    /// objects are streamed GET → PUT through this machine instead of copied server-side.
    /// With --assume-copy-role it is only used to resolve the destination key's alias.
    #[arg(long, value_name = "NAME")]
    pub destination_profile: Option<String>,
    /// Spec mode: assume the spec's copy role (from the source profile's credentials) for
    /// both sides, so S3 copies server-side.
    #[arg(long)]
    pub assume_copy_role: bool,
    /// Region of the source bucket (ad hoc; default $AWS_REGION, else us-east-1).
    #[arg(long, value_name = "REGION")]
    pub source_region: Option<String>,
    /// Region of the destination bucket (ad hoc; default: the source's).
    #[arg(long, value_name = "REGION")]
    pub destination_region: Option<String>,
    /// Encrypt copies with this KMS key ARN (SSE-KMS). Spec mode: default the
    /// destination's key, resolved from its alias with kms:DescribeKey.
    #[arg(long, value_name = "ARN")]
    pub destination_kms_key: Option<String>,
    /// Storage class of the copies (default: the spec rule's, else the source object's).
    #[arg(long, value_name = "CLASS")]
    pub storage_class: Option<String>,
    /// Objects copied at once (lowered automatically while S3 answers SlowDown).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Only source keys matching this glob (repeatable; `*` stays within one `/` level,
    /// `**` crosses levels; a glob without `/` also matches the last path element).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out source keys matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// List and compare only: print counts, bytes and the request cost of the copy.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete destination objects (within the copied prefixes) that the source does not
    /// have. Each key is printed before it is deleted.
    #[arg(long)]
    pub delete: bool,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// Write one JSON line per object (source key, version, ETag → destination key,
    /// action, result) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// No progress display on stderr.
    #[arg(long)]
    pub quiet: bool,
}
