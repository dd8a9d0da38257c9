//! The scenario's fault keys: `faults:` (signals sent to a role of each deployment at times
//! inside its measured window), `restart:` (the supervisor policy), and the checks that tie
//! them to the deployments (a role the mode lacks, a time outside the window). It only reads
//! and checks; sending the signals is `faults`'s (the harness module), restarting `deploy`'s.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};

use super::model::{Deployment, Mode, ScenarioFile};
use super::units::Duration;

/// One fault: at `at` into the measured window (after the warm-up), SIGKILL (`kill:`) or
/// SIGSTOP then SIGCONT after `for` (`stall:`) one process of a role.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// When, from the start of the measured window: inside it.
    #[schemars(with = "Duration")]
    pub at: Spanned<Duration>,
    /// SIGKILL one process of this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Target>")]
    pub kill: Option<Spanned<Target>>,
    /// SIGSTOP one process of this role, SIGCONT after `for`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Target>")]
    pub stall: Option<Spanned<Target>>,
    /// How long a `stall` lasts.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Duration>")]
    pub length: Option<Spanned<Duration>>,
}

/// What a fault does to its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// SIGKILL.
    Kill,
    /// SIGSTOP, then SIGCONT after the stall's length.
    Stall,
}

impl Fault {
    /// What it does and to which role; None only in a file `check` refused.
    pub fn action(&self) -> Option<(Action, Target)> {
        match (&self.kill, &self.stall) {
            (Some(t), None) => Some((Action::Kill, t.value)),
            (None, Some(t)) => Some((Action::Stall, t.value)),
            _ => None,
        }
    }

    fn target(&self) -> Option<&Spanned<Target>> {
        self.kill.as_ref().or(self.stall.as_ref())
    }
}

/// Which process of a deployment a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// One web worker: a gunicorn (or pre-forked cheroot) worker process; in the one-process
    /// modes the process itself, since its web workers are subinterpreters or threads.
    WebWorker,
    /// One task worker: a celery prefork child; in the one-process modes the process itself.
    TaskWorker,
    /// The deployment's main process: the gunicorn master (gunicorn_celery), or the one
    /// process.
    Main,
    /// redis-server (gunicorn_celery only).
    Broker,
}

impl Target {
    pub const fn name(self) -> &'static str {
        match self {
            Target::WebWorker => "web_worker",
            Target::TaskWorker => "task_worker",
            Target::Main => "main",
            Target::Broker => "broker",
        }
    }

    /// Why a deployment has no process of this role, or None when it has one.
    pub fn missing_in(self, d: &Deployment, has_tasks: bool) -> Option<String> {
        match self {
            Target::WebWorker | Target::Main => None,
            Target::TaskWorker if !has_tasks => Some(format!(
                "deployment `{}` runs no task workers (a project whose tasks djbench does not run)",
                d.label()
            )),
            Target::TaskWorker => None,
            Target::Broker if d.mode != Mode::GunicornCelery => Some(format!(
                "deployment `{}` ({}) has no broker: its tasks travel inside one process",
                d.label(),
                d.mode
            )),
            Target::Broker if !has_tasks => Some(format!(
                "deployment `{}` starts no broker: it runs no task workers",
                d.label()
            )),
            Target::Broker => None,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What djbench does when a process of a deployment dies during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Leave it dead, as a deployment without a supervisor would be (its own masters, gunicorn
    /// and celery, still replace their workers).
    #[default]
    Never,
    /// Kill what is left of its process group and start it again, as systemd's
    /// `Restart=always` (with `KillMode=control-group`) or Kubernetes would.
    Always,
}

impl Restart {
    pub const fn name(self) -> &'static str {
        match self {
            Restart::Never => "never",
            Restart::Always => "always",
        }
    }
}

/// Every problem of the fault keys, each at its place.
pub fn check(s: &ScenarioFile, err: &mut dyn FnMut(Location, String, Option<String>)) {
    let window = s.workload.duration.value.0;
    let has_tasks = s.app.is_none();
    for fault in &s.faults {
        let f = &fault.value;
        let Some(target) = f.target() else {
            err(
                fault.referenced,
                "a fault needs exactly one of `kill:` or `stall:`".into(),
                Some(
                    "e.g. `- {at: 10s, kill: task_worker}` or `- {at: 10s, stall: main, for: 2s}`"
                        .into(),
                ),
            );
            continue;
        };
        if f.kill.is_some() && f.stall.is_some() {
            err(
                fault.referenced,
                "a fault is either `kill:` or `stall:`, not both".into(),
                Some("write two faults".into()),
            );
        }
        let length = f.length.as_ref().map(|l| l.value.0);
        match (&f.stall, &f.length) {
            (Some(s), None) => err(
                s.referenced,
                "a `stall` needs `for:`, how long the process stays stopped".into(),
                Some("e.g. `for: 2s`".into()),
            ),
            (None, Some(l)) => err(
                l.referenced,
                "`for` applies to a `stall`; a kill is instantaneous".into(),
                None,
            ),
            (Some(_), Some(l)) if l.value.0.is_zero() => {
                err(l.referenced, "`for` must be more than 0".into(), None)
            }
            _ => {}
        }
        let at = f.at.value.0;
        let end = at + length.unwrap_or_default();
        if at >= window || (f.stall.is_some() && end > window) {
            err(
                f.at.referenced,
                format!(
                    "a fault at {}{} falls outside the measured window of {}",
                    f.at.value,
                    length.map_or(String::new(), |l| format!(
                        " lasting {}",
                        humantime::format_duration(l)
                    )),
                    s.workload.duration.value
                ),
                Some(
                    "`at` counts from the end of the warm-up; the fault must happen (and a stall end) before the window closes"
                        .into(),
                ),
            );
        }
        for entry in &s.modes {
            let d = &entry.value.0;
            if let Some(why) = target.value.missing_in(d, has_tasks) {
                err(
                    target.referenced,
                    format!("no `{}` to signal: {why}", target.value),
                    Some(format!(
                        "a fault applies to every deployment; `{}` has: {}",
                        d.label(),
                        roles_of(d, has_tasks)
                    )),
                );
            }
        }
    }
    if let Some(r) = &s.restart
        && r.value == Restart::Always
        && s.faults.is_empty()
    {
        err(
            r.referenced,
            "`restart: always` restarts what a fault killed, but there is no `faults:`".into(),
            Some("add a fault, or drop `restart`".into()),
        );
    }
}

/// The fault targets a deployment has, for a message.
fn roles_of(d: &Deployment, has_tasks: bool) -> String {
    [
        Target::WebWorker,
        Target::TaskWorker,
        Target::Main,
        Target::Broker,
    ]
    .into_iter()
    .filter(|t| t.missing_in(d, has_tasks).is_none())
    .map(Target::name)
    .collect::<Vec<_>>()
    .join(", ")
}
