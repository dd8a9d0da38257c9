//! Fault runs for real, short: the representative cases of the shipped `task_durability`
//! scenario (which `just durability` runs in full). A kill of the subinterpreters process loses
//! exactly the tasks queued or running in its memory, and the supervisor brings it back; with
//! the database backend nothing is lost; a celery child killed while it runs a task, under
//! acks_late, has it redelivered. Every fault
//! is recorded with its time, and no process of the deployment is left.

mod common;

use std::time::Duration;

use djbench::results::{Results, RunResult};

const SCENARIO: &str = r#"
name: faults_ci
modes:
  - {mode: subinterpreters, task_backend: memory, label: memory}
  - {mode: free_threaded, task_backend: database, label: database}
  - {mode: gunicorn_celery, task_backend: celery_acks_late, label: acks_late}
workload:
  endpoints: [/hello]
  rate: 50
  warmup: 1s
  duration: 7s
  repetitions: 1
  timeout: 5s
tasks:
  rate: 10
  kind: io
  size: 300
  drain_timeout: 15s
  visibility_timeout: 5s
sampling:
  idle: 0s
faults:
  - {at: 3s, kill: task_worker}
restart: always
"#;

fn run<'a>(doc: &'a Results, label: &str) -> &'a RunResult {
    doc.runs
        .iter()
        .find(|r| r.label == label)
        .unwrap_or_else(|| panic!("no run {label}"))
}

#[test]
fn a_kill_loses_what_memory_held_and_acks_late_redelivers_and_nothing_is_left() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("faults_ci.yaml");
    std::fs::write(&file, SCENARIO).unwrap();
    let out = tmp.path().join("out");
    let output = common::djbench()
        .arg("scenario")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        common::processes_using(&out).is_empty(),
        "a process of a fault run outlived it"
    );
    let doc = djbench::results::read(&out.join("results.json")).unwrap();

    // subinterpreters, memory: the process dies with its queue and is started again.
    let memory = run(&doc, "memory");
    assert!(memory.fault_run());
    let f = memory.faults.as_ref().unwrap();
    let kill = &f.events[0];
    assert!(kill.pid.is_some() && kill.error.is_none(), "{kill:?}");
    assert!((kill.at_s - 3.0).abs() < 0.2, "sent at {} s", kill.at_s);
    let death = &f.deaths[0];
    assert!(death.restarted_s.is_some(), "{death:?}");
    assert!(
        kill.first_success_after_s
            .is_some_and(|s| s > 0.0 && s < 15.0),
        "{kill:?}"
    );
    let ledger = f
        .ledger
        .as_ref()
        .expect("the ledger is read after the restart");
    assert_eq!(
        Some(ledger.lost),
        kill.of_those_lost,
        "lost tasks are exactly those queued or running at the kill: {ledger:?}"
    );
    assert!(ledger.finished_once > 0, "{ledger:?}");
    assert_eq!(
        memory.task_durability.as_ref().unwrap().backend.name(),
        "memory"
    );

    // free_threaded, database: the queued tasks outlive the process; what was running stays
    // marked running, on its own line, and nothing is lost.
    let database = run(&doc, "database");
    let f = database.faults.as_ref().unwrap();
    let ledger = f.ledger.as_ref().unwrap();
    assert_eq!(
        ledger.lost, 0,
        "the database backend lost a task: {ledger:?}"
    );
    assert_eq!(
        Some(ledger.still_running),
        f.events[0].of_those_stuck,
        "{ledger:?}"
    );

    // gunicorn_celery, acks_late: the killed child's task comes back and finishes.
    let celery = run(&doc, "acks_late");
    let f = celery.faults.as_ref().unwrap();
    let kill = &f.events[0];
    assert!(kill.pid.is_some(), "{kill:?}");
    let ledger = f.ledger.as_ref().unwrap();
    assert_eq!(ledger.lost, 0, "acks_late redelivers: {ledger:?}");
    assert_eq!(f.visibility_timeout_s, Some(5.0));
    let options = &celery.task_durability.as_ref().unwrap().options;
    assert_eq!(options["acks_late"], true, "{options}");
    assert_eq!(options["visibility_timeout_s"], 5.0, "{options}");
    // Celery replaces its own child: djbench's supervisor restarted nothing.
    assert!(f.deaths.is_empty(), "{:?}", f.deaths);

    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("## Faults"), "{summary}");
    assert!(summary.contains("fault run"), "{summary}");
}
