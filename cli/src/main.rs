//! `lgt`: the field workflow of the 流管通 core on a desktop, for integrators, testers and
//! operators. Human output by default, `--json` for machines; exit status 0 on success and
//! non-zero with a one-line reason on any error. Human text and errors are in Chinese or
//! English, as `--lang` or the locale says (Chinese by default).

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
    let lang = cli.lang();
    match commands::run(cli, lang) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::error(json, lang, &error);
            ExitCode::FAILURE
        }
    }
}
