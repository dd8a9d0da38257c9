//! The servers a deployment needs beside the app: redis-server (the celery broker), and
//! PostgreSQL when a scenario asks. Finds their binaries and installs them from Debian when
//! missing; starting them is the deploy module's business.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use super::python::Lookup;
use super::steps::{ProvisionError, Ui, capture};
use super::system;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub path: PathBuf,
    pub version: String,
}

/// The service at `path` if it answers `--version`, with the version `pick` finds in the answer.
fn answering(name: &str, path: PathBuf, pick: fn(&str) -> Option<&str>) -> Option<Service> {
    let out = capture(
        Command::new(&path).arg("--version"),
        Duration::from_secs(10),
    )
    .ok()?;
    Some(Service {
        name: name.into(),
        version: pick(&out).unwrap_or("unknown").to_owned(),
        path,
    })
}

/// `redis-server` on PATH, with its version.
pub fn find_redis(lookup: &Lookup) -> Option<Service> {
    // "Redis server v=7.0.15 sha=… malloc=jemalloc-5.3.0 bits=64 build=…"
    let path = lookup.on_path("redis-server").into_iter().next()?;
    answering("redis-server", path, |out| {
        out.split_whitespace().find_map(|w| w.strip_prefix("v="))
    })
}

pub fn ensure_redis(lookup: &Lookup, ui: &Ui) -> Result<Service, ProvisionError> {
    if let Some(s) = find_redis(lookup) {
        return Ok(s);
    }
    system::ensure(&["redis-server"], "the celery broker", &lookup.cache, ui)?;
    find_redis(lookup).ok_or_else(|| {
        ProvisionError::new("redis-server", "installed, but not found on PATH")
            .with_fix("put the folder holding redis-server on PATH")
    })
}

/// The PostgreSQL server binaries: `postgres` on PATH, else the newest under
/// /usr/lib/postgresql (where Debian puts them, off PATH).
pub fn find_postgres(lookup: &Lookup) -> Option<Service> {
    let path = lookup
        .on_path("postgres")
        .into_iter()
        .next()
        .or_else(|| newest_debian_postgres(Path::new("/usr/lib/postgresql")))?;
    // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    answering("postgres", path, |out| out.split_whitespace().nth(2))
}

fn newest_debian_postgres(root: &Path) -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin/postgres");
            bin.is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p)
}

pub fn ensure_postgres(lookup: &Lookup, ui: &Ui) -> Result<Service, ProvisionError> {
    if let Some(s) = find_postgres(lookup) {
        return Ok(s);
    }
    system::ensure(
        &["postgresql"],
        "scenarios with `database: postgres`",
        &lookup.cache,
        ui,
    )?;
    find_postgres(lookup)
        .ok_or_else(|| ProvisionError::new("postgresql", "installed, but no postgres binary found"))
}
