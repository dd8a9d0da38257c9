//! The command line as a user meets it: exit codes, and what the messages say and point at.

mod common;
use common::{djbench, root};

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn shipped() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_is_valid() {
    let files = shipped();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "gunicorn_celery",
        "subinterpreters",
        "free_threaded",
        "compare_modes",
        "talk_demo",
        "ci_smoke",
        "compare_modes_postgres",
        "scaling",
        "task_durability",
        "broker_outage",
        "free_threaded_talk",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "scenarios/{want}.yaml is missing"
        );
    }
    djbench().arg("validate").args(&files).assert().success();
}

/// Each invalid fixture: the line and column the error must name, and words it must say.
const INVALID: &[(&str, u64, u64, &str)] = &[
    (
        "wsgi_server_over_asgi",
        5,
        13,
        "server `cheroot` cannot run in mode `free_threaded` over asgi: it is a WSGI server",
    ),
    (
        "uvicorn_over_wsgi",
        4,
        13,
        "server `uvicorn` cannot run in mode `gunicorn_celery` over wsgi: uvicorn serves ASGI only",
    ),
    (
        "fault_outside_window",
        5,
        10,
        "a fault at 12s falls outside the measured window of 10s",
    ),
    ("fault_unknown_target", 4, 11, "unknown value `scheduler`"),
    (
        "fault_role_missing",
        5,
        20,
        "no `broker` to signal: deployment `subinterpreters` (subinterpreters) has no broker",
    ),
    (
        "task_backend_wrong_mode",
        4,
        19,
        "task backend `memory` does not run in mode `gunicorn_celery`",
    ),
    ("unknown_key", 4, 3, "unknown key `duraton`"),
    ("bad_duration", 3, 13, "`10 parsecs` is not a duration"),
    (
        "duration_without_unit",
        3,
        11,
        "a duration needs a unit: write `5s`",
    ),
    (
        "workers_per_core_misspelt",
        4,
        18,
        "`4/cpu` is not a count of workers: expected a whole number from 1 to 256, or a whole number a core",
    ),
    (
        "zero_workers",
        4,
        18,
        "0 is out of range: expected a whole number from 1 to 256",
    ),
    (
        "negative_rate",
        4,
        9,
        "rate must be more than 0 per second, got -200",
    ),
    ("unknown_mode", 4, 5, "unknown value `uwsgi`"),
    ("duplicate_key", 4, 3, "duplicate key `connections`"),
    (
        "wrong_type",
        3,
        3,
        "expected a whole number from 1 to 10000",
    ),
    ("empty", 1, 1, "the file is empty"),
    ("comments_only", 1, 1, "the file is empty"),
    ("not_yaml", 3, 9, "illegal placement of ':' indicator"),
    ("not_utf8", 2, 1, "not UTF-8 text: byte 0xff"),
    (
        "server_in_wrong_mode",
        4,
        13,
        "server `granian` cannot run in mode `subinterpreters`",
    ),
    ("open_without_rate", 3, 10, "an open loop needs `rate:`"),
    (
        "duplicate_label",
        4,
        5,
        "two deployments are both called `free_threaded`",
    ),
    ("zero_weight", 5, 15, "weight must be more than 0, got 0"),
    ("endpoint_url", 4, 7, "must start with `/`"),
    (
        "json_and_form",
        7,
        13,
        "`json` and `form` are both set: an endpoint sends one body",
    ),
    (
        "body_on_get",
        6,
        9,
        "a GET request sends no body, but this endpoint has `json`",
    ),
    (
        "status_out_of_range",
        6,
        15,
        "42 is out of range: expected a whole number from 100 to 599",
    ),
    ("bad_method", 5, 15, "unknown value `post`"),
    ("bad_header", 7, 9, "`Bad Name` is not a header name"),
    (
        "login_url",
        4,
        10,
        "login url `accounts/login/` must start with `/`",
    ),
    (
        "login_env_name",
        6,
        15,
        "`$PASSWORD` is not an environment variable name (`workload.login.password`)",
    ),
    (
        "bad_cookie",
        4,
        12,
        "the value of cookie `theme` cannot be sent",
    ),
    ("bad_threshold", 3, 15, "write a percentage with its % sign"),
    (
        "future_version",
        1,
        10,
        "scenario format version 2 is not known",
    ),
    ("bad_name", 1, 7, "is not a usable name"),
    ("two_documents", 3, 1, "a scenario is one YAML document"),
    ("not_a_mapping", 1, 1, "expected a mapping here"),
    (
        "isolation_overlap",
        4,
        3,
        "CPU 0 is in both `harness` and `deployment`",
    ),
    (
        "zero_backlog",
        4,
        14,
        "0 is out of range: expected a whole number from 1 to 65535",
    ),
    (
        "huge_duration",
        3,
        13,
        "`1000000000000s` is too long: a scenario's durations are at most 1day",
    ),
    ("huge_rate", 3, 9, "rate 5000000000 is too high: at most"),
    (
        "long_timeout",
        3,
        12,
        "`timeout` of 2h is too long: at most 1h",
    ),
    (
        "sweep_two_parameters",
        4,
        17,
        "`sweep` varies one parameter, but names both `web_workers` and `task_workers`",
    ),
    (
        "sweep_repeated_value",
        3,
        26,
        "`sweep.web_workers` lists 2 twice (first at line 3)",
    ),
    (
        "sweep_out_of_range",
        4,
        20,
        "512 is out of range: expected a whole number from 1 to 256",
    ),
    (
        "sweep_threads_free_threaded",
        6,
        7,
        "`threads` does not apply to free_threaded",
    ),
];

