//! Inline SVG charts for report.html: lines (optionally stacked, optionally on a log-percentile
//! x axis or a log y axis, with dashed reference lines) and grouped bars. Written by hand because plotters needs a font backend and system
//! fonts to lay out text, and these charts are a few lines and bars whose text the browser
//! lays out itself. No scripts, no external references: the page works offline and prints.

use std::fmt::Write as _;

/// Okabe–Ito: distinguishable with the common colour-vision deficiencies, and in greyscale.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// web, tasks, broker, app (`Role::ALL`'s order): from the same colour-blind-safe palette.
pub const ROLE_COLORS: [&str; 4] = ["#56B4E9", "#D55E00", "#F0E442", "#CC79A7"];

const W: f64 = 960.0;
const H: f64 = 400.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 64.0;

pub struct Series {
    pub name: String,
    pub color: String,
    pub points: Vec<(f64, f64)>,
    /// Drawn thinner and lighter (other repetitions of the same deployment).
    pub faint: bool,
}

#[derive(Default)]
pub struct Lines {
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Ticks to use on x instead of evenly spaced numbers (value, label).
    pub x_ticks: Option<Vec<(f64, String)>>,
    /// Series stack on each other (areas), in order.
    pub stacked: bool,
    /// y on a log₁₀ axis, for figures spanning orders of magnitude (latency from below a bound
    /// to a timeout); a point at or below 0 cannot be placed and is left out. Not with
    /// `stacked`.
    pub log_y: bool,
    /// Dashed horizontal lines across the plot (a bound such as an SLO's).
    pub y_rules: Vec<Rule>,
    /// Dashed vertical lines (a mark on x such as a deployment's capacity, or a fault).
    pub x_rules: Vec<Rule>,
    /// Shaded spans of x (a stall, from SIGSTOP to SIGCONT), drawn under the series.
    pub x_spans: Vec<Span>,
    /// Every point gets a dot, however many: each is a measurement, not a second of a series.
    pub dots: bool,
}

/// A dashed reference line at `at` on its axis, named on the chart.
#[derive(Clone)]
pub struct Rule {
    pub at: f64,
    pub label: String,
    pub color: String,
}

/// A shaded stretch of x from `from` to `to`, named in its tooltip.
#[derive(Clone)]
pub struct Span {
    pub from: f64,
    pub to: f64,
    pub label: String,
    pub color: String,
}

pub struct Bars {
    pub y_label: String,
    pub groups: Vec<String>,
    /// (name, colour, one value per group; None leaves a gap).
    pub series: Vec<(String, String, Vec<Option<f64>>)>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Round tick steps (1, 2, 5 × 10ⁿ) giving about `n` ticks from 0 to `max`.
fn ticks(max: f64, n: usize) -> Vec<f64> {
    if max.is_nan() || max <= 0.0 || max.is_infinite() {
        return vec![0.0, 1.0];
    }
    let raw = max / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    // Up to the first tick at or above the maximum, so nothing is drawn off the chart.
    let mut t = vec![0.0];
    while t[t.len() - 1] < max * (1.0 - 1e-9) {
        t.push(t.len() as f64 * step);
    }
    t
}

/// Log-axis ticks: each power of ten from the one at or below `min` to the one at or above
/// `max`, with 2 and 5 between them when that spans at most two decades (two or three ticks
/// would say little). Labelled with as many decimals as the tick needs (0.05, 1, 200).
fn log_ticks(min: f64, max: f64) -> Vec<(f64, String)> {
    if !(min > 0.0 && max.is_finite() && max >= min) {
        return vec![(1.0, "1".into()), (10.0, "10".into())];
    }
    // The small tolerance keeps an exact power (100.0 whose log10 is 2.0000000000000004) a
    // tick of its own rather than the start of the next decade.
    let lo = (min.log10() + 1e-9).floor() as i32;
    let hi = ((max.log10() - 1e-9).ceil() as i32).max(lo + 1);
    let fine = hi - lo <= 2;
    let mut t = Vec::new();
    for e in lo..=hi {
        let decimals = (-e).max(0) as usize;
        let steps: &[f64] = if fine && e < hi {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        for m in steps {
            let v = m * 10f64.powi(e);
            t.push((v, format!("{v:.decimals$}")));
        }
    }
    t
}

fn label(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{:.1}", v).trim_end_matches(".0").to_owned()
    } else {
        format!("{v:.2}")
    }
}

fn frame(out: &mut String, title: &str, x_label: &str, y_label: &str) {
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    let _ = write!(
        out,
        "<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 12.0,
        esc(x_label)
    );
    let _ = write!(
        out,
        "<text class=\"axis-title\" transform=\"translate(20 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        TOP + (H - TOP - BOTTOM) / 2.0,
        esc(y_label)
    );
}

fn x_axis(out: &mut String) {
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>",
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
}

fn y_axis(out: &mut String, y_ticks: &[(f64, String)], sy: &dyn Fn(f64) -> f64) {
    for (t, text) in y_ticks {
        let y = sy(*t);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 8.0,
            y + 5.0,
            esc(text)
        );
    }
}

