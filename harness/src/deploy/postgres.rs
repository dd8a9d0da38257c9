//! An ephemeral PostgreSQL cluster for a run: initdb into the run folder (or a temporary
//! folder when the postgres user cannot reach the run folder), started on a free loopback
//! port as the postgres user when djbench runs as root, one database per deployment made from
//! a seeded template, stopped and removed when the run ends unless kept. The watchdog knows
//! of it from before initdb, so a killed djbench leaves no server behind.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use super::{DeployError, err, process, watchdog};

/// A stop flag never set, for the commands that are quick once the cluster runs.
static NEVER: AtomicBool = AtomicBool::new(false);

#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    user: Option<nix::unistd::User>,
    keep: bool,
    stopped: bool,
}

/// Whether every folder above `path` lets other users through (the postgres user must).
fn reachable_by_others(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .all(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

impl Cluster {
    /// `postgres` is the server binary `djbench setup` found; its folder holds initdb and
    /// pg_ctl. `stop` set meanwhile (Ctrl-C) ends initdb or the server's start at once.
    pub fn start(
        postgres: &Path,
        run_dir: &Path,
        keep: bool,
        stop: &AtomicBool,
    ) -> Result<Self, DeployError> {
        let bin = std::fs::canonicalize(postgres)
            .map_err(|e| err("find PostgreSQL", e.to_string()))?
            .parent()
            .map(Path::to_owned)
            .ok_or_else(|| err("find PostgreSQL", "no folder around the postgres binary"))?;
        let root = nix::unistd::geteuid().is_root();
        // PostgreSQL refuses to run as root.
        let user = if root {
            Some(
                nix::unistd::User::from_name("postgres")
                    .ok()
                    .flatten()
                    .ok_or_else(|| {
                        err(
                            "PostgreSQL as root",
                            "there is no postgres user to run it as",
                        )
                    })?,
            )
        } else {
            None
        };
        let run_dir = std::path::absolute(run_dir).map_err(|e| err("run folder", e.to_string()))?;
        let dir = if user.is_none() || reachable_by_others(&run_dir.join("postgres")) {
            run_dir.join("postgres")
        } else {
            std::env::temp_dir().join(format!("djbench-postgres-{}", std::process::id()))
        };
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| err("create the cluster folder", e.to_string()))?;
        if let Some(u) = &user {
            nix::unistd::chown(&dir, Some(u.uid), Some(u.gid))
                .map_err(|e| err("hand the cluster folder to postgres", e.to_string()))?;
        }
        // As the kernel names the server processes' working folder, for the watchdog.
        let dir = std::fs::canonicalize(&dir)
            .map_err(|e| err("find the cluster folder", e.to_string()))?;
        let port = process::free_port().map_err(|e| err("find a free port", e.to_string()))?;
        // Dropped on any error below: the Drop stops what started.
        let cluster = Self {
            dir,
            bin,
            port,
            user,
            keep,
            stopped: false,
        };
        watchdog::watch_cluster(cluster.watched());
        cluster.run(
            "initdb",
            cluster.tool("initdb").args([
                "-D",
                "data",
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]),
            stop,
        )?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            cluster.port,
            cluster.dir.display()
        );
        cluster.run(
            "pg_ctl start",
            cluster.tool("pg_ctl").args([
                "-D",
                "data",
                "-l",
                "postgres.log",
                "-w",
                "-o",
                &options,
                "start",
            ]),
            stop,
        )?;
        cluster.sql("CREATE USER djbench CREATEDB")?;
        Ok(cluster)
    }

    fn tool(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(name));
        cmd.current_dir(&self.dir);
        if let Some(u) = &self.user {
            cmd.uid(u.uid.as_raw())
                .gid(u.gid.as_raw())
                .env("HOME", &self.dir);
        }
        cmd
    }

    /// What the watchdog needs to end this cluster.
    fn watched(&self) -> watchdog::Cluster {
        watchdog::Cluster {
            dir: self.dir.clone(),
            bin: self.bin.clone(),
            remove: !self.keep,
        }
    }

    fn run(&self, what: &str, cmd: &mut Command, stop: &AtomicBool) -> Result<(), DeployError> {
        let out = process::output_unless_stopped(cmd, stop)
            .map_err(|e| err(format!("PostgreSQL {what}"), e.to_string()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(err(
                format!("PostgreSQL {what}"),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            ))
        }
    }

    /// Runs one SQL statement as the superuser (psql: one statement per call, as CREATE
    /// DATABASE cannot share a transaction).
    pub fn sql(&self, statement: &str) -> Result<(), DeployError> {
        let psql = crate::provision::venv::which("psql").unwrap_or_else(|| self.bin.join("psql"));
        self.run(
            statement,
            Command::new(psql)
                .args([
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                ])
                .args([
                    "-p",
                    &self.port.to_string(),
                    "-d",
                    "postgres",
                    "-c",
                    statement,
                ]),
            &NEVER,
        )
    }

    /// A new database for one deployment, copied from `template` when given.
    pub fn create_database(&self, name: &str, template: Option<&str>) -> Result<(), DeployError> {
        let from = template.map_or(String::new(), |t| format!(" TEMPLATE {t}"));
        self.sql(&format!("CREATE DATABASE {name} OWNER djbench{from}"))
    }

    /// What the app needs to reach database `name`.
    pub fn env(&self, name: &str) -> Vec<(String, String)> {
        vec![
            ("DJBENCH_DB".into(), "postgres".into()),
            ("DJBENCH_PG_HOST".into(), "127.0.0.1".into()),
            ("DJBENCH_PG_PORT".into(), self.port.to_string()),
            ("DJBENCH_PG_NAME".into(), name.into()),
            ("DJBENCH_PG_USER".into(), "djbench".into()),
        ]
    }

    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let _ = self.run(
            "pg_ctl stop",
            self.tool("pg_ctl")
                .args(["-D", "data", "-m", "fast", "-w", "stop"]),
            &NEVER,
        );
        // A server that never wrote its pid file (stopped while starting) is not pg_ctl's to
        // stop: whatever of the cluster still runs is killed.
        let watched = self.watched();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let left = watchdog::cluster_processes(&watched);
            if left.is_empty() || std::time::Instant::now() > deadline {
                break;
            }
            for pid in left {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        if watchdog::cluster_processes(&watched).is_empty() {
            watchdog::forget_cluster(&self.dir);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
