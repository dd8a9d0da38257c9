//! `djbench compare` and `djbench report` on a real results.json and candidates derived from
//! it (through the typed results model, with five repetitions made from its three): a
//! regression must fail naming its deployment and metric, noise must pass, three repetitions
//! must call nothing and say how many would, interleaved run folders must be tested as pairs,
//! and a file that cannot be compared must say why with exit 2.

mod common;
use common::{djbench, results_fixture, root};

use djbench::results::{Results, RunResult};
use serde_json::Value;

fn baseline() -> Value {
    let path = results_fixture();
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // compare reads nothing of a run's load report, and the fixture's predates fields the
    // report has since gained (`ok`, …): without it the runs read as version 2 still.
    for r in v["runs"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("load");
    }
    v
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

/// The fixture, typed (without its runs' load reports, as `baseline`).
fn fixture() -> Results {
    serde_json::from_value(baseline()).unwrap()
}

/// Five repetitions of every deployment: repetition i is the fixture's repetition `order[i]`
/// with every figure times `noise[i]` (the fixture has three).
fn five(doc: &Results, order: [u32; 5], noise: [f64; 5]) -> Results {
    let mut out = doc.clone();
    out.runs = (0..5)
        .flat_map(|i| {
            doc.runs
                .iter()
                .filter(move |r| r.repetition == order[i])
                .map(move |r| {
                    let mut r = r.clone();
                    r.repetition = i as u32 + 1;
                    common::scale(&mut r, noise[i]);
                    r
                })
        })
        .collect();
    out
}

const BASE_NOISE: [f64; 5] = [1.0, 1.02, 0.98, 1.01, 0.99];
const CAND_NOISE: [f64; 5] = [0.99, 1.01, 1.0, 0.98, 1.02];

fn typed(doc: &Results) -> Value {
    serde_json::to_value(doc).unwrap()
}

/// `change` applied to every run of `label`.
fn changed(mut doc: Results, label: &str, change: impl Fn(&mut RunResult)) -> Results {
    doc.runs
        .iter_mut()
        .filter(|r| r.label == label)
        .for_each(change);
    doc
}

fn row_of<'a>(stdout: &'a str, label: &str, metric: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.contains(label) && l.contains(metric))
        .unwrap_or_else(|| panic!("no {label} {metric} row in\n{stdout}"))
}