impl Lines {
    pub fn render(&self, title: &str) -> String {
        let mut out = String::new();
        frame(&mut out, title, &self.x_label, &self.y_label);
        let log = self.log_y && !self.stacked;
        // Stacked: each series' y is the running sum at the same x.
        let mut drawn: Vec<Vec<(f64, f64, f64)>> = Vec::new();
        for (i, s) in self.series.iter().enumerate() {
            let pts = s
                .points
                .iter()
                .filter(|p| !log || p.1 > 0.0)
                .map(|&(x, y)| {
                    let base = if self.stacked && i > 0 {
                        drawn[i - 1]
                            .iter()
                            .find(|p| (p.0 - x).abs() < 1e-9)
                            .map_or(0.0, |p| p.2)
                    } else {
                        0.0
                    };
                    (x, base, base + y)
                })
                .collect();
            drawn.push(pts);
        }
        let all = drawn.iter().flatten();
        let xs = all
            .clone()
            .map(|p| p.0)
            .chain(self.x_rules.iter().map(|r| r.at))
            .chain(self.x_spans.iter().flat_map(|s| [s.from, s.to]));
        let x_max = xs.clone().fold(0.0, f64::max);
        let x_min = xs.fold(f64::MAX, f64::min).min(0.0);
        let ys = all.map(|p| p.2).chain(
            self.y_rules
                .iter()
                .map(|r| r.at)
                .filter(|&y| !log || y > 0.0),
        );
        let y_max = ys.clone().fold(0.0, f64::max);
        let yt: Vec<(f64, String)> = if log {
            log_ticks(ys.fold(f64::MAX, f64::min), y_max)
        } else {
            ticks(y_max, 5).into_iter().map(|t| (t, label(t))).collect()
        };
        // On the axis's own scale: log₁₀ of the value on a log axis.
        let scale = |y: f64| if log { y.log10() } else { y };
        let y_bottom = scale(yt.first().map_or(0.0, |t| t.0));
        let y_top = scale(yt.last().map_or(1.0, |t| t.0));
        let x_top = self
            .x_ticks
            .as_ref()
            .and_then(|t| t.iter().map(|p| p.0).reduce(f64::max))
            .unwrap_or(x_max)
            .max(x_max)
            .max(1e-9);
        let sx = |x: f64| LEFT + (x - x_min) / (x_top - x_min) * (W - LEFT - RIGHT);
        let sy =
            |y: f64| H - BOTTOM - (scale(y) - y_bottom) / (y_top - y_bottom) * (H - TOP - BOTTOM);
        y_axis(&mut out, &yt, &sy);
        let xt: Vec<(f64, String)> = self
            .x_ticks
            .clone()
            // Whole steps at least: x is seconds.
            .unwrap_or_else(|| {
                let n = (x_max.ceil() as usize).clamp(1, 8);
                ticks(x_max, n).into_iter().map(|t| (t, label(t))).collect()
            });
        for (v, l) in &xt {
            let _ = write!(
                out,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                sx(*v),
                H - BOTTOM + 24.0,
                esc(l)
            );
        }
        x_axis(&mut out);
        for s in &self.x_spans {
            let (a, b) = (sx(s.from), sx(s.to));
            let _ = write!(
                out,
                "<rect class=\"span\" x=\"{a:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.18\"><title>{}</title></rect>",
                (b - a).max(1.0),
                H - BOTTOM - TOP,
                s.color,
                esc(&s.label)
            );
        }
        rules(&mut out, &self.y_rules, &self.x_rules, &sx, &sy);
        for (s, pts) in self.series.iter().zip(&drawn) {
            if pts.is_empty() {
                continue;
            }
            let line: Vec<String> = pts
                .iter()
                .map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.2)))
                .collect();
            if self.stacked {
                let back: Vec<String> = pts
                    .iter()
                    .rev()
                    .map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.1)))
                    .collect();
                let _ = write!(
                    out,
                    "<polygon class=\"series\" fill=\"{}\" fill-opacity=\"0.75\" stroke=\"{}\" points=\"{} {}\"><title>{}</title></polygon>",
                    s.color,
                    s.color,
                    line.join(" "),
                    back.join(" "),
                    esc(&s.name)
                );
            } else {
                let _ = write!(
                    out,
                    "<polyline class=\"series\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-opacity=\"{}\" points=\"{}\"><title>{}</title></polyline>",
                    s.color,
                    if s.faint { 1.5 } else { 3.0 },
                    if s.faint { 0.45 } else { 1.0 },
                    line.join(" "),
                    esc(&s.name)
                );
                if self.dots || pts.len() <= 12 {
                    for p in pts {
                        let _ = write!(
                            out,
                            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{}\"/>",
                            sx(p.0),
                            sy(p.2),
                            s.color
                        );
                    }
                }
            }
        }
        out.push_str("</svg>");
        out
    }
}

