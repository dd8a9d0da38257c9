//! Running a scenario: provision, then for each planned run (modes interleaved across
//! repetitions) deploy the mode on a fresh database, drive it with the load generator while the
//! sampler watches its processes and the background tasks arrive beside the load, drain the
//! tasks, tear down, and write results.json after every run. It orchestrates; the measuring is
//! load's, sample's and the app's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::deploy::{self, Deployment, Spec};
use crate::provision::{self, Cache, Flavour, Lookup, Report, Ui, Wants};
use crate::results::{
    Cpu, Djbench, Interpreter, PerCore, Results, RunResult, SCHEMA_VERSION, Tasks, WorkerBalance,
};
use crate::scenario::model::{Database, Deployment as Shape, Mode, Python};
use crate::scenario::{Plan, Scenario};

/// What one run observed.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    pub label: String,
    pub repetition: u32,
    pub python: String,
    pub gil_enabled: Option<bool>,
    /// What the generator measured.
    pub load: Option<crate::load::LoadReport>,
    /// Memory and CPU of the deployment over the measured window.
    pub sample: Option<crate::sample::SampleReport>,
    /// The app's task figures, or why they could not be read (then they are unknown); None
    /// when the run ended before they were read.
    pub tasks: Option<Result<crate::tasks::Figures, String>>,
    /// What the task load measured of its own `/enqueue` requests.
    pub task_load: Option<crate::load::LoadReport>,
    /// How the deployment served HTTP, as launched.
    pub serving: Option<deploy::Serving>,
    /// Its listening sockets as the kernel had them once it was ready (None: `ss` could not
    /// be run).
    pub listening: Option<Vec<deploy::sockets::Listening>>,
    /// djbench's own CPU while it measured this run.
    pub harness: Option<crate::sample::HarnessCpu>,
    /// What /_djbench/env said when the deployment became ready.
    pub env: Value,
    pub failure: Option<String>,
    /// Ended before its duration from outside (the live view's `n` or `q`, Ctrl-C): how.
    pub cut_short: Option<String>,
    pub survivors: Vec<i32>,
    /// Seconds from starting the deployment to its first ready answer.
    pub ready_seconds: Option<f64>,
    /// Its CPU and ΣPSS over the quiet window before the load (None: unknown or none).
    pub idle: Option<crate::sample::Idle>,
    /// A capacity search's answer (`djbench capacity`), in place of a measured run.
    pub capacity: Option<crate::capacity::Capacity>,
    /// The login done before the load, when the workload has one.
    pub login: Option<crate::load::login::Record>,
    /// A fault run's faults, deaths, restarts and task ledger.
    pub faults: Option<crate::results::FaultRun>,
}

/// Steering a scenario while it runs.
#[derive(Debug, Clone)]
pub struct Controls {
    /// Ctrl-C, SIGTERM, SIGHUP, the live view's `q`: wind down through teardown, run no more
    /// (a second signal kills the deployments at once: see `signals`).
    pub stop: Arc<AtomicBool>,
    /// The live view's `n`: end the current run's load now and go on to the next run.
    pub skip: Arc<AtomicBool>,
    /// The live view's `p`: hold the load (web and tasks) until pressed again.
    pub hold: Arc<crate::load::Hold>,
    /// Read the app's task counts once a second while a run measures, for a live view: from
    /// its SQLite file, never through its server (with PostgreSQL there are none).
    pub watch_tasks: bool,
}

impl Controls {
    /// Ctrl-C, SIGTERM and SIGHUP stop; no live view.
    pub fn new() -> Self {
        Self {
            stop: interrupt_flag(),
            skip: Arc::default(),
            hold: Arc::default(),
            watch_tasks: false,
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.skip.load(Ordering::Relaxed)
    }
}

impl Default for Controls {
    fn default() -> Self {
        Self::new()
    }
}

/// Which run is starting, and the shape its scenario asked for.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// 1-based, of `runs`.
    pub index: usize,
    pub runs: usize,
    /// Where the deployment stands in the scenario's list (its colour in every report).
    pub deployment: usize,
    pub label: String,
    pub mode: Mode,
    pub repetition: u32,
    pub web_workers: u32,
    pub task_workers: u32,
    pub threads: u32,
    pub background_tasks: bool,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What a scenario tells whoever watches it (the plain lines of `scenario`, the live view of
/// `demo`): steps as they happen, and while a run measures about one event a second of each
/// kind, built from the engine's per-second aggregates, never per request.
#[derive(Debug, Clone)]
pub enum Event {
    /// A step worth a line: preparing the database, a run starting, a failure to write.
    Note(String),
    /// A run begins: its deployment is starting.
    Deploying(RunInfo),
    /// The deployment answers: load (warm-up first) begins.
    Measuring {
        python: String,
        gil_enabled: Option<bool>,
    },
    /// One second of the web load, over all endpoints.
    Second(crate::load::SecondRow),
    /// The deployment's processes at one PSS sample.
    Glance(crate::sample::Glance),
    /// The app's task counts (with `Controls::watch_tasks`).
    Tasks {
        enqueued: u64,
        started: u64,
        finished: u64,
    },
    /// Load over; waiting for the task queue to drain.
    Draining,
    /// The run is over and its deployment torn down.
    Done(Box<RunOutcome>),
    /// Every run is over; results are in `out`.
    Finished {
        out: std::path::PathBuf,
        complete: bool,
    },
}

/// Ctrl-C, SIGTERM and SIGHUP set this; every loop checks it and winds down through teardown.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    crate::signals::stop_flag()
}

pub use crate::panics::{fault, panic_message};

/// The interpreter a deployment asked for: a provisioned flavour, or a path of its own.
enum Wanted {
    Flavour(Flavour),
    Path(std::path::PathBuf),
}

fn wanted(s: &Scenario, shape: &Shape) -> Wanted {
    Wanted::Flavour(match &shape.python.value {
        Python::Auto if shape.mode == Mode::FreeThreaded => Flavour::FreeThreaded,
        Python::Auto | Python::Gil => Flavour::Gil,
        Python::FreeThreaded => Flavour::FreeThreaded,
        Python::GilTwin => Flavour::GilTwin,
        // Relative to the scenario file, like any path written in it.
        Python::Path(p) => {
            let base = s.path.parent().unwrap_or(std::path::Path::new("."));
            return Wanted::Path(base.join(p));
        }
    })
}

/// With `gil_twin: auto`, the scenario with a GIL twin beside every free_threaded deployment
/// that runs the provisioned free-threaded interpreter, when that interpreter is not the same
/// version and build as the GIL one (so no-GIL against GIL is not also old against new, or
/// plain against PGO). None when nothing needs adding.
pub fn with_gil_twins(s: &Scenario, report: &Report) -> Option<Scenario> {
    use crate::provision::python::speed_options;
    use crate::scenario::model::GilTwin;
    if s.file.gil_twin != GilTwin::Auto {
        return None;
    }
    let of = |f: Flavour| report.interpreters.iter().find(|i| i.flavour == f);
    let (gil, ft) = (of(Flavour::Gil)?, of(Flavour::FreeThreaded)?);
    if gil.version == ft.version
        && speed_options(&gil.config_args) == speed_options(&ft.config_args)
    {
        return None;
    }
    let mut file = s.file.clone();
    let mut modes = Vec::new();
    for entry in &s.file.modes {
        modes.push(entry.clone());
        let d = &entry.value.0;
        let runs_ft = d.mode == Mode::FreeThreaded
            && matches!(d.python.value, Python::Auto | Python::FreeThreaded);
        let label = format!("{}_gil_twin", d.label());
        if runs_ft && !s.deployments().any(|o| o.label() == label) {
            let mut twin = d.clone();
            twin.label = Some(crate::scenario::model::unwritten(label));
            twin.python = crate::scenario::model::unwritten(Python::GilTwin);
            // A swept deployment's twins make a series of their own.
            if let Some(point) = &mut twin.sweep {
                point.base = format!("{}_gil_twin", point.base);
            }
            modes.push(crate::scenario::model::unwritten(
                crate::scenario::model::Entry(twin),
            ));
        }
    }
    if modes.len() == file.modes.len() {
        return None;
    }
    file.modes = modes;
    Some(Scenario {
        path: s.path.clone(),
        file,
    })
}

/// Checks the interpreters named by path before anything starts: each must run and be 3.14
/// with the GIL or a free-threaded build.
pub fn unsupported(s: &Scenario) -> Option<String> {
    s.deployments().find_map(|d| match wanted(s, d) {
        Wanted::Path(p) => provision::python::from_path(&p)
            .err()
            .map(|e| format!("`python: {}` cannot be used: {e}", d.python.value)),
        Wanted::Flavour(_) => None,
    })
}

/// What a run needs ready: the setup report, and a venv python for each interpreter the
/// scenario names by path.
pub struct Ready {
    pub report: Report,
    by_path: Vec<(std::path::PathBuf, std::path::PathBuf, bool)>,
    /// A user's project (`app:`), once `prepare_app` has run.
    pub app: Option<AppReady>,
}

/// A user's project ready to deploy: resolved and its settings read, a venv per interpreter
/// flavour, and what `djbench check` says of each mode.
pub struct AppReady {
    pub app: deploy::app::App,
    venvs: Vec<(Flavour, std::path::PathBuf)>,
    pub check: crate::check::Report,
    /// Deployments of the scenario left out, with the check's reason.
    pub skipped: Vec<crate::scenario::Skipped>,
}

impl AppReady {
    /// Whether the check says `shape` can run the project; Err is the check's reason. A GIL
    /// twin is judged as the GIL build's main interpreter (gunicorn_celery's verdict).
    fn verdict(&self, shape: &Shape) -> Result<(), String> {
        let mode = if shape.python.value == Python::GilTwin {
            Mode::GunicornCelery
        } else {
            shape.mode
        };
        match self.check.modes.iter().find(|m| m.mode == mode) {
            Some(m) if !m.can_run => Err(format!(
                "djbench check: {} cannot run the project: {}{}",
                mode.name(),
                m.reason.as_deref().unwrap_or("no reason given"),
                if m.blocking.is_empty() {
                    String::new()
                } else {
                    format!(" (packages: {})", m.blocking.join(", "))
                }
            )),
            _ => Ok(()),
        }
    }

