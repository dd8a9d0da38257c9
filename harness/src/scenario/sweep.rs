//! `sweep:`, one worker count across values: its checks (exactly one parameter, 1 to 16
//! distinct values) and the expansion of every deployment into one per value, labelled
//! `LABEL_webN` (`_threadsN`, `_tasksN`) and carrying its `SweepPoint`, so nothing downstream
//! ever reads a point back out of a label. Pure: it runs nothing, and the per-deployment checks
//! of the expanded deployments stay `validate`'s.

use serde_saphyr::{Location, Spanned};

use super::model::{Deployment, Entry, ScenarioFile, SweepPoint, SweptValues};
use super::units::{Count, Workers};

/// Most values a sweep may list: each one is a full run of every deployment.
pub const MAX_VALUES: usize = 16;

/// Problems of the sweep itself, each at its place (`err` as `validate::check` has it).
pub fn check(s: &ScenarioFile, err: &mut dyn FnMut(Location, String, Option<String>)) {
    let Some(sweep) = &s.sweep else { return };
    let given = sweep.value.given();
    let keys = "web_workers (or web), threads, task_workers";
    match given.as_slice() {
        [] => err(
            sweep.referenced,
            "`sweep` names no parameter to sweep".into(),
            Some(format!(
                "give exactly one of {keys}, e.g. `sweep: {{web_workers: [1, 2, 4, 8]}}`"
            )),
        ),
        [first, rest @ ..] => {
            for other in rest {
                err(
                    other.at,
                    format!(
                        "`sweep` varies one parameter, but names both `{}` and `{}`",
                        first.parameter, other.parameter
                    ),
                    Some("keep one; sweep the other in a scenario of its own".into()),
                );
            }
        }
    }
    for list in &given {
        values(list, err);
    }
}

fn values(list: &SweptValues, err: &mut dyn FnMut(Location, String, Option<String>)) {
    let name = list.parameter.name();
    let range = format!("whole numbers from 1 to {}", list.parameter.max());
    if list.values.is_empty() {
        err(
            list.at,
            format!("`sweep.{name}` is empty: nothing to sweep"),
            Some(format!("list 1 to {MAX_VALUES} {range}, like [1, 2, 4, 8]")),
        );
    }
    if list.values.len() > MAX_VALUES {
        err(
            list.at,
            format!(
                "`sweep.{name}` has {} values: at most {MAX_VALUES}",
                list.values.len()
            ),
            Some("every value is a run of every deployment: pick fewer, like [1, 2, 4, 8]".into()),
        );
    }
    for (i, (v, at)) in list.values.iter().enumerate() {
        if let Some((_, first)) = list.values[..i].iter().find(|(w, _)| w == v) {
            err(
                *at,
                format!(
                    "`sweep.{name}` lists {v} twice (first at line {})",
                    first.line()
                ),
                Some("each value once: the repetitions repeat it".into()),
            );
        }
    }
}

/// The deployments of `s` with its sweep expanded: each deployment once per value, its points
/// together and in the order written. None without a sweep, or with one that names not exactly
/// one parameter (`check` reports it).
pub fn expand(s: &ScenarioFile) -> Option<Vec<Spanned<Entry<Deployment>>>> {
    let given = s.sweep.as_ref()?.value.given();
    let [list] = given.as_slice() else {
        return None;
    };
    let mut out = Vec::new();
    for entry in &s.modes {
        let d = &entry.value.0;
        let label_at = d.label.as_ref().map_or(entry.referenced, |l| l.referenced);
        for (i, &(value, at)) in list.values.iter().enumerate() {
            // A value listed twice is `check`'s error, not a second deployment of one label.
            if list.values[..i].iter().any(|(v, _)| *v == value) {
                continue;
            }
            let mut point = d.clone();
            let label = format!("{}_{}{value}", d.label(), list.parameter.suffix());
            point.label = Some(Spanned::new(label, label_at, label_at));
            // The value's own place: a check of the expanded deployment points at it.
            use super::model::SweepParameter as P;
            match list.parameter {
                P::WebWorkers => point.web_workers = Spanned::new(Workers::fixed(value), at, at),
                P::Threads => point.threads = Spanned::new(Count(value), at, at),
                P::TaskWorkers => point.task_workers = Spanned::new(Workers::fixed(value), at, at),
            }
            point.sweep = Some(SweepPoint {
                base: d.label().to_owned(),
                parameter: list.parameter,
                value,
            });
            out.push(Spanned::new(Entry(point), entry.referenced, entry.defined));
        }
    }
    Some(out)
}

/// `file` as it runs: with its sweep expanded into `modes` (the sweep itself stays, as written,
/// for the record).
pub fn expanded(mut file: ScenarioFile) -> ScenarioFile {
    if let Some(modes) = expand(&file) {
        file.modes = modes;
    }
    file
}

#[cfg(test)]
mod tests {
    use super::super::model::SweepParameter;
    use super::super::{Invalid, Scenario, parse};
    use std::path::Path;

