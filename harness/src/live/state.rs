//! What the live view knows: the scenario's events folded into one state, which both the
//! terminal view and the plain lines read. No terminal here, so it is tested on its own.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::load::SecondRow;
use crate::run::{Event, RunInfo, RunOutcome};
use crate::sample::Glance;

/// How many seconds the throughput sparkline keeps.
pub const HISTORY: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the first run: the database is being prepared.
    Preparing,
    /// A deployment is starting (the banner between modes).
    Deploying,
    /// Load is on: warm-up, then the measured window.
    Measuring,
    /// Load over, the task queue draining, then teardown.
    Draining,
    /// Every run is over.
    Finished,
}

/// One finished run, as the scoreboard shows it.
#[derive(Debug, Clone)]
pub struct Finished {
    pub deployment: usize,
    pub label: String,
    pub outcome: RunOutcome,
}

impl Finished {
    pub fn rps(&self) -> Option<f64> {
        self.outcome.load.as_ref().map(|l| l.throughput_rps)
    }
    pub fn p99_us(&self) -> Option<u64> {
        self.outcome
            .load
            .as_ref()
            .and_then(|l| l.latency_us)
            .map(|l| l.p99)
    }
    pub fn pss_peak(&self) -> Option<u64> {
        self.outcome.sample.as_ref().map(|m| m.pss.total.peak_bytes)
    }
}

#[derive(Debug)]
pub struct State {
    pub scenario: String,
    /// Every deployment's label, in the scenario's order (its colour).
    pub deployments: Vec<String>,
    pub phase: Phase,
    pub run: Option<RunInfo>,
    pub python: String,
    pub gil_enabled: Option<bool>,
    /// When the current phase began (load began, for Measuring).
    pub since: Instant,
    /// The current run's seconds, newest last.
    pub seconds: VecDeque<SecondRow>,
    pub errors: u64,
    pub glance: Option<Glance>,
    pub tasks: Option<(u64, u64, u64)>,
    /// The largest ΣPSS seen in the whole scenario: the memory bars' common scale, so a
    /// smaller deployment draws a shorter bar.
    pub pss_scale: u64,
    pub done: Vec<Finished>,
    pub out: Option<PathBuf>,
    pub complete: bool,
}

impl State {
    pub fn new(scenario: &str, deployments: Vec<String>) -> Self {
        Self {
            scenario: scenario.to_owned(),
            deployments,
            phase: Phase::Preparing,
            run: None,
            python: String::new(),
            gil_enabled: None,
            since: Instant::now(),
            seconds: VecDeque::new(),
            errors: 0,
            glance: None,
            tasks: None,
            pss_scale: 0,
            done: Vec::new(),
            out: None,
            complete: false,
        }
    }

    pub fn apply(&mut self, event: Event) {
        match event {
            // Steps are for the plain lines; the view shows its phase instead.
            Event::Note(_) => {}
            Event::Deploying(info) => {
                self.phase = Phase::Deploying;
                self.run = Some(info);
                self.since = Instant::now();
                self.python.clear();
                self.gil_enabled = None;
                self.seconds.clear();
                self.errors = 0;
                self.glance = None;
                self.tasks = None;
            }
            Event::Measuring {
                python,
                gil_enabled,
            } => {
                self.phase = Phase::Measuring;
                self.since = Instant::now();
                self.python = python;
                self.gil_enabled = gil_enabled;
            }
            Event::Second(row) => {
                self.errors += row.errors;
                self.seconds.push_back(row);
                if self.seconds.len() > HISTORY {
                    self.seconds.pop_front();
                }
            }
            Event::Glance(g) => {
                self.pss_scale = self
                    .pss_scale
                    .max(g.processes.iter().map(|p| p.pss_bytes).sum());
                self.glance = Some(g);
            }
            Event::Tasks {
                enqueued,
                started,
                finished,
            } => self.tasks = Some((enqueued, started, finished)),
            Event::Draining => {
                self.phase = Phase::Draining;
                // The last row is the in-flight tail after the window, a fraction of a second.
                self.seconds.pop_back();
            }
            Event::Done(outcome) => {
                if let Some(info) = &self.run {
                    if let Some(peak) = outcome.sample.as_ref().map(|m| m.pss.total.peak_bytes) {
                        self.pss_scale = self.pss_scale.max(peak);
                    }
                    self.done.push(Finished {
                        deployment: info.deployment,
                        label: info.label.clone(),
                        outcome: *outcome,
                    });
                }
            }
            Event::Finished { out, complete } => {
                self.phase = Phase::Finished;
                self.out = Some(out);
                self.complete = complete;
            }
        }
    }

    /// Load time so far in this run (warm-up included), less the time `held` says the load
    /// was held.
    pub fn load_elapsed(&self, held: Duration) -> Duration {
        self.since.elapsed().saturating_sub(held)
    }

    /// The latest second, if load has been measured yet.
    pub fn last(&self) -> Option<&SecondRow> {
        self.seconds.back()
    }

    /// Queued, running and done, from the app's counts.
    pub fn task_counts(&self) -> Option<(u64, u64, u64)> {
        self.tasks.map(|(enq, started, finished)| {
            (
                enq.saturating_sub(started),
                started.saturating_sub(finished),
                finished,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::ProcessGlance;

    fn row(second: u64, count: u64, errors: u64) -> SecondRow {
        SecondRow {
            second,
            path: "*".into(),
            count,
            errors,
            p50_us: 1000,
            p99_us: 9000,
            max_us: 12000,
        }
    }

    #[test]
    fn seconds_errors_and_memory_scale_accumulate_per_run() {
        let mut s = State::new("demo", vec!["a".into(), "b".into()]);
        s.apply(Event::Second(row(0, 10, 1)));
        s.apply(Event::Second(row(1, 12, 2)));
        assert_eq!(s.errors, 3);
        assert_eq!(s.last().map(|r| r.count), Some(12));
        let glance = |pss| {
            Event::Glance(Glance {
                t: 1.0,
                processes: vec![ProcessGlance {
                    pid: 1,
                    role: crate::deploy::Role::App,
                    name: "python".into(),
                    pss_bytes: pss,
                    cores: 0.5,
                    threads: 4,
                }],
            })
        };
        s.apply(glance(300));
        s.apply(glance(100));
        assert_eq!(s.pss_scale, 300, "the scale keeps the largest deployment");
        s.apply(Event::Tasks {
            enqueued: 10,
            started: 7,
            finished: 5,
        });
        assert_eq!(s.task_counts(), Some((3, 2, 5)));
    }
}
