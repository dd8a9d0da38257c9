//! Which Python runs each flavour, and why that one: probing a candidate by running it, the
//! checks a flavour demands of it (version, GIL state observed live), and the resolution order
//! (explicit, on PATH, uv, provisioned). It finds interpreters; it never builds one.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cache::Cache;
use super::steps::capture;

/// What a deployment needs of its interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavour {
    /// CPython 3.14 with the GIL.
    Gil,
    /// A free-threaded CPython (3.14t preferred, 3.13t accepted) whose GIL is off.
    FreeThreaded,
    /// The GIL build of the free-threaded interpreter's own source: a fair A/B of the GIL.
    GilTwin,
}

impl Flavour {
    pub const fn name(self) -> &'static str {
        match self {
            Flavour::Gil => "gil",
            Flavour::FreeThreaded => "free_threaded",
            Flavour::GilTwin => "gil_twin",
        }
    }

    /// The variable that names an interpreter explicitly.
    pub const fn env_var(self) -> &'static str {
        match self {
            Flavour::Gil => "DJBENCH_PYTHON",
            Flavour::FreeThreaded => "DJBENCH_PYTHON_FT",
            Flavour::GilTwin => "DJBENCH_PYTHON_GIL_TWIN",
        }
    }

    /// Executable names looked for on PATH, preferred first.
    const fn path_names(self) -> &'static [&'static str] {
        match self {
            Flavour::Gil => &["python3.14"],
            Flavour::FreeThreaded => &["python3.14t", "python3.13t"],
            Flavour::GilTwin => &[],
        }
    }

    /// Requests for `uv python find/install`, preferred first.
    const fn uv_requests(self) -> &'static [&'static str] {
        match self {
            Flavour::Gil => &["3.14"],
            Flavour::FreeThreaded => &["3.14t", "3.13t"],
            Flavour::GilTwin => &[],
        }
    }

    /// Why `facts` do not fit this flavour, or None when they do.
    pub fn refuse(self, facts: &Facts) -> Option<String> {
        let minor = (facts.version_info.first(), facts.version_info.get(1));
        match self {
            Flavour::Gil => {
                if facts.free_threaded_build {
                    Some("a free-threaded build, not a GIL build".into())
                } else if minor != (Some(&3), Some(&14)) {
                    Some(format!("CPython {} is not 3.14", facts.version))
                } else if !facts.gil_enabled {
                    Some("the GIL is off".into())
                } else {
                    None
                }
            }
            Flavour::FreeThreaded => {
                if !facts.free_threaded_build {
                    Some("not a free-threaded build (Py_GIL_DISABLED is not set)".into())
                } else if facts.gil_enabled {
                    Some(
                        "the GIL is on: sys._is_gil_enabled() returned True (is PYTHON_GIL=1 set?)"
                            .into(),
                    )
                } else if minor < (Some(&3), Some(&13)) {
                    Some(format!("CPython {} is older than 3.13", facts.version))
                } else {
                    None
                }
            }
            Flavour::GilTwin => {
                if facts.free_threaded_build || !facts.gil_enabled {
                    Some("a GIL twin must be a GIL build".into())
                } else {
                    None
                }
            }
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The configure options of a build that can change its speed (`--enable-optimizations`,
/// `--with-lto`, …), sorted: install paths, ensurepip and `--disable-gil` left out, so that a
/// GIL twin has the same options as its free-threaded build.
pub fn speed_options(config_args: &str) -> Vec<String> {
    let mut o: Vec<String> = config_args
        .split_whitespace()
        .map(|t| t.trim_matches('\'').to_owned())
        .filter(|t| t.starts_with("--"))
        .filter(|t| {
            ![
                "--prefix",
                "--libdir",
                "--with-ensurepip",
                "--without-ensurepip",
                "--disable-gil",
            ]
            .iter()
            .any(|skip| t.starts_with(skip))
        })
        .collect();
    o.sort();
    o.dedup();
    o
}

/// What a candidate says about itself when run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub version: String,
    pub version_info: Vec<u32>,
    pub implementation: String,
    /// `sys._is_gil_enabled()` observed at run time (True before 3.13).
    pub gil_enabled: bool,
    /// `Py_GIL_DISABLED` from the build configuration.
    pub free_threaded_build: bool,
    /// `sysconfig`'s CONFIG_ARGS: how it was built.
    pub config_args: String,
    pub executable: String,
}

const PROBE: &str = r#"
import json, sys, sysconfig
print(json.dumps({
    "version": sys.version.split()[0],
    "version_info": list(sys.version_info[:3]),
    "implementation": sys.implementation.name,
    "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
    "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "config_args": sysconfig.get_config_var("CONFIG_ARGS") or "",
    "executable": sys.executable,
}))
"#;

/// Runs `python` and reads its facts. Never with `-X gil=0`: that would hide a GIL that an
/// import turns back on.
pub fn probe(python: &Path) -> Result<Facts, String> {
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(PROBE);
    let out = capture(&mut cmd, Duration::from_secs(20))?;
    let last = out.lines().last().unwrap_or("");
    serde_json::from_str(last).map_err(|_| {
        let said = out.lines().next().unwrap_or("").trim();
        format!("it does not answer like CPython (said: {said:?})")
    })
}

/// The rule that found an interpreter, in resolution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `DJBENCH_PYTHON*` or a path in the scenario.
    Explicit,
    /// `python3.14` / `python3.14t` / `python3.13t` on PATH.
    Path,
    UvFind,
    UvInstall,
    /// Provisioned into djbench's cache by `setup`.
    Provisioned,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Explicit => "explicit",
            Rule::Path => "path",
            Rule::UvFind => "uv_find",
            Rule::UvInstall => "uv_install",
            Rule::Provisioned => "provisioned",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interpreter {
    pub flavour: Flavour,
    pub path: PathBuf,
    pub facts: Facts,
    pub source: Rule,
    /// Where exactly the rule found it, in words.
    pub origin: String,
}

/// A candidate that was looked at and turned down, with why.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub path: PathBuf,
    pub rule: Rule,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Resolution {
    pub chosen: Option<Interpreter>,
    pub rejected: Vec<Rejected>,
    /// An explicit choice was refused: nothing else is tried, the user must fix it.
    pub explicit_refused: bool,
}

/// The record a provisioned interpreter's tree carries when complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provisioned {
    pub flavour: Flavour,
    pub python: PathBuf,
    pub version: String,
    pub how: String,
}

impl Provisioned {
    /// Runs a freshly provisioned interpreter, checks it fits `flavour`, and marks its tree
    /// complete: the last step of every way of provisioning one.
    pub fn verify_and_mark(
        tree: &Path,
        python: PathBuf,
        flavour: Flavour,
        what: &str,
        how: impl FnOnce(&Facts) -> String,
    ) -> Result<PathBuf, super::steps::ProvisionError> {
        use super::steps::ProvisionError;
        let facts = probe(&python).map_err(|reason| {
            ProvisionError::new(format!("the new {what} does not run"), reason)
        })?;
        if let Some(reason) = flavour.refuse(&facts) {
            return Err(ProvisionError::new(
                format!("the new {what} is unusable"),
                reason,
            ));
        }
        let record = Provisioned {
            flavour,
            python: python.clone(),
            version: facts.version.clone(),
            how: how(&facts),
        };
        Cache::mark_complete(tree, &record)
            .map_err(|e| ProvisionError::io("cannot mark it complete", e))?;
        Ok(python)
    }
}

/// Where to look: the environment as values, so tests can stage their own.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub path_var: Option<OsString>,
    pub explicit: HashMap<Flavour, PathBuf>,
    pub cache: Cache,
    /// Whether `uv python install` may be tried (it downloads).
    pub uv_install: bool,
}

