//! `djbench check`: can a Django project run in each deployment mode, and which of its
//! packages stand in the way? It installs the project's requirements into throwaway
//! virtualenvs of the 3.14 GIL build and the free-threaded build (`install`), asks the probe,
//! in a fresh process per question, whether each distribution imports in the main
//! interpreter, in an isolated own-GIL subinterpreter, and on the free-threaded build with the
//! GIL kept off, then sets the project's Django up the way each mode would. Distribution
//! verdicts are cached with the venv (by requirements hash); the project's set-up is run
//! every time, since its code changes between checks. It deploys nothing and sends no load.

pub mod install;
pub mod project;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use install::How;
use install::Installed;
pub use project::Project;

use crate::provision::steps::{ProvisionError, Step};
use crate::provision::{self, Flavour, Lookup, Ui};
use crate::scenario::model::Mode;

/// Everything `check` found; `check --json` prints it as is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub project: PathBuf,
    pub settings: String,
    pub requirements: PathBuf,
    pub interpreters: Vec<Env>,
    /// Every distribution the requirements installed, on either interpreter.
    pub packages: Vec<PackageRow>,
    /// One per mode, in the order gunicorn_celery, subinterpreters, free_threaded.
    pub modes: Vec<ModeVerdict>,
}

impl Report {
    pub fn every_mode_runs(&self) -> bool {
        self.modes.iter().all(|m| m.can_run)
    }
}

/// An interpreter and the throwaway venv of the project's requirements.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Env {
    pub flavour: Flavour,
    pub version: String,
    pub interpreter: PathBuf,
    pub venv: PathBuf,
    /// The venv and its distribution verdicts came from an earlier check of the same
    /// requirements.
    pub from_cache: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageRow {
    pub name: String,
    pub version: String,
    /// How it was installed for the GIL build (None: not asked for there).
    pub install_gil: Option<How>,
    /// How it was installed for the free-threaded build.
    pub install_free_threaded: Option<How>,
    /// Its top-level import names.
    pub modules: Vec<String>,
    pub extension_modules: Vec<String>,
    /// Whether setting the project up (django.setup(), URLconf and views, WSGI application)
    /// imported it; None when no set-up got that far.
    pub imported_by_app: Option<bool>,
    pub gunicorn_celery: Verdict,
    pub subinterpreters: Verdict,
    pub free_threaded: Verdict,
}

impl PackageRow {
    pub fn verdict(&self, mode: Mode) -> &Verdict {
        match mode {
            Mode::GunicornCelery => &self.gunicorn_celery,
            Mode::Subinterpreters => &self.subinterpreters,
            Mode::FreeThreaded => &self.free_threaded,
        }
    }
}

/// What importing a distribution's modules did in one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every top-level module and extension module imported (and, free-threaded, the GIL
    /// stayed off).
    Loads,
    /// A module did not import here, though it does in a plain GIL process: the
    /// interpreter's own error.
    Fails { module: String, error: String },
    /// It imported, and the GIL came back on: the module CPython named in its warning.
    GilOn {
        module: String,
        by_import: String,
        warning: Option<String>,
    },
    /// Not installed for this mode's interpreter.
    NotInstalled { reason: String },
    /// It does not import on its own even in a plain GIL process (it needs another package
    /// imported first, or Django set up): only the project's set-up can tell.
    Inconclusive { module: String, error: String },
}

impl Verdict {
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            Verdict::Fails { .. } | Verdict::GilOn { .. } | Verdict::NotInstalled { .. }
        )
    }

    /// The reason in one line, None for `Loads`.
    pub fn reason(&self) -> Option<String> {
        match self {
            Verdict::Loads => None,
            Verdict::Fails { module, error } => {
                Some(format!("importing {module}: {}", headline(error)))
            }
            Verdict::GilOn {
                module,
                by_import,
                warning,
            } => Some(match warning {
                Some(w) => format!("importing {by_import} turned the GIL on: {w}"),
                None => format!("importing {by_import} turned the GIL on (module {module})"),
            }),
            Verdict::NotInstalled { reason } => Some(format!("not installed: {reason}")),
            Verdict::Inconclusive { module, error } => Some(format!(
                "{module} does not import on its own, even in a plain process ({}); the \
                 project's set-up decides",
                headline(error)
            )),
        }
    }
}

