//! The `assure` binary: parses the command line, runs one command, and maps
//! failures to exit codes (0 ok, 1 user error, 2 integrity failure, 3
//! `assure status` found something that needs attention).

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use assure_node::datadir;
use clap::Parser as _;

/// The exit code of a command whose standard output was closed early
/// (`assure records | head -1`): 128 + SIGPIPE, what the shell reports for
/// `cat` or `grep` in the same place, so `set -o pipefail` scripts see the
/// same thing for us as for them.
const BROKEN_PIPE: i32 = 141;

/// Makes a closed standard output end the process quietly.
///
/// Rust ignores SIGPIPE, so a write to a closed pipe fails with EPIPE and
/// `println!` panics with a backtrace. Restoring SIGPIPE's default needs
/// `unsafe` (forbidden in this workspace) and would also kill the node on a
/// socket write; so the panic `println!` raises for EPIPE on stdout, and only
/// that one, exits with [`BROKEN_PIPE`] instead. Every other panic prints as
/// before. A running node whose stdout goes away exits the same way; its
/// store is crash-safe, as after SIGKILL.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout")
            && (message.contains("Broken pipe") || message.contains("os error 32"))
        {
            std::process::exit(BROKEN_PIPE);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
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
