//! s3bridge: set up, prove and keep honest a cross-account S3 replication from one
//! declarative YAML spec.
//!
//! Data flows one way:
//!
//! ```text
//! spec (YAML) ──▶ model (desired state) ──┬──▶ render (Terraform)
//!                                         └──▶ audit (live state vs model)
//! listings ──▶ diff ──┬──▶ copy
//!                     └──▶ verify
//! ```
//!
//! `commands::main` parses the command line, runs one subcommand (a module each in
//! `commands/`) and turns the outcome into the exit status; `error` is the one error
//! type and its rendering, `output` where words go (stdout, stderr, `--quiet`).

pub mod arn;
pub mod audit;
pub mod aws;
pub mod batch;
pub mod cli;
pub mod commands;
pub mod error;
pub mod model;
pub mod output;
pub mod policy;
pub mod render;
pub mod report;
pub mod spec;
pub mod transfer;
