//! Drawing the live view from its state: one frame, laid out for anything from 80×24 up.
//! Colours are the HTML report's (deployment colours and role colours from one palette).

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline, Wrap};

use super::state::{Finished, Phase, State};
use crate::deploy::Role;
use crate::report::{PALETTE, ROLE_COLORS};
use crate::run::RunInfo;
use crate::scenario::model::Mode;

/// What the keys have done, for the footer and the header.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keys {
    pub held: bool,
    /// Time the load has been held in this run.
    pub held_for: Duration,
    pub stopping: bool,
    pub skipping: bool,
}

fn rgb(hex: &str) -> Color {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0x808080);
    Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

pub fn deployment_color(i: usize) -> Color {
    rgb(PALETTE[i % PALETTE.len()])
}

pub fn role_color(r: Role) -> Color {
    rgb(ROLE_COLORS[r.order()])
}

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1048576.0)
}

/// A horizontal bar of `width` cells for `value` on `scale`, in eighths of a cell.
pub fn bar(value: f64, scale: f64, width: usize) -> String {
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    if scale <= 0.0 || width == 0 {
        return String::new();
    }
    let eighths = ((value / scale).clamp(0.0, 1.0) * width as f64 * 8.0).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    s.push_str(PARTS[eighths % 8]);
    s
}

/// Pads or cuts `s` to exactly `n` characters (a cut ends in `…`).
fn fit(s: &str, n: usize) -> String {
    let len = s.chars().count();
    if len > n {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        if n > 0 {
            out.push('…');
        }
        return out;
    }
    let mut out = s.to_owned();
    out.extend(std::iter::repeat_n(' ', n - len));
    out
}

/// What the mode is, in words, with the scenario's counts.
pub fn describe(r: &RunInfo) -> String {
    match r.mode {
        Mode::GunicornCelery => format!(
            "three programs: gunicorn ({} web processes), celery ({} task processes), redis",
            r.web_workers, r.task_workers
        ),
        Mode::Subinterpreters => format!(
            "one process: {} web and {} task subinterpreters, a GIL each",
            r.web_workers, r.task_workers
        ),
        Mode::FreeThreaded => format!(
            "one process, one interpreter: {} web and {} task threads",
            r.web_workers, r.task_workers
        ),
    }
}

pub fn frame(f: &mut Frame, s: &State, keys: Keys) {
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(f.area());
    f.render_widget(title(s, keys), top);
    f.render_widget(footer(s, keys), bottom);
    match s.phase {
        Phase::Finished => finale(f, s, body),
        Phase::Preparing | Phase::Deploying => banner(f, s, body),
        Phase::Measuring | Phase::Draining => running(f, s, keys, body),
    }
}

fn title(s: &State, keys: Keys) -> Line<'static> {
    let mut spans = vec![
        Span::from(" djbench ").bold().reversed(),
        Span::from(format!(" {} ", s.scenario)).bold(),
    ];
    if let Some(r) = &s.run
        && s.phase != Phase::Finished
    {
        spans.push(Span::styled(
            format!("· run {} of {} ", r.index, r.runs),
            dim(),
        ));
    }
    if keys.held {
        spans.push(Span::from(" PAUSED ").black().on_yellow().bold());
    }
    if keys.stopping {
        spans.push(
            Span::from(" stopping: tearing down ")
                .white()
                .on_red()
                .bold(),
        );
    }
    Line::from(spans)
}

fn footer(s: &State, keys: Keys) -> Line<'static> {
    let key = |k: &'static str| Span::from(k).bold().reversed();
    if s.phase == Phase::Finished {
        return Line::from(vec![key(" q "), Span::from(" leave ")]);
    }
    Line::from(vec![
        key(" q "),
        Span::from(" stop  "),
        key(" n "),
        Span::from(if keys.skipping {
            " skipping…  "
        } else {
            " next mode  "
        }),
        key(" p "),
        Span::from(if keys.held {
            " resume load "
        } else {
            " pause load "
        }),
    ])
}

