//! Each mode deployed for real from the provisioned interpreters: every endpoint answers,
//! tasks all finish, the GIL state is what the mode promises, and teardown leaves nothing.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use djbench::deploy::{Deployment, process};
use djbench::provision::Flavour;
use djbench::scenario::model::{Mode, Server};
use serde_json::Value;

/// One deployment at a time: the machine has two cores.
static SERIAL: Mutex<()> = Mutex::new(());

use common::{provisioned, sample_spec as spec};

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Every listening socket of the deployment has the backlog asked for: read from the kernel
/// (ss), not from what the launcher was told.
fn assert_backlog(d: &Deployment, want: u32, what: &str) {
    let sockets = d
        .listening()
        .expect("ss (iproute2) lists the listening sockets");
    assert!(!sockets.is_empty(), "{what}: no listening socket found");
    for l in &sockets {
        assert_eq!(l.backlog, want, "{what}: {l:?}");
    }
}

/// A keep-alive closed loop of 8 connections on a CPU-bound view reaches both web workers,
/// each named in the app's worker header, neither far from half.
fn assert_both_workers_answer(d: &Deployment, mode: Mode) {
    use djbench::load::{self, Endpoint, LoadSpec, Model};
    let target = load::target(&d.base_url, false).unwrap();
    let report = load::run(&LoadSpec {
        addr: target.addr,
        host: target.host,
        endpoints: vec![Endpoint::get("/cpu?n=20000", 1.0)],
        model: Model::Closed { connections: 8 },
        warmup: Duration::from_millis(500),
        duration: Duration::from_secs(3),
        timeout: Duration::from_secs(10),
        threads: 1,
        control: Default::default(),
        name: "load",
    })
    .unwrap();
    let balance = djbench::results::WorkerBalance::of(&report.workers, mode.worker_unit(), 2)
        .unwrap_or_else(|| panic!("{mode}: no response named its worker"));
    assert_eq!(balance.shares.len(), 2, "{mode}: {balance:?}");
    for s in &balance.shares {
        assert!(
            (0.3..=0.7).contains(&s.share),
            "{mode}: a worker's share is far from half: {balance:?}"
        );
    }
}

/// Asserts that a response body is the right one for its endpoint.
type BodyCheck = fn(&str);

