//! What the integration tests share: where the project is, and djbench run from there.
// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ sits in the project")
        .to_owned()
}

/// djbench run from the project root, without colours and as under CI.
pub fn djbench() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("djbench").expect("the binary is built");
    cmd.current_dir(root())
        .env("CI", "true")
        .arg("--color")
        .arg("never");
    cmd
}

/// The shipped results fixture of this schema version (fixtures/results/README.md).
pub fn results_fixture() -> PathBuf {
    root().join("fixtures/results/ci_smoke-3reps-v2.json")
}

/// `djbench report` on the shipped results fixture, into `dir`.
pub fn report_fixture(dir: &std::path::Path) -> std::process::Output {
    djbench()
        .arg("report")
        .arg(results_fixture())
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap()
}

/// Processes whose environment points into `dir`: a deployment of a run writing there.
pub fn processes_using(dir: &Path) -> Vec<i32> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| String::from_utf8_lossy(&env).contains(&needle))
        })
        .collect()
}
