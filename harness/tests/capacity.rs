//! `djbench capacity` against a server whose capacity is known: one request served at a time,
//! each for exactly 5 ms, so it completes at most 200 requests a second whatever the timer's
//! precision; below that nothing queues, above it the queue grows without bound. The search
//! must find 200 within 5%, and its trials must show the knee. Bad SLO input exits 2 naming
//! the flag, or the file with line and column.

mod common;
#[path = "common/server.rs"]
mod server;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use djbench::capacity::{Capacity, Verdict};
use http_body_util::Full;

/// The tests that put load on this machine take turns: the knee's latency bound measures the
/// generator's timing, and a neighbouring test's busy program or deployment on the same two
/// cores moved it (p99 25 ms below the knee, seen in CI).
static SERIAL: Mutex<()> = Mutex::new(());

const SERVICE: Duration = Duration::from_millis(5);
const CAPACITY: f64 = 200.0;

/// A single-server queue with a fixed service time: each request finishes `SERVICE` after
/// the later of its arrival and the previous request's finish. The finish times are computed,
/// not slept out, so a late timer delays one answer but never the server's pace.
fn one_worker_server() -> std::net::SocketAddr {
    let free_at = Arc::new(Mutex::new(Instant::now()));
    server::spawn_server(move |_| {
        let free_at = free_at.clone();
        async move {
            let done = {
                let mut f = free_at.lock().unwrap();
                *f = (*f).max(Instant::now()) + SERVICE;
                *f
            };
            tokio::time::sleep_until(done.into()).await;
            hyper::Response::new(Full::new(Bytes::from_static(b"ok")))
        }
    })
}

