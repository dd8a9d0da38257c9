//! The Faults section of summary.md and report.html, and the marks of faults on the report's
//! time charts: for every fault run (`RunResult::faults`), its task backend and restart policy,
//! what became of its tasks (the ledger), the recovery after each fault, one sentence per task
//! backend on what a death means for its tasks, why the lost tasks were lost, and each fault
//! and death with its exact time. It only reads results; an unknown figure is written as
//! "unknown", never as 0. It owns no headline figure and judges nothing (thresholds and
//! `compare` decide what a fault run may be weighed against).

use std::fmt::Write as _;

use super::html::esc;
use super::svg::{Lines, PALETTE, Rule, Series, Span};
use crate::faults::FaultEvent;
use crate::results::{FaultRun, Results, RunResult};
use crate::scenario::faults::Action;

/// What a cell shows when its figure is unknown.
const UNKNOWN: &str = "unknown";

/// The Faults table's columns, after the run's name.
const HEADERS: [&str; 13] = [
    "task backend",
    "restart",
    "finished once",
    "duplicated",
    "lost",
    "stuck as running",
    "never accepted",
    "queued or running at the fault (of those lost)",
    "first success after",
    "backlog drained after",
    "errors while recovering",
    "worst p99 while recovering",
    "faults",
];

/// The columns that hold words, not figures.
const TEXT: [&str; 3] = ["task backend", "restart", "faults"];

/// Every measured fault run, deployment by deployment in the scenario's order.
fn fault_runs(doc: &Results) -> Vec<(&RunResult, &FaultRun)> {
    doc.by_deployment()
        .into_iter()
        .flat_map(|(_, runs)| runs)
        .filter_map(|r| Some((r, r.faults.as_ref()?)))
        .collect()
}

/// Whether any run of `doc` (measured or not) had faults injected.
pub fn any(doc: &Results) -> bool {
    doc.runs.iter().any(RunResult::fault_run)
}

/// What follows a deployment's name in a run table: ` (fault run)` when its runs had faults
/// injected, ` (2 of 3 fault runs)` when only some did, nothing otherwise.
pub fn mark(runs: &[&RunResult]) -> String {
    let faulted = runs.iter().filter(|r| r.fault_run()).count();
    match faulted {
        0 => String::new(),
        n if n == runs.len() && n == 1 => " (fault run)".into(),
        n if n == runs.len() => " (fault runs)".into(),
        n => format!(" ({n} of {} fault runs)", runs.len()),
    }
}

/// The note above a run table when some deployment's runs are fault runs; None otherwise.
pub fn note(doc: &Results) -> Option<String> {
    let mut labels: Vec<&str> = Vec::new();
    for r in doc.runs.iter().filter(|r| r.fault_run()) {
        if !labels.contains(&r.label.as_str()) {
            labels.push(&r.label);
        }
    }
    if labels.is_empty() {
        return None;
    }
    Some(format!(
        "Fault runs: faults were injected into the runs of {} (see Faults): their figures \
         include the faults and the recovery from them, not a steady state, and `compare` \
         weighs them only against fault runs.",
        labels.join(", ")
    ))
}

fn count(v: Option<u64>) -> String {
    v.map_or(UNKNOWN.into(), |v| v.to_string())
}

fn seconds(v: f64) -> String {
    format!("{v:.2} s")
}

/// The tasks around the `i`th fault of `f`: queued or running at it, of those lost, and the
/// backlog's drain; the event's own figures first, the ledger's where the event has none.
fn at_fault(f: &FaultRun, i: usize, e: &FaultEvent) -> (Option<u64>, Option<u64>, Option<f64>) {
    let l = f.ledger.as_ref().and_then(|l| l.at_faults.get(i));
    (
        e.tasks_at_fault.or(l.map(|a| a.queued_or_running)),
        e.of_those_lost.or(l.map(|a| a.of_those_lost)),
        e.backlog_drained_s.or(l.and_then(|a| a.backlog_drained_s)),
    )
}

/// Of the tasks queued or running at the `i`th fault, those stuck as running.
fn stuck_at(f: &FaultRun, i: usize, e: &FaultEvent) -> Option<u64> {
    let l = f.ledger.as_ref().and_then(|l| l.at_faults.get(i));
    e.of_those_stuck.or(l.map(|a| a.of_those_stuck))
}

