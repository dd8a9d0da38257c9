//! `djbench compare`: a candidate's results against a baseline's, as a table and an exit
//! status. The loading and judging are `compare`'s (the module), the statistics `stats`'s;
//! this only prints them.

use anstream::{eprintln, println};

use super::{Exit, print_json, print_table, table};

pub(super) fn compare_cmd(args: &crate::cli::CompareArgs) -> Exit {
    use crate::compare::{self, Because, Metric, Verdict};
    use crate::stats::{self, Call};
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
    let threshold = c.max_regression * 100.0;
    if args.json {
        print_json(&c);
    } else {
        let test = if c.paired {
            "paired t-test: the runs of the same numbered folder on each side ran next to each \
             other and are tested as pairs"
        } else {
            "Welch's t-test, the repetitions of each side independent"
        };
        println!(
            "{} against {}: a change is called only with at least {} repetitions a side, and \
             fails when worse than {threshold}% and significant ({test}; on logarithms, so the \
             change is a ratio of geometric means; Holm-corrected over {} comparisons at {}%)\n",
            args.candidate.display(),
            args.baseline.display(),
            stats::MIN_REPETITIONS,
            c.family,
            stats::ALPHA * 100.0,
        );
        let mut t = table(&[
            "deployment",
            "metric",
            "baseline",
            "candidate",
            "change",
            "95% interval",
            "p (Holm)",
            "CV base/cand",
            "reps",
            "verdict",
        ]);
        t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        let pct = |x: f64| format!("{:+.1}%", x * 100.0);
        let cv = |x: Option<f64>| match x {
            None => "—".to_owned(),
            Some(x) if x > stats::CV_WARN => format!("{:.1}%!", x * 100.0),
            Some(x) => format!("{:.1}%", x * 100.0),
        };
        for r in &c.rows {
            let d = r.call.as_ref().and_then(Call::difference);
            let change = d.map_or("—".into(), |d| match d.change {
                Some(ch) => pct(ch),
                // No relative change from a mean of 0: say whether it moved at all.
                None if d.sign == 0 => "none".into(),
                None => "from 0".into(),
            });
            let interval = d.and_then(|d| d.interval).map_or("—".into(), |(lo, hi)| {
                format!("{} … {}", pct(lo), pct(hi))
            });
            let verdict = match (r.verdict, r.because) {
                (Verdict::Regressed, Some(Because::UnknownCandidate)) => {
                    "REGRESSED: unknown in every candidate repetition".to_owned()
                }
                (Verdict::Regressed, Some(Because::RoseFromZero)) => {
                    "REGRESSED: rose from 0".to_owned()
                }
                (Verdict::Regressed, _) => "REGRESSED".to_owned(),
                (Verdict::Better, _) => "better".to_owned(),
                (Verdict::NoDifference, _) => "no difference".to_owned(),
                (Verdict::NotJudged, _) => "not judged: unknown in the baseline".to_owned(),
                (Verdict::NotEnoughRepetitions, _) => r
                    .call
                    .map_or("not enough repetitions to call this".into(), |c| {
                        c.to_string()
                    }),
            };
            t.add_row(vec![
                r.label.clone(),
                r.metric.name().to_owned(),
                r.baseline.map_or("unknown".into(), |v| r.metric.show(v)),
                r.candidate.map_or("unknown".into(), |v| r.metric.show(v)),
                change,
                interval,
                r.p_adjusted.map_or("—".into(), |p| {
                    if p >= 0.01 {
                        format!("{p:.2}")
                    } else {
                        format!("{p:.1e}")
                    }
                }),
                format!("{}/{}", cv(r.cv.baseline), cv(r.cv.candidate)),
                format!("{}/{}", r.repetitions.0, r.repetitions.1),
                verdict,
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
        if !args.json && !c.not_compared.is_empty() {
            println!(
                "\nNot compared (fault runs against fault-free ones, see the notes): {}.",
                c.not_compared.join(", ")
            );
        }
        if !args.json {
            let short = c
                .rows
                .iter()
                .filter(|r| r.verdict == Verdict::NotEnoughRepetitions)
                .count();
            if short == 0 {
                println!("\nNo regression beyond {threshold}%.");
            } else {
                println!(
                    "\nNo regression beyond {threshold}% called; {short} of {} comparisons had \
                     too few repetitions to call either way (see the notes).",
                    c.rows.len()
                );
            }
        }
        Exit::Ok
    } else {
        eprintln!("\nRegressed: {}", failed.join(", "));
        Exit::Failed
    }
}
