//! results.json: the typed model of what a scenario run measured, in the documented schema
//! (reports/README.md). The runner produces it (`run` builds a `Results` from its outcomes and
//! writes it atomically after every run, so an interrupted or crashed run leaves a file marked
//! incomplete rather than nothing); `report` and `compare` read it back through `read`, never
//! through JSON key paths. It owns the file's shape and its reading; it measures nothing and
//! imports nothing that imports it (no `run`, `report` or `compare`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::capacity::Capacity;
use crate::deploy::Serving;
use crate::deploy::sockets::Listening;
use crate::faults::{Death, FaultEvent};
use crate::load::{Latency, LoadReport, WorkerCount};
use crate::provision::host::Host;
use crate::sample::{HarnessCpu, Idle, PeakMean, SampleReport};
use crate::scenario::Plan;
use crate::scenario::faults::Restart;
use crate::scenario::model::{ScenarioFile, SweepPoint, TaskBackend, WorkerUnit};
use crate::scenario::units::Workers;
use crate::tasks::Ledger;

/// 2: unknown figures are null instead of 0 (`latency_us`, `tasks`, memory, `cpu`), and
/// `error_rate` is new. A version-1 file is refused, not converted: its zeros cannot be told
/// apart from measured ones.
pub const SCHEMA_VERSION: u32 = 2;

/// The djbench that wrote a results file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Djbench {
    pub version: String,
    /// The git revision of its checkout, when it was built from one.
    pub git_revision: Option<String>,
}

impl Djbench {
    /// This djbench: its version and the git revision of its checkout.
    pub fn this() -> Self {
        let rev = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            git_revision: rev,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interpreter {
    pub version: String,
    /// As the app observed it while serving, not as assumed.
    pub gil_enabled: Option<bool>,
    pub free_threaded_build: Option<bool>,
    pub executable: Option<String>,
    pub config_args: Option<String>,
}

/// The background tasks of one run, as the app's task table had them after the drain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tasks {
    /// Every task the app recorded, warm-up included.
    pub enqueued: u64,
    pub finished: u64,
    /// Tasks asked for that never finished: recorded by the app and not finished after the
    /// drain, plus `enqueue_failed`.
    pub lost: u64,
    /// The task load's `/enqueue` requests of the window that failed (their tasks never ran).
    pub enqueue_failed: u64,
    /// Tasks enqueued inside the measured window: what the latencies are made of.
    pub in_window: u64,
    /// Of the window's tasks; None when none started (or finished): no latency to give.
    pub enqueue_to_start_us: Option<Latency>,
    pub enqueue_to_finish_us: Option<Latency>,
    /// Tasks finished inside the measured window, per second of it.
    pub tasks_per_second: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cpu {
    /// Cores used on average over the measured window by the whole deployment.
    pub cores: f64,
    pub by_role: BTreeMap<String, f64>,
}

/// How the web workers shared the window's responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// `serving`'s shape in words: `2 processes × 1 thread`, and `(4/core on 2 cores)` when
    /// its web workers were written a core.
    pub serving_shape: Option<String>,
    /// Worker counts the scenario wrote a core (`4/core`), and the cores they were multiplied
    /// by; absent when every count was a plain number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_core: Option<PerCore>,
    /// `wsgi` or `asgi`, as the app observed its requests arrive (None: unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
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
    /// The django.tasks backend the app ran with, as its live settings named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_backend: Option<String>,
    /// The scenario's `task_backend:` choice for this deployment (resolved) and the options
    /// the app reported for it live (acks_late, visibility timeout, poll interval…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_durability: Option<TaskDurability>,
    /// Present in a fault run, and only there: its faults, the deaths and restarts of its
    /// processes, and the task ledger. Thresholds and `compare` never weigh a fault run
    /// against a fault-free one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultRun>,
    pub extension_modules: Vec<String>,
    pub requests: u64,
    pub errors: u64,
    /// `errors / requests` of the window; None when no request was made.
    pub error_rate: Option<f64>,
    /// The headline rate: what the load generator reports as its throughput.
    pub throughput_rps: f64,
    /// None when no request succeeded: there is no latency of a success to give.
    pub latency_us: Option<Latency>,
    /// None when the sampler took no sample of that kind.
    pub pss_bytes: Option<PeakMean>,
    pub rss_bytes: Option<PeakMean>,
    pub uss_bytes: Option<PeakMean>,
    pub cpu: Option<Cpu>,
    /// None: unknown, the run's task figures could not be read (`tasks_unknown` says why).
    pub tasks: Option<Tasks>,
    /// Why the task figures are unknown (an error while draining or reading the app's table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_unknown: Option<String>,
    pub load: Option<LoadReport>,
    /// The background task load's own measurement of its `/enqueue` requests.
    pub task_load: Option<LoadReport>,
    pub memory: Option<SampleReport>,
    pub failure: Option<String>,
    /// Ended before its duration from outside (the live view's `n` or `q`, Ctrl-C): how.
    /// Its numbers cover the time it had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_short: Option<String>,
    /// Seconds from starting the deployment to its first ready answer (None: it never
    /// answered).
    #[serde(default)]
    pub ready_seconds: Option<f64>,
    /// The deployment's CPU and ΣPSS over the quiet window before its load; None when unknown
    /// or when the scenario has none (`sampling.idle: 0s`).
    #[serde(default)]
    pub idle: Option<Idle>,
    /// Which point of the scenario's `sweep:` this run is (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepPoint>,
    /// The login done before this run's load (`workload.login`): its page, user name, the
    /// status it answered and the names of the cookies the load carried; never the password.
    /// Absent without a login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<crate::load::login::Record>,
}

/// How a run's per-core worker counts became numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerCore {
    /// CPUs the deployment ran on (its `isolation.deployment` set, else every CPU).
    pub cores: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_workers_per_core: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_workers_per_core: Option<u32>,
}

