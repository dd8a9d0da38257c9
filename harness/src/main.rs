use std::process::ExitCode;

use clap::Parser;
use djbench::cli::Cli;

fn main() -> ExitCode {
    djbench::commands::run(Cli::parse()).into()
}
