//! One virtualenv per interpreter, built from the pinned requirement files in
//! `django_sample/requirements/`, cached under a key of interpreter + requirements: a changed
//! pin (or another interpreter) makes a new one, nothing else does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cache::Cache;
use super::python::{Flavour, Interpreter};
use super::steps::{ProvisionError, Step, Ui, capture};

/// Bumped when the way venvs are built changes, so old ones are not reused.
const LAYOUT: u32 = 1;

pub fn requirements_dir() -> PathBuf {
    crate::assets::sample_dir().join("requirements")
}

/// The requirement file for an interpreter: the twin takes its free-threaded sibling's pins,
/// so an A/B differs only in the GIL.
pub fn requirements_for(interp: &Interpreter) -> PathBuf {
    let minor = interp.facts.version_info.get(1).copied().unwrap_or(0);
    let file = match (interp.flavour, minor) {
        (Flavour::Gil, _) => "gil.txt",
        (Flavour::FreeThreaded | Flavour::GilTwin, 13) => "free_threaded-3.13.txt",
        (Flavour::FreeThreaded | Flavour::GilTwin, _) => "free_threaded.txt",
    };
    requirements_dir().join(file)
}

/// The cache key: what the interpreter is and what the requirements say.
pub fn key(interp: &Interpreter, requirements: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        &LAYOUT.to_string(),
        &interp.path.display().to_string(),
        &interp.facts.version,
        &interp.facts.config_args,
        requirements,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// What a finished venv records about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Venv {
    pub flavour: Flavour,
    pub path: PathBuf,
    pub python: PathBuf,
    pub interpreter: PathBuf,
    pub requirements: PathBuf,
    pub packages: BTreeMap<String, String>,
}

/// Where the venv for `interp` lives, and whether it is ready.
pub fn locate(
    cache: &Cache,
    interp: &Interpreter,
) -> Result<(PathBuf, Option<Venv>), ProvisionError> {
    let req = requirements_for(interp);
    let text = std::fs::read_to_string(&req)
        .map_err(|e| ProvisionError::io(format!("cannot read {}", req.display()), e))?;
    let dir = cache.dir("venvs").join(format!(
        "{}-{}-{}",
        interp.flavour,
        interp.facts.version,
        key(interp, &text)
    ));
    let ready = Cache::completed::<Venv>(&dir);
    Ok((dir, ready))
}

pub fn ensure(cache: &Cache, ui: &Ui, interp: &Interpreter) -> Result<Venv, ProvisionError> {
    let (dir, ready) = locate(cache, interp)?;
    if let Some(venv) = ready {
        return Ok(venv);
    }
    let req = requirements_for(interp);
    let log = cache
        .log_for("venv", &dir)
        .map_err(|e| ProvisionError::io("cannot write logs", e))?;
    let title = format!(
        "virtualenv for {} {} from {}",
        interp.flavour,
        interp.facts.version,
        req.file_name().unwrap_or_default().to_string_lossy()
    );
    ui.step(&title, |step| {
        // A venv bakes its own path into scripts, so it is built in place; the marker,
        // written last, is what makes it count.
        Cache::remove_tree(&dir)
            .map_err(|e| ProvisionError::io("cannot clear a half-built venv", e))?;
        let uv = which("uv");
        match &uv {
            Some(uv) => step.run(
                "uv venv",
                Command::new(uv)
                    .args(["venv", "--python"])
                    .arg(&interp.path)
                    .arg(&dir),
                &log,
            )?,
            None => make_venv(step, &interp.path, &dir, &log)?,
        }
        let python = dir.join("bin/python");
        match &uv {
            Some(uv) => step.run(
                "uv pip install",
                Command::new(uv)
                    .args(["pip", "install", "--python"])
                    .arg(&python)
                    .arg("-r")
                    .arg(&req),
                &log,
            )?,
            None => step.run(
                "pip install",
                pip_install(&python).arg("-r").arg(&req),
                &log,
            )?,
        }
        let packages = installed_packages(&python)?;
        let venv = Venv {
            flavour: interp.flavour,
            path: dir.clone(),
            python,
            interpreter: interp.path.clone(),
            requirements: req.clone(),
            packages,
        };
        Cache::mark_complete(&dir, &venv)
            .map_err(|e| ProvisionError::io("cannot mark the venv complete", e))?;
        prune_superseded(&dir);
        Ok(venv)
    })
}

/// `python -m pip install` as djbench always runs it: no version nag, never a prompt.
pub fn pip_install(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
    ]);
    cmd
}

/// `python -m venv DIR` as a step of `step`.
pub fn make_venv(step: &Step, python: &Path, dir: &Path, log: &Path) -> Result<(), ProvisionError> {
    step.run(
        "python -m venv",
        Command::new(python).args(["-m", "venv"]).arg(dir),
        log,
    )
}

