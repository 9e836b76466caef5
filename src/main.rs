//! The `s3bridge` binary: everything, from parsing the command line to the exit status,
//! is `s3bridge::commands::main`; this file only picks the allocator and how it may use
//! the kernel's pages.

use std::process::ExitCode;

/// mimalloc: a copy makes many small, short-lived allocations per request (SDK request
/// and response shapes); glibc's allocator spent a fifth of the client's CPU on them.
/// Built with its `no_thp` feature: it never asks for transparent huge pages itself.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    keep_memory_in_small_pages();
    ExitCode::from(s3bridge::commands::main())
}

/// Turns transparent huge pages off for this process, before any allocation worth the
/// name. Where the system's THP mode is `always` (many distributions' default), the
/// kernel backs every 2 MiB-aligned stretch of an anonymous mapping with one huge page on
/// first touch; mimalloc reserves its arenas in such stretches and commits them lazily,
/// so memory it had barely touched became resident 2 MiB at a time: `verify` over two
/// 10M-row inventories peaked at 105-111 MB instead of its 64 MB budget (BENCHMARKS.md
/// has the numbers with and without). mimalloc's `no_thp` feature only stops its own
/// madvise(MADV_HUGEPAGE) (the `madvise` mode); this prctl covers `always`. The flag is
/// per process, inherited by children and kept across execve (PR_SET_THP_DISABLE(2const),
/// Linux 3.15+; the kernel's admin-guide/mm/transhuge.rst). Failure (an old kernel, a
/// seccomp filter) only costs memory, so it is ignored.
#[cfg(target_os = "linux")]
fn keep_memory_in_small_pages() {
    // SAFETY: prctl with integer arguments only sets a flag of this process.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1 as libc::c_ulong, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn keep_memory_in_small_pages() {}
