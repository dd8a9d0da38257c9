//! What each command does, and how it reports: plain text for people on stdout, errors on
//! stderr, the exit status as the contract says (0 ok, 1 a check failed, 2 bad input).

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use anstream::{eprintln, println};
use comfy_table::{Table, presets};

use crate::cli::{Cli, Color, Command, LoadArgs, ScenarioArgs, SetupArgs};
use crate::provision::{self, Cache, Lookup, Ui, Wants};
use crate::scenario::model::{Mode, ScenarioFile};
use crate::scenario::{self, Overrides, Plan, Scenario, ScenarioDirs};

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
        Command::Scenario(args) => scenario_cmd(&args, &dirs),
        Command::Demo(args) => scenario_cmd(
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
        Command::Validate { scenarios } => validate(&scenarios, &dirs),
        Command::List => list(&dirs),
        Command::Schema => schema(),
        Command::Load(args) => load_cmd(&args),
        Command::Compare(args) => compare_cmd(&args),
        Command::Report {
            results,
            out,
            exports,
        } => report_cmd(&results, out.as_deref(), &exports),
        Command::Setup(args) => setup(&args),
        Command::Doctor {
            json,
            gil_twin,
            postgres,
        } => doctor(json, Wants { gil_twin, postgres }),
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

/// Finds and checks one scenario, printing why not when it cannot.
fn load(given: &str, dirs: &ScenarioDirs) -> Result<Scenario, Exit> {
    let path = scenario::locate(given, dirs).map_err(|not_found| {
        eprintln!("error: {not_found}");
        Exit::BadInput
    })?;
    scenario::load(&path).map_err(|invalid| {
        eprintln!("{}", invalid.render(styled()));
        Exit::BadInput
    })
}

fn validate(given: &[String], dirs: &ScenarioDirs) -> Exit {
    let mut bad = 0;
    for name in given {
        match load(name, dirs) {
            Ok(s) => {
                let plan = Plan::new(&s, &Overrides::default(), SystemTime::now());
                println!(
                    "ok   {}  ({}: {} × {}, {} runs)",
                    s.path.display(),
                    s.name(),
                    plural(s.file.modes.len(), "deployment"),
                    plural(plan.repetitions as usize, "repetition"),
                    plan.runs.len()
                );
            }
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} invalid", plural(given.len(), "scenario"));
        Exit::BadInput
    } else {
        Exit::Ok
    }
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

fn list(dirs: &ScenarioDirs) -> Exit {
    match dirs.first_existing() {
        Some(dir) => {
            println!(
                "Scenarios in {}/ (run one with `djbench scenario NAME`):\n",
                dir.display()
            );
            let mut t = table(&["name", "runs", "answers"]);
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            entries.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
            entries.sort();
            for path in entries {
                match scenario::load(&path) {
                    Ok(s) => {
                        let plan = Plan::new(&s, &Overrides::default(), SystemTime::now());
                        t.add_row(vec![
                            stem(&path),
                            format!("{}", plan.runs.len()),
                            first_sentence(&s.file.description),
                        ]);
                    }
                    Err(invalid) => {
                        t.add_row(vec![
                            stem(&path),
                            "-".into(),
                            format!("INVALID: {}", invalid.problems[0]),
                        ]);
                    }
                }
            }
            print_table(&t);
            println!();
        }
        None => println!("No scenarios folder found (looked in {:?}).\n", dirs.0),
    }
    println!("Modes (`mode:` in a scenario):\n");
    let mut t = table(&["mode", "what runs", "servers (`server:`)"]);
    for mode in Mode::ALL {
        let servers: Vec<String> = mode
            .servers()
            .iter()
            .map(|s| {
                if *s == mode.default_server() {
                    format!("{s} (default)")
                } else {
                    s.to_string()
                }
            })
            .collect();
        t.add_row(vec![
            mode.name().to_owned(),
            mode.summary().to_owned(),
            servers.join(", "),
        ]);
    }
    print_table(&t);
    Exit::Ok
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

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

fn first_sentence(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = [". ", "? ", "! "]
        .iter()
        .filter_map(|stop| text.find(stop))
        .min();
    match end {
        Some(i) => text[..=i].to_owned(),
        None => text,
    }
}

fn setup(args: &SetupArgs) -> Exit {
    let cache = Cache::from_env();
    if args.clean {
        if let Err(e) = cache.clean() {
            eprintln!(
                "error: cannot empty the cache {}: {e}",
                cache.root().display()
            );
            return Exit::BadInput;
        }
        eprintln!("setup: emptied {}", cache.root().display());
    }
    let wants = Wants {
        gil_twin: args.gil_twin,
        postgres: args.postgres,
    };
    let started = std::time::Instant::now();
    match provision::setup(&Lookup::from_env(cache), wants, &Ui::detect()) {
        Ok(report) => {
            print_report(&report);
            eprintln!("setup: ready in {:.1}s", started.elapsed().as_secs_f64());
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::BadInput
        }
    }
}

fn doctor(json: bool, wants: Wants) -> Exit {
    let report = provision::doctor(&Lookup::from_env(Cache::from_env()), wants);
    if json {
        print_json(&report);
    } else {
        print_report(&report);
    }
    if report.ready { Exit::Ok } else { Exit::Failed }
}

fn print_report(r: &provision::Report) {
    println!("Interpreters (cache: {})", r.cache.display());
    let mut t = table(&["flavour", "version", "GIL", "found by", "path"]);
    for i in &r.interpreters {
        t.add_row(vec![
            i.flavour.to_string(),
            i.version.clone(),
            if i.gil_enabled { "on" } else { "off" }.into(),
            i.source.to_string(),
            i.path.display().to_string(),
        ]);
    }
    print_table(&t);
    for i in &r.interpreters {
        let flags: String = i.config_args.chars().take(120).collect();
        println!("  {}: {}; configured with {flags}", i.flavour, i.origin);
    }
    println!(
        "
Virtualenvs"
    );
    let mut t = table(&["flavour", "Django", "gunicorn", "celery", "granian", "path"]);
    for v in &r.venvs {
        let pkg = |name: &str| v.packages.get(name).cloned().unwrap_or_else(|| "-".into());
        t.add_row(vec![
            v.flavour.to_string(),
            pkg("django"),
            pkg("gunicorn"),
            pkg("celery"),
            pkg("granian"),
            v.path.display().to_string(),
        ]);
    }
    print_table(&t);
    println!(
        "
Services"
    );
    let mut t = table(&["service", "version", "path"]);
    for s in &r.services {
        t.add_row(vec![
            s.name.clone(),
            s.version.clone(),
            s.path.display().to_string(),
        ]);
    }
    print_table(&t);
    let h = &r.host;
    println!(
        "
Host: {}, {} cores, {}, kernel {}",
        h.cpu,
        h.cores,
        bytesize::ByteSize(h.memory_bytes).display().iec(),
        h.kernel
    );
    if !r.rejected.is_empty() {
        println!(
            "
Candidates turned down"
        );
        for x in &r.rejected {
            println!(
                "  {} ({}, {}): {}",
                x.path.display(),
                x.flavour,
                x.rule,
                x.reason
            );
        }
    }
    if r.ready {
        println!(
            "
Ready."
        );
    } else {
        println!(
            "
Not ready; `djbench setup` would:"
        );
        for p in &r.pending {
            println!("  - {p}");
        }
    }
}

fn load_cmd(args: &LoadArgs) -> Exit {
    use crate::load::{self, Endpoint, LoadSpec, Model};
    let target = match load::target(&args.url, args.allow_remote) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let model = match args.rate {
        Some(rate) => Model::Open {
            rate,
            poisson: args.poisson,
            max_connections: args.connections,
        },
        None => Model::Closed {
            connections: args.connections,
        },
    };
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |t| t as usize,
    );
    let spec = LoadSpec {
        addr: target.addr,
        host: target.host,
        endpoints: vec![Endpoint {
            path: target.path,
            weight: 1.0,
        }],
        model,
        warmup: args.warmup,
        duration: args.duration,
        timeout: args.timeout,
        threads,
        control: load::Control {
            stop: vec![crate::run::interrupt_flag()],
            hold: None,
        },
        name: "load",
    };
    if !args.json {
        eprintln!(
            "djbench load {}: {}, {} measured after {} of warm-up",
            args.url,
            match model {
                Model::Closed { connections } => format!("closed loop, {connections} connections"),
                Model::Open {
                    rate,
                    poisson,
                    max_connections,
                } => format!(
                    "open loop at {rate} req/s ({}), up to {max_connections} connections",
                    if poisson { "poisson" } else { "uniform" }
                ),
            },
            humantime::format_duration(args.duration),
            humantime::format_duration(args.warmup),
        );
    }
    let report = match load::run(&spec) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    if args.json {
        print_json(&report);
        return Exit::Ok;
    }
    let l = &report.latency_us;
    println!(
        "  requests     {} ({} errors)",
        report.requests, report.errors
    );
    println!("  throughput   {:.1} req/s", report.throughput_rps);
    println!(
        "  latency µs   p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.0}",
        l.p50, l.p90, l.p99, l.p999, l.max, l.mean
    );
    if let Some(o) = &report.open_loop {
        println!(
            "  open loop    intended {:.0} req/s, achieved {:.1}; {} sends more than 1 ms late (lateness p99 {} µs); {} connections",
            o.intended_rps, o.achieved_rps, o.late_sends, o.lateness_us.p99, o.connections_used
        );
    }
    let g = &report.generator;
    println!(
        "  generator    {} thread(s), {:.2} s CPU over {} requests (warm-up included): {:.1} µs CPU per request; peak RSS {}{}",
        g.threads,
        g.cpu_seconds,
        g.requests_exchanged,
        g.cpu_us_per_request,
        bytesize::ByteSize(g.max_rss_bytes).display().iec(),
        if g.saturated {
            " — SATURATED: these numbers may measure the generator"
        } else {
            ""
        }
    );
    Exit::Ok
}

fn schema() -> Exit {
    let schema = schemars::schema_for!(ScenarioFile);
    print_json(&schema);
    Exit::Ok
}

fn scenario_cmd(args: &ScenarioArgs, dirs: &ScenarioDirs) -> Exit {
    let s = match load(&args.scenario, dirs) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let overrides = Overrides {
        duration: args.duration,
        repetitions: args.repetitions,
        out: args.out.clone(),
    };
    if !args.dry_run {
        return run_scenario(&s, &overrides, args.keep, args.live);
    }
    let plan = Plan::new(&s, &overrides, SystemTime::now());
    if args.json {
        let load = s.load();
        let doc = serde_json::json!({
            "scenario": s.file,
            "file": s.path,
            "load": {
                "model": load.model,
                "connections": load.connections,
                "rate": load.rate,
                "poisson": load.poisson,
            },
            "plan": plan,
            "load_seconds": plan.load_time().as_secs_f64(),
            "load_and_drain_bound_seconds": plan.load_and_drain_bound().as_secs_f64(),
        });
        print_json(&doc);
        return Exit::Ok;
    }
    print_plan(&s, &plan);
    Exit::Ok
}

fn run_scenario(s: &Scenario, overrides: &Overrides, keep: bool, live: bool) -> Exit {
    use crate::run;
    if let Some(why) = run::unsupported(s) {
        eprintln!("error: this build cannot run `{}`: {why}", s.name());
        return Exit::BadInput;
    }
    let controls = run::Controls {
        watch_tasks: live,
        ..run::Controls::new()
    };
    let mut ready = match run::provision_for(s, &Ui::detect()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    // Interpreter parity: the GIL is compared only against its twin.
    let twinned = run::with_gil_twins(s, &ready.report);
    let s = match &twinned {
        Some(t) => {
            let version = |f| {
                ready
                    .report
                    .interpreters
                    .iter()
                    .find(|i| i.flavour == f)
                    .map_or("?".to_owned(), |i| i.version.clone())
            };
            eprintln!(
                "djbench: the free-threaded CPython ({}) is not the GIL one's version and build \
                 ({}): each free_threaded deployment also runs on its GIL twin (`gil_twin: auto`)",
                version(provision::Flavour::FreeThreaded),
                version(provision::Flavour::Gil)
            );
            ready = match run::provision_for(t, &Ui::detect()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Exit::BadInput;
                }
            };
            t
        }
        None => s,
    };
    let plan = &Plan::new(s, overrides, SystemTime::now());
    eprintln!(
        "djbench: {} — {} runs into {}",
        s.name(),
        plan.runs.len(),
        plan.out.display()
    );
    let outcomes = watch(s, live, &controls, |events| {
        run::execute(s, plan, &ready, keep, &controls, &events)
    });
    let mut t = table(&[
        "run",
        "deployment",
        "python",
        "GIL",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "ΣPSS MiB",
        "ΣRSS MiB",
        "CPU cores",
        "tasks done",
        "lost",
        "tasks/s",
        "task p99 ms",
    ]);
    // Numbers read best unwrapped, even past the terminal's width.
    t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    for (i, o) in outcomes.iter().enumerate() {
        let gil = match o.gil_enabled {
            Some(true) => "on",
            Some(false) => "off",
            None => "-",
        };
        t.add_row(vec![
            format!("{}", i + 1),
            format!("{} #{}", o.label, o.repetition),
            o.python.clone(),
            gil.into(),
            o.load
                .as_ref()
                .map_or("-".into(), |l| l.requests.to_string()),
            o.load.as_ref().map_or("-".into(), |l| l.errors.to_string()),
            o.load
                .as_ref()
                .map_or("-".into(), |l| format!("{:.0}", l.throughput_rps)),
            o.load.as_ref().map_or("-".into(), |l| {
                format!("{:.2}", l.latency_us.p50 as f64 / 1000.0)
            }),
            o.load.as_ref().map_or("-".into(), |l| {
                format!("{:.2}", l.latency_us.p99 as f64 / 1000.0)
            }),
            o.sample.as_ref().map_or("-".into(), |m| {
                format!("{:.0}", m.pss.total.peak_bytes as f64 / 1048576.0)
            }),
            o.sample.as_ref().map_or("-".into(), |m| {
                format!("{:.0}", m.rss.total.peak_bytes as f64 / 1048576.0)
            }),
            o.sample
                .as_ref()
                .map_or("-".into(), |m| format!("{:.2}", m.cpu_cores_total)),
            format!("{}/{}", o.tasks_finished, o.tasks_enqueued),
            (o.tasks_enqueued - o.tasks_finished.min(o.tasks_enqueued)).to_string(),
            format!("{:.1}", o.tasks_per_second),
            format!("{:.1}", o.task_finish_us.p99 as f64 / 1000.0),
        ]);
    }
    println!();
    print_table(&t);
    if outcomes
        .iter()
        .any(|o| o.load.as_ref().is_some_and(|l| l.generator.saturated))
    {
        println!(
            "\nWARNING: the load generator saturated its core in some runs: those numbers measure it."
        );
    }
    println!(
        "\nΣPSS and ΣRSS: peaks over the measured window, every process of the deployment.\n\
         Everything measured: {} (schema: reports/README.md); the summary for a pull request: {}.",
        plan.out.join("results.json").display(),
        plan.out.join("summary.md").display()
    );
    let mut exit = Exit::Ok;
    for o in &outcomes {
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
    if controls.stop.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "djbench: interrupted: the runs above are incomplete; every deployment was torn down"
        );
        exit = Exit::Failed;
    }
    let doc = serde_json::to_value(crate::results::document(s, plan, &outcomes, true))
        .unwrap_or_default();
    match crate::compare::thresholds(&doc) {
        Ok(breaches) if breaches.is_empty() => {}
        Ok(breaches) => {
            for b in &breaches {
                eprintln!(
                    "threshold broken: {} {}: {} (limit {})",
                    b.label, b.threshold, b.measured, b.limit
                );
            }
            exit = Exit::Failed;
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit = Exit::Failed;
        }
    }
    exit
}

/// Runs `execute` on a thread of its own while this one shows its events: the live view,
/// plain lines (live, but no terminal), or just the notes (`scenario` without --live).
fn watch(
    s: &Scenario,
    live: bool,
    controls: &crate::run::Controls,
    execute: impl FnOnce(std::sync::mpsc::Sender<crate::run::Event>) -> Vec<crate::run::RunOutcome>
    + Send,
) -> Vec<crate::run::RunOutcome> {
    use crate::live;
    use crate::run::Event;
    let (tx, rx) = std::sync::mpsc::channel();
    let state = || {
        live::State::new(
            s.name(),
            s.deployments().map(|d| d.label().to_owned()).collect(),
        )
    };
    /// Stops the runs if the view panics: the scope waits for them, through their teardown,
    /// before the panic ends djbench (exit 101), instead of running every run unwatched.
    struct StopOnPanic<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    std::thread::scope(|scope| {
        let runner = scope.spawn(move || execute(tx));
        let _stop_on_panic = StopOnPanic(&controls.stop);
        if live && live::terminal_here() {
            match live::show(&rx, controls, state()) {
                Ok(cost) => eprintln!(
                    "djbench: the live view used {:.2} s of CPU over {:.0} s ({:.2}% of a core)",
                    cost.cpu_seconds,
                    cost.wall_seconds,
                    100.0 * cost.cpu_seconds / cost.wall_seconds.max(1e-9)
                ),
                Err(e) => {
                    eprintln!("djbench: no live view ({e}); plain lines instead");
                    live::lines(&rx, state(), 5);
                }
            }
        } else if live {
            live::lines(&rx, state(), 5);
        } else {
            for e in &rx {
                if let Event::Note(m) = e {
                    eprintln!("djbench: {m}");
                }
            }
        }
        // The view may leave first (q after the end, or a broken terminal): the runs go on
        // to their teardown either way.
        drop(rx);
        // A panic that escaped the runs (each run catches its own) fails the whole scenario.
        runner.join().unwrap_or_else(|p| {
            vec![crate::run::RunOutcome {
                label: "djbench".into(),
                failure: Some(format!(
                    "djbench panicked: {}",
                    crate::run::panic_message(p.as_ref())
                )),
                ..Default::default()
            }]
        })
    })
}

fn print_plan(s: &Scenario, plan: &Plan) {
    use crate::scenario::model::LoadModel;
    let f = &s.file;
    println!("{} — {}", s.name(), s.path.display());
    if !f.description.trim().is_empty() {
        for line in textwrap::wrap(f.description.trim(), 76) {
            println!("  {line}");
        }
    }
    println!();

    let load = s.load();
    let load_text = match load.model {
        LoadModel::Closed => format!("closed loop, {} connections back to back", load.connections),
        LoadModel::Open => format!(
            "open loop at {} req/s ({} arrivals), up to {} connections",
            load.rate.unwrap_or_default(),
            if load.poisson { "poisson" } else { "uniform" },
            load.connections
        ),
    };
    let total: f64 = s.endpoints().map(|e| e.weight.0).sum();
    let mix: Vec<String> = s
        .endpoints()
        .map(|e| format!("{} {:.0}%", e.path, 100.0 * e.weight.0 / total))
        .collect();
    let tasks = match f.tasks.rate {
        Some(rate) => format!(
            "{:?} tasks of {} {} at {}; drain up to {} after each run",
            f.tasks.kind,
            f.tasks.size(),
            f.tasks.kind.unit(),
            rate,
            f.tasks.drain_timeout
        )
        .to_lowercase(),
        None => "none in the background".into(),
    };
    let t = &f.thresholds;
    let mut limits = Vec::new();
    let mut limit = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            limits.push(format!("{name} ≤ {v}"));
        }
    };
    limit("p50", t.p50.map(|d| d.to_string()));
    limit("p99", t.p99.map(|d| d.to_string()));
    limit("p99.9", t.p999.map(|d| d.to_string()));
    limit("errors", t.error_rate.map(|p| p.to_string()));
    limit("ΣPSS", t.pss.map(|b| b.to_string()));
    limit("lost tasks", t.lost_tasks.map(|c| c.to_string()));
    limit("task p99", t.task_p99.map(|d| d.to_string()));

    let facts = [
        (
            "Load",
            format!("{load_text}; timeout {}", f.workload.timeout.value),
        ),
        ("Endpoints", mix.join(", ")),
        (
            "Per run",
            format!(
                "{} warm-up, then {} measured",
                humantime::format_duration(plan.warmup),
                humantime::format_duration(plan.duration)
            ),
        ),
        ("Tasks", tasks),
        ("Database", format!("{:?}", f.database).to_lowercase()),
        (
            "Sampling",
            format!(
                "RSS and CPU at {} Hz, PSS and USS at {} Hz",
                f.sampling.rss_hz.0, f.sampling.pss_hz.0
            ),
        ),
        (
            "Thresholds",
            if limits.is_empty() {
                "none".into()
            } else {
                limits.join(", ")
            },
        ),
        ("Output", plan.out.display().to_string()),
    ];
    let mut facts = facts.to_vec();
    if f.gil_twin == crate::scenario::model::GilTwin::Auto {
        facts.push((
            "GIL twin",
            "auto: where the free-threaded CPython is not the GIL one's version and build, each \
             free_threaded deployment also runs on its GIL twin (known after provisioning)"
                .into(),
        ));
    }
    if let Some(iso) = &f.isolation {
        facts.push((
            "Placement",
            format!(
                "djbench on CPUs {:?}, the deployment on CPUs {:?}",
                iso.value.harness, iso.value.deployment
            ),
        ));
    }
    for (k, v) in facts {
        let opts = textwrap::Options::new(90)
            .initial_indent("")
            .subsequent_indent("           ");
        println!("{k:<11}{}", textwrap::fill(&v, opts));
    }
    println!();

    let mut runs = table(&[
        "run",
        "rep",
        "deployment",
        "mode",
        "server",
        "python",
        "web",
        "threads",
        "tasks",
    ]);
    let deployments: Vec<_> = s.deployments().collect();
    for r in &plan.runs {
        let d = deployments[r.deployment];
        runs.add_row(vec![
            r.index.to_string(),
            format!("{}/{}", r.repetition, plan.repetitions),
            d.label().to_owned(),
            d.mode.name().to_owned(),
            d.server.value.to_string(),
            d.python.value.to_string(),
            d.web_workers.to_string(),
            d.threads.value.to_string(),
            if d.background_tasks {
                d.task_workers.to_string()
            } else {
                format!("{} (no load)", d.task_workers)
            },
        ]);
    }
    print_table(&runs);
    println!();
    let floor = humantime::format_duration(round_secs(plan.load_time()));
    let ceiling = humantime::format_duration(round_secs(plan.load_and_drain_bound()));
    if plan.load_and_drain_bound() > plan.load_time() {
        println!(
            "Wall time  at least {floor} of load over {} runs, up to {ceiling} with task drains;",
            plan.runs.len()
        );
    } else {
        println!(
            "Wall time  at least {floor} of load over {} runs;",
            plan.runs.len()
        );
    }
    println!(
        "           deploy, start-up and first-time provisioning come on top (not estimated)."
    );
    println!("\nDry run: nothing was deployed.");
}

