//! What people read after a run, built from results.json alone: report.html (html.rs, with
//! SVG charts from svg.rs) and summary.md, the headline
//! table (one row per deployment, medians over repetitions, best value per column in bold)
//! and the warnings, fit for a pull-request comment and for the terminal. It re-reads what was
//! measured; it never measures, and never changes results.json.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::compare::median;
use crate::results::by_deployment;

mod html;
mod svg;

pub use html::html;
/// The colours of deployments and of roles, shared with the live view.
pub use svg::{PALETTE, ROLE_COLORS};

/// One column of the headline table.
struct Column {
    title: &'static str,
    path: &'static [&'static str],
    /// Some(true): higher is better; Some(false): lower is better; None: not ranked.
    higher_better: Option<bool>,
    show: fn(f64) -> String,
}

fn ms(v: f64) -> String {
    format!("{:.2}", v / 1000.0)
}

fn mib(v: f64) -> String {
    format!("{:.0}", v / 1048576.0)
}

const COLUMNS: &[Column] = &[
    Column {
        title: "req/s",
        path: &["throughput_rps"],
        higher_better: Some(true),
        show: |v| format!("{v:.0}"),
    },
    Column {
        title: "p50 ms",
        path: &["latency_us", "p50"],
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "p99 ms",
        path: &["latency_us", "p99"],
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "p99.9 ms",
        path: &["latency_us", "p999"],
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "errors",
        path: &["errors"],
        higher_better: Some(false),
        show: |v| format!("{v:.0}"),
    },
    Column {
        title: "ΣPSS peak MiB",
        path: &["pss_bytes", "peak_bytes"],
        higher_better: Some(false),
        show: mib,
    },
    Column {
        title: "ΣPSS mean MiB",
        path: &["pss_bytes", "mean_bytes"],
        higher_better: Some(false),
        show: mib,
    },
    Column {
        title: "ΣRSS peak MiB",
        path: &["rss_bytes", "peak_bytes"],
        higher_better: Some(false),
        show: mib,
    },
    Column {
        title: "CPU cores",
        path: &["cpu", "cores"],
        higher_better: None,
        show: |v| format!("{v:.2}"),
    },
    Column {
        title: "tasks/s",
        path: &["tasks", "tasks_per_second"],
        higher_better: None,
        show: |v| format!("{v:.1}"),
    },
    Column {
        title: "task p50 ms",
        path: &["tasks", "enqueue_to_finish_us", "p50"],
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "task p99 ms",
        path: &["tasks", "enqueue_to_finish_us", "p99"],
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "lost tasks",
        path: &["tasks", "lost"],
        higher_better: Some(false),
        show: |v| format!("{v:.0}"),
    },
];

fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

/// Whether each deployment ran background tasks (its task columns mean something).
fn ran_tasks(deployments: &[(String, Vec<&Value>)]) -> Vec<bool> {
    deployments
        .iter()
        .map(|(_, runs)| {
            runs.iter()
                .any(|r| r["tasks"]["enqueued"].as_u64().unwrap_or(0) > 0)
        })
        .collect()
}

fn is_task_column(i: usize) -> bool {
    COLUMNS[i].path[0] == "tasks"
}

/// The columns worth a place: task columns only when some deployment ran tasks.
fn shown_columns(with_tasks: &[bool]) -> Vec<usize> {
    (0..COLUMNS.len())
        .filter(|&i| !is_task_column(i) || with_tasks.iter().any(|&t| t))
        .collect()
}

/// The interpreter version and the GIL state observed in a deployment's first run.
fn python_and_gil<'a>(runs: &[&'a Value]) -> (&'a str, &'static str) {
    let first = runs.first();
    let python = first
        .and_then(|r| r["interpreter"]["version"].as_str())
        .unwrap_or("-");
    let gil = match first.and_then(|r| r["interpreter"]["gil_enabled"].as_bool()) {
        Some(true) => "on",
        Some(false) => "off",
        None => "-",
    };
    (python, gil)
}

