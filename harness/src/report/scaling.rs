//! The scenario's `sweep:` in summary.md and report.html: for each series (a deployment as the
//! scenario wrote it, before the sweep expanded it) goodput, ΣPSS, the time from start to
//! ready and the idle cost against the swept parameter, and the least-squares line
//! ΣPSS = fixed + per worker × n (`stats::linear_fit`) with what one more worker costs. It reads
//! the runs' typed `sweep` points, never their labels; it ranks nothing; an unknown figure is
//! "—". Results without a sweep get nothing from it.

use std::fmt::Write as _;

use super::UNKNOWN;
use super::html::esc;
use super::svg::{Lines, PALETTE, Series, legend};
use crate::results::{Results, RunResult};
use crate::scenario::model::{Mode, SweepParameter};
use crate::stats::{self, Fit};

const MIB: f64 = 1048576.0;

/// One series of the sweep: a deployment as written, at each value it ran with.
struct Swept<'a> {
    base: String,
    mode: Option<Mode>,
    parameter: SweepParameter,
    /// Ascending by value, each with its measured runs (failed runs left out, so a value may
    /// have none).
    points: Vec<(u32, Vec<&'a RunResult>)>,
}

/// The sweep's series in the order the scenario ran them.
fn series(doc: &Results) -> Vec<Swept<'_>> {
    let mut out: Vec<Swept<'_>> = Vec::new();
    for r in &doc.runs {
        let Some(p) = &r.sweep else { continue };
        let at = match out.iter().position(|s| s.base == p.base) {
            Some(i) => i,
            None => {
                out.push(Swept {
                    base: p.base.clone(),
                    mode: Mode::ALL.into_iter().find(|m| m.name() == r.mode),
                    parameter: p.parameter,
                    points: Vec::new(),
                });
                out.len() - 1
            }
        };
        let points = &mut out[at].points;
        let k = match points.iter().position(|(v, _)| *v == p.value) {
            Some(k) => k,
            None => {
                points.push((p.value, Vec::new()));
                points.len() - 1
            }
        };
        if r.failure.is_none() {
            points[k].1.push(r);
        }
    }
    for s in &mut out {
        s.points.sort_by_key(|(v, _)| *v);
    }
    out
}

/// A figure drawn against the swept parameter.
struct Figure {
    title: &'static str,
    axis: &'static str,
    value: fn(&RunResult) -> Option<f64>,
    show: fn(f64) -> String,
}

const FIGURES: [Figure; 5] = [
    Figure {
        title: "goodput req/s",
        axis: "goodput, requests per second",
        value: |r| Some(r.throughput_rps),
        show: |v| format!("{v:.1}"),
    },
    Figure {
        title: "ΣPSS peak MiB",
        axis: "ΣPSS peak under load, MiB",
        value: pss_mib,
        show: |v| format!("{v:.0}"),
    },
    Figure {
        title: "ready s",
        axis: "start to ready, seconds",
        value: |r| r.ready_seconds,
        show: |v| format!("{v:.2}"),
    },
    Figure {
        title: "idle CPU cores",
        axis: "idle CPU, cores",
        value: |r| r.idle.map(|i| i.cpu_cores),
        show: |v| format!("{v:.3}"),
    },
    Figure {
        title: "idle ΣPSS MiB",
        axis: "idle ΣPSS peak, MiB",
        value: idle_pss_mib,
        show: |v| format!("{v:.0}"),
    },
];

fn pss_mib(r: &RunResult) -> Option<f64> {
    r.pss_bytes.map(|m| m.peak_bytes as f64 / MIB)
}

fn idle_pss_mib(r: &RunResult) -> Option<f64> {
    r.idle.map(|i| i.pss_peak_bytes as f64 / MIB)
}

/// The median over a point's runs of a figure; None when none knows it.
fn median(runs: &[&RunResult], value: fn(&RunResult) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = runs.iter().filter_map(|r| value(r)).collect();
    stats::median(&v)
}

fn shown(v: Option<f64>, show: fn(f64) -> String) -> String {
    v.map_or_else(|| UNKNOWN.to_owned(), show)
}

/// The line through every run (each repetition its own point) of a figure against the value.
fn fit(s: &Swept<'_>, value: fn(&RunResult) -> Option<f64>) -> Option<Fit> {
    let (xs, ys): (Vec<f64>, Vec<f64>) = s
        .points
        .iter()
        .flat_map(|(n, rs)| {
            rs.iter()
                .filter_map(move |r| Some((f64::from(*n), value(r)?)))
        })
        .unzip();
    stats::linear_fit(&xs, &ys)
}

