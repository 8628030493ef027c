//! The `assure` binary: parses the command line, runs one command, and maps
//! failures to exit codes (0 ok, 1 user error, 2 integrity failure).

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use assure_node::datadir;
use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
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