/// The reference lines, dashed, each named at its end: a horizontal one at the right, a
/// vertical one at the top (staggered, so that close marks do not overprint each other).
fn rules(
    out: &mut String,
    y_rules: &[Rule],
    x_rules: &[Rule],
    sx: &dyn Fn(f64) -> f64,
    sy: &dyn Fn(f64) -> f64,
) {
    for r in y_rules {
        let y = sy(r.at);
        if !y.is_finite() {
            continue;
        }
        let _ = write!(
            out,
            "<line class=\"rule y\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"10 6\"><title>{}</title></line>\
             <text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            r.color,
            esc(&r.label),
            W - RIGHT - 6.0,
            y - 8.0,
            esc(&r.label)
        );
    }
    for (i, r) in x_rules.iter().enumerate() {
        let x = sx(r.at);
        let right = x > LEFT + (W - LEFT - RIGHT) * 0.7;
        let _ = write!(
            out,
            "<line class=\"rule x\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"6 5\"><title>{}</title></line>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\">{}</text>",
            H - BOTTOM,
            r.color,
            esc(&r.label),
            if right { x - 6.0 } else { x + 6.0 },
            TOP + 16.0 + 20.0 * i as f64,
            if right { "end" } else { "start" },
            esc(&r.label)
        );
    }
}

impl Bars {
    pub fn render(&self, title: &str) -> String {
        let mut out = String::new();
        frame(&mut out, title, "", &self.y_label);
        let y_max = self
            .series
            .iter()
            .flat_map(|s| s.2.iter().flatten())
            .fold(0.0, |a: f64, b| a.max(*b));
        let yt = ticks(y_max, 5);
        let y_top = *yt.last().unwrap_or(&1.0);
        let sy = |y: f64| H - BOTTOM - y / y_top * (H - TOP - BOTTOM);
        let labelled: Vec<(f64, String)> = yt.iter().map(|&t| (t, label(t))).collect();
        y_axis(&mut out, &labelled, &sy);
        let groups = self.groups.len().max(1) as f64;
        let group_w = (W - LEFT - RIGHT) / groups;
        let n = self.series.len().max(1) as f64;
        let bar_w = group_w * 0.8 / n;
        for (g, name) in self.groups.iter().enumerate() {
            let x0 = LEFT + g as f64 * group_w + group_w * 0.1;
            let _ = write!(
                out,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x0 + group_w * 0.4,
                H - BOTTOM + 24.0,
                esc(name)
            );
            for (i, (sname, color, values)) in self.series.iter().enumerate() {
                if let Some(v) = values.get(g).copied().flatten() {
                    let x = x0 + i as f64 * bar_w;
                    let _ = write!(
                        out,
                        "<rect class=\"series\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{}: {}</title></rect>",
                        sy(v),
                        bar_w * 0.92,
                        (H - BOTTOM - sy(v)).max(0.5),
                        esc(sname),
                        label(v)
                    );
                }
            }
        }
        x_axis(&mut out);
        out.push_str("</svg>");
        out
    }
}

