//! `lgt`: the field workflow of the 流管通 core on a desktop, for integrators, testers and
//! operators. Human output by default, `--json` for machines; exit status 0 on success and
//! non-zero with a one-line reason on any error.

mod args;
mod commands;
mod demo;
mod output;
mod scan;
mod watchlist;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json = cli.json;
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::error(json, &error);
            ExitCode::FAILURE
        }
    }
}