/// Between modes: which mode comes, what it is, and what the last one measured.
fn banner(f: &mut Frame, s: &State, area: Rect) {
    let mut lines = vec![Line::default(); (area.height / 4) as usize];
    match &s.run {
        None => lines.push(Line::from("preparing the database…").bold()),
        Some(r) => {
            let color = deployment_color(r.deployment);
            lines.push(Line::from(vec![
                Span::styled("next  ", dim()),
                Span::styled(
                    r.label.clone(),
                    Style::new().fg(color).add_modifier(Modifier::BOLD),
                ),
            ]));
            lines.push(Line::default());
            lines.push(Line::from(describe(r)));
            lines.push(Line::default());
            for l in shape_lines(r, None) {
                lines.push(l);
            }
            lines.push(Line::default());
            lines.push(Line::styled(
                format!("deploying… {} s", s.since.elapsed().as_secs()),
                dim(),
            ));
        }
    }
    if let Some(last) = s.done.last() {
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled("just measured  ", dim()),
            Span::styled(
                last.label.clone(),
                Style::new().fg(deployment_color(last.deployment)).bold(),
            ),
            Span::from(format!("  {}", headline(last))),
        ]));
    }
    f.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        area,
    );
}

fn headline(d: &Finished) -> String {
    if let Some(f) = &d.outcome.failure {
        return format!("failed: {f}");
    }
    let mut parts = Vec::new();
    if let Some(r) = d.rps() {
        parts.push(format!("{r:.0} req/s"));
    }
    if let Some(p) = d.p99_us() {
        parts.push(format!("p99 {}", ms(p)));
    }
    if let Some(m) = d.pss_peak() {
        parts.push(format!("ΣPSS {}", mib(m)));
    }
    if let Some(c) = &d.outcome.cut_short {
        parts.push(c.clone());
    }
    parts.join(" · ")
}

/// The deployment's shape drawn: `[ ]` a process, `◆` an interpreter, `│` a thread, in the
/// colour of what it serves. Counts observed by the sampler replace the configured ones once
/// it has seen the processes.
fn shape_lines(r: &RunInfo, observed: Option<&crate::sample::Glance>) -> Vec<Line<'static>> {
    let role = |role: Role| Style::new().fg(role_color(role));
    let count = |role: Role, configured: usize| {
        observed
            .map(|g| g.processes.iter().filter(|p| p.role == role).count())
            .filter(|&n| n > 0)
            .unwrap_or(configured)
    };
    let threads: u64 = observed.map_or(0, |g| g.processes.iter().map(|p| p.threads).sum());
    let processes = observed.map_or(0, |g| g.processes.len());
    let mut lines = Vec::new();
    let row = |name: &str, n: usize, r: Role, what: &str| {
        let shown = n.min(12);
        let mut spans = vec![Span::from(fit(name, 7))];
        for _ in 0..shown {
            spans.push(Span::styled("[◆]", role(r)));
        }
        if n > shown {
            spans.push(Span::from(format!(" +{}", n - shown)));
        }
        spans.push(Span::styled(format!(" {what}"), dim()));
        Line::from(spans)
    };
    match r.mode {
        Mode::GunicornCelery => {
            let web = count(Role::Web, 1 + r.web_workers as usize);
            let tasks = count(Role::Tasks, 1 + r.task_workers as usize);
            lines.push(row("web", web, Role::Web, "gunicorn"));
            lines.push(row("tasks", tasks, Role::Tasks, "celery"));
            lines.push(row("broker", count(Role::Broker, 1), Role::Broker, "redis"));
            let total = if processes > 0 {
                processes
            } else {
                web + tasks + 1
            };
            lines.push(Line::styled(
                if threads > 0 {
                    format!("{total} processes · {threads} threads")
                } else {
                    format!("{total} processes")
                },
                dim(),
            ));
            lines.push(Line::styled("[◆] a process and its interpreter", dim()));
        }
        Mode::Subinterpreters => {
            let mut spans = vec![Span::from(fit("app", 7)), Span::from("[ ◆ ")];
            for _ in 0..r.web_workers.min(16) {
                spans.push(Span::styled("◆ ", role(Role::Web)));
            }
            for _ in 0..r.task_workers.min(16) {
                spans.push(Span::styled("◆ ", role(Role::Tasks)));
            }
            spans.push(Span::from("]"));
            lines.push(Line::from(spans));
            lines.push(Line::styled(
                format!(
                    "1 process · {} interpreters",
                    1 + r.web_workers + r.task_workers
                ),
                dim(),
            ));
            lines.push(threads_line(threads));
            lines.push(legend());
        }
        Mode::FreeThreaded => {
            let mut spans = vec![Span::from(fit("app", 7)), Span::from("[ ◆ ")];
            for _ in 0..r.web_workers.min(24) {
                spans.push(Span::styled("│", role(Role::Web)));
            }
            spans.push(Span::from(" "));
            for _ in 0..r.task_workers.min(24) {
                spans.push(Span::styled("│", role(Role::Tasks)));
            }
            spans.push(Span::from(" ]"));
            lines.push(Line::from(spans));
            lines.push(Line::styled("1 process · 1 interpreter", dim()));
            lines.push(threads_line(threads));
            lines.push(legend());
        }
    }
    lines
}