#[test]
fn every_invalid_fixture_exits_2_naming_file_line_and_column() {
    let dir = root().join("fixtures/scenarios/invalid");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = INVALID.iter().map(|(n, ..)| n.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "every invalid fixture needs an expectation here"
    );

    for (name, line, column, words) in INVALID {
        let file = format!("fixtures/scenarios/invalid/{name}.yaml");
        let place = format!("{file}:{line}:{column}: ");
        let out = djbench().args(["validate", &file]).assert().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.contains(&place),
            "{name}: expected `{place}` in:\n{stderr}"
        );
        assert!(
            stderr.contains(words),
            "{name}: expected `{words}` in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name} panicked:\n{stderr}");
    }
}

#[test]
fn errors_show_the_offending_line_with_a_caret_and_a_hint() {
    djbench()
        .args(["validate", "fixtures/scenarios/invalid/unknown_key.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("4 |   duraton: 20s"))
        .stderr(predicate::str::contains("  |   ^^^^^^^"))
        .stderr(predicate::str::contains("help: did you mean `duration`?"));
}

#[test]
fn cross_field_errors_are_all_reported_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.yaml");
    std::fs::write(
        &file,
        "name: many\nmodes:\n  - mode: free_threaded\n    threads: 4\n  - mode: subinterpreters\n    server: gunicorn_sync\nworkload:\n  model: closed\n  rate: 50\n",
    )
    .unwrap();
    let out = djbench().arg("validate").arg(&file).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let at = |needle: &str| {
        stderr
            .find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{stderr}"))
    };
    assert!(at("many.yaml:4:14:") < at("many.yaml:6:13:"));
    assert!(at("many.yaml:6:13:") < at("many.yaml:9:9:"));
    assert!(stderr.contains("help: set `web_workers: 8`"), "{stderr}");
}

#[test]
fn a_missing_scenario_exits_2_naming_every_path_tried() {
    djbench()
        .args(["scenario", "does_not_exist"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no scenario `does_not_exist`"))
        .stderr(predicate::str::contains("does_not_exist\n"))
        .stderr(predicate::str::contains("scenarios/does_not_exist.yaml"));
}

#[test]
fn a_bare_name_with_or_without_yaml_resolves_in_scenarios() {
    for name in ["free_threaded", "free_threaded.yaml"] {
        djbench()
            .args(["scenario", name, "--dry-run"])
            .assert()
            .success()
            .stdout(predicate::str::contains("scenarios/free_threaded.yaml"));
    }
}

/// An installed djbench carries its sample app and shipped scenarios: a copy of the binary,
/// run from an empty folder with an empty cache, writes them into the cache and finds them.
#[test]
fn a_copied_binary_works_from_an_empty_folder_with_an_empty_cache() {
    let elsewhere = tempfile::tempdir().unwrap();
    let bin = elsewhere.path().join("bin/djbench");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(assert_cmd::cargo::cargo_bin("djbench"), &bin).unwrap();
    let (work, cache) = (
        elsewhere.path().join("work"),
        elsewhere.path().join("cache"),
    );
    std::fs::create_dir_all(&work).unwrap();
    let run = |args: &[&str]| {
        Command::new(&bin)
            .current_dir(&work)
            .env("XDG_CACHE_HOME", &cache)
            .args(args)
            .assert()
            .success()
    };
    run(&["list"]).stdout(predicate::str::contains("compare_modes"));
    run(&["validate", "compare_modes"]).stdout(predicate::str::contains("ok"));
    run(&["scenario", "compare_modes", "--dry-run"])
        .stdout(predicate::str::contains("compare_modes"));
    let shipped: Vec<_> = std::fs::read_dir(cache.join("djbench/shipped"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert!(shipped[0].join("django_sample/manage.py").is_file());
    assert!(
        shipped[0]
            .join("django_sample/serve/subinterpreters.py")
            .is_file()
    );
    assert!(shipped[0].join("scenarios/compare_modes.yaml").is_file());
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "nothing written where it ran"
    );
}

#[test]
fn a_bare_name_resolves_from_any_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    Command::cargo_bin("djbench")
        .unwrap()
        .current_dir(elsewhere.path())
        .args(["scenario", "ci_smoke", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ci_smoke"));
}

#[test]
fn the_dry_run_plan_interleaves_modes_and_applies_overrides() {
    let out = djbench()
        .args([
            "scenario",
            "compare_modes",
            "--dry-run",
            "--json",
            "--repetitions",
            "2",
            "--duration",
            "10s",
            "--out",
            "/tmp/x",
        ])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let runs = doc["plan"]["runs"].as_array().unwrap();
    let order: Vec<(u64, u64)> = runs
        .iter()
        .map(|r| {
            (
                r["repetition"].as_u64().unwrap(),
                r["deployment"].as_u64().unwrap(),
            )
        })
        .collect();
    // ABBA: the second repetition runs the deployments in reverse.
    assert_eq!(order, vec![(1, 0), (1, 1), (1, 2), (2, 2), (2, 1), (2, 0)]);
    assert_eq!(doc["plan"]["duration"], 10.0);
    assert_eq!(doc["plan"]["out"], "/tmp/x");
    // 6 runs × (3 s quiet + 5 s warm-up + 10 s measured)
    assert_eq!(doc["plan"]["idle"], 3.0);
    assert_eq!(doc["load_seconds"], 108.0);
}

#[test]
fn the_dry_run_table_shows_every_run_and_the_wall_time() {
    djbench()
        .args(["scenario", "talk_demo", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("free_threaded_with_gil"))
        .stdout(predicate::str::contains("gil_twin"))
        .stdout(predicate::str::contains(
            "Wall time  at least 2m 35s of load over 5 runs",
        ))
        .stdout(predicate::str::contains("Dry run: nothing was deployed."));
}

/// A GET is named by its path as before; any other method by method and path.
#[test]
fn the_dry_run_names_endpoints_by_method_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("writes.yaml");
    std::fs::write(
        &file,
        "name: writes\nworkload:\n  endpoints:\n    - /hello\n    - {path: /api/orders/, \
         method: POST, json: {book: 1}, status: 201, weight: 3}\n",
    )
    .unwrap();
    djbench()
        .arg("scenario")
        .arg(&file)
        .arg("--dry-run")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Endpoints  /hello 25%, POST /api/orders/ 75%",
        ));
}

#[test]
fn a_sweep_plans_every_deployment_once_per_value() {
    let out = djbench()
        .args(["scenario", "scaling", "--dry-run", "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let modes = doc["scenario"]["modes"].as_array().unwrap();
    let shape: Vec<(&str, u64)> = modes
        .iter()
        .map(|m| {
            (
                m["label"].as_str().unwrap(),
                m["web_workers"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shape.len(), 12);
    assert_eq!(shape[0], ("gunicorn_celery_web1", 1));
    assert_eq!(shape[3], ("gunicorn_celery_web8", 8));
    assert_eq!(shape[6], ("subinterpreters_web4", 4));
    assert_eq!(shape[11], ("free_threaded_web8", 8));
    assert_eq!(doc["plan"]["runs"].as_array().unwrap().len(), 12);
    // Under the quarter hour the scenario promises, before start-ups.
    assert!(
        doc["load_seconds"].as_f64().unwrap() < 600.0,
        "{}",
        doc["load_seconds"]
    );
    djbench()
        .args(["scenario", "scaling", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "web_workers 1, 2, 4, 8: every deployment once per value (LABEL_webN)",
        ))
        .stdout(predicate::str::contains("free_threaded_web8"));
}

#[test]
fn what_this_build_cannot_run_is_refused_before_anything_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("own_python.yaml");
    let yaml = "name: own_python\nmodes:\n  - mode: free_threaded\n    python: /opt/python3.14t\n";
    std::fs::write(&file, yaml).unwrap();
    let out = tmp.path().join("out");
    djbench()
        .arg("scenario")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`python: /opt/python3.14t` cannot be used",
        ));
    assert!(!out.exists(), "it started before refusing");
}

/// A login password read from an unset variable is bad input, told before anything is
/// provisioned or deployed, for a run and for a capacity search alike.
#[test]
fn an_unset_login_variable_is_refused_before_anything_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("account.yaml");
    let yaml = "name: account
workload:
  login:
    url: /accounts/login/
    \
                username: bench
    password: {env: DJBENCH_TEST_UNSET_PASSWORD}
  \
                endpoints: [/account/]
";
    std::fs::write(&file, yaml).unwrap();
    let out = tmp.path().join("out");
    for command in ["scenario", "capacity"] {
        djbench()
            .arg(command)
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .env_remove("DJBENCH_TEST_UNSET_PASSWORD")
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "`workload.login.password` reads the environment variable \
                 `DJBENCH_TEST_UNSET_PASSWORD`, which is not set",
            ));
        assert!(!out.exists(), "{command} started before refusing");
    }
}

#[test]
fn bad_flags_name_the_flag_and_exit_2() {
    djbench()
        .args(["scenario", "ci_smoke", "--dry-run", "--duration", "30"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--duration"))
        .stderr(predicate::str::contains("unit"));
    djbench()
        .args(["scenario", "ci_smoke", "--dry-run", "--repetitions", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--repetitions"));
}

#[test]
fn list_shows_every_shipped_scenario_and_every_mode() {
    let assert = djbench().arg("list").assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    for file in shipped() {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(stdout.contains(&name), "{name} missing from:\n{stdout}");
    }
    for mode in ["gunicorn_celery", "subinterpreters", "free_threaded"] {
        assert!(stdout.contains(mode));
    }
    assert!(!stdout.contains("INVALID"), "{stdout}");
}

#[test]
fn help_lists_only_the_commands_that_exist() {
    let assert = djbench().arg("--help").assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let listed: Vec<&str> = stdout
        .split("Commands:")
        .nth(1)
        .and_then(|c| c.split("Options:").next())
        .unwrap_or("")
        .lines()
        // A command's line, not a description's continuation.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        listed,
        [
            "scenario", "demo", "validate", "list", "check", "init", "setup", "doctor", "load",
            "capacity", "compare", "report", "schema", "help"
        ],
        "{stdout}"
    );
}

#[test]
fn demo_and_live_refuse_what_they_cannot_do() {
    let assert = djbench()
        .args(["scenario", "ci_smoke", "--live", "--dry-run"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("--dry-run"), "{stderr}");
    let assert = djbench()
        .args(["demo", "no_such_scenario"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("no_such_scenario"), "{stderr}");
}

/// `djbench list | head -1`: a reader that stops early ends djbench quietly with 141 (as a
/// shell reports SIGPIPE), never with a panic. Here the reader is gone before the first line.
#[test]
fn a_reader_that_stops_early_ends_djbench_without_a_panic() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_djbench"))
        .current_dir(common::root())
        .arg("list")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
