//! The `gilmour` binary: parses the command line and hands over to [`cli`], which runs a
//! subcommand or the terminal app ([`tui`]).

mod cli;
mod tui;

use clap::Parser;
use std::process::ExitCode;

// glibc's allocator serialises threads on its arena locks under the message rates the
// engine and the inspector reach; mimalloc's per-thread heaps do not (see the README's
// benchmark figures). Version 2 of mimalloc (the `v2` feature): version 3 held freed
// payload memory for a second before returning it, so an inspector cutting and evicting
// large payloads stayed ~100 MiB above its byte budget (`gilmour bench ingest`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v2's `mi_option_purge_delay` (its `mimalloc.h`; the sys crate names only
/// some options): how many milliseconds freed memory waits before going back to the
/// system (10 by default).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Has the allocator give freed memory back to the system as it is freed. By default
/// mimalloc v2 waits 10 ms and then does it on the freeing thread's next allocations:
/// a process that goes quiet after big payloads never does, and `gilmour broker` stayed
/// at 66 MB after a few 10 MB messages where it started at 19 MB.
#[allow(unsafe_code)]
pub(crate) fn return_freed_memory_at_once() {
    // SAFETY: mi_option_set stores a number mimalloc reads at its next purge; it may
    // be called from any thread at any time, and PURGE_DELAY is an option of the
    // version built (checked by a test).
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) }
}

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.verbose, args.opens_app());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gilmour: cannot start the async runtime: {error}");
            return ExitCode::from(cli::EXIT_UNAVAILABLE);
        }
    };
    runtime.block_on(cli::run(args))
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(unsafe_code)]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading an option has no precondition.
        let read = || unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        // Its default of 10 tells it from the options around it (1 and 0).
        assert_eq!(read(), 10);
        super::return_freed_memory_at_once();
        assert_eq!(read(), 0);
    }
}
