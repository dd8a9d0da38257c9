//! Getting everything a run needs onto the machine and into the cache: interpreters (found,
//! or provisioned: `uv python install` first, then Debian's packages or source), one virtualenv
//! each, and the services. `setup` does what is missing, and says in one message, before any
//! work, what this machine needs that djbench cannot install; `doctor` says what is there, which
//! route gave each interpreter and why the routes before it did not, and what setup would still
//! do. It starts no deployment.

pub mod apt;
pub mod build;
pub mod cache;
pub mod host;
pub mod needs;
pub mod python;
pub mod services;
pub mod steps;
pub mod sysroot;
pub mod system;
pub mod uv;
pub mod venv;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;

pub use cache::Cache;
use needs::{Wanting, routes_left, service_name, shortfall};
pub use python::{Flavour, Lookup, Refusal, Rejected, Resolution, Rule};
pub use steps::{ProvisionError, Ui};
use system::{Manager, Need, System};

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
    /// The route that gave it.
    pub source: python::Rule,
    /// That route in words: `uv python install 3.14t`, `$DJBENCH_PYTHON_FT`, how it was built.
    pub origin: String,
    /// The routes setup tried before the one that gave it, and why each gave nothing.
    pub passed_over: Vec<Rejected>,
    pub config_args: String,
}