/// The acceptance checks every mode must pass.
fn exercise(mode: Mode, expect_gil: bool) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut d = Deployment::start(&spec(mode, tmp.path())).unwrap();
    let env = d
        .wait_ready(Duration::from_secs(90), &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env["mode"], mode.name());
    assert_eq!(env["gil_enabled"], expect_gil, "{env:#}");
    assert_backlog(&d, 777, mode.name());
    assert_both_workers_answer(&d, mode);

    let checks: [(&str, BodyCheck); 5] = [
        ("/hello", |b| {
            assert_eq!(json(b), serde_json::json!({"message": "hello"}))
        }),
        ("/db", |b| {
            let v = json(b);
            assert_eq!(v["top"].as_array().unwrap().len(), 20, "{v}");
            assert!(!v["countries"].as_array().unwrap().is_empty());
        }),
        ("/template", |b| {
            assert!(b.contains("<table>") && b.contains("R99C9"), "{b}")
        }),
        ("/cpu?n=1000", |b| {
            assert_eq!(json(b), serde_json::json!({"n": 1000, "result": 729977}))
        }),
        ("/io?ms=1", |b| {
            assert_eq!(json(b), serde_json::json!({"ms": 1}))
        }),
    ];
    for (path, check) in checks {
        for _ in 0..100 {
            let (status, body) = d.get(path).unwrap();
            assert_eq!(status, 200, "{path}: {body}");
            check(&body);
        }
    }

    for (kind, n) in [("io", 5), ("cpu", 2000)] {
        for _ in 0..50 {
            let v = d.get_json(&format!("/enqueue?kind={kind}&n={n}")).unwrap();
            assert!(v["id"].as_u64().is_some(), "{v}");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let tasks = loop {
        let t = d.get_json("/_djbench/tasks?limit=1").unwrap();
        if t["finished"] == 100 || Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(tasks["enqueued"], 100, "{tasks}");
    assert_eq!(tasks["finished"], 100, "tasks lost: {tasks}");

    if mode == Mode::Subinterpreters {
        let ids: BTreeSet<u64> = (0..60)
            .map(|_| {
                d.get_json("/_djbench/env").unwrap()["interpreter_id"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert!(
            ids.len() >= 2,
            "one interpreter answered everything: {ids:?}"
        );
        assert!(
            !ids.contains(&0),
            "the main interpreter served a request: {ids:?}"
        );
    }

    let sessions: Vec<i32> = d.session_roles().into_iter().map(|(sid, _)| sid).collect();
    assert!(!d.processes().is_empty());
    let teardown = d.stop();
    assert!(teardown.survivors.is_empty(), "{teardown:?}");
    for sid in sessions {
        assert!(
            process::session_members(sid).is_empty(),
            "session {sid} still has processes"
        );
    }
}

#[test]
fn gunicorn_celery_serves_every_endpoint_and_finishes_every_task() {
    exercise(Mode::GunicornCelery, true);
}

#[test]
fn subinterpreters_serve_from_several_interpreters_and_finish_every_task() {
    exercise(Mode::Subinterpreters, true);
}

#[test]
fn free_threaded_serves_without_the_gil_and_finishes_every_task() {
    exercise(Mode::FreeThreaded, false);
}

/// A free-threaded deployment whose GIL an extension module turned back on must fail loudly,
/// naming the module. The module is built here from fixtures/gilforcer/gilforcer.c.
#[test]
fn free_threaded_refuses_to_serve_when_a_module_turns_the_gil_on() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = spec(Mode::FreeThreaded, tmp.path());
    let python = &spec.python;
    let ask = |what: &str| {
        let out = std::process::Command::new(python)
            .args(["-c", &format!("import sysconfig; print(sysconfig.{what})")])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let include = ask("get_paths()['include']");
    let suffix = ask("get_config_var('EXT_SUFFIX')");
    let ext_dir = tmp.path().join("ext");
    std::fs::create_dir_all(&ext_dir).unwrap();
    let source = common::root().join("fixtures/gilforcer/gilforcer.c");
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC"])
        .arg(format!("-I{include}"))
        .arg(&source)
        .arg("-o")
        .arg(ext_dir.join(format!("gilforcer{suffix}")))
        .status()
        .unwrap();
    assert!(built.success(), "could not build the test extension");
    spec.env = vec![
        ("DJBENCH_PRELOAD".into(), "gilforcer".into()),
        ("PYTHONPATH".into(), ext_dir.display().to_string()),
    ];
    for server in [Server::Granian, Server::Waitress] {
        spec.server = server;
        let mut d = Deployment::start(&spec).unwrap();
        let err = d
            .wait_ready(Duration::from_secs(60), &Default::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("exited during start-up"), "{server}: {err}");
        assert!(
            err.contains("'gilforcer' turned the GIL back on"),
            "{server}: {err}"
        );
        assert!(d.stop().survivors.is_empty());
    }
}

/// Runs `djbench scenario SCENARIO --out OUT` to success and returns its summary table.
fn run_scenario(scenario: &std::ffi::OsStr, out: &Path, extra: &[&str]) -> String {
    let assert = common::djbench()
        .arg("scenario")
        .arg(scenario)
        .args(extra)
        .arg("--out")
        .arg(out)
        .timeout(Duration::from_secs(600))
        .assert();
    let output = assert.get_output();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    stdout
}

/// Runs `djbench scenario SCENARIO --out OUT` with `env`, expects exit 1 (a check failed) and
/// returns its stderr.
fn scenario_failing(scenario: &Path, out: &Path, env: &[(&str, &str)]) -> String {
    let output = common::djbench()
        .envs(env.iter().copied())
        .arg("scenario")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    stderr
}

/// The cells of the summary row for `label` (`run label #rep python GIL requests errors …`).
fn row<'a>(table: &'a str, label: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no row for {label}:\n{table}"))
        .split_whitespace()
        .collect()
}

#[test]
fn ci_smoke_deploys_loads_and_tears_down_every_mode() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    provisioned();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let stdout = run_scenario("ci_smoke".as_ref(), &out, &["--duration", "2s"]);
    for (label, gil) in [
        ("gunicorn_celery #1", "on"),
        ("subinterpreters #1", "on"),
        ("free_threaded #1", "off"),
    ] {
        let cells = row(&stdout, label);
        let row = cells.join(" ");
        // run, label, #rep, python, GIL, requests, errors, req/s, p50, p99, ΣPSS, ΣRSS, CPU,
        // tasks done, lost
        assert_eq!(cells[4], gil, "{row}");
        assert!(cells[5].parse::<u64>().unwrap() > 0, "no requests: {row}");
        assert_eq!(cells[6], "0", "errors: {row}");
        let pss: f64 = cells[10].parse().unwrap();
        let rss: f64 = cells[11].parse().unwrap();
        assert!(
            pss > 20.0 && rss >= pss,
            "ΣPSS {pss} MiB, ΣRSS {rss} MiB: {row}"
        );
        assert!(
            cells[12].parse::<f64>().unwrap() > 0.05,
            "no CPU seen: {row}"
        );
        assert_eq!(cells[14], "0", "lost tasks: {row}");
    }
    assert!(common::processes_using(&out).is_empty());

    let results: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["schema_version"], djbench::results::SCHEMA_VERSION);
    // What the runner wrote, its readers read: the typed model both ways.
    djbench::results::read(&out.join("results.json")).unwrap();
    assert_eq!(results["complete"], true);
    let runs = results["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for (run, (mode, gil)) in runs.iter().zip([
        ("gunicorn_celery", true),
        ("subinterpreters", true),
        ("free_threaded", false),
    ]) {
        assert_eq!(run["mode"], mode);
        assert_eq!(run["interpreter"]["gil_enabled"], gil, "{mode}");
        assert!(run["throughput_rps"].as_f64().unwrap() > 0.0, "{mode}");
        assert_eq!(run["errors"], 0, "{mode}");
        for p in ["p50", "p90", "p99", "p999", "max"] {
            assert!(run["latency_us"][p].as_u64().unwrap() > 0, "{mode} {p}");
        }
        for m in ["pss_bytes", "rss_bytes"] {
            for k in ["peak_bytes", "mean_bytes"] {
                assert!(run[m][k].as_u64().unwrap() > 10 << 20, "{mode} {m}.{k}");
            }
        }
        assert!(run["cpu"]["cores"].as_f64().unwrap() > 0.0, "{mode}");
        let tasks = &run["tasks"];
        assert_eq!(tasks["lost"], 0, "{mode}");
        assert!(tasks["finished"].as_u64().unwrap() > 0, "{mode}");
        assert!(
            tasks["enqueue_to_finish_us"]["p99"].as_u64().unwrap() > 0,
            "{mode}"
        );
        let generator = &run["load"]["generator"];
        assert!(
            generator["max_rss_bytes"].as_u64().unwrap() > 1 << 20,
            "{mode}"
        );
        assert!(
            generator["requests_exchanged"].as_u64().unwrap() > 0,
            "{mode}"
        );
        let share = run["memory"]["sampler_cpu_share"].as_f64().unwrap();
        assert!(share > 0.0 && share < 0.5, "{mode}: sampler {share}");
        // What makes rows comparable is recorded, measured.
        assert!(run["server_version"].is_string(), "{mode}");
        assert_eq!(run["serving"]["web_workers"], 2, "{mode}");
        assert!(run["serving_shape"].is_string(), "{mode}");
        let listening = run["listening"].as_array().unwrap();
        assert!(!listening.is_empty(), "{mode}");
        for l in listening {
            assert_eq!(l["backlog"], 1024, "{mode}: {l}");
        }
        let workers = &run["workers"];
        assert_eq!(workers["workers"], 2, "{mode}: {workers}");
        assert!(workers["max_deviation"].as_f64().unwrap() <= 1.0, "{mode}");
        let conn = run["connections_per_request"].as_f64().unwrap();
        // gunicorn's sync worker closes every connection; the others keep them alive.
        let closes = mode == "gunicorn_celery";
        assert_eq!(conn > 0.9, closes, "{mode}: {conn} connections per request");
        let harness = &run["harness"];
        let part = |k: &str| harness[k].as_f64().unwrap();
        assert!(part("web_load_seconds") > 0.0, "{mode}: {harness}");
        assert!(part("task_load_seconds") > 0.0, "{mode}: {harness}");
        assert!(part("sampler_seconds") > 0.0, "{mode}: {harness}");
        let sum = part("web_load_seconds")
            + part("task_load_seconds")
            + part("sampler_seconds")
            + part("orchestration_seconds")
            + part("other_seconds");
        assert!(
            (sum - part("cpu_seconds")).abs() < 0.05,
            "{mode}: the parts do not add up: {harness}"
        );
        let machine = part("share_of_machine");
        assert!(machine > 0.0 && machine < 0.5, "{mode}: {harness}");
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.starts_with("# djbench: ci_smoke"), "{summary}");
    assert!(
        summary.contains("All 2 held in every deployment"),
        "{summary}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<h1>djbench: ci_smoke</h1>"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 8, "charts");
    assert!(
        html.contains("Is the comparison fair?"),
        "the fairness table"
    );
}

#[test]
fn a_broken_threshold_fails_the_scenario_and_the_summary_says_which() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    provisioned();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("strict.yaml");
    std::fs::write(
        &scenario,
        "name: strict\nmodes: [free_threaded]\nworkload:\n  endpoints: [/hello]\n  \
         connections: 2\n  warmup: 1s\n  duration: 2s\n  repetitions: 1\nthresholds:\n  p50: 1us\n  \
         error_rate: 0%\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let stderr = scenario_failing(&scenario, &out, &[]);
    assert!(
        stderr.contains("threshold broken: free_threaded p50:") && stderr.contains("(limit 1us)"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.contains("- **broken**: free_threaded `p50`"),
        "{summary}"
    );
    assert!(!summary.contains("`error_rate`"), "{summary}");
    assert!(common::processes_using(&out).is_empty());
}

#[test]
fn a_task_table_that_cannot_be_read_makes_tasks_unknown_and_fails_lost_tasks() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    provisioned();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("tasks.yaml");
    std::fs::write(
        &scenario,
        "name: tasks_fault\nmodes: [free_threaded]\nworkload:\n  endpoints: [/hello]\n  \
         connections: 2\n  warmup: 1s\n  duration: 2s\n  repetitions: 1\ntasks:\n  rate: 5\n  \
         kind: io\n  drain_timeout: 5s\nthresholds:\n  lost_tasks: 0\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    // The sample app's task accounting view answers 500 (its tasks still run).
    let stderr = scenario_failing(&scenario, &out, &[("DJBENCH_FAULTS", "tasks_500")]);
    assert!(
        stderr.contains("threshold broken: free_threaded lost_tasks: unknown"),
        "{stderr}"
    );
    let doc = djbench::results::read(&out.join("results.json")).unwrap();
    let run = &doc.runs[0];
    assert!(run.tasks.is_none(), "{:?}", run.tasks);
    let why = run.tasks_unknown.as_deref().unwrap_or_default();
    assert!(why.contains("HTTP 500"), "{why}");
    // The task load itself went through: only reading the tasks back failed.
    let enqueues = run.task_load.as_ref().expect("the task load's report");
    assert!(enqueues.ok > 0 && enqueues.errors == 0, "{enqueues:?}");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("unknown"), "{summary}");
    assert!(common::processes_using(&out).is_empty());
}

#[test]
fn ctrl_c_in_the_middle_of_a_run_leaves_no_process() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    provisioned();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("djbench"))
        .args(["scenario", "ci_smoke", "--duration", "60s", "--out"])
        .arg(&out)
        .current_dir(common::root())
        .env("CI", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first deployment serves, then interrupt as a terminal would.
    let deadline = Instant::now() + Duration::from_secs(120);
    while common::processes_using(&out).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !common::processes_using(&out).is_empty(),
        "nothing was deployed"
    );
    std::thread::sleep(Duration::from_secs(3));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        common::processes_using(&out).is_empty(),
        "survivors: {:?}",
        common::processes_using(&out)
    );
}

