//! Which Python runs each flavour, and why that one: probing a candidate by running it, the
//! checks a flavour demands of it (version, GIL state observed live), and the resolution order
//! (explicit, on PATH, `uv python find`, then what setup put in the cache: uv's installs before
//! the Debian sysroot and the source build), with a typed reason for every candidate turned
//! down. It finds interpreters; it never installs or builds one.

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
    pub const fn uv_requests(self) -> &'static [&'static str] {
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

/// The route that gave an interpreter, in resolution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `DJBENCH_PYTHON*` or a path in the scenario.
    Explicit,
    /// `python3.14` / `python3.14t` / `python3.13t` on PATH.
    Path,
    /// An interpreter uv manages already (`uv python find`).
    UvFind,
    /// Installed by setup with `uv python install` (python-build-standalone).
    UvInstall,
    /// Debian sid's packages in a private sysroot (the GIL 3.14).
    DebianSysroot,
    /// Compiled from the CPython source the Debian archive serves (free-threaded, GIL twin).
    SourceBuild,
}

impl Rule {
    /// The route in words, as `doctor` names it.
    pub const fn words(self) -> &'static str {
        match self {
            Rule::Explicit => "explicit",
            Rule::Path => "PATH",
            Rule::UvFind => "uv python find",
            Rule::UvInstall => "uv python install",
            Rule::DebianSysroot => "Debian sysroot",
            Rule::SourceBuild => "built from source",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
}

/// Why a route gave nothing, or why its candidate was turned down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Refusal {
    /// Running it failed, or it did not answer like CPython (a dead pyenv shim).
    DoesNotRun(String),
    /// It runs, but is not what the flavour needs (version, build, GIL state).
    Unfit(String),
    /// No uv to run: none on PATH, and none could be installed from PyPI.
    NoUv(String),
    /// uv's download list has nothing for the request.
    NoDownload(String),
    /// uv could not download it (no internet, an unreachable mirror).
    DownloadFailed(String),
    /// Not tried, and why (an earlier download of the same setup had failed).
    NotTried(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::DoesNotRun(d) | Refusal::Unfit(d) => f.write_str(d),
            Refusal::NoUv(d) => write!(f, "no uv: {d}"),
            Refusal::NoDownload(d) => write!(f, "uv has no download for it: {d}"),
            Refusal::DownloadFailed(d) => write!(f, "uv could not download it: {d}"),
            Refusal::NotTried(d) => write!(f, "not tried: {d}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interpreter {
    pub flavour: Flavour,
    pub path: PathBuf,
    pub facts: Facts,
    pub source: Rule,
    /// Where exactly the rule found it, in words (`uv python install 3.14t`, `$DJBENCH_PYTHON`).
    pub origin: String,
}

/// A candidate or a route that was looked at and turned down, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub rule: Rule,
    /// What was tried, in words: `python3.14 on PATH`, `uv python install 3.14t`.
    pub tried: String,
    /// The candidate's path, when the route got as far as one.
    pub path: Option<PathBuf>,
    pub why: Refusal,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{} ({}): {}", self.tried, p.display(), self.why),
            None => write!(f, "{}: {}", self.tried, self.why),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Resolution {
    pub chosen: Option<Interpreter>,
    pub rejected: Vec<Rejected>,
    /// An explicit choice was refused: nothing else is tried, the user must fix it.
    pub explicit_refused: bool,
}

/// The record a provisioned interpreter's tree carries when complete (for uv's installs, a
/// tree holding only this record: uv keeps the interpreter in its own install folder).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provisioned {
    pub flavour: Flavour,
    pub python: PathBuf,
    pub version: String,
    pub how: String,
    /// The route that made it; records written before routes were recorded have none.
    #[serde(default)]
    pub route: Option<Rule>,
    /// The routes tried before this one, and why each gave nothing.
    #[serde(default)]
    pub passed_over: Vec<Rejected>,
}

impl Provisioned {
    pub fn route(&self) -> Rule {
        // Before uv installs were recorded, the cache held only the two Debian routes.
        self.route.unwrap_or(match self.flavour {
            Flavour::Gil => Rule::DebianSysroot,
            Flavour::FreeThreaded | Flavour::GilTwin => Rule::SourceBuild,
        })
    }

