//! The plan of a scenario: which deployment runs when (modes × repetitions, interleaved), for
//! how long, and where the results go. Pure arithmetic on a checked scenario; it runs nothing.
//!
//! Run order is ABBA-style: odd repetitions run the deployments in the scenario's order, even
//! ones in reverse (A B C, C B A, A B C, …). Over every two repetitions each deployment's
//! mean position is the same, so a linear drift of the machine (warming up, a neighbour's load
//! ramping) falls on all alike and cancels from their difference, exactly and without a seed to
//! record; a seeded shuffle cancels it only on average and adds the shuffle's own variance.
//! With an odd count the last repetition leaves one repetition's worth of drift, shared out
//! over all of them.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::Scenario;

/// Command-line values that take precedence over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub duration: Option<Duration>,
    pub repetitions: Option<u32>,
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedRun {
    /// 1-based position in run order.
    pub index: usize,
    /// 1-based repetition of this deployment.
    pub repetition: u32,
    /// Index into the scenario's `modes`.
    pub deployment: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub runs: Vec<PlannedRun>,
    pub repetitions: u32,
    /// The quiet window before each run's warm-up (`sampling.idle`); 0: none.
    #[serde(default, with = "humantime_serde_secs")]
    pub idle: Duration,
    #[serde(with = "humantime_serde_secs")]
    pub warmup: Duration,
    #[serde(with = "humantime_serde_secs")]
    pub duration: Duration,
    /// Upper bound on the task drain after each run, when background tasks run.
    #[serde(with = "humantime_serde_secs")]
    pub drain_bound: Duration,
    pub out: PathBuf,
    /// A user's project (`app:`): what was deployed, how its tasks ran, and the deployments
    /// left out because `djbench check` says their mode cannot run it. Filled in once the
    /// project is provisioned and checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectPlan>,
}

/// A user's project as planned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectPlan {
    pub dir: PathBuf,
    pub settings: String,
    /// `module:attr` as given, or the settings' WSGI_APPLICATION.
    pub wsgi: String,
    /// What deployments with `interface: asgi` serve: `module:attr` as given, or Django's
    /// handler; absent when none is served over ASGI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asgi: Option<String>,
    /// How its background tasks ran, in a sentence (web only, swapped in, its own).
    pub tasks: String,
    pub skipped: Vec<Skipped>,
}

/// A deployment not run: the check's reason.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skipped {
    pub label: String,
    pub mode: super::model::Mode,
    pub reason: String,
}

/// Durations in the plan's JSON are seconds, as numbers.
mod humantime_serde_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<std::time::Duration, D::Error> {
        let secs: f64 = serde::Deserialize::deserialize(d)?;
        std::time::Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

impl Plan {
    pub fn new(scenario: &Scenario, overrides: &Overrides, now: SystemTime) -> Self {
        let w = &scenario.file.workload;
        let repetitions = overrides.repetitions.unwrap_or(w.repetitions.get());
        let deployments = scenario.file.modes.len();
        let runs = (1..=repetitions)
            .flat_map(|repetition| {
                (0..deployments).map(move |k| {
                    let reversed = repetition % 2 == 0;
                    let deployment = if reversed { deployments - 1 - k } else { k };
                    (repetition, deployment)
                })
            })
            .enumerate()
            .map(|(i, (repetition, deployment))| PlannedRun {
                index: i + 1,
                repetition,
                deployment,
            })
            .collect();
        let tasks_run = scenario.file.tasks.rate.is_some();
        let out = overrides.out.clone().unwrap_or_else(|| {
            PathBuf::from(
                scenario
                    .file
                    .output
                    .dir
                    .value
                    .replace("{name}", scenario.name())
                    .replace("{timestamp}", &compact_utc(now)),
            )
        });
        Self {
            runs,
            repetitions,
            idle: scenario.file.sampling.idle.0,
            warmup: w.warmup.0,
            duration: overrides.duration.unwrap_or(w.duration.value.0),
            drain_bound: if tasks_run {
                scenario.file.tasks.drain_timeout.0
            } else {
                Duration::ZERO
            },
            out,
            project: None,
        }
    }

    /// Load time over all runs (the quiet window, warm-up and measured): a floor on the wall
    /// time.
    pub fn load_time(&self) -> Duration {
        (self.idle + self.warmup + self.duration) * self.runs.len() as u32
    }

