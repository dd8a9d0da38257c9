//! What djbench has running (the session of every leader and helper command, every
//! PostgreSQL cluster), the watchdog that ends it all if djbench dies without tearing down
//! (SIGKILL, an OOM kill, an abort), and ending it all at once from inside (the second
//! Ctrl-C). It kills only what was registered here, never anything else.
//!
//! The watchdog is djbench itself, started again with a hidden first argument in a session of
//! its own (so a terminal's Ctrl-C or hang-up, or a `timeout` killing djbench's process group,
//! never reaches it), holding the read end of a pipe whose only writer is djbench. djbench
//! tells it each session and cluster as it starts and as it ends; when the pipe reaches its
//! end, djbench has exited, however it died, and the watchdog kills what is still registered
//! and exits: it never outlives that moment. This was chosen over `PR_SET_PDEATHSIG` on each
//! leader: that fires when the *thread* that forked the leader ends (a deployment started from
//! a short-lived thread would be killed under its run), it signals the leader alone (gunicorn's
//! and celery's children, forked later, are not reached), and PostgreSQL's postmaster is
//! started by pg_ctl in a session of its own, never djbench's child.
//!
//! What it kills, and why nothing else: a session registered with its leader's start time (a
//! session id is its leader's pid; should that pid be reused, the new process has another start
//! time and the session is left alone; processes of the session started before the leader
//! cannot be ours either); and for a cluster, processes that run a program of the cluster's
//! bin folder from inside the cluster's folder (PostgreSQL's server processes all work from
//! their data folder). A cluster is first asked to stop at once (SIGQUIT to its postmaster, so
//! it frees its shared memory), then killed.
//!
//! Only djbench's own binary starts a watchdog (`install` in main): a test binary using the
//! library has no hidden argument to start again with; its deployments are still ended by
//! `Drop` and by `kill_now`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::process::{self, Stat};

/// The hidden first argument that makes djbench the watchdog.
const ARG: &str = "__djbench-watchdog";

/// One line on the pipe, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Order {
    /// A session to end: its id (its leader's pid) and its leader's start time.
    Session { sid: i32, start: u64 },
    /// That session has ended.
    Forget { sid: i32 },
    /// A PostgreSQL cluster to end; its folder removed with it when `remove`.
    Cluster(Cluster),
    /// That cluster has been stopped (and removed).
    ForgetCluster { dir: PathBuf },
}

/// A PostgreSQL cluster: its folder (canonical) and the folder of its programs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub dir: PathBuf,
    pub bin: PathBuf,
    pub remove: bool,
}

/// What is running, as the watchdog and `kill_now` know it.
#[derive(Debug, Default)]
struct Watched {
    sessions: BTreeMap<i32, u64>,
    clusters: Vec<Cluster>,
}

impl Watched {
    fn apply(&mut self, order: Order) {
        match order {
            Order::Session { sid, start } => {
                self.sessions.insert(sid, start);
            }
            Order::Forget { sid } => {
                self.sessions.remove(&sid);
            }
            Order::Cluster(c) => self.clusters.push(c),
            Order::ForgetCluster { dir } => self.clusters.retain(|c| c.dir != dir),
        }
    }

    fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.clusters.is_empty()
    }
}

struct Registry {
    watched: Watched,
    /// The pipe to the watchdog, once started.
    pipe: Option<ChildStdin>,
    /// A watchdog was started, or could not be: never try twice.
    tried: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    watched: Watched {
        sessions: BTreeMap::new(),
        clusters: Vec::new(),
    },
    pipe: None,
    tried: false,
});

/// Set by `install`: this is djbench's binary, which can start a watchdog.
static ENABLED: AtomicBool = AtomicBool::new(false);

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// For djbench's `main`, first thing: when started as the watchdog, serve as one and exit;
/// otherwise let deployments be watched by one.
pub fn install() {
    if std::env::args_os().nth(1).as_deref() == Some(OsStr::new(ARG)) {
        std::process::exit(serve());
    }
    ENABLED.store(true, Ordering::Relaxed);
}

