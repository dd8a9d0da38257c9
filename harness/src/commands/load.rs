//! `djbench load`: the load generator alone against a URL. The generating is `load`'s.

use anstream::{eprintln, println};

use super::{Exit, print_json};
use crate::cli::LoadArgs;

pub(super) fn load_cmd(args: &LoadArgs) -> Exit {
    use crate::load::{self, Endpoint, LoadSpec, Model};
    let target = match load::target(&args.url, args.allow_remote) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let model = match args.rate {
        Some(rate) => Model::Open {
            rate,
            poisson: args.poisson,
            max_connections: args.connections,
        },
        None => Model::Closed {
            connections: args.connections,
        },
    };
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |t| t as usize,
    );
    let spec = LoadSpec {
        addr: target.addr,
        host: target.host,
        endpoints: vec![Endpoint {
            path: target.path,
            weight: 1.0,
        }],
        model,
        warmup: args.warmup,
        duration: args.duration,
        timeout: args.timeout,
        threads,
        control: load::Control {
            stop: vec![crate::run::interrupt_flag()],
            hold: None,
        },
        name: "load",
    };
    if !args.json {
        eprintln!(
            "djbench load {}: {}, {} measured after {} of warm-up",
            args.url,
            match model {
                Model::Closed { connections } => format!("closed loop, {connections} connections"),
                Model::Open {
                    rate,
                    poisson,
                    max_connections,
                } => format!(
                    "open loop at {rate} req/s ({}), up to {max_connections} connections",
                    if poisson { "poisson" } else { "uniform" }
                ),
            },
            humantime::format_duration(args.duration),
            humantime::format_duration(args.warmup),
        );
    }
    let report = match load::run(&spec) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    if args.json {
        print_json(&report);
        return Exit::Ok;
    }
    let l = &report.latency_us;
    println!(
        "  requests     {} ({} errors)",
        report.requests, report.errors
    );
    println!("  throughput   {:.1} req/s", report.throughput_rps);
    println!(
        "  latency µs   p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.0}",
        l.p50, l.p90, l.p99, l.p999, l.max, l.mean
    );
    if let Some(o) = &report.open_loop {
        println!(
            "  open loop    intended {:.0} req/s, achieved {:.1}; {} sends more than 1 ms late (lateness p99 {} µs); {} connections",
            o.intended_rps, o.achieved_rps, o.late_sends, o.lateness_us.p99, o.connections_used
        );
    }
    let g = &report.generator;
    println!(
        "  generator    {} thread(s), {:.2} s CPU over {} requests (warm-up included): {:.1} µs CPU per request; peak RSS {}{}",
        g.threads,
        g.cpu_seconds,
        g.requests_exchanged,
        g.cpu_us_per_request,
        bytesize::ByteSize(g.max_rss_bytes).display().iec(),
        if g.saturated {
            " — SATURATED: these numbers may measure the generator"
        } else {
            ""
        }
    );
    Exit::Ok
}
