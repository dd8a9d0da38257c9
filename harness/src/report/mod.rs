//! What people read after a run, built from results.json alone (the typed `results::Results`,
//! never JSON key paths): report.html (html.rs, with SVG charts from svg.rs) and summary.md,
//! the headline table (one row per deployment, medians over repetitions with their spread, an
//! unknown figure as "—" and never best) and the warnings, fit for a pull-request comment and
//! for the terminal; a capacity search's answer (`results::Capacity`) ahead of them, and in
//! its place when the runs measured no load of their own; and the bmf and seconds.csv exports. It re-reads what was measured; it
//! never measures, and never changes results.json. It judges nothing itself: which value is
//! best (one `stats::best` call over the whole table) and how noisy a figure is (`stats::cv`)
//! come from `stats`, the only module that judges.

use std::fmt::Write as _;
use std::path::Path;

use crate::capacity::{Capacity, Searched};
use crate::load::LoadReport;
use crate::results::{Results, RunResult};
use crate::stats::{self, Best, Contest, Direction};

mod faults;
mod html;
mod scaling;
mod svg;

pub use html::html;
/// The colours of deployments and of roles, shared with the live view.
pub use svg::{PALETTE, ROLE_COLORS};

/// A deployment's measured runs, as `Results::by_deployment` gives them.
type Deployments<'a> = [(String, Vec<&'a RunResult>)];

/// What a cell shows when its figure is unknown (None in results.json).
const UNKNOWN: &str = "—";

/// One column of the headline table.
struct Column {
    title: &'static str,
    /// How warnings name it.
    name: &'static str,
    /// The figure in one run; None when the run did not know it.
    value: fn(&RunResult) -> Option<f64>,
    /// A background-task figure: meaningful only for deployments that ran tasks.
    task: bool,
    /// Which way is better; None: not ranked.
    rank: Option<Direction>,
    /// Whether a spread across repetitions above `stats::CV_WARN` is warned about. Not for
    /// failure counts (a count of rare events is noisy by nature, and every failure is warned
    /// about run by run) nor for the fairness diagnostics (near 0, where a CV means nothing).
    warn_spread: bool,
    show: fn(f64) -> String,
}

fn ms(v: f64) -> String {
    format!("{:.2}", v / 1000.0)
}

fn mib(v: f64) -> String {
    format!("{:.0}", v / 1048576.0)
}

fn latency(r: &RunResult, q: fn(&crate::load::Latency) -> u64) -> Option<f64> {
    r.latency_us.as_ref().map(|l| q(l) as f64)
}

fn task_latency(r: &RunResult, q: fn(&crate::load::Latency) -> u64) -> Option<f64> {
    r.tasks
        .as_ref()
        .and_then(|t| t.enqueue_to_finish_us.as_ref())
        .map(|l| q(l) as f64)
}

const HIGHER: Option<Direction> = Some(Direction::HigherIsBetter);
const LOWER: Option<Direction> = Some(Direction::LowerIsBetter);

const COLUMNS: &[Column] = &[
    Column {
        title: "goodput req/s",
        name: "goodput",
        value: |r| Some(r.throughput_rps),
        task: false,
        rank: HIGHER,
        warn_spread: true,
        show: |v| format!("{v:.0}"),
    },
    Column {
        title: "error rate",
        name: "error rate",
        value: |r| r.error_rate,
        task: false,
        rank: LOWER,
        warn_spread: false,
        show: |v| {
            if v == 0.0 {
                "0%".to_owned()
            } else {
                format!("{:.2}%", v * 100.0)
            }
        },
    },
    Column {
        title: "p50 ms",
        name: "p50",
        value: |r| latency(r, |l| l.p50),
        task: false,
        rank: LOWER,
        warn_spread: true,
        show: ms,
    },
    Column {
        title: "p99 ms",
        name: "p99",
        value: |r| latency(r, |l| l.p99),
        task: false,
        rank: LOWER,
        warn_spread: true,
        show: ms,
    },
    Column {
        title: "p99.9 ms",
        name: "p99.9",
        value: |r| latency(r, |l| l.p999),
        task: false,
        rank: LOWER,
        warn_spread: true,
        show: ms,
    },
    Column {
        title: "errors",
        name: "errors",
        value: |r| Some(r.errors as f64),
        task: false,
        rank: LOWER,
        warn_spread: false,
        show: |v| format!("{v:.0}"),
    },
    Column {
        title: "ΣPSS peak MiB",
        name: "ΣPSS peak",
        value: |r| r.pss_bytes.map(|m| m.peak_bytes as f64),
        task: false,
        rank: LOWER,
        warn_spread: true,
        show: mib,
    },
    Column {
        title: "ΣPSS mean MiB",
        name: "ΣPSS mean",
        value: |r| r.pss_bytes.map(|m| m.mean_bytes as f64),
        task: false,
        rank: LOWER,
        warn_spread: true,
        show: mib,
    },
    Column {
        title: "ΣRSS peak MiB",
        name: "ΣRSS peak",
        value: |r| r.rss_bytes.map(|m| m.peak_bytes as f64),
        task: false,
        rank: LOWER,
        warn_spread: true,
        show: mib,
    },
    Column {
        title: "CPU cores",
        name: "CPU",
        value: |r| r.cpu.as_ref().map(|c| c.cores),
        task: false,
        rank: None,
        warn_spread: true,
        show: |v| format!("{v:.2}"),
    },
    Column {
        title: "conn/req",
        name: "conn/req",
        value: |r| r.connections_per_request,
        task: false,
        rank: None,
        warn_spread: false,
        show: |v| format!("{v:.2}"),
    },
    Column {
        title: "worker spread %",
        name: "worker spread",
        value: |r| r.workers.as_ref().map(|w| w.max_deviation),
        task: false,
        rank: None,
        warn_spread: false,
        show: |v| format!("{:.0}", v * 100.0),
    },
    Column {
        title: "harness % of machine",
        name: "harness share",
        value: |r| r.harness.as_ref().map(|h| h.share_of_machine),
        task: false,
        rank: None,
        warn_spread: false,
        show: |v| format!("{:.1}", v * 100.0),
    },
    Column {
        title: "tasks/s",
        name: "tasks/s",
        value: |r| r.tasks.as_ref().map(|t| t.tasks_per_second),
        task: true,
        rank: None,
        warn_spread: true,
        show: |v| format!("{v:.1}"),
    },
    Column {
        title: "task p50 ms",
        name: "task p50",
        value: |r| task_latency(r, |l| l.p50),
        task: true,
        rank: LOWER,
        warn_spread: true,
        show: ms,
    },
    Column {
        title: "task p99 ms",
        name: "task p99",
        value: |r| task_latency(r, |l| l.p99),
        task: true,
        rank: LOWER,
        warn_spread: true,
        show: ms,
    },
    Column {
        title: "lost tasks",
        name: "lost tasks",
        value: |r| r.tasks.as_ref().map(|t| t.lost as f64),
        task: true,
        rank: LOWER,
        warn_spread: false,
        show: |v| format!("{v:.0}"),
    },
];

/// A capacity search's document: deployments searched, and no run with a load of its own (each
/// run holds its deployment's facts only, its load figures zero or unknown because nothing was
/// measured). Its headline table, loads and run charts would be a wall of unknowns, so they are
/// left out. A document of measured runs without a `load` (older tests, hand-built ones) is
/// not one.
fn capacity_only(doc: &Results) -> bool {
    !doc.capacity.is_empty() && doc.runs.iter().all(|r| r.load.is_none())
}

/// A number in words: up to three decimals, no trailing zeros (50, 0.5, 2.5).
fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A rate in req/s with one decimal, or [`UNKNOWN`].
fn rps(v: Option<f64>) -> String {
    v.map_or(UNKNOWN.to_owned(), |v| format!("{v:.1}"))
}

/// The SLO and how it was searched for, in words.
fn searched_text(s: &Searched) -> String {
    let m = &s.method;
    format!(
        "p99 ≤ {} ms, error rate ≤ {}%, completed ≥ {}% of the offered rate; from {} req/s, \
         doubling up to at most {} req/s, then bisected until the first failing load is within \
         {}% of the last passing one; a load near the boundary passes when {} of {} trials \
         pass; each trial {} s of warm-up, then a {} s window{}",
        num(s.slo.p99_us as f64 / 1000.0),
        num(s.slo.max_error_rate * 100.0),
        num(s.slo.min_completed * 100.0),
        num(m.start_rps),
        num(m.max_rps),
        num(m.tolerance * 100.0),
        m.passes,
        m.trials,
        num(s.warmup_seconds),
        num(s.window_seconds),
        if s.max_interference < 1.0 {
            format!(
                ", run again when other programs or the hypervisor took more than {}% of the \
                 machine's cores",
                num(s.max_interference * 100.0)
            )
        } else {
            String::new()
        },
    )
}

/// The SLO of a capacity document: one line when every deployment was searched alike, else one
/// per deployment.
fn searched_lines(doc: &Results) -> Vec<String> {
    let Some(first) = doc.capacity.first() else {
        return Vec::new();
    };
    if doc.capacity.iter().all(|c| c.searched == first.searched) {
        vec![format!("SLO: {}.", searched_text(&first.searched))]
    } else {
        doc.capacity
            .iter()
            .map(|c| format!("{}: SLO {}.", c.label, searched_text(&c.searched)))
            .collect()
    }
}