/// The virtualenv a user's project is deployed from (`app:` in a scenario): its requirements
/// (`requirements`, relative paths in it read from `project`), plus djbench's server pins for
/// `interp` except the distributions the project names itself, so its own pins win. Cached
/// under `apps/` by the interpreter and both texts; pip runs inside the venv only.
pub fn ensure_app(
    cache: &Cache,
    ui: &Ui,
    interp: &Interpreter,
    project: &Path,
    requirements: &Path,
) -> Result<Venv, ProvisionError> {
    let theirs = std::fs::read_to_string(requirements)
        .map_err(|e| ProvisionError::io(format!("cannot read {}", requirements.display()), e))?;
    let pins = requirements_for(interp);
    let ours = std::fs::read_to_string(&pins)
        .map_err(|e| ProvisionError::io(format!("cannot read {}", pins.display()), e))?;
    let servers = servers_beside(&ours, &theirs);
    let dir = cache.dir("apps").join(format!(
        "{}-{}-{}",
        interp.flavour,
        interp.facts.version,
        key(
            interp,
            &format!("{}\0{theirs}\0{servers}", project.display())
        )
    ));
    if let Some(venv) = Cache::completed::<Venv>(&dir) {
        return Ok(venv);
    }
    let log = cache
        .log_for("app", &dir)
        .map_err(|e| ProvisionError::io("cannot write logs", e))?;
    let title = format!(
        "virtualenv of the project for {} {} ({} and djbench's servers)",
        interp.flavour,
        interp.facts.version,
        requirements
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
    );
    ui.step(&title, |step| {
        Cache::remove_tree(&dir)
            .map_err(|e| ProvisionError::io("cannot clear a half-built venv", e))?;
        make_venv(step, &interp.path, &dir, &log)?;
        let servers_file = dir.join("djbench-servers.txt");
        std::fs::write(&servers_file, &servers)
            .map_err(|e| ProvisionError::io("cannot write the server pins", e))?;
        let python = dir.join("bin/python");
        // One resolution of both files, so a conflict is pip's clear error, not a broken venv.
        step.run(
            "pip install",
            pip_install(&python)
                .current_dir(project)
                .arg("-r")
                .arg(requirements)
                .arg("-r")
                .arg(&servers_file),
            &log,
        )?;
        let packages = installed_packages(&python)?;
        let venv = Venv {
            flavour: interp.flavour,
            path: dir.clone(),
            python,
            interpreter: interp.path.clone(),
            requirements: requirements.to_owned(),
            packages,
        };
        Cache::mark_complete(&dir, &venv)
            .map_err(|e| ProvisionError::io("cannot mark the venv complete", e))?;
        prune_orphans::<Venv>(&dir, |v| Some(v.requirements.clone()));
        Ok(venv)
    })
}

