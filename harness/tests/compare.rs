//! `djbench compare` and `djbench report` on a real results.json and candidates derived from
//! it: a regression must fail naming its deployment and metric, noise must pass, and a file
//! that cannot be compared must say why with exit 2.

mod common;
use common::{djbench, results_fixture, root};

use serde_json::Value;

fn baseline() -> Value {
    let path = results_fixture();
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn save(dir: &tempfile::TempDir, name: &str, v: &Value) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
    p
}

fn run_compare(base: &Value, cand: &Value, extra: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = (save(&dir, "base.json", base), save(&dir, "cand.json", cand));
    let out = djbench()
        .arg("compare")
        .arg(&b)
        .arg(&c)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every run of `label`, mutably.
fn runs_of<'a>(v: &'a mut Value, label: &'a str) -> impl Iterator<Item = &'a mut Value> {
    v["runs"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(move |r| r["label"] == label)
}

/// The baseline with every `label` run's p99 raised by a fifth.
fn p99_raised(base: &Value, label: &str) -> Value {
    let mut cand = base.clone();
    for r in runs_of(&mut cand, label) {
        let p99 = r["latency_us"]["p99"].as_f64().unwrap();
        r["latency_us"]["p99"] = Value::from((p99 * 1.2).round() as u64);
    }
    cand
}

#[test]
fn a_p99_raised_by_a_fifth_in_one_mode_fails_naming_it() {
    // gunicorn_celery's p99 varies by about ±5% over the fixture's three repetitions.
    let base = baseline();
    let (code, stdout, stderr) = run_compare(&base, &p99_raised(&base, "gunicorn_celery"), &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("Regressed: gunicorn_celery p99"),
        "{stderr}"
    );
    let row = stdout
        .lines()
        .find(|l| l.contains("gunicorn_celery") && l.contains(" p99 "))
        .unwrap();
    assert!(row.contains("+20.0%") && row.contains("REGRESSED"), "{row}");
    // Three repetitions a side: an interval is shown, and it excludes no change.
    assert!(row.contains('…'), "{row}");
    assert_eq!(stdout.matches("REGRESSED").count(), 1, "{stdout}");
}

#[test]
fn the_same_shift_within_a_modes_own_noise_is_not_significant() {
    // subinterpreters' p99 spans 16–22 ms over the same three repetitions: +20% of its median
    // is inside what the repetitions already disagree by.
    let base = baseline();
    let (code, stdout, _) = run_compare(&base, &p99_raised(&base, "subinterpreters"), &[]);
    assert_eq!(code, 0, "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.contains("subinterpreters") && l.contains(" p99 "))
        .unwrap();
    assert!(
        row.contains("+20.0%") && row.contains("worse, not significant"),
        "{row}"
    );
}

#[test]
fn two_percent_of_noise_everywhere_passes() {
    let base = baseline();
    let mut cand = base.clone();
    let mut k = 0u32;
    for r in cand["runs"].as_array_mut().unwrap() {
        for path in [
            &["throughput_rps"][..],
            &["latency_us", "p50"],
            &["latency_us", "p99"],
            &["pss_bytes", "peak_bytes"],
            &["tasks", "enqueue_to_finish_us", "p99"],
        ] {
            k += 1;
            // Deterministic ±2%: alternate signs, varying size.
            let f =
                1.0 + 0.02 * if k.is_multiple_of(2) { 1.0 } else { -1.0 } * f64::from(k % 5) / 4.0;
            let mut v = &mut *r;
            for key in &path[..path.len() - 1] {
                v = &mut v[*key];
            }
            let last = path[path.len() - 1];
            let x = v[last].as_f64().unwrap() * f;
            v[last] = if v[last].is_u64() {
                Value::from(x.round() as u64)
            } else {
                Value::from(x)
            };
        }
    }
    let (code, stdout, stderr) = run_compare(&base, &cand, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("REGRESSED"), "{stdout}");
    assert!(stdout.contains("No regression beyond 5%"), "{stdout}");
}

#[test]
fn the_threshold_is_a_flag() {
    let base = baseline();
    let mut cand = base.clone();
    for r in runs_of(&mut cand, "free_threaded") {
        let p = r["pss_bytes"]["peak_bytes"].as_f64().unwrap();
        r["pss_bytes"]["peak_bytes"] = Value::from((p * 1.08) as u64);
    }
    assert_eq!(run_compare(&base, &cand, &[]).0, 1);
    let (code, stdout, _) = run_compare(&base, &cand, &["--max-regression", "10%"]);
    assert_eq!(code, 0, "{stdout}");
    let (code, _, stderr) = run_compare(&base, &cand, &["--max-regression", "lots"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--max-regression") && stderr.contains("percentage"),
        "{stderr}"
    );
}

#[test]
fn a_missing_field_is_bad_input_said_plainly() {
    let base = baseline();
    let mut cand = base.clone();
    cand["runs"][1]["latency_us"]
        .as_object_mut()
        .unwrap()
        .remove("p99");
    let (code, _, stderr) = run_compare(&base, &cand, &[]);
    assert_eq!(code, 2, "{stderr}");
    // Written compactly, the whole document is line 1; the column points into runs[1].
    assert!(
        stderr.contains("cand.json:1:")
            && stderr.contains("not a results.json of schema version 2: missing field `p99`"),
        "{stderr}"
    );
}

#[test]
fn another_schema_version_or_a_missing_mode_is_bad_input() {
    let base = baseline();
    let mut newer = base.clone();
    newer["schema_version"] = Value::from(3);
    let (code, _, stderr) = run_compare(&base, &newer, &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("schema version 3") && stderr.contains("reads version 2"),
        "{stderr}"
    );

    let mut fewer = base.clone();
    fewer["runs"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["label"] != "free_threaded");
    let (code, _, stderr) = run_compare(&base, &fewer, &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no measured run of `free_threaded`"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\n  \"schema_version\": 2,\n  oops\n}").unwrap();
    let out = djbench()
        .arg("compare")
        .arg(&broken)
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.json:3:3"), "{stderr}");
}

#[test]
fn one_repetition_is_judged_on_the_threshold_alone_and_says_so() {
    let mut base = baseline();
    base["runs"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["repetition"] == 1);
    let mut cand = base.clone();
    for r in runs_of(&mut cand, "gunicorn_celery") {
        let t = r["throughput_rps"].as_f64().unwrap();
        r["throughput_rps"] = Value::from(t * 0.9);
    }
    let (code, stdout, stderr) = run_compare(&base, &cand, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("gunicorn_celery req/s"), "{stderr}");
    assert!(stdout.contains("the threshold alone decides"), "{stdout}");
}

#[test]
fn report_rebuilds_the_summary_from_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::report_fixture(dir.path());
    assert_eq!(out.status.code(), Some(0));
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert_eq!(md, String::from_utf8_lossy(&out.stdout));
    assert!(md.starts_with("# djbench: ci_smoke"), "{md}");
    assert!(md.contains("Medians over 3 repetitions"), "{md}");
    for label in ["gunicorn_celery", "subinterpreters", "free_threaded"] {
        assert!(
            md.lines().any(|l| l.starts_with(&format!("| {label} |"))),
            "{label} missing:\n{md}"
        );
    }
    // free_threaded ran 3.13.15t, the others 3.14.10: it is ranked against none of them, and
    // the summary says why; the two 3.14 rows are ranked against each other.
    let row = |label: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap()
    };
    assert!(!row("free_threaded").contains("**"), "{md}");
    assert!(row("subinterpreters").contains("**"), "{md}");
    assert!(md.contains("NOT ONE INTERPRETER"), "{md}");
    assert!(
        md.contains("CPython 3.13.15 (a plain build): free_threaded"),
        "{md}"
    );
}

#[test]
fn folders_pool_their_results_as_repetitions() {
    // One results.json per repetition, as the A/B recipe writes them.
    let base = baseline();
    let dir = tempfile::tempdir().unwrap();
    for (side, factor) in [("base", 1.0), ("head", 1.3)] {
        for rep in 1..=3u64 {
            let mut one = base.clone();
            one["runs"]
                .as_array_mut()
                .unwrap()
                .retain(|r| r["repetition"] == rep);
            for r in runs_of(&mut one, "gunicorn_celery") {
                let p = r["pss_bytes"]["peak_bytes"].as_f64().unwrap();
                r["pss_bytes"]["peak_bytes"] = Value::from((p * factor) as u64);
            }
            let sub = dir.path().join(side).join(rep.to_string());
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join("results.json"), serde_json::to_vec(&one).unwrap()).unwrap();
        }
    }
    let out = djbench()
        .arg("compare")
        .arg(dir.path().join("base"))
        .arg(dir.path().join("head"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.contains("gunicorn_celery") && l.contains("ΣPSS"))
        .unwrap();
    assert!(
        row.contains("3/3") && row.contains("+30.0%") && row.contains("REGRESSED"),
        "{row}"
    );

    let empty = tempfile::tempdir().unwrap();
    let out = djbench()
        .arg("compare")
        .arg(empty.path())
        .arg(dir.path().join("head"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no results.json in this folder"));
}

#[test]
fn report_exports_bencher_metric_format_and_the_per_second_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = djbench()
        .arg("report")
        .arg(results_fixture())
        .args(["--out"])
        .arg(dir.path())
        .args(["--export", "bmf", "--export", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let bmf: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("bmf.json")).unwrap()).unwrap();
    let base = baseline();
    for label in ["gunicorn_celery", "subinterpreters", "free_threaded"] {
        let t = &bmf[label]["throughput"];
        let reps: Vec<f64> = base["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["label"] == label)
            .map(|r| r["throughput_rps"].as_f64().unwrap())
            .collect();
        assert_eq!(reps.len(), 3);
        let (lo, hi) = (
            t["lower_value"].as_f64().unwrap(),
            t["upper_value"].as_f64().unwrap(),
        );
        let v = t["value"].as_f64().unwrap();
        assert!(lo <= v && v <= hi && reps.contains(&v), "{label}: {t}");
        assert!(bmf[label]["latency_p99_us"]["value"].as_f64().unwrap() > 0.0);
    }
    let csv = std::fs::read_to_string(dir.path().join("seconds.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("run,label,mode,repetition,second,path,count,errors,p50_us,p99_us,max_us")
    );
    let rows: Vec<&str> = lines.collect();
    // The fixture keeps three per-second rows of each of its nine runs.
    assert_eq!(rows.len(), 27, "{csv}");
    assert!(rows.iter().all(|r| r.split(',').count() == 11), "{csv}");
}

#[test]
fn a_file_of_an_older_djbench_is_refused_with_what_to_do() {
    // The shipped version-1 file: zeros where version 2 says unknown, so it is not read.
    let v1 = root().join("fixtures/results/ci_smoke-3reps.json");
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["compare".into(), v1.clone(), results_fixture()],
        vec![
            "report".into(),
            v1.clone(),
            "--out".into(),
            dir.path().to_owned(),
        ],
    ] {
        let out = djbench().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("ci_smoke-3reps.json: written by an older djbench")
                && stderr.contains("results schema version 1")
                && stderr.contains("re-run the scenario"),
            "{stderr}"
        );
    }
    assert!(!dir.path().join("summary.md").exists());
}
