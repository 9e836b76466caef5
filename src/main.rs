//! The `s3bridge` binary: everything, from parsing the command line to the exit status,
//! is `s3bridge::commands::main`; this file only picks the allocator.

use std::process::ExitCode;

/// mimalloc: a copy makes many small, short-lived allocations per request (SDK request
/// and response shapes); glibc's allocator spent a fifth of the client's CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(s3bridge::commands::main())
}
