//! djbench ended from outside in the middle of a run, as a cancelled CI job, a closed terminal
//! or an impatient user would: killed outright, nothing of its deployments (PostgreSQL
//! included) is left 5 s later; signalled, it winds down, writes what it measured marked
//! incomplete and exits 1, leaving nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// One deployment at a time: the machine has two cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// A one-deployment scenario whose run lasts far longer than the test waits.
fn scenario(dir: &Path, mode: &str, postgres: bool) -> PathBuf {
    let path = dir.join(format!("{mode}.yaml"));
    let mut yaml = format!(
        "name: ended_{mode}\nmodes: [{mode}]\nworkload:\n  endpoints: [/hello, /db]\n  \
         connections: 2\n  warmup: 1s\n  duration: 120s\n  repetitions: 1\n\
         tasks: {{rate: 5, kind: io, size: 5, drain_timeout: 5s}}\n"
    );
    if postgres {
        yaml.push_str("database: postgres\n");
    }
    std::fs::write(&path, yaml).unwrap();
    path
}

/// djbench running `scenario` into `out`; its output into files beside it (a pipe nobody
/// reads could stall it).
fn start(scenario: &Path, out: &Path) -> Child {
    let log = |name: &str| std::fs::File::create(out.with_extension(name)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_djbench"))
        .arg("scenario")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .current_dir(common::root())
        .env("CI", "true")
        .stdin(Stdio::null())
        .stdout(log("stdout"))
        .stderr(log("stderr"))
        .spawn()
        .unwrap()
}

fn stderr_of(out: &Path) -> String {
    std::fs::read_to_string(out.with_extension("stderr")).unwrap_or_default()
}

/// A live (not zombie) process's parent and session, from /proc.
fn parent_and_session(pid: i32) -> Option<(i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    (f.first() != Some(&"Z")).then_some((f.get(1)?.parse().ok()?, f.get(3)?.parse().ok()?))
}

fn pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

fn is_watchdog(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("__djbench-watchdog"))
}

/// What djbench has running: the sessions its children lead (each leader and each helper
/// command starts one; the watchdog aside; children in djbench's own session, which is the
/// test's, are not the deployment's), the watchdog, and every live process of those sessions
/// or working inside `pg` (PostgreSQL's).
struct Seen {
    sessions: Vec<i32>,
    watchdog: Option<i32>,
    processes: Vec<i32>,
}

fn seen(djbench: i32, pg: &Path) -> Seen {
    let all = pids();
    let children: Vec<i32> = all
        .iter()
        .copied()
        .filter(|&p| parent_and_session(p).is_some_and(|(ppid, _)| ppid == djbench))
        .collect();
    let watchdog = children.iter().copied().find(|&p| is_watchdog(p));
    let sessions: Vec<i32> = children
        .iter()
        .copied()
        .filter(|&p| Some(p) != watchdog && parent_and_session(p).is_some_and(|(_, sid)| sid == p))
        .collect();
    let processes = all
        .into_iter()
        .filter(|&p| {
            parent_and_session(p).is_some_and(|(_, sid)| sessions.contains(&sid))
                || (std::fs::read_link(format!("/proc/{p}/cwd")).is_ok_and(|c| c.starts_with(pg))
                    && parent_and_session(p).is_some())
        })
        .collect();
    Seen {
        sessions,
        watchdog,
        processes,
    }
}

/// Of what djbench runs, the deployment's own processes: not the commands that prepare the
/// database, nor PostgreSQL.
fn served_by(s: &Seen, pg: &Path) -> usize {
    s.processes
        .iter()
        .filter(|&&p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            !["manage.py", "psql", "pg_ctl", "initdb"]
                .iter()
                .any(|h| cmd.contains(h))
                && !std::fs::read_link(format!("/proc/{p}/cwd")).is_ok_and(|c| c.starts_with(pg))
        })
        .count()
}

