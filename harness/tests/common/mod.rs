//! What the integration tests share: where the project is, and djbench run from there.
// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ sits in the project")
        .to_owned()
}

/// djbench run from the project root, without colours and as under CI.
pub fn djbench() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("djbench").expect("the binary is built");
    cmd.current_dir(root())
        .env("CI", "true")
        .arg("--color")
        .arg("never");
    cmd
}

/// The shipped results fixture of this schema version (fixtures/results/README.md).
pub fn results_fixture() -> PathBuf {
    root().join("fixtures/results/ci_smoke-3reps-v2.json")
}

/// `djbench report` on the shipped results fixture, into `dir`.
pub fn report_fixture(dir: &std::path::Path) -> std::process::Output {
    djbench()
        .arg("report")
        .arg(results_fixture())
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap()
}

/// Processes whose environment points into `dir`: a deployment of a run writing there.
pub fn processes_using(dir: &Path) -> Vec<i32> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| String::from_utf8_lossy(&env).contains(&needle))
        })
        .collect()
}

/// Every latency of `l` times `f`.
pub fn scale_latency(l: &mut djbench::load::Latency, f: f64) {
    for x in [
        &mut l.min,
        &mut l.p50,
        &mut l.p90,
        &mut l.p99,
        &mut l.p999,
        &mut l.max,
    ] {
        *x = (*x as f64 * f).round() as u64;
    }
    l.mean *= f;
}

/// Every figure `djbench compare` judges by default, times `f` (counts stay).
pub fn scale(r: &mut djbench::results::RunResult, f: f64) {
    r.throughput_rps *= f;
    if let Some(l) = &mut r.latency_us {
        scale_latency(l, f);
    }
    if let Some(m) = &mut r.pss_bytes {
        m.peak_bytes = (m.peak_bytes as f64 * f) as u64;
    }
    if let Some(t) = &mut r.tasks {
        t.tasks_per_second *= f;
        if let Some(l) = &mut t.enqueue_to_finish_us {
            scale_latency(l, f);
        }
    }
}

/// djbench's setup, once per test binary: the provisioned interpreters, venvs and services.
pub fn provisioned() -> &'static djbench::provision::Report {
    use djbench::provision::{self, Cache, Lookup, Ui, Wants};
    static REPORT: std::sync::OnceLock<djbench::provision::Report> = std::sync::OnceLock::new();
    REPORT.get_or_init(|| {
        provision::setup(
            &Lookup::from_env(Cache::from_env()),
            Wants::default(),
            &Ui::quiet(),
        )
        .unwrap_or_else(|e| panic!("setup failed: {e}"))
    })
}

/// The python of the provisioned venv of `flavour`.
pub fn venv_python(flavour: djbench::provision::Flavour) -> PathBuf {
    provisioned()
        .venvs
        .iter()
        .find(|v| v.flavour == flavour)
        .map(|v| v.path.join("bin/python"))
        .unwrap_or_else(|| panic!("no {flavour} venv"))
}

/// A deployment of the sample app in `mode` from the provisioned venvs, on a freshly migrated
/// and seeded SQLite template in `tmp`: 2 web and 2 task workers, the mode's default server
/// and task backend, over WSGI.
pub fn sample_spec(mode: djbench::scenario::model::Mode, tmp: &Path) -> djbench::deploy::Spec {
    use djbench::deploy;
    use djbench::provision::Flavour;
    use djbench::scenario::model::{Interface, Mode, Server, TaskBackend};
    let flavour = if mode == Mode::FreeThreaded {
        Flavour::FreeThreaded
    } else {
        Flavour::Gil
    };
    let python = venv_python(flavour);
    let database = tmp.join("template.sqlite3");
    deploy::prepare_database(&python, &database, &Default::default()).unwrap();
    deploy::Spec {
        mode,
        server: Server::Auto,
        web_workers: 2,
        threads: 1,
        task_workers: 2,
        // Not the default, so finding it on every socket shows it was passed through.
        backlog: 777,
        python,
        allow_gil: false,
        redis: provisioned()
            .services
            .iter()
            .find(|s| s.name == "redis-server")
            .map(|s| s.path.clone()),
        run_dir: tmp.join("run"),
        database: deploy::Database::SqliteTemplate(database),
        env: Vec::new(),
        cpus: None,
        app: None,
        task_backend: TaskBackend::Auto.resolve(mode),
        visibility_timeout: None,
        interface: Interface::Wsgi,
    }
}
