//! `djbench check` on fixtures/projects/quant: a Django project whose views import numpy,
//! pydantic, humanize (pure Python) and gilforcer (the repository's C extension without
//! free-threading support, built from source), with tabulate listed but never imported.
//! Real pip installs into throwaway venvs of the provisioned interpreters; every
//! free-threaded verdict is checked against the free-threaded interpreter itself, importing
//! the package directly.

mod common;

use djbench::check::{How, Report, Verdict};
use djbench::provision::Flavour;

fn check(args: &[&str]) -> std::process::Output {
    common::djbench().arg("check").args(args).output().unwrap()
}

#[test]
fn check_flags_what_cannot_load_in_subinterpreters_and_what_turns_the_gil_on() {
    let out = check(&["fixtures/projects/quant", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    let row = |name: &str| {
        r.packages
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no row for {name}"))
    };

    // Subinterpreters: numpy and pydantic-core refuse, in the interpreter's own words.
    for name in ["numpy", "pydantic-core"] {
        match &row(name).subinterpreters {
            Verdict::Fails { error, .. } => assert!(
                error.contains("ImportError") && error.contains("subinterpreters"),
                "{name}: {error}"
            ),
            other => panic!("{name} in subinterpreters: {other:?}"),
        }
        assert_eq!(row(name).gunicorn_celery, Verdict::Loads, "{name}");
    }
    for name in ["humanize", "django", "tabulate"] {
        let p = row(name);
        for v in [&p.gunicorn_celery, &p.subinterpreters, &p.free_threaded] {
            assert_eq!(v, &Verdict::Loads, "{name}");
        }
        assert!(matches!(p.install_gil, Some(How::Wheel { .. })), "{name}");
    }

    // gilforcer: built from source, and it turns the GIL on, named by CPython's warning.
    let g = row("gilforcer");
    assert!(
        matches!(g.install_free_threaded, Some(How::Source { .. })),
        "{g:?}"
    );
    match &g.free_threaded {
        Verdict::GilOn { module, .. } => assert_eq!(module, "gilforcer"),
        other => panic!("gilforcer on the free-threaded build: {other:?}"),
    }

    // Every free-threaded verdict agrees with the interpreter asked directly.
    let ft = r
        .interpreters
        .iter()
        .find(|e| e.flavour == Flavour::FreeThreaded)
        .unwrap();
    let python = ft.venv.join("bin/python");
    for p in r.packages.iter().filter(|p| !p.modules.is_empty()) {
        let said = std::process::Command::new(&python)
            .args(["-c", "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)\nprint(sys._is_gil_enabled())"])
            .args(&p.modules)
            .output()
            .unwrap();
        let gil_on = String::from_utf8_lossy(&said.stdout).trim() == "True";
        assert_eq!(
            matches!(p.free_threaded, Verdict::GilOn { .. }),
            gil_on,
            "{}: check said {:?}; importing {:?} directly left the GIL {}",
            p.name,
            p.free_threaded,
            p.modules,
            if gil_on { "on" } else { "off" }
        );
    }

    // What the app imports, and what is only installed.
    for name in [
        "numpy",
        "pydantic",
        "pydantic-core",
        "humanize",
        "gilforcer",
    ] {
        assert_eq!(row(name).imported_by_app, Some(true), "{name}");
    }
    assert_eq!(row("tabulate").imported_by_app, Some(false));

    // The modes, and exit 1 naming why.
    let mode = |m: &str| r.modes.iter().find(|v| v.mode.name() == m).unwrap();
    assert!(
        mode("gunicorn_celery").can_run,
        "{:?}",
        mode("gunicorn_celery")
    );
    let sub = mode("subinterpreters");
    assert!(!sub.can_run);
    assert!(
        sub.reason.as_deref().unwrap().contains("numpy"),
        "{:?}",
        sub.reason
    );
    assert!(
        sub.blocking.contains(&"numpy".to_owned()),
        "{:?}",
        sub.blocking
    );
    let free = mode("free_threaded");
    assert!(!free.can_run);
    assert!(
        free.reason.as_deref().unwrap().contains("gilforcer"),
        "{:?}",
        free.reason
    );
    assert!(
        stderr.contains("subinterpreters cannot run the project"),
        "{stderr}"
    );
    assert!(
        stderr.contains("free_threaded cannot run the project"),
        "{stderr}"
    );

    // A second check of the same requirements reuses the venvs and their verdicts.
    let again = check(&["fixtures/projects/quant", "--json"]);
    let r2: Report = serde_json::from_slice(&again.stdout).unwrap();
    assert!(r2.interpreters.iter().all(|e| e.from_cache));
    assert_eq!(
        serde_json::to_value(&r2.packages).unwrap(),
        serde_json::to_value(&r.packages).unwrap()
    );
}

#[test]
fn bad_project_input_exits_2_naming_the_path_or_the_flag() {
    let out = check(&["fixtures/projects/nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fixtures/projects/nowhere"));
    let out = check(&[
        "fixtures/projects/quant",
        "--settings",
        "quant_site.nothing",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("settings module quant_site.nothing"));
    let out = check(&["fixtures/projects/quant", "--requirements", "nope.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--requirements"));
    // A directory without requirements.
    let out = check(&["fixtures/gilforcer/.."]);
    assert_eq!(out.status.code(), Some(2));
}

/// fixtures/projects/bookshop (pure-Python requirements, settings from the environment, a
/// login page, django.tasks) runs in every mode: exit 0, every package loads everywhere.
#[test]
fn a_project_every_mode_can_run_passes() {
    let out = check(&["fixtures/projects/bookshop", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.settings, "config.settings");
    assert!(r.modes.iter().all(|m| m.can_run && m.reason.is_none()));
    let names: Vec<&str> = r.packages.iter().map(|p| p.name.as_str()).collect();
    for name in ["django", "dj-database-url"] {
        assert!(names.contains(&name), "{names:?}");
    }
    for p in &r.packages {
        for v in [&p.gunicorn_celery, &p.subinterpreters, &p.free_threaded] {
            assert_eq!(v, &Verdict::Loads, "{}", p.name);
        }
    }
    assert_eq!(
        r.packages
            .iter()
            .find(|p| p.name == "dj-database-url")
            .unwrap()
            .imported_by_app,
        Some(true)
    );
}
