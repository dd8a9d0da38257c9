//! System packages from Debian (build dependencies, patchelf, redis-server): which are missing,
//! and installing them with apt-get when root, or saying exactly what to run when not.

use std::process::Command;
use std::time::Duration;

use super::cache::Cache;
use super::steps::{ProvisionError, Ui, capture, run_logged};

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
    format!(
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    )
}

/// Installs whatever of `wanted` is missing: with apt-get as root, else an error naming the
/// command to run.
pub fn ensure(wanted: &[&str], why: &str, cache: &Cache, ui: &Ui) -> Result<(), ProvisionError> {
    let missing = missing(wanted);
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        return Err(ProvisionError::new(
            format!("{why} needs Debian packages that are not installed"),
            missing.join(" "),
        )
        .with_fix(format!(
            "run `{}`, then this again",
            install_command(&missing)
        )));
    }
    let log = cache
        .log("apt")
        .map_err(|e| ProvisionError::io("cannot write logs", e))?;
    ui.step(
        &format!("install {} with apt-get ({why})", missing.join(" ")),
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
                    .args(&missing)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
                &log,
            )
        },
    )
}