impl PerCore {
    /// From a deployment's counts as loaded (resolved), or None when none was written a core.
    pub fn of(web: Workers<1, 256>, tasks: Workers<1, 256>) -> Option<Self> {
        let cores = [web, tasks]
            .iter()
            .find_map(|w| w.per_core().map(|k| w.get() / k))?;
        Some(Self {
            cores,
            web_workers_per_core: web.per_core(),
            task_workers_per_core: tasks.per_core(),
        })
    }
}

/// A deployment's task backend as chosen and as the app ran it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDurability {
    pub backend: TaskBackend,
    /// What a process's death means for its tasks, in a sentence.
    pub explained: String,
    /// As `/_djbench/env` reported them (`task_options`); null from an app that does not.
    #[serde(default)]
    pub options: serde_json::Value,
}

/// What a fault run did and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRun {
    pub restart: Restart,
    /// How long after a death the supervisor started it again (s).
    pub restart_delay_s: f64,
    /// Celery's visibility timeout as djbench set it (s); None: celery's own (an hour), or a
    /// mode without celery.
    pub visibility_timeout_s: Option<f64>,
    /// How long djbench waited after the load for tasks to finish (redelivery included).
    pub drain_s: f64,
    pub events: Vec<FaultEvent>,
    /// Session leaders that died, and when they were started again.
    pub deaths: Vec<Death>,
    /// The task ledger after the drain; None: unknown (`ledger_unknown` says why).
    pub ledger: Option<Ledger>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_unknown: Option<String>,
    /// `/enqueue` requests of the task load that failed: tasks never accepted.
    pub never_accepted: Option<u64>,
}

impl RunResult {
    /// Whether faults were injected into this run.
    pub fn fault_run(&self) -> bool {
        self.faults.is_some()
    }

    /// `label #repetition`, as warnings name a run.
    pub fn name(&self) -> String {
        format!("{} #{}", self.label, self.repetition)
    }

    /// Whether some background task was enqueued, or it is unknown whether one was.
    pub fn ran_tasks(&self) -> bool {
        self.tasks.as_ref().is_none_or(|t| t.enqueued > 0)
    }
}

/// The whole results.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub schema_version: u32,
    /// False while runs are missing: interrupted, or a run failed.
    pub complete: bool,
    pub djbench: Djbench,
    pub host: Host,
    /// The scenario as run, its defaults filled in.
    pub scenario: ScenarioFile,
    pub plan: Plan,
    pub runs: Vec<RunResult>,
    /// What `djbench capacity` found, one entry per deployment searched (its run in `runs`
    /// then holds the deployment's facts, and no load of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<Capacity>,
}

