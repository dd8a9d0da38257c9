//! The faults of a run, as they happen: at each fault's time inside the measured window it
//! finds the process of the named role, sends SIGKILL (or SIGSTOP, and SIGCONT after the
//! stall), records the exact moment, and probes the deployment until it answers again; after
//! the run it turns those moments into the figures of recovery (first success, errors and p99
//! of the seconds in between). It restarts nothing (the supervisor in `deploy` does) and reads
//! no task (the ledger in `tasks` does).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::deploy::Deployment;
use crate::scenario::faults::{Action, Fault, Target};

/// How often a recovering deployment is asked whether it answers.
const PROBE_EVERY: Duration = Duration::from_millis(50);

/// One fault as the scenario plans it.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    pub at: Duration,
    pub action: Action,
    pub target: Target,
    pub length: Option<Duration>,
}

impl Planned {
    /// The scenario's faults in time order.
    pub fn all(faults: &[serde_saphyr::Spanned<Fault>]) -> Vec<Self> {
        let mut all: Vec<Self> = faults
            .iter()
            .filter_map(|f| {
                let (action, target) = f.value.action()?;
                Some(Self {
                    at: f.value.at.value.0,
                    action,
                    target,
                    length: f.value.length.as_ref().map(|l| l.value.0),
                })
            })
            .collect();
        all.sort_by_key(|p| p.at);
        all
    }
}

/// A fault as it was sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub planned: Planned,
    pub at: Instant,
    /// The process signalled; None when the role had no live process then (a restart under
    /// way), and nothing was sent.
    pub pid: Option<i32>,
    /// Whether that process held a task at that moment (task workers, where known).
    pub held_task: Option<bool>,
    /// When the stall ended (SIGCONT).
    pub resumed: Option<Instant>,
    /// The first successful answer of the deployment after the fault.
    pub recovered: Option<Instant>,
    pub error: Option<String>,
}

/// Sends `plan`'s faults to `d`, timed from `window_start`, probing after each until the
/// deployment answers, `done` is set, or `until` passes. `busy` names the pids holding a task
/// now (a kill of a task worker prefers one of them). A stall still under way when `done` is
/// set is ended at once: no process is left stopped.
pub fn inject(
    d: &Deployment,
    plan: &[Planned],
    window_start: Instant,
    until: Instant,
    busy: &(dyn Fn() -> Vec<i32> + Sync),
    done: &AtomicBool,
) -> Vec<Sent> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(1))
        .pool_max_idle_per_host(0)
        .build();
    // After a fault to the broker the web side never stopped answering: what recovers is the
    // broker, which the app reports on by opening a connection to it.
    let url = |target: Target| match target {
        Target::Broker => format!("{}/_djbench/broker", d.base_url),
        _ => format!("{}/_djbench/env", d.base_url),
    };
    let answers = |client: &reqwest::blocking::Client, url: &str| {
        client
            .get(url)
            .send()
            .is_ok_and(|r| r.status().is_success())
    };
    std::thread::scope(|scope| {
        let mut probes = Vec::new();
        let mut sent = Vec::new();
        for p in plan {
            let due = window_start + p.at;
            while Instant::now() < due && !done.load(Ordering::Relaxed) {
                std::thread::sleep((due - Instant::now()).min(Duration::from_millis(20)));
            }
            if done.load(Ordering::Relaxed) {
                break;
            }
            let holders = if p.target == Target::TaskWorker {
                busy()
            } else {
                Vec::new()
            };
            let pid = d.target_pid(p.target, &holders);
            let signal = match p.action {
                Action::Kill => Signal::SIGKILL,
                Action::Stall => Signal::SIGSTOP,
            };
            let at = Instant::now();
            let error = match pid {
                None => Some(format!("no live {} process to signal", p.target)),
                Some(pid) => kill(Pid::from_raw(pid), signal)
                    .err()
                    .map(|e| format!("{signal} to {pid}: {e}")),
            };
            let mut s = Sent {
                planned: *p,
                at,
                pid,
                held_task: (p.target == Target::TaskWorker && !holders.is_empty())
                    .then(|| pid.is_some_and(|pid| holders.contains(&pid))),
                resumed: None,
                recovered: None,
                error,
            };
            if let (Action::Stall, Some(pid), Some(length)) = (p.action, pid, p.length) {
                let end = at + length;
                while Instant::now() < end && !done.load(Ordering::Relaxed) {
                    std::thread::sleep((end - Instant::now()).min(Duration::from_millis(10)));
                }
                let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
                s.resumed = Some(Instant::now());
            }
            if let Ok(client) = &client {
                let url = url(p.target);
                probes.push(scope.spawn(move || {
                    while Instant::now() < until && !done.load(Ordering::Relaxed) {
                        let asked = Instant::now();
                        if answers(client, &url) {
                            // When the answer came: a probe sent while the deployment was down
                            // may wait in its backlog and be answered after it recovered.
                            return Some(Instant::now());
                        }
                        std::thread::sleep(PROBE_EVERY.saturating_sub(asked.elapsed()));
                    }
                    None
                }));
            }
            sent.push(s);
        }
        for (s, probe) in sent.iter_mut().zip(probes) {
            s.recovered = probe.join().ok().flatten();
        }
        sent
    })
}

