//! `djbench capacity`: the highest open-loop rate a URL, or each deployment of a scenario,
//! carries within an SLO, with every trial on the way. The search and the judging are
//! `capacity`'s, deploying and writing results `run`'s.

use std::time::{Duration, SystemTime};

use anstream::{eprintln, println};

use super::scenario::{provisioned, watch};
use super::{Exit, load, print_json, print_table, run_problems, table};
use crate::capacity::{self, Capacity, MIN_COMPLETED, Method, Searched, Slo, TrialShape};
use crate::cli::CapacityArgs;
use crate::scenario::model::CapacitySearch;
use crate::scenario::{Overrides, Plan, Scenario, ScenarioDirs};

/// The SLO, the method, and each trial's warm-up and window: the scenario's (or the
/// defaults), with the flags over them.
struct Settings {
    slo: Slo,
    method: Method,
    warmup: Duration,
    window: Duration,
    max_interference: f64,
}

impl Settings {
    fn searched(&self) -> Searched {
        Searched {
            slo: self.slo,
            method: self.method,
            warmup_seconds: self.warmup.as_secs_f64(),
            window_seconds: self.window.as_secs_f64(),
            max_interference: self.max_interference,
        }
    }
}

impl Settings {
    fn of(c: &CapacitySearch, args: &CapacityArgs) -> Self {
        let (passes, trials) = args.passes.unwrap_or((c.passes.value.0, c.trials.0));
        Self {
            slo: Slo {
                p99_us: args.p99.unwrap_or(c.p99.value.0).as_micros() as u64,
                max_error_rate: args.max_error_rate.unwrap_or(c.error_rate.0),
                min_completed: MIN_COMPLETED,
            },
            method: Method {
                start_rps: args.start.unwrap_or(c.start.value.0),
                max_rps: args.max_rate.unwrap_or(c.max_rate.0),
                tolerance: args.tolerance.unwrap_or(c.tolerance.value.0),
                passes,
                trials,
            },
            warmup: args.warmup.unwrap_or(c.warmup.0),
            window: args.window.unwrap_or(c.window.value.0),
            max_interference: args.max_interference.unwrap_or(c.max_interference.0),
        }
    }

    fn describe(&self) -> String {
        let m = &self.method;
        format!(
            "SLO p99 ≤ {} ms, errors ≤ {}%, completed ≥ {:.0}% of offered; ramp ×2 from {} req/s \
             (at most {}), bisect to {}%, {} of {} trials at the boundary; each trial {} of \
             warm-up, then {}; a trial is run again when others take more than {}% of the cores",
            self.slo.p99_us as f64 / 1000.0,
            self.slo.max_error_rate * 100.0,
            self.slo.min_completed * 100.0,
            m.start_rps,
            m.max_rps,
            m.tolerance * 100.0,
            m.passes,
            m.trials,
            humantime::format_duration(self.warmup),
            humantime::format_duration(self.window),
            self.max_interference * 100.0,
        )
    }
}

pub(super) fn capacity_cmd(args: &CapacityArgs, dirs: &ScenarioDirs) -> Exit {
    if args.start.zip(args.max_rate).is_some_and(|(a, b)| a > b) {
        eprintln!("error: --start is above --max-rate");
        return Exit::BadInput;
    }
    if args.target.contains("://") {
        return url(args);
    }
    let s = match load(&args.target, dirs) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    scenario(&s, args)
}

/// A search against one URL, with nothing deployed or sampled.
fn url(args: &CapacityArgs) -> Exit {
    use crate::load::{self, Endpoint, LoadSpec, Model};
    let target = match load::target(&args.target, args.allow_remote) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let settings = Settings::of(&CapacitySearch::default(), args);
    let shape = TrialShape {
        load: LoadSpec {
            addr: target.addr,
            host: target.host,
            endpoints: vec![Endpoint::get(target.path, 1.0)],
            model: Model::Open {
                rate: settings.method.start_rps,
                poisson: args.poisson,
                max_connections: args.connections,
            },
            warmup: settings.warmup,
            duration: settings.window,
            timeout: args.timeout,
            // One generator thread: the target shares this machine's cores, and a saturated
            // generator ends the search rather than passing for the target's limit.
            threads: 1,
            control: load::Control {
                stop: vec![crate::run::interrupt_flag()],
                hold: None,
            },
            name: "load",
        },
        slo: settings.slo,
        max_interference: settings.max_interference,
    };
    eprintln!("djbench capacity {}: {}", args.target, settings.describe());
    let began = std::time::Instant::now();
    let found = capacity::search(&settings.method, &mut |rate, phase| {
        let t = capacity::run_trial(&shape, rate, phase, None)?;
        eprintln!("  {}", t.describe());
        Ok(t)
    });
    let c = Capacity::of(
        &args.target,
        settings.searched(),
        found,
        began.elapsed().as_secs_f64(),
    );
    if args.json {
        print_json(&c);
    } else {
        println!("{}", c.describe());
        print_table(&trials_table(&c));
    }
    verdict(std::slice::from_ref(&c))
}