/// The line of an error message that says what happened: numpy wraps the interpreter's
/// ImportError in a page of advice ending in "Original error was: …"; the full text stays in
/// the JSON.
pub fn headline(message: &str) -> String {
    if let Some((before, original)) = message.split_once("Original error was:") {
        // Keep the "ImportError: " the caller put in front of the interpreter's text.
        let kind = before
            .split_once(": ")
            .map(|(k, _)| k)
            .filter(|k| k.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .map(|k| format!("{k}: "))
            .unwrap_or_default();
        return format!("{kind}{}", original.lines().next().unwrap_or("").trim());
    }
    let first = message.lines().map(str::trim).find(|l| !l.is_empty());
    let first = first.unwrap_or("").to_owned();
    if message.trim().lines().count() > 1 {
        format!("{first} …")
    } else {
        first
    }
}

/// Whether a mode can run the project, and why not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModeVerdict {
    pub mode: Mode,
    pub interpreter: String,
    pub can_run: bool,
    pub reason: Option<String>,
    /// Packages the app imports that fail in this mode.
    pub blocking: Vec<String>,
    /// The project's set-up traceback, when it failed.
    pub traceback: Option<String>,
}

/// Checks `project` against the three modes, provisioning the interpreters if needed.
pub fn check(project: &Project, lookup: &Lookup, ui: &Ui) -> Result<Report, ProvisionError> {
    let cache = &lookup.cache;
    let _lock = cache
        .lock(|holder| {
            ui.note(&format!(
                "waiting for another djbench (pid {holder}) to finish with the cache"
            ))
        })
        .map_err(|e| ProvisionError::io("cannot lock the cache", e))?;
    // Together, so uv is asked once for both (a failed download is not retried per flavour).
    let mut both = provision::interpreters(lookup, &[Flavour::Gil, Flavour::FreeThreaded], ui)?;
    let ft_interp = both.pop().expect("two flavours asked");
    let gil_interp = both.pop().expect("two flavours asked");
    let (gil, gil_cached) = install::prepare(cache, ui, &gil_interp, project)?;
    let (ft, ft_cached) = install::prepare(cache, ui, &ft_interp, project)?;
    let gil_probe = probe_distributions(ui, &gil, &["main", "subinterpreter"])?;
    let ft_probe = probe_distributions(ui, &ft, &["main"])?;
    let setups = ui.step(
        "setting the project's Django up as each mode would",
        |step| {
            let args = [project.dir.display().to_string(), project.settings.clone()];
            let mut out = Vec::new();
            for (mode, env, place) in [
                (Mode::GunicornCelery, &gil, "main"),
                (Mode::Subinterpreters, &gil, "subinterpreter"),
                (Mode::FreeThreaded, &ft, "main"),
            ] {
                step.say(mode.name());
                let answer: Result<Setup, String> = ask(
                    env,
                    "django",
                    place,
                    &args,
                    &format!("django-{}", mode.name()),
                );
                out.push((mode, answer));
            }
            Ok(out)
        },
    )?;
    Ok(assemble(
        project,
        [(&gil, gil_cached, &gil_probe), (&ft, ft_cached, &ft_probe)],
        setups,
    ))
}