/// A legend as HTML: swatch and name per entry.
pub fn legend(entries: &[(String, String)]) -> String {
    let mut out = String::from("<div class=\"legend\">");
    for (name, color) in entries {
        let _ = write!(
            out,
            "<span><i style=\"background:{color}\"></i>{}</span>",
            esc(name)
        );
    }
    out.push_str("</div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(9.3, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(65.9, 5), vec![0.0, 20.0, 40.0, 60.0, 80.0]);
        assert_eq!(ticks(60.0, 5), vec![0.0, 20.0, 40.0, 60.0]);
        assert_eq!(ticks(0.0, 5), vec![0.0, 1.0]);
        let t = ticks(437.0, 5);
        assert!(t.last().unwrap() >= &437.0 && t[1] == 100.0, "{t:?}");
    }

    fn labels(t: &[(f64, String)]) -> Vec<&str> {
        t.iter().map(|x| x.1.as_str()).collect()
    }

    #[test]
    fn log_ticks_are_powers_of_ten_with_2_and_5_over_a_short_range() {
        assert_eq!(labels(&log_ticks(1.7, 320.0)), ["1", "10", "100", "1000"]);
        assert_eq!(
            labels(&log_ticks(1.0, 100.0)),
            ["1", "2", "5", "10", "20", "50", "100"]
        );
        assert_eq!(labels(&log_ticks(0.04, 3.0)), ["0.01", "0.1", "1", "10"]);
        assert_eq!(
            labels(&log_ticks(0.04, 0.9)),
            ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"]
        );
        assert_eq!(labels(&log_ticks(7.0, 7.0)), ["1", "2", "5", "10"]);
    }

    #[test]
    fn a_log_axis_places_each_decade_evenly_and_leaves_out_what_it_cannot_place() {
        let chart = Lines {
            x_label: "offered".into(),
            y_label: "ms".into(),
            series: vec![Series {
                name: "a".into(),
                color: PALETTE[0].into(),
                points: vec![(1.0, 1.0), (2.0, 0.0), (3.0, 100.0)],
                faint: false,
            }],
            log_y: true,
            y_rules: vec![Rule {
                at: 10.0,
                label: "bound".into(),
                color: "#000".into(),
            }],
            x_rules: vec![Rule {
                at: 2.0,
                label: "mark".into(),
                color: "#000".into(),
            }],
            ..Lines::default()
        }
        .render("t");
        // The point at 0 is left out: two points remain.
        let points = chart.split("points=\"").nth(1).unwrap();
        let points: Vec<&str> = points[..points.find('"').unwrap()].split(' ').collect();
        assert_eq!(points.len(), 2, "{chart}");
        let y = |p: &str| p.split(',').nth(1).unwrap().parse::<f64>().unwrap();
        // 1, 10 and 100 ms: the bound at 10 lies halfway between the points, in pixels.
        let rule = chart.split("class=\"rule y\"").nth(1).unwrap();
        let at = rule.split("y1=\"").nth(1).unwrap();
        let at: f64 = at[..at.find('"').unwrap()].parse().unwrap();
        assert!(
            (at - (y(points[0]) + y(points[1])) / 2.0).abs() < 0.2,
            "{chart}"
        );
        assert_eq!(chart.matches("class=\"rule x\"").count(), 1);
        for t in ["1", "10", "100"] {
            assert!(chart.contains(&format!(">{t}</text>")), "{t}: {chart}");
        }
    }
}