/// Each of the scenario's deployments deployed in turn and searched.
fn scenario(s: &Scenario, args: &CapacityArgs) -> Exit {
    use crate::run;
    if let Some(why) = run::unsupported(s) {
        eprintln!("error: this build cannot run `{}`: {why}", s.name());
        return Exit::BadInput;
    }
    // An unset credential is known before anything is provisioned or started.
    if let Err(e) = run::login_of(s) {
        eprintln!("error: {}: {e}", s.path.display());
        return Exit::BadInput;
    }
    let settings = Settings::of(&s.file.capacity, args);
    let (twinned, ready) = match provisioned(s) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let s = twinned.as_ref().unwrap_or(s);
    let overrides = Overrides {
        repetitions: Some(1),
        out: args.out.clone(),
        duration: None,
    };
    let mut plan = Plan::new(s, &overrides, SystemTime::now());
    plan.project = ready.app.as_ref().map(|a| a.plan(s));
    if args.out.is_none() {
        let mut dir = plan.out.clone().into_os_string();
        dir.push("-capacity");
        plan.out = dir.into();
    }
    let plan = &plan;
    eprintln!(
        "djbench capacity {}: {} deployments into {}; {}",
        s.name(),
        plan.runs.len(),
        plan.out.display(),
        settings.describe()
    );
    let controls = run::Controls::new();
    let outcomes = watch(s, false, &controls, |events| {
        run::execute_with(
            s,
            plan,
            &ready,
            false,
            &controls,
            &events,
            &mut |live, o| run::caught(o, |o| run::search_capacity(live, settings.searched(), o)),
        )
    });
    let found: Vec<Capacity> = outcomes
        .iter()
        .map(|o| {
            o.capacity.clone().unwrap_or_else(|| {
                let why = o.failure.clone().unwrap_or_else(|| "not searched".into());
                Capacity::unsearched(&o.label, settings.searched(), why)
            })
        })
        .collect();
    if args.json {
        print_json(&found);
    } else {
        println!();
        print_table(&capacity_table(&found));
        println!(
            "\nEvery trial: {} (schema: reports/README.md).",
            plan.out.join("results.json").display()
        );
    }
    let mut exit = verdict(&found);
    if run_problems(&outcomes, &controls.stop) == Exit::Failed {
        exit = Exit::Failed;
    }
    let doc = run::document(s, plan, &outcomes, true);
    for b in crate::compare::thresholds(&doc) {
        eprintln!(
            "threshold broken: {} {}: {} (limit {})",
            b.who(),
            b.threshold,
            b.measured,
            b.limit
        );
        exit = Exit::Failed;
    }
    exit
}

/// Exit 0 when every target got a capacity; 1 (with the reason) for each that did not.
fn verdict(found: &[Capacity]) -> Exit {
    let mut exit = Exit::Ok;
    for c in found.iter().filter(|c| c.capacity_rps.is_none()) {
        eprintln!("no capacity for {}: {}", c.label, c.describe());
        exit = Exit::Failed;
    }
    exit
}

fn unknown() -> String {
    "—".into()
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(unknown, |r| format!("{r:.1}"))
}

/// One row per deployment: its capacity, bounds, and cost at it.
fn capacity_table(found: &[Capacity]) -> comfy_table::Table {
    let mut t = table(&[
        "deployment",
        "capacity req/s",
        "passes at",
        "fails at",
        "p99 ms there",
        "CPU cores",
        "ΣPSS MiB",
        "req/s per core",
        "req/s per GiB",
        "trials",
        "search s",
        "ended",
    ]);
    t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    for c in found {
        let at = c.at_capacity();
        let (per_core, per_gib) = c.per_core_and_gib();
        t.add_row(vec![
            c.label.clone(),
            rate(c.capacity_rps),
            rate(c.last_pass_rps),
            rate(c.first_fail_rps),
            at.and_then(|t| t.latency_us)
                .map_or_else(unknown, |l| format!("{:.1}", l.p99 as f64 / 1000.0)),
            at.and_then(|t| t.cpu_cores)
                .map_or_else(unknown, |c| format!("{c:.2}")),
            at.and_then(|t| t.pss_peak_bytes)
                .map_or_else(unknown, |b| format!("{:.0}", b as f64 / 1048576.0)),
            rate(per_core),
            per_gib.map_or_else(unknown, |r| format!("{r:.0}")),
            c.trials.len().to_string(),
            format!("{:.0}", c.search_seconds),
            match &c.failure {
                Some(f) => f.clone(),
                None => c.end.describe(),
            },
        ]);
    }
    t
}

/// One row per trial of a search.
fn trials_table(c: &Capacity) -> comfy_table::Table {
    let mut t = table(&[
        "offered req/s",
        "step",
        "completed",
        "goodput",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "errors",
        "verdict",
    ]);
    t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    let ms = |l: Option<crate::load::Latency>, at: fn(&crate::load::Latency) -> u64| {
        l.map_or_else(unknown, |l| format!("{:.1}", at(&l) as f64 / 1000.0))
    };
    for x in &c.trials {
        t.add_row(vec![
            format!("{:.1}", x.offered_rps),
            format!("{:?}", x.phase).to_lowercase(),
            format!("{:.1}", x.completed_rps),
            format!("{:.1}", x.goodput_rps),
            ms(x.latency_us, |l| l.p50),
            ms(x.latency_us, |l| l.p90),
            ms(x.latency_us, |l| l.p99),
            ms(x.latency_us, |l| l.p999),
            x.error_rate
                .map_or_else(unknown, |e| format!("{:.2}%", e * 100.0)),
            match x.verdict {
                capacity::Verdict::Pass => "pass".into(),
                capacity::Verdict::Fail => format!("fail: {}", x.reasons.join("; ")),
                capacity::Verdict::Saturated => format!("unusable: {}", x.reasons.join("; ")),
                capacity::Verdict::Disturbed => format!("disturbed: {}", x.reasons.join("; ")),
            },
        ]);
    }
    t
}
