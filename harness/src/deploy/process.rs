//! The processes of a deployment: each started in a session of its own, its output captured
//! into the run folder, and all of a session's processes (children it forks later included)
//! found through /proc, signalled and waited for.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// A process djbench started, leader of its own session.
#[derive(Debug)]
pub struct Leader {
    pub name: String,
    pub role: Role,
    pub child: Child,
    pub log: PathBuf,
}

impl Leader {
    /// Starts `cmd` as the leader of a new session, stdout and stderr into `log`, on `cpus`
    /// when given (its children inherit the placement).
    pub fn spawn(
        name: &str,
        role: Role,
        mut cmd: Command,
        log: &Path,
        cpus: Option<&[u32]>,
    ) -> std::io::Result<Self> {
        let out = File::create(log)?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let set = cpus.map(cpu_set).transpose()?;
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
            child,
            log: log.to_owned(),
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

/// Live (not zombie) processes whose session is `sid`, from /proc.
pub fn session_members(sid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // Fields after the command name, which may hold spaces and parentheses.
                let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
                let fields: Vec<&str> = rest.split_whitespace().collect();
                fields.first() != Some(&"Z") && fields.get(3) == Some(&sid.to_string().as_str())
            })
        })
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

/// A port on loopback that nothing listens on now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
