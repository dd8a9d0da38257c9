//! Capacity under an SLO: how much open-loop traffic a target carries before its tail latency,
//! its errors or its pace break the SLO. It owns the SLO, the verdict of one trial (`judge`),
//! one trial against a running target (`run_trial`: its own warm-up, then a measured window,
//! optionally with the deployment's processes sampled) and, in `search`, the search over
//! offered rates. It drives the load generator and reads the sampler; it must not deploy,
//! provision or write files: `run` and the commands do that around it.

pub mod search;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::deploy::Role;
use crate::host::{self, Calibration, Interference};
use crate::load::{self, Latency, LoadReport, LoadSpec, Model};
use crate::sample::Sampler;

pub use search::{End, Found, Method, search};

/// The share of the offered rate a trial must complete inside its window.
pub const MIN_COMPLETED: f64 = 0.95;

/// What a load must meet to pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// The 99th percentile of every request of the window, failures included (at the time
    /// they were given up), at most this many µs.
    pub p99_us: u64,
    /// Failed requests ÷ requests, at most this.
    pub max_error_rate: f64,
    /// Requests finished inside the window, any outcome, per second, at least this share of
    /// the offered rate (`MIN_COMPLETED`).
    pub min_completed: f64,
}

/// Which step of the search asked for a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The exponential ramp.
    Ramp,
    /// A bisection step.
    Bisect,
    /// A further trial of the same load (k of n).
    Repeat,
}

/// A trial's verdict against the SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// djbench's generator used all of its CPU: the trial measured djbench, not the target.
    /// Neither pass nor fail.
    Saturated,
    /// Other programs or the hypervisor took more than `Searched::max_interference` of the
    /// machine's cores during the window: the trial measured a different machine. Neither pass nor
    /// fail; the search runs it again.
    Disturbed,
}

/// One trial: a load offered for a window after its own warm-up, and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub offered_rps: f64,
    pub phase: Phase,
    /// Requests that left inside the window ÷ the window.
    pub sent_rps: Option<f64>,
    /// Requests finished inside the window, any outcome, ÷ the window.
    pub completed_rps: f64,
    /// 2xx/3xx responses finished inside the window ÷ the window.
    pub goodput_rps: f64,
    pub requests: u64,
    pub errors: u64,
    /// None without requests.
    pub error_rate: Option<f64>,
    /// Every request of the window, failures included; None when none succeeded (a trial
    /// that only failed has no latency to show; its verdict still judged the failures').
    pub latency_us: Option<Latency>,
    /// CPU cores the deployment used over the window; None when nothing sampled it (a URL).
    pub cpu_cores: Option<f64>,
    /// Peak ΣPSS of the deployment over the window; None when nothing sampled it.
    pub pss_peak_bytes: Option<u64>,
    /// The generator's CPU per request, warm-up included.
    pub generator_cpu_us_per_request: f64,
    /// What the hypervisor and other programs took from the machine over the window; None
    /// when /proc could not be read (and in results written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interference: Option<Interference>,
    pub verdict: Verdict,
    /// Why it failed (every SLO bound it broke), or why it was unusable; empty on a pass.
    pub reasons: Vec<String>,
}

impl Trial {
    /// One line for people: the step, the load, the verdict and what was measured.
    pub fn describe(&self) -> String {
        let step = match self.phase {
            Phase::Ramp => "ramp",
            Phase::Bisect => "bisect",
            Phase::Repeat => "again",
        };
        let verdict = match self.verdict {
            Verdict::Pass => "pass".to_owned(),
            Verdict::Fail => format!("FAIL ({})", self.reasons.join("; ")),
            Verdict::Saturated => format!("UNUSABLE ({})", self.reasons.join("; ")),
            Verdict::Disturbed => format!("DISTURBED ({})", self.reasons.join("; ")),
        };
        let latency = self.latency_us.map_or("p99 —".to_owned(), |l| {
            format!("p50 {} p99 {}", ms(l.p50), ms(l.p99))
        });
        let mut line = format!(
            "{step} {:.1} req/s: {verdict}; {latency}, completed {:.1} req/s, errors {}",
            self.offered_rps,
            self.completed_rps,
            self.error_rate
                .map_or("—".to_owned(), |e| format!("{:.2}%", e * 100.0)),
        );
        if let Some(c) = self.cpu_cores {
            line += &format!(", CPU {c:.2} cores");
        }
        if let Some(b) = self.pss_peak_bytes {
            line += &format!(", ΣPSS {:.0} MiB", b as f64 / 1048576.0);
        }
        line
    }