fn round_secs(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs())
}

fn compare_cmd(args: &crate::cli::CompareArgs) -> Exit {
    use crate::compare::{self, Metric, Verdict};
    let metrics: Vec<Metric> = if args.metrics.is_empty() {
        Metric::DEFAULT.to_vec()
    } else {
        let mut m = args.metrics.clone();
        m.sort();
        m.dedup();
        m
    };
    let judged = compare::load(&args.baseline, &metrics).and_then(|base| {
        let cand = compare::load(&args.candidate, &metrics)?;
        compare::compare(&base, &cand, &metrics, args.max_regression)
    });
    let c = match judged {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    if args.json {
        print_json(&c);
    } else {
        println!(
            "{} against {}: a regression fails when worse than {}% and significant (bootstrap 95% \
             interval of the change of medians)\n",
            args.candidate.display(),
            args.baseline.display(),
            c.max_regression * 100.0
        );
        let mut t = table(&[
            "deployment",
            "metric",
            "baseline",
            "candidate",
            "change",
            "95% interval",
            "reps",
            "verdict",
        ]);
        t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        let pct = |x: f64| format!("{:+.1}%", x * 100.0);
        for r in &c.rows {
            t.add_row(vec![
                r.label.clone(),
                r.metric.name().to_owned(),
                r.metric.show(r.baseline),
                r.metric.show(r.candidate),
                r.change.map_or("-".into(), pct),
                r.interval
                    .map_or("-".into(), |(lo, hi)| format!("{} … {}", pct(lo), pct(hi))),
                format!("{}/{}", r.repetitions.0, r.repetitions.1),
                match r.verdict {
                    Verdict::Same => "same",
                    Verdict::Better => "better",
                    Verdict::WorseNotSignificant => "worse, not significant",
                    Verdict::Regressed => "REGRESSED",
                }
                .to_owned(),
            ]);
        }
        print_table(&t);
        for n in &c.notes {
            println!("note: {n}");
        }
    }
    let failed: Vec<String> = c
        .failed()
        .map(|r| format!("{} {}", r.label, r.metric.name()))
        .collect();
    if failed.is_empty() {
        if !args.json {
            println!("\nNo regression beyond {}%.", c.max_regression * 100.0);
        }
        Exit::Ok
    } else {
        eprintln!("\nRegressed: {}", failed.join(", "));
        Exit::Failed
    }
}

fn report_cmd(results: &Path, out: Option<&Path>, exports: &[crate::cli::Export]) -> Exit {
    let doc = match std::fs::read_to_string(results)
        .map_err(|e| format!("cannot read it: {e}"))
        .and_then(|t| {
            serde_json::from_str::<serde_json::Value>(&t)
                .map_err(|e| format!("{}:{}: not JSON: {e}", e.line(), e.column()))
        }) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {}: {e}", results.display());
            return Exit::BadInput;
        }
    };
    if doc["schema_version"].as_u64() != Some(u64::from(crate::results::SCHEMA_VERSION)) {
        eprintln!(
            "error: {}: not a results.json of schema version {} (found {})",
            results.display(),
            crate::results::SCHEMA_VERSION,
            doc["schema_version"]
        );
        return Exit::BadInput;
    }
    let dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| results.parent().map(Path::to_path_buf).unwrap_or_default());
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| crate::report::write(&dir, &doc)) {
        eprintln!(
            "error: cannot write {}: {e}",
            dir.join("summary.md").display()
        );
        return Exit::BadInput;
    }
    print!("{}", crate::report::summary_md(&doc));
    eprintln!("\nwrote {}", dir.join("summary.md").display());
    for e in exports {
        let (name, bytes) = match e {
            crate::cli::Export::Bmf => (
                "bmf.json",
                serde_json::to_vec_pretty(&crate::report::bmf(&doc)).unwrap_or_default(),
            ),
            crate::cli::Export::Csv => {
                ("seconds.csv", crate::report::seconds_csv(&doc).into_bytes())
            }
        };
        let path = dir.join(name);
        if let Err(e) = crate::provision::cache::write_atomic(&path, &bytes) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Exit::BadInput;
        }
        eprintln!("wrote {}", path.display());
    }
    Exit::Ok
}