    /// The plan's account of the project, as `s` deploys it.
    pub fn plan(&self, s: &Scenario) -> crate::scenario::ProjectPlan {
        let a = &self.app;
        let over_asgi = s
            .deployments()
            .any(|d| d.interface.value == crate::scenario::model::Interface::Asgi);
        crate::scenario::ProjectPlan {
            dir: a.dir.clone(),
            settings: a.settings.clone(),
            wsgi: a.wsgi.clone().unwrap_or_else(|| {
                a.info
                    .as_ref()
                    .and_then(|i| i.wsgi_application.clone())
                    .unwrap_or_else(|| "WSGI_APPLICATION (unset)".into())
            }),
            asgi: over_asgi.then(|| {
                a.asgi.clone().unwrap_or_else(|| {
                    "Django's get_asgi_application() (name the project's own with `app.asgi`)"
                        .into()
                })
            }),
            tasks: a.tasks().describe(),
            skipped: self.skipped.clone(),
        }
    }
}

/// Resolves the scenario's `app:` (through `check`'s reading of manage.py and settings), runs
/// `djbench check` on it (cached by requirements), builds its venvs and reads its settings.
/// Err: what is wrong, for the user (exit 2).
pub fn prepare_app(s: &Scenario, ready: &mut Ready, ui: &Ui) -> Result<(), String> {
    let Some(spec) = &s.file.app else {
        return Ok(());
    };
    let a = &spec.value;
    let dir = a.dir(&s.path);
    let requirements = a.requirements.as_ref().map(|r| dir.join(&r.value));
    let project = crate::check::project::find(
        &dir,
        a.settings.as_ref().map(|x| x.value.as_str()),
        requirements.as_deref(),
    )
    .map_err(|e| format!("{}: app: {e}", s.path.display()))?;
    let lookup = Lookup::from_env(Cache::from_env());
    let check = crate::check::check(&project, &lookup, &ui.clone().tagged("check"))
        .map_err(|e| format!("checking the project: {e}"))?;
    let requirements = match &project.requirements {
        crate::check::project::Requirements::File(p) => p.clone(),
        // check wrote pyproject.toml's dependencies out as a requirements file beside its venv.
        crate::check::project::Requirements::Pyproject(_) => check
            .interpreters
            .first()
            .and_then(|e| e.venv.parent())
            .map(|d| d.join("requirements.txt"))
            .ok_or("check made no virtualenv")?,
    };
    let mut flavours = Vec::new();
    for d in s.deployments() {
        match wanted(s, d) {
            Wanted::Flavour(f) => {
                if !flavours.contains(&f) {
                    flavours.push(f);
                }
            }
            Wanted::Path(p) => {
                return Err(format!(
                    "`python: {}` with `app:` is not supported: use gil, free_threaded or \
                     gil_twin",
                    p.display()
                ));
            }
        }
    }
    // The set-up and settings run on the GIL build's venv.
    if !flavours.contains(&Flavour::Gil) {
        flavours.insert(0, Flavour::Gil);
    }
    let mut venvs = Vec::new();
    for f in flavours {
        let interp = provision::interpreter(&lookup, f, ui).map_err(|e| e.to_string())?;
        let venv =
            provision::venv::ensure_app(&lookup.cache, ui, &interp, &project.dir, &requirements)
                .map_err(|e| e.to_string())?;
        venvs.push((f, venv.python));
    }
    let mut setup = Vec::new();
    for command in &a.setup {
        setup.push(shlex::split(&command.value).unwrap_or_default());
    }
    let mut app = deploy::app::App {
        dir: project.dir.clone(),
        settings: project.settings.clone(),
        wsgi: a.wsgi.as_ref().map(|w| w.value.clone()),
        asgi: a.asgi.as_ref().map(|w| w.value.clone()),
        env: a
            .env
            .0
            .iter()
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect(),
        setup,
        info: None,
    };
    // Settings read DATABASE_URL and the like at import: give them a database's shape.
    let probe_db = deploy::app::Services::from_db_env(&[(
        "DJBENCH_SQLITE_PATH".to_owned(),
        std::env::temp_dir()
            .join("djbench-appinfo.sqlite3")
            .display()
            .to_string(),
    )]);
    let gil = &venvs[0].1;
    app.read_info(gil, &probe_db, &AtomicBool::new(false))
        .map_err(|e| e.to_string())?;
    ready.app = Some(AppReady {
        app,
        venvs,
        check,
        skipped: Vec::new(),
    });
    Ok(())
}

/// The scenario without the deployments the check says cannot run the user's project (those
/// are kept in `ready`, with its reason); None when nothing is left out.
pub fn without_skipped(s: &Scenario, ready: &mut Ready) -> Option<Scenario> {
    let app = ready.app.as_mut()?;
    let mut file = s.file.clone();
    let mut skipped = Vec::new();
    file.modes.retain(|entry| {
        let shape = &entry.value.0;
        match app.verdict(shape) {
            Ok(()) => true,
            Err(reason) => {
                skipped.push(crate::scenario::Skipped {
                    label: shape.label().to_owned(),
                    mode: shape.mode,
                    reason,
                });
                false
            }
        }
    });
    if skipped.is_empty() {
        return None;
    }
    app.skipped = skipped;
    Some(Scenario {
        path: s.path.clone(),
        file,
    })
}

pub fn provision_for(s: &Scenario, ui: &Ui) -> Result<Ready, provision::ProvisionError> {
    let wants = Wants {
        gil_twin: s
            .deployments()
            .any(|d| matches!(d.python.value, Python::GilTwin)),
        postgres: s.file.database == Database::Postgres,
    };
    let cache = Cache::from_env();
    let report = provision::setup(&Lookup::from_env(cache.clone()), wants, ui)?;
    let mut by_path = Vec::new();
    for d in s.deployments() {
        if let Wanted::Path(p) = wanted(s, d) {
            let interp = provision::python::from_path(&p)
                .map_err(|e| provision::ProvisionError::new("the scenario's python", e))?;
            let venv = provision::venv::ensure(&cache, ui, &interp)?;
            by_path.push((p, venv.python, interp.facts.gil_enabled));
        }
    }
    Ok(Ready {
        report,
        by_path,
        app: None,
    })
}

/// Where each deployment's data comes from: a seeded SQLite template, or a seeded template
/// database on a PostgreSQL cluster started for the whole scenario.
enum Data {
    Sqlite(std::path::PathBuf),
    Postgres(deploy::postgres::Cluster),
}

impl Data {
    /// The template every run's database is copied from: the sample's migrated and seeded,
    /// or a user's project set up by its own commands (`app`).
    fn prepare(
        s: &Scenario,
        plan: &Plan,
        python: &std::path::Path,
        postgres: Option<&std::path::Path>,
        app: Option<&deploy::app::App>,
        keep: bool,
        stop: &AtomicBool,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(&plan.out).map_err(|e| e.to_string())?;
        if s.file.database == Database::Postgres {
            let bin = postgres.ok_or("no PostgreSQL server binaries (djbench setup --postgres)")?;
            let cluster = deploy::postgres::Cluster::start(bin, &plan.out, keep, stop)
                .map_err(|e| e.to_string())?;
            cluster
                .create_database("djbench_template", None)
                .map_err(|e| e.to_string())?;
            let env = cluster.env("djbench_template");
            match app {
                Some(app) => app
                    .set_up(python, &deploy::app::Services::from_db_env(&env), stop)
                    .map_err(|e| e.to_string())?,
                None => deploy::migrate_and_seed(python, &env, stop).map_err(|e| e.to_string())?,
            }
            Ok(Data::Postgres(cluster))
        } else {
            let template = plan.out.join("db-template.sqlite3");
            match app {
                Some(app) => {
                    let _ = std::fs::remove_file(&template);
                    let path = std::path::absolute(&template).map_err(|e| e.to_string())?;
                    let env = [("DJBENCH_SQLITE_PATH".to_owned(), path.display().to_string())];
                    app.set_up(python, &deploy::app::Services::from_db_env(&env), stop)
                        .map_err(|e| e.to_string())?;
                }
                None => {
                    deploy::prepare_database(python, &template, stop).map_err(|e| e.to_string())?
                }
            }
            Ok(Data::Sqlite(template))
        }
    }

