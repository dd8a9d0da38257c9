//! Running a scenario for real, as far as this build goes: provision, then for each planned
//! run deploy the mode, send a simple sequential burst of the scenario's requests with its
//! background tasks, drain the tasks, and tear down. The measurement engine (open and closed
//! loops, histograms, samplers, results.json) replaces the burst later; until then the
//! numbers printed are plain counts and means, and say so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::deploy::{self, Deployment, Spec};
use crate::provision::{self, Cache, Flavour, Lookup, Report, Ui, Wants};
use crate::scenario::model::{Database, Deployment as Shape, Mode, Python};
use crate::scenario::{Plan, Scenario};

/// What one run observed.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    pub label: String,
    pub repetition: u32,
    pub python: String,
    pub gil_enabled: Option<bool>,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub mean_ms: f64,
    pub tasks_enqueued: u64,
    pub tasks_finished: u64,
    pub interpreters: usize,
    pub failure: Option<String>,
    pub survivors: Vec<i32>,
}

/// Ctrl-C and SIGTERM set this; every loop checks it and winds down through teardown.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
    flag
}

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
    Ok(Ready { report, by_path })
}

/// Where each deployment's data comes from: a seeded SQLite template, or a seeded template
/// database on a PostgreSQL cluster started for the whole scenario.
enum Data {
    Sqlite(std::path::PathBuf),
    Postgres(deploy::postgres::Cluster),
}

impl Data {
    fn prepare(
        s: &Scenario,
        plan: &Plan,
        python: &std::path::Path,
        postgres: Option<&std::path::Path>,
        keep: bool,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(&plan.out).map_err(|e| e.to_string())?;
        if s.file.database == Database::Postgres {
            let bin = postgres.ok_or("no PostgreSQL server binaries (djbench setup --postgres)")?;
            let cluster = deploy::postgres::Cluster::start(bin, &plan.out, keep)
                .map_err(|e| e.to_string())?;
            cluster
                .create_database("djbench_template", None)
                .map_err(|e| e.to_string())?;
            deploy::migrate_and_seed(python, &cluster.env("djbench_template"))
                .map_err(|e| e.to_string())?;
            Ok(Data::Postgres(cluster))
        } else {
            let template = plan.out.join("db-template.sqlite3");
            deploy::prepare_database(python, &template).map_err(|e| e.to_string())?;
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
    stop: &AtomicBool,
    progress: &dyn Fn(&str),
) -> Vec<RunOutcome> {
    let report = &ready.report;
    let venv = |f: Flavour| {
        report
            .venvs
            .iter()
            .find(|v| v.flavour == f)
            .map(|v| v.path.join("bin/python"))
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
    let data = venv(Flavour::Gil)
        .ok_or_else(|| "no 3.14 virtualenv".to_owned())
        .and_then(|python| Data::prepare(s, plan, &python, postgres.as_deref(), keep));
    let data = match data {
        Ok(d) => d,
        Err(e) => {
            outcomes.push(RunOutcome {
                label: "database".into(),
                failure: Some(e),
                ..Default::default()
            });
            return outcomes;
        }
    };
    for run in &plan.runs {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let shape = deployments[run.deployment];
        let label = shape.label().to_owned();
        progress(&format!(
            "run {}/{}: {label} (repetition {}/{})",
            run.index,
            plan.runs.len(),
            run.repetition,
            plan.repetitions
        ));
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
            web_workers: shape.web_workers.get(),
            threads: shape.threads.value.get(),
            task_workers: shape.task_workers.get(),
            python,
            allow_gil,
            redis: redis.clone(),
            run_dir: plan.out.join(format!("run-{:02}-{label}", run.index)),
            database,
            env: Vec::new(),
        };
        match Deployment::start(&spec) {
            Err(e) => outcome.failure = Some(e.to_string()),
            Ok(mut d) => {
                match d.wait_ready(Duration::from_secs(90)) {
                    Err(e) => outcome.failure = Some(e.to_string()),
                    Ok(env) => {
                        outcome.python = env["python"].as_str().unwrap_or("?").to_owned();
                        outcome.gil_enabled = env["gil_enabled"].as_bool();
                        burst(s, shape, plan, &d, stop, &mut outcome);
                    }
                }
                outcome.survivors = d.stop().survivors;
            }
        }
        outcomes.push(outcome);
    }
    drop(data);
    outcomes
}

/// The stand-in for the load generator: one request after another, endpoints in proportion
/// to their weights, tasks enqueued on schedule; then a bounded drain.
fn burst(
    s: &Scenario,
    shape: &Shape,
    plan: &Plan,
    d: &Deployment,
    stop: &AtomicBool,
    o: &mut RunOutcome,
) {
    let endpoints: Vec<(String, f64)> = s
        .endpoints()
        .map(|e| (e.path.clone(), e.weight.0))
        .collect();
    let total: f64 = endpoints.iter().map(|e| e.1).sum();
    let tasks = &s.file.tasks;
    let task_path = format!(
        "/enqueue?kind={}&n={}",
        format!("{:?}", tasks.kind).to_lowercase(),
        tasks.size()
    );
    let task_rate = tasks.rate.filter(|_| shape.background_tasks).map(|r| r.0);
    let mut credit = vec![0.0; endpoints.len()];
    let mut interpreters = std::collections::BTreeSet::new();
    let started = Instant::now();
    let measure_from = started + plan.warmup;
    let end = measure_from + plan.duration;
    let mut latency_sum = Duration::ZERO;
    let mut enqueued = 0u64;
    while Instant::now() < end && !stop.load(Ordering::Relaxed) {
        if let Some(rate) = task_rate {
            let due = (started.elapsed().as_secs_f64() * rate) as u64;
            if enqueued < due {
                enqueued += 1;
                let _ = d.get(&task_path);
                continue;
            }
        }
        // Smooth weighted round robin: each endpoint earns its weight; the richest goes next.
        for (c, e) in credit.iter_mut().zip(&endpoints) {
            *c += e.1;
        }
        let (i, _) = credit
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("at least one endpoint");
        credit[i] -= total;
        let sent = Instant::now();
        let result = d.get(&endpoints[i].0);
        if sent >= measure_from {
            o.requests += 1;
            latency_sum += sent.elapsed();
            if !matches!(result, Ok((200, _))) {
                o.errors += 1;
            }
        }
        if o.requests % 50 == 1
            && let Ok(env) = d.get_json("/_djbench/env")
        {
            interpreters.insert(env["interpreter_id"].as_u64().unwrap_or(0));
        }
    }
    o.seconds = Instant::now()
        .saturating_duration_since(measure_from)
        .as_secs_f64();
    o.mean_ms = if o.requests > 0 {
        latency_sum.as_secs_f64() * 1000.0 / o.requests as f64
    } else {
        0.0
    };
    o.interpreters = interpreters.len();
    let drain_end = Instant::now() + tasks.drain_timeout.0;
    loop {
        let t: Value = d.get_json("/_djbench/tasks?limit=1").unwrap_or_default();
        o.tasks_enqueued = t["enqueued"].as_u64().unwrap_or(0);
        o.tasks_finished = t["finished"].as_u64().unwrap_or(0);
        if o.tasks_finished >= o.tasks_enqueued
            || Instant::now() > drain_end
            || stop.load(Ordering::Relaxed)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
