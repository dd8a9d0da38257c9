//! The background tasks of a run, as read back from the app once its load is over: waiting for
//! the task queue to drain, then every task's enqueue, start and finish times from the app's
//! task table (`/_djbench/tasks`), reduced to the run's task figures. Any error while draining
//! or reading makes the figures unknown (an `Err`), never zeros. It reads only through the
//! function it is given; it deploys, loads and samples nothing.

use std::time::{Duration, Instant};

use serde::Deserialize;

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
}

/// What the task figures of one run are.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Every task the app recorded, warm-up included.
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
        if page.finished >= page.enqueued || Instant::now() > deadline || stop() {
            return Ok(page);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads every task page by page and reduces them to the run's figures. Histograms and the
/// rate cover the window; the counts cover every task.
pub fn figures(get: Get<'_>, window: Window) -> Result<Figures, String> {
    let (mut start, mut finish) = (recorder_histogram(), recorder_histogram());
    let (mut enqueued, mut finished, mut in_window, mut done_in_window) = (0u64, 0u64, 0u64, 0u64);
    let mut after = 0;
    loop {
        let page = get(&format!("/_djbench/tasks?after={after}&limit=5000"))?;
        if page.tasks.is_empty() {
            break;
        }
        for t in &page.tasks {
            enqueued += 1;
            finished += u64::from(t.finished_ns.is_some());
            if t.finished_ns.is_some_and(|f| window.holds(f)) {
                done_in_window += 1;
            }
            if !window.holds(t.enqueued_ns) {
                continue;
            }
            in_window += 1;
            if let Some(s) = t.started_ns {
                start.saturating_record(s.saturating_sub(t.enqueued_ns) / 1000);
            }
            if let Some(f) = t.finished_ns {
                finish.saturating_record(f.saturating_sub(t.enqueued_ns) / 1000);
            }
        }
        if page.next <= after {
            return Err(format!(
                "the app's task list did not advance past id {after}"
            ));
        }
        after = page.next;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn task(enq: u64, start: Option<u64>, fin: Option<u64>) -> Task {
        Task {
            enqueued_ns: enq,
            started_ns: start,
            finished_ns: fin,
        }
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
