//! A user's own Django project deployed by djbench (`app:`), end to end with the real parts:
//! the bookshop fixture (its own settings module, URLs, a JSON POST whose django.tasks task
//! runs on each mode's task workers, a login-protected page) in all three modes; the stats
//! fixture, which needs numpy, run where numpy loads and skipped in subinterpreters with
//! numpy's message; and `djbench init` then `djbench scenario` in a copy of bookshop. Runs
//! are short: the acceptance runs are the scenarios in fixtures/scenarios/.

mod common;

use std::path::Path;
use std::sync::Mutex;

use djbench::results::Results;

/// One deployment at a time on this 2-core machine, whatever order the tests run in.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `scenario` from `cwd` into `out` (3 s a run), which must succeed; its results and
/// stderr.
fn run_ok(scenario: &Path, cwd: &Path, out: &Path) -> (Results, String) {
    let o = common::djbench()
        .current_dir(cwd)
        .arg("scenario")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(["--duration", "3s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    (results(&cwd.join(out)), stderr)
}

fn results(out: &Path) -> Results {
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn bookshop_serves_every_mode_without_errors_its_tasks_run_on_each_modes_workers() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let scenario = common::root().join("fixtures/scenarios/bookshop.yaml");
    let (doc, stderr) = run_ok(&scenario, tmp.path(), &out);
    assert!(doc.complete, "{stderr}");
    let project = doc
        .plan
        .project
        .as_ref()
        .expect("the plan names the project");
    assert_eq!(project.settings, "config.settings");
    assert!(project.skipped.is_empty(), "{:?}", project.skipped);
    assert!(
        project.tasks.contains("each mode's backend"),
        "{}",
        project.tasks
    );

    let backend = |mode: &str| match mode {
        "gunicorn_celery" => "django_tasks_celery.CeleryBackend",
        "subinterpreters" => "bench.backends.interpreters.InterpreterQueueBackend",
        _ => "bench.backends.threads.ThreadPoolBackend",
    };
    assert_eq!(doc.runs.len(), 3);
    for r in &doc.runs {
        assert!(r.failure.is_none(), "{}: {:?}", r.label, r.failure);
        assert!(r.requests > 0, "{}", r.label);
        assert_eq!(r.errors, 0, "{}: {:?}", r.label, r.load);
        // The protected page answered 200 (its expected status) to every request: the
        // login's session cookie went with them.
        let load = r.load.as_ref().unwrap();
        let account = load
            .endpoints
            .iter()
            .find(|e| e.path == "/account/")
            .unwrap();
        assert!(account.requests > 0 && account.errors == 0, "{}", r.label);
        let orders = load
            .endpoints
            .iter()
            .find(|e| e.path == "POST /api/orders/")
            .unwrap();
        assert!(orders.requests > 0 && orders.errors == 0, "{}", r.label);
        assert_eq!(r.login.as_ref().map(|l| l.status), Some(302), "{}", r.label);
        assert_eq!(
            r.task_backend.as_deref(),
            Some(backend(&r.mode)),
            "{}",
            r.label
        );

        // The orders' task took stock off book 2 (80 in the fixture) in the run's own
        // database: each mode's task workers ran the project's task.
        let db = out
            .join(format!("run-{:02}-{}", r.index, r.label))
            .join("db.sqlite3");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let stock: i64 = conn
            .query_row("SELECT stock FROM catalog_book WHERE id = 2", [], |row| {
                row.get(0)
            })
            .unwrap();
        let placed: i64 = conn
            .query_row("SELECT COUNT(*) FROM catalog_order", [], |row| row.get(0))
            .unwrap();
        assert!(placed > 0, "{}", r.label);
        assert!(
            stock < 80,
            "{}: stock {stock} after {placed} orders",
            r.label
        );
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("## Your project"), "{summary}");
}

#[test]
fn a_project_that_needs_numpy_skips_subinterpreters_with_numpys_message() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let scenario = common::root().join("fixtures/scenarios/stats.yaml");
    let (doc, stderr) = run_ok(&scenario, tmp.path(), &out);
    let project = doc.plan.project.as_ref().unwrap();
    assert_eq!(project.skipped.len(), 1, "{:?}", project.skipped);
    let skipped = &project.skipped[0];
    assert_eq!(skipped.label, "subinterpreters");
    assert!(
        skipped.reason.contains("numpy") && skipped.reason.contains("subinterpreters"),
        "{}",
        skipped.reason
    );
    assert!(project.tasks.contains("web only"), "{}", project.tasks);
    let modes: Vec<&str> = doc.runs.iter().map(|r| r.mode.as_str()).collect();
    assert_eq!(modes, ["gunicorn_celery", "free_threaded"]);
    for r in &doc.runs {
        assert!(r.failure.is_none(), "{}: {:?}", r.label, r.failure);
        assert!(r.requests > 0 && r.errors == 0, "{}", r.label);
        // Web only: djbench starts no broker and no task workers.
        let cpu = &r.memory.as_ref().unwrap().cpu_cores;
        assert!(
            !cpu.contains_key("broker") && !cpu.contains_key("tasks"),
            "{}: {cpu:?}",
            r.label
        );
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("**Skipped** subinterpreters"), "{summary}");
    assert!(stderr.contains("skipping subinterpreters"), "{stderr}");
}

/// `app.asgi` names the project's own ASGI application: bookshop's answers `/asgi-health/`
/// itself, outside Django's URLs, so every answer of 200 there came through it.
#[test]
fn a_projects_own_asgi_application_is_served_over_asgi() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let scenario = tmp.path().join("bookshop_asgi.yaml");
    let project = common::root().join("fixtures/projects/bookshop");
    std::fs::write(
        &scenario,
        format!(
            "name: bookshop_asgi\n\
             app:\n  path: {}\n  settings: config.settings\n  asgi: config.asgi:application\n  \
             env: {{DATABASE_URL: \"{{db.url}}\"}}\n  setup: [manage.py migrate --no-input]\n\
             modes: [{{mode: free_threaded, interface: asgi}}]\n\
             workload: {{endpoints: [/asgi-health/, /health/], connections: 4, warmup: 1s}}\n",
            project.display()
        ),
    )
    .unwrap();
    let (doc, _) = run_ok(&scenario, tmp.path(), &out);
    let plan = doc.plan.project.as_ref().unwrap();
    assert_eq!(plan.asgi.as_deref(), Some("config.asgi:application"));
    let r = &doc.runs[0];
    assert!(r.failure.is_none(), "{:?}", r.failure);
    assert_eq!(r.interface.as_deref(), Some("asgi"));
    let load = r.load.as_ref().unwrap();
    for path in ["/asgi-health/", "/health/"] {
        let e = load.endpoints.iter().find(|e| e.path == path).unwrap();
        assert!(e.requests > 0 && e.errors == 0, "{path}: {e:?}");
    }
}

#[test]
fn init_writes_a_scenario_that_runs_in_the_project() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("bookshop");
    copy_dir(&common::root().join("fixtures/projects/bookshop"), &project);
    let init = common::djbench()
        .current_dir(&project)
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(
        init.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let (doc, stderr) = run_ok(Path::new("djbench.yaml"), &project, Path::new("out"));
    assert_eq!(doc.runs.len(), 3, "{stderr}");
    for r in &doc.runs {
        assert!(r.failure.is_none(), "{}: {:?}", r.label, r.failure);
        assert!(r.requests > 0 && r.errors == 0, "{}: {:?}", r.label, r.load);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        // A local run of the fixture may have left its database or caches.
        if name == "__pycache__" || name.to_string_lossy().ends_with(".sqlite3") {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