/// djbench's pinned requirement lines (`ours`) without the distributions `theirs` names.
fn servers_beside(ours: &str, theirs: &str) -> String {
    let named: std::collections::BTreeSet<String> =
        theirs.lines().filter_map(requirement_name).collect();
    ours.lines()
        .filter(|l| requirement_name(l).is_none_or(|n| !named.contains(&n)))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The canonical distribution name a requirement line names (None: a comment, an option, a
/// path or a URL).
fn requirement_name(line: &str) -> Option<String> {
    let line = line.split('#').next()?.trim();
    if line.is_empty() || line.starts_with('-') || line.contains('/') {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let name = &line[..end];
    (!name.is_empty()).then(|| {
        name.to_ascii_lowercase()
            .split(['-', '_', '.'])
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    })
}

/// Removes older venvs of the same flavour and interpreter version (built from other pins):
/// they would never be used again. `dir` is `{flavour}-{version}-{key}`.
fn prune_superseded(dir: &Path) {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str()))
    else {
        return;
    };
    let Some((stem, _key)) = name.rsplit_once('-') else {
        return;
    };
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let other = entry.file_name();
        let other = other.to_string_lossy();
        if other != name && other.rsplit_once('-').is_some_and(|(s, _)| s == stem) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Removes the finished trees beside `dir` whose project is gone (a deleted checkout, a test's
/// temporary copy): each is keyed by its project's path, so nothing would use it again. Left
/// alone: trees without a marker (one may be building), and those whose marker names no
/// project.
pub fn prune_orphans<T: serde::de::DeserializeOwned>(
    dir: &Path,
    project_of: impl Fn(&T) -> Option<PathBuf>,
) {
    let Some(parent) = dir.parent() else { return };
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let other = entry.path();
        if other == dir {
            continue;
        }
        let gone = Cache::completed::<T>(&other)
            .and_then(|t| project_of(&t))
            .is_some_and(|p| !p.exists());
        if gone {
            let _ = std::fs::remove_dir_all(&other);
        }
    }
}

/// Package name → version, as the venv's own metadata says (works with or without pip).
fn installed_packages(python: &Path) -> Result<BTreeMap<String, String>, ProvisionError> {
    let script = "import json, importlib.metadata as m\n\
                  print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))";
    let out = capture(
        Command::new(python).args(["-c", script]),
        Duration::from_secs(60),
    )
    .map_err(|e| ProvisionError::new("list the venv's packages", e))?;
    serde_json::from_str(out.trim())
        .map_err(|e| ProvisionError::new("list the venv's packages", e.to_string()))
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::python::{Facts, Rule};

    #[test]
    fn only_the_finished_trees_of_projects_that_are_gone_are_pruned() {
        #[derive(Serialize, Deserialize)]
        struct Marker {
            project: Option<PathBuf>,
        }
        let cache = tempfile::tempdir().unwrap();
        let live = tempfile::tempdir().unwrap();
        let tree = |name: &str, project: Option<Option<&Path>>| {
            let dir = cache.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            if let Some(project) = project {
                let project = project.map(Path::to_owned);
                Cache::mark_complete(&dir, &Marker { project }).unwrap();
            }
            dir
        };
        let this = tree("this", Some(Some(Path::new("/nowhere/this"))));
        let kept = tree("live", Some(Some(live.path())));
        let gone = tree("gone", Some(Some(Path::new("/nowhere/else"))));
        let building = tree("building", None);
        let unnamed = tree("unnamed", Some(None));
        prune_orphans::<Marker>(&this, |m| m.project.clone());
        for (dir, stays) in [
            (this, true),
            (kept, true),
            (gone, false),
            (building, true),
            (unnamed, true),
        ] {
            assert_eq!(dir.exists(), stays, "{}", dir.display());
        }
    }

    fn interp(path: &str, version: &str) -> Interpreter {
        Interpreter {
            flavour: Flavour::Gil,
            path: path.into(),
            facts: Facts {
                version: version.into(),
                version_info: vec![3, 14, 0],
                implementation: "cpython".into(),
                gil_enabled: true,
                free_threaded_build: false,
                config_args: "'--enable-shared'".into(),
                executable: path.into(),
            },
            source: Rule::Path,
            origin: "test".into(),
        }
    }

    #[test]
    fn the_key_changes_with_a_pin_or_the_interpreter_and_nothing_else() {
        let a = interp("/usr/bin/python3.14", "3.14.0");
        let reqs = "Django==6.1.3\n";
        let base = key(&a, reqs);
        assert_eq!(base, key(&a.clone(), reqs), "the key must be stable");
        assert_ne!(base, key(&a, "Django==6.1.4\n"), "a changed pin");
        assert_ne!(
            base,
            key(&interp("/opt/python3.14", "3.14.0"), reqs),
            "another interpreter"
        );
        assert_ne!(
            base,
            key(&interp("/usr/bin/python3.14", "3.14.1"), reqs),
            "an upgrade"
        );
    }

    #[test]
    fn a_new_venv_replaces_the_ones_it_supersedes_and_no_other() {
        let tmp = tempfile::tempdir().unwrap();
        let make = |n: &str| {
            std::fs::create_dir_all(tmp.path().join(n)).unwrap();
            tmp.path().join(n)
        };
        let new = make("gil-3.14.10-bbbbbb");
        make("gil-3.14.10-aaaaaa");
        make("gil-3.14.9-cccccc");
        make("free_threaded-3.14.10-dddddd");
        prune_superseded(&new);
        let mut left: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "free_threaded-3.14.10-dddddd",
                "gil-3.14.10-bbbbbb",
                "gil-3.14.9-cccccc"
            ]
        );
    }

    #[test]
    fn every_flavour_has_a_requirements_file() {
        let mut twin313 = interp("/x", "3.13.15");
        twin313.flavour = Flavour::GilTwin;
        twin313.facts.version_info = vec![3, 13, 15];
        for i in [interp("/x", "3.14.0"), twin313] {
            let file = requirements_for(&i);
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.contains("Django=="), "{}", file.display());
            for line in text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            {
                assert!(
                    line.contains("=="),
                    "{}: `{line}` is not an exact pin",
                    file.display()
                );
            }
        }
    }

    #[test]
    fn a_project_keeps_its_own_pins_and_gets_the_servers_it_does_not_name() {
        let ours = "# pins\nDjango==6.1.3\ngunicorn==27.0.1\ntyping_extensions==4.16.0\n\
                    psycopg[binary]==3.3.9\n";
        let theirs =
            "django>=5\nTyping-Extensions==4.15 ; python_version>'3'\n../../local\n-r x.txt\n";
        assert_eq!(
            servers_beside(ours, theirs),
            "# pins\ngunicorn==27.0.1\npsycopg[binary]==3.3.9\n"
        );
        assert_eq!(
            requirement_name("psycopg[binary]==3"),
            Some("psycopg".into())
        );
        assert_eq!(requirement_name("  # only a comment"), None);
    }
}
