//! uv, the first route setup tries for an interpreter it cannot find: `uv python install 3.14`
//! and `3.14t` fetch python-build-standalone's builds. Owns finding uv (on PATH, or the one it
//! installed into the cache), installing a pinned uv from PyPI into the cache when there is
//! none, running `uv python find/install` with the interpreters kept in the cache, and saying
//! in typed words why uv gave nothing, so the Debian routes after it can carry the reason. It
//! never installs system packages, and never builds an interpreter.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cache::Cache;
use super::python::{Flavour, Lookup, Provisioned, Refusal, Rejected, Rule};
use super::steps::{ProvisionError, Ui, capture, run_captured};

/// The uv installed from PyPI when none is on PATH (the newest on PyPI, November 2026).
pub const PIN: &str = "0.13.9";
/// A uv on PATH older than this lacks `uv python find --managed-python`: it is passed over for
/// the pinned one.
const OLDEST: (u64, u64) = (0, 8);
/// How long one `uv python install` may take: a python-build-standalone archive is 30-40 MB.
const INSTALL_LIMIT: Duration = Duration::from_secs(900);

/// A uv that answers `--version`.
#[derive(Debug, Clone)]
pub struct Uv {
    pub path: PathBuf,
    pub version: String,
    /// Where setup's `uv python install` puts interpreters, unless UV_PYTHON_INSTALL_DIR says.
    install_dir: PathBuf,
    /// Where uv would link `python3.14` and the like: the cache, not the user's ~/.local/bin.
    bin_dir: PathBuf,
}

/// The record of the uv setup installed into the cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Installed {
    uv: PathBuf,
    version: String,
}

fn venv_dir(cache: &Cache) -> PathBuf {
    cache.dir("uv/venv")
}

/// uv if it is at hand without installing anything: on PATH and new enough, else the one
/// setup installed into the cache.
pub fn locate(lookup: &Lookup) -> Option<Uv> {
    let cache = &lookup.cache;
    lookup
        .on_path("uv")
        .into_iter()
        .filter_map(|p| Uv::at(&p, cache))
        .find(Uv::new_enough)
        .or_else(|| {
            Cache::completed::<Installed>(&venv_dir(cache)).and_then(|i| Uv::at(&i.uv, cache))
        })
}

/// Whether setup could get a uv: one at hand, or a python3 on PATH to install it with.
pub fn obtainable(lookup: &Lookup) -> Result<(), Refusal> {
    if locate(lookup).is_some() || !lookup.on_path("python3").is_empty() {
        Ok(())
    } else {
        Err(Refusal::NoUv(
            "none on PATH, and no python3 on PATH to install it from PyPI with".into(),
        ))
    }
}

impl Uv {
    fn at(path: &Path, cache: &Cache) -> Option<Uv> {
        // "uv 0.13.9 (x86_64-unknown-linux-gnu)"
        let out = capture(Command::new(path).arg("--version"), Duration::from_secs(10)).ok()?;
        let version = out.split_whitespace().nth(1)?.to_owned();
        Some(Uv {
            path: path.to_owned(),
            version,
            install_dir: cache.dir("uv/python"),
            bin_dir: cache.dir("uv/bin"),
        })
    }

    fn new_enough(&self) -> bool {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<u64>().unwrap_or(0));
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        (major, minor) >= OLDEST
    }

    /// `uv python …` run from `/`, so no project's uv settings in the working directory apply
    /// (the user's own uv.toml, with a mirror say, still does).
    fn python(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.arg("python").args(args).current_dir("/");
        cmd
    }

    /// The same, with setup's installs kept in the cache unless the user chose a folder.
    fn python_for_install(&self, args: &[&str]) -> Command {
        let mut cmd = self.python(args);
        for (var, dir) in [
            ("UV_PYTHON_INSTALL_DIR", &self.install_dir),
            ("UV_PYTHON_BIN_DIR", &self.bin_dir),
        ] {
            if std::env::var_os(var).is_none() {
                cmd.env(var, dir);
            }
        }
        cmd
    }

    /// An interpreter uv manages already for `request`, as the user's uv sees them: virtual
    /// environments and PATH left out (the PATH rule came first).
    pub fn find_managed(&self, request: &str) -> Option<PathBuf> {
        let mut cmd = self.python(&["find", "--system", "--managed-python", request]);
        found(&mut cmd)
    }

    fn find_installed(&self, request: &str) -> Option<PathBuf> {
        let mut cmd = self.python_for_install(&["find", "--system", "--managed-python", request]);
        found(&mut cmd)
    }

    /// `uv python install request`: the interpreter's path, or why not in uv's own words.
    fn install_one(&self, request: &str, log: &Path) -> Result<PathBuf, Refusal> {
        let mut cmd = self.python_for_install(&["install", request]);
        let out = run_captured(&mut cmd, INSTALL_LIMIT).map_err(Refusal::DownloadFailed)?;
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(log) {
            let _ = writeln!(
                f,
                "\n$ {cmd:?}\n{}{}\n({})",
                out.stdout, out.stderr, out.status
            );
        }
        if !out.status.success() {
            return Err(refusal(&out.stderr));
        }
        self.find_installed(request).ok_or_else(|| {
            Refusal::DoesNotRun(format!(
                "uv installed it, but `uv python find --managed-python {request}` does not find it"
            ))
        })
    }
}