    fn for_run(&self, index: usize) -> Result<deploy::Database, String> {
        match self {
            Data::Sqlite(t) => Ok(deploy::Database::SqliteTemplate(t.clone())),
            Data::Postgres(cluster) => {
                let name = format!("djbench_run_{index:02}");
                cluster
                    .create_database(&name, Some("djbench_template"))
                    .map_err(|e| e.to_string())?;
                Ok(deploy::Database::Postgres(cluster.env(&name)))
            }
        }
    }
}

pub fn execute(
    s: &Scenario,
    plan: &Plan,
    ready: &Ready,
    keep: bool,
    controls: &Controls,
    events: &mpsc::Sender<Event>,
) -> Vec<RunOutcome> {
    execute_with(s, plan, ready, keep, controls, events, &mut |live, o| {
        measure_caught(live, o)
    })
}

/// A deployment that answers, and what its run is part of: what a `Work` gets.
pub struct Live<'a> {
    pub s: &'a Scenario,
    pub shape: &'a Shape,
    pub plan: &'a Plan,
    pub d: &'a Deployment,
    /// The run's SQLite file (None with PostgreSQL).
    pub sqlite: Option<&'a std::path::Path>,
    pub controls: &'a Controls,
    pub events: &'a mpsc::Sender<Event>,
}

/// What to do with each deployment once it answers, filling in its outcome; returns whether
/// it panicked (then no further run starts).
pub type Work<'w> = dyn FnMut(&Live<'_>, &mut RunOutcome) -> bool + 'w;