impl Results {
    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.scenario.name.value
    }

    /// The runs by deployment, in the order the scenario lists them; each deployment with its
    /// measured runs (failed runs left out, so a deployment may have none).
    pub fn by_deployment(&self) -> Vec<(String, Vec<&RunResult>)> {
        let mut out: Vec<(String, Vec<&RunResult>)> = Vec::new();
        for r in &self.runs {
            let at = match out.iter().position(|(l, _)| *l == r.label) {
                Some(i) => i,
                None => {
                    out.push((r.label.clone(), Vec::new()));
                    out.len() - 1
                }
            };
            if r.failure.is_none() {
                out[at].1.push(r);
            }
        }
        out
    }
}

/// A results file that cannot be read or used, said plainly with its path (and line and
/// column when its text is at fault): bad input, exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadResults(pub String);

impl std::fmt::Display for BadResults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadResults {}

/// serde_json's message without the ` at line L column C` that the caller puts in front.
fn message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rsplit_once(" at line ") {
        Some((m, _)) => m.to_owned(),
        None => s,
    }
}

/// Reads a results.json of this schema version. An older or newer file is refused with the
/// version it has and what to do; a malformed one with its file:line:col.
pub fn read(path: &Path) -> Result<Results, BadResults> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadResults(format!("{shown}: cannot read it: {e}")))?;
    parse(&text).map_err(|e| BadResults(format!("{shown}{e}")))
}

/// `read` on text; the error starts where the path would end (`:3:5: …` or `: …`).
pub fn parse(text: &str) -> Result<Results, String> {
    /// Just the version, read first so that a file of another schema is named as such
    /// rather than as a list of fields this djbench does not know.
    #[derive(Deserialize)]
    struct Version {
        schema_version: Option<u32>,
    }
    let at = |e: &serde_json::Error| format!(":{}:{}", e.line(), e.column());
    let v: Version = serde_json::from_str(text)
        .map_err(|e| format!("{}: not a results.json: {}", at(&e), message(&e)))?;
    match v.schema_version {
        Some(SCHEMA_VERSION) => {}
        Some(1) => {
            return Err(format!(
                ": written by an older djbench (results schema version 1; this djbench reads \
                 version {SCHEMA_VERSION}, where unknown figures are null rather than 0): re-run \
                 the scenario with this djbench, or use the djbench that wrote it"
            ));
        }
        Some(n) => {
            return Err(format!(
                ": results schema version {n}; this djbench reads version {SCHEMA_VERSION} \
                 (re-run the scenario with this djbench, or use the djbench that wrote it)"
            ));
        }
        None => {
            return Err(": no `schema_version`: not a results.json written by djbench".into());
        }
    }
    serde_json::from_str(text).map_err(|e| {
        format!(
            "{}: not a results.json of schema version {SCHEMA_VERSION}: {}",
            at(&e),
            message(&e)
        )
    })
}

/// Writes results.json into `out` atomically.
pub fn write(out: &Path, results: &Results) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(results).map_err(std::io::Error::other)?;
    crate::atomic::write_atomic(&out.join("results.json"), &json)
}

