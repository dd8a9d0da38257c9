//! The load generator's ceiling beside wrk and oha. nginx serves a 1 KiB static file from one
//! CPU; each generator in turn drives it from the other CPU (both pinned with taskset), closed
//! loop, same connections and duration, rounds interleaved (wrk, djbench, oha, wrk, …) so drift
//! on a shared machine hits all three alike. Then djbench's open loop at 5,000 req/s on the same
//! target, for send-time lateness. CPU per request is user + system time from the OS's
//! accounting of each finished process, divided by the requests it completed.
//!
//! `cargo bench --bench generator_ceiling [-- --seconds 10 --rounds 5 --connections 32]`
//! Needs nginx, wrk (Debian) and oha (`cargo install oha`). Exits 1 if a target is missed.

mod common;

use common::{Nginx, arg, measured, median, pinned, require};
use serde_json::Value;

const DJBENCH: &str = env!("CARGO_BIN_EXE_djbench");

struct Run {
    rps: f64,
    requests: f64,
    cpu: f64,
}

fn wrk(wrk: &std::path::Path, cpu: usize, url: &str, c: u32, secs: u32) -> Result<Run, String> {
    let mut cmd = pinned(cpu, wrk);
    cmd.args(["-t1", &format!("-c{c}"), &format!("-d{secs}s"), url]);
    let (out, cpu) = measured(cmd)?;
    let number = |prefix: &str, line_has: &str| -> Option<f64> {
        out.lines()
            .find(|l| l.contains(line_has))
            .and_then(|l| {
                l.trim()
                    .trim_start_matches(prefix)
                    .split_whitespace()
                    .next()
            })
            .and_then(|n| n.parse().ok())
    };
    let requests = number("", "requests in").ok_or_else(|| format!("wrk said: {out}"))?;
    let rps = number("Requests/sec:", "Requests/sec").ok_or_else(|| format!("wrk said: {out}"))?;
    if out.contains("Non-2xx") || out.contains("Socket errors") {
        return Err(format!("wrk saw errors: {out}"));
    }
    Ok(Run { rps, requests, cpu })
}