fn found(cmd: &mut Command) -> Option<PathBuf> {
    let out = capture(cmd, Duration::from_secs(20)).ok()?;
    let path = out.lines().next()?.trim();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// uv's failure in few words: its error line, and the innermost cause (the one that says
/// "dns error" or "Connection refused"). A request its download list lacks is told apart:
/// the next request may still be there.
fn refusal(stderr: &str) -> Refusal {
    let error = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("error:"))
        .map(str::trim);
    let cause = stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("cause:"))
        .map(str::trim)
        .next_back();
    let said = match (error, cause) {
        (Some(e), Some(c)) => format!("{e}: {c}"),
        (Some(e), None) => e.to_owned(),
        (None, _) => stderr
            .trim()
            .lines()
            .next()
            .unwrap_or("no output")
            .to_owned(),
    };
    if stderr.contains("No download found for request") {
        Refusal::NoDownload(said)
    } else {
        Refusal::DownloadFailed(said)
    }
}

/// uv at hand, or the pinned uv installed from PyPI into a venv in the cache (made by the first
/// python3 on PATH that makes one). The caller holds the cache lock.
pub fn ensure(lookup: &Lookup, ui: &Ui) -> Result<Uv, Refusal> {
    if let Some(uv) = locate(lookup) {
        return Ok(uv);
    }
    obtainable(lookup)?;
    let cache = &lookup.cache;
    let dir = venv_dir(cache);
    let installed = ui.step(&format!("install uv {PIN} from PyPI"), |step| {
        let log = cache
            .log("uv")
            .map_err(|e| ProvisionError::io("cannot write logs", e))?;
        Cache::remove_tree(&dir)
            .map_err(|e| ProvisionError::io("cannot clear a half-made uv venv", e))?;
        let mut made = Err(ProvisionError::new("python3 -m venv", "no python3 on PATH"));
        for python3 in lookup.on_path("python3") {
            // A dead pyenv shim fails here; the next python3 on PATH may not.
            made = super::venv::make_venv(step, &python3, &dir, &log);
            if made.is_ok() {
                break;
            }
        }
        made?;
        step.run(
            "pip install uv",
            super::venv::pip_install(&dir.join("bin/python")).arg(format!("uv=={PIN}")),
            &log,
        )?;
        let uv = Uv::at(&dir.join("bin/uv"), cache).ok_or_else(|| {
            ProvisionError::new(
                "pip install uv",
                "the installed uv does not answer --version",
            )
        })?;
        Cache::mark_complete(
            &dir,
            &Installed {
                uv: uv.path.clone(),
                version: uv.version.clone(),
            },
        )
        .map_err(|e| ProvisionError::io("cannot mark uv installed", e))?;
        Ok(uv)
    });
    installed.map_err(|e| {
        let log = e
            .log
            .as_ref()
            .map(|l| format!(" (log: {})", l.display()))
            .unwrap_or_default();
        Refusal::NoUv(format!(
            "installing uv {PIN} from PyPI failed: {}: {}{log}",
            e.what, e.detail
        ))
    })
}

