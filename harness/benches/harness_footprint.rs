//! What watching costs, and what the harness holds over a long run.
//!
//! 1. Sampler overhead: a 10-process tree (a Python parent with nine forked children, each with
//!    a Python heap and its shared libraries mapped, like a small worker pool) sampled at 10 Hz
//!    RSS and 1 Hz PSS/USS, with the once-a-second scan of /proc for new processes; the sampler
//!    thread's own user + system CPU as a share of one core. Target: under 1%.
//! 2. Harness memory: the load generator (closed loop, 32 connections, four endpoints) against
//!    nginx and the sampler on the same tree, together in this process for `--minutes`; the
//!    process's RSS every 30 s and its peak (the kernel's high-water mark). Target: under 64 MB
//!    for a 10-minute run.
//!
//! `cargo bench --bench harness_footprint [-- --sampler-seconds 60 --minutes 10]`
//! Needs nginx and python3. Exits 1 if a target is missed.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Nginx, arg, require};
use djbench::deploy::{Leader, Role};
use djbench::load::{Endpoint, LoadSpec, Model};
use djbench::sample::Sampler;

const TREE: &str = "\
import os, time, json, decimal, email.parser, sqlite3, asyncio, http.client
for _ in range(9):
    if os.fork() == 0:
        time.sleep(86400)
        os._exit(0)
time.sleep(86400)
";

fn own_rss() -> u64 {
    procfs::process::Process::myself()
        .and_then(|p| p.statm())
        .map_or(0, |s| s.resident * procfs::page_size())
}

fn mib(b: u64) -> f64 {
    b as f64 / 1048576.0
}

fn main() {
    let sampler_secs: u64 = arg("--sampler-seconds", 60);
    let minutes: f64 = arg("--minutes", 10.0);
    let tools = require(&[
        ("nginx", "apt-get install nginx-light (or nginx)"),
        ("python3", "apt-get install python3"),
    ])
    .unwrap_or_else(|e| {
        eprintln!("harness_footprint: {e}");
        std::process::exit(2)
    });
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut cmd = Command::new(&tools[1]);
    cmd.args(["-c", TREE]);
    let mut tree = Leader::spawn("tree", Role::Tasks, cmd, &dir.path().join("tree.log"), None)
        .expect("python3 starts");
    let sessions = vec![(tree.session(), Role::Tasks)];
    let deadline = Instant::now() + Duration::from_secs(10);
    while djbench::deploy::process::session_members(tree.session()).len() < 10 {
        assert!(
            Instant::now() < deadline,
            "the tree did not reach 10 processes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // 1. The sampler alone.
    println!(
        "sampler: 10 processes (python3 + 9 forked children), RSS at 10 Hz, PSS/USS at 1 Hz, \
         {sampler_secs} s"
    );
    let sampler = Sampler::start(sessions.clone(), 10.0, 1.0, Instant::now());
    std::thread::sleep(Duration::from_secs(sampler_secs));
    let alone = sampler.finish().expect("the sampler's report");
    println!(
        "  {} RSS samples and {} PSS samples of {} processes; ΣPSS {:.1} MiB, ΣRSS {:.1} MiB",
        alone.rss_samples,
        alone.pss_samples,
        alone.max_processes,
        mib(alone.pss.total.peak_bytes),
        mib(alone.rss.total.peak_bytes)
    );
    println!(
        "  sampler thread: {:.3} s CPU in {sampler_secs} s = {:.3}% of one core",
        alone.sampler_cpu_seconds,
        alone.sampler_cpu_share * 100.0
    );
    let sampler_ok = alone.sampler_cpu_share < 0.01 && alone.max_processes == 10;

    // 2. Generator and sampler together for a long run.
    let nginx = Nginx::start(&tools[0], 0).unwrap_or_else(|e| {
        eprintln!("harness_footprint: {e}");
        std::process::exit(2)
    });
    let duration = Duration::from_secs_f64(minutes * 60.0);
    let spec = LoadSpec {
        addr: ([127, 0, 0, 1], nginx.port).into(),
        host: format!("127.0.0.1:{}", nginx.port),
        endpoints: [
            "/index.html",
            "/index.html?a",
            "/index.html?b",
            "/index.html?c",
        ]
        .iter()
        .zip([4.0, 3.0, 2.0, 1.0])
        .map(|(p, w)| Endpoint::get(*p, w))
        .collect(),
        model: Model::Closed { connections: 32 },
        warmup: Duration::from_secs(5),
        duration,
        timeout: Duration::from_secs(5),
        threads: 1,
        control: Default::default(),
        name: "load",
    };
    println!(
        "\nharness memory: generator (closed loop, 32 connections, 4 endpoints, nginx) and sampler \
         together for {minutes} min; RSS of this process every 30 s"
    );
    let start_rss = own_rss();
    let sampler = Sampler::start(sessions, 10.0, 1.0, Instant::now());
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let load = std::thread::spawn(move || {
        let r = djbench::load::run(&spec);
        flag.store(true, Ordering::Relaxed);
        r
    });
    let t0 = Instant::now();
    let mut series = Vec::new();
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(250));
        let t = t0.elapsed().as_secs();
        if series.last().is_none_or(|&(last, _)| t >= last + 30) {
            let rss = own_rss();
            println!("  {:>4} s  RSS {:.1} MiB", t, mib(rss));
            series.push((t, rss));
        }
    }
    let report = load
        .join()
        .expect("the load thread")
        .expect("a load report");
    let s = sampler.finish().expect("the sampler's report");
    let peak = djbench::load::max_rss_bytes();
    println!(
        "  load: {} requests, {} errors, {:.0} req/s; sampler: {} RSS samples, {} PSS samples, \
         {:.3}% of a core",
        report.requests,
        report.errors,
        report.throughput_rps,
        s.rss_samples,
        s.pss_samples,
        s.sampler_cpu_share * 100.0
    );
    let after_first_minute = series
        .iter()
        .find(|(t, _)| *t >= 60)
        .map_or(start_rss, |(_, r)| *r);
    println!(
        "  RSS at start {:.1} MiB, after the first minute {:.1} MiB, at the end {:.1} MiB; \
         peak {:.1} MiB",
        mib(start_rss),
        mib(after_first_minute),
        mib(series.last().map_or(0, |s| s.1)),
        mib(peak)
    );
    let memory_ok = peak < 64 * 1000 * 1000 && report.errors == 0;

    drop(nginx);
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(tree.session()),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = tree.child.wait();

    println!();
    println!(
        "  {}  sampler under 1% of a core (10 processes, 10 Hz RSS + 1 Hz PSS): {:.3}%",
        if sampler_ok { "PASS" } else { "FAIL" },
        alone.sampler_cpu_share * 100.0
    );
    println!(
        "  {}  harness peak RSS under 64 MB over {minutes} min: {:.1} MB",
        if memory_ok { "PASS" } else { "FAIL" },
        peak as f64 / 1e6
    );
    std::process::exit(if sampler_ok && memory_ok { 0 } else { 1 });
}
