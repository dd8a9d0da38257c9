//! The throwaway virtualenvs `check` installs a project's requirements into: one per
//! interpreter, in the cache's `check/` folder, keyed by the interpreter, the project's
//! directory, its requirements' text and the probe, so checking the same requirements again
//! reuses them. How each distribution got there (a wheel, built from source, or it failed)
//! comes from pip's own installation report (`pip install --report`). pip runs inside the venv:
//! the user's environment is never touched. It imports nothing of the project.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::project::{Project, Requirements};
use crate::provision::python::Interpreter;
use crate::provision::steps::{ProvisionError, Step};
use crate::provision::{Cache, Flavour, Ui, venv};

/// The probe, written beside each venv (a subinterpreter imports it by name).
pub const PROBE: &str = include_str!("probe.py");

/// Bumped when the way check venvs are built changes.
const LAYOUT: u32 = 1;

/// One interpreter's venv with the project's requirements in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Installed {
    pub flavour: Flavour,
    pub interpreter: PathBuf,
    pub version: String,
    pub dir: PathBuf,
    pub python: PathBuf,
    /// The project's folder (None in venvs made before it was recorded).
    #[serde(default)]
    pub project: Option<PathBuf>,
    pub packages: Vec<Package>,
    /// Requirement lines that did not install, with pip's reason.
    pub failed: Vec<Failed>,
}

impl Installed {
    pub fn probe(&self) -> PathBuf {
        self.dir.join("probe.py")
    }
}

/// A distribution pip installed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Package {
    /// Canonical name (lower case, `-` for runs of `-_.`).
    pub name: String,
    pub version: String,
    pub how: How,
}

/// How a distribution was installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum How {
    /// From a pre-built wheel (its file name).
    Wheel { file: String },
    /// Built here from a source distribution or a directory.
    Source { from: String },
    /// pip could not install it (the last lines pip printed).
    Failed { reason: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failed {
    pub requirement: String,
    pub reason: String,
}

impl Failed {
    /// The distribution a requirement line names: `numpy>=2` → numpy, `../pkg` → pkg.
    pub fn name(&self) -> String {
        let line = self.requirement.trim_end_matches('/');
        let line = if line.contains('/') && !line.contains(" @ ") {
            line.rsplit('/').next().unwrap_or(line)
        } else {
            line
        };
        let end = line
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(line.len());
        canonical(&line[..end])
    }
}

/// The venv for `interp`, made when it is not in the cache; `true` when it came from the
/// cache.
pub fn prepare(
    cache: &Cache,
    ui: &Ui,
    interp: &Interpreter,
    project: &Project,
) -> Result<(Installed, bool), ProvisionError> {
    let listed = std::fs::read_to_string(project.requirements.path()).map_err(|e| {
        ProvisionError::io(
            format!("cannot read {}", project.requirements.path().display()),
            e,
        )
    })?;
    let key = venv::key(
        interp,
        &format!("{LAYOUT}\0{}\0{listed}\0{PROBE}", project.dir.display()),
    );
    let dir = cache
        .dir("check")
        .join(format!("{}-{}-{key}", interp.flavour, interp.facts.version));
    if let Some(done) = Cache::completed::<Installed>(&dir) {
        return Ok((done, true));
    }
    let log = cache
        .log_for("check", &dir)
        .map_err(|e| ProvisionError::io("cannot write logs", e))?;
    let title = format!(
        "the project's requirements into a throwaway virtualenv of {} {}",
        interp.flavour, interp.facts.version
    );
    let installed = ui.step(&title, |step| build(step, interp, project, &dir, &log))?;
    Cache::mark_complete(&dir, &installed)
        .map_err(|e| ProvisionError::io("cannot mark the check venv complete", e))?;
    venv::prune_orphans::<Installed>(&dir, |i| i.project.clone());
    Ok((installed, false))
}

fn build(
    step: &Step,
    interp: &Interpreter,
    project: &Project,
    dir: &Path,
    log: &Path,
) -> Result<Installed, ProvisionError> {
    Cache::remove_tree(dir).map_err(|e| ProvisionError::io("cannot clear a half-built venv", e))?;
    std::fs::create_dir_all(dir).map_err(|e| ProvisionError::io("cannot create the venv", e))?;
    std::fs::write(dir.join("probe.py"), PROBE)
        .map_err(|e| ProvisionError::io("cannot write the probe", e))?;
    let env = dir.join("venv");
    // pip, not uv: only pip reports how it installed each distribution (--report).
    venv::make_venv(step, &interp.path, &env, log)?;
    let python = env.join("bin/python");
    let requirements = match &project.requirements {
        Requirements::File(p) => p.clone(),
        Requirements::Pyproject(p) => {
            let out = dir.join("requirements.txt");
            step.run(
                "read pyproject.toml",
                Command::new(&python)
                    .arg(dir.join("probe.py"))
                    .args(["requirements", "--out"])
                    .arg(&out)
                    .arg(p),
                log,
            )?;
            out
        }
    };
    step.say("pip install");
    let report = dir.join("report.json");
    let whole = pip(&python, &project.dir, &report)
        .arg("-r")
        .arg(&requirements)
        .output()
        .map_err(|e| ProvisionError::io("cannot start pip", e))?;
    append(log, &whole);
    let mut packages = Vec::new();
    let mut failed = Vec::new();
    if whole.status.success() {
        packages.extend(read_report(&report)?);
    } else {
        // One requirement that cannot install fails pip as a whole: then each line alone, so
        // the rest still gets its verdict.
        let text = std::fs::read_to_string(&requirements)
            .map_err(|e| ProvisionError::io("cannot read the requirements", e))?;
        for (n, line) in lines(&text).into_iter().enumerate() {
            step.say(&format!("pip install {line}"));
            let report = dir.join(format!("report-{n}.json"));
            let one = pip(&python, &project.dir, &report)
                .arg(&line)
                .output()
                .map_err(|e| ProvisionError::io("cannot start pip", e))?;
            append(log, &one);
            if one.status.success() {
                packages.extend(read_report(&report)?);
            } else {
                failed.push(Failed {
                    requirement: line,
                    reason: pip_reason(&String::from_utf8_lossy(&one.stderr)),
                });
            }
        }
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    packages.dedup_by(|a, b| a.name == b.name);
    Ok(Installed {
        flavour: interp.flavour,
        interpreter: interp.path.clone(),
        version: interp.facts.version.clone(),
        dir: dir.to_owned(),
        python,
        project: Some(project.dir.clone()),
        packages,
        failed,
    })
}

fn pip(python: &Path, cwd: &Path, report: &Path) -> Command {
    let mut cmd = venv::pip_install(python);
    // Relative paths in a requirements file are the project's: pip reads them from the
    // working directory.
    cmd.current_dir(cwd)
        .arg("--report")
        .arg(report)
        .stdin(Stdio::null());
    cmd
}

fn append(log: &Path, out: &std::process::Output) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = f.write_all(&out.stdout);
        let _ = f.write_all(&out.stderr);
    }
}