/// As `execute`, with `work` in place of the scenario's measured run: each planned run
/// deploys its mode on a fresh database, hands it to `work` once it answers, tears it down,
/// and results.json is written after every run.
pub fn execute_with(
    s: &Scenario,
    plan: &Plan,
    ready: &Ready,
    keep: bool,
    controls: &Controls,
    events: &mpsc::Sender<Event>,
    work: &mut Work<'_>,
) -> Vec<RunOutcome> {
    let progress = |m: String| {
        let _ = events.send(Event::Note(m));
    };
    let report = &ready.report;
    // A user's project runs from venvs of its own requirements.
    let venv = |f: Flavour| match &ready.app {
        Some(app) => app
            .venvs
            .iter()
            .find(|(g, _)| *g == f)
            .map(|(_, python)| python.clone()),
        None => report
            .venvs
            .iter()
            .find(|v| v.flavour == f)
            .map(|v| v.path.join("bin/python")),
    };
    let redis = report
        .services
        .iter()
        .find(|x| x.name == "redis-server")
        .map(|x| x.path.clone());
    let deployments: Vec<&Shape> = s.deployments().collect();
    let postgres = report
        .services
        .iter()
        .find(|x| x.name == "postgres")
        .map(|x| x.path.clone());
    let mut outcomes = Vec::new();
    // This thread starts the generator, the sampler and the task load: they inherit its place.
    if let Some(iso) = &s.file.isolation {
        match deploy::process::pin_this_thread(&iso.value.harness) {
            Ok(()) => progress(format!(
                "djbench on CPUs {:?}, every deployment on CPUs {:?}",
                iso.value.harness, iso.value.deployment
            )),
            Err(e) => progress(format!("cannot place djbench on its CPUs: {e}")),
        }
    }
    progress("preparing the database".into());
    let data = venv(Flavour::Gil)
        .ok_or_else(|| "no 3.14 virtualenv".to_owned())
        .and_then(|python| {
            let app = ready.app.as_ref().map(|a| &a.app);
            Data::prepare(
                s,
                plan,
                &python,
                postgres.as_deref(),
                app,
                keep,
                &controls.stop,
            )
        });
    let data = match data {
        Ok(d) => d,
        Err(e) => {
            outcomes.push(RunOutcome {
                label: "database".into(),
                failure: Some(e),
                ..Default::default()
            });
            // Stopped or failed before the first run: still a results file, marked incomplete.
            save(s, plan, &outcomes, &progress);
            let _ = events.send(Event::Finished {
                out: plan.out.clone(),
                complete: false,
            });
            return outcomes;
        }
    };
    for run in &plan.runs {
        if controls.stop.load(Ordering::Relaxed) {
            break;
        }
        controls.skip.store(false, Ordering::Relaxed);
        let shape = deployments[run.deployment];
        let label = shape.label().to_owned();
        progress(format!(
            "run {}/{}: {label} (repetition {}/{})",
            run.index,
            plan.runs.len(),
            run.repetition,
            plan.repetitions
        ));
        let _ = events.send(Event::Deploying(RunInfo {
            index: run.index,
            runs: plan.runs.len(),
            deployment: run.deployment,
            label: label.clone(),
            mode: shape.mode,
            repetition: run.repetition,
            web_workers: shape.web_workers.value.get(),
            task_workers: shape.task_workers.value.get(),
            threads: shape.threads.value.get(),
            background_tasks: shape.background_tasks && s.file.tasks.rate.is_some(),
            warmup: plan.warmup,
            duration: plan.duration,
        }));
        let mut outcome = RunOutcome {
            label: label.clone(),
            repetition: run.repetition,
            ..Default::default()
        };
        let (python, allow_gil) = match wanted(s, shape) {
            Wanted::Flavour(f) => (venv(f), f != Flavour::FreeThreaded),
            Wanted::Path(p) => {
                let found = ready.by_path.iter().find(|(q, ..)| *q == p);
                (
                    found.map(|(_, venv, _)| venv.clone()),
                    found.is_some_and(|(.., gil)| *gil),
                )
            }
        };
        let Some(python) = python else {
            outcome.failure = Some(format!(
                "no virtualenv for `python: {}`",
                shape.python.value
            ));
            outcomes.push(outcome);
            continue;
        };
        let database = match data.for_run(run.index) {
            Ok(d) => d,
            Err(e) => {
                outcome.failure = Some(e);
                outcomes.push(outcome);
                continue;
            }
        };
        let spec = Spec {
            mode: shape.mode,
            server: shape.server.value,
            web_workers: shape.web_workers.value.get(),
            threads: shape.threads.value.get(),
            task_workers: shape.task_workers.value.get(),
            backlog: shape.backlog.get(),
            python,
            allow_gil,
            redis: redis.clone(),
            run_dir: plan.out.join(format!("run-{:02}-{label}", run.index)),
            database,
            env: Vec::new(),
            cpus: s
                .file
                .isolation
                .as_ref()
                .map(|i| i.value.deployment.clone()),
            app: ready.app.as_ref().map(|a| a.app.clone()),
            task_backend: shape.task_backend(),
            interface: shape.interface.value,
            visibility_timeout: s.file.tasks.visibility_timeout(!s.file.faults.is_empty()),
        };
        let mut panicked = false;
        let starting = Instant::now();
        match Deployment::start(&spec) {
            Err(e) => outcome.failure = Some(e.to_string()),
            Ok(mut d) => {
                match d.wait_ready(Duration::from_secs(90), &controls.stop) {
                    Err(e) => outcome.failure = Some(e.to_string()),
                    Ok(env) => {
                        outcome.ready_seconds = Some(starting.elapsed().as_secs_f64());
                        outcome.serving = Some(spec.serving());
                        outcome.listening = d.listening();
                        outcome.python = env["python"].as_str().unwrap_or("?").to_owned();
                        outcome.gil_enabled = env["gil_enabled"].as_bool();
                        outcome.env = env;
                        let _ = events.send(Event::Measuring {
                            python: outcome.python.clone(),
                            gil_enabled: outcome.gil_enabled,
                        });
                        let sqlite = matches!(spec.database, deploy::Database::SqliteTemplate(_))
                            .then(|| spec.run_dir.join("db.sqlite3"));
                        let live = Live {
                            s,
                            shape,
                            plan,
                            d: &d,
                            sqlite: sqlite.as_deref(),
                            controls,
                            events,
                        };
                        panicked = work(&live, &mut outcome);
                    }
                }
                outcome.survivors = d.stop().survivors;
            }
        }
        let _ = events.send(Event::Done(Box::new(outcome.clone())));
        outcomes.push(outcome);
        // After every run, so an interruption leaves what was measured, marked incomplete.
        save(s, plan, &outcomes, &progress);
        if panicked {
            progress("a panic is a bug of djbench: no further run starts".into());
            break;
        }
    }
    drop(data);
    let _ = events.send(Event::Finished {
        out: plan.out.clone(),
        complete: complete(plan, &outcomes),
    });
    outcomes
}

/// What the app's `/_djbench/env` says about itself, as far as results.json records it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
struct AppEnv {
    server: Option<String>,
    server_version: Option<String>,
    free_threaded_build: Option<bool>,
    executable: Option<String>,
    config_args: Option<String>,
    django: Option<String>,
    psycopg: Option<String>,
    task_backend: Option<String>,
    interface: Option<String>,
    extension_modules: Vec<String>,
}

