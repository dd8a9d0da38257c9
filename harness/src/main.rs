use std::process::ExitCode;

use clap::Parser;
use djbench::cli::Cli;

fn main() -> ExitCode {
    // First: this may be djbench started again as its own watchdog.
    djbench::deploy::watchdog::install();
    quiet_on_closed_stdout();
    djbench::commands::run(Cli::parse()).into()
}

/// A reader that stops early (`djbench list | head -1`) closes stdout: that ends djbench quietly
/// with 141 (128 + SIGPIPE, as a shell reports `ls | head -1`'s ls), not with a panic's
/// message. SIGPIPE itself stays ignored, so a server closing a connection under load never
/// kills the generator.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = djbench::panics::panic_message(info.payload());
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
