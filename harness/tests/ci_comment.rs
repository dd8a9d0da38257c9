//! `.ci/comment`, the part of the CI regression job that runs after the deployments: on two
//! pools of fixture results laid out as `.ci/ab` writes them (base/NN and head/NN), it must
//! write compare.txt and the pull-request comment (heading, comparison, the head's last
//! summary under it) and exit with compare's status. No deployment runs: it takes a second.

mod common;
use common::{djbench, results_fixture, root};

use std::path::Path;
use std::process::Command;

use djbench::results::Results;

/// The shipped fixture, typed. Its runs' load reports predate fields the model has since
/// gained, and neither compare nor the summary needs them (as in compare.rs).
fn fixture() -> Results {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results_fixture()).unwrap()).unwrap();
    for r in v["runs"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("load");
    }
    serde_json::from_value(v).unwrap()
}

const BASE_NOISE: [f64; 5] = [1.0, 1.02, 0.98, 1.01, 0.99];
const HEAD_NOISE: [f64; 5] = [0.99, 1.01, 1.0, 0.98, 1.02];

/// One side of an A/B in `dir/side/NN/results.json`, NN = 01…05: repetition NN is the
/// fixture's repetition 1, 2, 3, 1, 2 with every figure times `noise[NN]`, and the peak ΣPSS
/// of gunicorn_celery times `pss`.
fn write_side(dir: &Path, side: &str, noise: [f64; 5], pss: f64) {
    let fx = fixture();
    for (i, from) in [1u32, 2, 3, 1, 2].into_iter().enumerate() {
        let mut one = fx.clone();
        one.runs.retain(|r| r.repetition == from);
        for r in &mut one.runs {
            r.repetition = 1;
            common::scale(r, noise[i]);
            if r.label == "gunicorn_celery" {
                let m = r.pss_bytes.as_mut().unwrap();
                m.peak_bytes = (m.peak_bytes as f64 * pss) as u64;
            }
        }
        let sub = dir.join(side).join(format!("{:02}", i + 1));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("results.json"), serde_json::to_vec(&one).unwrap()).unwrap();
    }
}

/// The head's summary.md as a scenario run leaves it: `djbench report` of its last run, and a
/// decoy in an earlier one that the comment must not take.
fn write_head_summaries(dir: &Path) {
    let last = dir.join("head/05");
    let out = djbench()
        .arg("report")
        .arg(last.join("results.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(last.join("summary.md").is_file());
    std::fs::write(dir.join("head/04/summary.md"), "# DECOY: not the last\n").unwrap();
}

/// `.ci/comment` as .ci/ab calls it, run directly (its exec bit is part of the contract).
fn comment(dir: &Path) -> (i32, String, String) {
    let out = Command::new(root().join(".ci/comment"))
        .arg(env!("CARGO_BIN_EXE_djbench"))
        .arg(dir)
        .args(["ci_smoke", "base0sha", "head1sha"])
        .env("CI", "true")
        .output()
        .unwrap();
    let comment = std::fs::read_to_string(dir.join("comment.md")).unwrap_or_default();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        comment,
    )
}

#[test]
fn a_regressed_head_gets_a_comment_with_the_comparison_and_its_last_summary_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    write_side(dir.path(), "base", BASE_NOISE, 1.0);
    write_side(dir.path(), "head", HEAD_NOISE, 1.3);
    write_head_summaries(dir.path());

    let (code, stdout, md) = comment(dir.path());
    assert_eq!(code, 1, "{stdout}\n{md}");

    let compare = std::fs::read_to_string(dir.path().join("compare.txt")).unwrap();
    assert!(
        stdout.contains(&compare),
        "compare.txt is printed:\n{stdout}"
    );
    // compare ran inside the A/B folder: the sides are named, not a temporary path.
    assert!(compare.starts_with("head against base: "), "{compare}");
    assert!(compare.contains("paired t-test"), "{compare}");
    let regressed: Vec<&str> = compare
        .lines()
        .filter(|l| l.contains("REGRESSED"))
        .collect();
    assert!(
        regressed.len() == 1
            && regressed[0].contains("gunicorn_celery")
            && regressed[0].contains("ΣPSS")
            && regressed[0].contains("5/5"),
        "{compare}"
    );

    assert!(
        md.starts_with(
            "## djbench: ci_smoke, head1sha against base0sha (5 repetitions each, interleaved ABBA"
        ),
        "{md}"
    );
    assert!(
        md.contains(&format!("```\n{compare}```\n")),
        "the comparison, fenced:\n{md}"
    );
    assert!(md.contains("head's last repetition (head/05)"), "{md}");
    assert!(!md.contains("DECOY"), "{md}");
    // The summary's headings sit two levels below the comment's own.
    assert!(md.contains("\n### djbench: ci_smoke\n"), "{md}");
    assert!(md.contains("\n#### Thresholds\n"), "{md}");
    let top: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("# ") || l.starts_with("## "))
        .collect();
    assert_eq!(top.len(), 1, "{top:?}");
}

#[test]
fn an_unchanged_head_exits_0_and_a_missing_side_exits_2_with_the_error_in_the_comment() {
    let dir = tempfile::tempdir().unwrap();
    write_side(dir.path(), "base", BASE_NOISE, 1.0);
    write_side(dir.path(), "head", HEAD_NOISE, 1.0);
    write_head_summaries(dir.path());
    let (code, stdout, md) = comment(dir.path());
    assert_eq!(code, 0, "{stdout}\n{md}");
    assert!(!md.contains("REGRESSED"), "{md}");
    assert!(md.contains("\nNo regression beyond 5%"), "{md}");

    // The head never finished a repetition: compare refuses, and the comment says why.
    std::fs::remove_dir_all(dir.path().join("head")).unwrap();
    let (code, stdout, md) = comment(dir.path());
    assert_eq!(code, 2, "{stdout}\n{md}");
    assert!(
        md.contains("(5 repetitions of the base, 0 of the head"),
        "{md}"
    );
    assert!(md.contains("error: head: cannot read it"), "{md}");
    assert!(md.contains("no repetition of the head finished"), "{md}");

    // A mistaken call names what is wrong, exit 2, and writes nothing.
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(root().join(".ci/comment"))
        .arg(empty.path().join("no-djbench"))
        .arg(empty.path())
        .args(["ci_smoke", "a", "b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an executable djbench"));
    assert!(!empty.path().join("comment.md").exists());
}