fn oha(oha: &std::path::Path, cpu: usize, url: &str, c: u32, secs: u32) -> Result<Run, String> {
    let mut cmd = pinned(cpu, oha);
    cmd.args([
        "-z",
        &format!("{secs}s"),
        "-c",
        &c.to_string(),
        "--no-tui",
        "--output-format",
        "json",
        url,
    ]);
    let (out, cpu) = measured(cmd)?;
    let v: Value = serde_json::from_str(&out).map_err(|e| format!("oha's JSON: {e}: {out}"))?;
    let ok = v["statusCodeDistribution"]["200"].as_f64().unwrap_or(0.0);
    let all: f64 = v["statusCodeDistribution"]
        .as_object()
        .map_or(0.0, |m| m.values().filter_map(Value::as_f64).sum());
    if ok != all || ok == 0.0 {
        return Err(format!(
            "oha saw non-200 answers: {}",
            v["statusCodeDistribution"]
        ));
    }
    Ok(Run {
        rps: v["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        requests: ok,
        cpu,
    })
}

fn djbench(cpu: usize, url: &str, load: &[String]) -> Result<(Value, f64), String> {
    let mut cmd = pinned(cpu, std::path::Path::new(DJBENCH));
    cmd.args(["load", url, "-t", "1", "--json"]).args(load);
    let (out, cpu) = measured(cmd)?;
    let v: Value = serde_json::from_str(&out).map_err(|e| format!("djbench's JSON: {e}: {out}"))?;
    if v["errors"].as_u64() != Some(0) {
        return Err(format!("djbench saw errors: {}", v["error_kinds"]));
    }
    Ok((v, cpu))
}

fn closed(cpu: usize, url: &str, c: u32, secs: u32) -> Result<Run, String> {
    let load = [
        "-c".into(),
        c.to_string(),
        "-d".into(),
        format!("{secs}s"),
        "--warmup".into(),
        "0s".into(),
    ];
    let (v, cpu) = djbench(cpu, url, &load)?;
    Ok(Run {
        rps: v["throughput_rps"].as_f64().unwrap_or(0.0),
        // Every exchange, as wrk and oha count theirs (there is no warm-up here anyway).
        requests: v["generator"]["requests_exchanged"].as_f64().unwrap_or(0.0),
        cpu,
    })
}

fn main() {
    // `cargo bench` passes --bench to every bench; this one takes only its own flags.
    let secs: u32 = arg("--seconds", 10);
    let rounds: u32 = arg("--rounds", 5);
    let conns: u32 = arg("--connections", 32);
    let target_cpu: usize = arg("--target-cpu", 0);
    let gen_cpu: usize = arg("--generator-cpu", 1);
    let rate: f64 = arg("--rate", 5000.0);

    let tools = match require(&[
        ("nginx", "apt-get install nginx-light (or nginx)"),
        ("wrk", "apt-get install wrk"),
        ("oha", "cargo install oha"),
        ("taskset", "apt-get install util-linux"),
    ]) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("generator_ceiling: {e}");
            std::process::exit(2);
        }
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("generator_ceiling: needs two CPUs (target and generator each pinned to one)");
        std::process::exit(2);
    }
    let nginx = match Nginx::start(&tools[0], target_cpu) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("generator_ceiling: {e}");
            std::process::exit(2);
        }
    };
    let url = nginx.url();
    println!(
        "generator ceiling: nginx (1 worker) on CPU {target_cpu}, generators on CPU {gen_cpu}; \
         {url}; closed loop, {conns} connections, {secs} s, {rounds} rounds interleaved\n"
    );

    let names = ["wrk -t1", "djbench load -t 1", "oha"];
    let mut runs: [Vec<Run>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let fail = |e: String| -> ! {
        eprintln!("generator_ceiling: {e}");
        std::process::exit(2)
    };
    for round in 1..=rounds {
        for (i, name) in names.iter().enumerate() {
            let run = match i {
                0 => wrk(&tools[1], gen_cpu, &url, conns, secs),
                1 => closed(gen_cpu, &url, conns, secs),
                _ => oha(&tools[2], gen_cpu, &url, conns, secs),
            }
            .unwrap_or_else(|e| fail(e));
            println!(
                "  round {round}/{rounds}  {name:<18} {:>9.0} req/s  {:>6.2} µs CPU/request",
                run.rps,
                run.cpu * 1e6 / run.requests
            );
            runs[i].push(run);
        }
    }
    let rps = |i: usize| median(runs[i].iter().map(|r| r.rps).collect());
    let per_req = |i: usize| median(runs[i].iter().map(|r| r.cpu * 1e6 / r.requests).collect());
    println!(
        "\n| generator | req/s (median) | CPU µs/request (median) | vs wrk: req/s | vs wrk: CPU/request |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (i, name) in names.iter().enumerate() {
        println!(
            "| {name} | {:.0} | {:.2} | {:.3}× | {:.3}× |",
            rps(i),
            per_req(i),
            rps(i) / rps(0),
            per_req(i) / per_req(0)
        );
    }

    // Open loop on the same target.
    let load = [
        "--rate".into(),
        rate.to_string(),
        "-c".into(),
        "64".into(),
        "-d".into(),
        format!("{secs}s"),
        "--warmup".into(),
        "2s".into(),
    ];
    let (open, open_cpu) = djbench(gen_cpu, &url, &load).unwrap_or_else(|e| fail(e));
    let o = &open["open_loop"];
    let lateness_p99 = o["lateness_us"]["p99"].as_u64().unwrap_or(u64::MAX);
    println!(
        "\nopen loop at {rate} req/s for {secs} s (+2 s warm-up): sent {:.1} req/s, send lateness \
         p50 {} µs, p99 {} µs, max {} µs; {} of {} sends more than 1 ms late; latency p50 {} µs, \
         p99 {} µs; {} connections; {:.1} µs CPU/request",
        o["sent_rps"].as_f64().unwrap_or(0.0),
        o["lateness_us"]["p50"],
        lateness_p99,
        o["lateness_us"]["max"],
        o["late_sends"],
        open["requests"],
        open["latency_us"]["p50"],
        open["latency_us"]["p99"],
        o["connections_used"],
        open_cpu * 1e6
            / open["generator"]["requests_exchanged"]
                .as_f64()
                .unwrap_or(1.0),
    );

    let checks = [
        (
            "djbench req/s >= wrk's",
            rps(1) >= rps(0),
            format!("{:.0} vs {:.0}", rps(1), rps(0)),
        ),
        (
            "djbench CPU/request <= 1.25 × wrk's",
            per_req(1) <= 1.25 * per_req(0),
            format!(
                "{:.2} vs {:.2} µs ({:.2}×)",
                per_req(1),
                per_req(0),
                per_req(1) / per_req(0)
            ),
        ),
        (
            "open-loop send lateness p99 < 1 ms",
            lateness_p99 < 1000,
            format!("{lateness_p99} µs"),
        ),
    ];
    println!();
    let mut ok = true;
    for (what, pass, detail) in &checks {
        println!(
            "  {}  {what}: {detail}",
            if *pass { "PASS" } else { "FAIL" }
        );
        ok &= pass;
    }
    drop(nginx);
    std::process::exit(if ok { 0 } else { 1 });
}
