//! The processes of a deployment: each started in a session of its own and told to the
//! watchdog, its output captured into the run folder, and all of a session's processes
//! (children it forks later included) found through /proc, signalled and waited for; the
//! short helper commands (manage.py, initdb, pg_ctl, psql) run the same way and end when the
//! run is stopped. Loopback ports for the services, never one handed out twice.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use super::watchdog;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::Serialize;

/// What a process does for the deployment; memory and CPU are split by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Web,
    Tasks,
    Broker,
    /// One process serving web and tasks (the one-process modes).
    App,
}

impl Role {
    /// Every role, in the order reports list them.
    pub const ALL: [Role; 4] = [Role::Web, Role::Tasks, Role::Broker, Role::App];

    /// Where the role stands in [`Role::ALL`].
    pub const fn order(self) -> usize {
        match self {
            Role::Web => 0,
            Role::Tasks => 1,
            Role::Broker => 2,
            Role::App => 3,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Role::Web => "web",
            Role::Tasks => "tasks",
            Role::Broker => "broker",
            Role::App => "app",
        }
    }
}

/// The sessions of a deployment with their roles, shared between the deployment and whoever
/// watches its processes (the sampler): a process restarted by the supervisor leads a new
/// session, and the watchers follow it from their next scan.
#[derive(Debug, Clone, Default)]
pub struct Sessions(std::sync::Arc<Mutex<Vec<(i32, Role)>>>);

impl Sessions {
    /// The sessions now.
    pub fn now(&self) -> Vec<(i32, Role)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set(&self, sessions: Vec<(i32, Role)>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = sessions;
    }
}

impl From<Vec<(i32, Role)>> for Sessions {
    fn from(v: Vec<(i32, Role)>) -> Self {
        Self(std::sync::Arc::new(Mutex::new(v)))
    }
}

/// How a leader was started, to start it again the same way: `Command` cannot be cloned, but
/// what it was given can be read back.
#[derive(Debug, Clone)]
struct Recipe {
    program: std::ffi::OsString,
    args: Vec<std::ffi::OsString>,
    envs: Vec<(std::ffi::OsString, Option<std::ffi::OsString>)>,
    dir: Option<PathBuf>,
    cpus: Option<Vec<u32>>,
}

impl Recipe {
    fn of(cmd: &Command, cpus: Option<&[u32]>) -> Self {
        Self {
            program: cmd.get_program().to_owned(),
            args: cmd.get_args().map(ToOwned::to_owned).collect(),
            envs: cmd
                .get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(ToOwned::to_owned)))
                .collect(),
            dir: cmd.get_current_dir().map(Path::to_path_buf),
            cpus: cpus.map(<[u32]>::to_vec),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (k, v) in &self.envs {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(d) = &self.dir {
            cmd.current_dir(d);
        }
        cmd
    }
}

/// A process djbench started, leader of its own session.
#[derive(Debug)]
pub struct Leader {
    pub name: String,
    pub role: Role,
    pub child: Child,
    pub log: PathBuf,
    recipe: Recipe,
    /// Told to the watchdog while any process of the session lives.
    _watch: watchdog::SessionWatch,
}

impl Leader {
    /// Starts `cmd` as the leader of a new session, stdout and stderr into `log`, on `cpus`
    /// when given (its children inherit the placement).
    pub fn spawn(
        name: &str,
        role: Role,
        cmd: Command,
        log: &Path,
        cpus: Option<&[u32]>,
    ) -> std::io::Result<Self> {
        let recipe = Recipe::of(&cmd, cpus);
        let out = File::create(log)?;
        Self::start(name, role, cmd, out, log, recipe)
    }

