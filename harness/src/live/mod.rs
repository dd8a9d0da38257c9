//! Watching a scenario as it runs: the full-screen live view of `djbench demo` (ratatui), and
//! the plain progress lines that replace it where there is no terminal (CI, pipes). Both read
//! only the scenario's events (`run::Event`: per-second aggregates, never per-request ones)
//! and the keys; the only thing they change is the run's `Controls` (q stops, n skips, p
//! holds the load). They never touch a deployment or measure anything.

mod draw;
mod state;

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as Input, KeyCode, KeyEventKind, KeyModifiers};

use crate::run::{Controls, Event};
pub use state::State;

/// Whether the full-screen view can run here: both ends of a terminal.
pub fn terminal_here() -> bool {
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

/// Frames per second at most: the data changes once a second; the clock and the keys want a
/// little more.
const FRAME: Duration = Duration::from_millis(200);

/// What drawing the view cost: the CPU of the thread that drew it, over how long it ran.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
}

/// The full-screen view until the scenario is over and the presenter leaves (q), or at once
/// after a stop; returns what it cost. An error only when the terminal cannot be used at
/// all; the caller then falls back to plain lines.
pub fn show(events: &Receiver<Event>, controls: &Controls, state: State) -> std::io::Result<Cost> {
    use nix::sys::resource::UsageWho::RUSAGE_THREAD;
    let (cpu, started) = (crate::sample::cpu_seconds(RUSAGE_THREAD), Instant::now());
    draw_until_done(events, controls, state)?;
    Ok(Cost {
        cpu_seconds: crate::sample::cpu_seconds(RUSAGE_THREAD) - cpu,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

fn draw_until_done(
    events: &Receiver<Event>,
    controls: &Controls,
    mut state: State,
) -> std::io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = (|| -> std::io::Result<()> {
        let mut keys = draw::Keys::default();
        loop {
            loop {
                match events.try_recv() {
                    Ok(e) => {
                        if matches!(e, Event::Deploying(_)) {
                            keys.skipping = false;
                        }
                        state.apply(e);
                    }
                    Err(TryRecvError::Empty) => break,
                    // The runner is gone without a word (it panicked): nothing more will come.
                    Err(TryRecvError::Disconnected) => {
                        if state.phase != state::Phase::Finished {
                            return Ok(());
                        }
                        break;
                    }
                }
            }
            keys.held = controls.hold.is_held();
            // Since the phase began: the load's time in this run.
            keys.held_for = controls.hold.held_between(state.since, Instant::now());
            keys.stopping = controls.stop.load(Ordering::Relaxed);
            let finished = state.phase == state::Phase::Finished;
            if finished && keys.stopping {
                return Ok(());
            }
            terminal.draw(|f| draw::frame(f, &state, keys))?;
            if !event::poll(FRAME)? {
                continue;
            }
            let Input::Key(k) = event::read()? else {
                continue;
            };
            if k.kind != KeyEventKind::Press {
                continue;
            }
            let ctrl_c =
                k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
            // In raw mode Ctrl-C is a key, not a signal: the first stops through teardown, the
            // second kills at once, as a second SIGINT does outside the view.
            if ctrl_c {
                if controls.stop.swap(true, Ordering::Relaxed) {
                    crate::signals::kill_deployments_now("Ctrl-C again");
                }
                continue;
            }
            match k.code {
                KeyCode::Char('q') | KeyCode::Esc | KeyCode::Enter if finished => return Ok(()),
                KeyCode::Char('q') | KeyCode::Esc => controls.stop.store(true, Ordering::Relaxed),
                KeyCode::Char('n') if !finished => {
                    controls.skip.store(true, Ordering::Relaxed);
                    keys.skipping = true;
                }
                KeyCode::Char('p') if state.phase == state::Phase::Measuring => {
                    controls.hold.toggle();
                }
                _ => {}
            }
        }
    })();
    ratatui::restore();
    drop(terminal);
    result
}

/// Plain progress lines on stderr, for where there is no terminal: the same run, a line per
/// step and one every `every` measured seconds.
pub fn lines(events: &Receiver<Event>, mut state: State, every: u64) {
    loop {
        let e = match events.recv_timeout(Duration::from_secs(60)) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let line = match &e {
            Event::Note(m) => Some(m.clone()),
            Event::Deploying(r) => Some(format!("{}: deploying: {}", r.label, draw::describe(r))),
            Event::Measuring {
                python,
                gil_enabled,
            } => state.run.as_ref().map(|r| {
                format!(
                    "{}: ready (Python {python}, GIL {}); {} s warm-up, {} s measured",
                    r.label,
                    match gil_enabled {
                        Some(true) => "on",
                        Some(false) => "off",
                        None => "?",
                    },
                    r.warmup.as_secs(),
                    r.duration.as_secs()
                )
            }),
            Event::Second(row) if (row.second + 1) % every == 0 => state.run.as_ref().map(|r| {
                let mut line = format!(
                    "{}: {:>3} s  {} req/s  p50 {:.1} ms  p99 {:.1} ms  errors {}",
                    r.label,
                    row.second + 1,
                    row.count - row.errors,
                    row.p50_us as f64 / 1000.0,
                    row.p99_us as f64 / 1000.0,
                    state.errors + row.errors,
                );
                if let Some(g) = &state.glance {
                    let pss: u64 = g.processes.iter().map(|p| p.pss_bytes).sum();
                    let cores: f64 = g.processes.iter().map(|p| p.cores).sum();
                    line.push_str(&format!(
                        "  ΣPSS {:.0} MiB  CPU {cores:.2} cores",
                        pss as f64 / 1048576.0
                    ));
                }
                if let Some((queued, running, done)) = state.task_counts() {
                    line.push_str(&format!(
                        "  tasks {queued} queued, {running} running, {done} done"
                    ));
                }
                line
            }),
            Event::Draining => state
                .run
                .as_ref()
                .map(|r| format!("{}: load over, draining tasks", r.label)),
            Event::Finished { out, complete } => Some(format!(
                "{}; report: {}",
                if *complete {
                    "every run complete"
                } else {
                    "incomplete"
                },
                out.join("report.html").display()
            )),
            _ => None,
        };
        if let Some(l) = line {
            eprintln!("djbench: {l}");
        }
        state.apply(e);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::load::SecondRow;
    use crate::run::RunInfo;
    use crate::scenario::model::Mode;

    fn screen(state: &State, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw::frame(f, state, draw::Keys::default()))
            .unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first deployment's run starting: 4 web and 2 task workers, with tasks.
    fn deploying(mode: Mode, label: &str) -> Event {
        Event::Deploying(RunInfo {
            index: 1,
            runs: 3,
            deployment: 0,
            label: label.to_owned(),
            mode,
            repetition: 1,
            web_workers: 4,
            task_workers: 2,
            threads: 1,
            background_tasks: true,
            warmup: Duration::from_secs(3),
            duration: Duration::from_secs(25),
        })
    }

    fn measuring(mode: Mode, label: &str) -> State {
        let mut s = State::new("talk_demo", vec![label.to_owned()]);
        s.apply(deploying(mode, label));
        s.apply(Event::Measuring {
            python: "3.14.10".into(),
            gil_enabled: Some(true),
        });
        s.apply(Event::Second(SecondRow {
            second: 0,
            path: "*".into(),
            count: 412,
            errors: 0,
            p50_us: 3100,
            p99_us: 19_200,
            max_us: 30_000,
        }));
        s
    }

    /// Every mode's screen fits 80×24: its name, the live numbers and the keys are on it.
    #[test]
    fn the_running_view_fits_80_by_24_in_every_mode() {
        for (mode, label) in [
            (Mode::GunicornCelery, "gunicorn_celery"),
            (Mode::Subinterpreters, "subinterpreters"),
            (Mode::FreeThreaded, "free_threaded_with_gil"),
        ] {
            let text = screen(&measuring(mode, label), 80, 24);
            for needle in [
                label,
                "412 req/s",
                "p99 19.2 ms",
                "pause load",
                "shape",
                "interpreter",
            ] {
                assert!(text.contains(needle), "{needle} missing:\n{text}");
            }
        }
    }

    /// A terminal too small for the layout squeezes it; a projector-sized one spreads it.
    #[test]
    fn any_terminal_size_draws_without_a_panic() {
        let s = measuring(Mode::FreeThreaded, "free_threaded");
        for (w, h) in [(1, 1), (20, 6), (40, 12), (79, 23), (240, 70)] {
            let text = screen(&s, w, h);
            assert_eq!(text.lines().count(), h as usize);
        }
        assert!(screen(&s, 240, 70).contains("412 req/s"));
    }

    #[test]
    fn the_banner_names_the_next_mode_and_the_end_names_the_report() {
        let mut s = State::new("talk_demo", vec!["subinterpreters".into()]);
        s.apply(deploying(Mode::Subinterpreters, "subinterpreters"));
        let text = screen(&s, 80, 24);
        assert!(text.contains("next  subinterpreters"), "{text}");
        s.apply(Event::Finished {
            out: "/tmp/out".into(),
            complete: false,
        });
        let text = screen(&s, 80, 24);
        assert!(text.contains("/tmp/out/report.html"), "{text}");
        assert!(text.contains("incomplete"), "{text}");
    }
}
