//! The live view, as a presenter drives it: `djbench demo` in a real terminal (tmux), real
//! deployments behind it. Reads the screen with capture-pane, presses keys with send-keys.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One deployment at a time: the machine has two cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A tmux server of the test's own (its own socket), killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(width: u16, height: u16, command: &str) -> Self {
        let t = Self {
            socket: format!("djbench-test-{}", std::process::id()),
        };
        let ok = t
            .cmd()
            .args(["new-session", "-d", "-s", "demo", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(command)
            .status()
            .expect("tmux runs (apt-get install tmux)")
            .success();
        assert!(ok, "tmux could not start a session");
        t
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]).env("TERM", "xterm-256color");
        c
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "demo"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn press(&self, key: &str) {
        assert!(
            self.cmd()
                .args(["send-keys", "-t", "demo", key])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Waits until `ok` holds for the screen; panics with the last screen after `limit`.
    fn wait_for(&self, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "waited {limit:?} for {what}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits until `label`'s run is on screen (its panel's title) with a req/s above 0.
    fn wait_for_mode(&self, label: &str, limit: Duration) -> String {
        let title = format!("┌ {label} ");
        self.wait_for(&format!("{label}'s live numbers"), limit, |s| {
            s.contains(&title) && now_numbers(s).is_some_and(|(rps, _)| rps > 0)
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// The live numbers line: (req/s, p50 text, p99 text) of the last second.
fn now_numbers(screen: &str) -> Option<(u64, String)> {
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines.iter().position(|l| l.contains(" req/s   errors "))?;
    let line = lines[at];
    let start = line.find(|c: char| c.is_ascii_digit())?;
    let rps: u64 = line[start..].split_whitespace().next()?.parse().ok()?;
    // The number, and the percentiles on the line below.
    let p = lines.get(at + 1)?.find("p50")?;
    Some((rps, format!("{} {}", &line[start..], &lines[at + 1][p..])))
}

/// comm, parent and session of a process, from /proc/PID/stat.
fn stat(pid: i32) -> Option<(String, i32, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = text.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some((
        comm,
        fields.get(1)?.parse().ok()?,
        fields.get(3)?.parse().ok()?,
    ))
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// The djbench process running in the pane.
fn djbench_pid(tmux: &Tmux) -> i32 {
    let out = tmux
        .cmd()
        .args(["display-message", "-p", "-t", "demo", "#{pane_pid}"])
        .output()
        .unwrap();
    let shell: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    all_pids()
        .into_iter()
        .find(|&p| stat(p).is_some_and(|(comm, ppid, _)| ppid == shell && comm == "djbench"))
        .expect("djbench runs in the pane")
}

/// Every process of the deployments djbench started: the members of the sessions its
/// children lead (each deployment process leads a session of its own).
fn deployment_of(djbench: i32) -> Vec<i32> {
    let pids = all_pids();
    let leaders: Vec<i32> = pids
        .iter()
        .copied()
        .filter(|&p| stat(p).is_some_and(|(_, ppid, sid)| ppid == djbench && sid == p))
        .collect();
    pids.into_iter()
        .filter(|&p| stat(p).is_some_and(|(_, _, sid)| leaders.contains(&sid)))
        .collect()
}

fn wait_for_file(path: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

#[test]
fn the_demo_shows_live_numbers_skips_with_n_and_stops_cleanly_with_q() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out: PathBuf = tmp.path().join("out");
    let exit_file = tmp.path().join("exit-code");
    let bin = assert_cmd::cargo::cargo_bin("djbench");
    let scenario = common::root().join("fixtures/scenarios/live_demo.yaml");
    let command = format!(
        "cd {root} && {bin} demo {scenario} --out {out}; echo $? > {exit}; sleep 300",
        root = common::root().display(),
        bin = bin.display(),
        scenario = scenario.display(),
        out = out.display(),
        exit = exit_file.display(),
    );
    // 80×24: the smallest terminal the view promises to be readable in.
    let tmux = Tmux::start(80, 24, &command);

    // The first mode: its name, then numbers that change from second to second.
    let first = tmux.wait_for_mode("gunicorn_celery", Duration::from_secs(240));
    assert!(first.contains("shape"), "{first}");
    assert!(first.contains("CPU per process"), "{first}");
    let before = now_numbers(&first).unwrap();
    let changed = tmux.wait_for("the numbers to change", Duration::from_secs(15), |s| {
        now_numbers(s).is_some_and(|n| n.1 != before.1)
    });
    assert!(
        changed.contains("gunicorn"),
        "the shape draws gunicorn:\n{changed}"
    );
    let djbench = djbench_pid(&tmux);
    let mut deployed = deployment_of(djbench);
    assert!(
        deployed.len() >= 7,
        "gunicorn and celery with their workers, and redis: {deployed:?}"
    );

    // n: on to the second mode, whose numbers appear in turn.
    tmux.press("n");
    let second = tmux.wait_for_mode("subinterpreters", Duration::from_secs(120));
    assert!(second.contains("measured before"), "{second}");
    assert!(second.contains("gunicorn_celery"), "{second}");
    deployed.extend(deployment_of(djbench));

    // q: teardown, a partial report, and the terminal given back.
    tmux.press("q");
    assert!(
        wait_for_file(&exit_file, Duration::from_secs(90)),
        "djbench did not exit after q; the screen:\n{}",
        tmux.screen()
    );
    let code = std::fs::read_to_string(&exit_file).unwrap();
    assert_eq!(code.trim(), "1", "an interrupted scenario exits 1");
    let after = tmux.screen();
    assert!(after.contains("interrupted"), "{after}");

    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(doc["complete"], false, "a stopped demo is incomplete");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "the third mode never ran");
    let cut = |i: usize| runs[i]["cut_short"].as_str().unwrap_or("").to_owned();
    assert!(cut(0).starts_with("skipped after"), "{}", cut(0));
    assert!(cut(1).starts_with("interrupted after"), "{}", cut(1));
    for r in runs {
        assert!(r["requests"].as_u64().unwrap() > 0, "{r}");
        let measured = r["load"]["measured_seconds"].as_f64().unwrap();
        assert!(measured > 1.0 && measured < 60.0, "{measured}");
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("cut short"), "{summary}");
    assert!(out.join("report.html").exists());

    // A pid still there must be another process by now, not one of the deployment's.
    let left: Vec<i32> = deployed
        .iter()
        .copied()
        .filter(|&pid| {
            stat(pid).is_some_and(|(comm, _, sid)| comm != "djbench" && deployed.contains(&sid))
        })
        .collect();
    assert!(
        left.is_empty() && common::processes_using(&out).is_empty(),
        "processes of the deployments left: {left:?}"
    );
}

/// Without a terminal (CI, a pipe) the same run prints plain progress lines.
#[test]
fn without_a_terminal_the_demo_prints_plain_lines() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let scenario = common::root().join("fixtures/scenarios/live_demo.yaml");
    let assert = common::djbench()
        .args(["demo"])
        .arg(&scenario)
        .args(["--duration", "6s", "--out"])
        .arg(&out)
        .timeout(Duration::from_secs(600))
        .assert();
    let output = assert.get_output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    for mode in ["gunicorn_celery", "subinterpreters", "free_threaded"] {
        assert!(
            stderr.contains(&format!("djbench: {mode}:   5 s ")),
            "no progress line for {mode}:\n{stderr}"
        );
    }
    assert!(stderr.contains("every run complete; report:"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in plain lines");
}