#[test]
fn three_repetitions_are_not_enough_to_call_and_say_how_many_would_be() {
    // The fixture has 3 repetitions a side: a fifth more p99 is called neither way.
    let base = fixture();
    let cand = changed(base.clone(), "gunicorn_celery", |r| {
        let l = r.latency_us.as_mut().unwrap();
        l.p99 = (l.p99 as f64 * 1.2).round() as u64;
    });
    let (code, stdout, stderr) = run_compare(&typed(&base), &typed(&cand), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let row = row_of(&stdout, "gunicorn_celery", " p99 ");
    let need: usize = row
        .split("not enough repetitions to call this: 3, at least ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{row}"));
    assert!(need >= 5, "{row}");
    assert!(!stdout.contains("REGRESSED"), "{stdout}");
    assert!(
        stdout.contains("--repetitions") && stdout.contains("too few repetitions to call"),
        "{stdout}"
    );

    let (code, stdout, _) = run_compare(&typed(&base), &typed(&cand), &["--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let row = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "gunicorn_celery" && r["metric"] == "p99")
        .unwrap();
    assert_eq!(row["verdict"], "not_enough_repetitions", "{row}");
    assert_eq!(row["call"]["call"], "not_enough_repetitions", "{row}");
    assert_eq!(row["call"]["have"], 3, "{row}");
    assert!(row["call"]["need"].as_u64().unwrap() >= 5, "{row}");
    assert!(row["p_adjusted"].is_null(), "{row}");
}

#[test]
fn a_p99_raised_by_a_fifth_at_five_repetitions_a_side_fails_naming_it() {
    let fx = fixture();
    let base = five(&fx, [1, 2, 3, 1, 2], BASE_NOISE);
    let cand = changed(
        five(&fx, [1, 2, 3, 1, 2], CAND_NOISE),
        "gunicorn_celery",
        |r| {
            let l = r.latency_us.as_mut().unwrap();
            l.p99 = (l.p99 as f64 * 1.2).round() as u64;
        },
    );
    let (code, stdout, stderr) = run_compare(&typed(&base), &typed(&cand), &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("Regressed: gunicorn_celery p99"),
        "{stderr}"
    );
    let row = row_of(&stdout, "gunicorn_celery", " p99 ");
    assert!(row.contains("REGRESSED") && row.contains("5/5"), "{row}");
    // The test's change and its interval, which excludes no change.
    assert!(row.contains("+2") && row.contains('…'), "{row}");
    assert_eq!(stdout.matches("REGRESSED").count(), 1, "{stdout}");
    assert!(
        stdout.contains("Welch's t-test") && stdout.contains("Holm"),
        "{stdout}"
    );
    // subinterpreters' throughput spans 366–734/s in the fixture: its CV is warned about.
    assert!(
        row_of(&stdout, "subinterpreters", "req/s").contains("%!"),
        "{stdout}"
    );
    assert!(
        stdout.contains("`subinterpreters` req/s: repetitions vary by"),
        "{stdout}"
    );

    let out = run_compare(&typed(&base), &typed(&cand), &["--json"]);
    assert_eq!(out.0, 1);
    let v: Value = serde_json::from_str(&out.1).unwrap();
    assert_eq!(v["paired"], false);
    let row = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "gunicorn_celery" && r["metric"] == "p99")
        .unwrap();
    assert_eq!(row["verdict"], "regressed");
    assert_eq!(row["because"], "worse");
    assert_eq!(row["call"]["call"], "worse");
    let change = row["call"]["change"].as_f64().unwrap();
    assert!((0.15..0.25).contains(&change), "{row}");
    let lo = row["call"]["interval"][0].as_f64().unwrap();
    assert!(lo > 0.0, "{row}");
    assert!(row["p_adjusted"].as_f64().unwrap() <= 0.05, "{row}");
    assert!(row["cv"]["baseline"].as_f64().unwrap() < 0.10, "{row}");
    assert!(row["baseline"].as_f64().unwrap() > 0.0 && row["candidate"].is_f64());
}

#[test]
fn an_a_a_comparison_of_five_noisy_repetitions_passes() {
    // Both sides from the same runs in another order, each figure with ±2% of noise.
    let fx = fixture();
    let base = five(&fx, [1, 2, 3, 1, 2], BASE_NOISE);
    let cand = five(&fx, [3, 1, 2, 2, 3], CAND_NOISE);
    let (code, stdout, stderr) = run_compare(&typed(&base), &typed(&cand), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("REGRESSED"), "{stdout}");
    assert!(!stdout.contains("not enough repetitions"), "{stdout}");
    assert!(stdout.contains("No regression beyond 5%."), "{stdout}");
}

#[test]
fn the_threshold_is_a_flag() {
    let fx = fixture();
    let base = five(&fx, [1, 2, 3, 1, 2], BASE_NOISE);
    let cand = changed(
        five(&fx, [1, 2, 3, 1, 2], CAND_NOISE),
        "free_threaded",
        |r| {
            let m = r.pss_bytes.as_mut().unwrap();
            m.peak_bytes = (m.peak_bytes as f64 * 1.08) as u64;
        },
    );
    let (base, cand) = (typed(&base), typed(&cand));
    let (code, stdout, _) = run_compare(&base, &cand, &[]);
    assert_eq!(code, 1, "{stdout}");
    // 8% is significant, but not more than 10%: no difference worth calling.
    let (code, stdout, _) = run_compare(&base, &cand, &["--max-regression", "10%"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        row_of(&stdout, "free_threaded", "ΣPSS").contains("no difference"),
        "{stdout}"
    );
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
fn one_repetition_calls_no_change_but_errors_rising_from_zero_still_fail() {
    let mut base = fixture();
    base.runs.retain(|r| r.repetition == 1);
    let cand = changed(base.clone(), "gunicorn_celery", |r| r.throughput_rps *= 0.9);
    let (code, stdout, stderr) = run_compare(&typed(&base), &typed(&cand), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let row = row_of(&stdout, "gunicorn_celery", "req/s");
    assert!(
        row.contains("not enough repetitions to call this: 1, at least 5 a side needed"),
        "{row}"
    );
    // Errors from 0 to 3 fail by rule, whatever the count of repetitions.
    let cand = changed(cand, "free_threaded", |r| r.errors = 3);
    let (code, stdout, stderr) = run_compare(&typed(&base), &typed(&cand), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stderr.trim(), "Regressed: free_threaded errors", "{stderr}");
    assert!(
        row_of(&stdout, "free_threaded", "errors").contains("REGRESSED: rose from 0"),
        "{stdout}"
    );
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
    // the summary says why. Three repetitions call no difference, so no row has a best.
    let row = |label: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap()
    };
    for label in ["gunicorn_celery", "subinterpreters", "free_threaded"] {
        assert!(!row(label).contains("**"), "{md}");
    }
    assert!(
        md.contains("no best is marked: 3 repetitions per deployment, 5 needed"),
        "{md}"
    );
    assert!(md.contains("NOT ONE INTERPRETER"), "{md}");
    assert!(
        md.contains("CPython 3.13.15 (a plain build): free_threaded"),
        "{md}"
    );
}

#[test]
fn numbered_run_folders_on_both_sides_are_tested_as_pairs() {
    // One results.json per repetition, in base/NN and head/NN as .ci/ab writes them.
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    for (side, noise, factor) in [("base", BASE_NOISE, 1.0), ("head", CAND_NOISE, 1.3)] {
        let doc = changed(five(&fx, [1, 2, 3, 1, 2], noise), "gunicorn_celery", |r| {
            let m = r.pss_bytes.as_mut().unwrap();
            m.peak_bytes = (m.peak_bytes as f64 * factor) as u64;
        });
        for rep in 1..=5u32 {
            let mut one = doc.clone();
            one.runs.retain(|r| r.repetition == rep);
            let sub = dir.path().join(side).join(format!("{rep:02}"));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join("results.json"), serde_json::to_vec(&one).unwrap()).unwrap();
        }
    }
    let compare = |extra: &[&str]| {
        djbench()
            .arg("compare")
            .arg(dir.path().join("base"))
            .arg(dir.path().join("head"))
            .args(extra)
            .output()
            .unwrap()
    };
    let out = compare(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("paired t-test"), "{stdout}");
    let row = row_of(&stdout, "gunicorn_celery", "ΣPSS");
    assert!(
        row.contains("5/5") && row.contains("+3") && row.contains("REGRESSED"),
        "{row}"
    );
    let out = compare(&["--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["paired"], true);
    let row = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "gunicorn_celery" && r["metric"] == "pss")
        .unwrap();
    assert_eq!(row["call"]["paired"], true, "{row}");
    assert_eq!(row["call"]["df"], 4.0, "{row}");

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

fn capacity_fixture(n: u32) -> Results {
    let path = root().join(format!("fixtures/results/capacity-run{n}.json"));
    djbench::results::read(&path).unwrap()
}

/// Five repetitions of a capacity run as .ci/ab writes them, each capacity scaled by
/// `factor` and a little noise.
fn capacity_folders(dir: &std::path::Path, doc: &Results, factor: f64) {
    for (rep, noise) in (1..=5u32).zip([1.0, 0.99, 1.01, 1.005, 0.995]) {
        let mut one = doc.clone();
        for c in &mut one.capacity {
            c.capacity_rps = c.capacity_rps.map(|v| v * factor * noise);
        }
        let sub = dir.join(format!("{rep:02}"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("results.json"), serde_json::to_vec(&one).unwrap()).unwrap();
    }
}

#[test]
fn compare_judges_capacity_and_nothing_a_capacity_run_did_not_measure() {
    // Two real runs, one search each: capacity is shown, nothing called.
    let (a, b) = (capacity_fixture(1), capacity_fixture(2));
    let (code, stdout, stderr) = run_compare(&typed(&a), &typed(&b), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let row = row_of(&stdout, "gunicorn_celery", "capacity");
    assert!(
        row.contains("1120.0/s") && row.contains("1020.0/s"),
        "{row}"
    );
    assert!(!stdout.contains("p99"), "only capacity is known: {stdout}");

    // Five a side, the candidate's capacity 15% lower: a regression, tested as pairs.
    let dir = tempfile::tempdir().unwrap();
    capacity_folders(&dir.path().join("base"), &a, 1.0);
    capacity_folders(&dir.path().join("head"), &a, 0.85);
    let out = djbench()
        .arg("compare")
        .arg(dir.path().join("base"))
        .arg(dir.path().join("head"))
        .args(["--metric", "capacity", "--max-regression", "5%"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for label in ["gunicorn_celery", "subinterpreters", "free_threaded"] {
        assert!(
            row_of(&stdout, label, "capacity").contains("REGRESSED"),
            "{stdout}"
        );
    }

    // A search that did not converge in the candidate: its capacity is unknown, and fails.
    let mut unknown = b.clone();
    unknown.capacity[1].capacity_rps = None;
    let (code, stdout, _) = run_compare(&typed(&a), &typed(&unknown), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        row_of(&stdout, "subinterpreters", "capacity").contains("REGRESSED"),
        "{stdout}"
    );
}

#[test]
fn a_capacity_threshold_holds_only_above_it_and_never_when_unknown() {
    let mut doc = capacity_fixture(1);
    doc.scenario.thresholds.capacity = Some(djbench::scenario::units::Rate(1000.0));
    doc.capacity[0].capacity_rps = None;
    let broken = djbench::compare::thresholds(&doc);
    let labels: Vec<&str> = broken.iter().map(|b| b.label.as_str()).collect();
    // gunicorn_celery unknown, both free-threaded deployments below 1000; subinterpreters
    // (1200) holds.
    assert_eq!(
        labels,
        ["gunicorn_celery", "free_threaded", "free_threaded_gil_twin"]
    );
    assert!(broken[0].measured.starts_with("unknown"), "{:?}", broken[0]);
    assert!(broken.iter().all(|b| b.threshold == "capacity"));
}
