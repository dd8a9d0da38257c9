//! How provisioning shows progress and runs outside programs: a spinner with elapsed time per
//! step on a terminal, one line per step elsewhere (CI logs), and every command's output kept
//! in a log whose tail is shown when it fails.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// A provisioning step that failed: what, why, where the log is, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionError {
    pub what: String,
    pub detail: String,
    pub log: Option<PathBuf>,
    pub fix: Option<String>,
}

impl ProvisionError {
    pub fn new(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            detail: detail.into(),
            log: None,
            fix: None,
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn io(what: impl Into<String>, e: std::io::Error) -> Self {
        Self::new(what, e.to_string())
    }
}

impl fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.detail)?;
        if let Some(log) = &self.log {
            write!(f, "\n  log: {}", log.display())?;
            let tail = log_tail(log, 15);
            if !tail.is_empty() {
                write!(f, "\n  last lines of the log:")?;
                for line in tail {
                    write!(f, "\n  | {line}")?;
                }
            }
        }
        if let Some(fix) = &self.fix {
            write!(f, "\n  to fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProvisionError {}

fn log_tail(log: &Path, lines: usize) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Shows steps as they run.
#[derive(Debug, Clone)]
pub struct Ui {
    live: bool,
    quiet: bool,
    /// What each line starts with: the command doing the steps.
    tag: &'static str,
}

impl Ui {
    /// A spinner on a terminal (not under CI); plain lines otherwise.
    pub fn detect() -> Self {
        let live = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Self {
            live,
            quiet: false,
            tag: "setup",
        }
    }

    /// The same, its lines starting with `tag:` (a command other than setup).
    pub fn tagged(self, tag: &'static str) -> Self {
        Self { tag, ..self }
    }

    /// Says nothing (tests, `doctor`).
    pub fn quiet() -> Self {
        Self {
            live: false,
            quiet: true,
            tag: "setup",
        }
    }

    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{}: {text}", self.tag);
        }
    }

    /// Runs `work` as one named step, showing its progress and how long it took.
    pub fn step<T>(
        &self,
        title: &str,
        work: impl FnOnce(&Step) -> Result<T, ProvisionError>,
    ) -> Result<T, ProvisionError> {
        let started = Instant::now();
        let bar = if self.live {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {wide_msg} {elapsed}")
                    .expect("a fixed template"),
            );
            bar.set_prefix(title.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            Some(bar)
        } else {
            if !self.quiet {
                eprintln!("{}: {title} …", self.tag);
            }
            None
        };
        let step = Step { bar: bar.clone() };
        let result = work(&step);
        let took = format!("{:.1}s", started.elapsed().as_secs_f64());
        let line = match &result {
            Ok(_) => format!("✓ {title} ({took})"),
            Err(_) => format!("✗ {title} (failed after {took})"),
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if !self.quiet {
            eprintln!("{}: {line}", self.tag);
        }
        result
    }
}

/// The running step: say what it is doing now.
pub struct Step {
    bar: Option<ProgressBar>,
}

impl Step {
    pub fn say(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_owned());
        }
    }

    /// Runs `cmd` to completion, its output appended to `log`.
    pub fn run(&self, what: &str, cmd: &mut Command, log: &Path) -> Result<(), ProvisionError> {
        self.say(what);
        run_logged(what, cmd, log)
    }
}

/// Runs `cmd` with stdin closed and its output appended to `log`; a failure carries the log.
pub fn run_logged(what: &str, cmd: &mut Command, log: &Path) -> Result<(), ProvisionError> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| ProvisionError::io(format!("cannot open the log {}", log.display()), e))?;
    let _ = writeln!(file, "\n$ {cmd:?}");
    let err_file = file
        .try_clone()
        .map_err(|e| ProvisionError::io("cannot write the log", e))?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err_file)
        .status()
        .map_err(|e| {
            ProvisionError::new(
                what.to_owned(),
                format!(
                    "cannot start `{}`: {e}",
                    cmd.get_program().to_string_lossy()
                ),
            )
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(ProvisionError {
            what: what.to_owned(),
            detail: format!("`{}` {status}", cmd.get_program().to_string_lossy()),
            log: Some(log.to_owned()),
            fix: None,
        })
    }
}

/// What a finished command printed, and how it ended.
#[derive(Debug, Clone)]
pub struct Captured {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with stdin closed and both outputs captured; Err when it cannot start or takes
/// longer than `limit` (then it is killed).
pub fn run_captured(cmd: &mut Command, limit: Duration) -> Result<Captured, String> {
    use wait_timeout::ChildExt;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    // Read in threads so a chatty child cannot fill a pipe and hang.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let status = match child.wait_timeout(limit).map_err(|e| e.to_string())? {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no answer within {}s", limit.as_secs()));
        }
    };
    Ok(Captured {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// Runs a short command and returns its stdout, or why not when it cannot start, fails, or
/// takes longer than `limit` (a dead shim or a hung interpreter must not stall setup).
pub fn capture(cmd: &mut Command, limit: Duration) -> Result<String, String> {
    let c = run_captured(cmd, limit)?;
    if c.status.success() {
        Ok(c.stdout)
    } else {
        let said = c
            .stderr
            .lines()
            .chain(c.stdout.lines())
            .next()
            .unwrap_or("")
            .trim();
        Err(format!("it exited with {}: {said}", c.status))
    }
}
