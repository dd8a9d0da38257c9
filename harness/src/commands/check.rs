//! `djbench check`: finds the project, runs the check, and prints a row per package with a
//! verdict per mode, the reasons as numbered notes under it, then whether each mode can run
//! the project. The checking itself is `check`'s.

use anstream::{eprintln, println};

use super::{Exit, print_json, print_table, table};
use crate::check::{self, How, Verdict};
use crate::cli::CheckArgs;
use crate::provision::{Cache, Flavour, Lookup, Ui};
use crate::scenario::model::Mode;

pub(super) fn check_cmd(args: &CheckArgs) -> Exit {
    let project = match args.project.find() {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    eprintln!(
        "check: {} (settings {}, requirements {})",
        project.dir.display(),
        project.settings,
        project.requirements.path().display()
    );
    let lookup = Lookup::from_env(Cache::from_env());
    let report = match check::check(&project, &lookup, &Ui::detect().tagged("check")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    if args.json {
        print_json(&report);
    } else {
        print_report(&report);
    }
    let cannot: Vec<&check::ModeVerdict> = report.modes.iter().filter(|m| !m.can_run).collect();
    for m in &cannot {
        eprintln!(
            "check: {} cannot run the project: {}{}",
            m.mode.name(),
            m.reason.as_deref().unwrap_or("unknown"),
            if m.blocking.is_empty() {
                String::new()
            } else {
                format!(
                    " (packages that fail in this mode: {})",
                    m.blocking.join(", ")
                )
            }
        );
    }
    if cannot.is_empty() {
        Exit::Ok
    } else {
        Exit::Failed
    }
}

fn print_report(r: &check::Report) {
    let label = |f: Flavour| {
        r.interpreters
            .iter()
            .find(|e| e.flavour == f)
            .map(|e| format!("{} {}", e.flavour, e.version))
            .unwrap_or_else(|| f.to_string())
    };
    for e in &r.interpreters {
        println!(
            "{} {}: {} ({})",
            e.flavour,
            e.version,
            e.venv.display(),
            if e.from_cache {
                "from the cache"
            } else {
                "installed now"
            }
        );
    }
    println!(
        "gunicorn_celery and subinterpreters run on {}, free_threaded on {}; \
         \"installed from\" gives both when they differ (GIL / free-threaded); \
         \"app imports\": set-up, URLconf, views or WSGI application imported it.",
        label(Flavour::Gil),
        label(Flavour::FreeThreaded)
    );
    println!();
    let mut t = table(&[
        "package",
        "version",
        "installed from",
        "app imports",
        "gunicorn_celery",
        "subinterpreters",
        "free_threaded",
    ]);
    // Every cell is a name or a short word (reasons go to the notes): none wraps.
    for i in 0..7 {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
        }
    }
    let mut notes: Vec<String> = Vec::new();
    for p in &r.packages {
        let mut cell = |mode: Mode| {
            let v = p.verdict(mode);
            let word = match v {
                Verdict::Loads => return "ok".to_owned(),
                Verdict::Fails { .. } => "fails",
                Verdict::GilOn { .. } => "GIL on",
                Verdict::NotInstalled { .. } => "not installed",
                Verdict::Inconclusive { .. } => "see set-up",
            };
            notes.push(format!(
                "{} in {}: {}",
                p.name,
                mode.name(),
                v.reason().unwrap_or_default()
            ));
            format!("{word} [{}]", notes.len())
        };
        let cells = [
            cell(Mode::GunicornCelery),
            cell(Mode::Subinterpreters),
            cell(Mode::FreeThreaded),
        ];
        let how = |h: &Option<How>| match h {
            None => "-".to_owned(),
            Some(How::Wheel { .. }) => "wheel".into(),
            Some(How::Source { .. }) => "source".into(),
            Some(How::Failed { .. }) => "failed".into(),
        };
        let [gc, si, ft] = cells;
        t.add_row(vec![
            p.name.clone(),
            p.version.clone(),
            match (how(&p.install_gil), how(&p.install_free_threaded)) {
                (g, f) if g == f => g,
                (g, f) => format!("{g} / {f}"),
            },
            match p.imported_by_app {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => "unknown".into(),
            },
            gc,
            si,
            ft,
        ]);
    }
    print_table(&t);
    for (n, note) in notes.iter().enumerate() {
        println!("[{}] {note}", n + 1);
    }
    println!();
    let mut m = table(&["mode", "interpreter", "runs the project?"]);
    for v in &r.modes {
        m.add_row(vec![
            v.mode.name().to_owned(),
            v.interpreter.clone(),
            match &v.reason {
                None => "yes".to_owned(),
                Some(why) => format!("no: {why}"),
            },
        ]);
    }
    print_table(&m);
}
