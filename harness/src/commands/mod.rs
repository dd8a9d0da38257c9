//! The commands: what each does, and how it reports: plain text for people on stdout, errors on
//! stderr, the exit status as the contract says (0 ok, 1 a check failed, 2 bad input). This
//! file dispatches and holds what several commands share (finding a scenario, tables, JSON);
//! each command lives in a file of its own. Commands call into the modules that do the work;
//! nothing but `main` calls into them.

use std::io::IsTerminal;
use std::process::ExitCode;

use anstream::eprintln;
use comfy_table::{Table, presets};

use crate::cli::{Cli, Color, Command, ScenarioArgs};
use crate::provision::Wants;
use crate::scenario::{Scenario, ScenarioDirs};

mod capacity;
mod check;
mod compare;
mod init;
mod list;
mod load;
mod report;
mod scenario;
mod schema;
mod setup;
mod validate;

/// The exit status contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// A threshold or a regression check failed.
    Failed = 1,
    /// Bad input (a scenario, a flag) or an environment that cannot do what was asked.
    BadInput = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

pub fn run(cli: Cli) -> Exit {
    let choice = match cli.color {
        Color::Auto => anstream::ColorChoice::Auto,
        Color::Always => anstream::ColorChoice::Always,
        Color::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    let dirs = ScenarioDirs::default();
    match cli.command {
        Command::Scenario(args) => scenario::scenario_cmd(&args, &dirs),
        Command::Demo(args) => scenario::scenario_cmd(
            &ScenarioArgs {
                scenario: args.scenario,
                dry_run: false,
                json: false,
                out: args.out,
                duration: args.duration,
                keep: false,
                repetitions: None,
                live: true,
            },
            &dirs,
        ),
        Command::Validate { scenarios } => validate::validate(&scenarios, &dirs),
        Command::List => list::list(&dirs),
        Command::Schema => schema::schema(),
        Command::Load(args) => load::load_cmd(&args),
        Command::Capacity(args) => capacity::capacity_cmd(&args, &dirs),
        Command::Compare(args) => compare::compare_cmd(&args),
        Command::Report {
            results,
            out,
            exports,
        } => report::report_cmd(&results, out.as_deref(), &exports),
        Command::Check(args) => check::check_cmd(&args),
        Command::Init(args) => init::init_cmd(&args),
        Command::Setup(args) => setup::setup(&args),
        Command::Doctor {
            json,
            gil_twin,
            postgres,
        } => setup::doctor(json, Wants { gil_twin, postgres }),
    }
}

/// Whether diagnostics on stderr get colour (anstream strips it again where it must).
fn styled() -> bool {
    match anstream::ColorChoice::global() {
        anstream::ColorChoice::Never => false,
        anstream::ColorChoice::Auto => std::io::stderr().is_terminal(),
        _ => true,
    }
}

impl crate::cli::ProjectArgs {
    /// The project these flags name (`check` and `init`), or exit 2 saying why there is none.
    fn find(&self) -> Result<crate::check::project::Project, Exit> {
        crate::check::project::find(
            &self.path,
            self.settings.as_deref(),
            self.requirements.as_deref(),
        )
        .map_err(|e| {
            eprintln!("error: {e}");
            Exit::BadInput
        })
    }
}

/// Finds and checks one scenario, printing why not when it cannot.
fn load(given: &str, dirs: &ScenarioDirs) -> Result<Scenario, Exit> {
    let path = crate::scenario::locate(given, dirs).map_err(|not_found| {
        eprintln!("error: {not_found}");
        Exit::BadInput
    })?;
    crate::scenario::load(&path).map_err(|invalid| {
        eprintln!("{}", invalid.render(styled()));
        Exit::BadInput
    })
}

/// Tells each run that failed or left processes behind, and an interruption; Failed when any.
fn run_problems(outcomes: &[crate::run::RunOutcome], stop: &std::sync::atomic::AtomicBool) -> Exit {
    let mut exit = Exit::Ok;
    for o in outcomes {
        if let Some(f) = &o.failure {
            eprintln!("error: {} #{}: {f}", o.label, o.repetition);
            exit = Exit::Failed;
        }
        if !o.survivors.is_empty() {
            eprintln!(
                "error: {}: processes survived teardown: {:?}",
                o.label, o.survivors
            );
            exit = Exit::Failed;
        }
    }
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "djbench: interrupted: the runs above are incomplete; every deployment was torn down"
        );
        exit = Exit::Failed;
    }
    exit
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    // Off a terminal (pipes, CI logs) wrap to a width that still reads well.
    if t.width().is_none() {
        t.set_width(110);
    }
    t
}

/// comfy-table pads every cell; trailing blanks only get in the way of copy and paste.
/// Machine-readable output: what djbench builds always serialises.
fn print_json<T: serde::Serialize>(v: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("djbench's reports serialise")
    );
}

fn print_table(t: &Table) {
    for line in t.to_string().lines() {
        println!("{}", line.trim_end());
    }
}