/// One deployment's capacity as both reports show it, every figure a string ([`UNKNOWN`] when
/// it is not known). The figures "at capacity" are those of `Capacity::at_capacity`'s trial,
/// so they exist only where the search converged.
struct CapacityRow {
    capacity: String,
    passes: String,
    fails: String,
    /// (first failing − last passing) ÷ last passing: how far the capacity may lie above the
    /// figure given.
    gap: String,
    p99_ms: String,
    cpu: String,
    pss_mib: String,
    per_core: String,
    per_gib: String,
    /// The trials, with how many of them other programs disturbed.
    trials: String,
    /// The machine's calibration speed around the search, and how far it moved.
    machine: String,
    search_seconds: String,
    ready_seconds: String,
    /// How the search ended, or why the deployment was never searched.
    ended: String,
}

impl CapacityRow {
    fn of(c: &Capacity) -> Self {
        let at = c.at_capacity();
        let (per_core, per_gib) = c.per_core_and_gib();
        let gap = match (c.last_pass_rps, c.first_fail_rps) {
            (Some(p), Some(f)) if p > 0.0 => format!("{:.1}%", (f - p) / p * 100.0),
            _ => UNKNOWN.to_owned(),
        };
        Self {
            capacity: rps(c.capacity_rps),
            passes: rps(c.last_pass_rps),
            fails: rps(c.first_fail_rps),
            gap,
            p99_ms: at
                .and_then(|t| t.latency_us)
                .map_or(UNKNOWN.to_owned(), |l| ms(l.p99 as f64)),
            cpu: at
                .and_then(|t| t.cpu_cores)
                .map_or(UNKNOWN.to_owned(), |c| format!("{c:.2}")),
            pss_mib: at
                .and_then(|t| t.pss_peak_bytes)
                .map_or(UNKNOWN.to_owned(), |b| mib(b as f64)),
            per_core: rps(per_core),
            per_gib: per_gib.map_or(UNKNOWN.to_owned(), |v| format!("{v:.0}")),
            trials: match c
                .trials
                .iter()
                .filter(|t| t.verdict == crate::capacity::Verdict::Disturbed)
                .count()
            {
                0 => c.trials.len().to_string(),
                d => format!("{} ({d} disturbed)", c.trials.len()),
            },
            machine: c.calibration.map_or(UNKNOWN.to_owned(), |k| {
                format!(
                    "{:.0} (moved {:.0}%)",
                    k.units_per_second(),
                    k.drift() * 100.0
                )
            }),
            search_seconds: format!("{:.0}", c.search_seconds),
            ready_seconds: c
                .ready_seconds
                .map_or(UNKNOWN.to_owned(), |s| format!("{s:.1}")),
            ended: match &c.failure {
                Some(f) => format!("not searched: {f}"),
                None => c.end.describe(),
            },
        }
    }
}

/// Warnings about the machine the capacities were measured on: a search during which its
/// speed moved, and deployments searched on machines of different speed (their rows then
/// differ by more than their labels).
fn machine_warnings(doc: &Results) -> Vec<String> {
    use crate::host::{MAX_DRIFT, relative_gap};
    let mut out = Vec::new();
    let speeds: Vec<(&str, f64)> = doc
        .capacity
        .iter()
        .filter_map(|c| {
            c.calibration
                .map(|k| (c.label.as_str(), k.units_per_second()))
        })
        .collect();
    for c in &doc.capacity {
        if let Some(moved) = c.calibration.and_then(|k| k.moved()) {
            out.push(format!("{}: {moved}.", c.label));
        }
    }
    let slowest = speeds.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let fastest = speeds.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    if let (Some(lo), Some(hi)) = (slowest, fastest)
        && relative_gap(lo.1, hi.1) > MAX_DRIFT
    {
        out.push(format!(
            "The machine ran {:.0}% slower for {} ({:.0} units/s) than for {} ({:.0}): these \
             capacities were measured on machines of different speed.",
            relative_gap(lo.1, hi.1) * 100.0,
            lo.0,
            lo.1,
            hi.0,
            hi.1
        ));
    }
    out
}

/// summary.md's capacity section: the SLO, then a row per deployment.
fn capacity_md(out: &mut String, doc: &Results) {
    out.push_str("## Capacity under the SLO\n\n");
    for line in searched_lines(doc) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\nCapacity: the last passing load once the search converged ({UNKNOWN} otherwise; the \
         bounds say what is known); gap: how far above it the first failing load lay. The \
         figures \"there\" are the last passing trial's at the capacity.\n"
    );
    out.push_str(
        "| deployment | capacity req/s | passes at | fails at | gap | p99 ms there | req/s per \
         core | req/s per GiB ΣPSS | machine speed | search |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for c in &doc.capacity {
        let r = CapacityRow::of(c);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {}; {} trials in {} s |",
            c.label.replace('|', "\\|"),
            r.capacity,
            r.passes,
            r.fails,
            r.gap,
            r.p99_ms,
            r.per_core,
            r.per_gib,
            r.machine,
            r.ended.replace('|', "\\|"),
            r.trials,
            r.search_seconds
        );
    }
    let _ = writeln!(
        out,
        "\nMachine speed: djbench's fixed calibration workload on every core, in units/s, \
         around each search (the mean of before and after, and how far it moved); other \
         programs' CPU and the hypervisor's steal are measured in every trial, and a trial \
         they disturbed is run again."
    );
    for w in machine_warnings(doc) {
        let _ = writeln!(out, "\n**Warning:** {w}");
    }
    out.push('\n');
}

/// The median over runs of a figure; None when no run knows it.
fn median_of(runs: &[&RunResult], value: impl Fn(&RunResult) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = runs.iter().filter_map(|r| value(r)).collect();
    stats::median(&v)
}

/// What one cell of the headline table holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    /// A run of the deployment could not read its task figures: "unknown".
    TasksUnknown,
    /// A task figure of a deployment that ran no tasks: "-".
    NoTasks,
    /// No repetition knows the figure: [`UNKNOWN`].
    Unknown,
    /// The median over repetitions, the coefficient of variation across them (None with one
    /// repetition, or a mean of 0), and whether it is the column's best.
    Value {
        median: f64,
        cv: Option<f64>,
        best: bool,
    },
}

/// One ranked column within one interpreter group, and its verdict.
struct Ranked {
    column: usize,
    /// The deployments it ranked; `stats::Best`'s indices are into this.
    members: Vec<usize>,
    best: Best,
}

/// The headline table, computed once for summary.md, report.html and the warnings: every
/// deployment's values of every column, and the single `stats::best` call over all its
/// contests (one per ranked column × interpreter group).
struct Table {
    /// `values[d][i]`: deployment d's known values of column i, one per measured repetition.
    values: Vec<Vec<Vec<f64>>>,
    with_tasks: Vec<bool>,
    unknown_tasks: Vec<bool>,
    /// The columns worth a place.
    shown: Vec<usize>,
    ranked: Vec<Ranked>,
    /// Fewest and most measured repetitions of a deployment that has any.
    reps: (usize, usize),
}

impl Table {
    fn of(deployments: &Deployments<'_>) -> Self {
        let values: Vec<Vec<Vec<f64>>> = deployments
            .iter()
            .map(|(_, rs)| {
                COLUMNS
                    .iter()
                    .map(|c| rs.iter().filter_map(|r| (c.value)(r)).collect())
                    .collect()
            })
            .collect();
        let with_tasks = ran_tasks(deployments);
        let unknown_tasks = tasks_unknown(deployments);
        let shown = shown_columns(&with_tasks);
        let group = groups(deployments);
        // A task column compares only deployments that ran tasks and know their figures.
        let comparable =
            |d: usize, i: usize| !is_task_column(i) || (with_tasks[d] && !unknown_tasks[d]);
        let mut contests: Vec<(usize, Vec<usize>, Direction)> = Vec::new();
        for &i in &shown {
            let Some(direction) = COLUMNS[i].rank else {
                continue;
            };
            for g in 0..=group.iter().copied().max().unwrap_or(0) {
                let members: Vec<usize> = (0..deployments.len())
                    .filter(|&d| group[d] == g && comparable(d, i))
                    .collect();
                if members.len() >= 2 {
                    contests.push((i, members, direction));
                }
            }
        }
        let samples: Vec<Vec<&[f64]>> = contests
            .iter()
            .map(|(i, members, _)| members.iter().map(|&d| values[d][*i].as_slice()).collect())
            .collect();
        let family: Vec<Contest<'_>> = contests
            .iter()
            .zip(&samples)
            .map(|((_, _, direction), s)| Contest {
                samples: s,
                direction: *direction,
            })
            .collect();
        let verdicts = stats::best(&family, stats::ALPHA);
        let ranked = contests
            .into_iter()
            .zip(verdicts)
            .map(|((column, members, _), best)| Ranked {
                column,
                members,
                best,
            })
            .collect();
        let counts: Vec<usize> = deployments
            .iter()
            .map(|(_, rs)| rs.len())
            .filter(|&n| n > 0)
            .collect();
        let reps = (
            counts.iter().copied().min().unwrap_or(0),
            counts.iter().copied().max().unwrap_or(0),
        );
        Table {
            values,
            with_tasks,
            unknown_tasks,
            shown,
            ranked,
            reps,
        }
    }

    /// The deployment that won column `i`, for each contest of it that has a winner.
    fn is_best(&self, d: usize, i: usize) -> bool {
        self.ranked
            .iter()
            .any(|r| r.column == i && r.best.winner().map(|w| r.members[w]) == Some(d))
    }

    fn cell(&self, d: usize, i: usize) -> Cell {
        if is_task_column(i) && self.unknown_tasks[d] {
            return Cell::TasksUnknown;
        }
        if is_task_column(i) && !self.with_tasks[d] {
            return Cell::NoTasks;
        }
        let v = &self.values[d][i];
        match stats::median(v) {
            None => Cell::Unknown,
            Some(median) => Cell::Value {
                median,
                cv: stats::cv(v),
                best: self.is_best(d, i),
            },
        }
    }

