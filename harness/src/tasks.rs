//! The background tasks of a run, as read back from the app once its load is over: waiting for
//! the task queue to drain, then every task's enqueue, start and finish times from the app's
//! task table (`/_djbench/tasks`), reduced to the run's task figures. Any error while draining
//! or reading makes the figures unknown (an `Err`), never zeros. It reads only through the
//! function it is given; it deploys, loads and samples nothing.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::load::{Latency, recorder_histogram};

/// The measured window in CLOCK_MONOTONIC nanoseconds, the clock the app stamps tasks with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_ns: u64,
    pub to_ns: u64,
}

impl Window {
    /// A window that opens `after` from now and lasts `length`.
    pub fn from_now(after: Duration, length: Duration) -> Self {
        let from_ns = monotonic_ns() + after.as_nanos() as u64;
        Self {
            from_ns,
            to_ns: from_ns + length.as_nanos() as u64,
        }
    }

    /// The same start, lasting `length` (the window as it was lived: cut short, or held).
    pub fn lasting(self, length: Duration) -> Self {
        Self {
            to_ns: self.from_ns + length.as_nanos() as u64,
            ..self
        }
    }

    fn holds(&self, ns: u64) -> bool {
        (self.from_ns..self.to_ns).contains(&ns)
    }

    fn seconds(&self) -> f64 {
        self.to_ns.saturating_sub(self.from_ns) as f64 / 1e9
    }
}

/// CLOCK_MONOTONIC now, in ns (Rust's `Instant` reads the same clock but hides its value).
pub fn monotonic_ns() -> u64 {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(0, |t| {
        t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
    })
}

/// One page of `/_djbench/tasks`: the app's counts, and its tasks with ids above a cursor.
#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    pub enqueued: u64,
    /// Of those, accepted by the backend (None from an app that does not say).
    #[serde(default)]
    pub accepted: Option<u64>,
    pub started: u64,
    pub finished: u64,
    pub tasks: Vec<Task>,
    pub next: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Task {
    pub enqueued_ns: u64,
    pub started_ns: Option<u64>,
    pub finished_ns: Option<u64>,
    /// Times the task started and finished (a redelivered task runs again); None from an app
    /// that does not count them.
    #[serde(default)]
    pub starts: Option<u32>,
    #[serde(default)]
    pub finishes: Option<u32>,
    /// False when the backend refused it at enqueue (the request answered 503).
    #[serde(default)]
    pub accepted: Option<bool>,
}

/// A fault's moment in the app's clock, and when the deployment answered again after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub at_ns: u64,
    /// The first successful answer after it; None: none came.
    pub recovered_ns: Option<u64>,
}

/// Every task of a run sorted by what became of it, as the app's ledger (its task table in
/// the database, which outlives any process of the deployment) has it after the drain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// Tasks the app recorded at enqueue.
    pub recorded: u64,
    /// Finished exactly once.
    pub finished_once: u64,
    /// Finished more than once (redelivered after its worker died, and run again).
    pub duplicated: u64,
    /// Accepted and never finished, and not held by the backend: gone. With a backend that
    /// keeps no task of its own once a worker took it (memory, celery), a task started and
    /// never finished died with its worker and counts here.
    pub lost: u64,
    /// Started and never finished where the backend still holds the task as running (the
    /// database backend's row says RUNNING after its worker died): stuck, not gone, but no
    /// worker will take it again.
    pub still_running: u64,
    /// Recorded but never taken by the backend (it refused, or the process died before it
    /// took the task): the enqueue request failed.
    pub not_accepted: u64,
    /// Per fault, in order: what the ledger says of the tasks around it.
    pub at_faults: Vec<AtFault>,
}

/// The tasks around one fault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AtFault {
    /// Accepted before the fault and not finished at it: queued or running at that moment.
    pub queued_or_running: u64,
    /// Of those, how many were lost, and how many are stuck as running (see [`Ledger`]).
    pub of_those_lost: u64,
    #[serde(default)]
    pub of_those_stuck: u64,
    /// From the fault until every task accepted before the deployment answered again, and
    /// finished at all, had finished (s); None when there were none or it never answered.
    pub backlog_drained_s: Option<f64>,
}

