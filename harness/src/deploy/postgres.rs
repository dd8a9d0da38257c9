//! An ephemeral PostgreSQL cluster for a run: initdb into the run folder (or a temporary
//! folder when the postgres user cannot reach the run folder), started on a free loopback
//! port as the postgres user when djbench runs as root, one database per deployment made from
//! a seeded template, stopped and removed when the run ends unless kept.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{DeployError, err, process};

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
    /// pg_ctl.
    pub fn start(postgres: &Path, run_dir: &Path, keep: bool) -> Result<Self, DeployError> {
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
        let port = process::free_port().map_err(|e| err("find a free port", e.to_string()))?;
        let cluster = Self {
            dir,
            bin,
            port,
            user,
            keep,
            stopped: false,
        };
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

    fn run(&self, what: &str, cmd: &mut Command) -> Result<(), DeployError> {
        let out = cmd.output().map_err(|e| err(what, e.to_string()))?;
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
        );
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