    /// A trial with the given verdict and nothing measured: for tests of the search.
    #[doc(hidden)]
    pub fn judged_for_test(rate: f64, phase: Phase, pass: bool) -> Self {
        Self {
            offered_rps: rate,
            phase,
            sent_rps: None,
            completed_rps: 0.0,
            goodput_rps: 0.0,
            requests: 0,
            errors: 0,
            error_rate: None,
            latency_us: None,
            cpu_cores: None,
            pss_peak_bytes: None,
            generator_cpu_us_per_request: 0.0,
            interference: None,
            verdict: if pass { Verdict::Pass } else { Verdict::Fail },
            reasons: if pass {
                Vec::new()
            } else {
                vec!["failed".into()]
            },
        }
    }
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// Judges a trial's load report against the SLO at the offered rate.
pub fn judge(slo: &Slo, offered_rps: f64, r: &LoadReport) -> (Verdict, Vec<String>) {
    if r.generator.saturated {
        return (
            Verdict::Saturated,
            vec![format!(
                "djbench's load generator saturated ({:.1} µs CPU per request on {} thread(s))",
                r.generator.cpu_us_per_request, r.generator.threads
            )],
        );
    }
    let mut reasons = Vec::new();
    match &r.latency_us {
        None => reasons.push("no request was recorded".into()),
        Some(l) if l.p99 > slo.p99_us => {
            reasons.push(format!("p99 {} > {}", ms(l.p99), ms(slo.p99_us)))
        }
        Some(_) => {}
    }
    if let Some(e) = r.error_rate
        && e > slo.max_error_rate
    {
        reasons.push(format!(
            "error rate {:.2}% > {:.2}%",
            e * 100.0,
            slo.max_error_rate * 100.0
        ));
    }
    let floor = slo.min_completed * offered_rps;
    if r.completed_rps < floor {
        reasons.push(format!(
            "completed {:.1} req/s < {:.0}% of {:.1} offered",
            r.completed_rps,
            slo.min_completed * 100.0,
            offered_rps
        ));
    }
    let verdict = if reasons.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    (verdict, reasons)
}

/// How to run each trial.
#[derive(Debug, Clone)]
pub struct TrialShape {
    /// The load as the target gets it; its model's rate is replaced by each trial's.
    pub load: LoadSpec,
    pub slo: Slo,
    /// `Searched::max_interference`.
    pub max_interference: f64,
}

/// The deployment's processes to sample over each trial's window.
#[derive(Debug, Clone)]
pub struct Watch {
    /// Session leaders and their roles, as `Deployment::session_roles` gives them.
    pub leaders: Vec<(i32, Role)>,
    pub rss_hz: f64,
    pub pss_hz: f64,
}

/// What the sampler saw of the deployment over a trial's window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observed {
    pub cpu_cores: Option<f64>,
    pub pss_peak_bytes: Option<u64>,
}

/// Runs one trial at `rate` against a running target: its own warm-up at that rate, then the
/// window, with the deployment sampled when `watch` is given. Err when stopped from outside
/// (any of the load's stop flags) or the load could not be run.
pub fn run_trial(
    shape: &TrialShape,
    rate: f64,
    phase: Phase,
    watch: Option<&Watch>,
) -> Result<Trial, String> {
    let stopped = || {
        shape
            .load
            .control
            .stop
            .iter()
            .any(|s| s.load(Ordering::Relaxed))
    };
    if stopped() {
        return Err("stopped".into());
    }
    let mut spec = shape.load.clone();
    spec.model = match spec.model {
        Model::Open {
            poisson,
            max_connections,
            ..
        } => Model::Open {
            rate,
            poisson,
            max_connections,
        },
        Model::Closed { connections } => Model::Open {
            rate,
            poisson: false,
            max_connections: connections,
        },
    };
    let sampler = watch.map(|w| {
        Sampler::start(
            w.leaders.clone(),
            w.rss_hz,
            w.pss_hz,
            Instant::now() + spec.warmup,
        )
    });
    let (machine, window_over) = host::Watch::start(Instant::now() + spec.warmup);
    let report = load::run(&spec).map_err(|e| e.to_string());
    let interference = machine.finish(window_over);
    let observed = match sampler.map(Sampler::finish) {
        Some(Ok(m)) => Observed {
            cpu_cores: m.cpu_known(),
            pss_peak_bytes: m.pss_known().map(|p| p.peak_bytes),
        },
        // A sampler that panicked leaves memory and CPU unknown, never 0.
        Some(Err(_)) | None => Observed::default(),
    };
    let report = report?;
    if report.stopped_early || stopped() {
        return Err("stopped".into());
    }
    let mut t = trial_of(&shape.slo, rate, phase, &report, observed);
    t.interference = interference;
    if t.verdict != Verdict::Saturated
        && let Some(why) =
            interference.and_then(|i| i.disturbed(watch.is_some(), shape.max_interference))
    {
        let slo = if t.verdict == Verdict::Pass {
            "the SLO alone would have passed it".to_owned()
        } else {
            format!(
                "the SLO alone would have failed it: {}",
                t.reasons.join("; ")
            )
        };
        t.verdict = Verdict::Disturbed;
        t.reasons = vec![why, slo];
    }
    Ok(t)
}

