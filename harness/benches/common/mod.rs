//! What the generator and footprint benchmarks share: finding the peer tools, an nginx serving
//! a static file on a pinned core, and the OS's CPU accounting of finished children.

#![allow(dead_code)] // each bench uses its own part of this

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A program on PATH or in one of the usual places, or None.
pub fn find(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let extra = [
        Some(PathBuf::from("/usr/sbin")),
        Some(PathBuf::from("/usr/local/sbin")),
        home.map(|h| h.join(".cargo/bin")),
    ];
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(extra.into_iter().flatten())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Every tool named, or a message saying how to install the missing ones.
pub fn require(tools: &[(&str, &str)]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (name, how) in tools {
        match find(name) {
            Some(p) => found.push(p),
            None => missing.push(format!("  {name}: {how}")),
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(format!("missing tools:\n{}", missing.join("\n")))
    }
}

/// `cmd` run on one CPU only, through taskset (which execs it, so the accounting is the tool's).
pub fn pinned(cpu: usize, program: &Path) -> Command {
    let mut c = Command::new("taskset");
    c.arg("-c").arg(cpu.to_string()).arg(program);
    c
}

/// User + system CPU of all waited-for children so far.
pub fn children_cpu() -> f64 {
    djbench::sample::cpu_seconds(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
}

/// Runs a command to the end; its stdout, and the CPU (user + system) the OS accounted to it.
pub fn measured(mut cmd: Command) -> Result<(String, f64), String> {
    let before = children_cpu();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let cpu = children_cpu() - before;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), cpu))
}

/// nginx with one worker on one CPU, serving a 1 KiB file, no access log, unbounded keep-alive.
pub struct Nginx {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    pub fn start(program: &Path, cpu: usize) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let root = dir.path();
        std::fs::write(root.join("index.html"), vec![b'x'; 1024]).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(root.join("tmp")).map_err(|e| e.to_string())?;
        let conf = format!(
            "worker_processes 1;\ndaemon off;\nmaster_process on;\npid {r}/nginx.pid;\n\
             error_log {r}/error.log warn;\nevents {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  keepalive_requests 1000000000;\n  keepalive_timeout 600s;\n\
             client_body_temp_path {r}/tmp;\n  proxy_temp_path {r}/tmp;\n  fastcgi_temp_path {r}/tmp;\n\
             uwsgi_temp_path {r}/tmp;\n  scgi_temp_path {r}/tmp;\n\
             server {{ listen 127.0.0.1:{port}; root {r}; location / {{ }} }}\n}}\n",
            r = root.display()
        );
        std::fs::write(root.join("nginx.conf"), conf).map_err(|e| e.to_string())?;
        let child = pinned(cpu, program)
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(root.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start nginx: {e}"))?;
        let me = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("nginx did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(me)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/index.html", self.port)
    }

    /// The master's pid (its worker is its child).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT: nginx's graceful stop; its worker leaves with it.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGQUIT);
        let _ = self.child.wait();
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `--name value` from the bench's arguments (after `cargo bench --bench X --`), or the default.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse().unwrap_or_else(|_| {
                eprintln!("error: {name} expects a number, got `{v}`");
                std::process::exit(2)
            })
        })
        .unwrap_or(default)
}
