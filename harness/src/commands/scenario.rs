//! `djbench scenario` (and `demo`): a scenario's plan (--dry-run) or its run, with the live
//! view or plain lines, the table of outcomes and the thresholds. The running is `run`'s, the
//! results model `results`' and the judging of thresholds `compare`'s.

use anstream::{eprintln, println};
use std::io::Write as _;

use std::time::SystemTime;

use super::{Exit, load, print_json, print_table, run_problems, table};
use crate::cli::ScenarioArgs;
use crate::provision::{self, Ui};
use crate::scenario::{Overrides, Plan, Scenario, ScenarioDirs};

pub(super) fn scenario_cmd(args: &ScenarioArgs, dirs: &ScenarioDirs) -> Exit {
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
    // An unset credential is known before anything is provisioned or started.
    if let Err(e) = run::login_of(s) {
        eprintln!("error: {}: {e}", s.path.display());
        return Exit::BadInput;
    }
    let controls = run::Controls {
        watch_tasks: live,
        ..run::Controls::new()
    };
    let (twinned, ready) = match provisioned(s) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let s = twinned.as_ref().unwrap_or(s);
    let mut plan = Plan::new(s, overrides, SystemTime::now());
    plan.project = ready.app.as_ref().map(|a| a.plan(s));
    let plan = &plan;
    eprintln!(
        "djbench: {} — {} runs into {}",
        s.name(),
        plan.runs.len(),
        plan.out.display()
    );
    let outcomes = watch(s, live, &controls, |events| {
        run::execute(s, plan, &ready, keep, &controls, &events)
    });
    // The table reads the same typed model as results.json and the reports: unknown is "—".
    let doc = run::document(s, plan, &outcomes, true);
    let mut t = table(&[
        "run",
        "deployment",
        "python",
        "GIL",
        "requests",
        "errors",
        "goodput req/s",
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
    let unknown = || "—".to_owned();
    let ms = |l: Option<crate::load::Latency>, at: fn(&crate::load::Latency) -> u64| {
        l.map_or_else(unknown, |l| format!("{:.2}", at(&l) as f64 / 1000.0))
    };
    let mib = |m: Option<crate::sample::PeakMean>| {
        m.map_or_else(unknown, |m| {
            format!("{:.0}", m.peak_bytes as f64 / 1048576.0)
        })
    };
    for (i, r) in doc.runs.iter().enumerate() {
        let gil = match r.interpreter.gil_enabled {
            Some(true) => "on",
            Some(false) => "off",
            None => "-",
        };
        let measured = r.load.is_some();
        let tasks = r.tasks.as_ref();
        t.add_row(vec![
            format!("{}", i + 1),
            format!("{} #{}", r.label, r.repetition),
            r.interpreter.version.clone(),
            gil.into(),
            if measured {
                r.requests.to_string()
            } else {
                unknown()
            },
            if measured {
                r.errors.to_string()
            } else {
                unknown()
            },
            if measured {
                format!("{:.0}", r.throughput_rps)
            } else {
                unknown()
            },
            ms(r.latency_us, |l| l.p50),
            ms(r.latency_us, |l| l.p99),
            mib(r.pss_bytes),
            mib(r.rss_bytes),
            r.cpu
                .as_ref()
                .map_or_else(unknown, |c| format!("{:.2}", c.cores)),
            tasks.map_or_else(unknown, |t| format!("{}/{}", t.finished, t.enqueued)),
            tasks.map_or_else(unknown, |t| t.lost.to_string()),
            tasks.map_or_else(unknown, |t| format!("{:.1}", t.tasks_per_second)),
            ms(tasks.and_then(|t| t.enqueue_to_finish_us), |l| l.p99),
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
    let mut exit = run_problems(&outcomes, &controls.stop);
    let breaches = crate::compare::thresholds(&doc);
    for b in &breaches {
        eprintln!(
            "threshold broken: {} {}: {} (limit {})",
            b.who(),
            b.threshold,
            b.measured,
            b.limit
        );
    }
    if !breaches.is_empty() {
        exit = Exit::Failed;
    }
    exit
}

/// Provisions what `s` needs and, where the free-threaded CPython is not the GIL one's version
/// and build, the scenario with each free_threaded deployment's GIL twin added (provisioned
/// too): interpreter parity, the GIL is compared only against its twin.
pub(super) fn provisioned(s: &Scenario) -> Result<(Option<Scenario>, crate::run::Ready), Exit> {
    use crate::run;
    let mut ready = run::provision_for(s, &Ui::detect()).map_err(|e| {
        eprintln!("error: {e}");
        Exit::BadInput
    })?;
    let twinned = run::with_gil_twins(s, &ready.report);
    if let Some(t) = &twinned {
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
        ready = run::provision_for(t, &Ui::detect()).map_err(|e| {
            eprintln!("error: {e}");
            Exit::BadInput
        })?;
    }
    let current = twinned.as_ref().unwrap_or(s);
    run::prepare_app(current, &mut ready, &Ui::detect()).map_err(|e| {
        eprintln!("error: {e}");
        Exit::BadInput
    })?;
    let Some(app) = &ready.app else {
        return Ok((twinned, ready));
    };
    eprintln!(
        "djbench: your project {} (settings {}): {}",
        app.app.dir.display(),
        app.app.settings,
        app.app.tasks().describe()
    );
    let kept = run::without_skipped(current, &mut ready);
    if let Some(app) = &ready.app {
        for k in &app.skipped {
            eprintln!("djbench: skipping {}: {}", k.label, k.reason);
        }
    }
    let twinned = kept.or(twinned);
    if twinned.as_ref().is_some_and(|t| t.file.modes.is_empty()) {
        eprintln!("error: djbench check says no mode of the scenario can run the project");
        return Err(Exit::Failed);
    }
    Ok((twinned, ready))
}

/// Runs `execute` on a thread of its own while this one shows its events: the live view,
/// plain lines (live, but no terminal), or just the notes (`scenario` without --live).
pub(super) fn watch(
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
                    // Not eprintln!: a closed terminal (SIGHUP) must not panic the teardown.
                    let _ = writeln!(std::io::stderr(), "djbench: {m}");
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
        .map(|e| {
            let label = crate::run::endpoint(e).label();
            format!("{label} {:.0}%", 100.0 * e.weight.0 / total)
        })
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
                "{}{} warm-up, then {} measured",
                if plan.idle.is_zero() {
                    String::new()
                } else {
                    format!(
                        "{} quiet (idle cost), ",
                        humantime::format_duration(plan.idle)
                    )
                },
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
    if let Some(login) = &f.workload.login {
        use crate::scenario::model::Credential;
        let l = &login.value;
        let user = match &l.username.value {
            Credential::Text(t) => format!("`{t}`"),
            Credential::Env { env } => format!("${env}"),
        };
        let password = match &l.password.value {
            Credential::Text(_) => "the password in the scenario".to_owned(),
            Credential::Env { env } => format!("the password in ${env}"),
        };
        facts.push((
            "Login",
            format!(
                "before each run's load: POST {} as {user} with {password}, expecting {}; its \
                 cookies (and X-CSRFToken on unsafe methods) go with every request",
                l.url.value, l.status.0
            ),
        ));
    }
    if !f.workload.cookies.is_empty() {
        let names: Vec<&str> = (f.workload.cookies.0.iter())
            .map(|(n, _)| n.value.as_str())
            .collect();
        facts.push((
            "Cookies",
            format!("sent with every request: {}", names.join(", ")),
        ));
    }
    if f.gil_twin == crate::scenario::model::GilTwin::Auto {
        facts.push((
            "GIL twin",
            "auto: where the free-threaded CPython is not the GIL one's version and build, each \
             free_threaded deployment also runs on its GIL twin (known after provisioning)"
                .into(),
        ));
    }
    if let Some(list) = f
        .sweep
        .as_ref()
        .and_then(|s| s.value.given().into_iter().next())
    {
        let values: Vec<String> = list.values.iter().map(|(v, _)| v.to_string()).collect();
        facts.push((
            "Sweep",
            format!(
                "{} {}: every deployment once per value (LABEL_{}N)",
                list.parameter,
                values.join(", "),
                list.parameter.suffix()
            ),
        ));
    }
    if !f.faults.is_empty() {
        let each: Vec<String> = crate::faults::Planned::all(&f.faults)
            .iter()
            .map(|p| {
                let what = match p.length {
                    Some(l) => format!("stall {} for {}", p.target, humantime::format_duration(l)),
                    None => format!("kill {}", p.target),
                };
                format!("{what} at {}", humantime::format_duration(p.at))
            })
            .collect();
        facts.push((
            "Faults",
            format!(
                "{} (from the window's start), in every run; restart {}{}; these are fault runs, \
                 never weighed against fault-free ones",
                each.join(", "),
                f.restart().name(),
                if f.restart() == crate::scenario::faults::Restart::Always {
                    format!(" after {}", f.restart_delay)
                } else {
                    String::new()
                },
            ),
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
    if s.deployments().any(|d| {
        d.web_workers.value.per_core().is_some() || d.task_workers.value.per_core().is_some()
    }) {
        facts.push((
            "Per core",
            format!(
                "counts written `K/core` are K × {} CPUs, the CPUs the deployments run on",
                crate::scenario::deployment_cores(f)
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

    let deployments: Vec<_> = s.deployments().collect();
    // Columns for the newer axes only where a deployment uses them: the table must stay
    // readable in 90 columns.
    let asgi = deployments
        .iter()
        .any(|d| d.interface.value == crate::scenario::model::Interface::Asgi);
    let backends = !f.faults.is_empty()
        || deployments
            .iter()
            .any(|d| d.task_backend.value != crate::scenario::model::TaskBackend::Auto);
    let mut headers = vec!["run", "rep", "deployment", "mode", "server"];
    if asgi {
        headers.push("interface");
    }
    headers.extend(["python", "web", "threads", "tasks"]);
    if backends {
        headers.push("task backend");
    }
    let mut runs = table(&headers);
    for r in &plan.runs {
        let d = deployments[r.deployment];
        let mut row = vec![
            r.index.to_string(),
            format!("{}/{}", r.repetition, plan.repetitions),
            d.label().to_owned(),
            d.mode.name().to_owned(),
            d.server.value.to_string(),
        ];
        if asgi {
            row.push(d.interface.value.to_string());
        }
        row.extend([
            d.python.value.to_string(),
            d.web_workers.value.to_string(),
            d.threads.value.to_string(),
            if d.background_tasks {
                d.task_workers.value.to_string()
            } else {
                format!("{} (no load)", d.task_workers.value)
            },
        ]);
        if backends {
            row.push(d.task_backend().to_string());
        }
        runs.add_row(row);
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
