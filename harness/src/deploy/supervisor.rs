//! The supervisor of a fault run: it watches the deployment's session leaders while the run
//! measures and, under `restart: always`, starts again one that died, the way systemd's
//! `Restart=always` does (what is left of its process group is killed first). Either way it
//! records when each leader was seen dead and when it was started again. It sends no fault
//! and measures no request; the workers that gunicorn and celery replace themselves are theirs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Deployment;
use crate::scenario::faults::Restart;

/// How often the leaders are looked at: a dead leader is noticed within this.
const POLL: Duration = Duration::from_millis(20);

/// A leader that died during the run.
#[derive(Debug, Clone)]
pub struct Death {
    /// The leader's name (`app`, `gunicorn`, `celery`, `redis`, …).
    pub name: String,
    /// How it ended, as the OS said (`signal: 9 (SIGKILL)`).
    pub status: String,
    pub noticed: Instant,
    /// When it was started again; None under `restart: never`, or when restarting failed.
    pub restarted: Option<Instant>,
    /// Why starting it again failed.
    pub restart_error: Option<String>,
}

/// Watches `d` until `stop` is set, restarting under `policy` `delay` after a death; returns
/// every death seen.
pub fn watch(d: &Deployment, policy: Restart, delay: Duration, stop: &AtomicBool) -> Vec<Death> {
    let mut deaths = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match policy {
            Restart::Always => {
                for r in d.restart_exited(delay) {
                    deaths.push(Death {
                        name: r.name,
                        status: r.status,
                        noticed: r.noticed,
                        restarted: r.restarted.as_ref().ok().copied(),
                        restart_error: r.restarted.err(),
                    });
                }
            }
            Restart::Never => {
                for (name, status) in d.exited() {
                    if !deaths.iter().any(|x: &Death| x.name == name) {
                        deaths.push(Death {
                            name,
                            status,
                            noticed: Instant::now(),
                            restarted: None,
                            restart_error: None,
                        });
                    }
                }
            }
        }
        std::thread::sleep(POLL);
    }
    deaths
}
