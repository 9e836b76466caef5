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
    /// Compare what is deployed in both accounts with the spec and explain every drift
    /// (read-only). Exit 0 clean, 1 findings at or above --fail-on, 2 could not audit.
    Audit(AuditArgs),
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
    /// Print instead the least-privilege read-only policy `s3bridge audit` needs, per
    /// account.
    #[arg(long)]
    pub auditor: bool,
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
    /// An S3/IAM/KMS/STS-compatible endpoint (moto, LocalStack) instead of AWS.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Profile for the source account (default: the spec's terraform_role, assumed from
    /// the default credential chain, or the chain itself).
    #[arg(long, value_name = "PROFILE")]
    pub source_profile: Option<String>,
    /// Profile for the destination account (default as for the source).
    #[arg(long, value_name = "PROFILE")]
    pub destination_profile: Option<String>,
}
