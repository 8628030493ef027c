//! The `assure` binary: parses the command line, runs one command, and maps
//! failures to exit codes (0 ok, 1 user error, 2 integrity failure, 3
//! `assure status` found something that needs attention).

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use assure_node::datadir;
use clap::Parser as _;

fn main() -> ExitCode {
    // Usage errors are user errors (1); 2 stays reserved for damaged data.
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is::<commands::NeedsAttention>() => ExitCode::from(3),
        Err(error) => {
            eprintln!("error: {error:#}");
            if commands::is_integrity_failure(&error) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