impl Ledger {
    fn add(&mut self, t: &Task, durable: bool) {
        self.recorded += 1;
        if refused(t) {
            self.not_accepted += 1;
            return;
        }
        let finishes = t.finishes.unwrap_or(u32::from(t.finished_ns.is_some()));
        match finishes {
            0 if stuck(t, durable) => self.still_running += 1,
            0 => self.lost += 1,
            1 => self.finished_once += 1,
            _ => self.duplicated += 1,
        }
    }
}

/// A task the backend never took: its record is not marked accepted and it never finished (a
/// task that finished was taken, whatever its flag says: the process can die between the
/// backend taking it and the flag being set).
fn refused(t: &Task) -> bool {
    t.accepted == Some(false) && t.finished_ns.is_none()
}

/// A task started and never finished that a durable backend still holds as running.
fn stuck(t: &Task, durable: bool) -> bool {
    durable && t.started_ns.is_some() && t.finished_ns.is_none()
}

/// What the task figures of one run are.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Every task the app recorded and its backend accepted, warm-up included.
    pub enqueued: u64,
    pub finished: u64,
    /// Enqueued and not finished by the end of the drain.
    pub lost: u64,
    /// Tasks enqueued inside the measured window: what the histograms are made of.
    pub in_window: u64,
    /// Enqueue→start and enqueue→finish of the window's tasks; None when none started or
    /// finished.
    pub enqueue_to_start_us: Option<Latency>,
    pub enqueue_to_finish_us: Option<Latency>,
    /// Tasks finished inside the window, per second of it.
    pub tasks_per_second: f64,
}

/// A reader of the app's JSON at a path (`Deployment::get_json`, in a run).
pub type Get<'a> = &'a dyn Fn(&str) -> Result<Page, String>;

