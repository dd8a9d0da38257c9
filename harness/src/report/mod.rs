//! What people read after a run, built from results.json alone (the typed `results::Results`,
//! never JSON key paths): report.html (html.rs, with SVG charts from svg.rs) and summary.md,
//! the headline table (one row per deployment, medians over repetitions, best value per column
//! in bold, an unknown figure as "—" and never best) and the warnings, fit for a pull-request
//! comment and for the terminal; and the bmf and seconds.csv exports. It re-reads what was
//! measured; it never measures, and never changes results.json.

use std::fmt::Write as _;
use std::path::Path;

use crate::compare::median;
use crate::results::{Results, RunResult};

mod html;
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
    /// The figure in one run; None when the run did not know it.
    value: fn(&RunResult) -> Option<f64>,
    /// A background-task figure: meaningful only for deployments that ran tasks.
    task: bool,
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

fn latency(r: &RunResult, q: fn(&crate::load::Latency) -> u64) -> Option<f64> {
    r.latency_us.as_ref().map(|l| q(l) as f64)
}

fn task_latency(r: &RunResult, q: fn(&crate::load::Latency) -> u64) -> Option<f64> {
    r.tasks
        .as_ref()
        .and_then(|t| t.enqueue_to_finish_us.as_ref())
        .map(|l| q(l) as f64)
}

const COLUMNS: &[Column] = &[
    Column {
        title: "req/s",
        value: |r| Some(r.throughput_rps),
        task: false,
        higher_better: Some(true),
        show: |v| format!("{v:.0}"),
    },
    Column {
        title: "p50 ms",
        value: |r| latency(r, |l| l.p50),
        task: false,
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "p99 ms",
        value: |r| latency(r, |l| l.p99),
        task: false,
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "p99.9 ms",
        value: |r| latency(r, |l| l.p999),
        task: false,
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "errors",
        value: |r| Some(r.errors as f64),
        task: false,
        higher_better: Some(false),
        show: |v| format!("{v:.0}"),
    },
    Column {
        title: "ΣPSS peak MiB",
        value: |r| r.pss_bytes.map(|m| m.peak_bytes as f64),
        task: false,
        higher_better: Some(false),
        show: mib,
    },
    Column {
        title: "ΣPSS mean MiB",
        value: |r| r.pss_bytes.map(|m| m.mean_bytes as f64),
        task: false,
        higher_better: Some(false),
        show: mib,
    },
    Column {
        title: "ΣRSS peak MiB",
        value: |r| r.rss_bytes.map(|m| m.peak_bytes as f64),
        task: false,
        higher_better: Some(false),
        show: mib,
    },
    Column {
        title: "CPU cores",
        value: |r| r.cpu.as_ref().map(|c| c.cores),
        task: false,
        higher_better: None,
        show: |v| format!("{v:.2}"),
    },
    Column {
        title: "conn/req",
        value: |r| r.connections_per_request,
        task: false,
        higher_better: None,
        show: |v| format!("{v:.2}"),
    },
    Column {
        title: "worker spread %",
        value: |r| r.workers.as_ref().map(|w| w.max_deviation),
        task: false,
        higher_better: None,
        show: |v| format!("{:.0}", v * 100.0),
    },
    Column {
        title: "harness % of machine",
        value: |r| r.harness.as_ref().map(|h| h.share_of_machine),
        task: false,
        higher_better: None,
        show: |v| format!("{:.1}", v * 100.0),
    },
    Column {
        title: "tasks/s",
        value: |r| r.tasks.as_ref().map(|t| t.tasks_per_second),
        task: true,
        higher_better: None,
        show: |v| format!("{v:.1}"),
    },
    Column {
        title: "task p50 ms",
        value: |r| task_latency(r, |l| l.p50),
        task: true,
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "task p99 ms",
        value: |r| task_latency(r, |l| l.p99),
        task: true,
        higher_better: Some(false),
        show: ms,
    },
    Column {
        title: "lost tasks",
        value: |r| r.tasks.as_ref().map(|t| t.lost as f64),
        task: true,
        higher_better: Some(false),
        show: |v| format!("{v:.0}"),
    },
];

