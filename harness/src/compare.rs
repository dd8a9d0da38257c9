//! Judging a candidate results.json against a baseline, and checking a scenario's absolute
//! `thresholds:` on one results document. Per deployment and metric, `compare` gathers each
//! side's repetitions and lets `stats::judge` call the whole table at once (Welch's t on logs,
//! or the paired t where `.ci/ab` interleaved the runs; Holm over every deployment × metric;
//! at least `stats::MIN_REPETITIONS` a side), adding only two rules of its own that a test
//! cannot decide: a figure unknown in every candidate repetition regresses, and an error or
//! lost-task count whose median rises from 0 regresses. It reads the typed results model
//! (`results::read`) only; nothing is measured here, it never touches a deployment, it never
//! writes results, and it judges with nothing but `stats`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use crate::results::BadResults;
use crate::results::{Results, RunResult};
use crate::scenario::model::Thresholds;
use crate::stats::{self, Call, Direction, Judging, Sample};

/// A figure of a run that `compare` can judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Requests per second (higher is better).
    Throughput,
    /// Median web latency.
    P50,
    /// 99th percentile web latency.
    P99,
    /// 99.9th percentile web latency.
    P999,
    /// Peak ΣPSS of the deployment.
    Pss,
    /// Peak ΣRSS of the deployment.
    Rss,
    /// CPU cores the deployment used.
    Cpu,
    /// Background tasks finished per second (higher is better).
    TasksPerSecond,
    /// 99th percentile of task enqueue→finish.
    TaskP99,
    /// Failed requests.
    Errors,
    /// Tasks enqueued but never finished.
    LostTasks,
    /// The highest rate carried within the SLO, from `djbench capacity` (higher is better).
    Capacity,
}

impl Metric {
    /// What `compare` judges when no --metric is given.
    /// Capacity is known only in the results of `djbench capacity`, and the others only
    /// outside them: each file is judged on what it holds.
    pub const DEFAULT: [Metric; 8] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P99,
        Metric::Pss,
        Metric::TaskP99,
        Metric::Errors,
        Metric::LostTasks,
        Metric::Capacity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "req/s",
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::P999 => "p99.9",
            Metric::Pss => "ΣPSS peak",
            Metric::Rss => "ΣRSS peak",
            Metric::Cpu => "CPU cores",
            Metric::TasksPerSecond => "tasks/s",
            Metric::TaskP99 => "task p99",
            Metric::Errors => "errors",
            Metric::LostTasks => "lost tasks",
            Metric::Capacity => "capacity",
        }
    }

    fn higher_is_better(self) -> bool {
        matches!(
            self,
            Metric::Throughput | Metric::TasksPerSecond | Metric::Capacity
        )
    }

    /// Counts judged by their increase from zero as well as relatively.
    fn is_count(self) -> bool {
        matches!(self, Metric::Errors | Metric::LostTasks)
    }

    /// The figure in one run; None when the run could not know it (no successful request,
    /// no memory sample, unknown task figures, no task that finished).
    pub fn of(self, r: &RunResult) -> Option<f64> {
        let latency =
            |q: fn(&crate::load::Latency) -> u64| r.latency_us.as_ref().map(|l| q(l) as f64);
        match self {
            Metric::Throughput => Some(r.throughput_rps),
            Metric::P50 => latency(|l| l.p50),
            Metric::P99 => latency(|l| l.p99),
            Metric::P999 => latency(|l| l.p999),
            Metric::Pss => r.pss_bytes.map(|m| m.peak_bytes as f64),
            Metric::Rss => r.rss_bytes.map(|m| m.peak_bytes as f64),
            Metric::Cpu => r.cpu.as_ref().map(|c| c.cores),
            Metric::TasksPerSecond => r.tasks.as_ref().map(|t| t.tasks_per_second),
            Metric::TaskP99 => r
                .tasks
                .as_ref()
                .and_then(|t| t.enqueue_to_finish_us)
                .map(|l| l.p99 as f64),
            Metric::Errors => Some(r.errors as f64),
            Metric::LostTasks => r.tasks.as_ref().map(|t| t.lost as f64),
            // A search's answer, not a run's figure: see `load_file`.
            Metric::Capacity => None,
        }
    }

    /// The value with its unit, for tables.
    pub fn show(self, v: f64) -> String {
        match self {
            Metric::Throughput | Metric::TasksPerSecond | Metric::Capacity => {
                format!("{v:.1}/s")
            }
            Metric::P50 | Metric::P99 | Metric::P999 | Metric::TaskP99 => {
                format!("{:.2} ms", v / 1000.0)
            }
            Metric::Pss | Metric::Rss => format!("{:.1} MiB", v / 1048576.0),
            Metric::Cpu => format!("{v:.2}"),
            Metric::Errors | Metric::LostTasks => format!("{v:.0}"),
        }
    }
}

impl Metric {
    fn direction(self) -> Direction {
        if self.higher_is_better() {
            Direction::HigherIsBetter
        } else {
            Direction::LowerIsBetter
        }
    }
}

/// One measured run (a run that failed measured nothing and is left out) of one deployment.
#[derive(Debug, Clone)]
pub struct Run {
    /// The run folder its results.json came from, when a folder of run folders was loaded
    /// (`01`, `02`, … as `.ci/ab` writes them): what pairs it with the other side's run.
    pub folder: Option<String>,
    /// Each metric's value; None when the run could not know it.
    pub figures: BTreeMap<Metric, Option<f64>>,
    /// Faults were injected into it (`RunResult::faults`): it is weighed only against fault
    /// runs.
    pub fault: bool,
}

/// One results file, or a folder of them, reduced to what comparing needs.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub complete: bool,
    pub scenario: String,
    /// label → its measured runs, in order (by folder, then by repetition).
    pub runs: BTreeMap<String, Vec<Run>>,
    /// label → interpreter versions seen.
    pub pythons: BTreeMap<String, Vec<String>>,
    /// label → the machine's calibration speed around each capacity search (units/s), with
    /// the djbench build that measured it.
    pub speeds: BTreeMap<String, Vec<(crate::host::Build, f64)>>,
    /// The run folders' names, sorted, when `path` is a folder of numbered run folders (`01`,
    /// `02`, …) each holding a results.json with one run per deployment: what `.ci/ab` writes,
    /// the same name on both sides being a pair that ran next to each other. None otherwise.
    pub pairable: Option<Vec<String>>,
}

