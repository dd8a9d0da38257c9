//! Judging a candidate results.json against a baseline: per deployment and metric, the
//! change of the median over repetitions with a bootstrap 95% confidence interval, and whether
//! it is a regression beyond the allowed threshold. It reads results files only; nothing is
//! measured here, and it never touches a deployment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;

use crate::results::SCHEMA_VERSION;

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
}

impl Metric {
    /// What `compare` judges when no --metric is given.
    pub const DEFAULT: [Metric; 7] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P99,
        Metric::Pss,
        Metric::TaskP99,
        Metric::Errors,
        Metric::LostTasks,
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
        }
    }

    fn higher_is_better(self) -> bool {
        matches!(self, Metric::Throughput | Metric::TasksPerSecond)
    }

    /// Counts judged by their increase from zero as well as relatively.
    fn is_count(self) -> bool {
        matches!(self, Metric::Errors | Metric::LostTasks)
    }

    /// Where the figure sits in a run of results.json.
    fn path(self) -> &'static [&'static str] {
        match self {
            Metric::Throughput => &["throughput_rps"],
            Metric::P50 => &["latency_us", "p50"],
            Metric::P99 => &["latency_us", "p99"],
            Metric::P999 => &["latency_us", "p999"],
            Metric::Pss => &["pss_bytes", "peak_bytes"],
            Metric::Rss => &["rss_bytes", "peak_bytes"],
            Metric::Cpu => &["cpu", "cores"],
            Metric::TasksPerSecond => &["tasks", "tasks_per_second"],
            Metric::TaskP99 => &["tasks", "enqueue_to_finish_us", "p99"],
            Metric::Errors => &["errors"],
            Metric::LostTasks => &["tasks", "lost"],
        }
    }

    /// The value with its unit, for tables.
    pub fn show(self, v: f64) -> String {
        match self {
            Metric::Throughput | Metric::TasksPerSecond => format!("{v:.1}/s"),
            Metric::P50 | Metric::P99 | Metric::P999 | Metric::TaskP99 => {
                format!("{:.2} ms", v / 1000.0)
            }
            Metric::Pss | Metric::Rss => format!("{:.1} MiB", v / 1048576.0),
            Metric::Cpu => format!("{v:.2}"),
            Metric::Errors | Metric::LostTasks => format!("{v:.0}"),
        }
    }
}

/// A results file that cannot be compared, said plainly (exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadResults(pub String);

impl std::fmt::Display for BadResults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One results file, reduced to what comparing needs: per deployment label, each metric's
/// value in every repetition.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub complete: bool,
    pub scenario: String,
    /// label → metric → one value per repetition, in repetition order.
    pub values: BTreeMap<String, BTreeMap<Metric, Vec<f64>>>,
    /// label → interpreter versions seen.
    pub pythons: BTreeMap<String, Vec<String>>,
}