/// A fault of a run as results.json records it; times in seconds from the start of the
/// measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultEvent {
    pub action: Action,
    pub target: Target,
    /// When the scenario asked for it.
    pub planned_s: f64,
    /// When the signal was sent.
    pub at_s: f64,
    /// The same moment in CLOCK_MONOTONIC ns, the clock of the app's task ledger.
    pub monotonic_ns: u64,
    /// The process signalled (None: none of that role was alive; nothing was sent).
    pub pid: Option<i32>,
    /// What that process was, in words.
    pub process: String,
    /// Whether it held a task when killed (task workers; None: not known).
    pub held_task: Option<bool>,
    /// How long a stall lasted.
    pub stall_s: Option<f64>,
    /// From the fault to the first successful answer of the deployment (for a broker fault:
    /// the first time the app reached its broker again); None: none came before the drain
    /// ended.
    pub first_success_after_s: Option<f64>,
    /// Web requests and failures in the seconds from the fault to that answer (the whole
    /// rest of the window when none came).
    pub requests_while_recovering: u64,
    pub errors_while_recovering: u64,
    /// The worst per-second p99 over those seconds, failures included; None: no request
    /// finished then.
    pub p99_while_recovering_us: Option<u64>,
    /// The task load's `/enqueue` requests and failures over the same seconds (None without
    /// a task load): a broker outage shows here, not on the web side.
    #[serde(default)]
    pub enqueues_while_recovering: Option<u64>,
    #[serde(default)]
    pub enqueue_errors_while_recovering: Option<u64>,
    /// From the fault until the tasks accepted before recovery had finished (those that
    /// finished at all); None when unknown or there were none.
    pub backlog_drained_s: Option<f64>,
    /// Tasks queued or running at the fault (accepted before it, unfinished at it), how many
    /// of them were lost, and how many are stuck as running (a durable backend still holds
    /// them as running): for a kill of a process holding its queue in memory, the lost tasks
    /// are exactly these.
    pub tasks_at_fault: Option<u64>,
    pub of_those_lost: Option<u64>,
    #[serde(default)]
    pub of_those_stuck: Option<u64>,
    /// Why the fault could not be sent as planned.
    pub error: Option<String>,
}

/// A leader of the deployment that died during the run, and its restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Death {
    pub process: String,
    pub status: String,
    pub noticed_s: f64,
    pub restarted_s: Option<f64>,
    pub restart_error: Option<String>,
}

/// What a process of `target` is in a mode, for a reader.
pub fn describe(target: Target, mode: crate::scenario::model::Mode) -> &'static str {
    use crate::scenario::model::Mode::GunicornCelery;
    match (mode, target) {
        (GunicornCelery, Target::WebWorker) => "a gunicorn worker process",
        (GunicornCelery, Target::TaskWorker) => "a celery prefork child",
        (GunicornCelery, Target::Main) => "the gunicorn master (its workers go with it)",
        (_, Target::Broker) => "redis-server",
        (_, Target::WebWorker) => {
            "the one process (its web workers are subinterpreters or threads)"
        }
        (_, Target::TaskWorker) => {
            "the one process (its task workers are subinterpreters or threads)"
        }
        (_, Target::Main) => "the one process",
    }
}

