//! `pip install djbench`: the wheel harness/pyproject.toml describes.
//!
//! In CI: maturin reads pyproject.toml and writes the wheel's metadata without compiling
//! (a second): the name, Cargo's version, description and licence, the Python bound, no
//! Python dependencies, a `py3-none` tag.
//!
//! By hand (`just wheel-test`, ignored otherwise): the whole round trip. maturin builds the
//! wheel into the target dir and cargo profile of these tests, it goes into a fresh venv, and
//! its `djbench`, run by name from an empty folder with an empty cache, lists and validates
//! the shipped scenarios and prints the doctor's report. It is not in CI because of its cost:
//! `cargo test` builds djbench's dependencies with the features its dev-dependencies add
//! (tokio's multi-threaded runtime, serde_json's float_roundtrip, syn's full, …), a plain
//! build as maturin runs it does without them, so the first wheel build after a fresh
//! `cargo test` compiles 25 crates again: 154 s on the 2-core machine, after the 597 s of
//! `cargo test`'s own build. Later ones (and any after a `cargo run`) compile djbench itself
//! at most, often in seconds. That djbench runs from any folder with an empty cache is
//! CI's already (tests/cli.rs, a copied binary).
//!
//! Nothing outside the temp dirs changes except maturin's venv in djbench's cache.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// The maturin the test builds with; harness/pyproject.toml's `build-system` allows it.
const MATURIN: &str = "1.16.0";

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `$XDG_CACHE_HOME/djbench/maturin-venv` (else under `~/.cache`) with maturin `MATURIN` in it,
/// made once. A lock file keeps two test runs from building the same venv at once.
fn maturin() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"))
        .join("djbench");
    std::fs::create_dir_all(&cache).unwrap();
    let lock = File::create(cache.join("maturin-venv.lock")).unwrap();
    lock.lock().unwrap();
    let venv = cache.join("maturin-venv");
    let bin = venv.join("bin/maturin");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == format!("maturin {MATURIN}"));
    if !installed {
        run(Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv));
        run(Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!("maturin=={MATURIN}")));
    }
    bin
}

/// The target dir and cargo profile of the djbench binary these tests run, so maturin's cargo
/// build finds it fresh: `CARGO_TARGET_TMPDIR` is `<target dir>/tmp`, and the binary sits in
/// `<target dir>/debug` for the dev profile (`release` for `cargo test --release`).
fn target_dir_and_profile() -> (PathBuf, String) {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_owned();
    let dir = Path::new(env!("CARGO_BIN_EXE_djbench"))
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let profile = if dir == "debug" { "dev" } else { dir };
    (target, profile.to_owned())
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `Key: value` lines of a METADATA or WHEEL file up to its body, in order.
fn headers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn the_wheel_metadata_is_cargos() {
    let tmp = tempfile::tempdir().unwrap();
    run(Command::new(maturin())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["pep517", "write-dist-info", "--metadata-directory"])
        .arg(tmp.path()));
    let dist_info = tmp
        .path()
        .join(format!("djbench-{}.dist-info", env!("CARGO_PKG_VERSION")));
    let metadata = headers(&std::fs::read_to_string(dist_info.join("METADATA")).unwrap());
    let field = |key: &str| -> Vec<&str> {
        metadata
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(field("Name"), ["djbench"], "{metadata:?}");
    assert_eq!(field("Version"), [env!("CARGO_PKG_VERSION")]);
    assert_eq!(field("Summary"), [env!("CARGO_PKG_DESCRIPTION")]);
    assert_eq!(field("License-Expression"), [env!("CARGO_PKG_LICENSE")]);
    assert_eq!(field("Requires-Python"), [">=3.9"]);
    // The binary needs nothing from PyPI.
    assert!(field("Requires-Dist").is_empty(), "{metadata:?}");
    let wheel = headers(&std::fs::read_to_string(dist_info.join("WHEEL")).unwrap());
    let tags: Vec<_> = wheel.iter().filter(|(k, _)| k == "Tag").collect();
    assert!(
        !tags.is_empty() && tags.iter().all(|(_, t)| t.starts_with("py3-none-")),
        "a binary wheel for any Python 3: {wheel:?}"
    );
}

#[test]
#[ignore = "builds the wheel, minutes after a fresh `cargo test`: run it with `just wheel-test`"]
fn the_wheel_installs_a_djbench_that_works_from_any_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let maturin = maturin();
    let (target, profile) = target_dir_and_profile();

    let started = Instant::now();
    let wheels = tmp.path().join("wheels");
    run(Command::new(&maturin)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--quiet", "--profile", &profile, "--out"])
        .arg(&wheels));
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .expect("maturin wrote a wheel");
    let name = wheel.file_name().unwrap().to_str().unwrap();
    // A binary wheel for any Python 3: the binary never loads Python.
    assert!(
        name.starts_with(&format!("djbench-{}-py3-none-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );
    eprintln!("wheel: {name} built in {:.1?}", started.elapsed());

    let venv = tmp.path().join("venv");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    run(Command::new(venv.join("bin/python"))
        .args(["-m", "pip", "install", "--quiet", "--no-index"])
        .args(["--disable-pip-version-check"])
        .arg(&wheel));

    // Run as a user would: by name, from the venv's bin/ on PATH, in an empty folder, with an
    // empty cache, so the shipped files come out of the binary and nowhere else.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let cache = tmp.path().join("cache");
    let path = std::env::join_paths(std::iter::once(venv.join("bin")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let djbench = |args: &[&str]| -> Output {
        Command::new("djbench")
            .args(["--color", "never"])
            .args(args)
            .current_dir(&empty)
            .env("PATH", &path)
            .env("XDG_CACHE_HOME", &cache)
            .output()
            .expect("djbench is on the venv's PATH")
    };

    let out = djbench(&["list"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let shipped = cache.join("djbench/shipped");
    assert!(
        stdout.contains(&shipped.display().to_string()),
        "list names the scenarios written into the empty cache:\n{stdout}"
    );
    for name in [
        "compare_modes",
        "ci_smoke",
        "gunicorn_celery",
        "free_threaded",
    ] {
        assert!(stdout.contains(name), "list names {name}:\n{stdout}");
    }

    let out = djbench(&["validate", "compare_modes"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("ok "), "{stdout}");
    assert!(stdout.contains("compare_modes.yaml"), "{stdout}");

    // With an empty cache nothing is provisioned, so doctor may say what setup would do and
    // exit 1 (0 where every interpreter is found elsewhere); either way it prints its report.
    let out = djbench(&["doctor"]);
    let (stdout, stderr) = text(&out);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}\n{stdout}\n{stderr}",
        out.status
    );
    let expected = format!("Interpreters (cache: {})", cache.join("djbench").display());
    for section in [expected.as_str(), "Virtualenvs", "Services", "Host: "] {
        assert!(
            stdout.contains(section),
            "doctor prints {section:?}:\n{stdout}"
        );
    }
    let ready = out.status.code() == Some(0);
    assert_eq!(stdout.contains("\nReady."), ready, "{stdout}");
    assert_eq!(
        stdout.contains("Not ready; `djbench setup` would:"),
        !ready,
        "{stdout}"
    );

    // None of the three writes into the folder it runs in.
    let left: Vec<_> = std::fs::read_dir(&empty).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    eprintln!(
        "wheel: built, installed and run in {:.1?}",
        started.elapsed()
    );
}
