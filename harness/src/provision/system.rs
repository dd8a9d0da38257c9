//! System packages: which distribution this is (os-release) and its package manager, what
//! djbench needs from it named in that manager's words, and, on Debian and Ubuntu, installing
//! the missing ones with apt-get when root, or saying exactly what to run when not. apt-get is
//! the only manager djbench runs itself; for the others it only names the command.

use std::fmt;
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use super::cache::Cache;
use super::python::{Flavour, Lookup};
use super::steps::{ProvisionError, Ui, capture, run_logged};

/// The key the Debian routes verify the archive with; Ubuntu has it only once this is installed.
pub const KEYRING_PACKAGE: &str = "debian-archive-keyring";

/// What compiling CPython from source needs (ENVIRONMENT.md's list).
pub const BUILD_DEPS: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libssl-dev",
    "zlib1g-dev",
    "libbz2-dev",
    "libreadline-dev",
    "libsqlite3-dev",
    "libffi-dev",
    "liblzma-dev",
    "libgdbm-dev",
    "libgdbm-compat-dev",
    "uuid-dev",
    "libncurses-dev",
    "tk-dev",
    "libzstd-dev",
    "libexpat1-dev",
    "xz-utils",
];

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The packages of `wanted` that dpkg does not have installed.
pub fn missing(wanted: &[&str]) -> Vec<String> {
    wanted
        .iter()
        .filter(|p| {
            let status = capture(
                Command::new("dpkg-query").args(["-W", "-f=${Status}", p]),
                Duration::from_secs(20),
            );
            !status.is_ok_and(|s| s.contains("install ok installed"))
        })
        .map(|p| p.to_string())
        .collect()
}

pub fn install_command(packages: &[String]) -> String {
    let list: Vec<&str> = packages.iter().map(String::as_str).collect();
    Manager::Apt.install_command(&list, false)
}

/// Installs whatever of `wanted` is missing: with apt-get as root, else an error naming the
/// command to run.
pub fn ensure(wanted: &[&str], why: &str, cache: &Cache, ui: &Ui) -> Result<(), ProvisionError> {
    install(&missing(wanted), why, cache, ui)
}

/// Installs `packages` with apt-get as root; else an error naming the command to run.
pub fn install(
    packages: &[String],
    why: &str,
    cache: &Cache,
    ui: &Ui,
) -> Result<(), ProvisionError> {
    if packages.is_empty() {
        return Ok(());
    }
    if !is_root() {
        return Err(ProvisionError::new(
            format!("{why} needs Debian packages that are not installed"),
            packages.join(" "),
        )
        .with_fix(format!(
            "run `{}`, then this again",
            install_command(packages)
        )));
    }
    let log = cache
        .log("apt")
        .map_err(|e| ProvisionError::io("cannot write logs", e))?;
    ui.step(
        &format!("install {} with apt-get ({why})", packages.join(" ")),
        |step| {
            step.say("apt-get update");
            run_logged(
                "apt-get update",
                Command::new("apt-get")
                    .arg("update")
                    .env("DEBIAN_FRONTEND", "noninteractive"),
                &log,
            )?;
            step.say("apt-get install");
            run_logged(
                "apt-get install",
                Command::new("apt-get")
                    .args(["install", "-y", "--no-install-recommends"])
                    .args(packages)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
                &log,
            )
        },
    )
}

/// A package manager whose package names djbench knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Manager {
    Apt,
    Dnf,
    Yum,
    Pacman,
    Apk,
    Zypper,
}

/// What djbench needs from a system's packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Redis,
    Postgres,
    /// An interpreter of this flavour from the distribution itself.
    Python(Flavour),
}

impl Manager {
    /// The manager of a distribution, from os-release's `ID` then `ID_LIKE` words.
    pub fn for_ids(ids: &[String]) -> Option<Manager> {
        ids.iter().find_map(|id| match id.as_str() {
            "debian" | "ubuntu" => Some(Manager::Apt),
            "fedora" => Some(Manager::Dnf),
            "rhel" | "centos" | "rocky" | "almalinux" | "ol" => Some(Manager::Dnf),
            "arch" | "manjaro" | "endeavouros" => Some(Manager::Pacman),
            "alpine" => Some(Manager::Apk),
            "opensuse" | "opensuse-leap" | "opensuse-tumbleweed" | "suse" | "sles" => {
                Some(Manager::Zypper)
            }
            _ => None,
        })
    }

