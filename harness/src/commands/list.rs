//! `djbench list`: the scenarios there are and the modes with their servers. It reads scenario
//! files; it runs nothing.

use anstream::println;

use std::path::Path;
use std::time::SystemTime;

use super::{Exit, print_table, table};
use crate::scenario::model::{Interface, Mode, TaskBackend};
use crate::scenario::{self, Overrides, Plan, ScenarioDirs};

pub(super) fn list(dirs: &ScenarioDirs) -> Exit {
    match dirs.first_existing() {
        Some(dir) => {
            println!(
                "Scenarios in {}/ (run one with `djbench scenario NAME`):\n",
                dir.display()
            );
            let mut t = table(&["name", "runs", "answers"]);
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            entries.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
            entries.sort();
            for path in entries {
                match scenario::load(&path) {
                    Ok(s) => {
                        let plan = Plan::new(&s, &Overrides::default(), SystemTime::now());
                        t.add_row(vec![
                            stem(&path),
                            format!("{}", plan.runs.len()),
                            first_sentence(&s.file.description),
                        ]);
                    }
                    Err(invalid) => {
                        t.add_row(vec![
                            stem(&path),
                            "-".into(),
                            format!("INVALID: {}", invalid.problems[0]),
                        ]);
                    }
                }
            }
            print_table(&t);
            println!();
        }
        None => println!("No scenarios folder found (looked in {:?}).\n", dirs.0),
    }
    println!("Modes (`mode:` in a scenario):\n");
    let mut t = table(&[
        "mode",
        "what runs",
        "wsgi servers (`server:`)",
        "asgi servers (`interface: asgi`)",
        "task backends (`task_backend:`)",
    ]);
    for mode in Mode::ALL {
        let servers = |interface: Interface| -> String {
            let default = mode.default_server_for(interface);
            (mode.servers_for(interface).iter())
                .map(|s| {
                    if *s == default {
                        format!("{s} (default)")
                    } else {
                        s.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let backends: Vec<String> = TaskBackend::of(mode)
            .iter()
            .map(|b| {
                if *b == TaskBackend::Auto.resolve(mode) {
                    format!("{b} (default)")
                } else {
                    b.to_string()
                }
            })
            .collect();
        t.add_row(vec![
            mode.name().to_owned(),
            mode.summary().to_owned(),
            servers(Interface::Wsgi),
            servers(Interface::Asgi),
            backends.join(", "),
        ]);
    }
    print_table(&t);
    Exit::Ok
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

fn first_sentence(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = [". ", "? ", "! "]
        .iter()
        .filter_map(|stop| text.find(stop))
        .min();
    match end {
        Some(i) => text[..=i].to_owned(),
        None => text,
    }
}
