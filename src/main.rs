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
    return_freed_memory_at_once();
    ExitCode::from(s3bridge::commands::main())
}

/// mimalloc's `purge_delay` option (mimalloc.h, `mi_option_e`): how long memory freed back
/// to the allocator stays resident before it is returned to the OS (1000 ms by default in
/// the bundled mimalloc v3, src/options.c). `verify` frees its sort buffers chunk after chunk, and with
/// the delay the freed chunks overlapped the next ones' allocations: 66 MiB peak instead of
/// 55 MiB at 1M rows, over the 64 MB budget. Set to 0 (return at once), the same as
/// MIMALLOC_PURGE_DELAY=0. Copy's client CPU over a 1M-key listing did not change
/// (BENCHMARKS.md). The index is the enum's position in the bundled mimalloc v3 header
/// (the same in v2); libmimalloc-sys's own constants predate the option, so a unit test
/// below checks that the index still names it.
const MI_OPTION_PURGE_DELAY: i32 = 15;

unsafe extern "C" {
    /// mimalloc's `void mi_option_set(mi_option_t option, long value)`, linked in with the
    /// allocator itself.
    fn mi_option_set(option: i32, value: std::ffi::c_long);
}

fn return_freed_memory_at_once() {
    // SAFETY: sets one of mimalloc's options, a plain integer it reads at each purge.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
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

#[cfg(test)]
mod tests {
    use super::MI_OPTION_PURGE_DELAY;

    unsafe extern "C" {
        fn mi_option_get(option: i32) -> std::ffi::c_long;
    }

    /// Of all of mimalloc v3's options only `purge_delay` defaults to 1000 (src/options.c):
    /// an upgrade that moves the enum fails here instead of silently setting another option.
    #[test]
    fn the_purge_delay_index_names_mimallocs_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads one of mimalloc's integer options.
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, 1000);
    }
}