    /// "Medians over 3 repetitions per deployment" (or "3–5 repetitions" when some failed).
    fn medians_over(&self) -> String {
        let (lo, hi) = self.reps;
        let n = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}–{hi}")
        };
        format!(
            "Medians over {n} repetition{} per deployment",
            if hi == 1 { "" } else { "s" }
        )
    }

    /// What the spread beside a median is (`how`: how a noisy one looks, if it does);
    /// empty with one repetition.
    fn spread_text(&self, how: &str) -> String {
        if self.reps.1 < 2 {
            return String::new();
        }
        format!(
            ", ± the spread across them (coefficient of variation, sd ÷ mean{how}; the warnings \
             name each above {:.0}%)",
            stats::CV_WARN * 100.0
        )
    }

    /// What the table's marks mean (`mark`: "**bold**" or "highlighted"), or why none is
    /// marked.
    fn best_text(&self, mark: &str) -> String {
        let (lo, hi) = self.reps;
        let n = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}–{hi}")
        };
        let short = self
            .ranked
            .iter()
            .any(|r| matches!(r.best, Best::NotEnoughRepetitions { .. }));
        let contested = self
            .ranked
            .iter()
            .any(|r| !matches!(r.best, Best::NoContest));
        if hi < stats::MIN_REPETITIONS {
            format!(
                "no best is marked: {n} repetition{} per deployment, {} needed to call a \
                 difference",
                if hi == 1 { "" } else { "s" },
                stats::MIN_REPETITIONS
            )
        } else if !contested {
            "no best is marked: no two deployments of one interpreter measured a ranked figure"
                .to_owned()
        } else {
            format!(
                "{mark}: the best of its column among deployments of one interpreter, only when \
                 its lead over the runner-up is significant (Welch's t on logarithms, \
                 Holm-corrected over the table, α {}) and larger than {:.0}%{}",
                stats::ALPHA,
                stats::MIN_EFFECT * 100.0,
                if short {
                    format!(
                        "; none where the leader or the runner-up has fewer than {} measured \
                         repetitions",
                        stats::MIN_REPETITIONS
                    )
                } else {
                    String::new()
                }
            )
        }
    }

    /// One line per winner: its lead over the runner-up, with the test's interval and p.
    fn leads(&self, deployments: &Deployments<'_>) -> Vec<String> {
        self.ranked
            .iter()
            .filter_map(|r| {
                let Best::Winner {
                    index,
                    runner_up,
                    difference,
                } = r.best
                else {
                    return None;
                };
                let pct = |x: f64| format!("{:+.1}%", x * 100.0);
                let change = difference.change.map_or(UNKNOWN.to_owned(), pct);
                let interval = difference.interval.map_or(String::new(), |(lo, hi)| {
                    format!(" (95% interval {} … {})", pct(lo), pct(hi))
                });
                Some(format!(
                    "{}: {} against {}, {change}{interval}, p {:.2e}",
                    COLUMNS[r.column].title,
                    deployments[r.members[index]].0,
                    deployments[r.members[runner_up]].0,
                    difference.p
                ))
            })
            .collect()
    }

    /// Per deployment, the figures whose spread across repetitions is above `CV_WARN`.
    fn noisy(&self, d: usize) -> Vec<(usize, f64)> {
        (0..COLUMNS.len())
            .filter(|&i| COLUMNS[i].warn_spread)
            .filter_map(|i| match self.cell(d, i) {
                Cell::Value { cv: Some(cv), .. } if cv > stats::CV_WARN => Some((i, cv)),
                _ => None,
            })
            .collect()
    }
}

/// `341 ±4%`: a value and its spread, for summary.md.
fn with_spread(text: String, cv: Option<f64>) -> String {
    match cv {
        Some(cv) => format!("{text} ±{}", percent(cv)),
        None => text,
    }
}

/// A coefficient of variation above `CV_WARN`, with a decimal where whole percent would
/// read as the threshold itself (10.04% as "10.0%", not "10%").
fn above_warn(cv: f64) -> String {
    if (cv * 100.0).round() <= stats::CV_WARN * 100.0 {
        format!("{:.1}%", cv * 100.0)
    } else {
        percent(cv)
    }
}

/// A coefficient of variation in whole percent, or one decimal below 1%.
fn percent(cv: f64) -> String {
    if cv < 0.01 && cv > 0.0 {
        format!("{:.1}%", cv * 100.0)
    } else {
        format!("{:.0}%", cv * 100.0)
    }
}

/// Whether each deployment ran background tasks (its task columns mean something); a run
/// whose task figures are unknown may have.
fn ran_tasks(deployments: &Deployments<'_>) -> Vec<bool> {
    deployments
        .iter()
        .map(|(_, runs)| runs.iter().any(|r| r.ran_tasks()))
        .collect()
}

/// Whether some run of each deployment could not read its task figures.
fn tasks_unknown(deployments: &Deployments<'_>) -> Vec<bool> {
    deployments
        .iter()
        .map(|(_, runs)| runs.iter().any(|r| r.tasks.is_none()))
        .collect()
}

fn is_task_column(i: usize) -> bool {
    COLUMNS[i].task
}

/// The columns worth a place: task columns only when some deployment ran tasks.
fn shown_columns(with_tasks: &[bool]) -> Vec<usize> {
    (0..COLUMNS.len())
        .filter(|&i| !is_task_column(i) || with_tasks.iter().any(|&t| t))
        .collect()
}

/// The interpreter version and the GIL state observed in a deployment's first run.
fn python_and_gil<'a>(runs: &[&'a RunResult]) -> (&'a str, &'static str) {
    let first = runs.first();
    let python = first.map_or("-", |r| r.interpreter.version.as_str());
    let gil = match first.and_then(|r| r.interpreter.gil_enabled) {
        Some(true) => "on",
        Some(false) => "off",
        None => "-",
    };
    (python, gil)
}

/// The HTTP server (with its version) and the serving shape of a deployment's first run.
fn serving_of(runs: &[&RunResult]) -> (String, String) {
    let first = runs.first();
    let server = first.and_then(|r| r.server.as_deref()).unwrap_or("-");
    let server = match first.and_then(|r| r.server_version.as_deref()) {
        Some(v) => format!("{server} {v}"),
        None => server.to_owned(),
    };
    let shape = first
        .and_then(|r| r.serving_shape.as_deref())
        .unwrap_or("-")
        .to_owned();
    (server, shape)
}

/// The build options of a run's interpreter that can change its speed.
fn build_options(r: &RunResult) -> Vec<String> {
    crate::provision::python::speed_options(r.interpreter.config_args.as_deref().unwrap_or(""))
}

/// Which interpreter a deployment ran, up to its GIL: the version and the build options. Two
/// deployments are ranked against each other only when this is equal, so that a row differs
/// from the next only in what its label says.
fn interpreter_group(runs: &[&RunResult]) -> Option<(String, Vec<String>)> {
    let r = runs.first()?;
    Some((r.interpreter.version.clone(), build_options(r)))
}

/// The deployments' interpreter groups, as indices into the first-seen groups.
fn groups(deployments: &Deployments<'_>) -> Vec<usize> {
    let mut seen: Vec<Option<(String, Vec<String>)>> = Vec::new();
    deployments
        .iter()
        .map(|(_, runs)| {
            let g = interpreter_group(runs);
            match seen.iter().position(|s| *s == g) {
                Some(i) => i,
                None => {
                    seen.push(g);
                    seen.len() - 1
                }
            }
        })
        .collect()
}

/// What a reader must know about the interpreters before reading the table across rows:
/// which rows share one, the GIL's own effect where a deployment has its GIL twin, and that
/// rows of different interpreters are not ranked against each other.
pub fn interpreter_notes(doc: &Results) -> Vec<String> {
    let deployments = doc.by_deployment();
    let group = groups(&deployments);
    let count = group.iter().max().map_or(0, |m| m + 1);
    let mut notes = Vec::new();
    if count > 1 {
        let described: Vec<String> = (0..count)
            .map(|g| {
                let members: Vec<&str> = deployments
                    .iter()
                    .zip(&group)
                    .filter(|(_, x)| **x == g)
                    .map(|((l, _), _)| l.as_str())
                    .collect();
                let runs = &deployments[group.iter().position(|x| *x == g).unwrap_or(0)].1;
                let (version, options) = interpreter_group(runs).unwrap_or_default();
                let build = match options.len() {
                    0 => "a plain build".to_owned(),
                    1..=3 => options.join(" "),
                    n => format!("{} and {} more options", options[..3].join(" "), n - 3),
                };
                format!("CPython {version} ({build}): {}", members.join(", "))
            })
            .collect();
        notes.push(format!(
            "NOT ONE INTERPRETER: these rows ran different CPython versions or builds, so a \
             difference between groups is the interpreter's as much as the mode's, and no value \
             is ranked across groups. {}.",
            described.join("; ")
        ));
    }
    // The GIL alone: a free-threaded deployment against one of the same interpreter with the
    // GIL on (its twin).
    for (i, (label, runs)) in deployments.iter().enumerate() {
        let gil = |rs: &[&RunResult]| rs.first().and_then(|r| r.interpreter.gil_enabled);
        if gil(runs) != Some(false) {
            continue;
        }
        for (j, (twin, twin_runs)) in deployments.iter().enumerate() {
            if j == i
                || group[j] != group[i]
                || gil(twin_runs) != Some(true)
                || !same_but_the_gil(runs, twin_runs)
            {
                continue;
            }
            if capacity_only(doc) {
                // No run measured a load: the pair is compared by what the search found.
                let of = |l: &str| doc.capacity.iter().find(|c| c.label == l);
                let ratio = |value: fn(&Capacity) -> Option<f64>| match (
                    of(label).and_then(value),
                    of(twin).and_then(value),
                ) {
                    (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
                    _ => "unknown".to_owned(),
                };
                notes.push(format!(
                    "THE GIL ALONE: {label} (no GIL) against {twin} (the same CPython with the \
                     GIL): capacity under the SLO {}, req/s per core {}, req/s per GiB of ΣPSS {} \
                     (no GIL ÷ GIL). This pair, not a row of another interpreter, is the \
                     comparison of the GIL.",
                    ratio(|c| c.capacity_rps),
                    ratio(|c| c.per_core_and_gib().0),
                    ratio(|c| c.per_core_and_gib().1),
                ));
                continue;
            }
            let ratio = |value: fn(&RunResult) -> Option<f64>| match (
                median_of(runs, value),
                median_of(twin_runs, value),
            ) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
                _ => "unknown".to_owned(),
            };
            notes.push(format!(
                "THE GIL ALONE: {label} (no GIL) against {twin} (the same CPython with the GIL): \
                 goodput {}, p99 {}, CPU {}, ΣPSS {} (no GIL ÷ GIL, medians). This pair, not a row \
                 of another interpreter, is the comparison of the GIL.",
                ratio(|r| Some(r.throughput_rps)),
                ratio(|r| latency(r, |l| l.p99)),
                ratio(|r| r.cpu.as_ref().map(|c| c.cores)),
                ratio(|r| r.pss_bytes.map(|m| m.peak_bytes as f64)),
            ));
        }
    }
    notes
}