/// The task backend of a run: as the scenario chose it (resolved), else as the app named it.
fn backend(r: &RunResult) -> String {
    match (&r.task_durability, &r.task_backend) {
        (Some(d), _) => d.backend.name().to_owned(),
        (None, Some(b)) => b.clone(),
        (None, None) => UNKNOWN.into(),
    }
}

/// One run's row: its name, then a cell per `HEADERS`. A run with several faults has their
/// figures in fault order, separated by " / ".
fn row(r: &RunResult, f: &FaultRun) -> (String, Vec<String>) {
    let l = f.ledger.as_ref();
    let per_event = |cell: &dyn Fn(usize, &FaultEvent) -> String| {
        if f.events.is_empty() {
            return "-".to_owned();
        }
        (f.events.iter().enumerate())
            .map(|(i, e)| cell(i, e))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let cells = vec![
        backend(r),
        f.restart.name().to_owned(),
        count(l.map(|l| l.finished_once)),
        count(l.map(|l| l.duplicated)),
        count(l.map(|l| l.lost)),
        count(l.map(|l| l.still_running)),
        count(f.never_accepted),
        per_event(&|i, e| match at_fault(f, i, e) {
            (Some(q), lost, _) => match stuck_at(f, i, e) {
                Some(s) if s > 0 => format!("{q} ({} lost, {s} stuck)", count(lost)),
                _ => format!("{q} ({} lost)", count(lost)),
            },
            (None, _, _) => UNKNOWN.into(),
        }),
        per_event(&|_, e| e.first_success_after_s.map_or("none came".into(), seconds)),
        per_event(&|i, e| match at_fault(f, i, e) {
            (_, _, Some(s)) => seconds(s),
            (Some(_), _, None) => "nothing to drain".into(),
            _ => UNKNOWN.into(),
        }),
        per_event(&|_, e| {
            let web = format!(
                "{} of {}",
                e.errors_while_recovering, e.requests_while_recovering
            );
            match (
                e.enqueue_errors_while_recovering,
                e.enqueues_while_recovering,
            ) {
                (Some(x), Some(n)) => format!("{web}; enqueues {x} of {n}"),
                _ => web,
            }
        }),
        per_event(&|_, e| {
            e.p99_while_recovering_us
                .map_or(UNKNOWN.into(), |us| format!("{:.2} ms", us as f64 / 1000.0))
        }),
        per_event(&|_, e| what(e)),
    ];
    (r.name(), cells)
}

/// `kill task_worker`, `stall web_worker`: a fault in two words, as charts label it.
pub fn what(e: &FaultEvent) -> String {
    let action = match e.action {
        Action::Kill => "kill",
        Action::Stall => "stall",
    };
    format!("{action} {}", e.target)
}

/// The process without its parenthesis: `the one process`, `a celery prefork child`.
fn short_process(e: &FaultEvent) -> &str {
    e.process.split(" (").next().unwrap_or(&e.process)
}

/// One sentence per task backend of the fault runs, in the order they first appear.
fn backend_lines(runs: &[(&RunResult, &FaultRun)]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    for (r, _) in runs {
        let Some(d) = &r.task_durability else {
            continue;
        };
        let name = d.backend.name().to_owned();
        if !seen.contains(&name) {
            lines.push(format!("Task backend {name}: {}.", d.explained));
            seen.push(name);
        }
    }
    lines
}

/// Why a fault run's tasks were lost: a warning (starting `warning:`) when the tasks lost at
/// its faults do not add up to its lost tasks.
fn why_line(r: &RunResult, f: &FaultRun) -> String {
    let name = r.name();
    let Some(ledger) = &f.ledger else {
        return format!(
            "{name}: what became of its tasks is unknown: the task ledger could not be read ({})",
            f.ledger_unknown.as_deref().unwrap_or("no reason recorded")
        );
    };
    if f.events.is_empty() {
        return format!(
            "{name}: no fault was sent (the run ended before the first); {} tasks lost",
            ledger.lost
        );
    }
    let figures: Vec<(Option<u64>, Option<u64>)> = (f.events.iter().enumerate())
        .map(|(i, e)| {
            let (q, lost, _) = at_fault(f, i, e);
            (q, lost)
        })
        .collect();
    if figures
        .iter()
        .any(|(q, lost)| q.is_none() || lost.is_none())
    {
        return format!(
            "{name}: {} tasks lost; how many tasks were queued or running at its faults is unknown",
            ledger.lost
        );
    }
    let explained: u64 = figures.iter().map(|(_, lost)| lost.unwrap_or(0)).sum();
    let queued: u64 = figures.iter().map(|(q, _)| q.unwrap_or(0)).sum();
    let when = |e: &FaultEvent| match (e.action, e.stall_s) {
        (Action::Kill, _) => format!("{} was killed at {:.1} s", short_process(e), e.at_s),
        (Action::Stall, Some(s)) => format!(
            "{} was stalled for {s:.1} s at {:.1} s",
            short_process(e),
            e.at_s
        ),
        (Action::Stall, None) => format!("{} was stalled at {:.1} s", short_process(e), e.at_s),
    };
    if explained != ledger.lost {
        let (by, how) = if ledger.lost > explained {
            (ledger.lost - explained, "more")
        } else {
            (explained - ledger.lost, "fewer")
        };
        return format!(
            "warning: {name}: {} tasks lost, but {explained} of those queued or running at its \
             faults never finished: {by} {how} lost than the faults explain",
            ledger.lost
        );
    }
    let stuck = match ledger.still_running {
        0 => String::new(),
        1 => "; 1 task stuck as running: it was running when its worker died, and the backend \
              still holds it as running, so no worker takes it again"
            .to_owned(),
        n => format!(
            "; {n} tasks stuck as running: they were running when their worker died, and the \
             backend still holds them as running, so no worker takes them again"
        ),
    };
    if ledger.lost == 0 {
        return if queued == 0 {
            format!("{name}: no task lost, and none was queued or running at its faults{stuck}")
        } else if ledger.still_running == 0 {
            format!(
                "{name}: no task lost: the {queued} queued or running at its faults all finished"
            )
        } else {
            format!("{name}: no task lost of the {queued} queued or running at its faults{stuck}")
        };
    }
    let terms: Vec<String> = (f.events.iter().zip(&figures))
        .filter(|(_, (_, lost))| lost.is_some_and(|l| l > 0))
        .map(|(e, (q, lost))| {
            let (q, lost) = (q.unwrap_or(0), lost.unwrap_or(0));
            if q == lost {
                format!("the {q} queued or running when {}", when(e))
            } else {
                format!("{lost} of the {q} queued or running when {}", when(e))
            }
        })
        .collect();
    let tasks = if ledger.lost == 1 { "task" } else { "tasks" };
    format!(
        "{name}: {} {tasks} lost = {}{stuck}",
        ledger.lost,
        terms.join(" + ")
    )
}

/// What was done to a run and when: a heading line, then one line per fault and per death.
fn event_lines(r: &RunResult, f: &FaultRun) -> (String, Vec<String>) {
    let mut head = format!(
        "{} (fault run): task backend {}, restart {}, tasks drained for up to {:.0} s",
        r.name(),
        backend(r),
        f.restart.name(),
        f.drain_s
    );
    if let Some(v) = f.visibility_timeout_s {
        let _ = write!(head, ", celery visibility timeout {v:.0} s");
    }
    let mut lines = Vec::new();
    for e in &f.events {
        let mut l = format!(
            "{} at {:.3} s (planned {:.1} s): pid {}, {}",
            what(e),
            e.at_s,
            e.planned_s,
            e.pid.map_or("none".into(), |p| p.to_string()),
            e.process
        );
        if e.target == crate::scenario::faults::Target::TaskWorker {
            let held = match e.held_task {
                Some(true) => "yes",
                Some(false) => "no",
                None => UNKNOWN,
            };
            let _ = write!(l, "; held a task: {held}");
        }
        if e.action == Action::Stall {
            let _ = write!(
                l,
                "; stalled for {}",
                e.stall_s.map_or(UNKNOWN.into(), seconds)
            );
        }
        if let Some(err) = &e.error {
            let _ = write!(l, "; not sent as planned: {err}");
        }
        lines.push(l);
    }
    for d in &f.deaths {
        let mut l = format!(
            "{} died ({}), noticed at {:.3} s",
            d.process, d.status, d.noticed_s
        );
        match (d.restarted_s, &d.restart_error) {
            (Some(s), _) => {
                let _ = write!(
                    l,
                    ", restarted at {s:.3} s ({:.2} s later)",
                    s - d.noticed_s
                );
            }
            (None, Some(err)) => {
                let _ = write!(l, "; the restart failed: {err}");
            }
            (None, None) => {
                let _ = write!(l, "; not restarted (restart: {})", f.restart.name());
            }
        }
        lines.push(l);
    }
    (head, lines)
}

const INTRO: &str = "Faults were injected into these runs at the times below (seconds from the \
     start of the measured window). Task figures come from the app's task ledger after the \
     drain; recovery counts web requests (and the task load's enqueues) from the fault to the \
     first successful answer (for the broker: the first time the app reached it again).";

/// summary.md's Faults section; empty without a fault run.
pub fn markdown(doc: &Results) -> String {
    let runs = fault_runs(doc);
    if runs.is_empty() {
        return String::new();
    }
    let mut out = format!("\n## Faults\n\n{INTRO}\n\n| run |");
    for h in HEADERS {
        let _ = write!(out, " {h} |");
    }
    out.push_str("\n|---|");
    for h in HEADERS {
        // Words to the left, figures to the right.
        out.push_str(if TEXT.contains(&h) { "---|" } else { "---:|" });
    }
    out.push('\n');
    for (r, f) in &runs {
        let (name, cells) = row(r, f);
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    if runs.iter().any(|(_, f)| f.events.len() > 1) {
        out.push_str(
            "\nA run with several faults has their figures in fault order, separated by /.\n",
        );
    }
    out.push('\n');
    for l in backend_lines(&runs) {
        let _ = writeln!(out, "- {l}");
    }
    for (r, f) in &runs {
        let l = why_line(r, f);
        match l.strip_prefix("warning: ") {
            Some(w) => {
                let _ = writeln!(out, "- **warning**: {w}");
            }
            None => {
                let _ = writeln!(out, "- {l}");
            }
        }
    }
    out.push_str("\nWhat was done, and when:\n\n");
    for (r, f) in &runs {
        let (head, lines) = event_lines(r, f);
        let _ = writeln!(out, "- {head}");
        for l in lines {
            let _ = writeln!(out, "  - {l}");
        }
    }
    out
}

/// report.html's Faults section: the table, the sentences, the events, and each fault run's
/// web p99 second by second with its faults marked; empty without a fault run.
pub fn html(doc: &Results) -> String {
    let runs = fault_runs(doc);
    if runs.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h2>Faults</h2><p class=\"small\">{}</p><div class=\"wide\"><table><tr><th>run</th>",
        esc(INTRO)
    );
    for h in HEADERS {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>");
    for (r, f) in &runs {
        let (name, cells) = row(r, f);
        let _ = write!(out, "<tr><td>{}</td>", esc(&name));
        for c in cells {
            let _ = write!(out, "<td>{}</td>", esc(&c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></div><ul>");
    for l in backend_lines(&runs) {
        let _ = write!(out, "<li>{}</li>", esc(&l));
    }
    for (r, f) in &runs {
        let l = why_line(r, f);
        match l.strip_prefix("warning: ") {
            Some(w) => {
                let _ = write!(
                    out,
                    "<li class=\"warn\"><strong>warning</strong>: {}</li>",
                    esc(w)
                );
            }
            None => {
                let _ = write!(out, "<li>{}</li>", esc(&l));
            }
        }
    }
    out.push_str("</ul><h3>What was done, and when</h3><ul class=\"small\">");
    for (r, f) in &runs {
        let (head, lines) = event_lines(r, f);
        let _ = write!(out, "<li>{}<ul>", esc(&head));
        for l in lines {
            let _ = write!(out, "<li>{}</li>", esc(&l));
        }
        out.push_str("</ul></li>");
    }
    out.push_str("</ul>");
    // Throughput, ΣPSS and CPU over time carry the marks too (html.rs); the p99 of each second
    // is drawn only here, where a fault's cost in latency is the question.
    out.push_str("<h3>Web p99 second by second</h3><div class=\"grid2\">");
    let labels: Vec<String> = doc.by_deployment().into_iter().map(|(l, _)| l).collect();
    for (r, _) in &runs {
        // The deployment's colour, as on the rest of the page.
        let d = labels.iter().position(|l| *l == r.label).unwrap_or(0);
        let color = PALETTE[d % PALETTE.len()].to_owned();
        let (x_rules, x_spans) = marks(&[(r, color.clone())], false);
        let whole = r.load.as_ref().map_or(f64::MAX, |l| l.measured_seconds);
        let points = (r.load.iter().flat_map(|l| &l.seconds))
            .filter(|s| s.path == "*" && s.count > 0)
            .filter(|s| s.second as f64 + 1.0 <= whole + 1e-9)
            .map(|s| (s.second as f64, s.p99_us as f64 / 1000.0))
            .collect();
        let chart = Lines {
            x_label: "second of the measured window".into(),
            y_label: "web p99, ms (log)".into(),
            series: vec![Series {
                name: r.name(),
                color,
                points,
                faint: false,
            }],
            log_y: true,
            x_rules,
            x_spans,
            ..Lines::default()
        }
        .render(&format!("web p99 of {}", r.name()));
        let _ = write!(
            out,
            "<figure class=\"figure\"><h3>{}</h3>{chart}</figure>",
            esc(&r.name())
        );
    }
    out.push_str("</div>");
    out
}

/// The marks of `runs`' faults on a time chart: a dashed line at each fault's moment, named
/// `kill task_worker` (after the run's name when `named`), and a shaded span over each stall.
pub fn marks(runs: &[(&RunResult, String)], named: bool) -> (Vec<Rule>, Vec<Span>) {
    let (mut rules, mut spans) = (Vec::new(), Vec::new());
    for (r, color) in runs {
        let Some(f) = &r.faults else { continue };
        for e in &f.events {
            let label = if named {
                format!("{}: {}", r.name(), what(e))
            } else {
                what(e)
            };
            if let Some(s) = e.stall_s {
                spans.push(Span {
                    from: e.at_s,
                    to: e.at_s + s,
                    label: format!("{label} for {s:.1} s"),
                    color: color.clone(),
                });
            }
            rules.push(Rule {
                at: e.at_s,
                label,
                color: color.clone(),
            });
        }
    }
    (rules, spans)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::faults::Death;
    use crate::results::TaskDurability;
    use crate::results::testing::{results, run};
    use crate::scenario::faults::{Restart, Target};
    use crate::scenario::model::TaskBackend;
    use crate::tasks::{AtFault, Ledger};

    fn event(action: Action, target: Target, at_s: f64) -> FaultEvent {
        FaultEvent {
            action,
            target,
            planned_s: at_s.floor(),
            at_s,
            monotonic_ns: 0,
            pid: Some(4242),
            process: "the one process (its task workers are subinterpreters or threads)".into(),
            held_task: Some(true),
            stall_s: None,
            first_success_after_s: Some(1.3),
            requests_while_recovering: 170,
            errors_while_recovering: 15,
            p99_while_recovering_us: Some(90_000),
            enqueues_while_recovering: None,
            enqueue_errors_while_recovering: None,
            backlog_drained_s: None,
            tasks_at_fault: None,
            of_those_lost: None,
            of_those_stuck: None,
            error: None,
        }
    }

    /// A subinterpreters run with its memory backend, its process killed at 8.013 s holding 37
    /// tasks, all lost; a restart 1.4 s later.
    pub fn killed(label: &str, repetition: u32) -> RunResult {
        let mut r = run(label, repetition, 100.0, 2000);
        r.mode = "subinterpreters".into();
        r.task_durability = Some(TaskDurability {
            backend: TaskBackend::Memory,
            explained: TaskBackend::Memory.explain().into(),
            options: serde_json::Value::Null,
        });
        r.faults = Some(FaultRun {
            restart: Restart::Always,
            restart_delay_s: 0.1,
            visibility_timeout_s: None,
            drain_s: 30.0,
            events: vec![event(Action::Kill, Target::TaskWorker, 8.013)],
            deaths: vec![Death {
                process: "the one process".into(),
                status: "killed by SIGKILL".into(),
                noticed_s: 8.1,
                restarted_s: Some(9.5),
                restart_error: None,
            }],
            ledger: Some(Ledger {
                recorded: 200,
                finished_once: 160,
                duplicated: 0,
                lost: 37,
                still_running: 1,
                not_accepted: 3,
                at_faults: vec![AtFault {
                    queued_or_running: 37,
                    of_those_lost: 37,
                    of_those_stuck: 0,
                    backlog_drained_s: Some(2.5),
                }],
            }),
            ledger_unknown: None,
            never_accepted: Some(3),
        });
        r
    }

    fn cells(md: &str, name: &str) -> Vec<String> {
        let line = md
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row {name}:\n{md}"));
        line.split('|').map(|c| c.trim().to_owned()).collect()
    }

    fn col(md: &str, title: &str) -> usize {
        let head = md.lines().find(|l| l.starts_with("| run |")).unwrap();
        head.split('|').position(|c| c.trim() == title).unwrap()
    }

    #[test]
    fn a_kill_shows_its_tasks_its_recovery_and_why_they_were_lost() {
        let doc = results(
            "",
            vec![run("calm", 1, 100.0, 2000), killed("subinterpreters", 1)],
        );
        let md = markdown(&doc);
        let row = cells(&md, "subinterpreters #1");
        let at = |t: &str| row[col(&md, t)].as_str();
        assert_eq!(at("task backend"), "memory", "{md}");
        assert_eq!(at("restart"), "always");
        assert_eq!(
            (at("finished once"), at("duplicated"), at("lost")),
            ("160", "0", "37")
        );
        assert_eq!((at("stuck as running"), at("never accepted")), ("1", "3"));
        assert_eq!(
            at("queued or running at the fault (of those lost)"),
            "37 (37 lost)"
        );
        assert_eq!(at("first success after"), "1.30 s");
        assert_eq!(at("backlog drained after"), "2.50 s");
        assert_eq!(at("errors while recovering"), "15 of 170");
        assert_eq!(at("worst p99 while recovering"), "90.00 ms");
        // The fault-free run has no row.
        assert!(!md.contains("| calm #1 |"), "{md}");
        assert!(md.contains(&format!(
            "- Task backend memory: {}.",
            TaskBackend::Memory.explain()
        )));
        assert!(
            md.contains(
                "- subinterpreters #1: 37 tasks lost = the 37 queued or running when the one \
                 process was killed at 8.0 s"
            ),
            "{md}"
        );
        assert!(
            md.contains("kill task_worker at 8.013 s (planned 8.0 s): pid 4242, the one process")
                && md.contains("held a task: yes")
                && md.contains("noticed at 8.100 s, restarted at 9.500 s (1.40 s later)"),
            "{md}"
        );
        assert!(html(&doc).contains("<h2>Faults</h2>"));
        // No fault run, no section.
        assert_eq!(markdown(&results("", vec![run("calm", 1, 1.0, 1)])), "");
    }

    #[test]
    fn unknown_figures_say_unknown_never_zero() {
        let mut r = killed("subinterpreters", 1);
        let f = r.faults.as_mut().unwrap();
        f.ledger = None;
        f.ledger_unknown = Some("the app's task table answered 500".into());
        f.never_accepted = None;
        f.events[0].first_success_after_s = None;
        f.events[0].p99_while_recovering_us = None;
        f.events[0].held_task = None;
        let doc = results("", vec![r]);
        let md = markdown(&doc);
        let row = cells(&md, "subinterpreters #1");
        for t in [
            "finished once",
            "duplicated",
            "lost",
            "stuck as running",
            "never accepted",
            "queued or running at the fault (of those lost)",
            "backlog drained after",
            "worst p99 while recovering",
        ] {
            assert_eq!(row[col(&md, t)], "unknown", "{t}: {md}");
        }
        assert_eq!(row[col(&md, "first success after")], "none came");
        assert!(
            md.contains(
                "subinterpreters #1: what became of its tasks is unknown: the task ledger could \
                 not be read (the app's task table answered 500)"
            ),
            "{md}"
        );
        assert!(md.contains("held a task: unknown"), "{md}");
    }

    #[test]
    fn lost_tasks_the_faults_do_not_explain_are_warned_about_with_the_gap() {
        let mut r = killed("subinterpreters", 2);
        r.faults.as_mut().unwrap().ledger.as_mut().unwrap().lost = 40;
        let md = markdown(&results("", vec![r]));
        assert!(
            md.contains(
                "- **warning**: subinterpreters #2: 40 tasks lost, but 37 of those queued or \
                 running at its faults never finished: 3 more lost than the faults explain"
            ),
            "{md}"
        );
    }

    #[test]
    fn every_run_table_says_which_runs_were_fault_runs() {
        let doc = results(
            "",
            vec![run("calm", 1, 100.0, 2000), killed("subinterpreters", 1)],
        );
        let md = super::super::summary_md(&doc);
        assert!(md.contains("| subinterpreters (fault run) |"), "{md}");
        assert!(md.contains("| calm |"), "{md}");
        assert!(
            md.contains("**Fault runs: faults were injected into the runs of subinterpreters"),
            "{md}"
        );
        let page = super::super::html(&doc);
        assert!(page.contains("subinterpreters (fault run)</td>"), "{page}");
        assert!(page.contains("Fault runs: faults were injected"));
        assert_eq!(
            mark(&[&killed("x", 1), &run("x", 2, 1.0, 1)]),
            " (1 of 2 fault runs)"
        );
    }

    #[test]
    fn the_charts_over_time_mark_each_fault() {
        let mut doc = crate::results::read(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/results/ci_smoke-3reps-v2.json"
        )))
        .unwrap();
        let k = killed("x", 1);
        let r = (doc.runs.iter_mut())
            .find(|r| r.failure.is_none() && r.memory.is_some())
            .unwrap();
        r.faults = k.faults;
        if let Some(f) = &mut r.faults {
            f.events.push(FaultEvent {
                stall_s: Some(2.0),
                ..event(Action::Stall, Target::WebWorker, 12.0)
            });
        }
        let page = super::super::html(&doc);
        let chart = |title: &str| {
            let at = page
                .find(&format!("<h3>{title}</h3>"))
                .unwrap_or_else(|| panic!("no {title}"));
            page[at..].split("</figure>").next().unwrap().to_owned()
        };
        for title in ["Throughput over time", "CPU over time"] {
            let c = chart(title);
            assert_eq!(c.matches("class=\"rule x\"").count(), 2, "{title}: {c}");
            assert!(c.contains(">kill task_worker</text>"), "{title}: {c}");
            assert!(
                c.contains("<title>stall web_worker for 2.0 s</title>"),
                "{title}"
            );
        }
        // The run's own ΣPSS chart and its p99 second by second carry them too.
        assert!(
            page.matches(">kill task_worker</text>").count() >= 4,
            "{page}"
        );
    }

    #[test]
    fn a_stall_is_a_line_and_a_shaded_span() {
        let mut r = killed("subinterpreters", 1);
        let f = r.faults.as_mut().unwrap();
        f.events.push(FaultEvent {
            stall_s: Some(2.0),
            ..event(Action::Stall, Target::WebWorker, 12.0)
        });
        let (rules, spans) = marks(&[(&r, "#000".into())], false);
        let labels: Vec<(f64, &str)> = rules.iter().map(|r| (r.at, r.label.as_str())).collect();
        assert_eq!(
            labels,
            [(8.013, "kill task_worker"), (12.0, "stall web_worker")]
        );
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].from, spans[0].to), (12.0, 14.0));
        let md = markdown(&results("", vec![r]));
        assert!(md.contains("separated by /"), "{md}");
        assert!(md.contains("stall web_worker at 12.000 s"), "{md}");
        assert!(md.contains("stalled for 2.00 s"), "{md}");
    }
}