impl Lookup {
    pub fn from_env(cache: Cache) -> Self {
        let explicit = [Flavour::Gil, Flavour::FreeThreaded, Flavour::GilTwin]
            .into_iter()
            .filter_map(|f| {
                std::env::var_os(f.env_var())
                    .filter(|v| !v.is_empty())
                    .map(|v| (f, PathBuf::from(v)))
            })
            .collect();
        Self {
            path_var: std::env::var_os("PATH"),
            explicit,
            cache,
            uv_install: true,
        }
    }

    /// Executable files called `name` on PATH, in PATH order.
    pub fn on_path(&self, name: &str) -> Vec<PathBuf> {
        let Some(path) = &self.path_var else {
            return Vec::new();
        };
        std::env::split_paths(path)
            .map(|dir| dir.join(name))
            .filter(|p| is_executable(p))
            .collect()
    }

    /// Provisioned trees in the cache for `flavour`, newest version first.
    pub fn provisioned(&self, flavour: Flavour) -> Vec<Provisioned> {
        let mut found: Vec<Provisioned> = std::fs::read_dir(self.cache.dir("python"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| Cache::completed::<Provisioned>(&e.path()))
            .filter(|p| p.flavour == flavour)
            .collect();
        found.sort_by(|a, b| super::apt::debian_version_cmp(&b.version, &a.version));
        found
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// An interpreter named by path in a scenario: probed, and given the flavour its build says
/// (3.14 with the GIL, or free-threaded) so it gets the right pins.
pub fn from_path(path: &Path) -> Result<Interpreter, String> {
    let facts = probe(path)?;
    let flavour = if facts.free_threaded_build {
        Flavour::FreeThreaded
    } else {
        Flavour::Gil
    };
    // A free-threaded build may run with the GIL on by choice (PYTHON_GIL=1): the scenario
    // asked for this interpreter, and /_djbench/env reports what it observes.
    if let Some(reason) = flavour.refuse(&facts).filter(|_| flavour == Flavour::Gil) {
        return Err(format!("{}: {reason}", path.display()));
    }
    Ok(Interpreter {
        flavour,
        path: path.to_owned(),
        origin: "a path in the scenario".into(),
        source: Rule::Explicit,
        facts,
    })
}

/// Finds the interpreter for `flavour`: the first rule whose candidate passes wins.
pub fn resolve(flavour: Flavour, lookup: &Lookup) -> Resolution {
    let mut res = Resolution::default();
    let consider =
        |res: &mut Resolution, path: PathBuf, rule: Rule, origin: String| match probe(&path) {
            Ok(facts) => match flavour.refuse(&facts) {
                None => {
                    res.chosen = Some(Interpreter {
                        flavour,
                        path,
                        facts,
                        source: rule,
                        origin,
                    });
                    true
                }
                Some(reason) => {
                    res.rejected.push(Rejected { path, rule, reason });
                    false
                }
            },
            Err(reason) => {
                res.rejected.push(Rejected { path, rule, reason });
                false
            }
        };

    if let Some(path) = lookup.explicit.get(&flavour) {
        if !consider(
            &mut res,
            path.clone(),
            Rule::Explicit,
            format!("${}", flavour.env_var()),
        ) {
            res.explicit_refused = true;
        }
        return res;
    }
    for name in flavour.path_names() {
        for path in lookup.on_path(name) {
            if consider(&mut res, path, Rule::Path, format!("{name} on PATH")) {
                return res;
            }
        }
    }
    if let Some(uv) = lookup.on_path("uv").into_iter().next() {
        for request in flavour.uv_requests() {
            let found = capture(
                Command::new(&uv).args(["python", "find", request]),
                Duration::from_secs(20),
            );
            if let Ok(out) = found {
                let path = PathBuf::from(out.trim());
                if consider(
                    &mut res,
                    path,
                    Rule::UvFind,
                    format!("uv python find {request}"),
                ) {
                    return res;
                }
            }
        }
        if lookup.uv_install {
            for request in flavour.uv_requests() {
                let installed = capture(
                    Command::new(&uv).args(["python", "install", request]),
                    Duration::from_secs(120),
                )
                .and_then(|_| {
                    capture(
                        Command::new(&uv).args(["python", "find", request]),
                        Duration::from_secs(20),
                    )
                });
                match installed {
                    Ok(out) => {
                        let path = PathBuf::from(out.trim());
                        let origin = format!("uv python install {request}");
                        if consider(&mut res, path, Rule::UvInstall, origin) {
                            return res;
                        }
                    }
                    Err(reason) => res.rejected.push(Rejected {
                        path: uv.clone(),
                        rule: Rule::UvInstall,
                        reason: format!("uv python install {request}: {reason}"),
                    }),
                }
            }
        }
    }
    for p in lookup.provisioned(flavour) {
        let origin = p.how.clone();
        if consider(&mut res, p.python, Rule::Provisioned, origin) {
            return res;
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake interpreter: a script that prints chosen facts whatever it is asked.
    fn fake(dir: &Path, name: &str, version: &str, ft_build: bool, gil: bool) -> PathBuf {
        let parts: Vec<&str> = version.split('.').collect();
        let facts = format!(
            r#"{{"version": "{version}", "version_info": [{}], "implementation": "cpython", "gil_enabled": {gil}, "free_threaded_build": {ft_build}, "config_args": "'--fake'", "executable": "{}"}}"#,
            parts.join(", "),
            dir.join(name).display()
        );
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho '{facts}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A dead pyenv-style shim: on PATH, but running it only prints an error.
    fn shim(dir: &Path, name: &str) {
        let path = dir.join(name);
        std::fs::write(
            &path,
            "#!/bin/sh\necho \"pyenv: $0: command not found\" >&2\nexit 127\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn lookup(path_dirs: &[&Path], cache: &Path) -> Lookup {
        Lookup {
            path_var: Some(std::env::join_paths(path_dirs).unwrap()),
            explicit: HashMap::new(),
            cache: Cache::at(cache),
            uv_install: false,
        }
    }

    #[test]
    fn an_explicit_interpreter_wins_over_path() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), "python3.14", "3.14.1", false, true);
        let mine = fake(tmp.path(), "mine", "3.14.9", false, true);
        let mut l = lookup(&[tmp.path()], tmp.path());
        l.explicit.insert(Flavour::Gil, mine.clone());
        let r = resolve(Flavour::Gil, &l);
        let chosen = r.chosen.unwrap();
        assert_eq!((chosen.path, chosen.source), (mine, Rule::Explicit));
        assert_eq!(chosen.facts.version, "3.14.9");
    }

    #[test]
    fn a_refused_explicit_choice_stops_the_search_with_its_reason() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), "python3.14t", "3.14.1", true, false);
        let gil_build = fake(tmp.path(), "mine", "3.14.1", false, true);
        let mut l = lookup(&[tmp.path()], tmp.path());
        l.explicit.insert(Flavour::FreeThreaded, gil_build);
        let r = resolve(Flavour::FreeThreaded, &l);
        assert!(r.chosen.is_none() && r.explicit_refused);
        assert!(r.rejected[0].reason.contains("not a free-threaded build"));
    }

    #[test]
    fn dead_shims_on_path_are_skipped_for_a_later_real_interpreter() {
        let shims = tempfile::tempdir().unwrap();
        let real = tempfile::tempdir().unwrap();
        shim(shims.path(), "python3.14");
        let python = fake(real.path(), "python3.14", "3.14.2", false, true);
        let r = resolve(
            Flavour::Gil,
            &lookup(&[shims.path(), real.path()], real.path()),
        );
        assert_eq!(r.chosen.unwrap().path, python);
        assert_eq!(r.rejected.len(), 1);
        assert!(r.rejected[0].reason.contains("exited"), "{:?}", r.rejected);
    }

    #[test]
    fn a_free_threaded_candidate_whose_gil_is_on_is_rejected_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), "python3.14t", "3.14.0", true, true);
        let r = resolve(Flavour::FreeThreaded, &lookup(&[tmp.path()], tmp.path()));
        assert!(r.chosen.is_none());
        assert!(
            r.rejected[0].reason.contains("the GIL is on"),
            "{:?}",
            r.rejected
        );
    }

    #[test]
    fn python3_14t_is_preferred_over_python3_13t() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), "python3.13t", "3.13.5", true, false);
        let want = fake(tmp.path(), "python3.14t", "3.14.0", true, false);
        let r = resolve(Flavour::FreeThreaded, &lookup(&[tmp.path()], tmp.path()));
        assert_eq!(r.chosen.unwrap().path, want);
    }

    #[test]
    fn a_gil_build_of_the_wrong_version_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), "python3.14", "3.13.1", false, true);
        let r = resolve(Flavour::Gil, &lookup(&[tmp.path()], tmp.path()));
        assert!(r.chosen.is_none());
        assert!(r.rejected[0].reason.contains("is not 3.14"));
    }

    #[test]
    fn provisioned_interpreters_come_last_and_need_their_marker() {
        let path_dir = tempfile::tempdir().unwrap();
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(cache_dir.path());
        let tree = cache.dir("python/cpython-3.13.15t");
        std::fs::create_dir_all(&tree).unwrap();
        let python = fake(&tree, "python3.13t", "3.13.15", true, false);
        let l = lookup(&[path_dir.path()], cache_dir.path());
        assert!(
            resolve(Flavour::FreeThreaded, &l).chosen.is_none(),
            "unmarked tree used"
        );
        let record = Provisioned {
            flavour: Flavour::FreeThreaded,
            python: python.clone(),
            version: "3.13.15".into(),
            how: "built from source".into(),
        };
        Cache::mark_complete(&tree, &record).unwrap();
        let chosen = resolve(Flavour::FreeThreaded, &l).chosen.unwrap();
        assert_eq!((chosen.path, chosen.source), (python, Rule::Provisioned));

        // Something on PATH still wins over the cache.
        let on_path = fake(path_dir.path(), "python3.13t", "3.13.9", true, false);
        assert_eq!(
            resolve(Flavour::FreeThreaded, &l).chosen.unwrap().path,
            on_path
        );
    }
}