/// Whether two deployments differ in nothing their runs record but the GIL: the same mode,
/// server, serving shape and task backend. Only such a pair isolates the GIL; a free-threaded
/// gthread against the twin of a free-threaded uvicorn measures the servers too.
fn same_but_the_gil(a: &[&RunResult], b: &[&RunResult]) -> bool {
    match (a.first(), b.first()) {
        (Some(a), Some(b)) => {
            a.mode == b.mode
                && a.server == b.server
                && a.serving == b.serving
                && a.task_backend == b.task_backend
        }
        _ => false,
    }
}

/// Each web worker that answered in a run, with its share: `4123 51%`.
fn worker_shares(r: &RunResult) -> Vec<String> {
    r.workers
        .iter()
        .flat_map(|w| &w.shares)
        .map(|s| format!("{} {:.0}%", s.worker, s.share * 100.0))
        .collect()
}

/// A worker's share may lie this far from a fair one (relative) before a warning.
const MAX_WORKER_DEVIATION: f64 = 0.25;
/// djbench's own share of the machine above which a run is warned about.
const MAX_HARNESS_SHARE: f64 = 0.05;
/// How far apart (in points of the machine) the harness's share may be between deployments.
const MAX_HARNESS_SPREAD: f64 = 0.02;

/// What differs between deployments besides their labels: the HTTP server, keep-alive, and
/// the harness's share of the machine.
fn parity_warnings(deployments: &Deployments<'_>) -> Vec<String> {
    let mut w = Vec::new();
    if deployments.len() < 2 {
        return w;
    }
    let servers: Vec<(String, String)> = deployments
        .iter()
        .map(|(l, rs)| (l.clone(), serving_of(rs).0))
        .collect();
    if servers.iter().any(|(_, s)| *s != servers[0].1) {
        w.push(format!(
            "The deployments ran different HTTP servers ({}): part of a difference may be the \
             server's, not the mode's (compare_modes_same_server holds the server fixed)",
            servers
                .iter()
                .map(|(l, s)| format!("{s} in {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let conns: Vec<(&str, f64)> = deployments
        .iter()
        .filter_map(|(l, rs)| Some((l.as_str(), median_of(rs, |r| r.connections_per_request)?)))
        .collect();
    let (lo, hi) = conns.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (_, c)| {
        (lo.min(*c), hi.max(*c))
    });
    if conns.len() > 1 && hi - lo > 0.1 {
        w.push(format!(
            "Keep-alive differs: connections the generator opened per request: {}. A deployment \
             that closes connections costs the generator (and the kernel) a connect per request, \
             from the same cores",
            conns
                .iter()
                .map(|(l, c)| format!("{c:.2} for {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let shares: Vec<(&str, f64)> = deployments
        .iter()
        .filter_map(|(l, rs)| {
            Some((
                l.as_str(),
                median_of(rs, |r| r.harness.as_ref().map(|h| h.share_of_machine))?,
            ))
        })
        .collect();
    let (lo, hi) = shares
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (_, c)| {
            (lo.min(*c), hi.max(*c))
        });
    if shares.len() > 1 && hi - lo > MAX_HARNESS_SPREAD {
        w.push(format!(
            "djbench's own share of the machine differed by {:.1} points between deployments \
             ({}): the deployments did not have the same machine left",
            (hi - lo) * 100.0,
            shares
                .iter()
                .map(|(l, c)| format!("{:.1}% for {l}", c * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    w
}

/// A load's failures by kind, the non-zero ones: `5xx 5, timeout 2` (`none` when all are 0).
fn error_kinds(l: &LoadReport) -> String {
    let kinds: Vec<String> = l
        .error_kinds
        .by_kind()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    if kinds.is_empty() {
        "none".to_owned()
    } else {
        kinds.join(", ")
    }
}

/// An open loop is a measurement at its intended rate only if the generator sent that rate
/// and the deployment answered it; below this share of it, a warning.
const MIN_OFFERED_SHARE: f64 = 0.95;

/// What a run's load says: its own warnings, and for an open loop that it sent less than
/// intended (when its warnings do not say so) and whether the deployment kept up with what
/// was offered.
fn offered_rate(name: &str, r: &RunResult) -> Vec<String> {
    let mut w = Vec::new();
    let Some(l) = r.load.as_ref() else {
        return w;
    };
    for x in &l.warnings {
        w.push(format!("{name}: {x}"));
    }
    let Some(o) = l.open_loop.as_ref() else {
        return w;
    };
    let sent_short = o.sent_rps < MIN_OFFERED_SHARE * o.intended_rps;
    // The load's own warnings already say when it could not send its rate.
    if sent_short && l.warnings.is_empty() {
        w.push(format!(
            "{name}: the open loop sent {:.1} of the {:.1} req/s intended: this is not a \
             measurement at {:.1} req/s",
            o.sent_rps, o.intended_rps, o.intended_rps
        ));
    }
    if l.completed_rps < MIN_OFFERED_SHARE * o.intended_rps {
        w.push(format!(
            "{name}: the deployment did not keep up with the offered rate: completed {:.1} of \
             {:.1} req/s{}",
            l.completed_rps,
            o.intended_rps,
            if sent_short {
                format!(" (of which the generator sent {:.1})", o.sent_rps)
            } else {
                String::new()
            }
        ));
    }
    w
}

/// One line per deployment whose repetitions disagree: its figures with a coefficient of
/// variation above `stats::CV_WARN`.
fn spread_warnings(deployments: &Deployments<'_>) -> Vec<String> {
    let table = Table::of(deployments);
    deployments
        .iter()
        .enumerate()
        .filter_map(|(d, (label, _))| {
            let noisy = table.noisy(d);
            (!noisy.is_empty()).then(|| {
                format!(
                    "{label}: noisy across repetitions (CV above {:.0}%): {}: more repetitions \
                     or a quieter machine",
                    stats::CV_WARN * 100.0,
                    noisy
                        .iter()
                        .map(|&(i, cv)| format!("{} {}", COLUMNS[i].name, above_warn(cv)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

/// Everything a reader must know before trusting the table.
pub fn warnings(doc: &Results) -> Vec<String> {
    let mut w = Vec::new();
    if !doc.complete {
        w.push(
            "This run is incomplete: it was interrupted, a run was cut short or a deployment \
             failed; the table holds what was measured."
                .to_owned(),
        );
    }
    for r in &doc.runs {
        let name = r.name();
        // A capacity search's run carries its deployment's facts only: no latency or task
        // figures were ever to be had from it, so their absence is no news (the trials have
        // them).
        let searched = r.load.is_none() && !doc.capacity.is_empty();
        if let Some(f) = &r.failure {
            w.push(format!("{name} failed: {f}"));
        }
        if let Some(c) = &r.cut_short {
            w.push(format!(
                "{name} was cut short ({c}): its numbers cover that time only"
            ));
        }
        if let Some(held) = r.load.as_ref().map(|l| l.held_seconds).filter(|&h| h > 0.0) {
            w.push(format!(
                "{name}: the load was paused for {held:.1} s (the window was lengthened by as \
                 much); CPU and memory means include the pause"
            ));
        }
        if r.load.as_ref().is_some_and(|l| l.generator.saturated) {
            w.push(format!(
                "{name}: the load generator saturated its CPU; these numbers may measure djbench"
            ));
        }
        if r.errors > 0 {
            let kinds = r.load.as_ref().map_or("kinds unknown".into(), error_kinds);
            w.push(format!("{name}: {} failed requests ({kinds})", r.errors));
        }
        w.extend(offered_rate(&name, r));
        if let Some(t) = r.task_load.as_ref().filter(|t| t.errors > 0) {
            w.push(format!(
                "{name}: {} of {} /enqueue requests failed ({}): those tasks were never enqueued",
                t.errors,
                t.requests,
                error_kinds(t)
            ));
        }
        if r.failure.is_none() && r.latency_us.is_none() && !searched {
            w.push(format!(
                "{name}: no request succeeded, so it has no latency (shown as {UNKNOWN})"
            ));
        }
        match &r.tasks {
            None if r.failure.is_none() && !searched => w.push(format!(
                "{name}: its background task figures could not be read{}: tasks are unknown",
                r.tasks_unknown
                    .as_deref()
                    .map_or(String::new(), |why| format!(" ({why})"))
            )),
            Some(t) if t.lost > 0 => w.push(format!(
                "{name}: {} tasks never finished{}",
                t.lost,
                // Failed enqueues count as lost; the task load's own line says how they failed.
                if t.enqueue_failed > 0 {
                    format!(" ({} of them never enqueued)", t.enqueue_failed)
                } else {
                    String::new()
                }
            )),
            _ => {}
        }
        // A process restarted in a fault run serves from new workers: the shares of the old
        // and the new are not a balance.
        let restarted = r.faults.as_ref().is_some_and(|f| !f.deaths.is_empty());
        if let Some(b) = r
            .workers
            .as_ref()
            .filter(|b| b.max_deviation > MAX_WORKER_DEVIATION && !restarted)
        {
            let shares = worker_shares(r);
            w.push(format!(
                "{name}: the web workers did not share the load fairly (a share {:.0}% away from \
                 fair; {} of {} workers answered, each a {}: {}): some idled while others queued",
                b.max_deviation * 100.0,
                shares.len(),
                b.workers,
                b.unit.name(),
                shares.join(", ")
            ));
        }
        let asked = r.serving.as_ref().map(|s| s.backlog);
        for l in r.listening.iter().flatten() {
            if let Some(asked) = asked
                && l.backlog < asked
            {
                w.push(format!(
                    "{name}: the socket on {} listens with a backlog of {}, not the {asked} \
                     asked for (net.core.somaxconn caps it, or the server overrides it)",
                    l.address, l.backlog
                ));
            }
        }
        if let Some(share) = r
            .harness
            .as_ref()
            .map(|h| h.share_of_machine)
            .filter(|&s| s > MAX_HARNESS_SHARE)
        {
            w.push(format!(
                "{name}: djbench itself used {:.1}% of the machine while measuring (generator, \
                 sampler, task load): the deployment had that much less",
                share * 100.0
            ));
        }
        let free_build = r.interpreter.free_threaded_build == Some(true);
        if r.mode == "free_threaded" && free_build && r.interpreter.gil_enabled == Some(true) {
            w.push(format!(
                "{name}: a free-threaded build ran with the GIL on (a module re-enabled it, or it \
                 was asked for)"
            ));
        }
    }
    let versions: Vec<&str> = doc.runs.iter().fold(Vec::new(), |mut acc, r| {
        if !acc.contains(&r.interpreter.version.as_str()) {
            acc.push(r.interpreter.version.as_str());
        }
        acc
    });
    // Interpreters configured differently (beyond --disable-gil and install paths) can differ
    // in speed for reasons that are not the mode's: a distribution's build against a plain one.
    let mut builds: Vec<(String, Vec<String>)> = Vec::new();
    for r in &doc.runs {
        if r.interpreter.config_args.is_some() && !builds.iter().any(|(l, _)| *l == r.label) {
            builds.push((r.label.clone(), build_options(r)));
        }
    }
    if let Some((first, first_opts)) = builds.first()
        && let Some((other, other_opts)) = builds.iter().find(|(_, o)| o != first_opts)
    {
        let differ: Vec<&String> = first_opts
            .iter()
            .filter(|o| !other_opts.contains(o))
            .chain(other_opts.iter().filter(|o| !first_opts.contains(o)))
            .take(4)
            .collect();
        w.push(format!(
            "The interpreters were configured differently ({first} against {other}, e.g. {}): \
             part of a difference may be the build's, not the mode's",
            differ
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let deployments = doc.by_deployment();
    w.extend(parity_warnings(&deployments));
    w.extend(spread_warnings(&deployments));
    if versions.len() > 1 {
        w.push(format!(
            "The deployments ran on different Python versions ({}): part of a difference may be \
             the interpreter's",
            versions.join(", ")
        ));
    }
    w
}

/// summary.md's headline table: a row per deployment, medians over its repetitions.
fn headline_md(out: &mut String, doc: &Results) {
    let deployments = doc.by_deployment();
    let table = Table::of(&deployments);
    let host = &doc.host;
    let _ = writeln!(
        out,
        "{}{}{}; {}; {UNKNOWN}: unknown. \
         Host: {}, {} cores, kernel {}. djbench {} ({}).\n",
        faults::note(doc).map_or(String::new(), |n| format!("**{n}** ")),
        table.medians_over(),
        table.spread_text(""),
        table.best_text("**bold**"),
        host.cpu,
        host.cores,
        host.kernel,
        doc.djbench.version,
        doc.djbench
            .git_revision
            .as_deref()
            .unwrap_or("no git revision"),
    );
    let _ = write!(out, "| deployment | python | GIL | server | workers |");
    for &i in &table.shown {
        let _ = write!(out, " {} |", COLUMNS[i].title);
    }
    let _ = write!(out, "\n|---|---|---|---|---|");
    for _ in &table.shown {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for (d, (label, runs)) in deployments.iter().enumerate() {
        let (python, gil) = python_and_gil(runs);
        let (server, shape) = serving_of(runs);
        let label = format!("{label}{}", faults::mark(runs));
        let _ = write!(out, "| {label} | {python} | {gil} | {server} | {shape} |");
        for &i in &table.shown {
            let cell = match table.cell(d, i) {
                Cell::TasksUnknown => "unknown".to_owned(),
                Cell::NoTasks => "-".to_owned(),
                Cell::Unknown => UNKNOWN.to_owned(),
                Cell::Value { median, cv, best } => {
                    let text = (COLUMNS[i].show)(median);
                    with_spread(if best { format!("**{text}**") } else { text }, cv)
                }
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    let leads = table.leads(&deployments);
    if !leads.is_empty() {
        out.push('\n');
        for l in leads {
            let _ = writeln!(out, "- best: {l}");
        }
    }
}

/// summary.md: the capacity found (when searched), the headline table (when the runs measured
/// a load) and the warnings.
pub fn summary_md(doc: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# djbench: {}\n", doc.name());
    let description = doc.scenario.description.trim();
    if !description.is_empty() {
        let _ = writeln!(out, "{description}\n");
    }
    if !doc.capacity.is_empty() {
        capacity_md(&mut out, doc);
    }
    let host = &doc.host;
    if capacity_only(doc) {
        let _ = writeln!(
            out,
            "{UNKNOWN}: unknown. Host: {}, {} cores, kernel {}. djbench {} ({}).",
            host.cpu,
            host.cores,
            host.kernel,
            doc.djbench.version,
            doc.djbench
                .git_revision
                .as_deref()
                .unwrap_or("no git revision"),
        );
    } else {
        headline_md(&mut out, doc);
    }
    let project = project_lines(doc);
    if !project.is_empty() {
        out.push_str("\n## Your project\n\n");
        for line in project {
            let _ = writeln!(out, "- {line}");
        }
    }
    let notes = interpreter_notes(doc);
    if !notes.is_empty() {
        out.push_str("\n## Interpreters\n\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out.push_str(&scaling::markdown(doc));
    out.push_str(&faults::markdown(doc));
    let set = crate::compare::limits(&doc.scenario.thresholds);
    if !set.is_empty() {
        out.push_str("\n## Thresholds\n\n");
        let broken = crate::compare::thresholds(doc);
        if broken.is_empty() {
            let _ = writeln!(
                out,
                "All {} held in every deployment ({}).",
                set.len(),
                set.iter()
                    .map(|(k, v)| format!("{k} ≤ {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        } else {
            for x in broken {
                let _ = writeln!(
                    out,
                    "- **broken**: {} `{}` {} (limit {})",
                    x.who(),
                    x.threshold,
                    x.measured,
                    x.limit
                );
            }
        }
    }
    let w = warnings(doc);
    if !w.is_empty() {
        out.push_str("\n## Warnings\n\n");
        for line in w {
            let _ = writeln!(out, "- {line}");
        }
    }
    out.push_str(
        "\nΣPSS counts shared pages once across a deployment's processes; ΣRSS counts them in \
         every process. Latency is web requests only; task latency is enqueue→finish. \
         Everything is in results.json (schema: reports/README.md in djbench's repository).\n",
    );
    out
}

/// What a run of a user's project (`app:`) deployed, how its tasks ran (the backend each
/// deployment's live settings named), and the deployments the check left out, with its reason.
/// Empty for the sample app.
pub fn project_lines(doc: &Results) -> Vec<String> {
    let Some(p) = &doc.plan.project else {
        return Vec::new();
    };
    let mut lines = vec![
        format!(
            "Project {} (settings {}, WSGI {}{}), deployed in each mode with djbench's launchers; \
             djbench's probes (/_djbench/…, the worker header) were added through a settings \
             overlay.",
            p.dir.display(),
            p.settings,
            p.wsgi,
            p.asgi
                .as_ref()
                .map_or(String::new(), |a| format!(", ASGI {a}"))
        ),
        format!(
            "Tasks: {}; task latency is not measured for a project's own tasks.",
            p.tasks
        ),
    ];
    let mut backends: Vec<(String, String)> = Vec::new();
    for r in &doc.runs {
        if let Some(b) = &r.task_backend
            && !backends.iter().any(|(l, _)| *l == r.label)
        {
            backends.push((r.label.clone(), b.clone()));
        }
    }
    if !backends.is_empty() {
        lines.push(format!(
            "Task backend that ran: {}.",
            backends
                .iter()
                .map(|(l, b)| format!("{b} in {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for k in &p.skipped {
        lines.push(format!("**Skipped** {}: {}", k.label, k.reason));
    }
    lines
}

/// Writes summary.md and report.html beside results.json, each atomically.
pub fn write(out_dir: &Path, doc: &Results) -> std::io::Result<()> {
    crate::atomic::write_atomic(&out_dir.join("summary.md"), summary_md(doc).as_bytes())?;
    crate::atomic::write_atomic(&out_dir.join("report.html"), html(doc).as_bytes())
}

/// One measure of the Bencher Metric Format.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BmfMeasure {
    pub value: f64,
    pub lower_value: f64,
    pub upper_value: f64,
}

/// Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format/): one
/// benchmark per deployment, each measure the median over repetitions with the smallest and
/// largest repetition as its bounds. A measure no repetition knows is left out.
pub fn bmf(
    doc: &Results,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<&'static str, BmfMeasure>> {
    type Measure = (&'static str, fn(&RunResult) -> Option<f64>);
    let measures: [Measure; 7] = [
        ("throughput", |r| Some(r.throughput_rps)),
        ("latency_p50_us", |r| latency(r, |l| l.p50)),
        ("latency_p99_us", |r| latency(r, |l| l.p99)),
        ("pss_peak_bytes", |r| {
            r.pss_bytes.map(|m| m.peak_bytes as f64)
        }),
        ("rss_peak_bytes", |r| {
            r.rss_bytes.map(|m| m.peak_bytes as f64)
        }),
        ("cpu_cores", |r| r.cpu.as_ref().map(|c| c.cores)),
        ("task_p99_us", |r| task_latency(r, |l| l.p99)),
    ];
    let mut out = std::collections::BTreeMap::new();
    for (label, runs) in doc.by_deployment() {
        let mut m = std::collections::BTreeMap::new();
        for (name, value) in measures {
            let v: Vec<f64> = runs.iter().filter_map(|r| value(r)).collect();
            let Some(value) = stats::median(&v) else {
                continue;
            };
            m.insert(
                name,
                BmfMeasure {
                    value,
                    lower_value: v.iter().copied().fold(f64::MAX, f64::min),
                    upper_value: v.iter().copied().fold(f64::MIN, f64::max),
                },
            );
        }
        out.insert(label, m);
    }
    out
}

/// The per-second series of every run as CSV: one row per run, second and endpoint (`*` is
/// all endpoints together).
pub fn seconds_csv(doc: &Results) -> String {
    let mut out =
        String::from("run,label,mode,repetition,second,path,count,errors,p50_us,p99_us,max_us\n");
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    for r in &doc.runs {
        for s in r.load.iter().flat_map(|l| &l.seconds) {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{}",
                r.index,
                quote(&r.label),
                quote(&r.mode),
                r.repetition,
                s.second,
                quote(&s.path),
                s.count,
                s.errors,
                s.p50_us,
                s.p99_us,
                s.max_us
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::testing::{all_failed, results, run};

    /// The summary's table row of `label`, by cell.
    fn row(md: &str, label: &str) -> Vec<String> {
        let line = md
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no row {label}:\n{md}"));
        line.split('|').map(|c| c.trim().to_owned()).collect()
    }

    fn column(md: &str, title: &str) -> usize {
        let head = md
            .lines()
            .find(|l| l.starts_with("| deployment |"))
            .unwrap();
        head.split('|').position(|c| c.trim() == title).unwrap()
    }

    #[test]
    fn an_all_failed_deployment_shows_no_latency_and_is_never_best() {
        let doc = results(
            "",
            vec![
                run("good", 1, 100.0, 9000),
                all_failed(run("dead", 1, 0.0, 1)),
                run("ok", 1, 90.0, 8000),
            ],
        );
        let md = summary_md(&doc);
        let p99 = column(&md, "p99 ms");
        assert_eq!(row(&md, "dead")[p99], "—", "{md}");
        // One repetition calls no difference: nothing is bold.
        assert_eq!(row(&md, "ok")[p99], "8.00", "{md}");
        assert_eq!(row(&md, "good")[p99], "9.00", "{md}");
        assert!(
            md.contains("no best is marked: 1 repetition per deployment, 5 needed"),
            "{md}"
        );
        assert!(md.contains("dead #1: no request succeeded"), "{md}");
    }

    /// The shipped fixture (ci_smoke, 3 repetitions), read as `djbench report` reads it.
    fn fixture() -> Results {
        crate::results::read(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/results/ci_smoke-3reps-v2.json"
        )))
        .unwrap()
    }

    /// gunicorn_celery's three measured runs of the fixture, cycled to five repetitions of
    /// `label` with these goodputs: two deployments built from it differ in goodput only.
    fn five(doc: &Results, label: &str, goodput: [f64; 5]) -> Vec<RunResult> {
        let template: Vec<&RunResult> = doc
            .runs
            .iter()
            .filter(|r| r.label == "gunicorn_celery")
            .collect();
        goodput
            .iter()
            .enumerate()
            .map(|(k, &g)| RunResult {
                label: label.into(),
                repetition: k as u32 + 1,
                throughput_rps: g,
                ..template[k % template.len()].clone()
            })
            .collect()
    }

    const GOODPUT: [f64; 5] = [600.0, 606.0, 597.0, 603.0, 594.0];

    fn scaled(by: f64) -> [f64; 5] {
        GOODPUT.map(|g| g * by)
    }

    fn bold_cells(md: &str) -> Vec<&str> {
        md.lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| deployment"))
            .flat_map(|l| l.split('|'))
            .filter(|c| c.contains("**"))
            .collect()
    }

    #[test]
    fn the_page_says_which_login_the_runs_did_and_never_without_one() {
        let mut doc = fixture();
        assert!(!html(&doc).contains("Login before each load"));
        for r in &mut doc.runs {
            r.login = Some(crate::load::login::Record {
                url: "/accounts/login/".into(),
                username: "ann".into(),
                status: 302,
                cookies: vec!["csrftoken".into(), "sessionid".into()],
            });
        }
        let page = html(&doc);
        let line = "Login before each load: POST /accounts/login/ as ann answered 302; cookies \
                    sent with every request: csrftoken, sessionid.";
        assert_eq!(page.matches(line).count(), 1, "{page}");
    }

    #[test]
    fn three_repetitions_mark_no_best_and_say_why() {
        let doc = fixture();
        let md = summary_md(&doc);
        assert!(bold_cells(&md).is_empty(), "{md}");
        assert!(
            md.contains(
                "no best is marked: 3 repetitions per deployment, 5 needed to call a difference"
            ),
            "{md}"
        );
        assert!(!md.contains("best value per column"), "{md}");
        let page = html(&doc);
        assert!(!page.contains("class=\"best\""));
        assert!(page.contains("No best is marked: 3 repetitions per deployment"));
        // Every median beside its spread: gunicorn_celery's goodput 576.2, 630.8, 573.4.
        let col = column(&md, "goodput req/s");
        assert_eq!(row(&md, "gunicorn_celery")[col], "576 ±5%", "{md}");
        assert!(md.contains("± the spread across them (coefficient of variation"));
        assert!(page.contains("\">±5%</span>"));
    }

    #[test]
    fn five_repetitions_and_a_clear_lead_bold_the_winner_only() {
        let doc = fixture();
        let mut runs = five(&doc, "gunicorn_celery", GOODPUT);
        runs.extend(five(&doc, "subinterpreters", scaled(1.10)));
        let doc = Results { runs, ..doc };
        let md = summary_md(&doc);
        let col = column(&md, "goodput req/s");
        assert_eq!(row(&md, "subinterpreters")[col], "**660** ±0.8%", "{md}");
        assert_eq!(row(&md, "gunicorn_celery")[col], "600 ±0.8%", "{md}");
        // Everything else is the same runs: no other winner.
        assert_eq!(bold_cells(&md).len(), 1, "{md}");
        assert!(md.contains("**bold**: the best of its column"), "{md}");
        assert!(
            md.contains("- best: goodput req/s: subinterpreters against gunicorn_celery, +10.0%"),
            "{md}"
        );
        let page = html(&doc);
        assert_eq!(page.matches("<td class=\"best\">").count(), 1);
        assert!(page.contains("<td class=\"best\">660<span"));
    }

    #[test]
    fn a_significant_one_percent_is_not_a_best() {
        let doc = fixture();
        let mut runs = five(&doc, "gunicorn_celery", GOODPUT);
        runs.extend(five(&doc, "subinterpreters", scaled(1.01)));
        let doc = Results { runs, ..doc };
        let md = summary_md(&doc);
        assert!(bold_cells(&md).is_empty(), "{md}");
        assert!(md.contains("**bold**: the best of its column"), "{md}");
        assert!(!html(&doc).contains("class=\"best\""));
    }

    #[test]
    fn a_noisy_deployment_is_warned_about_once_with_its_figures() {
        let mut doc = fixture();
        // gunicorn_celery's goodput 500, 600, 700: a CV of 100 / 600 = 17%.
        for (r, g) in doc
            .runs
            .iter_mut()
            .filter(|r| r.label == "gunicorn_celery")
            .zip([500.0, 600.0, 700.0])
        {
            r.throughput_rps = g;
        }
        let w = warnings(&doc);
        let noisy: Vec<&String> = w
            .iter()
            .filter(|l| l.starts_with("gunicorn_celery: noisy across repetitions"))
            .collect();
        assert_eq!(noisy.len(), 1, "{w:#?}");
        assert!(
            noisy[0].starts_with(
                "gunicorn_celery: noisy across repetitions (CV above 10%): goodput 17%"
            ),
            "{}",
            noisy[0]
        );
        assert!(noisy[0].ends_with(": more repetitions or a quieter machine"));
        // Failure counts are not spread figures: errors are warned about run by run.
        assert!(!noisy[0].contains("errors"), "{}", noisy[0]);
        let col = column(&summary_md(&doc), "goodput req/s");
        assert_eq!(row(&summary_md(&doc), "gunicorn_celery")[col], "600 ±17%");
        assert!(html(&doc).contains("<span class=\"cv noisy\""));
    }

    #[test]
    fn failed_enqueues_of_the_task_load_are_warned_about() {
        let mut doc = fixture();
        let mut t = doc.runs[0].load.clone().unwrap();
        t.requests = 100;
        t.errors = 7;
        t.error_kinds.http_5xx = 5;
        t.error_kinds.timeout = 2;
        doc.runs[0].task_load = Some(t);
        let name = doc.runs[0].name();
        let w = warnings(&doc);
        let want = format!(
            "{name}: 7 of 100 /enqueue requests failed (timeout 2, 5xx 5): those tasks were \
             never enqueued"
        );
        assert!(w.contains(&want), "{w:#?}");
        assert!(summary_md(&doc).contains(&want));
        let page = html(&doc);
        assert!(page.contains("<td class=\"small\">7 (timeout 2, 5xx 5)</td>"));
    }

    #[test]
    fn an_open_loop_that_fell_behind_is_warned_about() {
        let mut doc = fixture();
        let l = doc.runs[0].load.as_mut().unwrap();
        l.completed_rps = 400.0;
        l.open_loop = Some(crate::load::OpenLoopReport {
            intended_rps: 500.0,
            sent_rps: 450.0,
            late_sends: 0,
            lateness_us: None,
            connections_used: 4,
            in_flight_at_end: 0,
            shortfall: 0,
        });
        let name = doc.runs[0].name();
        let w = warnings(&doc);
        assert!(
            w.contains(&format!(
                "{name}: the open loop sent 450.0 of the 500.0 req/s intended: this is not a \
                 measurement at 500.0 req/s"
            )),
            "{w:#?}"
        );
        assert!(
            w.contains(&format!(
                "{name}: the deployment did not keep up with the offered rate: completed 400.0 \
                 of 500.0 req/s (of which the generator sent 450.0)"
            )),
            "{w:#?}"
        );
        // The load's own warnings are printed instead of the sent-rate line.
        doc.runs[0].load.as_mut().unwrap().warnings = vec!["it could not send".into()];
        let w = warnings(&doc);
        assert!(w.contains(&format!("{name}: it could not send")), "{w:#?}");
        assert!(
            !w.iter().any(|l| l.contains("the open loop sent")),
            "{w:#?}"
        );
    }

    #[test]
    fn error_rate_sits_beside_goodput_and_unknown_is_a_dash() {
        let mut doc = fixture();
        for r in doc.runs.iter_mut().filter(|r| r.label == "free_threaded") {
            r.error_rate = None;
        }
        let md = summary_md(&doc);
        let goodput = column(&md, "goodput req/s");
        assert_eq!(column(&md, "error rate"), goodput + 1, "{md}");
        assert_eq!(row(&md, "free_threaded")[goodput + 1], "—", "{md}");
        assert_eq!(row(&md, "gunicorn_celery")[goodput + 1], "0%", "{md}");
    }

    #[test]
    fn a_value_without_a_rival_that_knows_it_is_not_best() {
        let doc = results(
            "",
            vec![run("a", 1, 100.0, 9000), all_failed(run("b", 1, 0.0, 1))],
        );
        let md = summary_md(&doc);
        let p99 = column(&md, "p99 ms");
        assert_eq!(row(&md, "a")[p99], "9.00", "{md}");
    }

    mod capacity {
        use super::*;
        use crate::capacity::{End, Method, Phase, Slo, Trial, Verdict};
        use crate::load::Latency;

        fn searched() -> Searched {
            Searched {
                slo: Slo {
                    p99_us: 50_000,
                    max_error_rate: 0.01,
                    min_completed: 0.95,
                },
                method: Method {
                    start_rps: 50.0,
                    max_rps: 10_000.0,
                    tolerance: 0.02,
                    passes: 2,
                    trials: 3,
                },
                warmup_seconds: 1.0,
                window_seconds: 5.0,
                max_interference: 1.0,
            }
        }

        /// A trial at `rate` with this p99 (its p50 a tenth of it), judged against a p99 of
        /// 50 ms; CPU and ΣPSS as sampled (None: not sampled).
        fn trial(
            rate: f64,
            phase: Phase,
            p99_ms: f64,
            cpu: Option<f64>,
            pss_mib: Option<u64>,
        ) -> Trial {
            let p99 = (p99_ms * 1000.0) as u64;
            let pass = p99 <= 50_000;
            Trial {
                offered_rps: rate,
                phase,
                sent_rps: Some(rate),
                completed_rps: rate,
                goodput_rps: rate,
                requests: (rate * 5.0) as u64,
                errors: 0,
                error_rate: Some(0.0),
                latency_us: Some(Latency {
                    min: p99 / 20,
                    mean: p99 as f64 / 5.0,
                    p50: p99 / 10,
                    p90: p99 / 2,
                    p99,
                    p999: p99 * 2,
                    max: p99 * 3,
                }),
                cpu_cores: cpu,
                pss_peak_bytes: pss_mib.map(|m| m << 20),
                generator_cpu_us_per_request: 20.0,
                interference: None,
                verdict: if pass { Verdict::Pass } else { Verdict::Fail },
                reasons: if pass {
                    Vec::new()
                } else {
                    vec![format!("p99 {p99_ms:.1} ms > 50.0 ms")]
                },
            }
        }

        fn calibration(before: f64, after: f64) -> crate::host::Calibration {
            let speed = |units_per_second| crate::host::Speed {
                units_per_second,
                threads: 2,
                seconds: 2.0,
                build: crate::host::Build::Release,
            };
            crate::host::Calibration {
                before: speed(before),
                after: speed(after),
            }
        }

        #[test]
        fn machines_of_different_speed_are_warned_about_and_a_steady_one_is_not() {
            let mut doc = searched_doc();
            assert_eq!(machine_warnings(&doc), Vec::<String>::new());
            let md = summary_md(&doc);
            assert!(md.contains("| 990 (moved 2%) |"), "{md}");
            // b searched on a machine 30% slower, whose speed moved 20% during its search.
            doc.capacity[1].calibration = Some(calibration(770.0, 616.0));
            let w = machine_warnings(&doc);
            assert_eq!(w.len(), 2, "{w:?}");
            assert!(
                w[0].starts_with("b: the machine's speed moved 20%"),
                "{w:?}"
            );
            assert!(
                w[1].starts_with("The machine ran 30% slower for b (693 units/s) than for a (990)"),
                "{w:?}"
            );
            assert!(summary_md(&doc).contains("**Warning:** The machine ran 30% slower"));
            assert!(html(&doc).contains("<li>The machine ran 30% slower for b"));
        }

        /// a converged at 400 req/s (sampled: 1.6 cores and 512 MiB there); b, a URL-like
        /// target nothing sampled, failed its first load. Their runs hold the deployments'
        /// facts only, as `djbench capacity` writes them.
        fn searched_doc() -> Results {
            use Phase::*;
            let s = |rate: f64, p99: f64, cpu: f64, mib: u64| {
                trial(rate, Ramp, p99, Some(cpu), Some(mib))
            };
            let a = Capacity {
                label: "a".into(),
                searched: searched(),
                capacity_rps: Some(400.0),
                last_pass_rps: Some(400.0),
                first_fail_rps: Some(408.0),
                end: End::Converged,
                failure: None,
                ready_seconds: Some(3.2),
                calibration: Some(calibration(1000.0, 980.0)),
                search_seconds: 95.0,
                trials: vec![
                    s(100.0, 20.0, 0.4, 300),
                    s(200.0, 30.0, 0.8, 400),
                    s(400.0, 42.0, 1.6, 512),
                    s(800.0, 900.0, 1.9, 700),
                    trial(800.0, Repeat, 700.0, Some(1.9), Some(690)),
                    trial(600.0, Bisect, 200.0, Some(1.9), Some(650)),
                    trial(600.0, Repeat, 220.0, Some(1.9), Some(650)),
                    trial(408.0, Bisect, 60.0, Some(1.7), Some(520)),
                    trial(408.0, Repeat, 55.0, Some(1.7), Some(520)),
                ],
            };
            let b = Capacity {
                label: "b".into(),
                searched: searched(),
                capacity_rps: None,
                last_pass_rps: None,
                first_fail_rps: Some(50.0),
                end: End::FirstLoadFailed {
                    reason: "p99 300.0 ms > 50.0 ms".into(),
                },
                failure: None,
                ready_seconds: None,
                calibration: None,
                search_seconds: 12.0,
                trials: vec![
                    trial(50.0, Ramp, 300.0, None, None),
                    trial(50.0, Repeat, 310.0, None, None),
                ],
            };
            let facts = |label: &str| RunResult {
                requests: 0,
                throughput_rps: 0.0,
                error_rate: None,
                latency_us: None,
                pss_bytes: None,
                rss_bytes: None,
                cpu: None,
                tasks: None,
                ..run(label, 1, 0.0, 0)
            };
            Results {
                capacity: vec![a, b],
                ..results("", vec![facts("a"), facts("b")])
            }
        }

        fn charts(page: &str) -> Vec<&str> {
            page.split("<svg class=\"chart\"")
                .skip(1)
                .map(|s| &s[..s.find("</svg>").unwrap()])
                .collect()
        }

        fn headings(page: &str) -> Vec<&str> {
            page.split("<h2>")
                .skip(1)
                .map(|s| &s[..s.find("</h2>").unwrap()])
                .collect()
        }

        #[test]
        fn the_page_shows_each_capacity_or_why_there_is_none_and_no_empty_run_table() {
            let doc = searched_doc();
            let page = html(&doc);
            assert_eq!(
                headings(&page),
                [
                    "Capacity under the SLO",
                    "Warnings",
                    "Environment",
                    "The scenario as run"
                ],
            );
            assert!(
                page.contains(
                    "<td><strong>400.0</strong></td><td>400.0</td><td>408.0</td><td>2.0%</td>\
                     <td>42.00</td><td>1.60</td><td>512</td><td>250.0</td><td>800</td><td>9</td>\
                     <td>990 (moved 2%)</td><td>95</td><td>3.2</td><td style=\"text-align:left\" class=\"small\">converged</td>"
                ),
                "{page}"
            );
            assert!(
                page.contains(
                    "<td><strong>—</strong></td><td>—</td><td>50.0</td><td>—</td><td>—</td>\
                     <td>—</td><td>—</td><td>—</td><td>—</td><td>2</td><td>—</td><td>12</td><td>—</td>\
                     <td style=\"text-align:left\" class=\"small\">the first load already \
                     failed: p99 300.0 ms &gt; 50.0 ms</td>"
                ),
                "{page}"
            );
            assert!(
                page.contains("<span class=\"cv\">gunicorn_sync · Python 3.14.0, GIL on</span>")
            );
            // Every trial, an unsampled one with unknown CPU and ΣPSS, never 0.
            let every = &page[page.find("<h3>Every trial</h3>").unwrap()
                ..page.find("<h2>Warnings</h2>").unwrap()];
            assert_eq!(every.matches("<tr><td>a</td><td>").count(), 9);
            assert!(page.contains(
                "<tr><td>b</td><td>again</td><td>50.0</td><td>50.0</td><td>50.0</td>\
                 <td>50.0</td><td>31.00</td><td>155.00</td><td>310.00</td><td>620.00</td>\
                 <td>0.00%</td><td>—</td><td>—</td><td style=\"text-align:left\" \
                 class=\"small\"><strong>fail</strong>: p99 310.0 ms &gt; 50.0 ms</td></tr>"
            ));
            assert!(page.contains(
                "SLO: p99 ≤ 50 ms, error rate ≤ 1%, completed ≥ 95% of the offered rate; from \
                 50 req/s, doubling up to at most 10000 req/s"
            ));
            // The capacity runs measured nothing of their own: nothing to warn about.
            assert!(warnings(&doc).is_empty(), "{:#?}", warnings(&doc));
            assert!(!page.contains("0 failed requests"));
        }

        #[test]
        fn latency_is_charted_on_a_log_axis_with_the_slo_and_each_capacity() {
            let page = html(&searched_doc());
            let charts = charts(&page);
            assert_eq!(charts.len(), 3, "latency, CPU, ΣPSS");
            let latency = charts[0];
            assert!(latency.contains("latency, ms (log scale)"));
            // p50 from 2 ms to p99 at 900 ms: the decades 1 to 1000.
            for t in ["1", "10", "100", "1000"] {
                assert!(
                    latency.contains(&format!("text-anchor=\"end\">{t}</text>")),
                    "{t}: {latency}"
                );
            }
            assert_eq!(latency.matches("class=\"rule y\"").count(), 1);
            assert!(latency.contains(">SLO: p99 ≤ 50 ms</text>"));
            // One mark per converged search: a's, in a's colour; b has none.
            assert_eq!(latency.matches("class=\"rule x\"").count(), 1);
            assert!(latency.contains(&format!(
                "stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"6 5\"><title>a: 400.0 req/s",
                PALETTE[0]
            )));
            // p50 and p99 of both, each rate once (800 and 600 were tried twice).
            assert_eq!(latency.matches("<polyline").count(), 4);
            assert!(latency.contains("<title>b p99</title>"));
            let a_p99 = latency.split("<title>a p99</title>").next().unwrap();
            let points = a_p99.rsplit("points=\"").next().unwrap();
            assert_eq!(points[..points.find('"').unwrap()].split(' ').count(), 6);
            // b was not sampled: no CPU or ΣPSS line of it, not a line at 0.
            for cost in &charts[1..] {
                assert!(cost.contains("<title>a</title>"));
                assert!(!cost.contains("<title>b</title>"), "{cost}");
            }
        }

        #[test]
        fn the_summary_gives_each_capacity_and_its_bounds_before_any_run_table() {
            let md = summary_md(&searched_doc());
            assert!(md.contains("## Capacity under the SLO"), "{md}");
            assert!(
                md.contains(
                    "| a | 400.0 | 400.0 | 408.0 | 2.0% | 42.00 | 250.0 | 800 | 990 (moved 2%) | converged; 9 \
                     trials in 95 s |"
                ),
                "{md}"
            );
            assert!(
                md.contains(
                    "| b | — | — | 50.0 | — | — | — | — | — | the first load already failed: p99 \
                     300.0 ms > 50.0 ms; 2 trials in 12 s |"
                ),
                "{md}"
            );
            assert!(!md.contains("| deployment | python |"), "{md}");
            assert!(!md.contains("Medians over"), "{md}");
            assert!(!md.contains("## Warnings"), "{md}");
        }

        #[test]
        fn the_gil_alone_pairs_each_free_threaded_deployment_with_its_own_twin_only() {
            let mut doc = fixture();
            let mut runs = Vec::new();
            for (label, server, gil) in [
                ("ft_gthread", "gunicorn_gthread", false),
                ("ft_gthread_gil_twin", "gunicorn_gthread", true),
                ("ft_uvicorn", "uvicorn", false),
                ("ft_uvicorn_gil_twin", "uvicorn", true),
            ] {
                let mut r = run(label, 1, 100.0, 10_000);
                r.mode = "free_threaded".into();
                r.server = Some(server.into());
                r.interpreter.gil_enabled = Some(gil);
                runs.push(r);
            }
            doc.runs = runs;
            let notes: Vec<String> = interpreter_notes(&doc)
                .into_iter()
                .filter(|n| n.starts_with("THE GIL ALONE"))
                .collect();
            assert_eq!(notes.len(), 2, "{notes:#?}");
            assert!(
                notes[0]
                    .starts_with("THE GIL ALONE: ft_gthread (no GIL) against ft_gthread_gil_twin ")
            );
            assert!(
                notes[1]
                    .starts_with("THE GIL ALONE: ft_uvicorn (no GIL) against ft_uvicorn_gil_twin ")
            );
        }

        #[test]
        fn the_gil_alone_is_compared_by_capacity_when_no_load_was_measured() {
            let mut doc = searched_doc();
            doc.runs[1].interpreter.gil_enabled = Some(false);
            let notes = interpreter_notes(&doc);
            assert_eq!(notes.len(), 1, "{notes:#?}");
            // b found no capacity: the ratio is unknown, not 0.
            assert!(
                notes[0].starts_with(
                    "THE GIL ALONE: b (no GIL) against a (the same CPython with the GIL): \
                     capacity under the SLO unknown, req/s per core unknown"
                ),
                "{}",
                notes[0]
            );
        }

        #[test]
        fn a_report_of_measured_runs_has_no_capacity_section() {
            let doc = fixture();
            let page = html(&doc);
            assert_eq!(
                headings(&page),
                [
                    "The answer",
                    "Is the comparison fair?",
                    "The load, run by run",
                    "Charts",
                    "Warnings",
                    "Environment",
                    "The scenario as run"
                ],
            );
            assert_eq!(charts(&page).len(), 8);
            assert!(!page.contains("class=\"rule"));
            let md = summary_md(&doc);
            assert!(!md.contains("Capacity"), "{md}");
            assert!(md.contains("| deployment | python | GIL | server | workers |"));
            // Searched and measured in one document: the capacity first, then the runs.
            let both = Results {
                capacity: searched_doc().capacity,
                ..fixture()
            };
            let page = html(&both);
            let h = headings(&page);
            assert_eq!(h[..2], ["Capacity under the SLO", "The answer"], "{h:?}");
            let md = summary_md(&both);
            let (capacity, table) = (
                md.find("## Capacity").unwrap(),
                md.find("| deployment | python |").unwrap(),
            );
            assert!(capacity < table, "{md}");
        }
    }

    #[test]
    fn unknown_tasks_show_as_unknown_and_are_warned_about() {
        let mut lost = run("b", 1, 100.0, 9000);
        lost.tasks = None;
        lost.tasks_unknown = Some("the app's task table answered 500".into());
        let doc = results("", vec![run("a", 1, 100.0, 9000), lost]);
        let md = summary_md(&doc);
        let col = column(&md, "lost tasks");
        assert_eq!(row(&md, "b")[col], "unknown", "{md}");
        assert_eq!(row(&md, "a")[col], "0", "{md}");
        assert!(
            md.contains(
                "b #1: its background task figures could not be read (the app's task table \
                 answered 500): tasks are unknown"
            ),
            "{md}"
        );
        // bmf leaves out what no repetition knows, and the page says "unknown" too.
        let b = &bmf(&doc)["b"];
        assert!(b.contains_key("throughput") && !b.contains_key("task_p99_us"));
        assert!(html(&doc).contains("<td>unknown</td>"));
    }
}