/// Waits until the run's deployment has at least `processes` processes, then lets it become
/// ready and measure for a while; returns what djbench has running.
fn measuring(child: &mut Child, out: &Path, processes: usize) -> Seen {
    let djbench = child.id() as i32;
    let pg = out.join("postgres");
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("djbench ended ({status}):\n{}", stderr_of(out));
        }
        if served_by(&seen(djbench, &pg), &pg) >= processes {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the deployment did not start:\n{}",
            stderr_of(out)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Ready (a few seconds of Django's start) and past the 1 s warm-up: measuring.
    std::thread::sleep(Duration::from_secs(6));
    let s = seen(djbench, &pg);
    assert!(s.watchdog.is_some(), "no watchdog beside djbench");
    s
}

/// Waits up to `limit` for every process of `before` (and any new one of its sessions or in
/// `pg`) and the watchdog to be gone; returns those still alive.
fn left_after(before: &Seen, pg: &Path, limit: Duration) -> Vec<i32> {
    let deadline = Instant::now() + limit;
    loop {
        let mut left: Vec<i32> = pids()
            .into_iter()
            .filter(|&p| {
                parent_and_session(p).is_some_and(|(_, sid)| before.sessions.contains(&sid))
                    || (before.processes.contains(&p) && parent_and_session(p).is_some())
                    || (Some(p) == before.watchdog && parent_and_session(p).is_some())
                    || (std::fs::read_link(format!("/proc/{p}/cwd"))
                        .is_ok_and(|c| c.starts_with(pg))
                        && parent_and_session(p).is_some())
            })
            .collect();
        left.sort_unstable();
        left.dedup();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn describe(pids: &[i32]) -> String {
    pids.iter()
        .map(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            format!("{p}: {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// SIGKILL once the deployment measures: within 5 s nothing of it is left, nor the watchdog.
fn killed_outright(mode: &str, postgres: bool, processes: usize) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    // The postgres user must reach the cluster's folder inside the run folder.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let mut child = start(&scenario(tmp.path(), mode, postgres), &out);
    let before = measuring(&mut child, &out, processes);
    let pg = std::fs::canonicalize(&out)
        .unwrap_or(out.clone())
        .join("postgres");
    if postgres {
        assert!(
            before
                .processes
                .iter()
                .any(|&p| std::fs::read_link(format!("/proc/{p}/cwd"))
                    .is_ok_and(|c| c.starts_with(&pg))),
            "no PostgreSQL process seen: {}",
            describe(&before.processes)
        );
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let left = left_after(&before, &pg, Duration::from_secs(5));
    // Nothing left behind even when the check fails.
    for &p in &left {
        let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
    }
    assert!(
        left.is_empty(),
        "{mode}: alive 5 s after djbench was killed (of {} seen before):\n{}\n{}",
        before.processes.len(),
        describe(&left),
        stderr_of(&out)
    );
    if postgres {
        assert!(!pg.exists(), "the cluster's folder was left behind");
    }
    assert!(
        stderr_of(&out).contains("djbench watchdog: djbench ended without tearing down"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn sigkill_during_a_gunicorn_celery_run_on_postgres_leaves_no_process() {
    // redis, gunicorn's master and 2 workers, celery's master and 2 children; PostgreSQL.
    killed_outright("gunicorn_celery", true, 7);
}

#[test]
fn sigkill_during_a_subinterpreters_run_leaves_no_process() {
    killed_outright("subinterpreters", false, 1);
}

/// Signals once the deployment measures; returns djbench's exit code, its stderr and how long
/// it took to exit after the last signal, after checking that nothing is left.
/// Runs `mode`, waits until it measures, stops (SIGSTOP) every deployment process whose command
/// line contains `stall` (so a graceful teardown has to wait for them), then sends `signals`
/// 300 ms apart.
fn signalled(
    mode: &str,
    signals: &[Signal],
    processes: usize,
    stall: Option<&str>,
) -> (Option<i32>, String, Duration) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut child = start(&scenario(tmp.path(), mode, false), &out);
    let before = measuring(&mut child, &out, processes);
    let pid = Pid::from_raw(child.id() as i32);
    if let Some(stall) = stall {
        for &p in &before.processes {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmd).contains(stall) {
                let _ = kill(Pid::from_raw(p), Signal::SIGSTOP);
            }
        }
    }
    for (i, &sig) in signals.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        kill(pid, sig).unwrap();
    }
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if sent.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("djbench did not exit within 60 s:\n{}", stderr_of(&out));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = sent.elapsed();
    let left = left_after(&before, &out.join("postgres"), Duration::from_secs(5));
    assert!(left.is_empty(), "{mode}: left behind:\n{}", describe(&left));
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json"))
            .unwrap_or_else(|e| panic!("no results.json ({e}):\n{}", stderr_of(&out))),
    )
    .unwrap();
    assert_eq!(results["complete"], false, "{}", stderr_of(&out));
    (status.code(), stderr_of(&out), took)
}

#[test]
fn sighup_winds_down_writes_incomplete_results_and_exits_1() {
    let (code, stderr, _) = signalled("free_threaded", &[Signal::SIGHUP], 1, None);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("SIGHUP"), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn a_second_signal_kills_the_deployment_at_once() {
    // celery stopped: the first signal's graceful teardown waits for it, so the second one
    // surely comes during the teardown (an idle deployment can be gone within the 300 ms).
    let (code, stderr, took) = signalled(
        "gunicorn_celery",
        &[Signal::SIGTERM, Signal::SIGINT],
        7,
        Some("celery"),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("again: killed the deployments"), "{stderr}");
    assert!(
        took < Duration::from_secs(8),
        "exited {took:?} after the second signal"
    );
}

/// Ctrl-C while the database is being migrated and seeded (a start-up wait): djbench stops
/// the command and exits at once, not when seeding is done.
#[test]
fn ctrl_c_during_start_up_returns_at_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut child = start(&scenario(tmp.path(), "free_threaded", false), &out);
    let djbench = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(120);
    let before = loop {
        let s = seen(djbench, &out.join("postgres"));
        let migrating = s.processes.iter().any(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("manage.py"))
        });
        if migrating {
            break s;
        }
        assert!(child.try_wait().unwrap().is_none(), "{}", stderr_of(&out));
        assert!(Instant::now() < deadline, "no migration seen");
        std::thread::sleep(Duration::from_millis(20));
    };
    kill(Pid::from_raw(djbench), Signal::SIGINT).unwrap();
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(30),
            "{}",
            stderr_of(&out)
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        took < Duration::from_secs(2),
        "exited {took:?} after Ctrl-C"
    );
    let left = left_after(&before, &out.join("postgres"), Duration::from_secs(2));
    assert!(left.is_empty(), "left behind:\n{}", describe(&left));
}

/// A short run of free_threaded with a panic injected at `fault` (debug builds): djbench exits
/// 1 saying so, the run's failure says it, and nothing of the deployment is left.
fn with_fault(fault: &str) -> (serde_json::Value, String) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("fault.yaml");
    std::fs::write(
        &path,
        "name: fault\nmodes: [free_threaded]\nworkload: {endpoints: [/hello], warmup: 1s, \
         duration: 2s, repetitions: 1}\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let output = common::djbench()
        .arg("scenario")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .env("DJBENCH_FAULT", fault)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(common::processes_using(&out).is_empty());
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["complete"], false);
    (results["runs"][0].clone(), stderr)
}

#[test]
fn a_panic_while_measuring_fails_the_run_and_exits_1() {
    let (run, stderr) = with_fault("measure");
    let failure = run["failure"].as_str().unwrap_or_default();
    assert!(
        failure.starts_with("djbench panicked: DJBENCH_FAULT=measure"),
        "{run:#}"
    );
    assert!(stderr.contains("djbench panicked"), "{stderr}");
}

#[test]
fn a_sampler_panic_leaves_the_memory_unknown_not_zero() {
    let (run, _) = with_fault("sampler");
    assert!(run["memory"].is_null(), "{:#}", run["memory"]);
    let failure = run["failure"].as_str().unwrap_or_default();
    assert!(failure.contains("the sampler panicked"), "{run:#}");
}