/// One run's entry of results.json, from what the run observed.
pub fn run_result(index: usize, d: &Shape, o: &RunOutcome) -> RunResult {
    // An env the app did not give (the run failed first) records as unknown throughout.
    let env: AppEnv = serde_json::from_value(o.env.clone()).unwrap_or_default();
    let load = o.load.as_ref();
    let mem = o.sample.as_ref();
    let per_core = PerCore::of(d.web_workers.value, d.task_workers.value);
    RunResult {
        index,
        repetition: o.repetition,
        label: o.label.clone(),
        mode: d.mode.name().to_owned(),
        server: env.server,
        server_version: env.server_version,
        interface: env.interface,
        serving: o.serving.clone(),
        serving_shape: o.serving.as_ref().map(|sv| match &per_core {
            Some(PerCore {
                cores,
                web_workers_per_core: Some(k),
                ..
            }) => format!("{} ({k}/core on {cores} cores)", sv.shape()),
            _ => sv.shape(),
        }),
        per_core,
        listening: o.listening.clone(),
        workers: match (load, &o.serving) {
            // Over ASGI the worker header names the event loop's thread, not the thread that
            // ran the view: a thread's share is not known.
            (Some(_), Some(sv))
                if sv.interface == crate::scenario::model::Interface::Asgi
                    && sv.worker_unit == crate::scenario::model::WorkerUnit::Thread =>
            {
                None
            }
            (Some(l), Some(sv)) => WorkerBalance::of(&l.workers, sv.worker_unit, sv.web_workers),
            _ => None,
        },
        connections_per_request: load.and_then(|l| l.connections_per_request),
        harness: o.harness.clone(),
        interpreter: Interpreter {
            version: o.python.clone(),
            gil_enabled: o.gil_enabled,
            free_threaded_build: env.free_threaded_build,
            executable: env.executable,
            config_args: env.config_args,
        },
        django: env.django,
        psycopg: env.psycopg,
        task_backend: env.task_backend,
        task_durability: Some(crate::results::TaskDurability {
            backend: d.task_backend(),
            explained: d.task_backend().explain().to_owned(),
            options: o.env.get("task_options").cloned().unwrap_or_default(),
        }),
        faults: o.faults.clone(),
        extension_modules: env.extension_modules,
        requests: load.map_or(0, |l| l.requests),
        errors: load.map_or(0, |l| l.errors),
        error_rate: load.and_then(|l| l.error_rate),
        throughput_rps: load.map_or(0.0, |l| l.throughput_rps),
        latency_us: load.and_then(|l| l.latency_shown()),
        pss_bytes: mem.and_then(|m| m.pss_known()),
        rss_bytes: mem.filter(|m| m.rss_samples > 0).map(|m| m.rss.total),
        uss_bytes: mem.filter(|m| m.pss_samples > 0).map(|m| m.uss.total),
        cpu: mem.and_then(|m| {
            Some(Cpu {
                cores: m.cpu_known()?,
                by_role: m.cpu_cores.clone(),
            })
        }),
        tasks: match &o.tasks {
            Some(Ok(f)) => {
                // An /enqueue request that failed asked for a task that never ran: lost too.
                let enqueue_failed = o.task_load.as_ref().map_or(0, |l| l.errors);
                Some(Tasks {
                    enqueued: f.enqueued,
                    finished: f.finished,
                    lost: f.lost + enqueue_failed,
                    enqueue_failed,
                    in_window: f.in_window,
                    enqueue_to_start_us: f.enqueue_to_start_us,
                    enqueue_to_finish_us: f.enqueue_to_finish_us,
                    tasks_per_second: f.tasks_per_second,
                })
            }
            _ => None,
        },
        tasks_unknown: match &o.tasks {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        },
        load: o.load.clone(),
        task_load: o.task_load.clone(),
        memory: o.sample.clone(),
        failure: o.failure.clone(),
        cut_short: o.cut_short.clone(),
        ready_seconds: o.ready_seconds,
        idle: o.idle,
        sweep: d.sweep.clone(),
        login: o.login.clone(),
    }
}

/// The whole results document for `outcomes` so far.
pub fn document(s: &Scenario, plan: &Plan, outcomes: &[RunOutcome], complete: bool) -> Results {
    let deployments: Vec<_> = s.deployments().collect();
    let runs = outcomes
        .iter()
        .zip(&plan.runs)
        .map(|(o, r)| run_result(r.index, deployments[r.deployment], o))
        .collect();
    Results {
        schema_version: SCHEMA_VERSION,
        complete,
        djbench: Djbench::this(),
        host: crate::provision::host::Host::read(),
        scenario: s.file.clone(),
        plan: plan.clone(),
        runs,
        capacity: outcomes.iter().filter_map(|o| o.capacity.clone()).collect(),
    }
}

/// Writes results.json and the reports for `outcomes` so far, each atomically; a failure to
/// write is told, not fatal (the runs go on and their teardown with them).
fn save(s: &Scenario, plan: &Plan, outcomes: &[RunOutcome], progress: &dyn Fn(String)) {
    let doc = document(s, plan, outcomes, complete(plan, outcomes));
    let written =
        crate::results::write(&plan.out, &doc).and_then(|()| crate::report::write(&plan.out, &doc));
    if let Err(e) = written {
        progress(format!(
            "cannot write results into {}: {e}",
            plan.out.display()
        ));
    }
}

/// Every planned run ran its full time without failing.
fn complete(plan: &Plan, outcomes: &[RunOutcome]) -> bool {
    outcomes.len() == plan.runs.len()
        && outcomes
            .iter()
            .all(|o| o.failure.is_none() && o.cut_short.is_none())
}

/// `measure`, with a panic in it (a bug of djbench, in any of its threads) caught: the run
/// fails with the panic's message and the caller still tears the deployment down. Returns
/// whether it panicked.
fn measure_caught(live: &Live<'_>, o: &mut RunOutcome) -> bool {
    caught(o, |o| {
        measure(
            live.s,
            live.shape,
            live.plan,
            live.d,
            live.sqlite,
            live.controls,
            live.events,
            o,
        )
    })
}

/// Runs `f`, catching a panic (a bug of djbench): the outcome fails with the panic's message.
/// Returns whether it panicked.
pub fn caught(o: &mut RunOutcome, f: impl FnOnce(&mut RunOutcome)) -> bool {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f(o);
        fault("measure");
    }));
    match caught {
        Ok(()) => false,
        Err(p) => {
            o.failure = Some(format!("djbench panicked: {}", panic_message(p.as_ref())));
            true
        }
    }
}

/// A scenario's endpoint as the generator sends it.
pub fn endpoint(e: &crate::scenario::model::Endpoint) -> crate::load::Endpoint {
    crate::load::Endpoint {
        path: e.path.clone(),
        weight: e.weight.0,
        method: e.method.http(),
        headers: e
            .headers
            .0
            .iter()
            .map(|(name, value)| (name.value.clone(), value.value.clone()))
            .collect(),
        body: e.body().map(|(content_type, bytes)| crate::load::Body {
            content_type: content_type.to_owned(),
            bytes: bytes.into(),
        }),
        expect: e.status.map(|s| s.get() as u16),
    }
}

/// The scenario's login with its credentials read, from the environment where the scenario
/// says so; None without a login. Err names the unset variable and the scenario key.
pub fn login_of(s: &Scenario) -> Result<Option<crate::load::login::Login>, String> {
    let Some(l) = &s.file.workload.login else {
        return Ok(None);
    };
    let l = &l.value;
    Ok(Some(crate::load::login::Login {
        url: l.url.value.clone(),
        username: l.username.value.resolve("workload.login.username")?,
        password: l.password.value.resolve("workload.login.password")?,
        fields: (l.fields.username.clone(), l.fields.password.clone()),
        expect: l.status.get() as u16,
    }))
}

