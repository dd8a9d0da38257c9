//! `djbench setup` and `djbench doctor`: provision what scenarios need, and report what is
//! there. The provisioning itself is `provision`'s.

use anstream::{eprintln, println};

use super::{Exit, print_json, print_table, table};
use crate::cli::SetupArgs;
use crate::provision::{self, Cache, Lookup, Ui, Wants};

pub(super) fn setup(args: &SetupArgs) -> Exit {
    let cache = Cache::from_env();
    if args.clean {
        if let Err(e) = cache.clean() {
            eprintln!(
                "error: cannot empty the cache {}: {e}",
                cache.root().display()
            );
            return Exit::BadInput;
        }
        eprintln!("setup: emptied {}", cache.root().display());
    }
    let wants = Wants {
        gil_twin: args.gil_twin,
        postgres: args.postgres,
    };
    let started = std::time::Instant::now();
    match provision::setup(&Lookup::from_env(cache), wants, &Ui::detect()) {
        Ok(report) => {
            print_report(&report);
            eprintln!("setup: ready in {:.1}s", started.elapsed().as_secs_f64());
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::BadInput
        }
    }
}

pub(super) fn doctor(json: bool, wants: Wants) -> Exit {
    let report = provision::doctor(&Lookup::from_env(Cache::from_env()), wants);
    if json {
        print_json(&report);
    } else {
        print_report(&report);
    }
    if report.ready { Exit::Ok } else { Exit::Failed }
}

fn print_report(r: &provision::Report) {
    println!("Interpreters (cache: {})", r.cache.display());
    let mut t = table(&["flavour", "version", "GIL", "found by", "path"]);
    for i in &r.interpreters {
        t.add_row(vec![
            i.flavour.to_string(),
            i.version.clone(),
            if i.gil_enabled { "on" } else { "off" }.into(),
            i.found_by(),
            i.path.display().to_string(),
        ]);
    }
    print_table(&t);
    for i in &r.interpreters {
        let flags: String = i.config_args.chars().take(120).collect();
        println!("  {}: {}; configured with {flags}", i.flavour, i.origin);
        for p in &i.passed_over {
            println!("    passed over: {p}");
        }
    }
    println!(
        "
Virtualenvs"
    );
    let mut t = table(&["flavour", "Django", "gunicorn", "celery", "granian", "path"]);
    for v in &r.venvs {
        let pkg = |name: &str| v.packages.get(name).cloned().unwrap_or_else(|| "-".into());
        t.add_row(vec![
            v.flavour.to_string(),
            pkg("django"),
            pkg("gunicorn"),
            pkg("celery"),
            pkg("granian"),
            v.path.display().to_string(),
        ]);
    }
    print_table(&t);
    println!(
        "
Services"
    );
    let mut t = table(&["service", "version", "path"]);
    for s in &r.services {
        t.add_row(vec![
            s.name.clone(),
            s.version.clone(),
            s.path.display().to_string(),
        ]);
    }
    print_table(&t);
    let h = &r.host;
    println!(
        "
Host: {}, {} cores, {}, kernel {}",
        h.cpu,
        h.cores,
        bytesize::ByteSize(h.memory_bytes).display().iec(),
        h.kernel
    );
    let s = &r.system;
    println!(
        "System: {}, package manager {}{}",
        s.name(),
        s.manager.map_or("unknown".into(), |m| m.to_string()),
        if s.apt {
            ""
        } else {
            " (no apt-get: the Debian routes cannot run)"
        }
    );
    if !r.rejected.is_empty() {
        println!(
            "
Candidates turned down"
        );
        for x in &r.rejected {
            println!("  {} ({}): {}", x.flavour, x.rejected.rule, x.rejected);
        }
    }
    if r.ready {
        println!(
            "
Ready."
        );
    } else {
        println!(
            "
Not ready; `djbench setup` would:"
        );
        for p in &r.pending {
            println!("  - {p}");
        }
    }
}