    /// Kills whatever is left of its session (a supervisor's `KillMode=control-group`: the
    /// orphaned workers of a killed master would hold its port), waits up to five seconds for
    /// it to empty, and starts the same command again as a new session, its output appended to
    /// the same log.
    pub fn restart(&mut self) -> std::io::Result<()> {
        let old = self.session();
        let _ = killpg(Pid::from_raw(old), Signal::SIGKILL);
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !session_members(old).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = std::fs::OpenOptions::new().append(true).open(&self.log)?;
        let recipe = self.recipe.clone();
        *self = Self::start(
            &self.name,
            self.role,
            recipe.command(),
            out,
            &self.log,
            recipe,
        )?;
        Ok(())
    }

    fn start(
        name: &str,
        role: Role,
        mut cmd: Command,
        out: File,
        log: &Path,
        recipe: Recipe,
    ) -> std::io::Result<Self> {
        let err = out.try_clone()?;
        let cpus = recipe.cpus.as_deref();
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let set = cpus.map(cpu_set).transpose()?;
        // Running before the leader exists, so nothing starts unwatched.
        watchdog::ensure_running();
        // SAFETY: setsid and sched_setaffinity are async-signal-safe system calls, and the set
        // was built before the fork: nothing here allocates or touches the parent's memory.
        unsafe {
            cmd.pre_exec(move || {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if let Some(set) = &set {
                    nix::sched::sched_setaffinity(Pid::from_raw(0), set)
                        .map_err(std::io::Error::from)?;
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        Ok(Self {
            name: name.to_owned(),
            role,
            _watch: watchdog::SessionWatch::new(child.id() as i32),
            child,
            log: log.to_owned(),
            recipe,
        })
    }

    pub fn session(&self) -> i32 {
        self.child.id() as i32
    }

    /// The exit status, if it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// A kernel CPU set of the given CPUs.
pub fn cpu_set(cpus: &[u32]) -> std::io::Result<nix::sched::CpuSet> {
    let mut set = nix::sched::CpuSet::new();
    for &c in cpus {
        set.set(c as usize).map_err(std::io::Error::from)?;
    }
    Ok(set)
}

/// Places the calling thread, and every thread it starts from now on, on `cpus`.
pub fn pin_this_thread(cpus: &[u32]) -> std::io::Result<()> {
    nix::sched::sched_setaffinity(Pid::from_raw(0), &cpu_set(cpus)?).map_err(std::io::Error::from)
}

/// Every pid in /proc now.
pub(crate) fn all_pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// What /proc/<pid>/stat says of a live (not zombie) process: its session and its start time
/// (clock ticks after boot), which tells a process from a later one given the same pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub session: i32,
    pub start: u64,
}

pub(crate) fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces and parentheses; see proc(5):
    // state is field 3, session 6, starttime 22.
    let rest: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    if rest.first() == Some(&"Z") {
        return None;
    }
    Some(Stat {
        session: rest.get(6 - 3)?.parse().ok()?,
        start: rest.get(22 - 3)?.parse().ok()?,
    })
}

/// Live (not zombie) processes whose session is `sid`, from /proc.
pub fn session_members(sid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&pid| stat(pid).is_some_and(|s| s.session == sid))
        .collect()
}

/// Every live process of the given sessions, each with its session's role (children inherit
/// their leader's).
pub fn members_by_role(sessions: &[(i32, Role)]) -> Vec<(i32, Role)> {
    sessions
        .iter()
        .flat_map(|&(sid, role)| session_members(sid).into_iter().map(move |p| (p, role)))
        .collect()
}

/// Asks every leader's process group to stop (SIGTERM), waits up to `grace` for their sessions
/// to empty, then kills what is left. Returns the pids that had to be killed and any that
/// still live after that (which would be a bug: the caller reports it).
pub fn stop_all(leaders: &mut [Leader], grace: Duration) -> (Vec<i32>, Vec<i32>) {
    for l in leaders.iter().rev() {
        let _ = killpg(Pid::from_raw(l.session()), Signal::SIGTERM);
    }
    let sessions: Vec<i32> = leaders.iter().map(Leader::session).collect();
    let deadline = Instant::now() + grace;
    let mut left = Vec::new();
    while Instant::now() < deadline {
        for l in leaders.iter_mut() {
            let _ = l.child.try_wait();
        }
        left = sessions.iter().flat_map(|&s| session_members(s)).collect();
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = left.clone();
    for &pid in &killed {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    for l in leaders.iter_mut() {
        let _ = killpg(Pid::from_raw(l.session()), Signal::SIGKILL);
        let _ = l.child.wait();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut survivors: Vec<i32> = sessions.iter().flat_map(|&s| session_members(s)).collect();
    while !survivors.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        survivors = sessions.iter().flat_map(|&s| session_members(s)).collect();
    }
    (killed, survivors)
}

/// A port on loopback that nothing listens on now and that this process never handed out
/// before. Binding port 0 and letting go leaves the port free until the service binds it, so
/// two calls (web, then redis) could be given the same one: every port handed out is kept in a
/// set, and one given already is held bound while the kernel is asked again, so it picks
/// another. Passing the bound socket itself to the service would also close the gap to other
/// programs, but redis-server and PostgreSQL take a port number, not a socket; the ports of a
/// scenario are few (two a deployment), so the set stays small.
pub fn free_port() -> std::io::Result<u16> {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(PoisonError::into_inner);
    let mut held = Vec::new();
    for _ in 0..256 {
        let socket = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = socket.local_addr()?.port();
        if given.insert(port) {
            return Ok(port);
        }
        held.push(socket);
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "every loopback port the kernel offered was handed out already",
    ))
}

/// Runs a short command to its end, its output captured, in a session of its own that the
/// watchdog knows of; when `stop` is set first, kills that session and returns an
/// `Interrupted` error at once. Nothing of the session outlives the call.
pub fn output_unless_stopped(cmd: &mut Command, stop: &AtomicBool) -> std::io::Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    watchdog::ensure_running();
    // SAFETY: setsid is an async-signal-safe system call; nothing here allocates.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let sid = child.id() as i32;
    let _watch = watchdog::SessionWatch::new(sid);
    // wait_with_output drains both pipes while it waits (a full pipe would stall the child);
    // on its own thread, so that this one can watch `stop`.
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("djbench-helper".into())
        .spawn(move || {
            let _ = tx.send(child.wait_with_output());
        })?;
    let end_session = || {
        let _ = killpg(Pid::from_raw(sid), Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let left = session_members(sid);
            if left.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in left {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(out) => {
                // Whatever the command left running in its session.
                end_session();
                return out;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(std::io::Error::other("the helper's waiting thread failed"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if stop.load(Ordering::Relaxed) => {
                end_session();
                // The pipes close with the session; a process that left it may hold them.
                let _ = rx.recv_timeout(Duration::from_secs(2));
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "stopped (Ctrl-C or a signal) before it finished",
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binding port 0 and letting go hands out ports at random: a thousand of them repeated
    /// some every time before ports were remembered.
    #[test]
    fn no_port_is_handed_out_twice_even_from_many_threads() {
        let ports: Vec<u16> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..250).map(|_| free_port().unwrap()).collect::<Vec<_>>()))
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect()
        });
        let distinct: BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
    }

    #[test]
    fn a_helper_command_ends_when_stopped() {
        let stop = AtomicBool::new(false);
        let out = output_unless_stopped(Command::new("sh").args(["-c", "echo hi"]), &stop).unwrap();
        assert_eq!(out.stdout, b"hi\n");
        stop.store(true, Ordering::Relaxed);
        let began = Instant::now();
        // A child that forks a grandchild: both are in the helper's session and both end.
        let e = output_unless_stopped(
            Command::new("sh").args(["-c", "sleep 30 & sleep 30"]),
            &stop,
        )
        .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted);
        assert!(
            began.elapsed() < Duration::from_secs(3),
            "{:?}",
            began.elapsed()
        );
    }
}
