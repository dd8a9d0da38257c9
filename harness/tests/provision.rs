//! Provisioning for real: interpreters, virtualenvs and redis-server into the user's cache
//! (the first run on a machine takes minutes; later runs find everything ready).

mod common;
use common::djbench;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

#[test]
fn setup_provisions_everything_once_and_doctor_reports_it() {
    let first = djbench()
        .arg("setup")
        .timeout(std::time::Duration::from_secs(1800))
        .assert();
    let out = first.get_output();
    assert!(
        out.status.success(),
        "setup failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Everything is cached now: a second setup runs no step at all.
    let second = djbench().arg("setup").assert().success();
    let stderr = String::from_utf8_lossy(&second.get_output().stderr).into_owned();
    assert!(
        !stderr.contains('✓') && !stderr.contains('…'),
        "a second setup did work:\n{stderr}"
    );

    let doctor = djbench().args(["doctor", "--json"]).assert().success();
    let report: Value = serde_json::from_slice(&doctor.get_output().stdout).unwrap();
    assert_eq!(report["ready"], true, "{report:#}");
    let interpreter = |flavour: &str| {
        report["interpreters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["flavour"] == flavour)
            .unwrap_or_else(|| panic!("no {flavour} interpreter in {report:#}"))
            .clone()
    };
    let gil = interpreter("gil");
    assert!(
        gil["version"].as_str().unwrap().starts_with("3.14."),
        "{gil}"
    );
    assert_eq!(gil["gil_enabled"], true);
    let ft = interpreter("free_threaded");
    assert_eq!(ft["gil_enabled"], false, "{ft}");
    assert_eq!(ft["free_threaded_build"], true);
    for i in [&gil, &ft] {
        assert!(Path::new(i["path"].as_str().unwrap()).is_file());
        assert!(!i["source"].as_str().unwrap().is_empty());
    }
    for flavour in ["gil", "free_threaded"] {
        let venv = report["venvs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["flavour"] == flavour)
            .unwrap_or_else(|| panic!("no {flavour} venv in {report:#}"));
        let django = venv["packages"]["django"].as_str().unwrap();
        assert!(
            django.starts_with("6."),
            "{flavour} venv has Django {django}"
        );
    }
    let redis = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "redis-server")
        .expect("redis-server in services");
    assert!(Path::new(redis["path"].as_str().unwrap()).is_file());
    for key in ["cpu", "cores", "memory_bytes", "kernel"] {
        assert!(!report["host"][key].is_null(), "host.{key}");
    }
}

/// A user who is not root, on a machine with nothing installed: uv is tried first (it needs no
/// root; here its mirror is a closed port, so it cannot download), then one message naming the
/// exact command and why, exit 2, before anything is downloaded from Debian. "Nothing installed"
/// is a dpkg-query that knows no package; "not root" is the nobody user (setpriv, from
/// util-linux).
#[test]
fn without_root_and_packages_setup_names_the_command_and_exits_2() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to become another user");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("dpkg-query");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"dpkg-query: no packages found\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    for p in [tmp.path(), &bin, &cache] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let djbench = assert_cmd::cargo::cargo_bin("djbench");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&djbench)
        .arg("setup")
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", tmp.path())
        .env("XDG_CACHE_HOME", &cache)
        .env("CI", "true")
        .env("UV_PYTHON_INSTALL_MIRROR", format!("http://{closed}"))
        .env("UV_HTTP_RETRIES", "0")
        .current_dir(tmp.path())
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("not running as root"), "{stderr}");
    assert!(
        stderr.contains("sudo apt-get install -y --no-install-recommends"),
        "{stderr}"
    );
    for package in ["patchelf", "build-essential", "libssl-dev"] {
        assert!(
            stderr.contains(package),
            "{package} missing from:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("uv python install 3.14: uv could not download it"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !cache.join("djbench/apt").exists(),
        "it downloaded before saying what it needs"
    );
}