/// Starts the watchdog if this binary can and none runs yet, so that the process about to be
/// started is watched from its first moment.
pub(crate) fn ensure_running() {
    let mut r = registry();
    start(&mut r);
}

fn start(r: &mut Registry) {
    if r.tried || !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    r.tried = true;
    match spawn() {
        Ok(pipe) => r.pipe = Some(pipe),
        Err(e) => say(&format!(
            "djbench: warning: no watchdog ({e}): if djbench is killed, its deployments outlive it"
        )),
    }
}

fn spawn() -> std::io::Result<ChildStdin> {
    // The path, not /proc/self/exe, so that the watchdog is called djbench in ps; that path
    // is gone when the binary was rebuilt meanwhile, and /proc/self/exe still runs this one.
    let exe = std::env::current_exe()
        .ok()
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("/proc/self/exe"));
    let mut cmd = Command::new(exe);
    // stderr stays djbench's, for the one line it writes if it had to kill anything.
    cmd.arg(ARG).stdin(Stdio::piped()).stdout(Stdio::null());
    // SAFETY: setsid is an async-signal-safe system call; nothing here allocates.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    // The pipe's write end is close-on-exec, so djbench alone holds it. The Child is not
    // waited for: the watchdog lives as long as djbench, and whoever adopts it reaps it.
    child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no pipe to the watchdog"))
}

/// A line on stderr that cannot fail (`eprintln!` panics when the terminal is gone).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn tell(order: Order) {
    let mut r = registry();
    r.watched.apply(order.clone());
    start(&mut r);
    if let Some(pipe) = r.pipe.as_mut() {
        let line = serde_json::to_string(&order).map(|l| l + "\n");
        let sent = line
            .map_err(std::io::Error::other)
            .and_then(|l| pipe.write_all(l.as_bytes()));
        if let Err(e) = sent {
            say(&format!(
                "djbench: warning: the watchdog cannot be told ({e}); it is no more used"
            ));
            r.pipe = None;
        }
    }
}

/// A session registered while it lives: dropping it forgets the session once none of its
/// processes is left (one that survived teardown stays registered, for the watchdog).
#[derive(Debug)]
pub struct SessionWatch {
    sid: i32,
}

impl SessionWatch {
    /// Registers the session led by `sid`, just started.
    pub fn new(sid: i32) -> Self {
        if let Some(Stat { start, .. }) = process::stat(sid) {
            tell(Order::Session { sid, start });
        }
        Self { sid }
    }
}

impl Drop for SessionWatch {
    fn drop(&mut self) {
        if process::session_members(self.sid).is_empty() {
            tell(Order::Forget { sid: self.sid });
        }
    }
}

/// Registers a PostgreSQL cluster before anything of it starts.
pub fn watch_cluster(cluster: Cluster) {
    tell(Order::Cluster(cluster));
}

/// The cluster in `dir` was stopped and nothing of it is left.
pub fn forget_cluster(dir: &Path) {
    tell(Order::ForgetCluster {
        dir: dir.to_owned(),
    });
}

/// Ends every registered session and cluster now, from inside djbench (the second Ctrl-C);
/// the teardown that follows finds nothing left. Returns the pids killed.
pub fn kill_now() -> Vec<i32> {
    let watched = {
        let r = registry();
        Watched {
            sessions: r.watched.sessions.clone(),
            clusters: r.watched.clusters.clone(),
        }
    };
    end(&watched, false)
}

/// The processes of a registered session: none when its id now belongs to another process.
fn session_processes(sid: i32, start: u64) -> Vec<i32> {
    if process::stat(sid).is_some_and(|s| s.start != start) {
        return Vec::new();
    }
    process::all_pids()
        .into_iter()
        .filter(|&pid| process::stat(pid).is_some_and(|s| s.session == sid && s.start >= start))
        .collect()
}

/// Every process that runs a program of the cluster's bin folder from inside its folder.
pub fn cluster_processes(c: &Cluster) -> Vec<i32> {
    process::all_pids()
        .into_iter()
        .filter(|&pid| {
            let link = |what: &str| std::fs::read_link(format!("/proc/{pid}/{what}")).ok();
            link("exe").is_some_and(|exe| exe.starts_with(&c.bin))
                && link("cwd").is_some_and(|cwd| cwd.starts_with(&c.dir))
                && process::stat(pid).is_some()
        })
        .collect()
}