#[test]
fn the_search_finds_a_known_capacity_within_5_percent_and_the_curve_shows_the_knee() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let addr = one_worker_server();
    let out = common::djbench()
        .args(["capacity", &format!("http://{addr}/x"), "--json"])
        .args(["--p99", "50ms", "--start", "50", "--warmup", "500ms"])
        .args(["--window", "1500ms", "--passes", "2/3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let c: Capacity = serde_json::from_slice(&out.stdout).unwrap();
    let found = c.capacity_rps.expect("a capacity");
    assert!(
        (found / CAPACITY - 1.0).abs() <= 0.05,
        "found {found} req/s of {CAPACITY}: {stderr}"
    );
    let (lo, hi) = (c.last_pass_rps.unwrap(), c.first_fail_rps.unwrap());
    assert!((hi - lo) / lo <= 0.02, "{lo} {hi}");
    // The knee: below capacity the latency is the service time; well above it, the queue.
    let p99 = |t: &djbench::capacity::Trial| t.latency_us.unwrap().p99;
    let below: Vec<u64> = c
        .trials
        .iter()
        .filter(|t| t.offered_rps <= 0.9 * CAPACITY)
        .map(p99)
        .collect();
    let above: Vec<u64> = c
        .trials
        .iter()
        .filter(|t| t.offered_rps >= 1.2 * CAPACITY)
        .map(p99)
        .collect();
    assert!(!below.is_empty() && !above.is_empty(), "{stderr}");
    assert!(
        below.iter().all(|&p| p < 15_000),
        "below the knee: {below:?}"
    );
    assert!(
        above.iter().all(|&p| p > 100_000),
        "above the knee: {above:?}"
    );
    for t in &c.trials {
        if t.offered_rps >= 1.2 * CAPACITY {
            assert_eq!(t.verdict, Verdict::Fail);
            assert!(t.completed_rps < 0.95 * t.offered_rps, "{t:?}");
        }
        assert!(t.completed_rps <= CAPACITY * 1.05, "{t:?}");
    }
}

#[test]
fn a_first_load_above_capacity_stops_at_once_with_the_reason() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let addr = one_worker_server();
    let out = common::djbench()
        .args(["capacity", &format!("http://{addr}/x"), "--json"])
        .args(["--p99", "50ms", "--start", "400", "--warmup", "200ms"])
        .args(["--window", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let c: Capacity = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c.capacity_rps, None);
    assert_eq!(c.first_fail_rps, Some(400.0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the first load already failed"), "{stderr}");
    assert!(stderr.contains("p99"), "{stderr}");
}

#[test]
fn bad_slo_flags_exit_2_naming_the_flag() {
    for (flag, value) in [
        ("--p99", "-5ms"),
        ("--p99", "100"),
        ("--start", "0"),
        ("--max-error-rate", "-1%"),
        ("--tolerance", "0%"),
        ("--passes", "3/2"),
    ] {
        let out = common::djbench()
            .args(["capacity", "http://127.0.0.1:9/x", flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
}

#[test]
fn bad_slo_in_a_scenario_exits_2_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for (yaml, at, says) in [
        ("capacity:\n  p99: -5ms\n", ":3:8", "duration"),
        ("capacity:\n  p99: 100\n", ":3:8", "unit"),
        ("capacity:\n  start: 0\n", ":3:10", "more than 0"),
        ("capacity:\n  passes: 4\n  trials: 3\n", ":3:11", "passes"),
    ] {
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, format!("name: bad\n{yaml}")).unwrap();
        let out = common::djbench()
            .args(["capacity"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{yaml}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("bad.yaml{at}")),
            "{yaml}: {stderr}"
        );
        assert!(stderr.contains(says), "{yaml}: {stderr}");
    }
}

/// `djbench capacity SCENARIO --out OUT`, run to its end.
fn search_into(scenario: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    common::djbench()
        .arg("capacity")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Another program takes a core while a deployment is searched: every trial measured a
/// busier machine, so none is judged; each is run again, and after three in a row the search
/// ends saying why, with the figures the SLO alone would have given kept on record.
#[test]
fn a_search_beside_a_busy_program_is_disturbed_not_judged() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("busy.yaml");
    std::fs::write(
        &scenario,
        "name: busy\n\
         modes: [subinterpreters]\n\
         workload: {endpoints: [/hello], connections: 16, timeout: 2s}\n\
         capacity: {start: 50/s, warmup: 200ms, window: 1s, passes: 1, trials: 1}\n",
    )
    .unwrap();
    // Orphaned at once and adopted by init: a program outside djbench's process tree. It
    // stops by itself after 60 s, should this test be killed before it kills it.
    let spinner = std::process::Command::new("sh")
        .args([
            "-c",
            "bash -c 'while [ $SECONDS -lt 60 ]; do :; done' >/dev/null 2>&1 & echo $!",
        ])
        .output()
        .unwrap();
    let spinner: i32 = String::from_utf8_lossy(&spinner.stdout)
        .trim()
        .parse()
        .unwrap();
    let out = dir.path().join("out");
    let run = search_into(&scenario, &out);
    let _ = std::process::Command::new("kill")
        .args(["-9", &spinner.to_string()])
        .status();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let doc = djbench::results::read(&out.join("results.json")).unwrap();
    let c = &doc.capacity[0];
    assert_eq!(c.capacity_rps, None);
    assert!(
        matches!(c.end, djbench::capacity::End::Disturbed { offered_rps, .. } if offered_rps == 50.0),
        "{:?}",
        c.end
    );
    assert_eq!(c.trials.len(), 3, "{stderr}");
    for t in &c.trials {
        assert_eq!(t.verdict, Verdict::Disturbed);
        let i = t.interference.unwrap();
        assert!(i.others_cores > 0.5, "{i:?}");
        assert!(t.reasons[0].contains("other programs used"), "{t:?}");
        assert!(
            t.reasons[1].starts_with("the SLO alone would have"),
            "{t:?}"
        );
    }
    assert!(stderr.contains("were disturbed"), "{stderr}");
    assert!(common::processes_using(&out).is_empty());
}

/// The shipped `capacity` scenario's path, short: one real deployment (subinterpreters)
/// searched with one-second trials and a coarse tolerance. Every trial samples the
/// deployment, results.json carries the capacity with its bounds, and nothing is left
/// running. The full scenario is `just capacity` (2.5 to 4 minutes a deployment).
#[test]
fn a_deployment_is_searched_sampled_and_torn_down() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("capacity_smoke.yaml");
    std::fs::write(
        &scenario,
        "name: capacity_smoke\n\
         modes: [subinterpreters]\n\
         workload: {endpoints: [/hello, /db], connections: 64, timeout: 2s}\n\
         capacity: {p99: 100ms, start: 100/s, tolerance: 50%, warmup: 300ms, window: 1s, \
         passes: 1, trials: 1, max_interference: 100%}\n\
         thresholds: {capacity: 50/s}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = search_into(&scenario, &out);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let doc = djbench::results::read(&out.join("results.json")).unwrap();
    assert!(doc.complete);
    let c = &doc.capacity[0];
    assert_eq!(c.label, "subinterpreters");
    let (lo, hi) = (c.last_pass_rps.unwrap(), c.first_fail_rps.unwrap());
    assert_eq!(c.capacity_rps, Some(lo));
    assert!(lo >= 100.0 && hi > lo && (hi - lo) / lo <= 0.5, "{lo} {hi}");
    assert!(c.ready_seconds.is_some_and(|s| s > 0.0));
    assert!(doc.runs[0].ready_seconds.is_some());
    for t in &c.trials {
        assert!(t.cpu_cores.is_some_and(|c| c > 0.0), "{t:?}");
        assert!(t.pss_peak_bytes.is_some_and(|b| b > 10 << 20), "{t:?}");
    }
    assert!(stderr.contains("capacity"), "{stderr}");
    assert!(common::processes_using(&out).is_empty());
}

#[test]
fn a_target_that_only_fails_has_no_latency_to_show_and_no_capacity() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // Nothing listens on port 9: every request is refused at once, in well under a millisecond.
    let out = common::djbench()
        .args(["capacity", "http://127.0.0.1:9/x", "--json"])
        .args(["--start", "50", "--warmup", "0s", "--window", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let c: Capacity = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c.capacity_rps, None);
    let t = &c.trials[0];
    assert_eq!(t.verdict, Verdict::Fail);
    assert_eq!(t.error_rate, Some(1.0));
    assert_eq!(t.goodput_rps, 0.0);
    assert_eq!(
        t.latency_us, None,
        "a refused connection is not a fast answer"
    );
}
