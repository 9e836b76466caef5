//! The `s3bridge` binary: parse the command line, run the command, turn the outcome into
//! an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a copy makes many small, short-lived allocations per request (SDK request
/// and response shapes); glibc's allocator spent a fifth of the client's CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = s3bridge::cli::Cli::parse();
    match s3bridge::commands::run(cli) {
        Ok(status) => ExitCode::from(status.code()),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(s3bridge::commands::Status::CouldNotRun.code())
        }
    }
}