/// MiB per worker: a thread may cost a fraction of one.
fn per_worker(v: f64) -> String {
    if v.abs() < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// "one more web worker", by parameter.
fn one_more(p: SweepParameter) -> &'static str {
    match p {
        SweepParameter::WebWorkers => "one more web worker",
        SweepParameter::Threads => "one more thread per web worker",
        SweepParameter::TaskWorkers => "one more task worker",
    }
}

/// What one more is in the series' mode: a process, a subinterpreter or a thread.
fn unit(s: &Swept<'_>) -> &'static str {
    s.mode.map_or("a worker", |m| s.parameter.unit(m))
}

/// "gunicorn_celery: one more web worker costs 30.0 MiB (a process) under load, R² 0.999 over
/// 4 runs; 28.5 MiB idle."
fn cost(s: &Swept<'_>) -> String {
    let loaded = fit(s, pss_mib);
    let idle = fit(s, idle_pss_mib);
    let r2 = |f: &Fit| {
        f.r2.map_or_else(|| UNKNOWN.to_owned(), |r| format!("{r:.3}"))
    };
    let head = match &loaded {
        Some(f) => format!(
            "{}: {} costs {} MiB ({}) under load, R² {} over {} runs",
            s.base,
            one_more(s.parameter),
            per_worker(f.slope),
            unit(s),
            r2(f),
            f.n
        ),
        None => format!(
            "{}: what {} ({}) costs is unknown: fewer than two values with a known ΣPSS",
            s.base,
            one_more(s.parameter),
            unit(s)
        ),
    };
    match idle {
        Some(f) => format!(
            "{head}; {} MiB idle (R² {}, {} runs).",
            per_worker(f.slope),
            r2(&f),
            f.n
        ),
        None => format!("{head}; idle {UNKNOWN}."),
    }
}

/// The fit's cells: per worker, fixed, R², n; "—" throughout when there is no line.
fn fit_cells(f: Option<Fit>) -> [String; 4] {
    match f {
        Some(f) => [
            per_worker(f.slope),
            format!("{:.0}", f.intercept),
            f.r2.map_or_else(|| UNKNOWN.to_owned(), |r| format!("{r:.3}")),
            f.n.to_string(),
        ],
        None => [(); 4].map(|_| UNKNOWN.to_owned()),
    }
}

/// What the idle figures are, from the plan's quiet window.
fn idle_text(doc: &Results) -> String {
    let quiet = doc.plan.idle.as_secs_f64();
    if quiet > 0.0 {
        format!(
            "Idle: the deployment over a quiet window of {quiet:.0} s before its warm-up, \
             nothing sent, sampled like the load"
        )
    } else {
        "Idle: no quiet window was asked for (`sampling.idle: 0s`), so the idle cost is unknown"
            .to_owned()
    }
}

/// The sweep's section of summary.md; empty when the results come from no sweep.
pub fn markdown(doc: &Results) -> String {
    let all = series(doc);
    let Some(first) = all.first() else {
        return String::new();
    };
    let p = first.parameter.name();
    let mut out = String::new();
    let _ = writeln!(out, "\n## Scaling with {p}\n");
    let _ = writeln!(
        out,
        "Every deployment once per value of `{p}`; medians over its repetitions, {UNKNOWN}: \
         unknown. Ready: from starting the deployment to its first ready answer. {}.\n",
        idle_text(doc)
    );
    let _ = write!(out, "| deployment | {p} |");
    for f in &FIGURES {
        let _ = write!(out, " {} |", f.title);
    }
    let _ = writeln!(out, "\n|---|---:|{}", "---:|".repeat(FIGURES.len()));
    for s in &all {
        for (n, rs) in &s.points {
            let _ = write!(out, "| {} | {n} |", s.base);
            for f in &FIGURES {
                let _ = write!(out, " {} |", shown(median(rs, f.value), f.show));
            }
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "\nΣPSS = fixed + per worker × {p}, least squares over every run (each repetition a \
         point), under load (peak) and idle:\n"
    );
    let _ = writeln!(
        out,
        "| deployment | one more is | per worker MiB | fixed MiB | R² | n | idle per worker MiB | idle fixed MiB | idle R² | idle n |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for s in &all {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            s.base,
            unit(s),
            fit_cells(fit(s, pss_mib)).join(" | "),
            fit_cells(fit(s, idle_pss_mib)).join(" | ")
        );
    }
    out.push('\n');
    for s in &all {
        let _ = writeln!(out, "- {}", cost(s));
    }
    out
}

/// The sweep's section of report.html (charts against the parameter, the fits, the points);
/// empty when the results come from no sweep.
pub fn html(doc: &Results) -> String {
    let all = series(doc);
    let Some(first) = all.first() else {
        return String::new();
    };
    let p = first.parameter.name();
    let color = |i: usize| PALETTE[i % PALETTE.len()].to_owned();
    let mut out = String::new();
    let _ = write!(
        out,
        "<h2>Scaling with {p}</h2><p class=\"small\">Every deployment once per value of \
         <code>{p}</code>, one line per deployment as the scenario wrote it; medians over its \
         repetitions. Ready: from starting the deployment to its first ready answer. {}.</p>",
        esc(&idle_text(doc))
    );
    out.push_str("<ul>");
    for s in &all {
        let _ = write!(out, "<li>{}</li>", esc(&cost(s)));
    }
    out.push_str("</ul>");
    out.push_str(&legend(
        &all.iter()
            .enumerate()
            .map(|(i, s)| (s.base.clone(), color(i)))
            .collect::<Vec<_>>(),
    ));
    let mut values: Vec<u32> = all
        .iter()
        .flat_map(|s| s.points.iter().map(|(n, _)| *n))
        .collect();
    values.sort_unstable();
    values.dedup();
    out.push_str("<div class=\"grid2\">");
    for f in &FIGURES {
        let lines: Vec<Series> = all
            .iter()
            .enumerate()
            .map(|(i, s)| Series {
                name: s.base.clone(),
                color: color(i),
                points: s
                    .points
                    .iter()
                    .filter_map(|(n, rs)| Some((f64::from(*n), median(rs, f.value)?)))
                    .collect(),
                faint: false,
            })
            .collect();
        let _ = write!(
            out,
            "<figure class=\"figure\"><h3>{} against {p}</h3>",
            f.title
        );
        if lines.iter().all(|l| l.points.is_empty()) {
            let _ = write!(
                out,
                "<p class=\"small\">Unknown in every run ({UNKNOWN}).</p></figure>"
            );
            continue;
        }
        let chart = Lines {
            x_label: p.to_owned(),
            y_label: f.axis.to_owned(),
            series: lines,
            x_ticks: Some(
                values
                    .iter()
                    .map(|&n| (f64::from(n), n.to_string()))
                    .collect(),
            ),
            // A sweep has a handful of points: each is a deployment measured, so each gets a dot.
            dots: true,
            ..Lines::default()
        };
        let _ = write!(
            out,
            "{}</figure>",
            chart.render(&format!("{} against {p}", f.title))
        );
    }
    out.push_str("</div>");
    let _ = write!(
        out,
        "<h3>ΣPSS = fixed + per worker × {p}</h3><div class=\"wide\"><table><tr>\
         <th>deployment</th><th>one more is</th><th>per worker MiB</th><th>fixed MiB</th>\
         <th>R²</th><th>n</th><th>idle per worker MiB</th><th>idle fixed MiB</th>\
         <th>idle R²</th><th>idle n</th></tr>"
    );
    for s in &all {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>",
            esc(&s.base),
            esc(unit(s))
        );
        for c in fit_cells(fit(s, pss_mib))
            .iter()
            .chain(&fit_cells(fit(s, idle_pss_mib)))
        {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str(
        "</table></div><p class=\"small\">Least squares over every run, each repetition a \
         point; R² is the share of ΣPSS's variance the line explains, n the runs fitted.</p>",
    );
    let _ = write!(
        out,
        "<div class=\"wide\"><table><tr><th>deployment</th><th>{p}</th>"
    );
    for f in &FIGURES {
        let _ = write!(out, "<th>{}</th>", f.title);
    }
    out.push_str("</tr>");
    for s in &all {
        for (n, rs) in &s.points {
            let _ = write!(out, "<tr><td>{}</td><td>{n}</td>", esc(&s.base));
            for f in &FIGURES {
                let _ = write!(out, "<td>{}</td>", shown(median(rs, f.value), f.show));
            }
            out.push_str("</tr>");
        }
    }
    out.push_str("</table></div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::testing::{results, run};
    use crate::sample::{Idle, PeakMean};
    use crate::scenario::model::SweepPoint;

    /// A run of `base` at `n` web workers in `mode`, with ΣPSS `pss_mib` under load and
    /// `idle_mib` idle.
    fn point(base: &str, mode: &str, n: u32, pss_mib: f64, idle_mib: f64) -> RunResult {
        let mut r = run(&format!("{base}_web{n}"), 1, 50.0 + n as f64, 5000);
        r.mode = mode.into();
        r.sweep = Some(SweepPoint {
            base: base.into(),
            parameter: SweepParameter::WebWorkers,
            value: n,
        });
        r.pss_bytes = Some(PeakMean {
            peak_bytes: (pss_mib * MIB) as u64,
            mean_bytes: 0,
        });
        r.idle = Some(Idle {
            seconds: 3.0,
            cpu_cores: 0.01 * n as f64,
            pss_peak_bytes: (idle_mib * MIB) as u64,
        });
        r.ready_seconds = Some(1.0 + 0.5 * n as f64);
        r
    }

    fn swept() -> Results {
        let mut runs = Vec::new();
        for n in [1, 2, 4, 8] {
            let x = f64::from(n);
            runs.push(point(
                "gunicorn_celery",
                "gunicorn_celery",
                n,
                100.0 + 30.0 * x,
                90.0 + 28.0 * x,
            ));
        }
        for n in [1, 2, 4, 8] {
            let x = f64::from(n);
            runs.push(point(
                "free_threaded",
                "free_threaded",
                n,
                80.0 + 0.5 * x,
                70.0 + 0.25 * x,
            ));
        }
        results("", runs)
    }

    #[test]
    fn the_fit_says_what_one_more_worker_costs_in_each_mode() {
        let doc = swept();
        let md = super::super::summary_md(&doc);
        assert!(md.contains("## Scaling with web_workers"), "{md}");
        assert!(
            md.contains(
                "- gunicorn_celery: one more web worker costs 30.0 MiB (a process) under load, \
                 R² 1.000 over 4 runs; 28.0 MiB idle (R² 1.000, 4 runs)."
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "- free_threaded: one more web worker costs 0.50 MiB (a thread) under load, \
                 R² 1.000 over 4 runs; 0.25 MiB idle (R² 1.000, 4 runs)."
            ),
            "{md}"
        );
        // The fit's table: per worker, fixed, R², n, under load then idle.
        assert!(
            md.contains(
                "| gunicorn_celery | a process | 30.0 | 100 | 1.000 | 4 | 28.0 | 90 | 1.000 | 4 |"
            ),
            "{md}"
        );
        // Every point, medians: 8 workers of gunicorn_celery.
        assert!(
            md.contains("| gunicorn_celery | 8 | 58.0 | 340 | 5.00 | 0.080 | 314 |"),
            "{md}"
        );
        let page = super::super::html(&doc);
        assert!(page.contains("<h2>Scaling with web_workers</h2>"));
        assert!(page.contains("one more web worker costs 0.50 MiB (a thread)"));
        // Five charts against the parameter, its values as ticks.
        assert_eq!(page.matches("against web_workers\">").count(), 5, "{page}");
        assert!(page.contains("text-anchor=\"middle\">8</text>"));
    }

    #[test]
    fn unknown_figures_are_dashes_and_a_single_value_has_no_line() {
        let mut runs = vec![point("subinterpreters", "subinterpreters", 2, 150.0, 140.0)];
        runs[0].idle = None;
        runs[0].pss_bytes = None;
        let mut failed = point("subinterpreters", "subinterpreters", 4, 170.0, 160.0);
        failed.failure = Some("did not start".into());
        runs.push(failed);
        let md = super::super::summary_md(&results("", runs));
        assert!(
            md.contains("| subinterpreters | 2 | 52.0 | — | 2.00 | — | — |"),
            "{md}"
        );
        // The failed value is a row of unknowns, not zeros.
        assert!(
            md.contains("| subinterpreters | 4 | — | — | — | — | — |"),
            "{md}"
        );
        assert!(
            md.contains("| subinterpreters | a subinterpreter | — | — | — | — | — | — | — | — |"),
            "{md}"
        );
        assert!(
            md.contains(
                "- subinterpreters: what one more web worker (a subinterpreter) costs is unknown"
            ),
            "{md}"
        );
    }

    #[test]
    fn results_without_a_sweep_have_no_scaling_section() {
        let doc = results("", vec![run("a", 1, 100.0, 9000)]);
        assert_eq!(markdown(&doc), "");
        assert_eq!(html(&doc), "");
        assert!(!super::super::summary_md(&doc).contains("Scaling"));
    }
}
