//! results.json: what a scenario run measured, in the documented schema (reports/README.md),
//! written atomically after every run, so an interrupted or crashed run leaves a file marked
//! incomplete rather than nothing. It owns the file's shape; it measures nothing itself.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use std::collections::BTreeMap;

use crate::deploy::Serving;
use crate::deploy::sockets::Listening;
use crate::load::{Latency, LoadReport, WorkerCount};
use crate::provision::host::Host;
use crate::run::RunOutcome;
use crate::sample::{HarnessCpu, PeakMean, SampleReport};
use crate::scenario::model::WorkerUnit;
use crate::scenario::{Plan, Scenario};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Interpreter {
    pub version: String,
    /// As the app observed it while serving, not as assumed.
    pub gil_enabled: Option<bool>,
    pub free_threaded_build: Option<bool>,
    pub executable: Option<String>,
    pub config_args: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tasks {
    pub enqueued: u64,
    pub finished: u64,
    pub lost: u64,
    pub enqueue_to_start_us: Latency,
    pub enqueue_to_finish_us: Latency,
    pub tasks_per_second: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cpu {
    /// Cores used on average over the measured window by the whole deployment.
    pub cores: f64,
    pub by_role: std::collections::BTreeMap<String, f64>,
}

/// How the web workers shared the window's responses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerBalance {
    /// What one worker is here: a process, a subinterpreter or a thread.
    pub unit: WorkerUnit,
    /// Workers the deployment has (more, if more answered).
    pub workers: u32,
    /// Each worker that answered, with its responses and its share of them.
    pub shares: Vec<WorkerShare>,
    /// The furthest any worker's share lies from a fair one, relative to it (0.25: 25% away);
    /// a worker that never answered counts with a share of 0.
    pub max_deviation: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerShare {
    /// `pid`, `pid.interpreter` or `pid.interpreter.thread`, after the unit.
    pub worker: String,
    pub requests: u64,
    pub share: f64,
}

impl WorkerBalance {
    /// From the generator's per-header counts; None when no response named its worker.
    pub fn of(counts: &[WorkerCount], unit: WorkerUnit, workers: u32) -> Option<Self> {
        let mut by: BTreeMap<String, u64> = BTreeMap::new();
        for c in counts {
            *by.entry(unit.key(&c.worker).to_owned()).or_default() += c.requests;
        }
        let total: u64 = by.values().sum();
        if total == 0 {
            return None;
        }
        let n = (workers as usize).max(by.len());
        let fair = 1.0 / n as f64;
        let shares: Vec<WorkerShare> = by
            .into_iter()
            .map(|(worker, requests)| WorkerShare {
                worker,
                requests,
                share: requests as f64 / total as f64,
            })
            .collect();
        let unseen = n > shares.len();
        let max_deviation = shares
            .iter()
            .map(|s| (s.share - fair).abs() / fair)
            .chain(unseen.then_some(1.0))
            .fold(0.0, f64::max);
        Some(Self {
            unit,
            workers: n as u32,
            shares,
            max_deviation,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub index: usize,
    pub repetition: u32,
    pub label: String,
    pub mode: String,
    pub server: Option<String>,
    /// The server's version, as installed in the deployment's virtualenv.
    pub server_version: Option<String>,
    /// How the deployment served: processes, subinterpreters and threads, and how a
    /// connection reaches a worker.
    pub serving: Option<Serving>,
    /// `serving`'s shape in words: `2 processes × 1 thread`.
    pub serving_shape: Option<String>,
    /// Its listening sockets with the backlog the kernel gave each (None: `ss` unavailable).
    pub listening: Option<Vec<Listening>>,
    /// Each web worker's share of the window's responses.
    pub workers: Option<WorkerBalance>,
    /// Connections the generator opened per request: ~0 with keep-alive, ~1 without.
    pub connections_per_request: Option<f64>,
    /// djbench's own CPU while it measured this run, by part, and its share of the machine.
    pub harness: Option<HarnessCpu>,
    pub interpreter: Interpreter,
    pub django: Option<String>,
    pub psycopg: Option<String>,
    pub extension_modules: Vec<String>,
    pub requests: u64,
    pub errors: u64,
    pub throughput_rps: f64,
    pub latency_us: Latency,
    pub pss_bytes: PeakMean,
    pub rss_bytes: PeakMean,
    pub uss_bytes: PeakMean,
    pub cpu: Cpu,
    pub tasks: Tasks,
    pub load: Option<LoadReport>,
    /// The background task load's own measurement of its `/enqueue` requests.
    pub task_load: Option<LoadReport>,
    pub memory: Option<SampleReport>,
    pub failure: Option<String>,
    /// Ended before its duration from outside (the live view's `n` or `q`, Ctrl-C): how.
    /// Its numbers cover the time it had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_short: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results<'a> {
    pub schema_version: u32,
    /// False while runs are missing: interrupted, or a run failed.
    pub complete: bool,
    pub djbench: Value,
    pub host: Host,
    pub scenario: &'a crate::scenario::ScenarioFile,
    pub plan: &'a Plan,
    pub runs: Vec<RunResult>,
}

fn text(env: &Value, key: &str) -> Option<String> {
    env[key].as_str().map(str::to_owned)
}

pub fn run_result(index: usize, mode: &str, o: &RunOutcome) -> RunResult {
    let env = &o.env;
    let load = o.load.as_ref();
    let mem = o.sample.as_ref();
    RunResult {
        index,
        repetition: o.repetition,
        label: o.label.clone(),
        mode: mode.to_owned(),
        server: text(env, "server"),
        server_version: text(env, "server_version"),
        serving: o.serving.clone(),
        serving_shape: o.serving.as_ref().map(Serving::shape),
        listening: o.listening.clone(),
        workers: match (load, &o.serving) {
            (Some(l), Some(sv)) => WorkerBalance::of(&l.workers, sv.worker_unit, sv.web_workers),
            _ => None,
        },
        connections_per_request: load.and_then(|l| l.connections_per_request),
        harness: o.harness.clone(),
        interpreter: Interpreter {
            version: o.python.clone(),
            gil_enabled: o.gil_enabled,
            free_threaded_build: env["free_threaded_build"].as_bool(),
            executable: text(env, "executable"),
            config_args: text(env, "config_args"),
        },
        django: text(env, "django"),
        psycopg: text(env, "psycopg"),
        extension_modules: env["extension_modules"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        requests: load.map_or(0, |l| l.requests),
        errors: load.map_or(0, |l| l.errors),
        throughput_rps: load.map_or(0.0, |l| l.throughput_rps),
        // Stopgap until RunResult carries the Option: no latency shows as zeros here.
        latency_us: load.and_then(|l| l.latency_us).unwrap_or_default(),
        pss_bytes: mem.map_or_else(PeakMean::default, |m| m.pss.total),
        rss_bytes: mem.map_or_else(PeakMean::default, |m| m.rss.total),
        uss_bytes: mem.map_or_else(PeakMean::default, |m| m.uss.total),
        cpu: Cpu {
            cores: mem.map_or(0.0, |m| m.cpu_cores_total),
            by_role: mem.map(|m| m.cpu_cores.clone()).unwrap_or_default(),
        },
        tasks: Tasks {
            enqueued: o.tasks_enqueued,
            finished: o.tasks_finished,
            lost: o.tasks_enqueued.saturating_sub(o.tasks_finished),
            enqueue_to_start_us: o.task_start_us,
            enqueue_to_finish_us: o.task_finish_us,
            tasks_per_second: o.tasks_per_second,
        },
        load: o.load.clone(),
        task_load: o.task_load.clone(),
        memory: o.sample.clone(),
        failure: o.failure.clone(),
        cut_short: o.cut_short.clone(),
    }
}

/// The djbench part of the fingerprint: version and the git revision of its checkout.
pub fn djbench_fingerprint() -> Value {
    let rev = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    serde_json::json!({ "version": env!("CARGO_PKG_VERSION"), "git_revision": rev })
}

/// Writes results.json into `out` atomically.
pub fn write(out: &Path, results: &Results<'_>) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(results).map_err(std::io::Error::other)?;
    crate::provision::cache::write_atomic(&out.join("results.json"), &json)
}

/// Builds the whole document for `outcomes` so far.
pub fn document<'a>(
    s: &'a Scenario,
    plan: &'a Plan,
    outcomes: &[RunOutcome],
    complete: bool,
) -> Results<'a> {
    let deployments: Vec<_> = s.deployments().collect();
    let runs = outcomes
        .iter()
        .zip(&plan.runs)
        .map(|(o, r)| run_result(r.index, deployments[r.deployment].mode.name(), o))
        .collect();
    Results {
        schema_version: SCHEMA_VERSION,
        complete,
        djbench: djbench_fingerprint(),
        host: Host::read(),
        scenario: &s.file,
        plan,
        runs,
    }
}

/// The runs of a results document by deployment, in the order the scenario lists them; each
/// deployment with its measured runs (failed runs left out, so a deployment may have none).
pub fn by_deployment(doc: &Value) -> Vec<(String, Vec<&Value>)> {
    let mut out: Vec<(String, Vec<&Value>)> = Vec::new();
    for r in doc["runs"].as_array().into_iter().flatten() {
        let label = r["label"].as_str().unwrap_or("?");
        let at = match out.iter().position(|(l, _)| l == label) {
            Some(i) => i,
            None => {
                out.push((label.to_owned(), Vec::new()));
                out.len() - 1
            }
        };
        if r["failure"].is_null() {
            out[at].1.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> Vec<WorkerCount> {
        pairs
            .iter()
            .map(|&(worker, requests)| WorkerCount {
                worker: worker.into(),
                requests,
            })
            .collect()
    }

    #[test]
    fn shares_group_by_the_modes_worker_unit() {
        // Two gthread threads in each of two gunicorn processes: two workers, by pid.
        let c = counts(&[("10.0.1", 30), ("10.0.2", 20), ("11.0.3", 50)]);
        let b = WorkerBalance::of(&c, WorkerUnit::Process, 2).unwrap();
        let shares: Vec<(&str, f64)> = b
            .shares
            .iter()
            .map(|s| (s.worker.as_str(), s.share))
            .collect();
        assert_eq!(shares, vec![("10", 0.5), ("11", 0.5)]);
        assert_eq!(b.max_deviation, 0.0);
        // The same counts by thread: three workers.
        let b = WorkerBalance::of(&c, WorkerUnit::Thread, 2).unwrap();
        assert_eq!(b.workers, 3);
        assert!((b.max_deviation - 0.5).abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn a_worker_that_never_answered_is_as_unfair_as_can_be() {
        let c = counts(&[("7.1.9", 100)]);
        let b = WorkerBalance::of(&c, WorkerUnit::Interpreter, 2).unwrap();
        assert_eq!((b.workers, b.shares.len()), (2, 1));
        assert_eq!(b.max_deviation, 1.0);
        assert_eq!(b.shares[0].worker, "7.1");
    }

    #[test]
    fn no_named_worker_is_unknown_not_fair() {
        assert_eq!(WorkerBalance::of(&[], WorkerUnit::Thread, 2), None);
    }

    #[test]
    fn a_skew_of_60_to_40_is_20_percent_from_fair() {
        let c = counts(&[("1.0.0", 60), ("2.0.0", 40)]);
        let b = WorkerBalance::of(&c, WorkerUnit::Process, 2).unwrap();
        assert!((b.max_deviation - 0.2).abs() < 1e-9, "{b:?}");
    }
}