/// Threads as the sampler counts them (every thread of the process, the server's and the
/// runtime's included).
fn threads_line(threads: u64) -> Line<'static> {
    if threads > 0 {
        Line::styled(format!("{threads} threads in all"), dim())
    } else {
        Line::default()
    }
}

/// What the shape's glyphs mean, in the roles' colours.
fn legend() -> Line<'static> {
    Line::from(vec![
        Span::styled("◆ interpreter │ thread ", dim()),
        Span::styled("web", Style::new().fg(role_color(Role::Web))),
        Span::from(" "),
        Span::styled("tasks", Style::new().fg(role_color(Role::Tasks))),
    ])
}

fn running(f: &mut Frame, s: &State, keys: Keys, area: Rect) {
    let Some(r) = &s.run else { return };
    let color = deployment_color(r.deployment);
    let [head, middle, lower] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(7),
        Constraint::Min(6),
    ])
    .areas(area);

    // The mode, what it is, and how far the run has got.
    let gil = match s.gil_enabled {
        Some(true) => "GIL on",
        Some(false) => "GIL off",
        None => "GIL ?",
    };
    let block = Block::bordered()
        .border_style(Style::new().fg(color))
        .title(Line::from(format!(" {} ", r.label)).fg(color).bold())
        .title(Line::from(format!(" Python {} · {gil} ", s.python)).right_aligned());
    let total = r.warmup + r.duration;
    let elapsed = s.load_elapsed(keys.held_for).min(total);
    let step = if s.phase == Phase::Draining {
        "load over: draining the task queue, then teardown".to_owned()
    } else if elapsed < r.warmup {
        format!(
            "warming up: {} s of {} s",
            elapsed.as_secs(),
            r.warmup.as_secs()
        )
    } else {
        format!(
            "measuring: {} s of {} s",
            (elapsed - r.warmup).as_secs(),
            r.duration.as_secs()
        )
    };
    let inner = block.inner(head);
    let width = inner.width.saturating_sub(2) as usize;
    let progress = if s.phase == Phase::Draining {
        1.0
    } else {
        elapsed.as_secs_f64() / total.as_secs_f64().max(1e-9)
    };
    let bar_width = width.saturating_sub(step.chars().count() + 2).max(10);
    let done = bar(progress, 1.0, bar_width);
    let rest = bar_width.saturating_sub(done.chars().count());
    f.render_widget(
        Paragraph::new(vec![
            Line::from(describe(r)),
            Line::from(vec![
                Span::styled(done, Style::new().fg(color)),
                Span::styled("░".repeat(rest), dim()),
                Span::from(format!("  {step}")),
            ]),
        ])
        .block(block),
        head,
    );

    // The shape, and the numbers of the last second.
    let [shape, now] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(middle);
    f.render_widget(
        Paragraph::new(shape_lines(r, s.glance.as_ref())).block(Block::bordered().title(" shape ")),
        shape,
    );
    now_panel(f, s, r, now);

    let [memory, cpu] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(lower);
    memory_panel(f, s, memory);
    cpu_panel(f, s, cpu);
}