impl Loaded {
    /// The known values of `m` over `label`'s runs, in run order.
    pub fn known(&self, label: &str, m: Metric) -> Vec<f64> {
        self.runs_of(label)
            .filter_map(|r| r.figures.get(&m).copied().flatten())
            .collect()
    }

    /// How many of `label`'s runs did not know `m`.
    pub fn unknown(&self, label: &str, m: Metric) -> usize {
        self.runs_of(label)
            .filter(|r| r.figures.get(&m).copied().flatten().is_none())
            .count()
    }

    /// Run folder → known value of `m`, for pairing.
    fn by_folder(&self, label: &str, m: Metric) -> BTreeMap<&str, f64> {
        self.runs_of(label)
            .filter_map(|r| Some((r.folder.as_deref()?, r.figures.get(&m).copied().flatten()?)))
            .collect()
    }

    /// `label`'s runs as fault runs or not: `None` for a side that mixes them, with how many
    /// of how many runs were fault runs.
    fn faults(&self, label: &str) -> (Option<bool>, usize, usize) {
        let all = self.runs_of(label).count();
        let faulted = self.runs_of(label).filter(|r| r.fault).count();
        let kind = match faulted {
            0 => Some(false),
            n if n == all => Some(true),
            _ => None,
        };
        (kind, faulted, all)
    }

    fn runs_of(&self, label: &str) -> impl Iterator<Item = &Run> {
        self.runs.get(label).into_iter().flatten()
    }
}

/// A results.json, or a folder whose runs are pooled from every results.json in it and in its
/// immediate subfolders (one scenario run per repetition, run interleaved with the other side's:
/// what the A/B recipe and the CI workflow do).
pub fn load(path: &Path, metrics: &[Metric]) -> Result<Loaded, BadResults> {
    if !path.is_dir() {
        return Ok(load_file(path, metrics, None)?.0);
    }
    // (file, the subfolder it is in: None for a results.json directly in `path`)
    let mut files: Vec<(PathBuf, Option<String>)> = std::fs::read_dir(path)
        .map_err(|e| BadResults(format!("{}: cannot read it: {e}", path.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .flat_map(|p| {
            if p.is_dir() {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                Some((p.join("results.json"), name)).filter(|(f, _)| f.is_file())
            } else {
                Some((p, None)).filter(|(f, _)| f.file_name().is_some_and(|n| n == "results.json"))
            }
        })
        .collect();
    files.sort();
    let mut pooled: Option<Loaded> = None;
    // Pairable while every file is a numbered run folder's with one run per deployment.
    let mut pairable = !files.is_empty();
    for (f, folder) in &files {
        pairable &= folder
            .as_deref()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let (one, one_run_each) = load_file(f, metrics, folder.clone())?;
        pairable &= one_run_each;
        match &mut pooled {
            None => pooled = Some(one),
            Some(all) => {
                if all.scenario != one.scenario {
                    return Err(BadResults(format!(
                        "{}: scenario `{}`, but {} holds `{}`: pool results of one scenario",
                        f.display(),
                        one.scenario,
                        files[0].0.display(),
                        all.scenario
                    )));
                }
                all.complete &= one.complete;
                for (label, runs) in one.runs {
                    all.runs.entry(label).or_default().extend(runs);
                }
                for (label, v) in one.speeds {
                    all.speeds.entry(label).or_default().extend(v);
                }
                for (label, pys) in one.pythons {
                    let seen = all.pythons.entry(label).or_default();
                    for py in pys {
                        if !seen.contains(&py) {
                            seen.push(py);
                        }
                    }
                }
            }
        }
    }
    let mut pooled = pooled.ok_or_else(|| {
        BadResults(format!(
            "{}: no results.json in this folder or its subfolders",
            path.display()
        ))
    })?;
    pooled.path = path.to_owned();
    pooled.pairable = pairable.then(|| files.iter().filter_map(|(_, f)| f.clone()).collect());
    Ok(pooled)
}

/// One results.json, its runs tagged with `folder`; and whether it holds exactly one run (failed
/// or not) per deployment.
fn load_file(
    path: &Path,
    metrics: &[Metric],
    folder: Option<String>,
) -> Result<(Loaded, bool), BadResults> {
    let doc = crate::results::read(path)?;
    let mut loaded = Loaded {
        path: path.to_owned(),
        complete: doc.complete,
        scenario: doc.name().to_owned(),
        runs: BTreeMap::new(),
        pythons: BTreeMap::new(),
        speeds: BTreeMap::new(),
        pairable: None,
    };
    let one_run_each = doc.by_deployment().len() == doc.runs.len();
    // The results of `djbench capacity`: one search per deployment, and its runs measured no
    // load of their own. Only capacity is known; an unknown capacity is kept (and fails).
    for c in &doc.capacity {
        if let Some(cal) = &c.calibration {
            let v = loaded.speeds.entry(c.label.clone()).or_default();
            v.push((cal.before.build, cal.units_per_second()));
        }
        loaded.runs.entry(c.label.clone()).or_default().push(Run {
            folder: folder.clone(),
            figures: metrics
                .iter()
                .map(|&m| {
                    (
                        m,
                        (m == Metric::Capacity).then_some(c.capacity_rps).flatten(),
                    )
                })
                .collect(),
            fault: false,
        });
    }
    for run in doc.runs.iter().filter(|_| doc.capacity.is_empty()) {
        if run.failure.is_some() {
            // A run that failed measured nothing comparable; its absence is reported below.
            continue;
        }
        let label = &run.label;
        loaded.runs.entry(label.clone()).or_default().push(Run {
            folder: folder.clone(),
            figures: metrics.iter().map(|&m| (m, m.of(run))).collect(),
            fault: run.fault_run(),
        });
        let py = &run.interpreter.version;
        let seen = loaded.pythons.entry(label.clone()).or_default();
        if !seen.contains(py) {
            seen.push(py.clone());
        }
    }
    if loaded.runs.is_empty() {
        return Err(BadResults(format!(
            "{}: no run measured anything",
            path.display()
        )));
    }
    Ok((loaded, one_run_each))
}

/// The median; NaN for no values (callers check for none first). Used by the report too.
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// What `compare` decides for one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Not significantly different after Holm, or by no more than `--max-regression`.
    NoDifference,
    /// Significantly better by more than `--max-regression`.
    Better,
    /// Fewer than `stats::MIN_REPETITIONS` known values on a side: nothing called, not a
    /// failure; `call` says how many repetitions a side would be needed.
    NotEnoughRepetitions,
    /// Unknown in every baseline repetition: shown, not judged.
    NotJudged,
    /// Fails the comparison: significantly worse by more than `--max-regression`, unknown in
    /// every candidate repetition, or an error / lost-task count whose median rose from 0.
    Regressed,
}

/// Why a row regressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Because {
    /// The test called it worse (`call` is `Worse`).
    Worse,
    /// Unknown in every candidate repetition: the gate cannot vouch for it.
    UnknownCandidate,
    /// A count (errors, lost tasks) whose baseline median is 0 and candidate median is not: a
    /// threshold rule, since a t-test against a baseline that is 0 in every repetition says
    /// nothing about how unusual the candidate's errors are.
    RoseFromZero,
}

/// A figure on the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sides<T> {
    pub baseline: T,
    pub candidate: T,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub label: String,
    pub metric: Metric,
    /// The median over the side's known values; None when no repetition knew it.
    pub baseline: Option<f64>,
    pub candidate: Option<f64>,
    /// Known values on each side (the test's own count is in `call`: pairs when paired).
    pub repetitions: (usize, usize),
    /// Coefficient of variation over each side's known values (`stats::cv`); None with fewer
    /// than two or a zero mean.
    pub cv: Sides<Option<f64>>,
    /// `stats::judge`'s call, with the test's change, 95% interval and raw p-value; None when a
    /// side is unknown in every repetition (nothing to test).
    pub call: Option<Call>,
    /// The Holm-adjusted p-value over the comparisons in the family (significant at 5% exactly
    /// when ≤ 0.05); None for comparisons left out of it (too few repetitions, every value one
    /// number on both sides, or nothing to test).
    pub p_adjusted: Option<f64>,
    pub verdict: Verdict,
    /// Set exactly when `verdict` is `Regressed`.
    pub because: Option<Because>,
}

