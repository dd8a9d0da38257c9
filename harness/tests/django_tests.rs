//! The sample app's own Django tests, run under every provisioned interpreter (3.14 with the
//! GIL, the free-threaded build, and the GIL twin when it was built).

use djbench::deploy::django_dir;
use djbench::provision::{self, Cache, Lookup, Ui, Wants};

#[test]
fn the_django_tests_pass_on_every_provisioned_interpreter() {
    let report = provision::setup(
        &Lookup::from_env(Cache::from_env()),
        Wants::default(),
        &Ui::quiet(),
    )
    .unwrap_or_else(|e| panic!("setup failed: {e}"));
    assert!(report.venvs.len() >= 2, "{:?}", report.venvs);
    for venv in &report.venvs {
        let out = std::process::Command::new(venv.path.join("bin/python"))
            .args(["manage.py", "test", "bench", "--noinput", "-v", "2"])
            .current_dir(django_dir())
            .env_remove("DJBENCH_SQLITE_PATH")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "Django tests failed on {}:\n{log}",
            venv.flavour
        );
        assert!(log.contains("\nOK"), "{log}");
        let ran: usize = log
            .lines()
            .find_map(|l| {
                l.strip_prefix("Ran ")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        assert!(ran >= 15, "only {ran} Django tests ran on {}", venv.flavour);
    }
}
