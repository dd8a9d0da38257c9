use std::process::ExitCode;

use clap::Parser;
use djbench::cli::Cli;

fn main() -> ExitCode {
    // First: this may be djbench started again as its own watchdog.
    djbench::deploy::watchdog::install();
    djbench::commands::run(Cli::parse()).into()
}
