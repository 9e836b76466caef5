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