#[test]
fn every_mode_serves_from_an_ephemeral_postgres_cluster_that_is_removed_after() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    provisioned();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let scenario = tmp.path().join("pg.yaml");
    std::fs::write(
        &scenario,
        "name: pg_smoke\nmodes: [gunicorn_celery, subinterpreters, free_threaded]\n\
         workload:\n  endpoints: [/hello, /db, \"/enqueue?kind=io&n=5\"]\n  warmup: 1s\n\
         \x20 duration: 2s\n  repetitions: 1\ntasks: {rate: 5, size: 5, drain_timeout: 20s}\n\
         database: postgres\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let stdout = run_scenario(scenario.as_os_str(), &out, &[]);
    for label in [
        "gunicorn_celery #1",
        "subinterpreters #1",
        "free_threaded #1",
    ] {
        let cells = row(&stdout, label);
        let row = cells.join(" ");
        assert!(cells[5].parse::<u64>().unwrap() > 0, "{row}");
        assert_eq!(
            (cells[6], cells[14]),
            ("0", "0"),
            "errors or lost tasks: {row}"
        );
    }
    assert!(
        !out.join("postgres").exists(),
        "the cluster folder was kept"
    );
    assert!(common::processes_using(&out).is_empty());
}

#[test]
fn a_scenario_can_name_its_interpreter_by_path() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let ft = provisioned()
        .interpreters
        .iter()
        .find(|i| i.flavour == Flavour::FreeThreaded)
        .expect("a free-threaded interpreter")
        .path
        .clone();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("by_path.yaml");
    let yaml = format!(
        "name: by_path\nmodes:\n  - mode: free_threaded\n    python: {}\n\
         workload: {{endpoints: [/hello], warmup: 1s, duration: 2s, repetitions: 1}}\n",
        ft.display()
    );
    std::fs::write(&scenario, yaml).unwrap();
    let stdout = run_scenario(scenario.as_os_str(), &tmp.path().join("out"), &[]);
    let cells = row(&stdout, "free_threaded #1");
    assert_eq!((cells[4], cells[6]), ("off", "0"), "{cells:?}");
}