/// The recovery figures of `sent` from the web load's per-second rows (all endpoints), and
/// the task load's when there is one.
pub fn event(
    s: &Sent,
    mode: crate::scenario::model::Mode,
    window_start: Instant,
    window_ns: u64,
    seconds: &[crate::load::SecondRow],
    task_seconds: Option<&[crate::load::SecondRow]>,
) -> FaultEvent {
    let rel = |t: Instant| t.saturating_duration_since(window_start).as_secs_f64();
    let at_s = rel(s.at);
    let recovered_s = s.recovered.map(rel);
    let first = at_s.floor() as u64;
    let last = recovered_s.map_or(u64::MAX, |r| r.ceil() as u64);
    let between = |rows: &[crate::load::SecondRow]| -> Vec<crate::load::SecondRow> {
        rows.iter()
            .filter(|r| r.path == "*" && (first..=last).contains(&r.second))
            .cloned()
            .collect()
    };
    let tasks = task_seconds.map(between);
    let (mut requests, mut errors, mut p99) = (0, 0, None::<u64>);
    for r in between(seconds) {
        requests += r.count;
        errors += r.errors;
        if r.count > 0 {
            p99 = Some(p99.map_or(r.p99_us, |p: u64| p.max(r.p99_us)));
        }
    }
    FaultEvent {
        action: s.planned.action,
        target: s.planned.target,
        planned_s: s.planned.at.as_secs_f64(),
        at_s,
        monotonic_ns: window_ns + (at_s * 1e9) as u64,
        pid: s.pid,
        process: describe(s.planned.target, mode).to_owned(),
        held_task: s.held_task,
        stall_s: s
            .resumed
            .map(|r| r.saturating_duration_since(s.at).as_secs_f64()),
        first_success_after_s: recovered_s.map(|r| (r - at_s).max(0.0)),
        requests_while_recovering: requests,
        errors_while_recovering: errors,
        p99_while_recovering_us: p99,
        enqueues_while_recovering: tasks.as_ref().map(|t| t.iter().map(|r| r.count).sum()),
        enqueue_errors_while_recovering: tasks.as_ref().map(|t| t.iter().map(|r| r.errors).sum()),
        backlog_drained_s: None,
        tasks_at_fault: None,
        of_those_lost: None,
        of_those_stuck: None,
        error: s.error.clone(),
    }
}

/// Pids that hold a task now, from the worker names of the ledger's started, unfinished rows
/// (`pid=… interp=… thread=…`), read from the run's SQLite file; none without one.
pub fn busy_pids(sqlite: Option<&std::path::Path>) -> Vec<i32> {
    use rusqlite::{Connection, OpenFlags};
    let Some(db) = sqlite else {
        return Vec::new();
    };
    let Ok(conn) = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return Vec::new();
    };
    let _ = conn.busy_timeout(Duration::from_millis(200));
    let Ok(mut q) = conn.prepare(
        "SELECT worker FROM bench_taskrecord WHERE started_ns IS NOT NULL AND finished_ns IS NULL",
    ) else {
        return Vec::new();
    };
    let Ok(rows) = q.query_map([], |r| r.get::<_, String>(0)) else {
        return Vec::new();
    };
    rows.filter_map(Result::ok)
        .filter_map(|w| {
            w.strip_prefix("pid=")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::SecondRow;

    fn row(second: u64, count: u64, errors: u64, p99_us: u64) -> SecondRow {
        SecondRow {
            second,
            path: "*".into(),
            count,
            errors,
            p50_us: 0,
            p99_us,
            max_us: 0,
        }
    }

    #[test]
    fn recovery_counts_the_seconds_from_the_fault_to_the_first_answer() {
        let start = Instant::now();
        let sent = Sent {
            planned: Planned {
                at: Duration::from_secs(3),
                action: Action::Kill,
                target: Target::Main,
                length: None,
            },
            at: start + Duration::from_millis(3_200),
            pid: Some(42),
            held_task: None,
            resumed: None,
            recovered: Some(start + Duration::from_millis(4_500)),
            error: None,
        };
        let seconds = [
            row(2, 100, 0, 1_000),
            row(3, 40, 10, 90_000),
            row(4, 30, 5, 50_000),
            row(5, 100, 0, 1_000),
            row(6, 100, 0, 1_000),
        ];
        let e = event(
            &sent,
            crate::scenario::model::Mode::Subinterpreters,
            start,
            0,
            &seconds,
            Some(&seconds[1..2]),
        );
        // The task load's rows count the same way: only second 3 of them is given.
        assert_eq!(
            (
                e.enqueues_while_recovering,
                e.enqueue_errors_while_recovering
            ),
            (Some(40), Some(10))
        );
        // Seconds 3 to 5 (4.5 rounded up): 170 requests, 15 failed, worst p99 90 ms.
        assert_eq!(
            (e.requests_while_recovering, e.errors_while_recovering),
            (170, 15)
        );
        assert_eq!(e.p99_while_recovering_us, Some(90_000));
        assert!((e.first_success_after_s.unwrap() - 1.3).abs() < 1e-6);
        // Never recovered: the rest of the window counts, and no recovery time is made up.
        let dead = Sent {
            recovered: None,
            ..sent
        };
        let e = event(
            &dead,
            crate::scenario::model::Mode::Subinterpreters,
            start,
            0,
            &seconds,
            None,
        );
        assert_eq!(e.enqueues_while_recovering, None);
        assert_eq!(
            (e.requests_while_recovering, e.first_success_after_s),
            (270, None)
        );
    }
}