/// The scenario's web load (its endpoint mix, model, connections and timeout) against a
/// deployment at `base_url`, in the workload's session: its cookies, and its login done now,
/// before the load and its warm-up (with the login's record). Err: the login failed.
pub fn web_load(
    s: &Scenario,
    base_url: &str,
    warmup: Duration,
    duration: Duration,
    controls: &Controls,
) -> Result<(crate::load::LoadSpec, Option<crate::load::login::Record>), String> {
    use crate::load::{LoadSpec, Model};
    use crate::scenario::model::LoadModel;
    let target =
        crate::load::target(base_url, false).map_err(|_| format!("cannot load {base_url}"))?;
    let shape_of_load = s.load();
    let cookies: Vec<(String, String)> = (s.file.workload.cookies.0.iter())
        .map(|(n, v)| (n.value.clone(), v.value.clone()))
        .collect();
    let session = crate::load::login::Session::open(
        base_url,
        &cookies,
        login_of(s)?.as_ref(),
        s.file.workload.timeout.value.0,
    )?;
    let mut endpoints: Vec<_> = s.endpoints().map(endpoint).collect();
    session.apply(&mut endpoints);
    let spec = LoadSpec {
        addr: target.addr,
        host: target.host.clone(),
        endpoints,
        model: match shape_of_load.model {
            LoadModel::Closed => Model::Closed {
                connections: shape_of_load.connections,
            },
            LoadModel::Open => Model::Open {
                rate: shape_of_load.rate.unwrap_or(1.0),
                poisson: shape_of_load.poisson,
                max_connections: shape_of_load.connections,
            },
        },
        warmup,
        duration,
        timeout: s.file.workload.timeout.value.0,
        // The machine's other cores serve the deployment; one generator thread keeps up on
        // loopback (its CPU is reported, and a saturated generator is flagged).
        threads: 1,
        control: crate::load::Control {
            stop: vec![controls.stop.clone(), controls.skip.clone()],
            hold: Some(controls.hold.clone()),
        },
        name: "web",
    };
    Ok((spec, session.record))
}

/// How long the machine's speed is measured on either side of a capacity search.
const CALIBRATION: Duration = Duration::from_secs(2);

/// A capacity search on a deployment that answers (`djbench capacity`): the scenario's web
/// mix at open-loop rates the search picks, every trial sampled; no background tasks are
/// enqueued. Each trial is told as a note.
pub fn search_capacity(live: &Live<'_>, searched: crate::capacity::Searched, o: &mut RunOutcome) {
    use crate::capacity::{self, Capacity, TrialShape, Watch};
    let (warmup, window) = (
        Duration::from_secs_f64(searched.warmup_seconds),
        Duration::from_secs_f64(searched.window_seconds),
    );
    let load = match web_load(live.s, &live.d.base_url, warmup, window, live.controls) {
        Ok((l, login)) => {
            o.login = login;
            l
        }
        Err(e) => {
            o.failure = Some(e);
            return;
        }
    };
    let shape = TrialShape {
        load,
        slo: searched.slo,
        max_interference: searched.max_interference,
    };
    let watch = Watch {
        leaders: live.d.session_roles(),
        rss_hz: live.s.file.sampling.rss_hz.0,
        pss_hz: live.s.file.sampling.pss_hz.0,
    };
    // The machine's speed on either side of the search: a search whose machine slowed down
    // (or sped up) measured two machines, and one whose speed differs from another run's
    // cannot be compared with it.
    let calibrate = || crate::host::calibrate(CALIBRATION);
    let before = calibrate();
    let began = Instant::now();
    let found = capacity::search(&searched.method, &mut |rate, phase| {
        let t = capacity::run_trial(&shape, rate, phase, Some(&watch))?;
        let _ = live
            .events
            .send(Event::Note(format!("{}: {}", o.label, t.describe())));
        Ok(t)
    });
    let mut c = Capacity::of(&o.label, searched, found, began.elapsed().as_secs_f64());
    c.ready_seconds = o.ready_seconds;
    let calibration = crate::host::Calibration {
        before,
        after: calibrate(),
    };
    if let Some(moved) = calibration.moved() {
        let _ = live.events.send(Event::Note(format!(
            "{}: warning: {moved}: its capacity was measured on two machines",
            o.label
        )));
    }
    c.calibration = Some(calibration);
    let _ = live
        .events
        .send(Event::Note(format!("{}: {}", o.label, c.describe())));
    o.capacity = Some(c);
}