    pub const fn program(self) -> &'static str {
        match self {
            Manager::Apt => "apt-get",
            Manager::Dnf => "dnf",
            Manager::Yum => "yum",
            Manager::Pacman => "pacman",
            Manager::Apk => "apk",
            Manager::Zypper => "zypper",
        }
    }

    /// The packages that give `need`, or None where the distribution has none djbench knows of.
    pub fn packages(self, need: Need) -> Option<&'static [&'static str]> {
        match (self, need) {
            (Manager::Apt, Need::Redis) => Some(&["redis-server"]),
            // Fedora 42 and Arch moved to valkey, whose compat packages still install
            // redis-server.
            (Manager::Dnf | Manager::Yum, Need::Redis) => Some(&["redis"]),
            (Manager::Pacman, Need::Redis) => Some(&["valkey"]),
            (Manager::Apk | Manager::Zypper, Need::Redis) => Some(&["redis"]),
            (Manager::Apt, Need::Postgres) => Some(&["postgresql"]),
            (Manager::Dnf | Manager::Yum, Need::Postgres) => Some(&["postgresql-server"]),
            (Manager::Pacman | Manager::Apk | Manager::Zypper, Need::Postgres) => {
                Some(&["postgresql"])
            }
            // Fedora packages CPython 3.14 and its free-threaded build side by side.
            (Manager::Dnf, Need::Python(Flavour::Gil)) => Some(&["python3.14"]),
            (Manager::Dnf, Need::Python(Flavour::FreeThreaded)) => {
                Some(&["python3.14-freethreading"])
            }
            (_, Need::Python(_)) => None,
        }
    }

    /// The command that installs `packages`, with sudo unless running as root.
    pub fn install_command(self, packages: &[&str], root: bool) -> String {
        let sudo = if root { "" } else { "sudo " };
        let list = packages.join(" ");
        match self {
            Manager::Apt => format!(
                "{sudo}apt-get update && {sudo}apt-get install -y --no-install-recommends {list}"
            ),
            Manager::Dnf | Manager::Yum => format!("{sudo}{} install -y {list}", self.program()),
            Manager::Pacman => format!("{sudo}pacman -S --needed {list}"),
            Manager::Apk => format!("{sudo}apk add {list}"),
            Manager::Zypper => format!("{sudo}zypper install -y {list}"),
        }
    }
}

impl fmt::Display for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

/// What this machine offers for getting packages: which distribution, which manager, and
/// whether djbench's Debian routes (apt-get, dpkg-deb) can run.
#[derive(Debug, Clone, Serialize)]
pub struct System {
    /// os-release's `PRETTY_NAME` (else `ID`), or None when it cannot be read.
    pub distro: Option<String>,
    pub manager: Option<Manager>,
    /// apt-get and dpkg-deb are on PATH: the Debian sysroot and the source build can run.
    pub apt: bool,
    pub root: bool,
}

impl System {
    pub fn read(lookup: &Lookup) -> Self {
        let text = std::fs::read_to_string(&lookup.os_release).unwrap_or_default();
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_owned())
        };
        let mut ids: Vec<String> = field("ID").into_iter().collect();
        ids.extend(
            field("ID_LIKE")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned),
        );
        let on_path = |p: &str| !lookup.on_path(p).is_empty();
        let manager = Manager::for_ids(&ids)
            .map(|m| {
                // RHEL 7 and its kin have yum only.
                if m == Manager::Dnf && !on_path("dnf") && on_path("yum") {
                    Manager::Yum
                } else {
                    m
                }
            })
            .or_else(|| {
                [
                    Manager::Apt,
                    Manager::Dnf,
                    Manager::Yum,
                    Manager::Pacman,
                    Manager::Apk,
                    Manager::Zypper,
                ]
                .into_iter()
                .find(|m| on_path(m.program()))
            });
        Self {
            distro: field("PRETTY_NAME").or_else(|| ids.first().cloned()),
            manager,
            apt: on_path("apt-get") && on_path("dpkg-deb"),
            root: is_root(),
        }
    }

    /// The distribution in words, for messages.
    pub fn name(&self) -> &str {
        self.distro.as_deref().unwrap_or("this system")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::Cache;
    use std::collections::HashMap;
    use std::path::Path;

    fn system(os_release: &str, path_dir: &Path) -> System {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("os-release");
        std::fs::write(&file, os_release).unwrap();
        System::read(&Lookup {
            path_var: Some(path_dir.as_os_str().to_owned()),
            explicit: HashMap::new(),
            cache: Cache::at(dir.path()),
            uv_install: false,
            os_release: file,
            debian_keyring: dir.path().join("none.gpg"),
        })
    }

    #[test]
    fn the_manager_comes_from_id_then_id_like() {
        let empty = tempfile::tempdir().unwrap();
        let fedora = system(
            "NAME=\"Fedora Linux\"\nID=fedora\nPRETTY_NAME=\"Fedora Linux 42 (Server Edition)\"\n",
            empty.path(),
        );
        assert_eq!(fedora.manager, Some(Manager::Dnf));
        assert_eq!(fedora.name(), "Fedora Linux 42 (Server Edition)");
        assert!(!fedora.apt);
        let rocky = system(
            "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n",
            empty.path(),
        );
        assert_eq!(rocky.manager, Some(Manager::Dnf));
        let mint = system("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", empty.path());
        assert_eq!(mint.manager, Some(Manager::Apt));
        let suse = system(
            "ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n",
            empty.path(),
        );
        assert_eq!(suse.manager, Some(Manager::Zypper));
        assert_eq!(
            system("ID=alpine\n", empty.path()).manager,
            Some(Manager::Apk)
        );
        assert_eq!(
            system("ID=arch\n", empty.path()).manager,
            Some(Manager::Pacman)
        );
        assert_eq!(system("ID=plan9\n", empty.path()).manager, None);
    }

    #[test]
    fn commands_are_in_each_managers_words() {
        assert_eq!(
            Manager::Dnf.install_command(&["redis", "python3.14"], false),
            "sudo dnf install -y redis python3.14"
        );
        assert_eq!(
            Manager::Pacman.install_command(&["valkey"], true),
            "pacman -S --needed valkey"
        );
        assert_eq!(
            Manager::Apk.install_command(&["redis"], true),
            "apk add redis"
        );
        assert!(
            Manager::Apt
                .install_command(&["redis-server"], false)
                .contains("sudo apt-get install -y --no-install-recommends redis-server")
        );
    }
}