/// The median over runs of a figure; None when no run knows it.
fn median_of(runs: &[&RunResult], value: impl Fn(&RunResult) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = runs.iter().filter_map(|r| value(r)).collect();
    (!v.is_empty()).then(|| median(&v))
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
            if j == i || group[j] != group[i] || gil(twin_runs) != Some(true) {
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
                 req/s {}, p99 {}, CPU {}, ΣPSS {} (no GIL ÷ GIL, medians). This pair, not a row \
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
            let kinds = r
                .load
                .as_ref()
                .and_then(|l| serde_json::to_string(&l.error_kinds).ok())
                .unwrap_or_else(|| "kinds unknown".into());
            w.push(format!("{name}: {} failed requests ({kinds})", r.errors));
        }
        if r.failure.is_none() && r.latency_us.is_none() {
            w.push(format!(
                "{name}: no request succeeded, so it has no latency (shown as {UNKNOWN})"
            ));
        }
        match &r.tasks {
            None if r.failure.is_none() => w.push(format!(
                "{name}: its background task figures could not be read: tasks are unknown"
            )),
            Some(t) if t.lost > 0 => w.push(format!("{name}: {} tasks never finished", t.lost)),
            _ => {}
        }
        if let Some(b) = r
            .workers
            .as_ref()
            .filter(|b| b.max_deviation > MAX_WORKER_DEVIATION)
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
    w.extend(parity_warnings(&doc.by_deployment()));
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
pub fn summary_md(doc: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# djbench: {}\n", doc.name());
    let description = doc.scenario.description.trim();
    if !description.is_empty() {
        let _ = writeln!(out, "{description}\n");
    }
    let deployments = doc.by_deployment();
    let reps = deployments.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
    let host = &doc.host;
    let _ = writeln!(
        out,
        "Medians over {reps} repetition{} per deployment; best value per column in **bold**, \
         among deployments of one interpreter; {UNKNOWN}: unknown. \
         Host: {}, {} cores, kernel {}. djbench {} ({}).\n",
        if reps == 1 { "" } else { "s" },
        host.cpu,
        host.cores,
        host.kernel,
        doc.djbench.version,
        doc.djbench
            .git_revision
            .as_deref()
            .unwrap_or("no git revision"),
    );
    let medians: Vec<Vec<Option<f64>>> = deployments
        .iter()
        .map(|(_, runs)| COLUMNS.iter().map(|c| median_of(runs, c.value)).collect())
        .collect();
    // Columns nobody has a value for (no tasks anywhere) are left out.
    let with_tasks = ran_tasks(&deployments);
    let unknown_tasks = tasks_unknown(&deployments);
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
                // A run that could not read its task figures leaves the deployment's unknown.
                _ if task_column(i) && unknown_tasks[d] => "unknown".to_owned(),
                // Task columns mean nothing for a deployment that ran none.
                Some(_) if task_column(i) && !with_tasks[d] => "-".to_owned(),
                Some(v) => {
                    // Ranked only against deployments of the same interpreter, and only where
                    // values exist.
                    let rivals: Vec<f64> = (0..deployments.len())
                        .filter(|&e| group[e] == group[d])
                        .filter(|&e| !task_column(i) || (with_tasks[e] && !unknown_tasks[e]))
                        .filter_map(|e| medians[e][i])
                        .collect();
                    let best = match c.higher_better {
                        Some(true) => rivals.iter().copied().fold(f64::MIN, f64::max),
                        Some(false) => rivals.iter().copied().fold(f64::MAX, f64::min),
                        None => f64::NAN,
                    };
                    let text = (c.show)(v);
                    // Best of one is no comparison: a rival whose value is unknown is none.
                    let alone = rivals.len() < 2;
                    if !alone && v == best {
                        format!("**{text}**")
                    } else {
                        text
                    }
                }
                None => UNKNOWN.to_owned(),
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
                    x.label, x.threshold, x.measured, x.limit
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
            if v.is_empty() {
                continue;
            }
            m.insert(
                name,
                BmfMeasure {
                    value: median(&v),
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
        // The best known p99 is bold; an unknown one (0 in version 1) is not.
        assert_eq!(row(&md, "ok")[p99], "**8.00**", "{md}");
        assert_eq!(row(&md, "good")[p99], "9.00", "{md}");
        assert!(md.contains("dead #1: no request succeeded"), "{md}");
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

    #[test]
    fn unknown_tasks_show_as_unknown_and_are_warned_about() {
        let mut lost = run("b", 1, 100.0, 9000);
        lost.tasks = None;
        let doc = results("", vec![run("a", 1, 100.0, 9000), lost]);
        let md = summary_md(&doc);
        let col = column(&md, "lost tasks");
        assert_eq!(row(&md, "b")[col], "unknown", "{md}");
        assert_eq!(row(&md, "a")[col], "0", "{md}");
        assert!(
            md.contains("b #1: its background task figures could not be read"),
            "{md}"
        );
        // bmf leaves out what no repetition knows, and the page says "unknown" too.
        let b = &bmf(&doc)["b"];
        assert!(b.contains_key("throughput") && !b.contains_key("task_p99_us"));
        assert!(html(&doc).contains("<td>unknown</td>"));
    }
}