    /// The floor plus every run's task-drain bound: a ceiling for the load and drain phases.
    pub fn load_and_drain_bound(&self) -> Duration {
        self.load_time() + self.drain_bound * self.runs.len() as u32
    }
}

/// `20261122T030500Z`: sortable, and safe in a folder name.
pub fn compact_utc(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(yaml: &str) -> Scenario {
        super::super::parse(Path::new("t.yaml"), yaml.as_bytes()).unwrap()
    }

    #[test]
    fn runs_interleave_modes_and_reverse_every_other_repetition() {
        let s = scenario(
            "name: t\nmodes: [gunicorn_celery, subinterpreters, free_threaded]\nworkload: {repetitions: 3}\n",
        );
        let plan = Plan::new(&s, &Overrides::default(), SystemTime::UNIX_EPOCH);
        let order: Vec<(u32, usize)> = plan
            .runs
            .iter()
            .map(|r| (r.repetition, r.deployment))
            .collect();
        assert_eq!(
            order,
            vec![
                (1, 0),
                (1, 1),
                (1, 2),
                (2, 2),
                (2, 1),
                (2, 0),
                (3, 0),
                (3, 1),
                (3, 2)
            ]
        );
        let indices: Vec<usize> = plan.runs.iter().map(|r| r.index).collect();
        assert_eq!(indices, (1..=9).collect::<Vec<_>>());
    }

    #[test]
    fn every_two_repetitions_cancel_a_linear_drift() {
        let s = scenario(
            "name: t\nmodes: [gunicorn_celery, subinterpreters, free_threaded, {mode: free_threaded, label: ft2}]\nworkload: {repetitions: 4}\n",
        );
        let plan = Plan::new(&s, &Overrides::default(), SystemTime::UNIX_EPOCH);
        // A drift of one unit per run adds `index` to every run: each deployment's sum of
        // indices is what drift adds to its total.
        let mut drift = [0usize; 4];
        for r in &plan.runs {
            drift[r.deployment] += r.index;
        }
        assert!(drift.iter().all(|&d| d == drift[0]), "{drift:?}");
        // Each deployment's repetitions still come in order.
        for d in 0..4 {
            let reps: Vec<u32> = plan
                .runs
                .iter()
                .filter(|r| r.deployment == d)
                .map(|r| r.repetition)
                .collect();
            assert_eq!(reps, vec![1, 2, 3, 4]);
        }
    }

    #[test]
    fn overrides_win_and_the_timestamp_is_filled_in() {
        let s = scenario("name: t\nworkload: {duration: 10s, warmup: 2s}\nsampling: {idle: 0s}\n");
        let o = Overrides {
            duration: Some(Duration::from_secs(4)),
            repetitions: Some(1),
            out: None,
        };
        let plan = Plan::new(&s, &o, SystemTime::UNIX_EPOCH);
        assert_eq!(plan.runs.len(), 3);
        assert_eq!(plan.load_time(), Duration::from_secs(3 * 6));
        assert_eq!(plan.out, PathBuf::from("reports/t-19700101T000000Z"));
    }

    #[test]
    fn the_quiet_window_counts_in_the_wall_time() {
        let s = scenario(
            "name: t\nmodes: [free_threaded]\nworkload: {duration: 10s, warmup: 2s, repetitions: 2}\n",
        );
        let plan = Plan::new(&s, &Overrides::default(), SystemTime::UNIX_EPOCH);
        assert_eq!(plan.idle, Duration::from_secs(3));
        assert_eq!(plan.load_time(), Duration::from_secs(2 * (3 + 2 + 10)));
    }

    #[test]
    fn the_drain_bound_counts_only_when_tasks_run() {
        let quiet = scenario("name: t\nmodes: [free_threaded]\nworkload: {repetitions: 1}\n");
        let busy = scenario(
            "name: t\nmodes: [free_threaded]\nworkload: {repetitions: 1}\ntasks: {rate: 5, drain_timeout: 7s}\n",
        );
        let now = SystemTime::UNIX_EPOCH;
        let q = Plan::new(&quiet, &Overrides::default(), now);
        let b = Plan::new(&busy, &Overrides::default(), now);
        assert_eq!(q.load_and_drain_bound(), q.load_time());
        assert_eq!(
            b.load_and_drain_bound(),
            b.load_time() + Duration::from_secs(7)
        );
    }
}