impl InterpreterRow {
    /// The route in a few words, for `doctor`'s table: `uv python install 3.14t`, `PATH`,
    /// `$DJBENCH_PYTHON`, `Debian sysroot`, `built from source`.
    pub fn found_by(&self) -> String {
        match self.source {
            Rule::Explicit | Rule::UvFind | Rule::UvInstall => self.origin.clone(),
            Rule::Path | Rule::DebianSysroot | Rule::SourceBuild => self.source.words().into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VenvRow {
    pub flavour: Flavour,
    pub path: PathBuf,
    pub packages: BTreeMap<String, String>,
}

/// A candidate turned down while resolving a flavour now.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedRow {
    pub flavour: Flavour,
    #[serde(flatten)]
    pub rejected: Rejected,
}

/// What `doctor` reports; `doctor --json` prints it as is.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cache: PathBuf,
    pub interpreters: Vec<InterpreterRow>,
    pub venvs: Vec<VenvRow>,
    pub services: Vec<services::Service>,
    pub host: host::Host,
    /// The distribution, its package manager, and whether the Debian routes can run.
    pub system: System,
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

/// The routes that gave nothing when a provisioned interpreter was made.
fn passed_over(lookup: &Lookup, interp: &python::Interpreter) -> Vec<Rejected> {
    if !matches!(
        interp.source,
        Rule::UvInstall | Rule::DebianSysroot | Rule::SourceBuild
    ) {
        return Vec::new();
    }
    lookup
        .provisioned(interp.flavour)
        .into_iter()
        .find(|p| p.python == interp.path)
        .map(|p| p.passed_over)
        .unwrap_or_default()
}

/// What is there, without changing anything.
pub fn doctor(lookup: &Lookup, wants: Wants) -> Report {
    let system = System::read(lookup);
    let mut report = Report {
        cache: lookup.cache.root().to_owned(),
        interpreters: Vec::new(),
        venvs: Vec::new(),
        services: Vec::new(),
        host: host::Host::read(),
        system: system.clone(),
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
                rejected: r.clone(),
            }));
        let Some(interp) = res.chosen else {
            report.pending.push(if res.explicit_refused {
                format!(
                    "fix ${}: it names an interpreter that was refused",
                    flavour.env_var()
                )
            } else {
                routes_left(lookup, &system, flavour)
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
            passed_over: passed_over(lookup, &interp),
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
    let mut services_missing = Vec::new();
    match services::find_redis(lookup) {
        Some(s) => report.services.push(s),
        None => services_missing.push(Need::Redis),
    }
    match services::find_postgres(lookup) {
        Some(s) => report.services.push(s),
        None if wants.postgres => services_missing.push(Need::Postgres),
        None => {}
    }
    for need in services_missing {
        let how = match system.manager {
            // setup installs it itself.
            Some(Manager::Apt) if system.apt && system.root => "apt-get".to_owned(),
            Some(m) => format!(
                "`{}`",
                m.install_command(m.packages(need).unwrap_or(&[]), system.root)
            ),
            None => "with this system's package manager".to_owned(),
        };
        report
            .pending
            .push(format!("install {} ({how})", service_name(need)));
    }
    report.ready = report.pending.is_empty();
    report
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
    let system = System::read(lookup);
    let flavours = flavours(wants, lookup);
    // Said once, up front, rather than after minutes of downloads: what no route of djbench's
    // can get on this machine. What uv may still get is left to it.
    let mut w = Wanting::default();
    for &flavour in &flavours {
        let res = python::resolve(flavour, lookup);
        if res.explicit_refused {
            return Err(explicit_refused(flavour, &res));
        }
        if res.chosen.is_some() {
            continue;
        }
        let uv = if !lookup.uv_install {
            Err(Refusal::NotTried("this setup does not use uv".into()))
        } else {
            uv::obtainable(lookup)
        };
        match (flavour.uv_requests().first(), uv) {
            (Some(_), Ok(())) => w.uv_first.push(flavour),
            (Some(request), Err(why)) => w.interpreters.push((
                flavour,
                vec![Rejected {
                    rule: Rule::UvInstall,
                    tried: format!("uv python install {request}"),
                    path: None,
                    why,
                }],
            )),
            (None, _) => w.interpreters.push((flavour, Vec::new())),
        }
    }
    if services::find_redis(lookup).is_none() {
        w.services.push(Need::Redis);
    }
    if wants.postgres && services::find_postgres(lookup).is_none() {
        w.services.push(Need::Postgres);
    }
    shortfall(lookup, &system, &w)?;
    let interps = interpreters_on(lookup, &flavours, ui, &system)?;
    for interp in &interps {
        venv::ensure(cache, ui, interp)?;
    }
    services::ensure_redis(lookup, ui)?;
    if wants.postgres {
        services::ensure_postgres(lookup, ui)?;
    }
    Ok(doctor(lookup, wants))
}

fn explicit_refused(flavour: Flavour, res: &Resolution) -> ProvisionError {
    let (path, why) = res
        .rejected
        .first()
        .map(|r| (r.path.clone().unwrap_or_default(), r.why.to_string()))
        .unwrap_or_default();
    ProvisionError::new(
        format!("${} = {} was refused", flavour.env_var(), path.display()),
        why,
    )
    .with_fix(format!(
        "point ${} at a {flavour} interpreter, or unset it",
        flavour.env_var()
    ))
}

/// The interpreter of `flavour`: found, or provisioned into the cache when there is none.
/// The caller holds the cache lock.
pub fn interpreter(
    lookup: &Lookup,
    flavour: Flavour,
    ui: &Ui,
) -> Result<python::Interpreter, ProvisionError> {
    let mut found = interpreters(lookup, &[flavour], ui)?;
    Ok(found.remove(0))
}

/// The interpreters of `flavours`, in that order: found, or provisioned into the cache. One
/// uv attempt covers them all (a failed download is not retried per flavour). The caller
/// holds the cache lock.
pub fn interpreters(
    lookup: &Lookup,
    flavours: &[Flavour],
    ui: &Ui,
) -> Result<Vec<python::Interpreter>, ProvisionError> {
    interpreters_on(lookup, flavours, ui, &System::read(lookup))
}

fn interpreters_on(
    lookup: &Lookup,
    flavours: &[Flavour],
    ui: &Ui,
    system: &System,
) -> Result<Vec<python::Interpreter>, ProvisionError> {
    let mut missing = Vec::new();
    for &flavour in flavours {
        let res = python::resolve(flavour, lookup);
        if res.explicit_refused {
            return Err(explicit_refused(flavour, &res));
        }
        if res.chosen.is_none() {
            missing.push(flavour);
        }
    }
    if !missing.is_empty() {
        let mut refused: HashMap<Flavour, Vec<Rejected>> = if lookup.uv_install {
            uv::install(lookup, &missing, ui)
        } else {
            HashMap::new()
        };
        missing.retain(|f| python::resolve(*f, lookup).chosen.is_none());
        let w = Wanting {
            interpreters: missing
                .iter()
                .map(|f| (*f, refused.remove(f).unwrap_or_default()))
                .collect(),
            ..Wanting::default()
        };
        // Once more, for the Debian routes all together: one message, before their downloads.
        shortfall(lookup, system, &w)?;
        let cache = &lookup.cache;
        if system.root {
            system::install(
                &needs::debian_packages(lookup, &missing),
                "the Debian routes to CPython",
                cache,
                ui,
            )?;
        }
        for (flavour, passed_over) in &w.interpreters {
            match flavour {
                Flavour::Gil => sysroot::provision(cache, ui, passed_over)?,
                Flavour::FreeThreaded | Flavour::GilTwin => {
                    build::provision(cache, ui, *flavour, passed_over)?
                }
            };
        }
    }
    flavours
        .iter()
        .map(|&flavour| {
            let res = python::resolve(flavour, lookup);
            res.chosen.ok_or_else(|| {
                ProvisionError::new(
                    format!("no {flavour} interpreter"),
                    res.rejected
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })
        })
        .collect()
}