/// The scenario's load on one deployment: its endpoint mix through the generator (closed or
/// open loop), and beside it the background tasks as an open loop of `/enqueue` requests at
/// the scenario's rate; then a bounded drain of the task queue.
#[allow(clippy::too_many_arguments)]
fn measure(
    s: &Scenario,
    shape: &Shape,
    plan: &Plan,
    d: &Deployment,
    sqlite: Option<&std::path::Path>,
    controls: &Controls,
    events: &mpsc::Sender<Event>,
    o: &mut RunOutcome,
) {
    use crate::load::{Endpoint, LoadSpec, Model};
    use crate::sample::cpu_seconds;
    use nix::sys::resource::UsageWho;
    o.idle = quiet(s, plan, d, controls, events);
    let (began, process_cpu, my_cpu) = (
        Instant::now(),
        cpu_seconds(UsageWho::RUSAGE_SELF),
        cpu_seconds(UsageWho::RUSAGE_THREAD),
    );
    let spec = match web_load(s, &d.base_url, plan.warmup, plan.duration, controls) {
        Ok((spec, login)) => {
            o.login = login;
            spec
        }
        Err(e) => {
            o.failure = Some(e);
            return;
        }
    };
    let tasks = &s.file.tasks;
    let task_spec = tasks
        .rate
        .filter(|_| shape.background_tasks)
        .map(|rate| LoadSpec {
            endpoints: vec![Endpoint::get(
                format!(
                    "/enqueue?kind={}&n={}",
                    format!("{:?}", tasks.kind).to_lowercase(),
                    tasks.size()
                ),
                1.0,
            )],
            model: Model::Open {
                rate: rate.0,
                poisson: false,
                max_connections: 16,
            },
            name: "tasks",
            ..spec.clone()
        });
    let glances = events.clone();
    let sampler = crate::sample::Sampler::watched(
        d.sessions(),
        s.file.sampling.rss_hz.0,
        s.file.sampling.pss_hz.0,
        Instant::now() + plan.warmup,
        Some(Box::new(move |g| {
            let _ = glances.send(Event::Glance(g));
        })),
    );
    let watching = AtomicBool::new(controls.watch_tasks && task_spec.is_some());
    let task_page = |path: &str| -> Result<crate::tasks::Page, String> {
        let v = d.get_json(path).map_err(|e| e.to_string())?;
        serde_json::from_value(v).map_err(|e| format!("GET {path}: {e}"))
    };
    // The window as the app's clock has it: the generator opens it after the warm-up from
    // about now (microseconds apart), and it ends as the load report says it lasted.
    let window = crate::tasks::Window::from_now(plan.warmup, plan.duration);
    let window_start = Instant::now() + plan.warmup;
    let planned = crate::faults::Planned::all(&s.file.faults);
    let faults_done = AtomicBool::new(false);
    let busy = || crate::faults::busy_pids(sqlite);
    let mut sent = Vec::new();
    let mut deaths = Vec::new();
    std::thread::scope(|scope| {
        let supervisor = (!planned.is_empty()).then(|| {
            scope.spawn(|| {
                let delay = s.file.restart_delay.0;
                deploy::supervisor::watch(d, s.file.restart(), delay, &faults_done)
            })
        });
        let injector = (!planned.is_empty()).then(|| {
            let until = window_start + plan.duration + tasks.drain_timeout.0;
            let (planned, busy, done) = (&planned, &busy, &faults_done);
            scope.spawn(move || crate::faults::inject(d, planned, window_start, until, busy, done))
        });
        if watching.load(Ordering::Relaxed)
            && let Some(db) = sqlite
        {
            scope.spawn(|| watch_tasks(db, &watching, events));
        }
        let task_load = task_spec.map(|t| scope.spawn(move || crate::load::run(&t)));
        let seconds = events.clone();
        match crate::load::run_watched(&spec, &mut |row| {
            let _ = seconds.send(Event::Second(row.clone()));
        }) {
            Ok(report) => o.load = Some(report),
            Err(e) => o.failure = Some(e.to_string()),
        }
        match sampler.finish() {
            Ok(report) => o.sample = Some(report),
            Err(e) => o.failure = Some(format!("{e}: this run's memory and CPU are unknown")),
        }
        match task_load.map(|h| h.join()) {
            Some(Ok(Ok(report))) => o.task_load = Some(report),
            Some(Ok(Err(e))) => o.failure = Some(format!("background tasks: {e}")),
            Some(Err(_)) => o.failure = Some("the task load's thread panicked".into()),
            None => {}
        }
        // A hold ends with the run's load: the next run starts with load.
        if controls.hold.is_held() {
            controls.hold.toggle();
        }
        // A user's project's tasks are its own: djbench counts only the sample's (each
        // records its enqueue, start and finish), so their figures stay unknown.
        if s.file.app.is_none() {
            let _ = events.send(Event::Draining);
            let drain_end = Instant::now() + tasks.drain_timeout.0;
            if let Err(e) = crate::tasks::drain(&task_page, drain_end, &|| controls.stopped()) {
                o.tasks = Some(Err(format!("draining the task queue: {e}")));
            }
        }
        watching.store(false, Ordering::Relaxed);
        faults_done.store(true, Ordering::Relaxed);
        if let Some(h) = injector {
            sent = h.join().unwrap_or_default();
        }
        if let Some(h) = supervisor {
            deaths = h.join().unwrap_or_default();
        }
    });
    if !planned.is_empty() {
        o.faults = Some(fault_run(
            s,
            shape,
            o,
            &task_page,
            window,
            window_start,
            &sent,
            &deaths,
        ));
    }
    if let Some(l) = o.load.as_ref().filter(|l| l.stopped_early) {
        let how = if controls.stop.load(Ordering::Relaxed) {
            "interrupted"
        } else {
            "skipped"
        };
        if l.measured_seconds < 0.5 {
            o.failure = Some(format!("{how} before it was measured"));
        } else {
            o.cut_short = Some(format!(
                "{how} after {:.1} s of {} s",
                l.measured_seconds,
                plan.duration.as_secs()
            ));
        }
    }
    if o.tasks.is_none() && s.file.app.is_none() {
        let window = match &o.load {
            Some(l) => window.lasting(Duration::from_secs_f64(l.measured_seconds + l.held_seconds)),
            None => window,
        };
        o.tasks = Some(
            crate::tasks::figures(&task_page, window)
                .map_err(|e| format!("reading the app's task table: {e}")),
        );
    }
    let threads_cpu = |l: &Option<crate::load::LoadReport>| {
        l.as_ref().map_or(0.0, |l| l.generator.threads_cpu_seconds)
    };
    o.harness = Some(crate::sample::HarnessCpu::new(
        began.elapsed().as_secs_f64(),
        cpu_seconds(UsageWho::RUSAGE_SELF) - process_cpu,
        [
            threads_cpu(&o.load),
            threads_cpu(&o.task_load),
            o.sample.as_ref().map_or(0.0, |m| m.sampler_cpu_seconds),
            cpu_seconds(UsageWho::RUSAGE_THREAD) - my_cpu,
        ],
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    ));
}

/// A fault run's record: each fault with its recovery, each death with its restart, and the
/// task ledger with what it says around each fault.
#[allow(clippy::too_many_arguments)]
fn fault_run(
    s: &Scenario,
    shape: &Shape,
    o: &RunOutcome,
    task_page: crate::tasks::Get<'_>,
    window: crate::tasks::Window,
    window_start: Instant,
    sent: &[crate::faults::Sent],
    deaths: &[deploy::supervisor::Death],
) -> crate::results::FaultRun {
    let seconds = o.load.as_ref().map_or(&[][..], |l| &l.seconds[..]);
    let mut events: Vec<_> = sent
        .iter()
        .map(|x| {
            let tasks = o.task_load.as_ref().map(|l| &l.seconds[..]);
            crate::faults::event(x, shape.mode, window_start, window.from_ns, seconds, tasks)
        })
        .collect();
    let ns_of =
        |t: Instant| window.from_ns + t.saturating_duration_since(window_start).as_nanos() as u64;
    let marks: Vec<_> = events
        .iter()
        .zip(sent)
        .map(|(e, x)| crate::tasks::Mark {
            at_ns: e.monotonic_ns,
            recovered_ns: x.recovered.map(ns_of),
        })
        .collect();
    // A user's project's tasks are its own: no ledger of them.
    let ledger = if s.file.app.is_none() {
        let durable = shape.task_backend() == crate::scenario::model::TaskBackend::Database;
        crate::tasks::ledger(task_page, &marks, durable)
            .map_err(|e| format!("reading the task ledger: {e}"))
    } else {
        Err("a project's own tasks keep no djbench ledger".into())
    };
    if let Ok(l) = &ledger {
        for (e, at) in events.iter_mut().zip(&l.at_faults) {
            e.backlog_drained_s = at.backlog_drained_s;
            e.tasks_at_fault = Some(at.queued_or_running);
            e.of_those_lost = Some(at.of_those_lost);
            e.of_those_stuck = Some(at.of_those_stuck);
        }
    }
    let rel = |t: Instant| t.saturating_duration_since(window_start).as_secs_f64();
    let gunicorn_celery = shape.mode == Mode::GunicornCelery;
    crate::results::FaultRun {
        restart: s.file.restart(),
        restart_delay_s: s.file.restart_delay.0.as_secs_f64(),
        visibility_timeout_s: s
            .file
            .tasks
            .visibility_timeout(true)
            .filter(|_| gunicorn_celery)
            .map(|d| d.as_secs_f64()),
        drain_s: s.file.tasks.drain_timeout.0.as_secs_f64(),
        events,
        deaths: deaths
            .iter()
            .map(|x| crate::faults::Death {
                process: x.name.clone(),
                status: x.status.clone(),
                noticed_s: rel(x.noticed),
                restarted_s: x.restarted.map(rel),
                restart_error: x.restart_error.clone(),
            })
            .collect(),
        ledger_unknown: ledger.as_ref().err().cloned(),
        ledger: ledger.ok(),
        never_accepted: o.task_load.as_ref().map(|l| l.errors),
    }
}

