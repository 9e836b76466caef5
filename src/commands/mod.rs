//! One module per subcommand: each turns parsed arguments into library calls and output.
//!
//! Exit statuses are shared by every command so pipelines can rely on them: 0 all good,
//! 1 the answer is "no" (invalid spec, drift, a diff, a mismatch), 2 the command could
//! not do its job (unreadable files, no credentials, unreachable endpoint). `verify`
//! adds 3 for "nothing wrong found, but some objects could not be verified".

mod copy;
mod generate;
mod policies;
mod validate;

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
        Command::Copy(args) => copy::run(&args),
    }
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
