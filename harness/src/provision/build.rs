//! Free-threaded CPython (and on request its GIL twin) compiled from the newest CPython source
//! tarball the Debian archive serves. The twin comes from the same tarball with the same flags
//! but the GIL, so comparing the two isolates the GIL itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::apt::{MIRROR, PrivateApt};
use super::cache::{Cache, install_tree};
use super::python::{Flavour, Provisioned, Rejected, Rule};
use super::steps::{ProvisionError, Ui};
use super::system;

/// Source packages to try, newest first; within each, every version the indexes list.
const SOURCE_PACKAGES: &[&str] = &["python3.14", "python3.13"];
const SUITES: &[&str] = &["sid", "forky", "trixie"];
/// configure's PATH: pyenv shims on the user's PATH break PYTHON_FOR_REGEN.
const CLEAN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The tarball kept in the cache, with the version it holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Tarball {
    file: PathBuf,
    version: String,
}

/// Builds the interpreter; `passed_over` (the routes tried before, and why they gave nothing)
/// goes into its record for `doctor`.
pub fn provision(
    cache: &Cache,
    ui: &Ui,
    flavour: Flavour,
    passed_over: &[Rejected],
) -> Result<PathBuf, ProvisionError> {
    let free_threaded = match flavour {
        Flavour::FreeThreaded => true,
        Flavour::GilTwin => false,
        Flavour::Gil => unreachable!("the GIL 3.14 comes from the sysroot"),
    };
    let tarball = fetch_source(cache, ui)?;
    let id = if free_threaded {
        format!("cpython-{}t", tarball.version)
    } else {
        format!("cpython-{}-gil-twin", tarball.version)
    };
    let dest = cache.dir("python").join(&id);
    if let Some(done) = Cache::completed::<Provisioned>(&dest) {
        return Ok(done.python);
    }
    system::ensure(
        system::BUILD_DEPS,
        "building CPython from source",
        cache,
        ui,
    )?;
    let log = cache
        .log(&format!("build-{id}"))
        .map_err(|e| ProvisionError::io("cannot write logs", e))?;
    let work = cache.dir("build").join(&id);
    let staging = cache.dir("python").join(format!("{id}.partial"));
    for stale in [&work, &staging] {
        Cache::remove_tree(stale)
            .map_err(|e| ProvisionError::io("cannot clear a half-built tree", e))?;
    }
    std::fs::create_dir_all(&work)
        .map_err(|e| ProvisionError::io("cannot create the build folder", e))?;
    let what = if free_threaded {
        format!("CPython {} free-threaded (--disable-gil)", tarball.version)
    } else {
        format!("CPython {} GIL twin", tarball.version)
    };
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    ui.step(
        &format!("build {what} from source (a few minutes)"),
        |step| {
            step.run(
                "unpack the source",
                Command::new("tar")
                    .arg("-xf")
                    .arg(&tarball.file)
                    .arg("-C")
                    .arg(&work),
                &log,
            )?;
            let src = source_dir(&work)?;
            let mut configure = Command::new("./configure");
            configure
                .current_dir(&src)
                .env("PATH", CLEAN_PATH)
                .arg(format!("--prefix={}", dest.display()))
                .arg("--with-ensurepip=install");
            if free_threaded {
                configure.arg("--disable-gil");
            }
            step.run("configure", &mut configure, &log)?;
            step.run(
                &format!("make -j{jobs}"),
                Command::new("make")
                    .arg(format!("-j{jobs}"))
                    .current_dir(&src)
                    .env("PATH", CLEAN_PATH),
                &log,
            )?;
            // Installed into a staging root, then moved: the prefix is baked in, the move is atomic.
            step.run(
                "make install",
                Command::new("make")
                    .arg("install")
                    .arg(format!("DESTDIR={}", staging.display()))
                    .current_dir(&src)
                    .env("PATH", CLEAN_PATH),
                &log,
            )?;
            let built = staging.join(dest.strip_prefix("/").unwrap_or(&dest));
            install_tree(&built, &dest)
                .map_err(|e| ProvisionError::io("cannot move the build into place", e))?;
            let _ = std::fs::remove_dir_all(&staging);
            let _ = std::fs::remove_dir_all(&work);
            Ok(())
        },
    )?;
    let python = installed_python(&dest, free_threaded)?;
    Provisioned::verify_and_mark(
        &dest,
        python,
        flavour,
        (Rule::SourceBuild, passed_over),
        &what,
        |_| format!("built from Debian's CPython {} source", tarball.version),
    )
}

fn source_dir(work: &Path) -> Result<PathBuf, ProvisionError> {
    std::fs::read_dir(work)
        .map_err(|e| ProvisionError::io("cannot read the unpacked source", e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join("configure").is_file())
        .ok_or_else(|| {
            ProvisionError::new(
                "unpack the source",
                "no folder with ./configure in the tarball",
            )
        })
}

/// `bin/python3.13t` for a free-threaded build, `bin/python3.13` for the twin.
fn installed_python(prefix: &Path, free_threaded: bool) -> Result<PathBuf, ProvisionError> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(prefix.join("bin"))
        .map_err(|e| ProvisionError::io("cannot read the installed bin/", e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("python3.") && !name.contains("config")
        })
        .collect();
    // The name says what it is: python3.13t for the free-threaded build.
    candidates.sort_by_key(|p| p.to_string_lossy().ends_with('t') != free_threaded);
    candidates
        .into_iter()
        .next()
        .ok_or_else(|| ProvisionError::new("make install", "no bin/python3.X was installed"))
}

/// The newest CPython source tarball the archive serves, downloaded once and kept. apt checks
/// it against the signed Sources index.
fn fetch_source(cache: &Cache, ui: &Ui) -> Result<Tarball, ProvisionError> {
    let dir = cache.dir("src");
    if let Some(t) = Cache::completed::<Tarball>(&dir)
        && t.file.is_file()
    {
        return Ok(t);
    }
    let log = cache
        .log("source-download")
        .map_err(|e| ProvisionError::io("cannot write logs", e))?;
    let lines: Vec<String> = SUITES
        .iter()
        .map(|s| format!("deb-src {MIRROR} {s} main"))
        .collect();
    let apt = PrivateApt::new(&cache.dir("apt/src"), &lines)?;
    let tarball = ui.step(
        "find the newest CPython source the Debian archive serves",
        |step| {
            apt.update(step, &log)?;
            let mut tried = Vec::new();
            for package in SOURCE_PACKAGES {
                for version in apt.source_versions(package) {
                    let into = dir.join(format!("{package}_{version}"));
                    match apt.source_tarball(package, &version, &into, step, &log) {
                        Ok(file) => {
                            let upstream = version.split('-').next().unwrap_or(&version).to_owned();
                            return Ok(Tarball {
                                file,
                                version: upstream,
                            });
                        }
                        Err(_) => {
                            let _ = std::fs::remove_dir_all(&into);
                            tried.push(format!("{package} {version}"));
                        }
                    }
                }
            }
            Err(ProvisionError {
                what: "no CPython source tarball could be downloaded".into(),
                detail: format!("tried {}", tried.join(", ")),
                log: Some(log.clone()),
                fix: Some(format!(
                    "set {} to a free-threaded python you have",
                    Flavour::FreeThreaded.env_var()
                )),
            })
        },
    )?;
    Cache::mark_complete(&dir, &tarball)
        .map_err(|e| ProvisionError::io("cannot record the tarball", e))?;
    Ok(tarball)
}