/// Tries `uv python install` for each flavour's requests, preferred first (3.14t, then 3.13t
/// when uv lists no 3.14t). A download that fails stops the rest: they would fail the same
/// way, each after uv's retries. What installs is recorded in the cache, where `resolve`
/// finds it; the result holds, per flavour uv gave nothing, the refusals to pass on.
pub fn install(lookup: &Lookup, flavours: &[Flavour], ui: &Ui) -> HashMap<Flavour, Vec<Rejected>> {
    let mut refused: HashMap<Flavour, Vec<Rejected>> = HashMap::new();
    let wanted: Vec<Flavour> = flavours
        .iter()
        .copied()
        .filter(|f| !f.uv_requests().is_empty())
        .collect();
    if wanted.is_empty() {
        return refused;
    }
    let uv = match ensure(lookup, ui) {
        Ok(uv) => uv,
        Err(why) => {
            for f in wanted {
                refused.insert(f, vec![rejected(f.uv_requests()[0], why.clone())]);
            }
            return refused;
        }
    };
    let log = lookup
        .cache
        .log("uv-python-install")
        .unwrap_or_else(|_| PathBuf::from("/dev/null"));
    let mut broken: Option<String> = None;
    for flavour in wanted {
        let mut passed_over = Vec::new();
        let mut got = false;
        for request in flavour.uv_requests() {
            if let Some(first) = &broken {
                passed_over.push(rejected(
                    request,
                    Refusal::NotTried(format!("uv could not download `{first}` just before")),
                ));
                break;
            }
            let title = format!("uv python install {request} (uv {})", uv.version);
            let mut why = None;
            let outcome = ui.step(&title, |_| {
                uv.install_one(request, &log)
                    .and_then(|python| record(lookup, flavour, request, python, &passed_over))
                    .map_err(|w| {
                        why = Some(w.clone());
                        ProvisionError::new(title.clone(), w.to_string())
                    })
            });
            let outcome = outcome.map_err(|e| why.unwrap_or(Refusal::DownloadFailed(e.detail)));
            match outcome {
                Ok(()) => {
                    got = true;
                    break;
                }
                Err(why) => {
                    ui.note(&format!("uv python install {request}: {why}"));
                    let failed = matches!(why, Refusal::DownloadFailed(_));
                    if failed {
                        broken = Some(format!("uv python install {request}"));
                    }
                    passed_over.push(rejected(request, why));
                    if failed {
                        break;
                    }
                }
            }
        }
        if !got {
            refused.insert(flavour, passed_over);
        }
    }
    refused
}

fn rejected(request: &str, why: Refusal) -> Rejected {
    Rejected {
        rule: Rule::UvInstall,
        tried: format!("uv python install {request}"),
        path: None,
        why,
    }
}

/// Checks what uv installed fits the flavour, and records it in the cache (a tree holding only
/// the record: the interpreter stays where uv put it).
fn record(
    lookup: &Lookup,
    flavour: Flavour,
    request: &str,
    python: PathBuf,
    passed_over: &[Rejected],
) -> Result<(), Refusal> {
    let tree = lookup.cache.dir("python").join(format!("uv-{request}"));
    std::fs::create_dir_all(&tree).map_err(|e| Refusal::DoesNotRun(e.to_string()))?;
    Provisioned::verify_and_mark(
        &tree,
        python,
        flavour,
        (Rule::UvInstall, passed_over),
        &format!("CPython {request} from uv"),
        |_| format!("uv python install {request}"),
    )
    .map(|_| ())
    .map_err(|e| Refusal::Unfit(format!("{}: {}", e.what, e.detail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_uv_does_not_list_is_told_from_a_failed_download() {
        let none =
            "error: No download found for request: cpython-3.14+freethreaded-linux-x86_64-gnu\n";
        assert_eq!(
            refusal(none),
            Refusal::NoDownload(
                "No download found for request: cpython-3.14+freethreaded-linux-x86_64-gnu".into()
            )
        );
        let dns = "error: Failed to install cpython-3.14.10-linux-x86_64-gnu\n  \
                   cause: Request failed after 3 retries in 10.6s\n  \
                   cause: dns error\n  \
                   cause: failed to lookup address information: Name or service not known\n";
        assert_eq!(
            refusal(dns),
            Refusal::DownloadFailed(
                "Failed to install cpython-3.14.10-linux-x86_64-gnu: failed to lookup address \
                 information: Name or service not known"
                    .into()
            )
        );
    }
}
