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
        title: "conn/req",
        path: &["connections_per_request"],
        higher_better: None,
        show: |v| format!("{v:.2}"),
    },
    Column {
        title: "worker spread %",
        path: &["workers", "max_deviation"],
        higher_better: None,
        show: |v| format!("{:.0}", v * 100.0),
    },
    Column {
        title: "harness % of machine",
        path: &["harness", "share_of_machine"],
        higher_better: None,
        show: |v| format!("{:.1}", v * 100.0),
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

/// The median over runs of the number at `path`; None when no run has one.
fn median_at(runs: &[&Value], path: &[&str]) -> Option<f64> {
    let v: Vec<f64> = runs.iter().filter_map(|r| at(r, path).as_f64()).collect();
    (!v.is_empty()).then(|| median(&v))
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

/// The HTTP server (with its version) and the serving shape of a deployment's first run.
fn serving_of(runs: &[&Value]) -> (String, String) {
    let first = runs.first();
    let server = first.and_then(|r| r["server"].as_str()).unwrap_or("-");
    let server = match first.and_then(|r| r["server_version"].as_str()) {
        Some(v) => format!("{server} {v}"),
        None => server.to_owned(),
    };
    let shape = first
        .and_then(|r| r["serving_shape"].as_str())
        .unwrap_or("-")
        .to_owned();
    (server, shape)
}

/// The build options of a run's interpreter that can change its speed.
fn build_options(r: &Value) -> Vec<String> {
    crate::provision::python::speed_options(r["interpreter"]["config_args"].as_str().unwrap_or(""))
}

/// Which interpreter a deployment ran, up to its GIL: the version and the build options. Two
/// deployments are ranked against each other only when this is equal, so that a row differs
/// from the next only in what its label says.
fn interpreter_group(runs: &[&Value]) -> Option<(String, Vec<String>)> {
    let r = runs.first()?;
    Some((
        r["interpreter"]["version"].as_str()?.to_owned(),
        build_options(r),
    ))
}

/// The deployments' interpreter groups, as indices into the first-seen groups.
fn groups(deployments: &[(String, Vec<&Value>)]) -> Vec<usize> {
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
pub fn interpreter_notes(doc: &Value) -> Vec<String> {
    let deployments = by_deployment(doc);
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
        let gil = |rs: &[&Value]| {
            rs.first()
                .and_then(|r| r["interpreter"]["gil_enabled"].as_bool())
        };
        if gil(runs) != Some(false) {
            continue;
        }
        for (j, (twin, twin_runs)) in deployments.iter().enumerate() {
            if j == i || group[j] != group[i] || gil(twin_runs) != Some(true) {
                continue;
            }
            let ratio = |path: &[&str]| match (median_at(runs, path), median_at(twin_runs, path)) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
                _ => "unknown".to_owned(),
            };
            notes.push(format!(
                "THE GIL ALONE: {label} (no GIL) against {twin} (the same CPython with the GIL): \
                 req/s {}, p99 {}, CPU {}, ΣPSS {} (no GIL ÷ GIL, medians). This pair, not a row \
                 of another interpreter, is the comparison of the GIL.",
                ratio(&["throughput_rps"]),
                ratio(&["latency_us", "p99"]),
                ratio(&["cpu", "cores"]),
                ratio(&["pss_bytes", "peak_bytes"]),
            ));
        }
    }
    notes
}

/// Each web worker that answered in a run, with its share: `4123 51%`.
fn worker_shares(r: &Value) -> Vec<String> {
    r["workers"]["shares"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let share = s["share"]
                .as_f64()
                .map_or("unknown".to_owned(), |x| format!("{:.0}%", x * 100.0));
            format!("{} {share}", s["worker"].as_str().unwrap_or("?"))
        })
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
fn parity_warnings(deployments: &[(String, Vec<&Value>)]) -> Vec<String> {
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
        .filter_map(|(l, rs)| Some((l.as_str(), median_at(rs, &["connections_per_request"])?)))
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
        .filter_map(|(l, rs)| Some((l.as_str(), median_at(rs, &["harness", "share_of_machine"])?)))
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
        if let Some(dev) = r["workers"]["max_deviation"]
            .as_f64()
            .filter(|&d| d > MAX_WORKER_DEVIATION)
        {
            let shares = worker_shares(r);
            w.push(format!(
                "{name}: the web workers did not share the load fairly (a share {:.0}% away from \
                 fair; {} of {} workers answered, each a {}: {}): some idled while others queued",
                dev * 100.0,
                shares.len(),
                r["workers"]["workers"],
                r["workers"]["unit"].as_str().unwrap_or("worker"),
                shares.join(", ")
            ));
        }
        let asked = r["serving"]["backlog"].as_u64();
        for l in r["listening"].as_array().into_iter().flatten() {
            if let (Some(asked), Some(got)) = (asked, l["backlog"].as_u64())
                && got < asked
            {
                w.push(format!(
                    "{name}: the socket on {} listens with a backlog of {got}, not the {asked} \
                     asked for (net.core.somaxconn caps it, or the server overrides it)",
                    l["address"].as_str().unwrap_or("?")
                ));
            }
        }
        if let Some(share) = r["harness"]["share_of_machine"]
            .as_f64()
            .filter(|&s| s > MAX_HARNESS_SHARE)
        {
            w.push(format!(
                "{name}: djbench itself used {:.1}% of the machine while measuring (generator, \
                 sampler, task load): the deployment had that much less",
                share * 100.0
            ));
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
    let mut builds: Vec<(String, Vec<String>)> = Vec::new();
    for r in &runs {
        let label = r["label"].as_str().unwrap_or("?").to_owned();
        if r["interpreter"]["config_args"].is_string() && !builds.iter().any(|(l, _)| *l == label) {
            builds.push((label, build_options(r)));
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
    w.extend(parity_warnings(&by_deployment(doc)));
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
        "Medians over {reps} repetition{} per deployment; best value per column in **bold**, \
         among deployments of one interpreter. \
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
        .map(|(_, runs)| COLUMNS.iter().map(|c| median_at(runs, c.path)).collect())
        .collect();
    let with_tasks = ran_tasks(&deployments);
    let task_column = is_task_column;
    let shown = shown_columns(&with_tasks);
    let group = groups(&deployments);
    let _ = write!(out, "| deployment | python | GIL | server | workers |");
    for &i in &shown {
        let _ = write!(out, " {} |", COLUMNS[i].title);
    }
    let _ = write!(out, "\n|---|---|---|---|---|");
    for _ in &shown {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for (d, (label, runs)) in deployments.iter().enumerate() {
        let (python, gil) = python_and_gil(runs);
        let (server, shape) = serving_of(runs);
        let _ = write!(out, "| {label} | {python} | {gil} | {server} | {shape} |");
        for &i in &shown {
            let c = &COLUMNS[i];
            let cell = match medians[d][i] {
                // Task columns mean nothing for a deployment that ran none.
                Some(_) if task_column(i) && !with_tasks[d] => "-".to_owned(),
                Some(v) => {
                    // Ranked only against deployments of the same interpreter.
                    let rivals = (0..deployments.len())
                        .filter(|&e| group[e] == group[d])
                        .filter(|&e| !task_column(i) || with_tasks[e])
                        .filter_map(|e| medians[e][i]);
                    let best = match c.higher_better {
                        Some(true) => rivals.fold(f64::MIN, f64::max),
                        Some(false) => rivals.fold(f64::MAX, f64::min),
                        None => f64::NAN,
                    };
                    let text = (c.show)(v);
                    let alone = group.iter().filter(|&&g| g == group[d]).count() < 2;
                    if !alone && v == best {
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
    let notes = interpreter_notes(doc);
    if !notes.is_empty() {
        out.push_str("\n## Interpreters\n\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
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
    crate::atomic::write_atomic(&out_dir.join("summary.md"), summary_md(doc).as_bytes())?;
    crate::atomic::write_atomic(&out_dir.join("report.html"), html(doc).as_bytes())
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
