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
