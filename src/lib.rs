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
//! `main.rs` only parses the command line and maps outcomes to exit codes; each
//! subcommand lives in `commands/`.

pub mod arn;
pub mod audit;
pub mod aws;
pub mod batch;
pub mod cli;
pub mod commands;
pub mod model;
pub mod policy;
pub mod render;
pub mod report;
pub mod spec;
pub mod transfer;