/// Everything a reader must know before trusting the table.
pub fn warnings(doc: &Value) -> Vec<String> {
    let mut w = Vec::new();
    if doc["complete"].as_bool() != Some(true) {
        w.push(
            "This run is incomplete: it was interrupted, a run was cut short or a deployment \
             failed; the table holds what was measured."
                .to_owned(),
        );
    }
    let runs: Vec<&Value> = doc["runs"].as_array().into_iter().flatten().collect();
    for r in &runs {
        let name = format!(
            "{} #{}",
            r["label"].as_str().unwrap_or("?"),
            r["repetition"].as_u64().unwrap_or(0)
        );
        if let Some(f) = r["failure"].as_str() {
            w.push(format!("{name} failed: {f}"));
        }
        if let Some(c) = r["cut_short"].as_str() {
            w.push(format!(
                "{name} was cut short ({c}): its numbers cover that time only"
            ));
        }
        if let Some(held) = r["load"]["held_seconds"].as_f64().filter(|&h| h > 0.0) {
            w.push(format!(
                "{name}: the load was paused for {held:.1} s (the window was lengthened by as \
                 much); CPU and memory means include the pause"
            ));
        }
        if r["load"]["generator"]["saturated"].as_bool() == Some(true) {
            w.push(format!(
                "{name}: the load generator saturated its CPU; these numbers may measure djbench"
            ));
        }
        let errors = r["errors"].as_u64().unwrap_or(0);
        if errors > 0 {
            w.push(format!(
                "{name}: {errors} failed requests ({})",
                r["load"]["error_kinds"]
            ));
        }
        let lost = r["tasks"]["lost"].as_u64().unwrap_or(0);
        if lost > 0 {
            w.push(format!("{name}: {lost} tasks never finished"));
        }
        let mode = r["mode"].as_str().unwrap_or("");
        let gil = r["interpreter"]["gil_enabled"].as_bool();
        let free_build = r["interpreter"]["free_threaded_build"].as_bool() == Some(true);
        if mode == "free_threaded" && free_build && gil == Some(true) {
            w.push(format!(
                "{name}: a free-threaded build ran with the GIL on (a module re-enabled it, or it \
                 was asked for)"
            ));
        }
    }
    let versions: Vec<String> = runs
        .iter()
        .filter_map(|r| r["interpreter"]["version"].as_str().map(str::to_owned))
        .fold(Vec::new(), |mut acc, v| {
            if !acc.contains(&v) {
                acc.push(v);
            }
            acc
        });
    // Interpreters configured differently (beyond --disable-gil and install paths) can differ
    // in speed for reasons that are not the mode's: a distribution's build against a plain one.
    let options = |r: &Value| -> Vec<String> {
        let mut o: Vec<String> = r["interpreter"]["config_args"]
            .as_str()
            .unwrap_or("")
            .split_whitespace()
            .map(|t| t.trim_matches('\'').to_owned())
            .filter(|t| t.starts_with("--"))
            .filter(|t| {
                ![
                    "--prefix",
                    "--libdir",
                    "--with-ensurepip",
                    "--without-ensurepip",
                    "--disable-gil",
                ]
                .iter()
                .any(|skip| t.starts_with(skip))
            })
            .collect();
        o.sort();
        o
    };
    let mut builds: Vec<(String, Vec<String>)> = Vec::new();
    for r in &runs {
        let label = r["label"].as_str().unwrap_or("?").to_owned();
        if r["interpreter"]["config_args"].is_string() && !builds.iter().any(|(l, _)| *l == label) {
            builds.push((label, options(r)));
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
    if versions.len() > 1 {
        w.push(format!(
            "The deployments ran on different Python versions ({}): part of a difference may be \
             the interpreter's",
            versions.join(", ")
        ));
    }
    w
}

/// summary.md: the headline table and the warnings.
pub fn summary_md(doc: &Value) -> String {
    let mut out = String::new();
    let scenario = &doc["scenario"];
    let name = scenario["name"].as_str().unwrap_or("scenario");
    let _ = writeln!(out, "# djbench: {name}\n");
    if let Some(d) = scenario["description"].as_str() {
        let _ = writeln!(out, "{}\n", d.trim());
    }
    let deployments = by_deployment(doc);
    let reps = deployments.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
    let host = &doc["host"];
    let _ = writeln!(
        out,
        "Medians over {reps} repetition{} per deployment; best value per column in **bold**. \
         Host: {}, {} cores, kernel {}. djbench {} ({}).\n",
        if reps == 1 { "" } else { "s" },
        host["cpu"].as_str().unwrap_or("?"),
        host["cores"],
        host["kernel"].as_str().unwrap_or("?"),
        doc["djbench"]["version"].as_str().unwrap_or("?"),
        doc["djbench"]["git_revision"]
            .as_str()
            .unwrap_or("no git revision"),
    );
    // Columns nobody has a value for (no tasks anywhere) are left out.
    let medians: Vec<Vec<Option<f64>>> = deployments
        .iter()
        .map(|(_, runs)| {
            COLUMNS
                .iter()
                .map(|c| {
                    let v: Vec<f64> = runs.iter().filter_map(|r| at(r, c.path).as_f64()).collect();
                    (!v.is_empty()).then(|| median(&v))
                })
                .collect()
        })
        .collect();
    let with_tasks = ran_tasks(&deployments);
    let task_column = is_task_column;
    let shown = shown_columns(&with_tasks);
    let _ = write!(out, "| deployment | python | GIL |");
    for &i in &shown {
        let _ = write!(out, " {} |", COLUMNS[i].title);
    }
    let _ = write!(out, "\n|---|---|---|");
    for _ in &shown {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for (d, (label, runs)) in deployments.iter().enumerate() {
        let (python, gil) = python_and_gil(runs);
        let _ = write!(out, "| {label} | {python} | {gil} |");
        for &i in &shown {
            let c = &COLUMNS[i];
            let cell = match medians[d][i] {
                // Task columns mean nothing for a deployment that ran none.
                Some(_) if task_column(i) && !with_tasks[d] => "-".to_owned(),
                Some(v) => {
                    let rivals = (0..deployments.len())
                        .filter(|&e| !task_column(i) || with_tasks[e])
                        .filter_map(|e| medians[e][i]);
                    let best = match c.higher_better {
                        Some(true) => rivals.fold(f64::MIN, f64::max),
                        Some(false) => rivals.fold(f64::MAX, f64::min),
                        None => f64::NAN,
                    };
                    let text = (c.show)(v);
                    if deployments.len() > 1 && v == best {
                        format!("**{text}**")
                    } else {
                        text
                    }
                }
                None => "-".to_owned(),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    let set = doc["scenario"]["thresholds"]
        .as_object()
        .map_or(0, serde_json::Map::len);
    if set > 0 {
        out.push_str("\n## Thresholds\n\n");
        match crate::compare::thresholds(doc) {
            Ok(b) if b.is_empty() => {
                let _ = writeln!(
                    out,
                    "All {set} held in every deployment ({}).",
                    doc["scenario"]["thresholds"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| format!(
                            "{k} ≤ {}",
                            v.as_str().map_or(v.to_string(), str::to_owned)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(b) => {
                for x in b {
                    let _ = writeln!(
                        out,
                        "- **broken**: {} `{}` {} (limit {})",
                        x.label, x.threshold, x.measured, x.limit
                    );
                }
            }
            Err(e) => {
                let _ = writeln!(out, "- cannot check: {e}");
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

/// Writes summary.md and report.html beside results.json, each atomically.
pub fn write(out_dir: &Path, doc: &Value) -> std::io::Result<()> {
    crate::provision::cache::write_atomic(&out_dir.join("summary.md"), summary_md(doc).as_bytes())?;
    crate::provision::cache::write_atomic(&out_dir.join("report.html"), html(doc).as_bytes())
}

/// Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format/): one
/// benchmark per deployment, each measure the median over repetitions with the smallest and
/// largest repetition as its bounds.
pub fn bmf(doc: &Value) -> Value {
    let measures: [(&str, &[&str]); 7] = [
        ("throughput", &["throughput_rps"]),
        ("latency_p50_us", &["latency_us", "p50"]),
        ("latency_p99_us", &["latency_us", "p99"]),
        ("pss_peak_bytes", &["pss_bytes", "peak_bytes"]),
        ("rss_peak_bytes", &["rss_bytes", "peak_bytes"]),
        ("cpu_cores", &["cpu", "cores"]),
        ("task_p99_us", &["tasks", "enqueue_to_finish_us", "p99"]),
    ];
    let mut out = serde_json::Map::new();
    for (label, runs) in by_deployment(doc) {
        let mut m = serde_json::Map::new();
        for (name, path) in measures {
            let v: Vec<f64> = runs.iter().filter_map(|r| at(r, path).as_f64()).collect();
            if v.is_empty() {
                continue;
            }
            m.insert(
                name.to_owned(),
                serde_json::json!({
                    "value": median(&v),
                    "lower_value": v.iter().copied().fold(f64::MAX, f64::min),
                    "upper_value": v.iter().copied().fold(f64::MIN, f64::max),
                }),
            );
        }
        out.insert(label, Value::Object(m));
    }
    Value::Object(out)
}

/// The per-second series of every run as CSV: one row per run, second and endpoint (`*` is
/// all endpoints together).
pub fn seconds_csv(doc: &Value) -> String {
    let mut out =
        String::from("run,label,mode,repetition,second,path,count,errors,p50_us,p99_us,max_us\n");
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    for r in doc["runs"].as_array().into_iter().flatten() {
        for s in r["load"]["seconds"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{}",
                r["index"],
                quote(r["label"].as_str().unwrap_or("")),
                quote(r["mode"].as_str().unwrap_or("")),
                r["repetition"],
                s["second"],
                quote(s["path"].as_str().unwrap_or("")),
                s["count"],
                s["errors"],
                s["p50_us"],
                s["p99_us"],
                s["max_us"]
            );
        }
    }
    out
}