    /// Runs a freshly provisioned interpreter, checks it fits `flavour`, and marks its tree
    /// complete with the route that made it and the routes passed over: the last step of every
    /// way of provisioning one.
    pub fn verify_and_mark(
        tree: &Path,
        python: PathBuf,
        flavour: Flavour,
        (route, passed_over): (Rule, &[Rejected]),
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
            route: Some(route),
            passed_over: passed_over.to_vec(),
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
    /// Whether setup may try `uv python install` (it downloads, and may install uv first).
    pub uv_install: bool,
    /// What distribution this is (`ID`, `ID_LIKE`): which package manager to name.
    pub os_release: PathBuf,
    /// The key the Debian routes check the archive's indexes with (absent on Ubuntu until
    /// `debian-archive-keyring` is installed).
    pub debian_keyring: PathBuf,
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
            os_release: PathBuf::from("/etc/os-release"),
            debian_keyring: PathBuf::from(super::apt::KEYRING),
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

    /// Provisioned trees in the cache for `flavour`: by route (uv's installs first), then
    /// newest version first.
    pub fn provisioned(&self, flavour: Flavour) -> Vec<Provisioned> {
        let mut found: Vec<Provisioned> = std::fs::read_dir(self.cache.dir("python"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| Cache::completed::<Provisioned>(&e.path()))
            .filter(|p| p.flavour == flavour)
            .collect();
        found.sort_by(|a, b| {
            a.route()
                .cmp(&b.route())
                .then_with(|| super::apt::debian_version_cmp(&b.version, &a.version))
        });
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

/// Finds the interpreter for `flavour`: the first rule whose candidate passes wins. Runs
/// candidates and `uv python find`, never anything that downloads.
pub fn resolve(flavour: Flavour, lookup: &Lookup) -> Resolution {
    let mut res = Resolution::default();
    let consider = |res: &mut Resolution, path: PathBuf, rule: Rule, origin: String| {
        let why = match probe(&path) {
            Ok(facts) => match flavour.refuse(&facts) {
                None => {
                    res.chosen = Some(Interpreter {
                        flavour,
                        path,
                        facts,
                        source: rule,
                        origin,
                    });
                    return true;
                }
                Some(reason) => Refusal::Unfit(reason),
            },
            Err(reason) => Refusal::DoesNotRun(reason),
        };
        res.rejected.push(Rejected {
            rule,
            tried: origin,
            path: Some(path),
            why,
        });
        false
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
    let provisioned = lookup.provisioned(flavour);
    if let Some(uv) = super::uv::locate(lookup) {
        for request in flavour.uv_requests() {
            let Some(path) = uv.find_managed(request) else {
                continue;
            };
            // What setup installed with uv is found by uv too (when UV_PYTHON_INSTALL_DIR is
            // shared with it): say it the way setup got it.
            let same = |p: &Provisioned| same_file(&p.python, &path);
            let (rule, origin) = match provisioned.iter().find(|p| same(p)) {
                Some(p) => (p.route(), p.how.clone()),
                None => (Rule::UvFind, format!("uv python find {request}")),
            };
            if consider(&mut res, path, rule, origin) {
                return res;
            }
        }
    }
    for p in provisioned {
        let rule = p.route();
        if consider(&mut res, p.python, rule, p.how) {
            return res;
        }
    }
    res
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
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
            os_release: cache.join("os-release"),
            debian_keyring: cache.join("keyring.gpg"),
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
        assert!(
            r.rejected[0]
                .why
                .to_string()
                .contains("not a free-threaded build")
        );
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
        assert!(
            r.rejected[0].why.to_string().contains("exited"),
            "{:?}",
            r.rejected
        );
    }

    #[test]
    fn a_free_threaded_candidate_whose_gil_is_on_is_rejected_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), "python3.14t", "3.14.0", true, true);
        let r = resolve(Flavour::FreeThreaded, &lookup(&[tmp.path()], tmp.path()));
        assert!(r.chosen.is_none());
        assert!(
            r.rejected[0].why.to_string().contains("the GIL is on"),
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
        assert!(r.rejected[0].why.to_string().contains("is not 3.14"));
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
            how: "built from Debian's CPython 3.13.15 source".into(),
            route: None,
            passed_over: Vec::new(),
        };
        Cache::mark_complete(&tree, &record).unwrap();
        let chosen = resolve(Flavour::FreeThreaded, &l).chosen.unwrap();
        assert_eq!((chosen.path, chosen.source), (python, Rule::SourceBuild));

        // Something on PATH still wins over the cache.
        let on_path = fake(path_dir.path(), "python3.13t", "3.13.9", true, false);
        assert_eq!(
            resolve(Flavour::FreeThreaded, &l).chosen.unwrap().path,
            on_path
        );
    }

    /// A fake uv: `--version`, `python find … REQUEST` answering from files in `dir`, and
    /// `python install REQUEST` that installs 3.13t (the fake python `py`), has no 3.14t, and
    /// cannot download 3.14.
    fn fake_uv(dir: &Path, py: &Path) {
        let script = format!(
            r#"#!/bin/sh
D={dir}
if [ "$1" = --version ]; then echo "uv 0.13.9 (fake)"; exit 0; fi
for last; do :; done
case "$2" in
  find) [ -f "$D/installed-$last" ] && cat "$D/installed-$last" && exit 0
        echo "error: No interpreter found for Python $last in managed installations" >&2; exit 2;;
  install) echo "$@" >> "$D/installs"
    case "$last" in
      3.13t) echo "{py}" > "$D/installed-3.13t"; exit 0;;
      3.14t) echo "error: No download found for request: cpython-3.14+freethreaded-linux-x86_64-gnu" >&2; exit 2;;
      *) printf 'error: Failed to install cpython-3.14.10-linux-x86_64-gnu\n  cause: dns error\n  cause: Name or service not known\n' >&2; exit 1;;
    esac;;