/// The requirement lines of a requirements file: no comments, no options.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split(" #").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('-'))
        .map(str::to_owned)
        .collect()
}

/// What pip said went wrong: its error lines, or its last lines.
fn pip_reason(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("ERROR:") || l.starts_with("error:"))
        .collect();
    let chosen = if errors.is_empty() {
        &lines[lines.len().saturating_sub(3)..]
    } else {
        &errors[..]
    };
    chosen.join(" / ")
}

#[derive(Deserialize)]
struct Report {
    install: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    download_info: DownloadInfo,
    metadata: Metadata,
}

#[derive(Deserialize)]
struct DownloadInfo {
    url: String,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
    version: String,
}

fn read_report(path: &Path) -> Result<Vec<Package>, ProvisionError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ProvisionError::io(format!("cannot read {}", path.display()), e))?;
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        ProvisionError::new(
            format!("pip's report {}", path.display()),
            format!("unexpected shape: {e}"),
        )
    })?;
    Ok(report
        .install
        .into_iter()
        .map(|i| {
            let file = i
                .download_info
                .url
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned();
            let how = if file.ends_with(".whl") {
                How::Wheel { file }
            } else {
                How::Source {
                    from: i.download_info.url,
                }
            };
            Package {
                name: canonical(&i.metadata.name),
                version: i.metadata.version,
                how,
            }
        })
        .collect())
}

/// A distribution's canonical name (PEP 503).
pub fn canonical(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_canonical_and_pip_errors_are_kept() {
        assert_eq!(canonical("Pydantic_Core"), "pydantic-core");
        assert_eq!(canonical("jaraco.functools"), "jaraco-functools");
        let failed = |r: &str| Failed {
            requirement: r.into(),
            reason: String::new(),
        };
        assert_eq!(failed("numpy[dev]>=2; python_version>'3'").name(), "numpy");
        assert_eq!(failed("../../gilforcer").name(), "gilforcer");
        assert_eq!(failed("Pydantic_Core==2.41.4").name(), "pydantic-core");
        assert_eq!(
            lines("# pins\nDjango==6.1.3  # web\n-r other.txt\n\n../gilforcer\n"),
            ["Django==6.1.3", "../gilforcer"]
        );
        let said = "Collecting x\n  error: subprocess-exited-with-error\nERROR: Failed building wheel for x\n";
        assert_eq!(
            pip_reason(said),
            "error: subprocess-exited-with-error / ERROR: Failed building wheel for x"
        );
    }
}
