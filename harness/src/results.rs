//! results.json: what a scenario run measured, in the documented schema (reports/README.md),
//! written atomically after every run, so an interrupted or crashed run leaves a file marked
//! incomplete rather than nothing. It owns the file's shape; it measures nothing itself.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::load::{Latency, LoadReport};
use crate::provision::host::Host;
use crate::run::RunOutcome;
use crate::sample::{PeakMean, SampleReport};
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

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub index: usize,
    pub repetition: u32,
    pub label: String,
    pub mode: String,
    pub server: Option<String>,
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
        latency_us: load.map_or_else(Latency::default, |l| l.latency_us),
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