/// The cluster's postmaster, from its pid file, if it is one of the cluster's processes.
fn postmaster(c: &Cluster) -> Option<i32> {
    let text = std::fs::read_to_string(c.dir.join("data/postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    cluster_processes(c).contains(&pid).then_some(pid)
}

/// Kills everything `w` holds: each cluster asked to stop at once first and given two
/// seconds, then whatever is left killed, until nothing is or five seconds have passed.
/// Removes the clusters' folders when `remove_folders` and they asked for it.
fn end(w: &Watched, remove_folders: bool) -> Vec<i32> {
    let began = Instant::now();
    for c in &w.clusters {
        if let Some(pm) = postmaster(c) {
            let _ = kill(Pid::from_raw(pm), Signal::SIGQUIT);
        }
    }
    let mut killed = Vec::new();
    loop {
        let mut left = Vec::new();
        for (&sid, &start) in &w.sessions {
            left.extend(session_processes(sid, start));
        }
        let clusters_may_finish = began.elapsed() < Duration::from_secs(2);
        let mut clusters = Vec::new();
        for c in &w.clusters {
            clusters.extend(cluster_processes(c));
        }
        let to_kill: Vec<i32> = if clusters_may_finish {
            left.clone()
        } else {
            left.iter().chain(&clusters).copied().collect()
        };
        for &pid in &to_kill {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            if !killed.contains(&pid) {
                killed.push(pid);
            }
        }
        if (left.is_empty() && clusters.is_empty()) || began.elapsed() > Duration::from_secs(5) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if remove_folders {
        for c in w.clusters.iter().filter(|c| c.remove) {
            let _ = std::fs::remove_dir_all(&c.dir);
        }
    }
    killed
}

/// The watchdog's life: read orders until djbench's end of the pipe closes, then end what is
/// still registered. Returns its exit code.
fn serve() -> i32 {
    use nix::sys::signal::{SigHandler, signal};
    // djbench's signals are djbench's to act on; the watchdog waits for the pipe's end.
    // SIGTTOU ignored: writing its line to a terminal it is in the background of must not
    // stop it.
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGPIPE,
        Signal::SIGTTOU,
        Signal::SIGTTIN,
    ] {
        // SAFETY: ignoring a signal installs no handler code.
        let _ = unsafe { signal(sig, SigHandler::SigIgn) };
    }
    let mut watched = Watched::default();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str(&line) {
            Ok(order) => watched.apply(order),
            Err(e) => say(&format!("djbench watchdog: cannot read `{line}`: {e}")),
        }
    }
    if watched.is_empty() {
        return 0;
    }
    let killed = end(&watched, true);
    say(&format!(
        "djbench watchdog: djbench ended without tearing down; killed {} process{} of its \
         deployments{}",
        killed.len(),
        if killed.len() == 1 { "" } else { "es" },
        if watched.clusters.is_empty() {
            ""
        } else {
            " and PostgreSQL"
        }
    ));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_round_trip_and_forgetting_empties() {
        let mut w = Watched::default();
        let orders = [
            Order::Session { sid: 7, start: 99 },
            Order::Cluster(Cluster {
                dir: "/r/postgres".into(),
                bin: "/usr/lib/postgresql/17/bin".into(),
                remove: true,
            }),
        ];
        for o in orders {
            let line = serde_json::to_string(&o).unwrap();
            w.apply(serde_json::from_str(&line).unwrap());
        }
        assert_eq!(w.sessions.get(&7), Some(&99));
        assert_eq!(w.clusters.len(), 1);
        w.apply(Order::Forget { sid: 7 });
        w.apply(Order::ForgetCluster {
            dir: "/r/postgres".into(),
        });
        assert!(w.is_empty());
    }

    /// A session whose id now belongs to a process started at another time is not ours.
    #[test]
    fn a_reused_session_id_is_left_alone() {
        let me = std::process::id() as i32;
        let now = process::stat(me).unwrap();
        assert!(session_processes(me, now.start + 1).is_empty());
    }
}