impl Row {
    /// Whether a side's repetitions vary by more than `stats::CV_WARN`.
    pub fn noisy(&self) -> bool {
        [self.cv.baseline, self.cv.candidate]
            .into_iter()
            .flatten()
            .any(|c| c > stats::CV_WARN)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub max_regression: f64,
    /// Whether the runs were tested as pairs (both sides folders of the same numbered run
    /// folders, one run per deployment each); Welch's t otherwise.
    pub paired: bool,
    /// How many comparisons Holm's correction counted.
    pub family: usize,
    pub rows: Vec<Row>,
    /// Deployments left out because a fault run would have been weighed against a fault-free
    /// one (a note says which side had which): they neither pass nor fail.
    pub not_compared: Vec<String>,
    /// Things a reader must know before trusting the verdict.
    pub notes: Vec<String>,
}

impl Breach {
    /// The deployment as a breach line names it: `label`, or `label (fault run)`.
    pub fn who(&self) -> String {
        if self.fault_run {
            format!("{} (fault run)", self.label)
        } else {
            self.label.clone()
        }
    }
}

impl Comparison {
    pub fn failed(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regressed)
    }
}

/// Mirrors `stats::judge`'s rule for leaving a comparison out of Holm's family (every value one
/// number on both sides), so that the adjusted p-values printed match its calls.
fn constant(a: &[f64], b: &[f64]) -> bool {
    let mut all = a.iter().chain(b);
    all.next()
        .is_none_or(|first| all.all(|x| x.to_bits() == first.to_bits()))
}

/// A note when baseline and candidate ran on machines of different speed: their median
/// calibration speeds more than `host::MAX_DRIFT` apart, or measured by different builds of
/// djbench (whose units differ).
fn speed_note(
    label: &str,
    base: &[(crate::host::Build, f64)],
    cand: &[(crate::host::Build, f64)],
) -> Option<String> {
    let build = base.first().or(cand.first())?.0;
    if base.is_empty() || cand.is_empty() {
        return None;
    }
    if base.iter().chain(cand).any(|&(other, _)| other != build) {
        return Some(format!(
            "`{label}`: the machine's speed was calibrated by different builds of djbench \
             (debug and release), whose units differ: whether it ran at the same speed for both \
             is unknown"
        ));
    }
    let units = |v: &[(crate::host::Build, f64)]| v.iter().map(|x| x.1).collect::<Vec<_>>();
    let (b, c) = (median(&units(base)), median(&units(cand)));
    let gap = crate::host::relative_gap(b, c);
    (gap > crate::host::MAX_DRIFT).then(|| {
        format!(
            "`{label}`: the machine ran djbench's calibration workload at {b:.0} units/s for \
             the baseline and {c:.0} for the candidate ({:.0}% apart): capacities measured on \
             machines of different speed differ for that alone",
            gap * 100.0
        )
    })
}

