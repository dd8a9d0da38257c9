//! Judging a candidate results.json against a baseline: per deployment and metric, the
//! change of the median over repetitions with a bootstrap 95% confidence interval, and whether
//! it is a regression beyond the allowed threshold; and checking a scenario's absolute
//! `thresholds:` on one results document. It reads the typed results model (`results::read`)
//! only; nothing is measured here, it never touches a deployment, and it never writes results.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use serde::Serialize;

pub use crate::results::BadResults;
use crate::results::{Results, RunResult};
use crate::scenario::model::Thresholds;

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

/// One results file, reduced to what comparing needs: per deployment label, each metric's
/// value in every repetition.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub complete: bool,
    pub scenario: String,
    /// label → metric → the known value of every repetition, in repetition order.
    pub values: BTreeMap<String, BTreeMap<Metric, Vec<f64>>>,
    /// label → metric → how many repetitions did not know it (None in results.json).
    pub unknown: BTreeMap<String, BTreeMap<Metric, usize>>,
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
                for (label, by_metric) in one.unknown {
                    let into = all.unknown.entry(label).or_default();
                    for (m, n) in by_metric {
                        *into.entry(m).or_default() += n;
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
    let doc = crate::results::read(path)?;
    let mut loaded = Loaded {
        path: path.to_owned(),
        complete: doc.complete,
        scenario: doc.name().to_owned(),
        values: BTreeMap::new(),
        unknown: BTreeMap::new(),
        pythons: BTreeMap::new(),
    };
    for run in &doc.runs {
        if run.failure.is_some() {
            // A run that failed measured nothing comparable; its absence is reported below.
            continue;
        }
        let label = &run.label;
        let entry = loaded.values.entry(label.clone()).or_default();
        for &m in metrics {
            let known = entry.entry(m).or_default();
            match m.of(run) {
                Some(x) => known.push(x),
                None => {
                    *loaded
                        .unknown
                        .entry(label.clone())
                        .or_default()
                        .entry(m)
                        .or_default() += 1;
                }
            }
        }
        let py = &run.interpreter.version;
        let seen = loaded.pythons.entry(label.clone()).or_default();
        if !seen.contains(py) {
            seen.push(py.clone());
        }
    }
    if loaded.values.is_empty() {
        return Err(BadResults(format!(
            "{}: no run measured anything",
            path.display()
        )));
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
    /// The median over the side's known values; None when no repetition knew it.
    pub baseline: Option<f64>,
    pub candidate: Option<f64>,
    /// Relative change of the medians; None when the baseline is zero or a side is unknown.
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
            let none = Vec::new();
            let b = by_metric.get(&m).unwrap_or(&none);
            let c = cand.values[label].get(&m).unwrap_or(&none);
            let unknown = |l: &Loaded| l.unknown.get(label).and_then(|u| u.get(&m)).copied();
            let (bu, cu) = (unknown(base).unwrap_or(0), unknown(cand).unwrap_or(0));
            if (bu > 0 || cu > 0) && !(b.is_empty() && c.is_empty()) {
                notes.push(format!(
                    "`{label}` {}: unknown in {bu} baseline and {cu} candidate repetitions; \
                     judged on the known ones, and an unknown candidate fails",
                    m.name()
                ));
            }
            // Known on one side only: an unknown candidate cannot be vouched for.
            if b.is_empty() || c.is_empty() {
                if b.is_empty() && c.is_empty() {
                    continue;
                }
                rows.push(Row {
                    label: label.clone(),
                    metric: m,
                    baseline: (!b.is_empty()).then(|| median(b)),
                    candidate: (!c.is_empty()).then(|| median(c)),
                    change: None,
                    interval: None,
                    repetitions: (b.len(), c.len()),
                    verdict: if c.is_empty() {
                        Verdict::Regressed
                    } else {
                        Verdict::Same
                    },
                });
                continue;
            }
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
                baseline: Some(bm),
                candidate: Some(cm),
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

    #[test]
    fn an_unknown_candidate_figure_regresses_and_an_unknown_baseline_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let save = |name: &str, runs: Vec<RunResult>| {
            let d = dir.path().join(name);
            crate::results::write(&d, &results("", runs)).unwrap();
            load(&d.join("results.json"), &[Metric::P99, Metric::LostTasks]).unwrap()
        };
        let known = save("known", vec![run("a", 1, 100.0, 2000)]);
        let mut unknown_run = all_failed(run("a", 1, 100.0, 2000));
        unknown_run.tasks = None;
        let unknown = save("unknown", vec![unknown_run]);
        let c = compare(&known, &unknown, &[Metric::P99, Metric::LostTasks], 0.05).unwrap();
        assert_eq!(c.rows.len(), 2);
        for r in &c.rows {
            assert_eq!(
                (r.candidate, r.verdict),
                (None, Verdict::Regressed),
                "{r:?}"
            );
        }
        let c = compare(&unknown, &known, &[Metric::P99], 0.05).unwrap();
        assert_eq!(
            (c.rows[0].baseline, c.rows[0].verdict),
            (None, Verdict::Same)
        );
        assert!(
            c.notes.iter().any(|n| n.contains("unknown in 1 baseline")),
            "{:?}",
            c.notes
        );
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
    // A deployment whose every run failed measured nothing to hold to a limit.
    for (label, runs) in doc
        .by_deployment()
        .iter()
        .filter(|(_, runs)| !runs.is_empty())
    {
        let mut breach = |threshold: &'static str, limit: String, measured: String| {
            breaches.push(Breach {
                label: label.clone(),
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