/// A trial's record from its load report and what was sampled.
pub fn trial_of(slo: &Slo, rate: f64, phase: Phase, r: &LoadReport, o: Observed) -> Trial {
    let (verdict, reasons) = judge(slo, rate, r);
    Trial {
        offered_rps: rate,
        phase,
        sent_rps: r.open_loop.as_ref().map(|o| o.sent_rps),
        completed_rps: r.completed_rps,
        goodput_rps: r.throughput_rps,
        requests: r.requests,
        errors: r.errors,
        error_rate: r.error_rate,
        latency_us: r.latency_shown(),
        cpu_cores: o.cpu_cores,
        pss_peak_bytes: o.pss_peak_bytes,
        generator_cpu_us_per_request: r.generator.cpu_us_per_request,
        interference: None,
        verdict,
        reasons,
    }
}

/// How a target was searched: the SLO, the method, and each trial's warm-up and window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Searched {
    pub slo: Slo,
    pub method: Method,
    pub warmup_seconds: f64,
    pub window_seconds: f64,
    /// The share of the machine's cores other programs or the hypervisor may take over a
    /// trial's window before the trial is disturbed and run again; 1 turns the check off.
    #[serde(default = "default_max_interference")]
    pub max_interference: f64,
}

/// Results written before the bound was recorded were judged without it.
fn default_max_interference() -> f64 {
    1.0
}

/// One target's capacity: the search's answer, with the SLO and method it was found under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// The deployment's label, or the URL.
    pub label: String,
    #[serde(flatten)]
    pub searched: Searched,
    /// The last passing load once the search converged; None otherwise (`end` says why).
    pub capacity_rps: Option<f64>,
    pub last_pass_rps: Option<f64>,
    pub first_fail_rps: Option<f64>,
    pub end: End,
    /// Why the deployment could not be searched at all (it failed to start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Seconds from the deployment's start to ready (None for a URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_seconds: Option<f64>,
    /// The machine's speed on a fixed workload just before and just after the search (None
    /// for a URL, whose server may share the cores in ways djbench cannot see, and in older
    /// results): capacities found on machines of different speed are not comparable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// Wall time of the search.
    pub search_seconds: f64,
    pub trials: Vec<Trial>,
}

impl Capacity {
    pub fn of(label: &str, searched: Searched, found: Found, search_seconds: f64) -> Self {
        Self {
            label: label.to_owned(),
            searched,
            capacity_rps: found.capacity_rps(),
            last_pass_rps: found.last_pass_rps,
            first_fail_rps: found.first_fail_rps,
            end: found.end,
            failure: None,
            ready_seconds: None,
            calibration: None,
            search_seconds,
            trials: found.trials,
        }
    }

    /// A deployment that was never searched (it failed to start, or the run was stopped
    /// first), and why.
    pub fn unsearched(label: &str, searched: Searched, failure: String) -> Self {
        let found = Found {
            last_pass_rps: None,
            first_fail_rps: None,
            end: End::Interrupted {
                reason: failure.clone(),
            },
            trials: Vec::new(),
        };
        Self {
            failure: Some(failure),
            ..Self::of(label, searched, found, 0.0)
        }
    }

    /// One line for people: the capacity with its bounds, or why there is none.
    pub fn describe(&self) -> String {
        let bounds = match (self.last_pass_rps, self.first_fail_rps) {
            (Some(p), Some(f)) => format!("passes at {p:.1} req/s, fails at {f:.1}"),
            (Some(p), None) => format!("passes at {p:.1} req/s, no load failed"),
            (None, Some(f)) => format!("fails at {f:.1} req/s, no load passed"),
            (None, None) => "no load judged".into(),
        };
        let head = match (self.capacity_rps, &self.failure) {
            (_, Some(f)) => return format!("capacity unknown: {f}"),
            (Some(c), None) => format!("capacity {c:.1} req/s"),
            (None, None) => format!("capacity unknown ({})", self.end.describe()),
        };
        format!(
            "{head}: {bounds}; {} trials in {:.0} s",
            self.trials.len(),
            self.search_seconds
        )
    }

    /// The last passing trial at the capacity: its CPU cores and peak ΣPSS, where sampled,
    /// are what carrying the capacity cost.
    pub fn at_capacity(&self) -> Option<&Trial> {
        let lo = self.capacity_rps?;
        self.trials
            .iter()
            .rev()
            .find(|t| t.offered_rps == lo && t.verdict == Verdict::Pass)
    }

    /// Capacity per core the deployment used at it, and per GiB of its peak ΣPSS.
    pub fn per_core_and_gib(&self) -> (Option<f64>, Option<f64>) {
        let (Some(c), Some(t)) = (self.capacity_rps, self.at_capacity()) else {
            return (None, None);
        };
        let per_core = t.cpu_cores.filter(|&x| x > 0.0).map(|x| c / x);
        let per_gib = t
            .pss_peak_bytes
            .filter(|&b| b > 0)
            .map(|b| c / (b as f64 / (1u64 << 30) as f64));
        (per_core, per_gib)
    }
}

/// The default trial window and warm-up when neither the scenario nor a flag sets them.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(5);
pub const DEFAULT_WARMUP: Duration = Duration::from_secs(1);
