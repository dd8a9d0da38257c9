//! Getting everything a run needs onto the machine and into the cache: interpreters (found or
//! provisioned), one virtualenv each, and the services. `setup` does what is missing; `doctor`
//! says what is there and what setup would still do. It starts no deployment.

pub mod apt;
pub mod build;
pub mod cache;
pub mod host;
pub mod python;
pub mod services;
pub mod steps;
pub mod sysroot;
pub mod system;
pub mod venv;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use cache::Cache;
pub use python::{Flavour, Lookup, Resolution};
pub use steps::{ProvisionError, Ui};

/// What `setup` should make ready beyond the default (GIL 3.14, free-threaded, redis).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wants {
    pub gil_twin: bool,
    pub postgres: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterpreterRow {
    pub flavour: Flavour,
    pub path: PathBuf,
    pub version: String,
    pub gil_enabled: bool,
    pub free_threaded_build: bool,
    pub source: python::Rule,
    pub origin: String,
    pub config_args: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VenvRow {
    pub flavour: Flavour,
    pub path: PathBuf,
    pub packages: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectedRow {
    pub flavour: Flavour,
    pub path: PathBuf,
    pub rule: python::Rule,
    pub reason: String,
}

/// What `doctor` reports; `doctor --json` prints it as is.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cache: PathBuf,
    pub interpreters: Vec<InterpreterRow>,
    pub venvs: Vec<VenvRow>,
    pub services: Vec<services::Service>,
    pub host: host::Host,
    pub rejected: Vec<RejectedRow>,
    /// What `setup` would still do, in words.
    pub pending: Vec<String>,
    pub ready: bool,
}

fn flavours(wants: Wants, lookup: &Lookup) -> Vec<Flavour> {
    let mut f = vec![Flavour::Gil, Flavour::FreeThreaded];
    if wants.gil_twin || !lookup.provisioned(Flavour::GilTwin).is_empty() {
        f.push(Flavour::GilTwin);
    }
    f
}

/// What is there, without changing anything.
pub fn doctor(lookup: &Lookup, wants: Wants) -> Report {
    let mut report = Report {
        cache: lookup.cache.root().to_owned(),
        interpreters: Vec::new(),
        venvs: Vec::new(),
        services: Vec::new(),
        host: host::Host::read(),
        rejected: Vec::new(),
        pending: Vec::new(),
        ready: false,
    };
    for flavour in flavours(wants, lookup) {
        let res = python::resolve(flavour, lookup);
        report
            .rejected
            .extend(res.rejected.iter().map(|r| RejectedRow {
                flavour,
                path: r.path.clone(),
                rule: r.rule,
                reason: r.reason.clone(),
            }));
        let Some(interp) = res.chosen else {
            report.pending.push(if res.explicit_refused {
                format!(
                    "fix ${}: it names an interpreter that was refused",
                    flavour.env_var()
                )
            } else {
                match flavour {
                    Flavour::Gil => {
                        "provision CPython 3.14 from Debian sid packages (~30 s)".into()
                    }
                    Flavour::FreeThreaded => {
                        "build free-threaded CPython from source (~3 min)".into()
                    }
                    Flavour::GilTwin => "build the GIL twin from the same source (~3 min)".into(),
                }
            });
            continue;
        };
        report.interpreters.push(InterpreterRow {
            flavour,
            path: interp.path.clone(),
            version: interp.facts.version.clone(),
            gil_enabled: interp.facts.gil_enabled,
            free_threaded_build: interp.facts.free_threaded_build,
            source: interp.source,
            origin: interp.origin.clone(),
            config_args: interp.facts.config_args.clone(),
        });
        match venv::locate(&lookup.cache, &interp) {
            Ok((_, Some(v))) => report.venvs.push(VenvRow {
                flavour,
                path: v.path,
                packages: v.packages,
            }),
            Ok((dir, None)) => report.pending.push(format!(
                "create the {flavour} virtualenv at {}",
                dir.display()
            )),
            Err(e) => report.pending.push(format!("fix: {e}")),
        }
    }
    match services::find_redis() {
        Some(s) => report.services.push(s),
        None => report.pending.push("install redis-server (apt-get)".into()),
    }
    match services::find_postgres() {
        Some(s) => report.services.push(s),
        None if wants.postgres => report.pending.push("install postgresql (apt-get)".into()),
        None => {}
    }
    report.ready = report.pending.is_empty();
    report
}

/// The Debian packages `setup` would need for what is missing now.
pub fn system_needs(lookup: &Lookup, wants: Wants) -> Vec<String> {
    let mut wanted: Vec<&str> = Vec::new();
    for flavour in flavours(wants, lookup) {
        if python::resolve(flavour, lookup).chosen.is_none() {
            match flavour {
                Flavour::Gil => wanted.push("patchelf"),
                Flavour::FreeThreaded | Flavour::GilTwin => wanted.extend(system::BUILD_DEPS),
            }
        }
    }
    if services::find_redis().is_none() {
        wanted.push("redis-server");
    }
    if wants.postgres && services::find_postgres().is_none() {
        wanted.push("postgresql");
    }
    wanted.dedup();
    system::missing(&wanted)
}

/// Makes everything ready that is not, under the cache lock; returns the doctor's report.
pub fn setup(lookup: &Lookup, wants: Wants, ui: &Ui) -> Result<Report, ProvisionError> {
    let cache = &lookup.cache;
    let _lock = cache
        .lock(|holder| {
            ui.note(&format!(
                "waiting for another djbench (pid {holder}) to finish provisioning"
            ))
        })
        .map_err(|e| {
            ProvisionError::io(
                format!("cannot lock the cache {}", cache.root().display()),
                e,
            )
        })?;
    // Said once, up front, rather than after minutes of downloads.
    let needs = system_needs(lookup, wants);
    if !needs.is_empty() && !system::is_root() {
        return Err(ProvisionError::new(
            "setup needs Debian packages that are not installed, and is not running as root",
            needs.join(" "),
        )
        .with_fix(format!(
            "run `{}` (or run djbench setup as root), then djbench setup again",
            system::install_command(&needs)
        )));
    }
    for flavour in flavours(wants, lookup) {
        let interp = interpreter(lookup, flavour, ui)?;
        venv::ensure(cache, ui, &interp)?;
    }
    services::ensure_redis(cache, ui)?;
    if wants.postgres {
        services::ensure_postgres(cache, ui)?;
    }
    Ok(doctor(lookup, wants))
}

/// The interpreter of `flavour`: found, or provisioned into the cache when there is none.
/// The caller holds the cache lock.
pub fn interpreter(
    lookup: &Lookup,
    flavour: Flavour,
    ui: &Ui,
) -> Result<python::Interpreter, ProvisionError> {
    let cache = &lookup.cache;
    let mut res = python::resolve(flavour, lookup);
    if res.explicit_refused {
        let r = &res.rejected[0];
        return Err(ProvisionError::new(
            format!("${} = {} was refused", flavour.env_var(), r.path.display()),
            r.reason.clone(),
        )
        .with_fix(format!(
            "point ${} at a {flavour} interpreter, or unset it",
            flavour.env_var()
        )));
    }
    if res.chosen.is_none() {
        match flavour {
            Flavour::Gil => sysroot::provision(cache, ui)?,
            Flavour::FreeThreaded | Flavour::GilTwin => build::provision(cache, ui, flavour)?,
        };
        res = python::resolve(flavour, lookup);
    }
    res.chosen.ok_or_else(|| {
        ProvisionError::new(
            format!("no {flavour} interpreter"),
            res.rejected
                .iter()
                .map(|r| format!("{}: {}", r.path.display(), r.reason))
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}
