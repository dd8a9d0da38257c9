//! The command line: what each command and flag means. Parsing only; `commands` does the work.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Measure what each way of deploying a Django app costs and gives: \
gunicorn + celery + redis, one process of Python 3.14 subinterpreters, or one free-threaded \
process.";

const LONG_ABOUT: &str = "Measure what each way of deploying a Django app costs and gives.

djbench deploys the same sample Django app as gunicorn + celery + redis (three programs), as \
one CPython 3.14 process whose web and task workers are subinterpreters, or as one \
free-threaded process whose workers are threads. It drives each with its own load generator, \
samples the memory (ΣPSS) and CPU of the whole deployment, measures background-task latency, \
and writes reports.

A scenario file (YAML) says which deployments to compare and how to load them. A bare name \
like `compare_modes` resolves to scenarios/compare_modes.yaml.";

const EXAMPLES: &str = "Examples:
  djbench list                                 shipped scenarios and the deployment modes
  djbench validate scenarios/*.yaml            check scenario files (line and column on errors)
  djbench scenario compare_modes --dry-run     show the plan: runs in order, durations, wall time
  djbench demo                                 the talk's demo, live on a full screen (q n p keys)
  djbench schema > scenario.schema.json        JSON Schema for YAML completion in editors
  djbench init ~/src/shop                      a starter scenario for your own Django project
  djbench setup                                provision interpreters, virtualenvs, redis
  djbench doctor                               what is ready, and what setup would still do

Exit status: 0 ok, 1 a threshold or regression failed, 2 bad input or environment.
Format reference: scenarios/README.md";

#[derive(Debug, Parser)]
#[command(
    name = "djbench",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour the output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when writing to a terminal.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: provision what is missing, deploy each mode in turn, load it, tear it
    /// down. With --dry-run, show the plan instead.
    ///
    /// Each run gets the scenario's endpoint mix from djbench's load generator (closed or open
    /// loop) with its background tasks beside it, while every process of the deployment is
    /// sampled (ΣPSS, ΣRSS, CPU); then a bounded task drain. A table per run follows
    /// (throughput, p50/p99, memory, CPU, tasks); OUT/results.json holds everything
    /// measured, with OUT/report.html and OUT/summary.md, all rewritten after every run.
    #[command(after_help = "Examples:
  djbench scenario ci_smoke
  djbench scenario compare_modes --dry-run
  djbench scenario ./my.yaml --duration 10s --repetitions 1")]
    Scenario(ScenarioArgs),

    /// The conference demo: run a scenario (talk_demo by default) with a full-screen live view
    /// an audience can follow; the same as `scenario NAME --live`.
    ///
    /// While each mode runs: its name and shape (processes, interpreters, threads, drawn),
    /// req/s over time, p50/p99 of the last second, ΣPSS by role beside the modes already
    /// measured, CPU per process, tasks queued/running/done and errors; a banner between
    /// modes; at the end every mode's headline numbers side by side and the path of
    /// report.html. Keys: q stops (teardown, the report is kept and marked incomplete), n
    /// skips to the next mode, p pauses and resumes the load. The view reads the engine's
    /// per-second aggregates only. Where stdout or stdin is not a terminal (CI, a pipe), plain
    /// progress lines replace it, for the same run.
    #[command(after_help = "Examples:
  djbench demo
  djbench demo ci_smoke --duration 20s
  djbench scenario talk_demo --live")]
    Demo(DemoArgs),

    /// Check scenario files: every error with its file, line and column. Exit 2 if any is
    /// invalid.
    Validate {
        /// Scenario files or bare names (resolved in scenarios/).
        #[arg(required = true, value_name = "FILE|NAME")]
        scenarios: Vec<String>,
    },

    /// List the shipped scenarios with the question each answers, and the deployment modes.
    List,

    /// Can your Django project run in each mode, and which packages stand in the way?
    ///
    /// Installs the project's requirements into throwaway virtualenvs of the 3.14 GIL build
    /// and the free-threaded build (your own environment is never touched; cached by
    /// requirements hash). Then, per distribution and per mode: does it import in a plain
    /// process (gunicorn_celery), in an isolated own-GIL subinterpreter (subinterpreters; the
    /// interpreter's own ImportError), and on the free-threaded build with the GIL kept off
    /// (naming the module that turned it back on; never hidden by -X gil=0)? Was it installed
    /// from a wheel, built from source, or did it fail? Does the app import it? Last, it sets
    /// the project's Django up as each mode would: django.setup(), the URLconf and its views,
    /// the WSGI application. Exit 0 when every mode can run the project, 1 when one cannot
    /// (which, and why), 2 for bad input.
    #[command(after_help = "Examples:
  djbench check                                the project in the current directory
  djbench check ~/src/shop --settings shop.settings.production
  djbench check . --json > check.json")]
    Check(CheckArgs),

    /// Write a starter scenario, djbench.yaml, for the Django project in PATH.
    ///
    /// It reads the project's files, never imports or runs them: the settings module (from
    /// manage.py or --settings) for the environment variables it reads, mapping the database
    /// and broker ones (DATABASE_URL, DB_HOST, REDIS_URL, …) to the run's own; ROOT_URLCONF and
    /// the project's URL modules it includes for the paths to load (GETs; a view decorated to
    /// take POST only is written commented out, since it needs a body); the apps' fixtures/
    /// folders for `loaddata` after `migrate`. The file says what was found where and what to
    /// fill in. Exit 2 for bad input, and when the file exists (unless --force).
    #[command(after_help = "Examples:
  djbench init                                 the project in the current directory
  djbench init ~/src/shop --settings shop.settings.production
  djbench init . --out bench/shop.yaml --force")]
    Init(InitArgs),

    /// Get every interpreter, virtualenv and service the modes need, into djbench's cache.
    ///
    /// Only what is missing is done; a second run does nothing. Interpreters are found in this
    /// order, first hit wins: $DJBENCH_PYTHON / $DJBENCH_PYTHON_FT (explicit), python3.14 /
    /// python3.14t / python3.13t on PATH, `uv python find`, then provisioned into the cache:
    /// `uv python install 3.14` / `3.14t` (uv itself installed from PyPI when missing), and
    /// where uv cannot download, CPython 3.14 from Debian sid's packages in a private sysroot
    /// and a free-threaded build compiled from the newest CPython source the Debian archive
    /// serves. Without apt-get, what djbench cannot get is named in one message (exit 2).
    /// Cache: $XDG_CACHE_HOME/djbench (default ~/.cache/djbench).
    Setup(SetupArgs),

    /// Say what is ready (interpreters with the route that gave each and why earlier routes
    /// did not, virtualenvs, services, host) and what setup would still do. Exit 0 when ready,
    /// 1 when not.
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also look for the GIL twin (see `setup --gil-twin`).
        #[arg(long)]
        gil_twin: bool,
        /// Also look for PostgreSQL.
        #[arg(long)]
        postgres: bool,
    },

    /// Load one URL with djbench's generator alone, like wrk or oha: closed loop (-c
    /// connections back to back) or, with --rate, an open loop whose latency counts from each
    /// request's intended send time.
    #[command(after_help = "Examples:
  djbench load http://127.0.0.1:8000/hello -c 16 -d 10s
  djbench load http://127.0.0.1:8000/hello --rate 2000 -d 30s --json

Load goes only to loopback addresses unless --allow-remote is given.")]
    Load(LoadArgs),

    /// Find the highest open-loop rate a target carries within an SLO: p99 (failures
    /// included) at most --p99, errors at most --max-error-rate, and at least 95% of the
    /// offered rate completed inside each trial's window.
    ///
    /// The target is a loopback URL, like `load`, or a scenario (file or bare name): then
    /// each of its deployments is deployed in turn and searched at the scenario's endpoint
    /// mix, its processes sampled (CPU, ΣPSS) in every trial, with no background tasks; the
    /// SLO and method come from the scenario's `capacity:` block, and flags override them.
    /// The search ramps the rate up by doubling from --start until a load fails, then bisects
    /// between the last passing and the first failing load down to --tolerance. A load at the
    /// boundary passes when K of N trials pass (--passes K/N); each trial warms up at its
    /// rate on the running target, then measures --window. It stops early when the first
    /// load already fails, and when djbench's own generator saturates (neither pass nor
    /// fail). Every trial is printed and, for a scenario, written to OUT/results.json with
    /// each deployment's capacity and bounds, and OUT/report.html. Exit 0 when every target
    /// got a capacity, 1 when one did not (its reason printed), 2 for bad input.
    #[command(after_help = "Examples:
  djbench capacity http://127.0.0.1:8000/hello --p99 50ms
  djbench capacity capacity                    the shipped scenario: the three modes, p99 ≤ 100ms
  djbench capacity compare_modes --p99 200ms --window 10s --passes 2/3")]
    Capacity(CapacityArgs),

    /// Judge a candidate results.json against a baseline: per deployment and metric, a t-test
    /// of the repetitions (Welch's, or paired for .ci/ab's interleaved run folders) with the
    /// change, its 95% interval and a Holm-adjusted p-value, and each side's spread.
    ///
    /// A change is called only with at least 5 repetitions a side; with fewer the row says
    /// "not enough repetitions to call this" and how many the observed spread would need (not
    /// a failure). A change fails when it is significant after Holm's correction over every
    /// deployment and metric judged and worse than --max-regression. By rule, whatever the
    /// repetitions: a figure unknown in every candidate repetition fails, and errors or lost
    /// tasks whose median rises from 0 fail. A spread (CV) above 10% is warned about. Folders
    /// of results are pooled as repetitions; two folders of the same numbered run folders
    /// (`01`, `02`, … with one run per deployment, as .ci/ab writes) are tested as pairs. Exit
    /// 1 when anything regressed, 0 otherwise, 2 when a file cannot be compared (unreadable,
    /// another schema version, a deployment missing).
    #[command(after_help = "Examples:
  djbench compare reports/main/results.json reports/branch/results.json
  djbench compare base.json head.json --max-regression 10% --metric p99 --metric pss")]
    Compare(CompareArgs),

    /// Rebuild report.html and summary.md from a results.json, and print the summary.
    ///
    /// report.html is one offline page (no script, no network): the headline table per
    /// deployment (medians over repetitions of goodput, error rate, latency, memory, CPU and
    /// tasks, each with its spread across repetitions; the best of a column highlighted only
    /// when its lead over the runner-up is significant and above 3%, and never below 5
    /// repetitions), the load run by run (with the task load's /enqueue requests), charts of
    /// throughput, latency by percentile, ΣPSS by role and CPU over time, task latency,
    /// per-endpoint p99 and web latency with and without tasks, then warnings (noisy figures,
    /// failed requests and enqueues, an open loop that fell behind), the environment and the
    /// scenario as run. summary.md is the table (best in bold) and the warnings in Markdown,
    /// for a pull-request comment.
    #[command(after_help = "Examples:
  djbench report reports/compare_modes-20261122T031500Z/results.json
  djbench report results.json --out /tmp/pr-comment
  djbench report results.json --export bmf --export csv")]
    Report {
        /// A results.json written by `djbench scenario`.
        #[arg(value_name = "RESULTS")]
        results: std::path::PathBuf,
        /// Where to write report.html and summary.md (default: beside RESULTS).
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
        /// Also write an export: `bmf` (bmf.json, Bencher Metric Format: per deployment the
        /// median with the range over repetitions) or `csv` (seconds.csv, the per-second
        /// series of every run). Repeat for both.
        #[arg(long = "export", value_name = "FORMAT", value_enum)]
        exports: Vec<Export>,
    },

    /// Print the JSON Schema of the scenario format, for editors' YAML completion.
    ///
    /// For example, with the YAML language server, save it and add
    /// `# yaml-language-server: $schema=./scenario.schema.json` at the top of a scenario.
    Schema,
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// Scenario file, or a bare name looked up in scenarios/ (e.g. compare_modes).
    #[arg(value_name = "FILE|NAME")]
    pub scenario: String,

    /// Show the plan and stop, without deploying anything.
    #[arg(long)]
    pub dry_run: bool,

    /// Print the plan as JSON instead of a table.
    #[arg(long, requires = "dry_run")]
    pub json: bool,

    /// Run folder for results and reports (overrides `output.dir`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Measured time per run, like 30s or 2m (overrides `workload.duration`).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Keep the ephemeral PostgreSQL cluster's folder after the run (`database: postgres`).
    #[arg(long)]
    pub keep: bool,

    /// Runs per deployment (overrides `workload.repetitions`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repetitions: Option<u32>,

    /// Show the live view while it runs (see `djbench demo`); plain progress lines when not
    /// on a terminal.
    #[arg(long, conflicts_with = "dry_run")]
    pub live: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Scenario file, or a bare name looked up in scenarios/.
    #[arg(value_name = "FILE|NAME", default_value = "talk_demo")]
    pub scenario: String,

    /// Run folder for results and reports (overrides `output.dir`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Measured time per run, like 20s (overrides `workload.duration`).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

/// Where a Django project is: `check` and `init` find it the same way.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The Django project's directory, holding requirements.txt (or pyproject.toml) and a
    /// manage.py that names the settings module.
    #[arg(value_name = "PATH", default_value = ".")]
    pub path: PathBuf,

    /// The settings module, like mysite.settings [default: the one manage.py sets].
    #[arg(long, value_name = "MODULE")]
    pub settings: Option<String>,

    /// The requirements file, or a pyproject.toml [default: PATH/requirements.txt, else
    /// PATH/pyproject.toml].
    #[arg(long, value_name = "FILE")]
    pub requirements: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub project: ProjectArgs,

    /// Print the whole report as JSON (its fields: README, "Your own project").
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub project: ProjectArgs,

    /// Where to write the scenario [default: PATH/djbench.yaml].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Overwrite the file when it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Also build the GIL twin: the free-threaded interpreter's own source built with the GIL,
    /// for a fair A/B of the GIL itself (`python: gil_twin` in a scenario).
    #[arg(long)]
    pub gil_twin: bool,

    /// Also make PostgreSQL's server binaries ready (for `database: postgres`).
    #[arg(long)]
    pub postgres: bool,

    /// Empty the cache first: everything is provisioned again from nothing.
    #[arg(long)]
    pub clean: bool,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The URL to request (http only), e.g. http://127.0.0.1:8000/hello.
    pub url: String,

    /// Connections: virtual users of a closed loop, or the most an open loop may open.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,

    /// Measured time, like 10s or 1m (at most 24h).
    #[arg(short = 'd', long, value_name = "D", default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Load sent first and not recorded (at most 24h).
    #[arg(long, value_name = "D", default_value = "2s", value_parser = parse_duration_or_zero)]
    pub warmup: Duration,

    /// Requests per second of an open loop (omit for a closed loop), at most 1e9.
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Poisson arrivals for the open loop instead of evenly spaced ones.
    #[arg(long, requires = "rate")]
    pub poisson: bool,

    /// Generator threads, each with its own runtime (default: one per core).
    #[arg(short = 't', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: Option<u32>,

    /// A request without a full response by then counts as a timeout error (at most 1h); in an
    /// open loop, counted from its intended send time.
    #[arg(long, value_name = "D", default_value = "5s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,

    /// Allow a target that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,
}

fn parse_duration_or_zero(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e}; write a number and a unit, like 2s or 500ms"))?;
    at_most(d, crate::limits::MAX_DURATION)
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().trim_end_matches("/s").parse::<f64>() {
        Ok(r) if r.is_finite() && r > crate::limits::MAX_RATE => Err(format!(
            "at most {} requests per second (one a nanosecond, the clock's resolution)",
            crate::limits::MAX_RATE
        )),
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err("expected requests per second, more than 0, like 500".into()),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => Err("must be more than 0".into()),
        Ok(d) => at_most(d, crate::limits::MAX_DURATION),
        Err(e) => Err(format!("{e}; write a number and a unit, like 30s or 2m")),
    }
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    at_most(parse_duration(text)?, crate::limits::MAX_TIMEOUT)
}

fn at_most(d: Duration, max: Duration) -> Result<Duration, String> {
    if d > max {
        Err(format!(
            "{} is too long: at most {}",
            humantime::format_duration(d),
            humantime::format_duration(max)
        ))
    } else {
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_need_a_unit() {
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn absurd_durations_and_rates_are_refused() {
        assert!(parse_duration("24h").is_ok());
        assert!(parse_duration("1000000000000s").is_err());
        assert!(parse_duration_or_zero("25h").is_err());
        assert!(parse_timeout("1h").is_ok());
        assert!(parse_timeout("61m").is_err());
        assert_eq!(parse_rate("1e9"), Ok(1e9));
        assert!(parse_rate("2e9").unwrap_err().contains("at most"));
        assert!(parse_rate("0").is_err());
        assert!(parse_duration("-5ms").is_err());
        assert!(parse_duration("100").is_err());
        assert_eq!(parse_share("0.5%"), Ok(0.005));
        assert!(parse_share("-1%").is_err());
        assert!(parse_tolerance("0%").is_err());
        assert_eq!(parse_k_of_n("2/3"), Ok((2, 3)));
        assert!(parse_k_of_n("3/2").is_err());
        assert!(parse_k_of_n("0/3").is_err());
    }
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// A loopback URL (http://…), or a scenario file or bare name whose deployments to
    /// search.
    #[arg(value_name = "URL|FILE|NAME")]
    pub target: String,

    /// Highest acceptable 99th-percentile latency, failures included [scenario: capacity.p99,
    /// default 100ms].
    #[arg(long, value_name = "D", value_parser = parse_duration, allow_hyphen_values = true)]
    pub p99: Option<Duration>,

    /// Highest acceptable share of failed requests, like 1% or 0.1% [scenario:
    /// capacity.error_rate, default 1%].
    #[arg(long, value_name = "PCT", value_parser = parse_share, allow_hyphen_values = true)]
    pub max_error_rate: Option<f64>,

    /// Stop bisecting when the first failing load is within this of the last passing one
    /// [scenario: capacity.tolerance, default 2%].
    #[arg(long, value_name = "PCT", value_parser = parse_tolerance, allow_hyphen_values = true)]
    pub tolerance: Option<f64>,

    /// The first load of the ramp, per second [scenario: capacity.start, default 20].
    #[arg(long, value_name = "R", value_parser = parse_rate, allow_hyphen_values = true)]
    pub start: Option<f64>,

    /// No load above this is offered [scenario: capacity.max_rate, default 100000].
    #[arg(long, value_name = "R", value_parser = parse_rate, allow_hyphen_values = true)]
    pub max_rate: Option<f64>,

    /// Each trial's measured window [scenario: capacity.window, default 5s].
    #[arg(long, value_name = "D", value_parser = parse_duration, allow_hyphen_values = true)]
    pub window: Option<Duration>,

    /// Load sent at each trial's rate before its window [scenario: capacity.warmup,
    /// default 1s].
    #[arg(long, value_name = "D", value_parser = parse_duration_or_zero, allow_hyphen_values = true)]
    pub warmup: Option<Duration>,

    /// A load at the boundary passes when K of N trials pass, like 3/5 [scenario:
    /// capacity.passes and capacity.trials, default 3/5].
    #[arg(long, value_name = "K/N", value_parser = parse_k_of_n, allow_hyphen_values = true)]
    pub passes: Option<(u32, u32)>,

    /// The share of the machine's cores other programs and the hypervisor may take during a
    /// trial before it is run again; 100% turns the check off [scenario:
    /// capacity.max_interference, default 5%].
    #[arg(long, value_name = "PCT", value_parser = parse_share, allow_hyphen_values = true)]
    pub max_interference: Option<f64>,

    /// URL only: the most connections the open loop may open.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,

    /// URL only: Poisson arrivals instead of evenly spaced ones.
    #[arg(long)]
    pub poisson: bool,

    /// URL only: a request without a full response by then counts as a timeout error.
    #[arg(long, value_name = "D", default_value = "5s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Scenario only: the run folder (default: the scenario's output folder, `-capacity`
    /// appended).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Print the result (every target's capacity and trials) as JSON.
    #[arg(long)]
    pub json: bool,

    /// Allow a URL that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,
}

/// A share from 0% to 100% as a fraction: `1%`, `0.5 %`, `1`.
fn parse_share(s: &str) -> Result<f64, String> {
    let n = s.trim().trim_end_matches('%').trim();
    match n.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Ok(v / 100.0),
        _ => Err(format!(
            "expected a percentage from 0% to 100%, like `1%`; got `{s}`"
        )),
    }
}

/// A bisection tolerance: more than 0% and less than 100%.
fn parse_tolerance(s: &str) -> Result<f64, String> {
    match parse_share(s) {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!(
            "expected a percentage above 0% and below 100%, like `2%`; got `{s}`"
        )),
    }
}

/// `K/N`: K of N trials, 1 ≤ K ≤ N ≤ 20.
fn parse_k_of_n(s: &str) -> Result<(u32, u32), String> {
    let parsed = s
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((k, n)) if 1 <= k && k <= n && n <= 20 => Ok((k, n)),
        _ => Err(format!(
            "expected K/N with 1 ≤ K ≤ N ≤ 20, like `2/3`; got `{s}`"
        )),
    }
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The results.json to compare against (e.g. from the main branch), or a folder whose
    /// results.json files (in it and its subfolders) are pooled as repetitions; numbered
    /// subfolders on both sides (`base/01`, `head/01`, …) are paired by number.
    #[arg(value_name = "BASELINE")]
    pub baseline: std::path::PathBuf,
    /// The results.json under judgement (e.g. from a pull request), or a folder of them.
    #[arg(value_name = "CANDIDATE")]
    pub candidate: std::path::PathBuf,
    /// The largest tolerated worsening of a metric, in percent (`5`, `5%`, `2.5%`); also the
    /// least change called better or worse at all.
    #[arg(long, value_name = "PCT", default_value = "5%", value_parser = parse_percent)]
    pub max_regression: f64,
    /// A metric to judge; repeat for several. Default: throughput, p50, p99, pss, task-p99,
    /// errors, lost-tasks, and capacity (known only in the results of `djbench capacity`).
    #[arg(long = "metric", value_name = "METRIC", value_enum)]
    pub metrics: Vec<crate::compare::Metric>,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A percentage as a fraction: `5`, `5%` and `5.0 %` all give 0.05.
fn parse_percent(s: &str) -> Result<f64, String> {
    let n = s.trim().trim_end_matches('%').trim();
    match n.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1000.0).contains(&v) => Ok(v / 100.0),
        _ => Err(format!(
            "expected a percentage from 0 to 1000, like `5%`; got `{s}`"
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Export {
    /// bmf.json: Bencher Metric Format.
    Bmf,
    /// seconds.csv: the per-second series.
    Csv,
}