/// Results documents built from the typed model, for the tests of its readers (report,
/// compare): no file of an older djbench, no JSON edited by key.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A run that measured `rps` requests per second with a p99 of `p99_us`, 10 tasks all
    /// finished, and memory and CPU sampled.
    pub fn run(label: &str, repetition: u32, rps: f64, p99_us: u64) -> RunResult {
        let latency = Latency {
            min: 100,
            mean: p99_us as f64 / 3.0,
            p50: p99_us / 4,
            p90: p99_us / 2,
            p99: p99_us,
            p999: p99_us * 2,
            max: p99_us * 3,
        };
        RunResult {
            index: 0,
            repetition,
            label: label.into(),
            mode: "gunicorn_celery".into(),
            server: Some("gunicorn_sync".into()),
            server_version: None,
            serving: None,
            serving_shape: None,
            per_core: None,
            listening: None,
            workers: None,
            connections_per_request: None,
            harness: None,
            interpreter: Interpreter {
                version: "3.14.0".into(),
                gil_enabled: Some(true),
                free_threaded_build: Some(false),
                executable: None,
                config_args: None,
            },
            django: None,
            psycopg: None,
            task_backend: None,
            task_durability: None,
            faults: None,
            interface: None,
            extension_modules: Vec::new(),
            requests: 1000,
            errors: 0,
            error_rate: Some(0.0),
            throughput_rps: rps,
            latency_us: Some(latency),
            pss_bytes: Some(PeakMean {
                peak_bytes: 100 << 20,
                mean_bytes: 90 << 20,
            }),
            rss_bytes: Some(PeakMean {
                peak_bytes: 200 << 20,
                mean_bytes: 190 << 20,
            }),
            uss_bytes: None,
            cpu: Some(Cpu {
                cores: 1.0,
                by_role: BTreeMap::new(),
            }),
            tasks: Some(Tasks {
                enqueued: 10,
                finished: 10,
                lost: 0,
                enqueue_failed: 0,
                in_window: 10,
                enqueue_to_start_us: Some(latency),
                enqueue_to_finish_us: Some(latency),
                tasks_per_second: 2.0,
            }),
            load: None,
            task_load: None,
            memory: None,
            tasks_unknown: None,
            failure: None,
            cut_short: None,
            ready_seconds: None,
            idle: None,
            sweep: None,
            login: None,
        }
    }

    /// The same run with every request failed: no latency, as the runner records it.
    pub fn all_failed(mut r: RunResult) -> RunResult {
        r.errors = r.requests;
        r.error_rate = Some(1.0);
        r.latency_us = None;
        r
    }

    /// A document of `runs` under a scenario with these `thresholds:` (YAML, indented by two).
    pub fn results(thresholds: &str, runs: Vec<RunResult>) -> Results {
        let yaml = format!(
            "name: t\nmodes: [gunicorn_celery]\nthresholds:\n{}\n",
            if thresholds.is_empty() {
                "  {}"
            } else {
                thresholds
            }
        );
        let s = crate::scenario::parse(Path::new("t.yaml"), yaml.as_bytes()).unwrap();
        let plan = Plan::new(
            &s,
            &crate::scenario::Overrides::default(),
            std::time::SystemTime::UNIX_EPOCH,
        );
        Results {
            schema_version: SCHEMA_VERSION,
            complete: true,
            djbench: Djbench::this(),
            host: Host::read(),
            scenario: s.file,
            plan,
            runs,
            capacity: Vec::new(),
        }
    }
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

    #[test]
    fn a_written_document_reads_back_with_its_unknowns() {
        let doc = testing::results(
            "  p99: 50ms\n  lost_tasks: 0",
            vec![
                testing::run("a", 1, 100.0, 2000),
                RunResult {
                    tasks: None,
                    ..testing::all_failed(testing::run("a", 2, 0.0, 0))
                },
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &doc).unwrap();
        let back = read(&dir.path().join("results.json")).unwrap();
        assert_eq!(back.schema_version, SCHEMA_VERSION);
        assert_eq!(back.name(), "t");
        assert_eq!(back.runs.len(), 2);
        assert_eq!(back.runs[0].latency_us.map(|l| l.p99), Some(2000));
        assert!(back.runs[1].latency_us.is_none() && back.runs[1].tasks.is_none());
        assert_eq!(
            back.scenario.thresholds.p99.map(|d| d.0),
            Some(std::time::Duration::from_millis(50))
        );
        assert_eq!(back.plan.runs.len(), doc.plan.runs.len());
        // Written again, it is the same text: nothing is lost or invented on the way.
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&doc).unwrap()
        );
    }

    #[test]
    fn an_older_or_broken_file_is_named_with_what_to_do() {
        let e = parse(r#"{"schema_version": 1, "runs": []}"#).unwrap_err();
        assert!(e.contains("older djbench") && e.contains("re-run"), "{e}");
        let e = parse(r#"{"schema_version": 9}"#).unwrap_err();
        assert!(
            e.contains("schema version 9") && e.contains("reads version 2"),
            "{e}"
        );
        let e = parse("{\n  \"schema_version\": 2,\n  oops\n}").unwrap_err();
        assert!(e.starts_with(":3:3: not a results.json"), "{e}");
        let e = parse(r#"{"schema_version": 2, "complete": true}"#).unwrap_err();
        assert!(e.contains("missing field `djbench`"), "{e}");
        assert!(parse("{}").unwrap_err().contains("no `schema_version`"));
    }
}
