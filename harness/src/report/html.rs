//! report.html: one self-contained page (inline CSS and SVG, no script, no external
//! reference) for a projector and for print: a capacity search's answer first (its table, the
//! latency, CPU and ΣPSS against the offered rate, every trial), the answer in one table
//! (medians with their spread, the best highlighted only as `stats::best` calls it), the load
//! run by run, the charts, the warnings, the environment and the scenario as run.

use std::fmt::Write as _;

use super::faults;
use super::svg::{Bars, Lines, PALETTE, ROLE_COLORS, Rule, Series, legend};
use super::{
    COLUMNS, CapacityRow, Cell, Table, UNKNOWN, capacity_only, error_kinds, interpreter_notes,
    latency, mib, ms, num, percent, python_and_gil, searched_lines, serving_of, task_latency,
    warnings, worker_shares,
};
use crate::capacity::{Capacity, Trial, Verdict};
use crate::results::{Results, RunResult};
use crate::stats::{CV_WARN, median};

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;font-size:20px;
 line-height:1.45;color:#111;background:#fff;margin:0 auto;max-width:1200px;padding:24px 32px}
h1{font-size:40px;margin:0 0 8px}h2{font-size:28px;margin:40px 0 8px;border-bottom:2px solid #ddd}
p.question{font-size:24px;color:#333;margin-top:0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:12px 0;font-size:17px}
.wide{overflow-x:auto}th,td{padding:6px 8px;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
td.best{font-weight:700;background:#e8f3fb}
.cv{display:block;font-size:13px;font-weight:400;color:#666}.cv.noisy{color:#b34700;font-weight:600}
.chart{width:100%;height:auto;display:block}.chart text{font-size:16px;fill:#222}
.chart .axis-title{font-size:17px;font-weight:600}.chart .grid{stroke:#e3e3e3}
.chart .axis{stroke:#444}.legend{margin:4px 0 16px}.legend span{margin-right:22px;white-space:nowrap}
.legend i{display:inline-block;width:18px;height:18px;margin-right:6px;vertical-align:-3px;border-radius:3px}
.small{font-size:16px;color:#444}.warn li{color:#8a3b00}pre{font-size:14px;background:#f6f6f6;padding:12px;overflow:auto}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:12px}
@media print{body{font-size:12pt;max-width:none}h2{break-after:avoid}figure,svg,table{break-inside:avoid}}
";

/// Text made safe for HTML outside attributes (report/svg.rs also quotes `"` for its
/// attributes).
pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn figure(out: &mut String, title: &str, body: &str, caption: &str) {
    let _ = write!(
        out,
        "<figure class=\"figure\"><h3>{}</h3>{body}<figcaption class=\"small\">{}</figcaption></figure>",
        esc(title),
        esc(caption)
    );
}

pub fn html(doc: &Results) -> String {
    let deployments = doc.by_deployment();
    let name = doc.name();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>djbench: {}</title><style>{CSS}</style></head><body>",
        esc(name)
    );
    let _ = write!(out, "<h1>djbench: {}</h1>", esc(name));
    let description = doc.scenario.description.trim();
    if !description.is_empty() {
        let _ = write!(out, "<p class=\"question\">{}</p>", esc(description));
    }

    if !doc.capacity.is_empty() {
        capacity(&mut out, doc);
    }
    // A capacity search's runs measured no load of their own: their table and charts would be
    // a wall of unknowns.
    if !capacity_only(doc) {
        measured(&mut out, doc);
    }

    let w = warnings(doc);
    out.push_str("<h2>Warnings</h2>");
    if w.is_empty() {
        out.push_str("<p>None.</p>");
    } else {
        out.push_str("<ul class=\"warn\">");
        for line in w {
            let _ = write!(out, "<li>{}</li>", esc(&line));
        }
        out.push_str("</ul>");
    }
    let broken = crate::compare::thresholds(doc);
    if !broken.is_empty() {
        out.push_str("<h2>Thresholds broken</h2><ul class=\"warn\">");
        for x in broken {
            let _ = write!(
                out,
                "<li>{} <code>{}</code>: {} (limit {})</li>",
                esc(&x.who()),
                x.threshold,
                esc(&x.measured),
                esc(&x.limit)
            );
        }
        out.push_str("</ul>");
    }

    out.push_str("<h2>Environment</h2><table>");
    let host = &doc.host;
    for (k, v) in [
        (
            "djbench",
            format!(
                "{} ({})",
                doc.djbench.version,
                doc.djbench
                    .git_revision
                    .as_deref()
                    .unwrap_or("no git revision")
            ),
        ),
        ("CPU", format!("{}, {} cores", host.cpu, host.cores)),
        (
            "memory",
            format!("{:.1} GiB", host.memory_bytes as f64 / 1073741824.0),
        ),
        ("kernel", host.kernel.clone()),
    ] {
        let _ = write!(
            out,
            "<tr><td>{k}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(&v)
        );
    }
    out.push_str("</table><table><tr><th>deployment</th><th>mode</th><th>server</th><th>python</th><th>build</th><th>Django</th><th>psycopg</th></tr>");
    for (label, rs) in &deployments {
        let Some(r) = rs.first() else { continue };
        let i = &r.interpreter;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\" class=\"small\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(label),
            esc(&r.mode),
            esc(r.server.as_deref().unwrap_or("-")),
            esc(&i.version),
            esc(i.config_args.as_deref().unwrap_or("-")),
            esc(r.django.as_deref().unwrap_or("-")),
            esc(r.psycopg.as_deref().unwrap_or("-")),
        );
    }
    out.push_str("</table>");
    for line in super::project_lines(doc) {
        let _ = write!(
            out,
            "<p class=\"small\">{}</p>",
            esc(&line.replace("**", ""))
        );
    }
    // The login every run did before its load: the pages measured were a logged-in user's.
    let logins: std::collections::BTreeSet<String> = (doc.runs.iter())
        .filter_map(|r| r.login.as_ref())
        .map(|l| {
            format!(
                "POST {} as {} answered {}; cookies sent with every request: {}",
                l.url,
                l.username,
                l.status,
                l.cookies.join(", ")
            )
        })
        .collect();
    for l in logins {
        let _ = write!(
            out,
            "<p class=\"small\">Login before each load: {}.</p>",
            esc(&l)
        );
    }
    let _ = write!(
        out,
        "<h2>The scenario as run</h2><pre>{}</pre>",
        esc(&serde_json::to_string_pretty(&doc.scenario).unwrap_or_default())
    );
    out.push_str("</body></html>\n");
    out
}

/// What the runs measured: the answer in one table, whether the comparison is fair, the load
/// run by run, and the charts.
fn measured(out: &mut String, doc: &Results) {
    let deployments = doc.by_deployment();
    let color = |i: usize| PALETTE[i % PALETTE.len()].to_owned();
    let names: Vec<(String, String)> = deployments
        .iter()
        .enumerate()
        .map(|(i, (l, _))| (l.clone(), color(i)))
        .collect();
    // The answer in one table.
    let table = Table::of(&deployments);
    out.push_str("<h2>The answer</h2>");
    if let Some(n) = faults::note(doc) {
        let _ = write!(out, "<p class=\"warn\"><strong>{}</strong></p>", esc(&n));
    }
    out.push_str(
        "<div class=\"wide\"><table><tr><th>deployment</th><th>python</th><th>GIL</th><th>server</th><th>workers</th>",
    );
    for &i in &table.shown {
        let _ = write!(out, "<th>{}</th>", esc(COLUMNS[i].title));
    }
    out.push_str("</tr>");
    for (d, (label, rs)) in deployments.iter().enumerate() {
        let (python, gil) = python_and_gil(rs);
        let (server, shape) = serving_of(rs);
        let _ = write!(
            out,
            "<tr><td><i style=\"display:inline-block;width:14px;height:14px;background:{};margin-right:8px\"></i>{}</td><td>{python}</td><td>{gil}</td><td>{}</td><td>{}</td>",
            color(d),
            esc(&format!("{label}{}", faults::mark(rs))),
            esc(&server),
            esc(&shape)
        );
        for &i in &table.shown {
            match table.cell(d, i) {
                Cell::TasksUnknown => out.push_str("<td>unknown</td>"),
                Cell::NoTasks => out.push_str("<td>-</td>"),
                Cell::Unknown => {
                    let _ = write!(out, "<td>{UNKNOWN}</td>");
                }
                Cell::Value { median, cv, best } => {
                    let class = if best { " class=\"best\"" } else { "" };
                    let n = table.values[d][i].len();
                    let spread = match cv {
                        Some(cv) => format!(
                            "<span class=\"cv{}\" title=\"coefficient of variation across {n} \
                             repetitions: {:.1}%\">±{}</span>",
                            if cv > CV_WARN { " noisy" } else { "" },
                            cv * 100.0,
                            percent(cv)
                        ),
                        None => String::new(),
                    };
                    let _ = write!(out, "<td{class}>{}{spread}</td>", (COLUMNS[i].show)(median));
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></div>");
    let _ = write!(
        out,
        "<p class=\"small\">{}{}. {}; {UNKNOWN}: unknown.</p>",
        esc(&table.medians_over()),
        esc(&table.spread_text(", orange when noisy")),
        esc(&capitalized(&table.best_text("highlighted"))),
    );
    let leads = table.leads(&deployments);
    if !leads.is_empty() {
        out.push_str("<ul class=\"small\">");
        for n in &leads {
            let _ = write!(out, "<li>best: {}</li>", esc(n));
        }
        out.push_str("</ul>");
    }
    // Which rows share an interpreter: in words a reader cannot miss, right under the table.
    let parity = interpreter_notes(doc);
    if !parity.is_empty() {
        out.push_str("<ul class=\"warn\">");
        for n in &parity {
            let _ = write!(out, "<li><strong>{}</strong></li>", esc(n));
        }
        out.push_str("</ul>");
    }

    fairness(out, doc);
    loads(out, doc);
    out.push_str(&super::scaling::html(doc));
    out.push_str(&faults::html(doc));

    out.push_str("<h2>Charts</h2>");
    // Each fault on the charts over time: the runs drawn, in their deployment's colour.
    let fault_runs = faults::any(doc);
    let marks = |runs: Vec<(&RunResult, String)>| {
        let named = runs.iter().filter(|(r, _)| r.fault_run()).count() > 1;
        faults::marks(&runs, named)
    };
    out.push_str(&legend(&names));

    // Throughput over time.
    let mut series = Vec::new();
    for (d, (label, rs)) in deployments.iter().enumerate() {
        for (k, r) in rs.iter().enumerate() {
            // The last row holds the in-flight tail after the window: not a whole second.
            let whole = r.load.as_ref().map_or(f64::MAX, |l| l.measured_seconds);
            let points = r
                .load
                .iter()
                .flat_map(|l| &l.seconds)
                .filter(|s| s.path == "*")
                .filter(|s| s.second as f64 + 1.0 <= whole + 1e-9)
                .map(|s| (s.second as f64, s.count as f64))
                .collect();
            series.push(Series {
                name: format!("{label} #{}", k + 1),
                color: color(d),
                points,
                faint: k > 0,
            });
        }
    }
    let (x_rules, x_spans) = marks(
        (deployments.iter().enumerate())
            .flat_map(|(d, (_, rs))| rs.iter().map(move |r| (*r, color(d))))
            .collect(),
    );
    figure(
        out,
        "Throughput over time",
        &Lines {
            x_label: "second of the measured window".into(),
            y_label: "requests per second".into(),
            series,
            x_ticks: None,
            stacked: false,
            x_rules,
            x_spans,
            ..Lines::default()
        }
        .render("Throughput over time"),
        if fault_runs {
            "Each repetition is a line; the first is drawn bold. Dashed lines: faults; shaded: \
             stalls."
        } else {
            "Each repetition is a line; the first is drawn bold."
        },
    );

    // Latency spectrum on a log-percentile axis.
    let quantiles: [(Quantile, f64, &str); 5] = [
        (|l| l.p50, 0.5, "50%"),
        (|l| l.p90, 0.9, "90%"),
        (|l| l.p99, 0.99, "99%"),
        (|l| l.p999, 0.999, "99.9%"),
        (|l| l.max, 0.9999, "max"),
    ];
    let xq = |q: f64| (1.0 / (1.0 - q)).log10();
    let series = deployments
        .iter()
        .enumerate()
        .map(|(d, (label, rs))| Series {
            name: label.clone(),
            color: color(d),
            points: quantiles
                .iter()
                .filter_map(|(k, q, _)| {
                    let v: Vec<f64> = rs.iter().filter_map(|r| latency(r, *k)).collect();
                    median(&v).map(|m| (xq(*q), m / 1000.0))
                })
                .collect(),
            faint: false,
        })
        .collect();
    figure(
        out,
        "Latency by percentile",
        &Lines {
            x_label: "percentile (log scale toward the tail)".into(),
            y_label: "latency, ms".into(),
            series,
            x_ticks: Some(
                quantiles
                    .iter()
                    .map(|(_, q, l)| (xq(*q), (*l).to_owned()))
                    .collect(),
            ),
            stacked: false,
            ..Lines::default()
        }
        .render("Latency by percentile"),
        "Web requests, medians over repetitions. Open loops count from each request's intended send time.",
    );

    // ΣPSS over time, stacked by role: one chart per deployment (first repetition).
    let roles = ["web", "tasks", "broker", "app"];
    out.push_str("<h3>ΣPSS over time, by role</h3>");
    out.push_str(&legend(
        &roles
            .iter()
            .enumerate()
            .map(|(i, r)| ((*r).to_owned(), ROLE_COLORS[i].to_owned()))
            .collect::<Vec<_>>(),
    ));
    out.push_str("<div class=\"grid2\">");
    for (d, (label, rs)) in deployments.iter().enumerate() {
        let Some(r) = rs.first() else { continue };
        let (x_rules, x_spans) = marks(vec![(*r, color(d))]);
        let pts: &[crate::sample::Point] = r.memory.as_ref().map_or(&[], |m| &m.pss_series);
        let series = roles
            .iter()
            .enumerate()
            .filter(|(_, role)| pts.iter().any(|p| p.bytes_by_role.contains_key(**role)))
            .map(|(i, role)| Series {
                name: (*role).to_owned(),
                color: ROLE_COLORS[i].to_owned(),
                points: pts
                    .iter()
                    .map(|p| {
                        (
                            p.t,
                            p.bytes_by_role.get(*role).copied().unwrap_or(0) as f64 / 1048576.0,
                        )
                    })
                    .collect(),
                faint: false,
            })
            .collect();
        figure(
            out,
            label,
            &Lines {
                x_label: "second".into(),
                y_label: "ΣPSS, MiB".into(),
                series,
                x_ticks: None,
                stacked: true,
                x_rules,
                x_spans,
                ..Lines::default()
            }
            .render(&format!("ΣPSS of {label}")),
            "",
        );
    }
    out.push_str("</div>");

    // CPU over time.
    let series: Vec<Series> = deployments
        .iter()
        .enumerate()
        .map(|(d, (label, rs))| Series {
            name: label.clone(),
            color: color(d),
            points: rs
                .first()
                .and_then(|r| r.memory.as_ref())
                .into_iter()
                .flat_map(|m| &m.cpu_series)
                .map(|p| (p.t, p.cores_by_role.values().sum()))
                .collect(),
            faint: false,
        })
        .collect();
    let (x_rules, x_spans) = marks(
        (deployments.iter().enumerate())
            .filter_map(|(d, (_, rs))| Some((*rs.first()?, color(d))))
            .collect(),
    );
    if series.iter().all(|s| s.points.is_empty()) {
        out.push_str(
            "<h3>CPU over time</h3><p class=\"small\">No CPU series in these results (they \
             predate djbench recording one); the table has the average.</p>",
        );
    } else {
        figure(
            out,
            "CPU over time",
            &Lines {
                x_label: "second of the measured window".into(),
                y_label: "CPU cores used".into(),
                series,
                x_ticks: None,
                stacked: false,
                x_rules,
                x_spans,
                ..Lines::default()
            }
            .render("CPU over time"),
            "Every process of the deployment, first repetition.",
        );
    }

    // Task latency.
    let tasked: Vec<usize> = (0..deployments.len())
        .filter(|&d| table.with_tasks[d])
        .collect();
    if !tasked.is_empty() {
        let pcts: [(Quantile, &str); 4] = [
            (|l| l.p50, "p50"),
            (|l| l.p90, "p90"),
            (|l| l.p99, "p99"),
            (|l| l.max, "max"),
        ];
        let series = pcts
            .iter()
            .enumerate()
            .map(|(i, (k, name))| {
                (
                    format!("enqueue→finish {name}"),
                    PALETTE[(i + 4) % PALETTE.len()].to_owned(),
                    tasked
                        .iter()
                        .map(|&d| {
                            let v: Vec<f64> = deployments[d]
                                .1
                                .iter()
                                .filter_map(|r| task_latency(r, *k))
                                .collect();
                            median(&v).map(|m| m / 1000.0)
                        })
                        .collect(),
                )
            })
            .collect::<Vec<_>>();
        let entries: Vec<(String, String)> =
            series.iter().map(|s| (s.0.clone(), s.1.clone())).collect();
        figure(
            out,
            "Background task latency",
            &format!(
                "{}{}",
                legend(&entries),
                Bars {
                    y_label: "enqueue→finish, ms".into(),
                    groups: tasked.iter().map(|&d| deployments[d].0.clone()).collect(),
                    series,
                }
                .render("Background task latency")
            ),
            "From the moment the app enqueued a task to the moment a worker finished it.",
        );
    }

    // Per-endpoint latency.
    let mut paths: Vec<String> = Vec::new();
    for (_, rs) in &deployments {
        for r in rs {
            for e in r.load.iter().flat_map(|l| &l.endpoints) {
                if !paths.contains(&e.path) {
                    paths.push(e.path.clone());
                }
            }
        }
    }
    let series = deployments
        .iter()
        .enumerate()
        .map(|(d, (label, rs))| {
            (
                label.clone(),
                color(d),
                paths
                    .iter()
                    .map(|p| {
                        let v: Vec<f64> = rs
                            .iter()
                            .flat_map(|r| r.load.iter().flat_map(|l| &l.endpoints))
                            .filter(|e| e.path == *p)
                            // An endpoint none of whose requests succeeded has no latency.
                            .filter(|e| e.requests > e.errors)
                            .filter_map(|e| e.latency_us.map(|l| l.p99 as f64))
                            .collect();
                        median(&v).map(|m| m / 1000.0)
                    })
                    .collect(),
            )
        })
        .collect();
    figure(
        out,
        "p99 latency per endpoint",
        &Bars {
            y_label: "p99, ms".into(),
            groups: paths,
            series,
        }
        .render("p99 latency per endpoint"),
        "",
    );

    // Web latency with and without background tasks, for modes run both ways.
    let mut pairs: Vec<(String, usize, usize)> = Vec::new();
    for (d, (_, rs)) in deployments.iter().enumerate() {
        let mode = rs.first().map_or("", |r| r.mode.as_str());
        if !table.with_tasks[d] || pairs.iter().any(|p| p.0 == mode) {
            continue;
        }
        if let Some(q) = (0..deployments.len()).find(|&e| {
            !table.with_tasks[e] && deployments[e].1.first().map(|r| r.mode.as_str()) == Some(mode)
        }) {
            pairs.push((mode.to_owned(), d, q));
        }
    }
    if pairs.is_empty() {
        out.push_str(
            "<p class=\"small\">Web latency with and without background tasks: this scenario \
             runs no mode both ways (the task_interference and talk_demo scenarios do).</p>",
        );
    } else {
        let p99 = |d: usize| {
            let v: Vec<f64> = deployments[d]
                .1
                .iter()
                .filter_map(|r| latency(r, |l| l.p99))
                .collect();
            median(&v).map(|m| m / 1000.0)
        };
        let series = vec![
            (
                "with background tasks".to_owned(),
                PALETTE[5].to_owned(),
                pairs.iter().map(|p| p99(p.1)).collect(),
            ),
            (
                "without".to_owned(),
                PALETTE[4].to_owned(),
                pairs.iter().map(|p| p99(p.2)).collect(),
            ),
        ];
        let entries: Vec<(String, String)> =
            series.iter().map(|s| (s.0.clone(), s.1.clone())).collect();
        figure(
            out,
            "Web p99 with and without background tasks",
            &format!(
                "{}{}",
                legend(&entries),
                Bars {
                    y_label: "web p99, ms".into(),
                    groups: pairs.iter().map(|p| p.0.clone()).collect(),
                    series,
                }
                .render("Web p99 with and without background tasks")
            ),
            "The same mode deployed twice: once with the scenario's background tasks, once quiet.",
        );
    }
}

/// One figure of a latency histogram (`|l| l.p99`).
type Quantile = fn(&crate::load::Latency) -> u64;

/// Each offered rate's median of `value` over its trials, in order of rate; a rate none of whose
/// trials knows it is left out, and so are trials where djbench's generator saturated (their
/// figures measure djbench, not the deployment) or other programs disturbed the machine.
fn per_rate(trials: &[Trial], value: impl Fn(&Trial) -> Option<f64>) -> Vec<(f64, f64)> {
    let usable = || {
        trials
            .iter()
            .filter(|t| matches!(t.verdict, Verdict::Pass | Verdict::Fail))
    };
    let mut rates: Vec<f64> = usable().map(|t| t.offered_rps).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    rates
        .into_iter()
        .filter_map(|rate| {
            let v: Vec<f64> = usable()
                .filter(|t| t.offered_rps == rate)
                .filter_map(&value)
                .collect();
            median(&v).map(|m| (rate, m))
        })
        .collect()
}

/// A dashed vertical line at each capacity found, in its deployment's colour.
fn capacity_marks(doc: &Results) -> Vec<Rule> {
    doc.capacity
        .iter()
        .enumerate()
        .filter_map(|(d, c)| {
            Some(Rule {
                at: c.capacity_rps?,
                label: format!("{}: {:.1} req/s", c.label, c.capacity_rps?),
                color: PALETTE[d % PALETTE.len()].to_owned(),
            })
        })
        .collect()
}

/// One series per searched deployment of `value` against the offered rate.
fn per_deployment(doc: &Results, value: impl Fn(&Trial) -> Option<f64> + Copy) -> Vec<Series> {
    doc.capacity
        .iter()
        .enumerate()
        .map(|(d, c)| Series {
            name: c.label.clone(),
            color: PALETTE[d % PALETTE.len()].to_owned(),
            points: per_rate(&c.trials, value),
            faint: false,
        })
        .collect()
}

/// The capacity section: the SLO, a row per deployment, latency, CPU and ΣPSS against the
/// offered rate, and every trial.
fn capacity(out: &mut String, doc: &Results) {
    let color = |d: usize| PALETTE[d % PALETTE.len()];
    out.push_str("<h2>Capacity under the SLO</h2>");
    for line in searched_lines(doc) {
        let _ = write!(out, "<p class=\"small\">{}</p>", esc(&line));
    }
    out.push_str(
        "<div class=\"wide\"><table><tr><th>deployment</th><th>capacity req/s</th>\
         <th>passes at</th><th>fails at</th><th>gap</th><th>p99 ms at capacity</th>\
         <th>CPU cores</th><th>ΣPSS peak MiB</th><th>req/s per core</th>\
         <th>req/s per GiB ΣPSS</th><th>trials</th><th>machine speed</th><th>search s</th>\
         <th>ready s</th><th>search ended</th></tr>",
    );
    let deployments = doc.by_deployment();
    for (d, c) in doc.capacity.iter().enumerate() {
        let r = CapacityRow::of(c);
        // What the deployment was, from its run: the server, its shape and the GIL.
        let facts = deployments
            .iter()
            .find(|(l, _)| *l == c.label)
            .map(|(_, rs)| {
                let (python, gil) = python_and_gil(rs);
                let (server, shape) = serving_of(rs);
                let python = format!("Python {python}, GIL {gil}");
                // "-" is a fact the run did not record: left out rather than shown as a dash.
                [server, shape, python]
                    .into_iter()
                    .filter(|f| f != "-")
                    .collect::<Vec<_>>()
                    .join(" · ")
            })
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td><i style=\"display:inline-block;width:14px;height:14px;background:{};margin-right:8px\"></i>{}\
             <span class=\"cv\">{}</span></td><td><strong>{}</strong></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td style=\"text-align:left\" class=\"small\">{}</td></tr>",
            color(d),
            esc(&c.label),
            esc(&facts),
            r.capacity,
            r.passes,
            r.fails,
            r.gap,
            r.p99_ms,
            r.cpu,
            r.pss_mib,
            r.per_core,
            r.per_gib,
            r.trials,
            r.machine,
            r.search_seconds,
            r.ready_seconds,
            esc(&r.ended),
        );
    }
    let _ = write!(
        out,
        "</table></div><p class=\"small\">Capacity: the last passing load once the search \
         converged ({UNKNOWN} otherwise: the search ended says why, and the bounds say what is \
         known); gap: how far above it the first failing load lay, so the capacity lies between \
         the two. The figures at capacity are the last passing trial's there; CPU and ΣPSS are \
         the whole deployment's over the trial's window ({UNKNOWN}: not sampled). Machine \
         speed: djbench's fixed calibration workload on every core, in units/s, around each \
         search (the mean of before and after, and how far it moved); a trial during which other \
         programs or the hypervisor took more than 5% of the machine is disturbed and run \
         again.</p>"
    );
    let warnings = super::machine_warnings(doc);
    if !warnings.is_empty() {
        out.push_str("<ul class=\"warn\">");
        for w in warnings {
            let _ = write!(out, "<li>{}</li>", esc(&w));
        }
        out.push_str("</ul>");
    }

    let names: Vec<(String, String)> = doc
        .capacity
        .iter()
        .enumerate()
        .map(|(d, c)| (c.label.clone(), color(d).to_owned()))
        .collect();
    let marks = capacity_marks(doc);
    // p99 bold and p50 thin, one colour per deployment.
    let mut series = Vec::new();
    for (d, c) in doc.capacity.iter().enumerate() {
        let quantiles: [(Quantile, &str, bool); 2] =
            [(|l| l.p99, "p99", false), (|l| l.p50, "p50", true)];
        for (q, name, faint) in quantiles {
            series.push(Series {
                name: format!("{} {name}", c.label),
                color: color(d).to_owned(),
                points: per_rate(&c.trials, |t| t.latency_us.map(|l| q(&l) as f64 / 1000.0)),
                faint,
            });
        }
    }
    out.push_str(&legend(&names));
    if series.iter().all(|s| s.points.is_empty()) {
        out.push_str("<p class=\"small\">No trial measured a latency: nothing to chart.</p>");
    } else {
        let mut bounds: Vec<u64> = doc.capacity.iter().map(|c| c.searched.slo.p99_us).collect();
        bounds.sort_unstable();
        bounds.dedup();
        let title = "Latency against the offered rate";
        figure(
            out,
            title,
            &Lines {
                x_label: "offered rate, req/s".into(),
                y_label: "latency, ms (log scale)".into(),
                series,
                log_y: true,
                y_rules: bounds
                    .iter()
                    .map(|&b| Rule {
                        at: b as f64 / 1000.0,
                        label: format!("SLO: p99 ≤ {} ms", num(b as f64 / 1000.0)),
                        color: "#222".into(),
                    })
                    .collect(),
                x_rules: marks.clone(),
                dots: true,
                ..Lines::default()
            }
            .render(title),
            "p99 (thick) and p50 (thin) of every request of a trial's window, failures \
             included; each point is the median over the trials at that offered rate (a load \
             near the boundary is tried more than once), trials where djbench's generator \
             saturated or other programs disturbed the machine left out. The dashed horizontal line is the SLO's p99 bound; each dashed \
             vertical line is a deployment's capacity, where its search converged.",
        );
    }
    type Figure = fn(&Trial) -> Option<f64>;
    let cost: [(&str, &str, Figure); 2] = [
        ("CPU against the offered rate", "CPU cores used", |t| {
            t.cpu_cores
        }),
        (
            "Peak ΣPSS against the offered rate",
            "peak ΣPSS, MiB",
            |t| t.pss_peak_bytes.map(|b| b as f64 / 1048576.0),
        ),
    ];
    let charts: Vec<String> = cost
        .iter()
        .filter_map(|(title, y_label, value)| {
            let series = per_deployment(doc, *value);
            if series.iter().all(|s| s.points.is_empty()) {
                return None;
            }
            let mut fig = String::new();
            figure(
                &mut fig,
                title,
                &Lines {
                    x_label: "offered rate, req/s".into(),
                    y_label: (*y_label).into(),
                    series,
                    x_rules: marks.clone(),
                    dots: true,
                    ..Lines::default()
                }
                .render(title),
                "The whole deployment over each trial's window, median per offered rate; a \
                 deployment that was not sampled has no points.",
            );
            Some(fig)
        })
        .collect();
    if charts.is_empty() {
        out.push_str(
            "<p class=\"small\">CPU and ΣPSS against the offered rate: no trial sampled the \
             deployment.</p>",
        );
    } else {
        let _ = write!(out, "<div class=\"grid2\">{}</div>", charts.concat());
    }
    trials(out, &doc.capacity);
}

/// Every trial of every search, in the order run.
fn trials(out: &mut String, found: &[Capacity]) {
    out.push_str(
        "<h3>Every trial</h3><div class=\"wide\"><table><tr><th>deployment</th><th>step</th>\
         <th>offered req/s</th><th>sent req/s</th><th>completed req/s</th><th>goodput req/s</th>\
         <th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>error rate</th>\
         <th>CPU cores</th><th>ΣPSS peak MiB</th><th>verdict</th></tr>",
    );
    let rate = |v: f64| format!("{v:.1}");
    for c in found {
        for t in &c.trials {
            let q = |at: fn(&crate::load::Latency) -> u64| {
                t.latency_us
                    .map_or(UNKNOWN.to_owned(), |l| ms(at(&l) as f64))
            };
            let step = match t.phase {
                crate::capacity::Phase::Ramp => "ramp",
                crate::capacity::Phase::Bisect => "bisect",
                crate::capacity::Phase::Repeat => "again",
            };
            let verdict = match t.verdict {
                Verdict::Pass => "pass".to_owned(),
                Verdict::Fail => format!("<strong>fail</strong>: {}", esc(&t.reasons.join("; "))),
                Verdict::Saturated => {
                    format!("<strong>unusable</strong>: {}", esc(&t.reasons.join("; ")))
                }
                Verdict::Disturbed => {
                    format!("<strong>disturbed</strong>: {}", esc(&t.reasons.join("; ")))
                }
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{step}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td style=\"text-align:left\" class=\"small\">{verdict}</td></tr>",
                esc(&c.label),
                rate(t.offered_rps),
                t.sent_rps.map_or(UNKNOWN.to_owned(), rate),
                rate(t.completed_rps),
                rate(t.goodput_rps),
                q(|l| l.p50),
                q(|l| l.p90),
                q(|l| l.p99),
                q(|l| l.p999),
                t.error_rate
                    .map_or(UNKNOWN.to_owned(), |e| format!("{:.2}%", e * 100.0)),
                t.cpu_cores
                    .map_or(UNKNOWN.to_owned(), |c| format!("{c:.2}")),
                t.pss_peak_bytes
                    .map_or(UNKNOWN.to_owned(), |b| mib(b as f64)),
            );
        }
    }
    out.push_str(
        "</table></div><p class=\"small\">Sent: requests that left inside the window, per \
         second of it; completed: every response or failure that finished inside it; goodput: \
         the responses as expected among them (below 400, or the endpoint's \
         <code>status</code>). Latency is every request of the window, failures included (at \
         the time they were given up). A verdict names every SLO bound the trial broke; \
         unusable: djbench's generator saturated, neither pass nor fail; disturbed: other \
         programs or the hypervisor took more than the search's bound of the machine, neither \
         pass nor fail, and the load was tried again.</p>",
    );
}

/// `s` with a capital first letter, to open a sentence.
fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

/// The loads run by run: what was offered and what came back, and the background task load's
/// own `/enqueue` requests (a failed one is a task never enqueued).
fn loads(out: &mut String, doc: &Results) {
    out.push_str(
        "<h2>The load, run by run</h2><div class=\"wide\"><table><tr><th>run</th><th>load</th>\
         <th>intended · sent req/s</th><th>completed req/s</th><th>goodput req/s</th>\
         <th>error rate</th><th>failed requests</th><th>task load: /enqueue sent</th>\
         <th>/enqueue failed</th><th>/enqueue p99 ms</th></tr>",
    );
    let rate = |v: f64| format!("{v:.1}");
    for r in doc.runs.iter().filter(|r: &&RunResult| r.failure.is_none()) {
        let l = r.load.as_ref();
        let t = r.task_load.as_ref();
        let model = l.map_or(UNKNOWN.to_owned(), |l| match l.model {
            crate::load::Model::Closed { connections } => {
                format!("closed, {connections} connections")
            }
            crate::load::Model::Open { poisson, .. } => {
                format!("open, {}", if poisson { "Poisson" } else { "uniform" })
            }
        });
        let offered = l
            .and_then(|l| l.open_loop.as_ref())
            .map_or("-".to_owned(), |o| {
                format!("{} · {}", rate(o.intended_rps), rate(o.sent_rps))
            });
        let failed = |l: Option<&crate::load::LoadReport>| {
            l.map_or(UNKNOWN.to_owned(), |l| {
                if l.errors == 0 {
                    "0".to_owned()
                } else {
                    format!("{} ({})", l.errors, error_kinds(l))
                }
            })
        };
        let _ = write!(
            out,
            "<tr><td>{} #{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"small\">{}</td><td>{}</td><td class=\"small\">{}</td><td>{}</td></tr>",
            esc(&r.label),
            r.repetition,
            esc(&model),
            offered,
            l.map_or(UNKNOWN.to_owned(), |l| rate(l.completed_rps)),
            rate(r.throughput_rps),
            r.error_rate
                .map_or(UNKNOWN.to_owned(), |e| format!("{:.2}%", e * 100.0)),
            esc(&failed(l)),
            t.map_or("-".to_owned(), |t| t.requests.to_string()),
            t.map_or("-".to_owned(), |t| esc(&failed(Some(t)))),
            t.map_or("-".to_owned(), |t| t.latency_us.map_or(
                UNKNOWN.to_owned(),
                |q| format!("{:.2}", q.p99 as f64 / 1000.0)
            )),
        );
    }
    out.push_str(
        "</table></div><p class=\"small\">Goodput: responses as expected (below 400, or the \
         endpoint's <code>status</code>) that finished inside the window, per second; \
         completed: every response or failure that finished inside it. An open loop offers its intended rate whatever the server does; a closed loop has no \
         intended rate (-). The task load is the background load's own <code>/enqueue</code> \
         requests (-: none recorded).</p>",
    );
}

/// What makes rows comparable, run by run: how each served (shape, dispatch, backlog as the
/// kernel had it), keep-alive, each web worker's share, and djbench's own CPU by part.
fn fairness(out: &mut String, doc: &Results) {
    out.push_str(
        "<h2>Is the comparison fair?</h2><div class=\"wide\"><table><tr><th>run</th>\
         <th>serving</th><th>how a connection reaches a worker</th><th>backlog</th>\
         <th>conn/req</th><th>web workers' shares</th><th>harness % of machine</th>\
         <th>of which: web load · task load · sampler · scenario · rest (CPU s)</th></tr>",
    );
    for r in doc.runs.iter().filter(|r: &&RunResult| r.failure.is_none()) {
        let shares = worker_shares(r);
        let backlogs: Vec<String> = r
            .listening
            .iter()
            .flatten()
            .map(|l| l.backlog.to_string())
            .collect();
        let h = r.harness.as_ref();
        let secs = |k: fn(&crate::sample::HarnessCpu) -> f64| {
            h.map_or("?".to_owned(), |h| format!("{:.2}", k(h)))
        };
        let _ = write!(
            out,
            "<tr><td>{} #{}</td><td>{} · {}</td><td style=\"text-align:left\" class=\"small\">{}</td>\
             <td>{}</td><td>{}</td><td style=\"text-align:left\" class=\"small\">{} (spread {})</td>\
             <td>{}</td><td class=\"small\">{} · {} · {} · {} · {}</td></tr>",
            esc(&r.label),
            r.repetition,
            esc(r.server.as_deref().unwrap_or("-")),
            esc(r.serving_shape.as_deref().unwrap_or("-")),
            esc(r.serving.as_ref().map_or("-", |s| s.dispatch.as_str())),
            if backlogs.is_empty() {
                "unknown".to_owned()
            } else {
                backlogs.join(", ")
            },
            r.connections_per_request
                .map_or("unknown".to_owned(), |c| format!("{c:.2}")),
            if shares.is_empty() {
                "unknown".to_owned()
            } else {
                esc(&shares.join(", "))
            },
            r.workers.as_ref().map_or("unknown".to_owned(), |w| format!(
                "{:.0}%",
                w.max_deviation * 100.0
            )),
            h.map_or("unknown".to_owned(), |h| format!(
                "{:.1}%",
                h.share_of_machine * 100.0
            )),
            secs(|h| h.web_load_seconds),
            secs(|h| h.task_load_seconds),
            secs(|h| h.sampler_seconds),
            secs(|h| h.orchestration_seconds),
            secs(|h| h.other_seconds),
        );
    }
    out.push_str(
        "</table></div><p class=\"small\">A worker's share is its part of the measured window's \
         responses, named by the app's X-Djbench-Worker header; spread is the furthest any share \
         lies from a fair one (a warning above 25%). conn/req: connections the generator opened \
         per request (0 with keep-alive, 1 when the server closes every connection).</p>",
    );
}