/// A results.json, or a folder whose runs are pooled from every results.json in it and in its
/// immediate subfolders (one scenario run per repetition, run interleaved with the other side's:
/// what the A/B recipe and the CI workflow do).
pub fn load(path: &Path, metrics: &[Metric]) -> Result<Loaded, BadResults> {
    if !path.is_dir() {
        return load_file(path, metrics);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| BadResults(format!("{}: cannot read it: {e}", path.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .flat_map(|p| {
            if p.is_dir() {
                Some(p.join("results.json")).filter(|f| f.is_file())
            } else {
                Some(p).filter(|f| f.file_name().is_some_and(|n| n == "results.json"))
            }
        })
        .collect();
    files.sort();
    let mut pooled: Option<Loaded> = None;
    for f in &files {
        let one = load_file(f, metrics)?;
        match &mut pooled {
            None => pooled = Some(one),
            Some(all) => {
                if all.scenario != one.scenario {
                    return Err(BadResults(format!(
                        "{}: scenario `{}`, but {} holds `{}`: pool results of one scenario",
                        f.display(),
                        one.scenario,
                        files[0].display(),
                        all.scenario
                    )));
                }
                all.complete &= one.complete;
                for (label, by_metric) in one.values {
                    let into = all.values.entry(label).or_default();
                    for (m, v) in by_metric {
                        into.entry(m).or_default().extend(v);
                    }
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
    Ok(pooled)
}

fn load_file(path: &Path, metrics: &[Metric]) -> Result<Loaded, BadResults> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadResults(format!("{shown}: cannot read it: {e}")))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        BadResults(format!(
            "{shown}:{}:{}: not a results.json: {e}",
            e.line(),
            e.column()
        ))
    })?;
    match doc["schema_version"].as_u64() {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(BadResults(format!(
                "{shown}: results schema version {v}; this djbench reads version \
                 {SCHEMA_VERSION} (rerun the scenario with this djbench, or compare with the \
                 djbench that wrote it)"
            )));
        }
        None => {
            return Err(BadResults(format!(
                "{shown}: no `schema_version`: not a results.json written by djbench"
            )));
        }
    }
    let runs = doc["runs"]
        .as_array()
        .ok_or_else(|| BadResults(format!("{shown}: no `runs` list")))?;
    let mut loaded = Loaded {
        path: path.to_owned(),
        complete: doc["complete"].as_bool().unwrap_or(false),
        scenario: doc["scenario"]["name"].as_str().unwrap_or("?").to_owned(),
        values: BTreeMap::new(),
        pythons: BTreeMap::new(),
    };
    for (i, run) in runs.iter().enumerate() {
        let label = run["label"]
            .as_str()
            .ok_or_else(|| BadResults(format!("{shown}: runs[{i}] has no `label`")))?;
        if run["failure"].is_string() {
            // A run that failed measured nothing comparable; its absence is reported below.
            continue;
        }
        let entry = loaded.values.entry(label.to_owned()).or_default();
        for &m in metrics {
            let mut v = run;
            for key in m.path() {
                v = &v[*key];
            }
            let x = v.as_f64().ok_or_else(|| {
                BadResults(format!(
                    "{shown}: runs[{i}] ({label}) has no number at `{}` (needed for {})",
                    m.path().join("."),
                    m.name()
                ))
            })?;
            entry.entry(m).or_default().push(x);
        }
        if let Some(py) = run["interpreter"]["version"].as_str() {
            let seen = loaded.pythons.entry(label.to_owned()).or_default();
            if !seen.iter().any(|s| s == py) {
                seen.push(py.to_owned());
            }
        }
    }
    if loaded.values.is_empty() {
        return Err(BadResults(format!("{shown}: no run measured anything")));
    }
    Ok(loaded)
}

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

/// A bootstrap 95% interval of the relative change of medians (candidate / baseline − 1),
/// resampling each side's repetitions independently; None with fewer than two repetitions on
/// either side. Seeded: the same files always give the same interval.
pub fn change_interval(base: &[f64], cand: &[f64]) -> Option<(f64, f64)> {
    const RESAMPLES: usize = 4000;
    if base.len() < 2 || cand.len() < 2 {
        return None;
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0x00c0_ffee);
    let mut draw = |v: &[f64]| -> f64 {
        let sample: Vec<f64> = (0..v.len())
            .map(|_| v[rng.random_range(0..v.len())])
            .collect();
        median(&sample)
    };
    let mut changes: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| {
            let (b, c) = (draw(base), draw(cand));
            (b != 0.0).then(|| c / b - 1.0)
        })
        .collect();
    if changes.len() < RESAMPLES / 2 {
        return None;
    }
    changes.sort_by(f64::total_cmp);
    let at = |q: f64| changes[((changes.len() - 1) as f64 * q).round() as usize];
    Some((at(0.025), at(0.975)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No change beyond the threshold, or none that is significant.
    Same,
    Better,
    /// Worse beyond the threshold but not significantly: not a failure.
    WorseNotSignificant,
    /// Worse beyond the threshold and significant (or judged on the threshold alone): fails.
    Regressed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub label: String,
    pub metric: Metric,
    pub baseline: f64,
    pub candidate: f64,
    /// Relative change of the medians; None when the baseline is zero.
    pub change: Option<f64>,
    pub interval: Option<(f64, f64)>,
    pub repetitions: (usize, usize),
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub max_regression: f64,
    pub rows: Vec<Row>,
    /// Things a reader must know before trusting the verdict.
    pub notes: Vec<String>,
}

impl Comparison {
    pub fn failed(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regressed)
    }
}

/// Compares every deployment of the baseline with the candidate's run of the same label.
pub fn compare(
    base: &Loaded,
    cand: &Loaded,
    metrics: &[Metric],
    max_regression: f64,
) -> Result<Comparison, BadResults> {
    let missing: Vec<&str> = base
        .values
        .keys()
        .filter(|l| !cand.values.contains_key(*l))
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
    for label in cand.values.keys().filter(|l| !base.values.contains_key(*l)) {
        notes.push(format!(
            "`{label}` is only in the candidate: nothing to compare"
        ));
    }
    let mut single = false;
    let mut rows = Vec::new();
    for (label, by_metric) in &base.values {
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
            let b = &by_metric[&m];
            let c = &cand.values[label][&m];
            let (bm, cm) = (median(b), median(c));
            // A deployment without background tasks has no task figures to judge.
            if matches!(m, Metric::TaskP99 | Metric::TasksPerSecond) && bm == 0.0 && cm == 0.0 {
                continue;
            }
            let change = (bm != 0.0).then(|| cm / bm - 1.0);
            let interval = change_interval(b, c);
            single |= interval.is_none();
            // Worse is a positive number for every metric.
            let worse = |x: f64| if m.higher_is_better() { -x } else { x };
            let verdict = match change {
                None if m.is_count() && cm > 0.0 => Verdict::Regressed,
                None => Verdict::Same,
                Some(ch) => {
                    let significant = interval.is_none_or(|(lo, hi)| lo > 0.0 || hi < 0.0);
                    if worse(ch) > max_regression {
                        if significant {
                            Verdict::Regressed
                        } else {
                            Verdict::WorseNotSignificant
                        }
                    } else if worse(ch) < -max_regression && significant {
                        Verdict::Better
                    } else {
                        Verdict::Same
                    }
                }
            };
            rows.push(Row {
                label: label.clone(),
                metric: m,
                baseline: bm,
                candidate: cm,
                change,
                interval,
                repetitions: (b.len(), c.len()),
                verdict,
            });
        }
    }
    if single {
        notes.push(
            "some deployments have a single repetition on a side: no confidence interval, so \
             the threshold alone decides there (run more repetitions for significance)"
                .into(),
        );
    }
    Ok(Comparison {
        max_regression,
        rows,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_shift_has_an_interval_that_excludes_zero() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5];
        let cand = [120.0, 121.0, 119.0, 120.5, 119.5];
        let (lo, hi) = change_interval(&base, &cand).unwrap();
        assert!(lo > 0.15 && hi < 0.25, "{lo} {hi}");
    }

    #[test]
    fn overlapping_samples_give_an_interval_around_zero() {
        let base = [100.0, 110.0, 90.0, 105.0, 95.0];
        let cand = [104.0, 96.0, 108.0, 92.0, 101.0];
        let (lo, hi) = change_interval(&base, &cand).unwrap();
        assert!(lo < 0.0 && hi > 0.0, "{lo} {hi}");
    }

    #[test]
    fn one_repetition_has_no_interval() {
        assert_eq!(change_interval(&[1.0], &[2.0, 3.0]), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}

/// A scenario's absolute limit that a deployment broke.
#[derive(Debug, Clone, Serialize)]
pub struct Breach {
    pub label: String,
    pub threshold: &'static str,
    pub limit: String,
    pub measured: String,
}

/// Checks the scenario's `thresholds:` (embedded in the results) on every deployment:
/// latencies, ΣPSS and task p99 on the median over repetitions; the error rate over all
/// requests of all repetitions; lost tasks in the worst repetition.
pub fn thresholds(doc: &Value) -> Result<Vec<Breach>, BadResults> {
    use crate::scenario::model::Thresholds;
    let t: Thresholds = serde_json::from_value(doc["scenario"]["thresholds"].clone())
        .map_err(|e| BadResults(format!("the scenario's thresholds: {e}")))?;
    let by_label = crate::results::by_deployment(doc);
    let mut breaches = Vec::new();
    // A deployment whose every run failed measured nothing to hold to a limit.
    for (label, runs) in by_label.iter().filter(|(_, runs)| !runs.is_empty()) {
        let med = |path: &[&str]| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| path.iter().fold(*r, |v, k| &v[*k]).as_f64())
                .collect();
            median(&v)
        };
        let mut breach = |threshold: &'static str, limit: String, measured: String| {
            breaches.push(Breach {
                label: label.clone(),
                threshold,
                limit,
                measured,
            });
        };
        let ms = |us: f64| format!("{:.2} ms", us / 1000.0);
        for (name, limit, path) in [
            ("p50", t.p50, &["latency_us", "p50"][..]),
            ("p99", t.p99, &["latency_us", "p99"][..]),
            ("p999", t.p999, &["latency_us", "p999"][..]),
            (
                "task_p99",
                t.task_p99,
                &["tasks", "enqueue_to_finish_us", "p99"][..],
            ),
        ] {
            if let Some(limit) = limit {
                let v = med(path);
                if v > limit.0.as_micros() as f64 {
                    breach(name, limit.to_string(), ms(v));
                }
            }
        }
        if let Some(limit) = t.error_rate {
            let sum = |k: &str| runs.iter().filter_map(|r| r[k].as_u64()).sum::<u64>();
            let (errors, requests) = (sum("errors"), sum("requests"));
            let rate = if requests == 0 {
                1.0
            } else {
                errors as f64 / requests as f64
            };
            if rate > limit.0 {
                breach(
                    "error_rate",
                    limit.to_string(),
                    format!("{:.3}% ({errors} of {requests})", rate * 100.0),
                );
            }
        }
        if let Some(limit) = t.pss {
            let v = med(&["pss_bytes", "peak_bytes"]);
            if v > limit.0 as f64 {
                breach(
                    "pss",
                    limit.to_string(),
                    bytesize::ByteSize(v as u64).display().iec().to_string(),
                );
            }
        }
        if let Some(limit) = t.lost_tasks {
            let worst = runs
                .iter()
                .filter_map(|r| r["tasks"]["lost"].as_u64())
                .max()
                .unwrap_or(0);
            if worst > u64::from(limit.0) {
                breach("lost_tasks", limit.0.to_string(), worst.to_string());
            }
        }
    }
    Ok(breaches)
}
