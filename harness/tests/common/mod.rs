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

/// `djbench report` on the shipped results fixture, into `dir`.
pub fn report_fixture(dir: &std::path::Path) -> std::process::Output {
    djbench()
        .arg("report")
        .arg(root().join("fixtures/results/ci_smoke-3reps.json"))
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap()
}