/// What the probe found of each distribution, per place it imported it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Probed {
    dists: BTreeMap<String, Option<DistInfo>>,
    /// place → distribution → what importing it did.
    imports: BTreeMap<String, BTreeMap<String, Result<Imports, String>>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DistInfo {
    name: String,
    version: String,
    top_level: Vec<String>,
    extension_modules: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Imports {
    #[serde(default)]
    imports: Vec<Import>,
    #[serde(default)]
    gil_turned_on: Option<Culprit>,
    #[serde(default)]
    crashed: Option<PyError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Import {
    module: String,
    error: Option<PyError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PyError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

impl std::fmt::Display for PyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Culprit {
    by_import: String,
    module: Option<String>,
    warning: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Setup {
    #[serde(default)]
    error: Option<SetupError>,
    #[serde(default)]
    traceback: Option<String>,
    #[serde(default)]
    gil_turned_on: Option<Culprit>,
    #[serde(default)]
    imported_distributions: Vec<String>,
    #[serde(default)]
    crashed: Option<PyError>,
}

#[derive(Debug, Clone, Deserialize)]
struct SetupError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
    step: String,
}

/// Asks the probe about every distribution of `env`, in each place; cached beside the venv.
fn probe_distributions(
    ui: &Ui,
    env: &Installed,
    places: &[&str],
) -> Result<Probed, ProvisionError> {
    let cached = env.dir.join("verdicts.json");
    if let Some(p) = std::fs::read_to_string(&cached)
        .ok()
        .and_then(|t| serde_json::from_str::<Probed>(&t).ok())
    {
        return Ok(p);
    }
    let title = format!(
        "importing {} distributions on {} {}",
        env.packages.len(),
        env.flavour,
        env.version
    );
    let probed = ui.step(&title, |step| {
        let names: Vec<String> = env.packages.iter().map(|p| p.name.clone()).collect();
        let dists: BTreeMap<String, Option<DistInfo>> = ask(env, "dists", "main", &names, "dists")
            .map_err(|e| ProvisionError::new("list the installed distributions", e))?;
        let mut imports = BTreeMap::new();
        for place in places {
            let mut here = BTreeMap::new();
            for (name, info) in &dists {
                let Some(info) = info else { continue };
                here.insert(name.clone(), import_one(step, env, place, name, info));
            }
            imports.insert((*place).to_owned(), here);
        }
        Ok(Probed { dists, imports })
    })?;
    let _ = crate::atomic::write_atomic(&cached, &serde_json::to_vec(&probed).unwrap_or_default());
    Ok(probed)
}

fn import_one(
    step: &Step,
    env: &Installed,
    place: &str,
    name: &str,
    info: &DistInfo,
) -> Result<Imports, String> {
    step.say(&format!("{name} ({place})"));
    let modules: Vec<String> = info
        .top_level
        .iter()
        .chain(&info.extension_modules)
        .cloned()
        .collect();
    if modules.is_empty() {
        return Ok(Imports::default());
    }
    ask(
        env,
        "imports",
        place,
        &modules,
        &format!("imports-{place}-{name}"),
    )
}

/// Runs one probe question in a fresh process of `env`'s python and reads its answer.
fn ask<T: DeserializeOwned>(
    env: &Installed,
    question: &str,
    place: &str,
    names: &[String],
    tag: &str,
) -> Result<T, String> {
    use wait_timeout::ChildExt;
    let answers = env.dir.join("answers");
    let _ = std::fs::create_dir_all(&answers);
    let out = answers.join(format!("{tag}.json"));
    let _ = std::fs::remove_file(&out);
    let err_path = answers.join(format!("{tag}.stderr"));
    let stderr = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(&env.python)
        .arg(env.probe())
        .arg(question)
        .args(["--where", place, "--out"])
        .arg(&out)
        .args(names)
        .current_dir(&env.dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", env.python.display()))?;
    // An import that hangs must not hang the check.
    let status = match child
        .wait_timeout(Duration::from_secs(180))
        .map_err(|e| e.to_string())?
    {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the interpreter did not answer within 180 s".into());
        }
    };
    match std::fs::read_to_string(&out) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("the probe's answer: {e}")),
        Err(_) => {
            let said = std::fs::read_to_string(&err_path).unwrap_or_default();
            let tail: Vec<&str> = said.lines().rev().take(3).collect();
            Err(format!(
                "the interpreter died ({status}){}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(
                        ": {}",
                        tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
                    )
                }
            ))
        }
    }
}

type Side<'a> = (&'a Installed, bool, &'a Probed);

fn assemble(
    project: &Project,
    [gil, ft]: [Side<'_>; 2],
    setups: Vec<(Mode, Result<Setup, String>)>,
) -> Report {
    let interpreters = [gil, ft]
        .iter()
        .map(|(env, cached, _)| Env {
            flavour: env.flavour,
            version: env.version.clone(),
            interpreter: env.interpreter.clone(),
            venv: env.dir.join("venv"),
            from_cache: *cached,
        })
        .collect();
    // Which distributions the app imports: from the first set-up that got through.
    let imported: Option<BTreeSet<String>> = setups.iter().find_map(|(_, s)| match s {
        Ok(s) if s.error.is_none() && s.crashed.is_none() => {
            Some(s.imported_distributions.iter().cloned().collect())
        }
        _ => None,
    });
    let failed_names = gil.0.failed.iter().chain(&ft.0.failed).map(|f| f.name());
    let names: BTreeSet<String> = gil
        .0
        .packages
        .iter()
        .chain(&ft.0.packages)
        .map(|p| p.name.clone())
        .chain(failed_names)
        .collect();
    let reference = gil.2.imports.get("main");
    let packages: Vec<PackageRow> = names
        .into_iter()
        .map(|name| {
            let name = &name;
            let find = |env: &Installed| env.packages.iter().find(|p| &p.name == name).cloned();
            let how = |env: &Installed, p: &Option<install::Package>| match p {
                Some(p) => Some(p.how.clone()),
                None => env
                    .failed
                    .iter()
                    .find(|f| &f.name() == name)
                    .map(|f| How::Failed {
                        reason: f.reason.clone(),
                    }),
            };
            let (g, f) = (find(gil.0), find(ft.0));
            let info = gil
                .2
                .dists
                .get(name)
                .or_else(|| ft.2.dists.get(name))
                .cloned()
                .flatten();
            let reference = reference.and_then(|r| r.get(name));
            let verdict = |side: &Side<'_>, place: &str, installed: &Option<install::Package>| {
                if installed.is_none() {
                    return Verdict::NotInstalled {
                        reason: not_installed(side.0, name),
                    };
                }
                match side.2.imports.get(place).and_then(|m| m.get(name)) {
                    None => Verdict::Loads,
                    Some(answer) => judge(answer, reference),
                }
            };
            PackageRow {
                name: name.clone(),
                version: g
                    .as_ref()
                    .or(f.as_ref())
                    .map(|p| p.version.clone())
                    .unwrap_or_default(),
                install_gil: how(gil.0, &g),
                install_free_threaded: how(ft.0, &f),
                modules: info
                    .as_ref()
                    .map(|i| i.top_level.clone())
                    .unwrap_or_default(),
                extension_modules: info.map(|i| i.extension_modules).unwrap_or_default(),
                imported_by_app: imported.as_ref().map(|s| s.contains(name)),
                gunicorn_celery: verdict(&gil, "main", &g),
                subinterpreters: verdict(&gil, "subinterpreter", &g),
                free_threaded: verdict(&ft, "main", &f),
            }
        })
        .collect();
    let modes = setups
        .into_iter()
        .map(|(mode, setup)| {
            let env = if mode == Mode::FreeThreaded {
                ft.0
            } else {
                gil.0
            };
            let blocking: Vec<String> = packages
                .iter()
                .filter(|p| p.imported_by_app != Some(false) && p.verdict(mode).is_problem())
                .map(|p| p.name.clone())
                .collect();
            let (reason, traceback) = match setup {
                Err(e) => (
                    Some(format!("the project's set-up could not run: {e}")),
                    None,
                ),
                Ok(s) => match (&s.crashed, &s.error, &s.gil_turned_on) {
                    (Some(c), _, _) => (Some(format!("the project's set-up failed: {c}")), None),
                    (None, Some(e), _) => (
                        Some(format!(
                            "{} failed: {}: {}",
                            e.step,
                            e.kind,
                            headline(&e.message)
                        )),
                        s.traceback.clone(),
                    ),
                    (None, None, Some(c)) => (
                        Some(format!(
                            "setting the project up turned the GIL back on{}; djbench will \
                             not serve free_threaded with the GIL on",
                            c.module
                                .as_ref()
                                .map(|m| format!(" (module '{m}')"))
                                .unwrap_or_default()
                        )),
                        None,
                    ),
                    (None, None, None) => (None, None),
                },
            };
            ModeVerdict {
                mode,
                interpreter: format!("{} {}", env.flavour, env.version),
                can_run: reason.is_none(),
                reason,
                blocking,
                traceback,
            }
        })
        .collect();
    Report {
        project: project.dir.clone(),
        settings: project.settings.clone(),
        requirements: project.requirements.path().to_owned(),
        interpreters,
        packages,
        modes,
    }
}