fn now_panel(f: &mut Frame, s: &State, r: &RunInfo, area: Rect) {
    let block = Block::bordered().title(" now (last second) ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [numbers, spark, tasks] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let lines = match s.last() {
        None => vec![Line::styled(
            "numbers from the first measured second",
            dim(),
        )],
        Some(l) => vec![
            Line::from(vec![
                Span::from(format!("{}", l.count - l.errors)).bold(),
                Span::from(" req/s   errors "),
                if s.errors > 0 {
                    Span::from(s.errors.to_string()).bold().red()
                } else {
                    Span::from("0").bold()
                },
            ]),
            Line::from(vec![
                Span::from("p50 "),
                Span::from(ms(l.p50_us)).bold(),
                Span::from("   p99 "),
                Span::from(ms(l.p99_us)).bold(),
            ]),
        ],
    };
    f.render_widget(Paragraph::new(lines), numbers);
    let width = spark.width as usize;
    let data: Vec<u64> = s
        .seconds
        .iter()
        .rev()
        .take(width)
        .rev()
        .map(|r| r.count - r.errors)
        .collect();
    let max = s.seconds.iter().map(|r| r.count).max().unwrap_or(1).max(1);
    f.render_widget(
        Sparkline::default()
            .data(&data)
            .max(max)
            .style(Style::new().fg(deployment_color(r.deployment))),
        spark,
    );
    let tasks_line = if !r.background_tasks {
        Line::styled("no background tasks in this run", dim())
    } else {
        match s.task_counts() {
            None => Line::styled("tasks: counting…", dim()),
            Some((queued, running, done)) => Line::from(vec![
                Span::from("tasks  queued "),
                Span::from(queued.to_string()).bold(),
                Span::from(" · running "),
                Span::from(running.to_string()).bold(),
                Span::from(" · done "),
                Span::from(done.to_string()).bold(),
            ]),
        }
    };
    f.render_widget(Paragraph::new(tasks_line), tasks);
}