/// Every server a scenario can pick, not only the defaults: it serves, runs tasks, stops.
#[test]
fn every_selectable_server_serves_and_stops() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for mode in Mode::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let base = spec(mode, tmp.path());
        for &server in mode.servers().iter().skip(1) {
            let mut s = base.clone();
            s.server = server;
            s.threads = if server.is_single_threaded() { 1 } else { 2 };
            s.run_dir = tmp.path().join(server.name());
            let mut d = Deployment::start(&s).unwrap();
            let env = d
                .wait_ready(Duration::from_secs(90), &Default::default())
                .unwrap_or_else(|e| panic!("{mode} {server}: {e}"));
            assert_eq!(env["server"], server.name());
            assert!(env["server_version"].is_string(), "{mode} {server}: {env}");
            assert_backlog(&d, 777, &format!("{mode} {server}"));
            for _ in 0..20 {
                assert_eq!(d.get("/hello").unwrap().0, 200, "{mode} {server}");
            }
            for _ in 0..5 {
                d.get_json("/enqueue?kind=io&n=1").unwrap();
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while d.get_json("/_djbench/tasks?limit=1").unwrap()["finished"] != 5 {
                assert!(
                    Instant::now() < deadline,
                    "{mode} {server}: tasks did not finish"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            assert!(d.stop().survivors.is_empty(), "{mode} {server}");
        }
    }
}

/// djbench's ΣPSS of a forked tree (gunicorn's master and workers) against smem's figure for
/// the same processes, read one right after the other on an idle deployment.
#[test]
fn pss_of_a_forked_tree_matches_smem_within_two_percent() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut d = Deployment::start(&spec(Mode::GunicornCelery, tmp.path())).unwrap();
    d.wait_ready(Duration::from_secs(90), &Default::default())
        .unwrap();
    let web: Vec<i32> = d
        .processes()
        .into_iter()
        .filter(|(_, role)| *role == djbench::deploy::Role::Web)
        .map(|(pid, _)| pid)
        .collect();
    assert!(web.len() >= 3, "gunicorn master and 2 workers: {web:?}");
    // Readiness means one worker answered; let both finish starting before "idle".
    for _ in 0..20 {
        assert_eq!(d.get("/hello").unwrap().0, 200);
    }
    std::thread::sleep(Duration::from_secs(1));
    let before = djbench::sample::pss_now(&web) as f64;
    let out = std::process::Command::new("smem")
        .args(["-H", "-c", "pid pss"])
        .output()
        .expect("smem (apt-get install smem; .ci/run installs it)");
    let smem_kib: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let pid: i32 = f.next()?.parse().ok()?;
            let pss: u64 = f.next()?.parse().ok()?;
            web.contains(&pid).then_some(pss)
        })
        .sum();
    let theirs = (smem_kib * 1024) as f64;
    assert!(theirs > 0.0, "smem saw none of {web:?}");
    // smem read between djbench's two readings: compare with the nearer one.
    let after = djbench::sample::pss_now(&web) as f64;
    let ours = if (before - theirs).abs() < (after - theirs).abs() {
        before
    } else {
        after
    };
    let diff = (ours - theirs).abs() / theirs;
    assert!(
        diff < 0.02,
        "djbench {ours} B vs smem {theirs} B: {:.2}% apart",
        diff * 100.0
    );
    assert!(d.stop().survivors.is_empty());
}

/// `isolation:` places every process of a deployment, children born later included, on the
/// deployment's CPUs.
#[test]
fn a_placed_deployment_runs_only_on_its_cpus() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(Mode::GunicornCelery, tmp.path());
    s.cpus = Some(vec![1]);
    let mut d = Deployment::start(&s).unwrap();
    d.wait_ready(Duration::from_secs(90), &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let processes = d.processes();
    // gunicorn's master and workers, celery's master and children, redis.
    assert!(processes.len() >= 5, "{processes:?}");
    for (pid, role) in processes {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map(str::trim);
        assert_eq!(allowed, Some("1"), "{pid} ({role:?})");
    }
    assert!(d.stop().survivors.is_empty());
}