    fn scenario(yaml: &str) -> Result<Scenario, Invalid> {
        parse(Path::new("t.yaml"), yaml.as_bytes())
    }

    fn problems(yaml: &str) -> Vec<String> {
        match scenario(yaml) {
            Ok(_) => panic!("valid:\n{yaml}"),
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn every_deployment_runs_once_per_value_its_points_together() {
        let s = scenario(
            "name: t\nmodes: [gunicorn_celery, {mode: free_threaded, label: ft}]\nsweep:\n  web: [1, 4, 2]\n",
        )
        .unwrap();
        let got: Vec<(&str, u32)> = s
            .deployments()
            .map(|d| (d.label(), d.web_workers.value.get()))
            .collect();
        assert_eq!(
            got,
            [
                ("gunicorn_celery_web1", 1),
                ("gunicorn_celery_web4", 4),
                ("gunicorn_celery_web2", 2),
                ("ft_web1", 1),
                ("ft_web4", 4),
                ("ft_web2", 2),
            ]
        );
        let p = s.deployments().nth(4).unwrap().sweep.clone().unwrap();
        assert_eq!(
            (p.base.as_str(), p.parameter, p.value),
            ("ft", SweepParameter::WebWorkers, 4)
        );
        // The sweep stays in the record as written, under its one spelling.
        let json = serde_json::to_value(&s.file).unwrap();
        assert_eq!(json["sweep"], serde_json::json!({"web_workers": [1, 4, 2]}));
        assert_eq!(json["modes"].as_array().unwrap().len(), 6);
        assert_eq!(json["modes"][1]["label"], "gunicorn_celery_web4");
    }

    #[test]
    fn each_parameter_lands_in_its_own_field() {
        let s = scenario(
            "name: t\nmodes: [{mode: subinterpreters, threads: 2}]\nsweep: {task_workers: [3, 5]}\n",
        )
        .unwrap();
        let d: Vec<_> = s.deployments().collect();
        assert_eq!(d[1].label(), "subinterpreters_tasks5");
        assert_eq!(
            (
                d[1].task_workers.value.get(),
                d[1].web_workers.value.get(),
                d[1].threads.value.get()
            ),
            (5, 2, 2)
        );
        let s = scenario("name: t\nmodes: [{mode: subinterpreters}]\nsweep: {threads: [1, 8]}\n")
            .unwrap();
        let d: Vec<_> = s.deployments().collect();
        assert_eq!(
            (d[1].label(), d[1].threads.value.get()),
            ("subinterpreters_threads8", 8)
        );
    }

    #[test]
    fn no_sweep_changes_nothing() {
        let s = scenario("name: t\nmodes: [free_threaded]\n").unwrap();
        let d: Vec<_> = s.deployments().collect();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].label(), "free_threaded");
        assert!(d[0].sweep.is_none());
    }

    #[test]
    fn a_sweep_names_exactly_one_parameter() {
        let p = problems("name: t\nsweep: {}\n");
        assert!(
            p[0].starts_with("t.yaml:2:8: `sweep` names no parameter"),
            "{p:?}"
        );
        let p = problems("name: t\nsweep:\n  web_workers: [1, 2]\n  threads: [1, 2]\n");
        assert!(
            p[0].starts_with(
                "t.yaml:4:12: `sweep` varies one parameter, but names both `web_workers` and `threads`"
            ),
            "{p:?}"
        );
    }

    #[test]
    fn values_are_few_distinct_and_in_range() {
        let p = problems("name: t\nsweep:\n  web: [1, 2, 1]\n");
        assert!(
            p[0].starts_with("t.yaml:3:15: `sweep.web_workers` lists 1 twice (first at line 3)"),
            "{p:?}"
        );
        let p = problems("name: t\nsweep:\n  web: []\n");
        assert!(p[0].contains("`sweep.web_workers` is empty"), "{p:?}");
        let many: Vec<String> = (1..=17).map(|n| n.to_string()).collect();
        let p = problems(&format!(
            "name: t\nsweep:\n  task_workers: [{}]\n",
            many.join(", ")
        ));
        assert!(
            p[0].contains("`sweep.task_workers` has 17 values: at most 16"),
            "{p:?}"
        );
        let p = problems("name: t\nsweep:\n  web_workers: [2, 300]\n");
        assert!(
            p[0].starts_with(
                "t.yaml:3:20: 300 is out of range: expected a whole number from 1 to 256"
            ),
            "{p:?}"
        );
    }

    #[test]
    fn the_expanded_deployments_are_checked_at_the_swept_value() {
        // free_threaded's workers are threads already: threads 4 is refused where it is written.
        let p = problems("name: t\nmodes: [free_threaded]\nsweep:\n  threads: [1, 4]\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("t.yaml:4:16: `threads` does not apply to free_threaded"),
            "{p:?}"
        );
    }
}
