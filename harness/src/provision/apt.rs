//! apt with private state: its own sources, lists, cache and an empty dpkg status, so it can
//! fetch Debian sid's binary packages and CPython source tarballs without touching the
//! system's package database. apt verifies every download against the signed indexes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::steps::{ProvisionError, Step, capture};

pub const MIRROR: &str = "http://deb.debian.org/debian";
pub const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

#[derive(Debug, Clone)]
pub struct PrivateApt {
    dir: PathBuf,
}

impl PrivateApt {
    /// Prepares `dir` with a sources file listing `lines` (e.g. `deb-src MIRROR sid main`).
    pub fn new(dir: &Path, lines: &[String]) -> Result<Self, ProvisionError> {
        let io = |e| ProvisionError::io(format!("cannot prepare {}", dir.display()), e);
        std::fs::create_dir_all(dir.join("lists/partial")).map_err(io)?;
        std::fs::create_dir_all(dir.join("cache/archives/partial")).map_err(io)?;
        std::fs::write(dir.join("status"), "").map_err(io)?;
        let sources: String = lines
            .iter()
            .map(|l| {
                let (kind, rest) = l.split_once(' ').unwrap_or((l, ""));
                format!("{kind} [signed-by={KEYRING}] {rest}\n")
            })
            .collect();
        std::fs::write(dir.join("sources.list"), sources).map_err(io)?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    fn command(&self, program: &str) -> Command {
        let d = &self.dir;
        let mut cmd = Command::new(program);
        for opt in [
            format!("Dir::Etc::sourcelist={}", d.join("sources.list").display()),
            "Dir::Etc::sourceparts=/dev/null".into(),
            format!("Dir::State::Lists={}", d.join("lists").display()),
            format!("Dir::Cache={}", d.join("cache").display()),
            format!("Dir::State::status={}", d.join("status").display()),
            "APT::Architecture=amd64".into(),
            "Acquire::Languages=none".into(),
            "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".into(),
            "APT::Sandbox::User=root".into(),
        ] {
            cmd.arg("-o").arg(opt);
        }
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    }

    pub fn update(&self, step: &Step, log: &Path) -> Result<(), ProvisionError> {
        let mut cmd = self.command("apt-get");
        cmd.arg("update");
        step.run("apt-get update (private lists)", &mut cmd, log)
    }

    /// Downloads `packages` and their whole dependency closure (libc included) as .debs.
    pub fn download(
        &self,
        packages: &[&str],
        step: &Step,
        log: &Path,
    ) -> Result<Vec<PathBuf>, ProvisionError> {
        let mut cmd = self.command("apt-get");
        cmd.args([
            "install",
            "--download-only",
            "-y",
            "--no-install-recommends",
        ])
        .args(packages);
        step.run("download Debian packages", &mut cmd, log)?;
        let mut debs: Vec<PathBuf> = std::fs::read_dir(self.dir.join("cache/archives"))
            .map_err(|e| ProvisionError::io("cannot list the downloads", e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "deb"))
            .collect();
        debs.sort();
        Ok(debs)
    }

    /// Versions of a source package the indexes offer, newest first.
    pub fn source_versions(&self, package: &str) -> Vec<String> {
        let mut cmd = self.command("apt-cache");
        cmd.args(["showsrc", package]);
        let text = capture(&mut cmd, Duration::from_secs(60)).unwrap_or_default();
        let mut versions: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Version: "))
            .map(|v| v.trim().to_owned())
            .collect();
        versions.sort_by(|a, b| debian_version_cmp(b, a));
        versions.dedup();
        versions
    }

    /// Downloads only the upstream tarball of `package=version` into `into`.
    pub fn source_tarball(
        &self,
        package: &str,
        version: &str,
        into: &Path,
        step: &Step,
        log: &Path,
    ) -> Result<PathBuf, ProvisionError> {
        std::fs::create_dir_all(into).map_err(|e| ProvisionError::io("cannot create", e))?;
        let mut cmd = self.command("apt-get");
        cmd.args(["source", "--download-only", "--tar-only"])
            .arg(format!("{package}={version}"))
            .current_dir(into);
        step.run(
            &format!("download {package} {version} source"),
            &mut cmd,
            log,
        )?;
        std::fs::read_dir(into)
            .map_err(|e| ProvisionError::io("cannot list the download", e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".orig.tar.xz"))
            .ok_or_else(|| ProvisionError::new("source download", "no .orig.tar.xz arrived"))
    }
}

/// Orders Debian versions well enough for CPython's (`3.13.15-1` vs `3.13.5-2+deb13u5`):
/// numerically by each dotted and dashed component.
pub fn debian_version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |v: &str| -> Vec<u64> {
        v.split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap_or(0))
            .collect()
    };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_numerically() {
        let mut v = vec!["3.13.5-2+deb13u5", "3.13.15-1", "3.13.18-1"];
        v.sort_by(|a, b| debian_version_cmp(b, a));
        assert_eq!(v, ["3.13.18-1", "3.13.15-1", "3.13.5-2+deb13u5"]);
    }
}
