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
        endpoints: vec![Endpoint::get(target.path, 1.0)],
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
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        return Exit::Ok;
    }
    let errors = match report.error_rate {
        Some(rate) => {
            let kinds: Vec<String> = report
                .error_kinds
                .by_kind()
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(name, n)| format!("{name} {n}"))
                .collect();
            let kinds = if kinds.is_empty() {
                String::new()
            } else {
                format!(": {}", kinds.join(", "))
            };
            format!("{} errors, {:.2}%{kinds}", report.errors, rate * 100.0)
        }
        None => "no requests".into(),
    };
    println!(
        "  requests     {} of the window, {} ok ({errors})",
        report.requests, report.ok
    );
    println!(
        "  throughput   {:.1} req/s ok finished in the window; {:.1} req/s finished, any outcome",
        report.throughput_rps, report.completed_rps
    );
    match &report.latency_us {
        Some(l) => println!(
            "  latency µs   p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.0} (failures included)",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        ),
        None => println!("  latency µs   — (nothing recorded)"),
    }
    if let Some(o) = &report.open_loop {
        println!(
            "  open loop    intended {} req/s, sent {:.1}; {} still in flight at the end; {} sends more than 1 ms late (lateness p99 {} µs); {} connections",
            o.intended_rps,
            o.sent_rps,
            o.in_flight_at_end,
            o.late_sends,
            o.lateness_us.map_or("—".into(), |l| l.p99.to_string()),
            o.connections_used
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
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Exit::Ok
}