/// ΣPSS by role now, and the deployments already measured, on one scale.
fn memory_panel(f: &mut Frame, s: &State, area: Rect) {
    let block = Block::bordered().title(" ΣPSS memory (shared pages once) ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = inner.width as usize;
    let label_w = 16.min(w / 2);
    let value_w = 9;
    let bar_w = w.saturating_sub(label_w + value_w + 2);
    let scale = s.pss_scale as f64;
    let mut lines = Vec::new();
    match &s.glance {
        None => lines.push(Line::styled("from the first measured second", dim())),
        Some(g) => {
            let mut total = 0;
            for role in Role::ALL {
                let bytes: u64 = g
                    .processes
                    .iter()
                    .filter(|p| p.role == role)
                    .map(|p| p.pss_bytes)
                    .sum();
                if bytes == 0 {
                    continue;
                }
                total += bytes;
                lines.push(Line::from(vec![
                    Span::from(fit(role.name(), label_w)),
                    Span::styled(
                        fit(&bar(bytes as f64, scale, bar_w), bar_w),
                        Style::new().fg(role_color(role)),
                    ),
                    Span::from(format!(" {:>8}", mib(bytes))),
                ]));
            }
            lines.push(Line::from(vec![
                Span::from(fit("total", label_w)).bold(),
                Span::from(fit("", bar_w)),
                Span::from(format!(" {:>8}", mib(total))).bold(),
            ]));
        }
    }
    let earlier = latest_per_deployment(s);
    if !earlier.is_empty() && lines.len() + 2 <= inner.height as usize {
        lines.push(Line::styled("measured before (peak)", dim()));
        for d in earlier {
            let Some(peak) = d.pss_peak() else { continue };
            lines.push(Line::from(vec![
                Span::styled(
                    fit(&d.label, label_w.saturating_sub(1)) + " ",
                    Style::new().fg(deployment_color(d.deployment)),
                ),
                Span::styled(
                    fit(&bar(peak as f64, scale, bar_w), bar_w),
                    Style::new().fg(deployment_color(d.deployment)),
                ),
                Span::from(format!(" {:>8}", mib(peak))),
            ]));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The latest finished run of each deployment other than the current one, in scenario order.
fn latest_per_deployment(s: &State) -> Vec<&Finished> {
    let current = s.run.as_ref().map(|r| r.deployment);
    let mut out: Vec<&Finished> = Vec::new();
    for d in s.done.iter().rev() {
        if Some(d.deployment) != current && !out.iter().any(|o| o.deployment == d.deployment) {
            out.push(d);
        }
    }
    out.sort_by_key(|d| d.deployment);
    out
}

fn cpu_panel(f: &mut Frame, s: &State, area: Rect) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let block = Block::bordered().title(format!(" CPU per process (of {cores} cores) "));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(g) = &s.glance else {
        f.render_widget(
            Paragraph::new(Line::styled("from the first measured second", dim())),
            inner,
        );
        return;
    };
    let w = inner.width as usize;
    let label_w = 16.min(w / 2);
    let bar_w = w.saturating_sub(label_w + 6);
    let rows = inner.height as usize;
    let mut procs: Vec<_> = g.processes.iter().collect();
    // The busiest first when they do not all fit.
    if procs.len() > rows {
        procs.sort_by(|a, b| b.cores.total_cmp(&a.cores));
    }
    let mut lines = Vec::new();
    for (i, p) in procs.iter().enumerate() {
        if i + 1 == rows && procs.len() > rows {
            let rest: f64 = procs[i..].iter().map(|p| p.cores).sum();
            lines.push(Line::styled(
                format!("+{} more, {rest:.2} cores", procs.len() - i),
                dim(),
            ));
            break;
        }
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {:<6}", fit(&p.name, label_w.saturating_sub(7)), p.pid),
                Style::new().fg(role_color(p.role)),
            ),
            Span::styled(
                fit(&bar(p.cores, cores as f64, bar_w), bar_w),
                Style::new().fg(role_color(p.role)),
            ),
            Span::from(format!(" {:>5.2}", p.cores)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The end: every deployment's headline numbers side by side (medians over its runs), and
/// where the report is.
fn finale(f: &mut Frame, s: &State, area: Rect) {
    use crate::compare::median;
    let mut lines = vec![
        Line::from(vec![
            Span::from(format!("{} — ", s.scenario)).bold(),
            if s.complete {
                Span::from("every run complete").green()
            } else {
                Span::from("incomplete: stopped, skipped or failed runs").yellow()
            },
        ]),
        Line::default(),
    ];
    let label_w = s
        .deployments
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(10)
        .clamp(10, 24);
    let w = area.width as usize;
    let cols = 5 * 9;
    let bar_w = w.saturating_sub(label_w + cols + 2).min(30);
    lines.push(Line::styled(
        format!(
            "{}{:>9}{:>9}{:>9}{:>9} {}{:>9}",
            fit("", label_w),
            "req/s",
            "p50 ms",
            "p99 ms",
            "ΣPSS MiB",
            fit("", bar_w),
            "task p99"
        ),
        Style::new().add_modifier(Modifier::BOLD),
    ));
    for (i, label) in s.deployments.iter().enumerate() {
        let runs: Vec<&Finished> = s
            .done
            .iter()
            .filter(|d| d.deployment == i && d.outcome.failure.is_none())
            .collect();
        let med = |get: &dyn Fn(&Finished) -> Option<f64>| {
            let v: Vec<f64> = runs.iter().filter_map(|d| get(d)).collect();
            (!v.is_empty()).then(|| median(&v))
        };
        let show = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("-".to_owned(), f);
        let rps = med(&|d| d.rps());
        let p50 = med(&|d| {
            d.outcome
                .load
                .as_ref()
                .and_then(|l| l.latency_us)
                .map(|l| l.p50 as f64)
        });
        let p99 = med(&|d| d.p99_us().map(|v| v as f64));
        let pss = med(&|d| d.pss_peak().map(|v| v as f64));
        let task = med(&|d| match &d.outcome.tasks {
            Some(Ok(t)) => t.enqueue_to_finish_us.map(|l| l.p99 as f64),
            _ => None,
        });
        let color = deployment_color(i);
        lines.push(Line::from(vec![
            Span::styled(fit(label, label_w), Style::new().fg(color).bold()),
            Span::from(format!(
                "{:>9}{:>9}{:>9}{:>9} ",
                show(rps, &|v| format!("{v:.0}")),
                show(p50, &|v| format!("{:.1}", v / 1000.0)),
                show(p99, &|v| format!("{:.1}", v / 1000.0)),
                show(pss, &|v| format!("{:.0}", v / 1048576.0)),
            )),
            Span::styled(
                fit(&bar(pss.unwrap_or(0.0), s.pss_scale as f64, bar_w), bar_w),
                Style::new().fg(color),
            ),
            Span::from(format!(
                "{:>9}",
                show(task, &|v| format!("{:.0}", v / 1000.0))
            )),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        "Medians over each deployment's runs; ΣPSS is the peak over the measured window.",
        dim(),
    ));
    if let Some(out) = &s.out {
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::from("report  "),
            Span::from(out.join("report.html").display().to_string()).bold(),
        ]));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_measured_in_eighths_and_clamped() {
        assert_eq!(bar(0.5, 1.0, 4), "██");
        assert_eq!(bar(0.125, 1.0, 4), "▌");
        assert_eq!(bar(2.0, 1.0, 3), "███");
        assert_eq!(bar(1.0, 0.0, 3), "");
    }
}