/// Waits until every enqueued task has finished, `deadline` passes or `stop` says so; returns
/// the last counts. An error reading them ends the wait with that error: the figures are then
/// unknown.
pub fn drain(get: Get<'_>, deadline: Instant, stop: &dyn Fn() -> bool) -> Result<Page, String> {
    loop {
        let page = get("/_djbench/tasks?limit=1")?;
        let waiting_for = page.accepted.unwrap_or(page.enqueued);
        if page.finished >= waiting_for || Instant::now() > deadline || stop() {
            return Ok(page);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Hands `f` every task of the app's table, read page by page through its cursor; an error
/// reading a page, or a cursor that does not advance, ends it with that error.
fn each_task(get: Get<'_>, mut f: impl FnMut(&Task)) -> Result<(), String> {
    let mut after = 0;
    loop {
        let page = get(&format!("/_djbench/tasks?after={after}&limit=5000"))?;
        if page.tasks.is_empty() {
            return Ok(());
        }
        page.tasks.iter().for_each(&mut f);
        if page.next <= after {
            return Err(format!(
                "the app's task list did not advance past id {after}"
            ));
        }
        after = page.next;
    }
}

/// Reads every task page by page and reduces them to the run's figures. Histograms and the
/// rate cover the window; the counts cover every task.
pub fn figures(get: Get<'_>, window: Window) -> Result<Figures, String> {
    let (mut start, mut finish) = (recorder_histogram(), recorder_histogram());
    let (mut enqueued, mut finished, mut in_window, mut done_in_window) = (0u64, 0u64, 0u64, 0u64);
    each_task(get, |t| {
        // A task the backend refused (its request answered 503) is counted by the task
        // load as a failed enqueue: counting its record too would count it twice.
        if refused(t) {
            return;
        }
        enqueued += 1;
        finished += u64::from(t.finished_ns.is_some());
        if t.finished_ns.is_some_and(|f| window.holds(f)) {
            done_in_window += 1;
        }
        if !window.holds(t.enqueued_ns) {
            return;
        }
        in_window += 1;
        if let Some(s) = t.started_ns {
            start.saturating_record(s.saturating_sub(t.enqueued_ns) / 1000);
        }
        if let Some(f) = t.finished_ns {
            finish.saturating_record(f.saturating_sub(t.enqueued_ns) / 1000);
        }
    })?;
    let latency = |h: &hdrhistogram::Histogram<u64>| (!h.is_empty()).then(|| Latency::of(h));
    let seconds = window.seconds();
    Ok(Figures {
        enqueued,
        finished,
        lost: enqueued - finished,
        in_window,
        enqueue_to_start_us: latency(&start),
        enqueue_to_finish_us: latency(&finish),
        tasks_per_second: if seconds > 0.0 {
            done_in_window as f64 / seconds
        } else {
            0.0
        },
    })
}

/// Reads every task and sorts them into the ledger's lines, with what happened around each of
/// `marks` (the run's faults). `durable`: the backend keeps each task until it finishes (the
/// database backend), so one started and never finished is stuck, not lost.
pub fn ledger(get: Get<'_>, marks: &[Mark], durable: bool) -> Result<Ledger, String> {
    let mut ledger = Ledger {
        at_faults: vec![AtFault::default(); marks.len()],
        ..Ledger::default()
    };
    let mut drained: Vec<Option<u64>> = vec![None; marks.len()];
    each_task(get, |t| {
        ledger.add(t, durable);
        if refused(t) {
            return;
        }
        for ((m, at), drained) in marks.iter().zip(&mut ledger.at_faults).zip(&mut drained) {
            if t.enqueued_ns < m.at_ns && t.finished_ns.is_none_or(|f| f > m.at_ns) {
                at.queued_or_running += 1;
                if t.finished_ns.is_none() {
                    if stuck(t, durable) {
                        at.of_those_stuck += 1;
                    } else {
                        at.of_those_lost += 1;
                    }
                }
            }
            if let (Some(r), Some(f)) = (m.recovered_ns, t.finished_ns)
                && t.enqueued_ns <= r
                && f > m.at_ns
            {
                *drained = Some(drained.map_or(f, |d: u64| d.max(f)));
            }
        }
    })?;
    for ((m, at), d) in marks.iter().zip(&mut ledger.at_faults).zip(drained) {
        at.backlog_drained_s = d.map(|d| d.saturating_sub(m.at_ns) as f64 / 1e9);
    }
    Ok(ledger)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn task(enq: u64, start: Option<u64>, fin: Option<u64>) -> Task {
        Task {
            enqueued_ns: enq,
            started_ns: start,
            finished_ns: fin,
            starts: None,
            finishes: None,
            accepted: None,
        }
    }

    #[test]
    fn the_ledger_sorts_tasks_and_counts_those_queued_or_running_at_a_kill() {
        let counted = |mut t: Task, starts, finishes, accepted| {
            t.starts = Some(starts);
            t.finishes = Some(finishes);
            t.accepted = Some(accepted);
            t
        };
        let kill = Mark {
            at_ns: 10 * S,
            recovered_ns: Some(12 * S),
        };
        let tasks = vec![
            // Done before the kill.
            counted(task(S, Some(S), Some(2 * S)), 1, 1, true),
            // Queued at the kill, never ran: lost.
            counted(task(9 * S, None, None), 0, 0, true),
            // Running at the kill, left marked running: lost, still running.
            counted(task(8 * S, Some(9 * S), None), 1, 0, true),
            // Running at the kill, redelivered, finished twice.
            counted(task(8 * S, Some(9 * S), Some(13 * S)), 2, 2, true),
            // Refused during the outage.
            counted(task(11 * S, None, None), 0, 0, false),
            // Enqueued after recovery: not part of the backlog.
            counted(task(14 * S, Some(14 * S), Some(20 * S)), 1, 1, true),
        ];
        let l = ledger(&pages(tasks.clone()), &[kill], false).unwrap();
        assert_eq!(
            (
                l.recorded,
                l.finished_once,
                l.duplicated,
                l.lost,
                l.still_running,
                l.not_accepted
            ),
            (6, 2, 1, 2, 0, 1)
        );
        assert_eq!(l.at_faults[0].queued_or_running, 3);
        assert_eq!(l.at_faults[0].of_those_lost, 2);
        // A durable backend still holds the one that was running: stuck, not lost.
        let durable = ledger(&pages(tasks), &[kill], true).unwrap();
        assert_eq!((durable.lost, durable.still_running), (1, 1));
        let at = &durable.at_faults[0];
        assert_eq!((at.of_those_lost, at.of_those_stuck), (1, 1));
        // The backlog (accepted by 12 s) drained when the redelivered task finished at 13 s.
        assert_eq!(l.at_faults[0].backlog_drained_s, Some(3.0));
        // Nothing recovered: no drain time, never 0.
        let dead = Mark {
            at_ns: 10 * S,
            recovered_ns: None,
        };
        let l = ledger(&pages(vec![task(9 * S, None, None)]), &[dead], true).unwrap();
        assert_eq!((l.lost, l.at_faults[0].backlog_drained_s), (1, None));
    }

    /// Serves `tasks` in pages of two, as the app does with a cursor.
    fn pages(tasks: Vec<Task>) -> impl Fn(&str) -> Result<Page, String> {
        move |path: &str| {
            let after: usize = path
                .split("after=")
                .nth(1)
                .and_then(|r| r.split('&').next())
                .map_or(0, |a| a.parse().unwrap());
            let page: Vec<Task> = tasks.iter().skip(after).take(2).cloned().collect();
            Ok(Page {
                enqueued: tasks.len() as u64,
                accepted: None,
                started: 0,
                finished: 0,
                next: (after + page.len()) as u64,
                tasks: page,
            })
        }
    }

    #[test]
    fn warm_up_tasks_stay_out_of_the_histograms_and_the_rate_counts_finishes_in_the_window() {
        let window = Window {
            from_ns: 10 * S,
            to_ns: 20 * S,
        };
        let tasks = vec![
            // Warm-up: enqueued before the window, finished inside it.
            task(9 * S, Some(9 * S), Some(11 * S)),
            task(12 * S, Some(12 * S + 1_000_000), Some(12 * S + 5_000_000)),
            task(15 * S, Some(15 * S + 2_000_000), Some(15 * S + 8_000_000)),
            // Enqueued in the window, finished after it.
            task(19 * S, Some(19 * S), Some(21 * S)),
            // Never finished.
            task(19 * S, None, None),
        ];
        let f = figures(&pages(tasks), window).unwrap();
        assert_eq!((f.enqueued, f.finished, f.lost, f.in_window), (5, 4, 1, 4));
        let fin = f.enqueue_to_finish_us.unwrap();
        // 5 ms, 8 ms and 2 s were recorded; the warm-up task's 2 s is not among them.
        assert!((4_990..=5_010).contains(&fin.min), "{fin:?}");
        assert!(fin.max >= 1_999_000, "{fin:?}");
        // Finished inside the window: the warm-up task and two others, over 10 s.
        assert!(
            (f.tasks_per_second - 0.3).abs() < 1e-9,
            "{}",
            f.tasks_per_second
        );
    }

    #[test]
    fn a_task_that_finished_was_accepted_whatever_its_flag_says() {
        // The process died after the backend took it and before the flag was set.
        let mut t = task(S, Some(S), Some(2 * S));
        t.accepted = Some(false);
        let mut never = task(S, None, None);
        never.accepted = Some(false);
        let l = ledger(&pages(vec![t, never]), &[], true).unwrap();
        assert_eq!((l.finished_once, l.not_accepted, l.lost), (1, 1, 0));
    }

    #[test]
    fn an_error_on_any_page_makes_the_figures_unknown() {
        let window = Window {
            from_ns: 0,
            to_ns: S,
        };
        let broken = |path: &str| -> Result<Page, String> {
            if path.contains("after=0") {
                pages(vec![task(1, None, None), task(2, None, None)])(path)
            } else {
                Err("HTTP 500".into())
            }
        };
        assert_eq!(figures(&broken, window), Err("HTTP 500".into()));
        let never = |_: &str| -> Result<Page, String> { Err("HTTP 500".into()) };
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(drain(&never, deadline, &|| false).is_err());
    }

    #[test]
    fn no_task_in_the_window_is_no_latency_not_zero() {
        let window = Window {
            from_ns: 10 * S,
            to_ns: 20 * S,
        };
        let f = figures(&pages(vec![task(S, Some(S), Some(S))]), window).unwrap();
        assert_eq!((f.in_window, f.enqueue_to_finish_us), (0, None));
    }
}
