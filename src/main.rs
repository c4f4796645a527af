//! The `gilmour` binary: parses the command line and hands over to [`cli`], which runs a
//! subcommand or the terminal app ([`tui`]).

mod cli;
mod tui;

use clap::Parser;
use std::process::ExitCode;

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