/// The deployment at rest before its load (`plan.idle`, none when 0): nothing is sent while
/// the sampler watches it; a stop ends the window early, and its figures cover the time it had.
fn quiet(
    s: &Scenario,
    plan: &Plan,
    d: &Deployment,
    controls: &Controls,
    events: &mpsc::Sender<Event>,
) -> Option<crate::sample::Idle> {
    if plan.idle.is_zero() {
        return None;
    }
    let _ = events.send(Event::Note(format!(
        "{} quiet before the load: its idle CPU and ΣPSS",
        humantime::format_duration(plan.idle)
    )));
    let began = Instant::now();
    let (rss_hz, pss_hz) = (s.file.sampling.rss_hz.0, s.file.sampling.pss_hz.0);
    let sampler = crate::sample::Sampler::start(d.session_roles(), rss_hz, pss_hz, began);
    while began.elapsed() < plan.idle && !controls.stopped() {
        let left = plan.idle.saturating_sub(began.elapsed());
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
    let seconds = began.elapsed().as_secs_f64();
    crate::sample::Idle::of(seconds, &sampler.finish().ok()?)
}

/// The app's task counts once a second until `watching` clears, read from its SQLite file
/// through a read-only connection: a request to the app would be one more client of the
/// server under test, whose workers are few (one cheroot thread per web subinterpreter in
/// the demo). A read-only connection never checkpoints the WAL, and the app's own
/// connections outlive it.
fn watch_tasks(db: &std::path::Path, watching: &AtomicBool, events: &mpsc::Sender<Event>) {
    use rusqlite::{Connection, OpenFlags};
    let Ok(conn) = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return;
    };
    let _ = conn.busy_timeout(Duration::from_millis(200));
    let query = "SELECT COUNT(*), COUNT(started_ns), COUNT(finished_ns) FROM bench_taskrecord";
    while watching.load(Ordering::Relaxed) {
        let counts = conn.query_row(query, [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        if let Ok((enqueued, started, finished)) = counts {
            let _ = events.send(Event::Tasks {
                enqueued: enqueued as u64,
                started: started as u64,
                finished: finished as u64,
            });
        }
        for _ in 0..10 {
            if !watching.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::InterpreterRow;
    use crate::provision::python::Rule;

    fn report(gil: (&str, &str), ft: (&str, &str)) -> Report {
        let row = |flavour, (version, config_args): (&str, &str)| InterpreterRow {
            flavour,
            path: "/x/python".into(),
            version: version.into(),
            gil_enabled: flavour == Flavour::Gil,
            free_threaded_build: flavour == Flavour::FreeThreaded,
            source: Rule::Path,
            origin: String::new(),
            passed_over: Vec::new(),
            config_args: config_args.into(),
        };
        Report {
            cache: "/c".into(),
            interpreters: vec![row(Flavour::Gil, gil), row(Flavour::FreeThreaded, ft)],
            venvs: Vec::new(),
            services: Vec::new(),
            host: crate::provision::host::Host::read(),
            system: crate::provision::system::System {
                distro: None,
                manager: None,
                apt: true,
                root: true,
            },
            rejected: Vec::new(),
            pending: Vec::new(),
            ready: true,
        }
    }

    fn scenario(yaml: &str) -> Scenario {
        crate::scenario::parse(std::path::Path::new("t.yaml"), yaml.as_bytes()).unwrap()
    }

    #[test]
    fn a_gil_twin_joins_each_free_threaded_deployment_only_when_the_builds_differ() {
        let s = scenario("name: t\ngil_twin: auto\nmodes: [subinterpreters, free_threaded]\n");
        // A real 3.14t beside 3.14, the same flags but --disable-gil: nothing to add.
        let same = report(
            ("3.14.2", "'--enable-optimizations' '--prefix=/a'"),
            (
                "3.14.2",
                "'--enable-optimizations' '--disable-gil' '--prefix=/b'",
            ),
        );
        assert!(with_gil_twins(&s, &same).is_none());
        // 3.13t built here against Debian's 3.14: the twin runs right after its deployment.
        let differ = report(
            ("3.14.10", "'--enable-shared'"),
            ("3.13.15", "'--disable-gil'"),
        );
        let t = with_gil_twins(&s, &differ).expect("a twin");
        let labels: Vec<&str> = t.deployments().map(|d| d.label()).collect();
        assert_eq!(
            labels,
            ["subinterpreters", "free_threaded", "free_threaded_gil_twin"]
        );
        let twin = t.deployments().last().unwrap();
        assert_eq!(twin.python.value, Python::GilTwin);
        assert_eq!(twin.mode, Mode::FreeThreaded);
        // Not asked for: nothing added.
        let never = scenario("name: t\nmodes: [free_threaded]\n");
        assert!(with_gil_twins(&never, &differ).is_none());
    }

    #[test]
    fn a_swept_free_threaded_deployment_gets_a_twin_at_every_point() {
        let s = scenario(
            "name: t\ngil_twin: auto\nmodes: [subinterpreters, free_threaded]\nsweep: {web: [1, 4]}\n",
        );
        let differ = report(
            ("3.14.10", "'--enable-shared'"),
            ("3.13.15", "'--disable-gil'"),
        );
        let t = with_gil_twins(&s, &differ).expect("twins");
        let points: Vec<(&str, String, u32)> = t
            .deployments()
            .map(|d| {
                let p = d.sweep.as_ref().expect("every deployment is a point");
                (d.label(), p.base.clone(), p.value)
            })
            .collect();
        let want = [
            ("subinterpreters_web1", "subinterpreters", 1),
            ("subinterpreters_web4", "subinterpreters", 4),
            ("free_threaded_web1", "free_threaded", 1),
            ("free_threaded_web1_gil_twin", "free_threaded_gil_twin", 1),
            ("free_threaded_web4", "free_threaded", 4),
            ("free_threaded_web4_gil_twin", "free_threaded_gil_twin", 4),
        ];
        assert_eq!(points, want.map(|(l, b, v)| (l, b.to_owned(), v)).to_vec());
        let twin = t.deployments().nth(5).unwrap();
        assert_eq!(
            (twin.python.value.clone(), twin.web_workers.value.get()),
            (Python::GilTwin, 4)
        );
    }
}