esac
"#,
            dir = dir.display(),
            py = py.display()
        );
        let path = dir.join("uv");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn uv_finds_what_it_manages_after_path() {
        let bin = tempfile::tempdir().unwrap();
        let pys = tempfile::tempdir().unwrap();
        let py = fake(pys.path(), "python3.13t", "3.13.9", true, false);
        fake_uv(bin.path(), &py);
        std::fs::write(bin.path().join("installed-3.13t"), py.display().to_string()).unwrap();
        let l = lookup(&[bin.path()], pys.path());
        let chosen = resolve(Flavour::FreeThreaded, &l).chosen.unwrap();
        assert_eq!(
            (chosen.path, chosen.source, chosen.origin.as_str()),
            (py, Rule::UvFind, "uv python find 3.13t")
        );
    }

    #[test]
    fn uv_installs_the_next_request_when_its_list_lacks_the_first_and_says_why() {
        let bin = tempfile::tempdir().unwrap();
        let pys = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let py = fake(pys.path(), "python3.13t", "3.13.9", true, false);
        fake_uv(bin.path(), &py);
        let l = lookup(&[bin.path()], cache.path());
        let refused =
            super::super::uv::install(&l, &[Flavour::FreeThreaded], &super::super::Ui::quiet());
        assert!(refused.is_empty(), "{refused:?}");
        let record = &l.provisioned(Flavour::FreeThreaded)[0];
        assert_eq!(record.route(), Rule::UvInstall);
        assert_eq!(record.how, "uv python install 3.13t");
        assert_eq!(record.passed_over.len(), 1);
        assert!(
            matches!(&record.passed_over[0].why, Refusal::NoDownload(d) if d.contains("No download found")),
            "{:?}",
            record.passed_over
        );
        // doctor's view: found by the record, named as setup got it, even though uv finds it too.
        let chosen = resolve(Flavour::FreeThreaded, &l).chosen.unwrap();
        assert_eq!(
            (chosen.source, chosen.origin.as_str()),
            (Rule::UvInstall, "uv python install 3.13t")
        );
    }

    #[test]
    fn a_failed_uv_download_is_not_retried_for_the_next_flavour() {
        let bin = tempfile::tempdir().unwrap();
        let pys = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let py = fake(pys.path(), "python3.13t", "3.13.9", true, false);
        fake_uv(bin.path(), &py);
        let l = lookup(&[bin.path()], cache.path());
        let refused = super::super::uv::install(
            &l,
            &[Flavour::Gil, Flavour::FreeThreaded],
            &super::super::Ui::quiet(),
        );
        let gil = &refused[&Flavour::Gil];
        assert!(
            matches!(&gil[0].why, Refusal::DownloadFailed(d) if d.contains("Name or service not known")),
            "{gil:?}"
        );
        let ft = &refused[&Flavour::FreeThreaded];
        assert!(matches!(&ft[0].why, Refusal::NotTried(_)), "{ft:?}");
        let installs = std::fs::read_to_string(bin.path().join("installs")).unwrap();
        assert_eq!(installs.lines().count(), 1, "{installs}");
    }

    #[test]
    fn uv_routes_come_before_debian_ones_in_the_cache() {
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(cache_dir.path());
        let mut pythons = Vec::new();
        for (id, version, route) in [
            ("cpython-3.13.15t", "3.13.15", Rule::SourceBuild),
            ("uv-3.13t", "3.13.9", Rule::UvInstall),
        ] {
            let tree = cache.dir("python").join(id);
            std::fs::create_dir_all(&tree).unwrap();
            let python = fake(&tree, "python3.13t", version, true, false);
            let record = Provisioned {
                flavour: Flavour::FreeThreaded,
                python: python.clone(),
                version: version.into(),
                how: id.into(),
                route: Some(route),
                passed_over: Vec::new(),
            };
            Cache::mark_complete(&tree, &record).unwrap();
            pythons.push(python);
        }
        let empty = tempfile::tempdir().unwrap();
        let l = lookup(&[empty.path()], cache_dir.path());
        let chosen = resolve(Flavour::FreeThreaded, &l).chosen.unwrap();
        assert_eq!(
            (chosen.path, chosen.source),
            (pythons[1].clone(), Rule::UvInstall)
        );
    }
}
