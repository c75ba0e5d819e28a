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

/// The language of the output: the first of `LC_ALL`, `LC_MESSAGES` and `LANG` that is set
/// (POSIX order), read by [`lgt_core::Lang::from_locale`] (English for `en*` and `C`/`POSIX`);
/// Chinese otherwise. Temporary, until the global `--lang` flag takes over.
pub(crate) fn lang() -> lgt_core::Lang {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    locale
        .and_then(|l| lgt_core::Lang::from_locale(&l))
        .unwrap_or_default()
}

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