fn not_installed(env: &Installed, name: &str) -> String {
    env.failed
        .iter()
        .find(|f| f.name() == name)
        .map(|f| format!("{}: {}", f.requirement, f.reason))
        .unwrap_or_else(|| format!("pip did not install it for {}", env.flavour))
}

/// One distribution's import answer, judged against the plain GIL process's (the reference).
fn judge(answer: &Result<Imports, String>, reference: Option<&Result<Imports, String>>) -> Verdict {
    let answer = match answer {
        Err(e) => {
            return Verdict::Fails {
                module: "(its modules)".into(),
                error: e.clone(),
            };
        }
        Ok(a) => a,
    };
    if let Some(c) = &answer.crashed {
        return Verdict::Fails {
            module: "(its modules)".into(),
            error: c.to_string(),
        };
    }
    let fails_alone = |module: &str| {
        reference.and_then(|r| r.as_ref().ok()).is_some_and(|r| {
            r.imports
                .iter()
                .any(|i| i.module == module && i.error.is_some())
        })
    };
    // The first failure a plain process does not share is the mode's; one it shares is the
    // package's own.
    let failures: Vec<&Import> = answer
        .imports
        .iter()
        .filter(|i| i.error.is_some())
        .collect();
    if let Some(i) = failures.iter().find(|i| !fails_alone(&i.module)) {
        return Verdict::Fails {
            module: i.module.clone(),
            error: i
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        };
    }
    if let Some(c) = &answer.gil_turned_on {
        return Verdict::GilOn {
            module: c.module.clone().unwrap_or_else(|| c.by_import.clone()),
            by_import: c.by_import.clone(),
            warning: c.warning.clone(),
        };
    }
    if let Some(i) = failures.first() {
        return Verdict::Inconclusive {
            module: i.module.clone(),
            error: i
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        };
    }
    Verdict::Loads
}

#[cfg(test)]
mod tests {
    use super::headline;

    #[test]
    fn a_headline_is_the_line_that_says_what_happened() {
        let numpy = "ImportError: \n\nIMPORTANT: PLEASE READ THIS\n\nOriginal error was: module \
                     numpy._core._multiarray_umath does not support loading in subinterpreters\n";
        assert_eq!(
            headline(numpy),
            "ImportError: module numpy._core._multiarray_umath does not support loading in \
             subinterpreters"
        );
        assert_eq!(
            headline("ImportError: no module x"),
            "ImportError: no module x"
        );
        assert_eq!(headline("first\nsecond"), "first …");
    }
}