/// Compares every deployment of the baseline with the candidate's runs of the same label.
pub fn compare(
    base: &Loaded,
    cand: &Loaded,
    metrics: &[Metric],
    max_regression: f64,
) -> Result<Comparison, BadResults> {
    let missing: Vec<&str> = base
        .runs
        .keys()
        .filter(|l| !cand.runs.contains_key(*l))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(BadResults(format!(
            "{} has no measured run of {} (in the baseline {}); compare results of the same \
             scenario",
            cand.path.display(),
            missing
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", "),
            base.path.display()
        )));
    }
    let mut notes = Vec::new();
    for (which, l) in [("baseline", base), ("candidate", cand)] {
        if !l.complete {
            notes.push(format!(
                "the {which} ({}) is incomplete: its run was interrupted or failed",
                l.path.display()
            ));
        }
    }
    if base.scenario != cand.scenario {
        notes.push(format!(
            "different scenarios: `{}` against `{}`",
            base.scenario, cand.scenario
        ));
    }
    for label in cand.runs.keys().filter(|l| !base.runs.contains_key(*l)) {
        notes.push(format!(
            "`{label}` is only in the candidate: nothing to compare"
        ));
    }
    // Pairs only where both sides are the same numbered run folders: decided by how the runs
    // were made, never by which test gives the smaller p.
    let paired = matches!((&base.pairable, &cand.pairable), (Some(b), Some(c)) if b == c);
    if !paired && base.pairable.is_some() && cand.pairable.is_some() {
        notes.push(
            "both sides are folders of run folders, but not of the same numbers: runs tested \
             unpaired (Welch's t)"
                .into(),
        );
    }

    // Every row first, the values the test sees alongside; then one `judge` over them all.
    struct Pending {
        row: Row,
        test: Option<(Vec<f64>, Vec<f64>)>,
    }
    let mut pending: Vec<Pending> = Vec::new();
    let mut not_compared = Vec::new();
    for label in base.runs.keys() {
        // A fault run measures the faults and the recovery from them, not a steady state:
        // weighed against a fault-free run it would fail or pass for that alone.
        match (base.faults(label), cand.faults(label)) {
            ((Some(false), ..), (Some(false), ..)) => {}
            ((Some(true), ..), (Some(true), ..)) => notes.push(format!(
                "`{label}`: fault runs on both sides, compared with each other (their figures \
                 include the faults and the recovery from them)"
            )),
            (b, c) => {
                let side = |(kind, faulted, all): (Option<bool>, usize, usize)| match kind {
                    Some(true) => "fault runs".to_owned(),
                    Some(false) => "fault-free".to_owned(),
                    None => format!("a mix ({faulted} of {all} runs fault runs)"),
                };
                notes.push(format!(
                    "`{label}` not compared: the baseline's runs are {} and the candidate's {}; \
                     a fault run is weighed only against fault runs, so this deployment neither \
                     passes nor fails",
                    side(b),
                    side(c)
                ));
                not_compared.push(label.clone());
                continue;
            }
        }
        if let (Some(b), Some(c)) = (base.speeds.get(label), cand.speeds.get(label))
            && let Some(note) = speed_note(label, b, c)
        {
            notes.push(note);
        }
        if base.pythons.get(label) != cand.pythons.get(label) {
            notes.push(format!(
                "`{label}`: different interpreters ({} against {})",
                base.pythons
                    .get(label)
                    .map_or(String::new(), |v| v.join(", ")),
                cand.pythons
                    .get(label)
                    .map_or(String::new(), |v| v.join(", "))
            ));
        }
        for &m in metrics {
            let (b, c) = (base.known(label, m), cand.known(label, m));
            let (bu, cu) = (base.unknown(label, m), cand.unknown(label, m));
            if b.is_empty() && c.is_empty() {
                continue;
            }
            if bu > 0 || cu > 0 {
                notes.push(format!(
                    "`{label}` {}: unknown in {bu} baseline and {cu} candidate repetitions; \
                     judged on the known ones, and an unknown candidate fails",
                    m.name()
                ));
            }
            let (bm, cm) = (
                (!b.is_empty()).then(|| median(&b)),
                (!c.is_empty()).then(|| median(&c)),
            );
            // A deployment without background tasks has no task figures to judge.
            if matches!(m, Metric::TaskP99 | Metric::TasksPerSecond)
                && bm == Some(0.0)
                && cm == Some(0.0)
            {
                continue;
            }
            let (verdict, because) = match (bm, cm) {
                // Known on one side only: an unknown candidate cannot be vouched for.
                (_, None) => (Verdict::Regressed, Some(Because::UnknownCandidate)),
                (None, _) => (Verdict::NotJudged, None),
                (Some(bm), Some(cm)) if m.is_count() && bm == 0.0 && cm > 0.0 => {
                    (Verdict::Regressed, Some(Because::RoseFromZero))
                }
                // Decided by the test below.
                _ => (Verdict::NoDifference, None),
            };
            let test = (bm.is_some() && cm.is_some()).then(|| {
                if paired {
                    // Only repetitions known on both sides make a pair.
                    let (bf, cf) = (base.by_folder(label, m), cand.by_folder(label, m));
                    let pairs: Vec<(f64, f64)> = bf
                        .iter()
                        .filter_map(|(f, &x)| Some((x, *cf.get(f)?)))
                        .collect();
                    if pairs.len() < b.len().max(c.len()) {
                        notes.push(format!(
                            "`{label}` {}: {} repetitions known on both sides of {} and {}; \
                             the paired test uses those",
                            m.name(),
                            pairs.len(),
                            b.len(),
                            c.len()
                        ));
                    }
                    pairs.into_iter().unzip()
                } else {
                    (b.clone(), c.clone())
                }
            });
            pending.push(Pending {
                row: Row {
                    label: label.clone(),
                    metric: m,
                    baseline: bm,
                    candidate: cm,
                    repetitions: (b.len(), c.len()),
                    cv: Sides {
                        baseline: stats::cv(&b),
                        candidate: stats::cv(&c),
                    },
                    call: None,
                    p_adjusted: None,
                    verdict,
                    because,
                },
                test,
            });
        }
    }

    let tested: Vec<usize> = (0..pending.len())
        .filter(|&i| pending[i].test.is_some())
        .collect();
    let family: Vec<Sample<'_>> = tested
        .iter()
        .map(|&i| {
            let (b, c) = pending[i].test.as_ref().expect("tested rows have values");
            Sample {
                base: b,
                cand: c,
                direction: pending[i].row.metric.direction(),
            }
        })
        .collect();
    let how = Judging {
        alpha: stats::ALPHA,
        min_effect: max_regression,
        paired,
    };
    let calls = stats::judge(&family, &how);
    // Holm's family as judge counts it: tested, and not one number throughout.
    let counted: Vec<usize> = (0..family.len())
        .filter(|&k| calls[k].difference().is_some() && !constant(family[k].base, family[k].cand))
        .collect();
    let adjusted = stats::holm_adjusted(
        &counted
            .iter()
            .map(|&k| calls[k].difference().expect("counted calls tested").p)
            .collect::<Vec<_>>(),
    );
    for (k, &i) in tested.iter().enumerate() {
        let row = &mut pending[i].row;
        row.call = Some(calls[k]);
        row.p_adjusted = counted.iter().position(|&j| j == k).map(|a| adjusted[a]);
        if row.because.is_none() {
            row.verdict = match calls[k] {
                Call::Worse(_) => Verdict::Regressed,
                Call::Better(_) => Verdict::Better,
                Call::NoDifference(_) => Verdict::NoDifference,
                Call::NotEnoughRepetitions { .. } => Verdict::NotEnoughRepetitions,
            };
            if row.verdict == Verdict::Regressed {
                row.because = Some(Because::Worse);
            }
        }
    }
    let rows: Vec<Row> = pending.into_iter().map(|p| p.row).collect();

    for r in rows.iter().filter(|r| r.noisy()) {
        let pct = |c: Option<f64>| c.map_or("—".into(), |c| format!("{:.1}%", c * 100.0));
        notes.push(format!(
            "`{}` {}: repetitions vary by {} (baseline) and {} (candidate) of their mean, \
             above {:.0}%: a real change can hide in that noise",
            r.label,
            r.metric.name(),
            pct(r.cv.baseline),
            pct(r.cv.candidate),
            stats::CV_WARN * 100.0
        ));
    }
    let short = rows
        .iter()
        .filter(|r| r.verdict == Verdict::NotEnoughRepetitions)
        .count();
    if short > 0 {
        let have = rows
            .iter()
            .filter_map(|r| match r.call {
                Some(Call::NotEnoughRepetitions { have, .. }) => Some(have),
                _ => None,
            })
            .min()
            .unwrap_or(0);
        let need = rows
            .iter()
            .filter_map(|r| match r.call {
                Some(Call::NotEnoughRepetitions { need, .. }) => Some(need),
                _ => None,
            })
            .max()
            .unwrap_or(stats::MIN_REPETITIONS);
        let more = if need >= stats::MAX_NEEDED {
            format!(
                "the noisiest of them would need {} or more a side to find a change of {}%: \
                 less noise (a longer scenario, `isolation:`) would help more than repetitions",
                stats::MAX_NEEDED,
                max_regression * 100.0
            )
        } else {
            format!(
                "for the noisiest of them about {need} repetitions a side would be needed: \
                 `djbench scenario … --repetitions {need}` for each side, or \
                 `.ci/ab BASE HEAD SCENARIO {need}`"
            )
        };
        notes.push(format!(
            "{short} comparison(s) had too few repetitions to call (as few as {have} a side; at \
             least {} needed): nothing was called there, and that is not a pass; {more} (each \
             row's own count is in its verdict; every side needs at least `--repetitions {}`)",
            stats::MIN_REPETITIONS,
            stats::MIN_REPETITIONS
        ));
    }
    if rows
        .iter()
        .any(|r| r.because == Some(Because::RoseFromZero))
    {
        notes.push(
            "errors and lost tasks regress when their median rises from 0, whatever the test \
             says (a rule, not a statistic: against a baseline of 0 in every repetition a test \
             cannot say how unusual the candidate's count is)"
                .into(),
        );
    }
    Ok(Comparison {
        max_regression,
        paired,
        family: counted.len(),
        rows,
        not_compared,
        notes,
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_of_different_speed_or_measured_by_different_builds_are_noted() {
        use crate::host::Build::{Debug, Release};
        let note = |b: &[(crate::host::Build, f64)], c: &[(crate::host::Build, f64)]| {
            speed_note("x", b, c)
        };
        assert_eq!(
            note(&[(Release, 100.0), (Release, 104.0)], &[(Release, 95.0)]),
            None
        );
        let slower = note(&[(Release, 100.0)], &[(Release, 80.0)]).unwrap();
        assert!(
            slower.contains("at 100 units/s for the baseline and 80 for the candidate (20% apart)"),
            "{slower}"
        );
        let builds = note(&[(Release, 100.0)], &[(Debug, 100.0)]).unwrap();
        assert!(builds.contains("different builds"), "{builds}");
        assert_eq!(note(&[], &[(Release, 80.0)]), None);
    }

    use crate::results::testing::{all_failed, results, run};
    use crate::results::{Results, RunResult};

    fn broken(doc: &Results) -> Vec<(String, &'static str, String)> {
        thresholds(doc)
            .into_iter()
            .map(|b| (b.label, b.threshold, b.measured))
            .collect()
    }

    #[test]
    fn a_latency_limit_fails_where_no_request_succeeded() {
        let doc = results(
            "  p99: 50ms",
            vec![
                run("a", 1, 100.0, 2000),
                run("b", 1, 100.0, 2000),
                all_failed(run("b", 2, 0.0, 1)),
            ],
        );
        assert_eq!(
            broken(&doc),
            [(
                "b".to_owned(),
                "p99",
                "unknown: no successful request in 1 of 2 runs".to_owned()
            )]
        );
    }

    #[test]
    fn lost_tasks_unknown_fails_and_known_ones_count() {
        let mut unknown = run("a", 1, 100.0, 2000);
        unknown.tasks = None;
        let mut lost = run("b", 1, 100.0, 2000);
        if let Some(t) = &mut lost.tasks {
            t.lost = 3;
        }
        let doc = results(
            "  lost_tasks: 2",
            vec![unknown, lost, run("c", 1, 100.0, 2000)],
        );
        let b = broken(&doc);
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!((b[0].0.as_str(), b[0].1), ("a", "lost_tasks"));
        assert!(b[0].2.starts_with("unknown"), "{b:?}");
        assert_eq!(b[1], ("b".to_owned(), "lost_tasks", "3".to_owned()));
    }

    #[test]
    fn the_error_rate_counts_every_request_of_every_repetition() {
        let with_errors = |rep, errors| RunResult {
            errors,
            ..run("a", rep, 100.0, 2000)
        };
        // 10 failed of 2000: 0.5%, under a 1% limit though one repetition alone is at 1%.
        let doc = results(
            "  error_rate: 1%",
            vec![with_errors(1, 10), with_errors(2, 0)],
        );
        assert!(broken(&doc).is_empty());
        let doc = results(
            "  error_rate: 1%",
            vec![with_errors(1, 30), with_errors(2, 0)],
        );
        assert_eq!(broken(&doc)[0].2, "1.500% (30 of 2000)");
    }

    const METRICS: [Metric; 3] = [Metric::Throughput, Metric::P99, Metric::Errors];

    /// Saves `runs` as `dir/name/results.json` and loads `dir/name` (a file, or a folder of
    /// run folders when `runs` is empty and `folders` holds them).
    fn save(dir: &Path, name: &str, runs: Vec<RunResult>) -> PathBuf {
        let d = dir.join(name);
        crate::results::write(&d, &results("", runs)).unwrap();
        d.join("results.json")
    }

    /// Five repetitions of deployment `a`: throughput `rps` with ±1% of noise, p99 2 ms.
    fn five(rps: f64, reps: impl Fn(u32) -> u32) -> Vec<RunResult> {
        let noise = [1.0, 1.01, 0.99, 1.005, 0.995];
        (1..=5)
            .map(|i| run("a", reps(i), rps * noise[i as usize - 1], 2000))
            .collect()
    }

    #[test]
    fn an_unknown_candidate_figure_regresses_and_an_unknown_baseline_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = [Metric::P99, Metric::LostTasks];
        let known = load(
            &save(dir.path(), "k", vec![run("a", 1, 100.0, 2000)]),
            &metrics,
        );
        let mut unknown_run = all_failed(run("a", 1, 100.0, 2000));
        unknown_run.tasks = None;
        let unknown = load(&save(dir.path(), "u", vec![unknown_run]), &metrics);
        let (known, unknown) = (known.unwrap(), unknown.unwrap());
        let c = compare(&known, &unknown, &metrics, 0.05).unwrap();
        assert_eq!(c.rows.len(), 2);
        for r in &c.rows {
            assert_eq!(
                (r.candidate, r.verdict, r.because, r.call),
                (
                    None,
                    Verdict::Regressed,
                    Some(Because::UnknownCandidate),
                    None
                ),
                "{r:?}"
            );
        }
        let c = compare(&unknown, &known, &[Metric::P99], 0.05).unwrap();
        assert_eq!(
            (c.rows[0].baseline, c.rows[0].verdict),
            (None, Verdict::NotJudged)
        );
        assert!(
            c.notes.iter().any(|n| n.contains("unknown in 1 baseline")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn three_repetitions_call_nothing_and_say_how_many_would() {
        let dir = tempfile::tempdir().unwrap();
        let three = |rps: f64| {
            (1..=3)
                .map(|i| run("a", i, rps + f64::from(i), 2000))
                .collect()
        };
        let base = load(&save(dir.path(), "b", three(100.0)), &METRICS).unwrap();
        let cand = load(&save(dir.path(), "c", three(70.0)), &METRICS).unwrap();
        let c = compare(&base, &cand, &METRICS, 0.05).unwrap();
        let row = &c.rows[0];
        assert_eq!(row.verdict, Verdict::NotEnoughRepetitions, "{row:?}");
        assert!(
            matches!(row.call, Some(Call::NotEnoughRepetitions { have: 3, need }) if need >= 5),
            "{row:?}"
        );
        assert_eq!(row.p_adjusted, None);
        assert_eq!(c.failed().count(), 0);
        assert!(
            c.notes.iter().any(|n| n.contains("--repetitions")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn errors_rising_from_zero_regress_at_any_count_of_repetitions() {
        let dir = tempfile::tempdir().unwrap();
        let base = load(
            &save(dir.path(), "b", vec![run("a", 1, 100.0, 2000)]),
            &METRICS,
        );
        let failing = RunResult {
            errors: 4,
            ..run("a", 1, 100.0, 2000)
        };
        let cand = load(&save(dir.path(), "c", vec![failing]), &METRICS);
        let c = compare(&base.unwrap(), &cand.unwrap(), &METRICS, 0.05).unwrap();
        let errors = c.rows.iter().find(|r| r.metric == Metric::Errors).unwrap();
        assert_eq!(
            (errors.verdict, errors.because),
            (Verdict::Regressed, Some(Because::RoseFromZero))
        );
        assert!(
            c.notes.iter().any(|n| n.contains("rises from 0")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_clear_loss_at_five_a_side_regresses_with_the_tests_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let base = load(&save(dir.path(), "b", five(100.0, |i| i)), &METRICS).unwrap();
        let cand = load(&save(dir.path(), "c", five(80.0, |i| i)), &METRICS).unwrap();
        let c = compare(&base, &cand, &METRICS, 0.05).unwrap();
        assert!(!c.paired);
        let rps = &c.rows[0];
        assert_eq!(rps.metric, Metric::Throughput);
        assert_eq!(
            (rps.verdict, rps.because),
            (Verdict::Regressed, Some(Because::Worse))
        );
        let d = rps.call.unwrap().difference().copied().unwrap();
        assert!((d.change.unwrap() + 0.2).abs() < 1e-3, "{d:?}");
        assert!(!d.paired);
        assert!(rps.p_adjusted.unwrap() <= stats::ALPHA);
        assert!(rps.cv.baseline.unwrap() < 0.02);
        // p99 the same number everywhere and errors 0 throughout: out of Holm's family.
        assert_eq!(c.family, 1);
        assert!(
            c.rows[1..]
                .iter()
                .all(|r| r.p_adjusted.is_none() && r.verdict == Verdict::NoDifference)
        );
    }

    /// `dir/side/NN/results.json` for every (NN, runs).
    fn folders(dir: &Path, side: &str, runs: Vec<RunResult>, name: impl Fn(u32) -> String) {
        for r in runs {
            let d = dir.join(side).join(name(r.repetition));
            crate::results::write(&d, &results("", vec![RunResult { repetition: 1, ..r }]))
                .unwrap();
        }
    }

    #[test]
    fn numbered_run_folders_on_both_sides_are_tested_as_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let nn = |i: u32| format!("{i:02}");
        folders(dir.path(), "base", five(100.0, |i| i), nn);
        folders(dir.path(), "head", five(80.0, |i| i), nn);
        let base = load(&dir.path().join("base"), &METRICS).unwrap();
        let head = load(&dir.path().join("head"), &METRICS).unwrap();
        assert_eq!(
            base.pairable.as_deref(),
            Some(&["01", "02", "03", "04", "05"].map(String::from)[..])
        );
        let c = compare(&base, &head, &METRICS, 0.05).unwrap();
        assert!(c.paired);
        let d = c.rows[0].call.unwrap().difference().copied().unwrap();
        assert!(d.paired && d.df == 4.0, "{d:?}");
        assert_eq!(c.rows[0].verdict, Verdict::Regressed);

        // Other names on one side: no pairs, and it says why.
        folders(dir.path(), "other", five(80.0, |i| i), |i| i.to_string());
        let other = load(&dir.path().join("other"), &METRICS).unwrap();
        let c = compare(&base, &other, &METRICS, 0.05).unwrap();
        assert!(!c.paired);
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains("not of the same numbers"))
        );
        // A folder holding two runs of a deployment is not one repetition of a pair.
        let two = dir.path().join("two");
        crate::results::write(
            &two.join("01"),
            &results("", vec![run("a", 1, 1.0, 2000), run("a", 2, 1.0, 2000)]),
        )
        .unwrap();
        assert_eq!(load(&two, &METRICS).unwrap().pairable, None);
        // A single file never pairs.
        let file = load(&save(dir.path(), "f", five(100.0, |i| i)), &METRICS).unwrap();
        assert_eq!(file.pairable, None);
    }

    /// `r` as a fault run (what the faults were does not matter to `compare`).
    fn faulted(r: RunResult) -> RunResult {
        RunResult {
            faults: Some(crate::results::FaultRun {
                restart: crate::scenario::faults::Restart::Never,
                restart_delay_s: 0.1,
                visibility_timeout_s: None,
                drain_s: 0.0,
                events: Vec::new(),
                deaths: Vec::new(),
                ledger: None,
                ledger_unknown: None,
                never_accepted: None,
            }),
            ..r
        }
    }

    /// Five repetitions of `label` at `rps`.
    fn five_of(label: &str, rps: f64) -> Vec<RunResult> {
        five(rps, |i| i)
            .into_iter()
            .map(|r| RunResult {
                label: label.into(),
                ..r
            })
            .collect()
    }

    #[test]
    fn a_fault_run_is_never_weighed_against_a_fault_free_one() {
        let dir = tempfile::tempdir().unwrap();
        // `a` halves its throughput under faults in the candidate: that must not fail the gate.
        let mut base_runs = five_of("a", 100.0);
        base_runs.extend(five_of("b", 100.0));
        let mut head_runs: Vec<RunResult> = five_of("a", 50.0).into_iter().map(faulted).collect();
        head_runs.extend(five_of("b", 100.0));
        let base = load(&save(dir.path(), "base", base_runs), &METRICS).unwrap();
        let head = load(&save(dir.path(), "head", head_runs), &METRICS).unwrap();
        let c = compare(&base, &head, &METRICS, 0.05).unwrap();
        assert_eq!(c.not_compared, ["a"]);
        assert!(c.rows.iter().all(|r| r.label == "b") && !c.rows.is_empty());
        assert_eq!(c.failed().count(), 0, "{:?}", c.rows);
        assert!(
            c.notes.iter().any(|n| n.contains(
                "`a` not compared: the baseline's runs are fault-free and the candidate's fault \
                 runs"
            ) && n.contains("neither passes nor fails")),
            "{:?}",
            c.notes
        );
        // A side that mixes them is not compared either, and says how many were fault runs.
        let mixed: Vec<RunResult> = (five_of("a", 100.0).into_iter().enumerate())
            .map(|(i, r)| if i < 2 { faulted(r) } else { r })
            .collect();
        let mixed = load(&save(dir.path(), "mixed", mixed), &METRICS).unwrap();
        let calm = load(&save(dir.path(), "calm", five_of("a", 50.0)), &METRICS).unwrap();
        let c = compare(&mixed, &calm, &METRICS, 0.05).unwrap();
        assert!(c.rows.is_empty() && c.not_compared == ["a"]);
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains("a mix (2 of 5 runs fault runs)")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn fault_runs_against_fault_runs_compare_as_usual() {
        let dir = tempfile::tempdir().unwrap();
        let f = |rps| five_of("a", rps).into_iter().map(faulted).collect();
        let base = load(&save(dir.path(), "base", f(100.0)), &METRICS).unwrap();
        let head = load(&save(dir.path(), "head", f(80.0)), &METRICS).unwrap();
        let c = compare(&base, &head, &METRICS, 0.05).unwrap();
        assert!(c.not_compared.is_empty());
        assert!(
            c.failed().any(|r| r.metric == Metric::Throughput),
            "{:?}",
            c.rows
        );
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains("fault runs on both sides")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn thresholds_still_hold_fault_runs_and_name_them() {
        let doc = results(
            "  p99: 1ms",
            vec![faulted(run("a", 1, 100.0, 2000)), run("b", 1, 100.0, 2000)],
        );
        let who: Vec<String> = thresholds(&doc).iter().map(Breach::who).collect();
        assert_eq!(who, ["a (fault run)", "b"]);
    }

    #[test]
    fn pairs_are_matched_by_folder_when_a_value_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let nn = |i: u32| format!("{i:02}");
        let mut base = five(100.0, |i| i);
        base.push(run("a", 6, 100.0, 2000));
        let mut head = five(80.0, |i| i);
        head.push(run("a", 6, 80.0, 2000));
        // Repetition 2's p99 unknown in the base, repetition 5's in the head.
        base[1].latency_us = None;
        head[4].latency_us = None;
        folders(dir.path(), "base", base, nn);
        folders(dir.path(), "head", head, nn);
        let base = load(&dir.path().join("base"), &METRICS).unwrap();
        let head = load(&dir.path().join("head"), &METRICS).unwrap();
        let c = compare(&base, &head, &METRICS, 0.05).unwrap();
        let p99 = c.rows.iter().find(|r| r.metric == Metric::P99).unwrap();
        assert_eq!(p99.repetitions, (5, 5));
        // 4 pairs known on both sides: short of 5, though each side knows 5.
        assert!(
            matches!(p99.call, Some(Call::NotEnoughRepetitions { have: 4, .. })),
            "{p99:?}"
        );
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains("4 repetitions known on both sides")),
            "{:?}",
            c.notes
        );
    }
}

/// A scenario's absolute limit that a deployment broke.
#[derive(Debug, Clone, Serialize)]
pub struct Breach {
    pub label: String,
    /// The deployment's runs were fault runs: its figures include the faults.
    pub fault_run: bool,
    pub threshold: &'static str,
    pub limit: String,
    pub measured: String,
}

/// The limits a scenario sets, by name, as the scenario writes them.
pub fn limits(t: &Thresholds) -> Vec<(&'static str, String)> {
    let d = |name, v: Option<crate::scenario::units::Duration>| v.map(|v| (name, v.to_string()));
    [
        d("p50", t.p50),
        d("p99", t.p99),
        d("p999", t.p999),
        t.error_rate.map(|v| ("error_rate", v.to_string())),
        t.pss.map(|v| ("pss", v.to_string())),
        t.lost_tasks.map(|v| ("lost_tasks", v.0.to_string())),
        d("task_p99", t.task_p99),
        t.capacity.map(|v| ("capacity", v.to_string())),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Checks the scenario's `thresholds:` (embedded in the results) on every deployment:
/// latencies, ΣPSS and task p99 on the median over repetitions; the error rate over all
/// requests of all repetitions; lost tasks in the worst repetition. A figure that is unknown
/// in some repetition (no successful request, no memory sample, unreadable task figures)
/// breaks its limit: a limit that cannot be checked does not hold.
pub fn thresholds(doc: &Results) -> Vec<Breach> {
    let t = &doc.scenario.thresholds;
    let mut breaches = Vec::new();
    if let Some(limit) = t.capacity {
        for c in &doc.capacity {
            let measured = match c.capacity_rps {
                Some(v) if v >= limit.0 => continue,
                Some(v) => format!("{v:.1}/s"),
                None => format!("unknown: {}", c.end.describe()),
            };
            breaches.push(Breach {
                label: c.label.clone(),
                fault_run: false,
                threshold: "capacity",
                limit: limit.to_string(),
                measured,
            });
        }
    }
    // The results of `djbench capacity` measured no load in their runs: only the capacity
    // limit applies to them.
    if !doc.capacity.is_empty() {
        return breaches;
    }
    // A deployment whose every run failed measured nothing to hold to a limit.
    for (label, runs) in doc
        .by_deployment()
        .iter()
        .filter(|(_, runs)| !runs.is_empty())
    {
        let fault_run = runs.iter().any(|r| r.fault_run());
        let mut breach = |threshold: &'static str, limit: String, measured: String| {
            breaches.push(Breach {
                label: label.clone(),
                fault_run,
                threshold,
                limit,
                measured,
            });
        };
        let ms = |us: f64| format!("{:.2} ms", us / 1000.0);
        let latency = |q: fn(&crate::load::Latency) -> u64| {
            move |r: &RunResult| r.latency_us.as_ref().map(|l| q(l) as f64)
        };
        // The median over runs, or why there is none: the runs that did not know it.
        let med = |of: &dyn Fn(&RunResult) -> Option<f64>, why: &str| {
            let known: Vec<f64> = runs.iter().filter_map(|r| of(r)).collect();
            let missing = runs.len() - known.len();
            if missing == 0 {
                Ok(median(&known))
            } else {
                Err(format!(
                    "unknown: {why} in {missing} of {} runs",
                    runs.len()
                ))
            }
        };
        for (name, limit, of) in [
            ("p50", t.p50, latency(|l| l.p50)),
            ("p99", t.p99, latency(|l| l.p99)),
            ("p999", t.p999, latency(|l| l.p999)),
        ] {
            if let Some(limit) = limit {
                match med(&of, "no successful request") {
                    Ok(v) if v <= limit.0.as_micros() as f64 => {}
                    Ok(v) => breach(name, limit.to_string(), ms(v)),
                    Err(why) => breach(name, limit.to_string(), why),
                }
            }
        }
        if let Some(limit) = t.task_p99 {
            // Deployments that ran no task have no task latency to hold to it.
            let tasked: Vec<&&RunResult> = runs.iter().filter(|r| r.ran_tasks()).collect();
            if !tasked.is_empty() {
                let known: Vec<f64> = tasked
                    .iter()
                    .filter_map(|r| Metric::TaskP99.of(r))
                    .collect();
                if known.len() < tasked.len() {
                    breach(
                        "task_p99",
                        limit.to_string(),
                        format!(
                            "unknown: task figures unreadable or no task finished in {} of {} runs",
                            tasked.len() - known.len(),
                            tasked.len()
                        ),
                    );
                } else if median(&known) > limit.0.as_micros() as f64 {
                    breach("task_p99", limit.to_string(), ms(median(&known)));
                }
            }
        }
        if let Some(limit) = t.error_rate {
            let errors: u64 = runs.iter().map(|r| r.errors).sum();
            let requests: u64 = runs.iter().map(|r| r.requests).sum();
            if requests == 0 {
                breach(
                    "error_rate",
                    limit.to_string(),
                    "unknown: no request was made".into(),
                );
            } else {
                let rate = errors as f64 / requests as f64;
                if rate > limit.0 {
                    breach(
                        "error_rate",
                        limit.to_string(),
                        format!("{:.3}% ({errors} of {requests})", rate * 100.0),
                    );
                }
            }
        }
        if let Some(limit) = t.pss {
            match med(&|r: &RunResult| Metric::Pss.of(r), "no memory sample") {
                Ok(v) if v <= limit.0 as f64 => {}
                Ok(v) => breach(
                    "pss",
                    limit.to_string(),
                    bytesize::ByteSize(v as u64).display().iec().to_string(),
                ),
                Err(why) => breach("pss", limit.to_string(), why),
            }
        }
        if let Some(limit) = t.lost_tasks {
            let unknown = runs.iter().filter(|r| r.tasks.is_none()).count();
            let worst = runs
                .iter()
                .filter_map(|r| r.tasks.as_ref().map(|t| t.lost))
                .max()
                .unwrap_or(0);
            if unknown > 0 {
                breach(
                    "lost_tasks",
                    limit.0.to_string(),
                    format!(
                        "unknown: task figures unreadable in {unknown} of {} runs",
                        runs.len()
                    ),
                );
            } else if worst > u64::from(limit.0) {
                breach("lost_tasks", limit.0.to_string(), worst.to_string());
            }
        }
    }
    breaches
}
