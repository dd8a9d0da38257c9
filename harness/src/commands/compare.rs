//! `djbench compare`: a candidate's results against a baseline's, as a table and an exit
//! status. The loading and judging are `compare`'s (the module).

use anstream::{eprintln, println};

use super::{Exit, print_json, print_table, table};

pub(super) fn compare_cmd(args: &crate::cli::CompareArgs) -> Exit {
    use crate::compare::{self, Metric, Verdict};
    let metrics: Vec<Metric> = if args.metrics.is_empty() {
        Metric::DEFAULT.to_vec()
    } else {
        let mut m = args.metrics.clone();
        m.sort();
        m.dedup();
        m
    };
    let judged = compare::load(&args.baseline, &metrics).and_then(|base| {
        let cand = compare::load(&args.candidate, &metrics)?;
        compare::compare(&base, &cand, &metrics, args.max_regression)
    });
    let c = match judged {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    if args.json {
        print_json(&c);
    } else {
        println!(
            "{} against {}: a regression fails when worse than {}% and significant (bootstrap 95% \
             interval of the change of medians)\n",
            args.candidate.display(),
            args.baseline.display(),
            c.max_regression * 100.0
        );
        let mut t = table(&[
            "deployment",
            "metric",
            "baseline",
            "candidate",
            "change",
            "95% interval",
            "reps",
            "verdict",
        ]);
        t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        let pct = |x: f64| format!("{:+.1}%", x * 100.0);
        for r in &c.rows {
            t.add_row(vec![
                r.label.clone(),
                r.metric.name().to_owned(),
                r.baseline.map_or("unknown".into(), |v| r.metric.show(v)),
                r.candidate.map_or("unknown".into(), |v| r.metric.show(v)),
                r.change.map_or("-".into(), pct),
                r.interval
                    .map_or("-".into(), |(lo, hi)| format!("{} … {}", pct(lo), pct(hi))),
                format!("{}/{}", r.repetitions.0, r.repetitions.1),
                match r.verdict {
                    Verdict::Same => "same",
                    Verdict::Better => "better",
                    Verdict::WorseNotSignificant => "worse, not significant",
                    Verdict::Regressed => "REGRESSED",
                }
                .to_owned(),
            ]);
        }
        print_table(&t);
        for n in &c.notes {
            println!("note: {n}");
        }
    }
    let failed: Vec<String> = c
        .failed()
        .map(|r| format!("{} {}", r.label, r.metric.name()))
        .collect();
    if failed.is_empty() {
        if !args.json {
            println!("\nNo regression beyond {}%.", c.max_regression * 100.0);
        }
        Exit::Ok
    } else {
        eprintln!("\nRegressed: {}", failed.join(", "));
        Exit::Failed
    }
}
