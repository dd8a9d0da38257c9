//! Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a cancelled job): the first asks every loop
//! to wind down through teardown (the stop flag: what was measured is written, marked
//! incomplete, and djbench exits 1); another while winding down kills every deployment at once
//! (the run then finds nothing to wait for, writes what it has and exits 1); and should
//! djbench still run five seconds after that, or on one more signal, it exits 1 there and then
//! (the watchdog ends whatever is left). It owns these three signals' handling; it changes no
//! results.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// How long the run may take to write what it has after the deployments were killed.
const GRACE_AFTER_KILL: Duration = Duration::from_secs(5);

/// The process's one stop flag, set by the first of the signals; the handling is installed on
/// the first call.
pub fn stop_flag() -> Arc<AtomicBool> {
    static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    STOP.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        install(&flag);
        flag
    })
    .clone()
}

/// A line on stderr that cannot fail: after SIGHUP the terminal is gone, and `eprintln!` would
/// panic on the write error.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "djbench: {line}");
}

/// Kills every deployment (and PostgreSQL cluster) now, for a second Ctrl-C or signal while
/// the runs wind down: the run finds nothing left to wait for, writes what was measured and
/// exits 1. Should djbench still run five seconds later, it exits 1 there (results.json then
/// holds the runs finished before; the watchdog ends anything started since). `why` opens the
/// line said on stderr.
pub fn kill_deployments_now(why: &str) {
    let killed = crate::deploy::watchdog::kill_now();
    say(&format!(
        "{why}: killed the deployments ({} processes); writing what was measured",
        killed.len()
    ));
    std::thread::spawn(|| {
        std::thread::sleep(GRACE_AFTER_KILL);
        say(&format!(
            "still running {} s after the deployments were killed: exiting; results.json holds \
             the runs finished before",
            GRACE_AFTER_KILL.as_secs()
        ));
        crate::deploy::watchdog::kill_now();
        std::process::exit(1);
    });
}

fn name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "Ctrl-C (SIGINT)",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP (the terminal closed)",
        _ => "a signal",
    }
}

fn install(flag: &Arc<AtomicBool>) {
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            say(&format!(
                "warning: cannot handle Ctrl-C ({e}); it stops djbench at once"
            ));
            return;
        }
    };
    let flag = Arc::clone(flag);
    let seen = Arc::clone(&flag);
    let handler = move || {
        let mut killed_already = false;
        for sig in signals.forever() {
            // The flag may have been set without a signal (the live view's q): winding down
            // already, so this signal is the second.
            if !seen.swap(true, Ordering::SeqCst) {
                say(&format!(
                    "{}: winding down through teardown; once more kills the deployments at once",
                    name(sig)
                ));
            } else if !killed_already {
                killed_already = true;
                kill_deployments_now(&format!("{} again", name(sig)));
            } else {
                crate::deploy::watchdog::kill_now();
                say(&format!("{} a third time: exiting now", name(sig)));
                std::process::exit(1);
            }
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("djbench-signals".into())
        .spawn(handler)
    {
        // Without its thread, at least the first signal still stops the runs.
        say(&format!(
            "warning: a second Ctrl-C will not hurry teardown ({e})"
        ));
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
        }
    }
}
