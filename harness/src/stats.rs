//! The statistics every verdict of djbench rests on: medians and spread over repetitions, a test
//! of a difference between two sets of repetitions with its p-value and 95% interval, Holm's
//! correction over a family of such tests, how many repetitions a call needs, and which
//! deployment (if any) is "best"; and a least-squares line ([`linear_fit`]) for a sweep's cost
//! per worker. Pure functions over `&[f64]` (one value per repetition); no
//! I/O, no results model, no metric names: `compare` and `report` own those and must not judge
//! with anything but this module.
//!
//! # The test, and why
//! Welch's t-test on the logarithms of the values ([`welch`]). Timings, rates and memory are
//! positive with multiplicative noise: on the log scale the noise is near symmetric and a
//! difference of means is a ratio, so the estimate is "candidate / baseline − 1" of geometric
//! means (for log-symmetric noise, the ratio of medians), its interval as good as Welch's
//! approximation under log-normal noise. A rank test cannot work at the sizes we run: exact Mann–Whitney at 5
//! against 5 has a smallest two-sided p of 2/252 = 0.0079, a permutation test the same floor,
//! and Holm's first step over 21 comparisons asks for 0.05/21 = 0.0024. Welch's t at 5 + 5 has
//! about 8 degrees of freedom and passes 0.0024 at |t| > 4.37. Values that are not all positive
//! (error and lost-task counts) are tested the same way on the raw scale ([`Scale::Raw`]).
//! [`paired`] is the variant for interleaved A/B runs, pair i being base run i and head run i;
//! it has n − 1 degrees of freedom (4 at n = 5, |t| > 6.85 for 0.0024), so it gains only when
//! the pairs share much of their drift. Measured in tests/stats_aa.rs on ci_smoke's noise, for
//! a 20% loss of gunicorn_celery's throughput at 5 a side: without drift Welch finds it in 92%
//! of draws, paired in 63%; with drift between pairs of twice the run-to-run noise, 19% and
//! 62%. Choose one before looking at the results (choosing by the outcome inflates false calls);
//! [`welch`] is the default.
//!
//! # Wiring
//! - `compare`: build one [`Sample`] per (deployment, metric) row — every row of the run is
//!   one family — and call [`judge`] once with [`Judging`] (`min_effect` = the allowed
//!   regression). Each row gets a [`Call`]: `Worse` is a regression, `NotEnoughRepetitions`
//!   says how many repetitions per side to run (and must not pass silently), `NoDifference`
//!   still carries the p-value and interval for the table.
//! - `report`: one [`Contest`] per column of the summary table (the deployments' values of one
//!   metric) and call [`best`] once for the whole table; bold only [`Best::winner`].
//! - Spread: [`cv`] per deployment and metric; warn when above [`CV_WARN`].
//! - Show `Difference::change` with `Difference::interval` (both from the test, so they agree
//!   with its p-value) rather than a ratio of medians next to an interval of something else;
//!   `holm_adjusted` gives p-values to print that match the calls. [`Call`] and [`Best`]
//!   serialize internally tagged (`{"call": "worse", "p": …}`, `{"best": "winner", …}`).
//! - `.ci/ab` names its run folders `base/NN` and `head/NN`: sorted alike, repetition i of each
//!   side is pair i, ready for `Judging { paired: true, .. }` if that is chosen.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Spread (sample sd / mean) above which a deployment's repetitions of one figure are too noisy
/// to read without a warning.
pub const CV_WARN: f64 = 0.10;
/// Fewer repetitions than this on a side is not enough to call a difference. At Holm's first
/// step over 21 comparisons Welch's t needs |t| > 4.37 at 5 + 5 (8 degrees of freedom), an
/// effect of 2.8 run-to-run standard deviations; 5.03 at 4 + 4 (3.6 sd); 6.85 at 3 + 3 (5.6 sd).
pub const MIN_REPETITIONS: usize = 5;
/// A difference smaller than this (3%) is never called "best", however significant; also
/// [`Judging`]'s default `min_effect`.
pub const MIN_EFFECT: f64 = 0.03;
/// Family-wise error rate of every family of tests.
pub const ALPHA: f64 = 0.05;
/// Power [`repetitions_needed`] aims at.
pub const POWER: f64 = 0.80;
/// [`repetitions_needed`] says no more than this: past it, noise (not repetitions) is the issue.
pub const MAX_NEEDED: usize = 1000;

/// The median; None for no values. NaNs sort last (a NaN is never expected here).
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

/// The mean; None for no values.
pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The sample standard deviation (n − 1); None for fewer than two values.
pub fn sd(v: &[f64]) -> Option<f64> {
    let m = mean(v)?;
    (v.len() >= 2)
        .then(|| (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt())
}

/// Coefficient of variation, sample sd / mean; None for fewer than two values or a zero mean
/// (e.g. a count that stayed 0: no spread to speak of, and no scale to divide by).
pub fn cv(v: &[f64]) -> Option<f64> {
    let m = mean(v)?;
    (m != 0.0).then_some(sd(v)? / m.abs())
}

/// Whether `v`'s spread deserves a warning ([`CV_WARN`]).
pub fn too_noisy(v: &[f64]) -> bool {
    cv(v).is_some_and(|c| c > CV_WARN)
}

/// A straight line through points by least squares: y ≈ `intercept` + `slope` × x.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    pub intercept: f64,
    pub slope: f64,
    /// The share of y's variance the line explains (1: every point on it); None when y does
    /// not vary, so there is nothing to explain.
    pub r2: Option<f64>,
    /// Points fitted.
    pub n: usize,
}

/// The least-squares line through `(xs[i], ys[i])`; None when the lists differ in length, a
/// value is not finite, or fewer than two distinct x leave the slope undetermined.
pub fn linear_fit(xs: &[f64], ys: &[f64]) -> Option<Fit> {
    if xs.len() != ys.len() || xs.iter().chain(ys).any(|v| !v.is_finite()) {
        return None;
    }
    let (mx, my) = (mean(xs)?, mean(ys)?);
    // Centred sums: no cancellation when x and y sit far from 0 (bytes in the hundreds of MiB).
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let syy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    // Two x that differ only by rounding are one x.
    if sxx <= f64::EPSILON * mx.abs().max(1.0).powi(2) * xs.len() as f64 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let residual: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (y - intercept - slope * x).powi(2))
        .sum();
    Some(Fit {
        intercept,
        slope,
        r2: (syy > 0.0).then(|| (1.0 - residual / syy).clamp(0.0, 1.0)),
        n: xs.len(),
    })
}

/// The scale a test ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// Logarithms: every value was positive; `change` is a ratio of geometric means.
    Log,
    /// The values themselves (some were zero or negative); `change` is a ratio of means, its
    /// interval a delta-method approximation.
    Raw,
}

/// A two-sample test of candidate against baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Difference {
    /// Two-sided p-value of "no difference", before any correction for multiple tests.
    pub p: f64,
    /// candidate / baseline − 1 (of geometric means on [`Scale::Log`], of means on
    /// [`Scale::Raw`]); None when the baseline's mean is 0.
    pub change: Option<f64>,
    /// 95% interval of `change` (not corrected for multiple tests); None with `change`.
    pub interval: Option<(f64, f64)>,
    pub scale: Scale,
    /// Whether runs were tested as pairs ([`paired`]).
    pub paired: bool,
    /// Degrees of freedom of the t statistic (Welch–Satterthwaite, or n − 1 for pairs).
    pub df: f64,
    /// Sign of candidate − baseline: 1, −1, or 0 for no difference at all.
    pub sign: i8,
    /// Estimate and standard error on the test's scale, for intervals at other levels.
    #[serde(skip)]
    at: Estimate,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Estimate {
    /// On Log: mean log ratio; on Raw: `change` itself.
    estimate: f64,
    se: f64,
    log: bool,
    /// Whether `change` is defined (Raw with a zero baseline mean is not).
    defined: bool,
}

impl Difference {
    fn new(p: f64, df: f64, sign: i8, scale: Scale, paired: bool, at: Estimate) -> Self {
        let mut d = Difference {
            p,
            change: None,
            interval: None,
            scale,
            paired,
            df,
            sign,
            at,
        };
        if at.defined {
            d.change = Some(if at.log {
                at.estimate.exp() - 1.0
            } else {
                at.estimate
            });
            d.interval = d.interval_at(0.95);
        }
        d
    }

    /// The interval of `change` at another confidence, e.g. `1 − ALPHA / m` for one that holds
    /// simultaneously over m comparisons (Bonferroni).
    pub fn interval_at(&self, confidence: f64) -> Option<(f64, f64)> {
        let Estimate {
            estimate,
            se,
            log,
            defined,
        } = self.at;
        if !defined {
            return None;
        }
        let half = if se == 0.0 {
            0.0
        } else {
            t_quantile(0.5 + confidence / 2.0, self.df) * se
        };
        let (lo, hi) = (estimate - half, estimate + half);
        Some(if log {
            (lo.exp() - 1.0, hi.exp() - 1.0)
        } else {
            (lo, hi)
        })
    }
}

fn t_quantile(q: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(q))
}

fn two_sided_p(t: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| (2.0 * d.sf(t.abs())).min(1.0))
}

fn usable(v: &[f64]) -> bool {
    v.len() >= 2 && v.iter().all(|x| x.is_finite())
}

/// Welch's t-test of `cand` against `base` (independent repetitions), on logarithms when every
/// value is positive. None with fewer than two values on a side or a value that is not finite.
/// Both sides without spread: p = 1 when equal, p = 0 when not (every repetition differs alike).
pub fn welch(base: &[f64], cand: &[f64]) -> Option<Difference> {
    if !usable(base) || !usable(cand) {
        return None;
    }
    let log = base.iter().chain(cand).all(|&x| x > 0.0);
    let tr = |v: &[f64]| -> Vec<f64> { v.iter().map(|&x| if log { x.ln() } else { x }).collect() };
    let (b, c) = (tr(base), tr(cand));
    let (nb, nc) = (b.len() as f64, c.len() as f64);
    let (mb, mc) = (mean(&b)?, mean(&c)?);
    let (vb, vc) = (sd(&b)?.powi(2), sd(&c)?.powi(2));
    let (wb, wc) = (vb / nb, vc / nc);
    let se = (wb + wc).sqrt();
    let diff = mc - mb;
    let df = if se == 0.0 {
        nb + nc - 2.0
    } else {
        (wb + wc).powi(2) / (wb.powi(2) / (nb - 1.0) + wc.powi(2) / (nc - 1.0))
    };
    let p = p_of(diff, se, df);
    let sign = sign(diff);
    let scale = if log { Scale::Log } else { Scale::Raw };
    let at = if log {
        Estimate {
            estimate: diff,
            se,
            log,
            defined: true,
        }
    } else {
        // Delta method for mc / mb − 1 with independent sides.
        Estimate {
            estimate: mc / mb - 1.0,
            se: (wc / mb.powi(2) + mc.powi(2) * wb / mb.powi(4)).sqrt(),
            log,
            defined: mb != 0.0,
        }
    };
    Some(Difference::new(p, df, sign, scale, false, at))
}

/// The paired t-test: `base[i]` and `cand[i]` ran next to each other (an interleaved A/B), so
/// drift shared by a pair cancels. On logarithms when every value is positive. None unless both
/// sides have the same number (≥ 2) of finite values.
pub fn paired(base: &[f64], cand: &[f64]) -> Option<Difference> {
    if base.len() != cand.len() || !usable(base) || !usable(cand) {
        return None;
    }
    let n = base.len() as f64;
    let df = n - 1.0;
    let log = base.iter().chain(cand).all(|&x| x > 0.0);
    let d: Vec<f64> = if log {
        base.iter().zip(cand).map(|(b, c)| (c / b).ln()).collect()
    } else {
        base.iter().zip(cand).map(|(b, c)| c - b).collect()
    };
    let (md, se) = (mean(&d)?, sd(&d)? / n.sqrt());
    let p = p_of(md, se, df);
    let at = if log {
        Estimate {
            estimate: md,
            se,
            log,
            defined: true,
        }
    } else {
        // The ratio estimator R = mean(c) / mean(b): its residuals c − R·b carry the pairing.
        let (mb, mc) = (mean(base)?, mean(cand)?);
        let r = mc / mb;
        let resid: Vec<f64> = base.iter().zip(cand).map(|(b, c)| c - r * b).collect();
        Estimate {
            estimate: r - 1.0,
            se: sd(&resid)? / (n.sqrt() * mb.abs()),
            log,
            defined: mb != 0.0,
        }
    };
    let scale = if log { Scale::Log } else { Scale::Raw };
    Some(Difference::new(p, df, sign(md), scale, true, at))
}

fn sign(x: f64) -> i8 {
    if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }
}

fn p_of(diff: f64, se: f64, df: f64) -> f64 {
    if se == 0.0 {
        if diff == 0.0 { 1.0 } else { 0.0 }
    } else {
        two_sided_p(diff / se, df)
    }
}

/// Holm's step-down correction: which of `p_values` are significant with a family-wise error
/// rate of `alpha`. Uniformly more powerful than Bonferroni, valid under any dependence between
/// the tests (the metrics of one run are far from independent). A NaN p is never significant.
pub fn holm(p_values: &[f64], alpha: f64) -> Vec<bool> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| nan_last(p_values[a]).total_cmp(&nan_last(p_values[b])));
    let mut significant = vec![false; m];
    for (k, &i) in order.iter().enumerate() {
        if nan_last(p_values[i]) <= alpha / (m - k) as f64 {
            significant[i] = true;
        } else {
            break;
        }
    }
    significant
}

/// Holm-adjusted p-values (significant at level α exactly when adjusted ≤ α), for tables.
pub fn holm_adjusted(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| nan_last(p_values[a]).total_cmp(&nan_last(p_values[b])));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * nan_last(p_values[i])).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

fn nan_last(p: f64) -> f64 {
    if p.is_nan() { f64::INFINITY } else { p }
}

/// Repetitions per side for Welch's t at level `alpha` (two-sided, per test: for a family of m
/// use `ALPHA / m`, Holm's first step) to detect a relative `effect` (e.g. 0.2 or −0.2) with
/// [`POWER`], under noise of coefficient of variation `cv` on each side. The power of the
/// noncentral t uses Jennett and Welch's normal approximation, within a few points of
/// simulation at these sizes (tests/stats_aa.rs prints both). At least [`MIN_REPETITIONS`],
/// at most [`MAX_NEEDED`].
pub fn repetitions_needed(cv: f64, effect: f64, alpha: f64) -> usize {
    let sigma = (1.0 + cv * cv).ln().sqrt();
    let delta = (1.0 + effect).ln().abs();
    if !(sigma.is_finite() && delta.is_finite()) || delta == 0.0 {
        return MAX_NEEDED;
    }
    if sigma == 0.0 {
        return MIN_REPETITIONS;
    }
    (MIN_REPETITIONS..MAX_NEEDED)
        .find(|&n| {
            power(
                delta / (sigma * (2.0 / n as f64).sqrt()),
                2.0 * n as f64 - 2.0,
                alpha,
            ) >= POWER
        })
        .unwrap_or(MAX_NEEDED)
}

/// Power of a two-sided t-test at level `alpha` with noncentrality `ncp` (the far tail only).
fn power(ncp: f64, df: f64, alpha: f64) -> f64 {
    let tc = t_quantile(1.0 - alpha / 2.0, df);
    let z = (ncp * (1.0 - 1.0 / (4.0 * df)) - tc) / (1.0 + tc * tc / (2.0 * df)).sqrt();
    Normal::standard().cdf(z)
}

/// Which way is better for a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Throughput, tasks per second.
    HigherIsBetter,
    /// Latencies, memory, CPU, errors, lost tasks.
    LowerIsBetter,
}

impl Direction {
    fn better(self, sign: i8) -> bool {
        match self {
            Direction::HigherIsBetter => sign > 0,
            Direction::LowerIsBetter => sign < 0,
        }
    }
}

/// One comparison of a family: one value per repetition on each side.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub base: &'a [f64],
    pub cand: &'a [f64],
    pub direction: Direction,
}

/// How [`judge`] calls a family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judging {
    /// Family-wise error rate (Holm).
    pub alpha: f64,
    /// A significant change no larger than this (relative) is `NoDifference`.
    pub min_effect: f64,
    /// Test pairs ([`paired`]) instead of [`welch`]; needs equal counts on both sides.
    pub paired: bool,
}

impl Default for Judging {
    fn default() -> Self {
        Judging {
            alpha: ALPHA,
            min_effect: MIN_EFFECT,
            paired: false,
        }
    }
}

/// The call on one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "call")]
pub enum Call {
    /// A side has fewer than [`MIN_REPETITIONS`] (`have`: the smaller side); `need`: at least
    /// this many per side, from the observed spread and the larger of the observed change and
    /// `min_effect` ([`repetitions_needed`]); [`MIN_REPETITIONS`] when the spread is unknown.
    NotEnoughRepetitions {
        have: usize,
        need: usize,
    },
    /// Not significant after Holm, or no larger than `min_effect`.
    NoDifference(Difference),
    /// Significant after Holm, larger than `min_effect`, in the better direction.
    Better(Difference),
    Worse(Difference),
}

impl Call {
    pub fn difference(&self) -> Option<&Difference> {
        match self {
            Call::NotEnoughRepetitions { .. } => None,
            Call::NoDifference(d) | Call::Better(d) | Call::Worse(d) => Some(d),
        }
    }
}

/// For tables: `worse: +21.0% [+14.2%, +28.3%], p 0.0003` or `not enough repetitions to call
/// this: 3, at least 9 a side needed` (3: the smaller side).
impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (word, d) = match self {
            Call::NotEnoughRepetitions { have, need } => {
                return write!(
                    f,
                    "not enough repetitions to call this: {have}, at least {need} a side needed"
                );
            }
            Call::NoDifference(d) => ("no difference", d),
            Call::Better(d) => ("better", d),
            Call::Worse(d) => ("worse", d),
        };
        let pct = |x: f64| format!("{:+.1}%", x * 100.0);
        match (d.change, d.interval) {
            (Some(c), Some((lo, hi))) => {
                write!(
                    f,
                    "{word}: {} [{}, {}], p {:.2e}",
                    pct(c),
                    pct(lo),
                    pct(hi),
                    d.p
                )
            }
            _ => write!(f, "{word}: from 0, p {:.2e}", d.p),
        }
    }
}

fn all_identical(a: &[f64], b: &[f64]) -> bool {
    let mut all = a.iter().chain(b);
    all.next()
        .is_none_or(|first| all.all(|x| x.to_bits() == first.to_bits()))
}

/// Calls every comparison of one family, Holm-corrected over the comparisons actually tested.
/// Left out of the family: comparisons with too few repetitions, and those whose values are all
/// one number on both sides (a count that stayed 0): no arrangement of such values can be
/// significant, so counting them would only weaken the rest (Tarone, 1990).
/// `calls[i]` belongs to `family[i]`. Values must be finite (a NaN or infinity is a bug of the
/// caller's and panics).
pub fn judge(family: &[Sample<'_>], how: &Judging) -> Vec<Call> {
    let tested: Vec<Option<Difference>> = family
        .iter()
        .map(|s| {
            if s.base.len().min(s.cand.len()) < MIN_REPETITIONS {
                None
            } else if how.paired && s.base.len() == s.cand.len() {
                paired(s.base, s.cand)
            } else {
                // Unequal counts have no pairs (a run failed on one side): Welch's t.
                welch(s.base, s.cand)
            }
        })
        .collect();
    let in_family: Vec<usize> = (0..family.len())
        .filter(|&i| tested[i].is_some() && !all_identical(family[i].base, family[i].cand))
        .collect();
    for (s, t) in family.iter().zip(&tested) {
        // With enough repetitions the tests return None only for a value that is not finite.
        assert!(
            t.is_some() || s.base.len().min(s.cand.len()) < MIN_REPETITIONS,
            "stats::judge: a value that is not finite in {:?} against {:?}",
            s.base,
            s.cand
        );
    }
    let p: Vec<f64> = in_family.iter().map(|&i| tested[i].unwrap().p).collect();
    let significant = holm(&p, how.alpha);
    let per_test_alpha = how.alpha / family.len().max(1) as f64;
    (0..family.len())
        .map(|i| {
            let s = &family[i];
            let Some(d) = tested[i] else {
                return short_of_repetitions(s.base, s.cand, how.min_effect, per_test_alpha)
                    .expect("only comparisons short of repetitions go untested");
            };
            let sig = in_family
                .iter()
                .position(|&j| j == i)
                .is_some_and(|k| significant[k]);
            // A change from a zero baseline has no relative size: significance alone decides.
            let large = d.change.is_none_or(|c| c.abs() > how.min_effect);
            match (sig && large, s.direction.better(d.sign)) {
                (false, _) => Call::NoDifference(d),
                (true, true) => Call::Better(d),
                (true, false) => Call::Worse(d),
            }
        })
        .collect()
}

/// `Some(Call::NotEnoughRepetitions)` when `base` or `cand` has fewer than [`MIN_REPETITIONS`]:
/// `need` from the larger side's CV and the larger of the observed change and `min_effect`, at
/// the per-test level `alpha` (e.g. `ALPHA / comparisons`); None when both have enough.
pub fn short_of_repetitions(
    base: &[f64],
    cand: &[f64],
    min_effect: f64,
    alpha: f64,
) -> Option<Call> {
    let have = base.len().min(cand.len());
    if have >= MIN_REPETITIONS {
        return None;
    }
    let spread = [cv(base), cv(cand)].into_iter().flatten().reduce(f64::max);
    let observed = match (mean(base), mean(cand)) {
        (Some(b), Some(c)) if b != 0.0 => (c / b - 1.0).abs(),
        _ => 0.0,
    };
    let need = spread.map_or(MIN_REPETITIONS, |cv| {
        repetitions_needed(cv, observed.max(min_effect), alpha)
    });
    Some(Call::NotEnoughRepetitions { have, need })
}

/// One figure across deployments: `samples[d]` holds deployment d's repetitions (empty when all
/// its runs failed).
#[derive(Debug, Clone, Copy)]
pub struct Contest<'a> {
    pub samples: &'a [&'a [f64]],
    pub direction: Direction,
}

/// Whether one deployment is the best at a figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "best")]
pub enum Best {
    /// `index` has the best median, and its difference from the runner-up's (`difference`:
    /// `index` against `runner_up`) is significant after Holm over the table and larger than
    /// [`MIN_EFFECT`].
    Winner {
        index: usize,
        runner_up: usize,
        difference: Difference,
    },
    /// The leader by median is not set apart from the runner-up.
    Tie {
        leader: usize,
        runner_up: usize,
        difference: Difference,
    },
    /// The leader or the runner-up has fewer than [`MIN_REPETITIONS`] (as in [`Call`]).
    NotEnoughRepetitions { have: usize, need: usize },
    /// Fewer than two deployments measured anything.
    NoContest,
}

impl Best {
    pub fn winner(&self) -> Option<usize> {
        match self {
            Best::Winner { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// The best deployment of every contest (one per column of a table), Holm-corrected over all
/// the leader-against-runner-up tests of the table (Welch's t; `alpha`: e.g. [`ALPHA`]).
pub fn best(contests: &[Contest<'_>], alpha: f64) -> Vec<Best> {
    // Leader and runner-up by median, in the contest's direction.
    let ranked: Vec<Option<(usize, usize)>> = contests
        .iter()
        .map(|c| {
            let mut by: Vec<(usize, f64)> = c
                .samples
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some((i, median(s)?)))
                .collect();
            by.sort_by(|a, b| match c.direction {
                Direction::HigherIsBetter => b.1.total_cmp(&a.1),
                Direction::LowerIsBetter => a.1.total_cmp(&b.1),
            });
            (by.len() >= 2).then(|| (by[0].0, by[1].0))
        })
        .collect();
    let family: Vec<Sample<'_>> = contests
        .iter()
        .zip(&ranked)
        .filter_map(|(c, r)| {
            let (lead, up) = (*r)?;
            Some(Sample {
                base: c.samples[up],
                cand: c.samples[lead],
                direction: c.direction,
            })
        })
        .collect();
    let how = Judging {
        alpha,
        min_effect: MIN_EFFECT,
        paired: false,
    };
    let mut calls = judge(&family, &how).into_iter();
    ranked
        .iter()
        .map(|r| {
            let Some((leader, runner_up)) = *r else {
                return Best::NoContest;
            };
            match calls.next().expect("one call per ranked contest") {
                Call::Better(difference) => Best::Winner {
                    index: leader,
                    runner_up,
                    difference,
                },
                // The leader by median can be behind by geometric mean: no winner then either.
                Call::Worse(difference) | Call::NoDifference(difference) => Best::Tie {
                    leader,
                    runner_up,
                    difference,
                },
                Call::NotEnoughRepetitions { have, need } => {
                    Best::NotEnoughRepetitions { have, need }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn a_line_is_fitted_exactly() {
        // ΣPSS = 120 MiB + 35 MiB per worker.
        let xs = [1.0, 2.0, 4.0, 8.0];
        let ys: Vec<f64> = xs.iter().map(|x| 120.0 + 35.0 * x).collect();
        let f = linear_fit(&xs, &ys).unwrap();
        assert!(close(f.slope, 35.0, 1e-9), "{f:?}");
        assert!(close(f.intercept, 120.0, 1e-9), "{f:?}");
        assert!(close(f.r2.unwrap(), 1.0, 1e-12), "{f:?}");
        assert_eq!(f.n, 4);
        // Bytes far from 0 fit as well: 300 MiB + 1.5 MiB per worker.
        let ys: Vec<f64> = xs.iter().map(|x| 314572800.0 + 1572864.0 * x).collect();
        let f = linear_fit(&xs, &ys).unwrap();
        assert!(close(f.slope, 1572864.0, 1e-6), "{f:?}");
        assert!(close(f.intercept, 314572800.0, 1e-3), "{f:?}");
    }

    #[test]
    fn a_noisy_line_has_its_known_least_squares_answer() {
        // By hand: x̄ 2.5, ȳ 3.75, Sxy 3.5, Sxx 5, Syy 4.75: slope 0.7, intercept 2,
        // R² = 0.7 × 3.5 / 4.75.
        let f = linear_fit(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 5.0, 4.0]).unwrap();
        assert!(close(f.slope, 0.7, 1e-12), "{f:?}");
        assert!(close(f.intercept, 2.0, 1e-12), "{f:?}");
        assert!(close(f.r2.unwrap(), 2.45 / 4.75, 1e-12), "{f:?}");
        // Repetitions at the same x: a line through their means, R² below 1.
        let f = linear_fit(&[1.0, 1.0, 3.0, 3.0], &[9.0, 11.0, 19.0, 21.0]).unwrap();
        assert!(close(f.slope, 5.0, 1e-12) && close(f.intercept, 5.0, 1e-12));
        assert!(close(f.r2.unwrap(), 100.0 / 104.0, 1e-12), "{f:?}");
    }

    #[test]
    fn no_line_without_two_distinct_x() {
        assert_eq!(linear_fit(&[], &[]), None);
        assert_eq!(linear_fit(&[4.0], &[100.0]), None);
        assert_eq!(linear_fit(&[4.0, 4.0, 4.0], &[100.0, 110.0, 90.0]), None);
        assert_eq!(linear_fit(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(linear_fit(&[1.0, f64::NAN], &[1.0, 2.0]), None);
        // A flat line fits, but explains no variance: none to explain.
        let f = linear_fit(&[1.0, 2.0, 4.0], &[7.0, 7.0, 7.0]).unwrap();
        assert_eq!((f.slope, f.intercept, f.r2), (0.0, 7.0, None));
    }

    #[test]
    fn medians_means_and_spread() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(sd(&[1.0]), None);
        // sd of 2, 4, 4, 4, 5, 5, 7, 9 with n − 1 is sqrt(32 / 7).
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!(close(sd(&v).unwrap(), (32.0f64 / 7.0).sqrt(), 1e-12));
        assert!(close(cv(&v).unwrap(), (32.0f64 / 7.0).sqrt() / 5.0, 1e-12));
        assert_eq!(cv(&[0.0, 0.0, 0.0]), None);
        assert!(too_noisy(&[100.0, 130.0, 80.0]));
        assert!(!too_noisy(&[100.0, 101.0, 99.0]));
    }

    #[test]
    fn welch_matches_a_hand_computed_case() {
        // Raw scale (a zero forces it): means 2 and 5, variances 2.5 and 2.5, n 5 and 5:
        // t = 3 / sqrt(0.5 + 0.5) = 3, df = 8; two-sided p = 0.017072 (R: 2 * pt(-3, 8)).
        let d = welch(&[0.0, 1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0, 7.0]).unwrap();
        assert_eq!(d.scale, Scale::Raw);
        assert!(close(d.df, 8.0, 1e-9), "{}", d.df);
        assert!(close(d.p, 0.017_072, 1e-5), "{}", d.p);
        assert_eq!(d.change, Some(1.5));
        assert_eq!(d.sign, 1);
    }

    #[test]
    fn a_clear_shift_is_a_ratio_with_an_interval_that_excludes_zero() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5];
        let cand = [120.0, 121.0, 119.0, 120.5, 119.5];
        let d = welch(&base, &cand).unwrap();
        assert_eq!(d.scale, Scale::Log);
        let (lo, hi) = d.interval.unwrap();
        assert!(close(d.change.unwrap(), 0.2, 0.002));
        assert!(lo > 0.18 && hi < 0.22, "{lo} {hi}");
        assert!(d.p < 1e-6, "{}", d.p);
    }

    #[test]
    fn the_interval_and_the_p_value_agree() {
        // On the log scale the interval at confidence 1 − p ends exactly at no change.
        let base = [100.0, 110.0, 90.0, 105.0, 95.0];
        let cand = [112.0, 118.0, 101.0, 116.0, 104.0];
        let d = welch(&base, &cand).unwrap();
        assert!(d.p > 0.001 && d.p < 0.2, "{}", d.p);
        let edge = d.interval_at(1.0 - d.p).unwrap();
        assert!(close(edge.0, 0.0, 1e-9), "{edge:?}");
    }

    #[test]
    fn overlapping_samples_are_not_significant() {
        let base = [100.0, 110.0, 90.0, 105.0, 95.0];
        let cand = [104.0, 96.0, 108.0, 92.0, 101.0];
        let d = welch(&base, &cand).unwrap();
        let (lo, hi) = d.interval.unwrap();
        assert!(lo < 0.0 && hi > 0.0 && d.p > 0.5, "{lo} {hi} {}", d.p);
    }

    #[test]
    fn pairs_cancel_drift_that_welch_cannot() {
        // Drift of 10% a pair, the candidate 2% above its partner every time.
        let base: Vec<f64> = (0..5).map(|i| 100.0 * 1.1f64.powi(i)).collect();
        let cand: Vec<f64> = base.iter().map(|b| b * 1.02).collect();
        let p = paired(&base, &cand).unwrap();
        assert!(close(p.change.unwrap(), 0.02, 1e-9) && p.p < 1e-6, "{p:?}");
        assert!(welch(&base, &cand).unwrap().p > 0.5);
        assert_eq!(paired(&base, &cand[..4]), None);
    }

    #[test]
    fn degenerate_samples() {
        assert_eq!(welch(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(welch(&[1.0, f64::NAN], &[1.0, 2.0]), None);
        let same = welch(&[0.0; 5], &[0.0; 5]).unwrap();
        assert_eq!((same.p, same.change, same.sign), (1.0, None, 0));
        let from_zero = welch(&[0.0; 5], &[1.0, 2.0, 1.0, 3.0, 1.0]).unwrap();
        assert_eq!((from_zero.change, from_zero.sign), (None, 1));
        assert!(from_zero.p < 0.05);
    }

    #[test]
    fn the_critical_values_the_docs_quote() {
        // Two-sided 0.05/21: Welch at 5 + 5, 4 + 4, 3 + 3 (or paired at 5).
        for (df, t) in [(8.0, 4.37), (6.0, 5.03), (4.0, 6.85)] {
            let q = t_quantile(1.0 - 0.05 / 42.0, df);
            assert!(close(q, t, 0.005), "df {df}: {q}");
            assert!(close(two_sided_p(q, df), 0.05 / 21.0, 1e-9));
        }
    }

    #[test]
    fn calls_read_plainly() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5];
        let cand = [120.0, 121.0, 119.0, 120.5, 119.5];
        let shown = Call::Worse(welch(&base, &cand).unwrap()).to_string();
        assert!(shown.starts_with("worse: +20.0% [+1"), "{shown}");
        assert!(shown.contains("], p "), "{shown}");
        assert_eq!(
            short_of_repetitions(&base[..3], &cand, MIN_EFFECT, ALPHA)
                .unwrap()
                .to_string(),
            "not enough repetitions to call this: 3, at least 5 a side needed"
        );
        assert_eq!(short_of_repetitions(&base, &cand, MIN_EFFECT, ALPHA), None);
    }

    #[test]
    fn calls_serialize_tagged() {
        let d = welch(&[1.0, 2.0, 3.0], &[2.0, 3.0, 4.0]).unwrap();
        let v = serde_json::to_value(Call::Worse(d)).unwrap();
        assert_eq!(v["call"], "worse");
        assert_eq!(v["scale"], "log");
        assert!(v["p"].is_f64() && v["interval"].is_array() && v.get("at").is_none());
        let v = serde_json::to_value(Call::NotEnoughRepetitions { have: 3, need: 9 }).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"call": "not_enough_repetitions", "have": 3, "need": 9})
        );
        let v = serde_json::to_value(Best::NoContest).unwrap();
        assert_eq!(v, serde_json::json!({"best": "no_contest"}));
    }

    #[test]
    fn holm_steps_down() {
        // m = 4: 0.01 ≤ 0.05/4, 0.015 ≤ 0.05/3, 0.03 > 0.05/2 stops, so 0.04 fails too.
        let p = [0.03, 0.01, 0.04, 0.015];
        assert_eq!(holm(&p, 0.05), vec![false, true, false, true]);
        let adj = holm_adjusted(&p);
        let want = [0.06, 0.04, 0.06, 0.045];
        for (a, w) in adj.iter().zip(want) {
            assert!(close(*a, w, 1e-12), "{adj:?}");
        }
        assert_eq!(holm(&[f64::NAN, 0.001], 0.05), vec![false, true]);
        assert!(holm(&[], 0.05).is_empty());
    }

    #[test]
    fn repetitions_needed_grows_with_noise_and_shrinks_with_the_effect() {
        let quiet = repetitions_needed(0.01, 0.05, ALPHA / 21.0);
        let noisy = repetitions_needed(0.10, 0.05, ALPHA / 21.0);
        let big = repetitions_needed(0.10, 0.30, ALPHA / 21.0);
        assert_eq!(quiet, MIN_REPETITIONS);
        assert!(noisy > 20 && noisy < 200, "{noisy}");
        assert!(big < noisy, "{big} {noisy}");
        assert_eq!(repetitions_needed(0.4, 0.0, 0.05), MAX_NEEDED);
    }

    #[test]
    fn judge_calls_directions_and_counts_only_what_it_tested() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5];
        let slower = [120.0, 121.0, 119.0, 120.5, 119.5];
        let zeros = [0.0; 5];
        let family = [
            Sample {
                base: &base,
                cand: &slower,
                direction: Direction::LowerIsBetter,
            },
            Sample {
                base: &base,
                cand: &slower,
                direction: Direction::HigherIsBetter,
            },
            Sample {
                base: &zeros,
                cand: &zeros,
                direction: Direction::LowerIsBetter,
            },
            Sample {
                base: &base[..3],
                cand: &slower[..3],
                direction: Direction::LowerIsBetter,
            },
        ];
        let calls = judge(&family, &Judging::default());
        assert!(matches!(calls[0], Call::Worse(_)), "{calls:?}");
        assert!(matches!(calls[1], Call::Better(_)), "{calls:?}");
        assert!(matches!(calls[2], Call::NoDifference(d) if d.p == 1.0));
        assert_eq!(
            calls[3],
            Call::NotEnoughRepetitions {
                have: 3,
                need: MIN_REPETITIONS
            }
        );
        // A significant 2% is below min_effect.
        let up2: Vec<f64> = base.iter().map(|x| x * 1.02).collect();
        let small = [Sample {
            base: &base,
            cand: &up2,
            direction: Direction::LowerIsBetter,
        }];
        let call = judge(&small, &Judging::default())[0];
        assert!(
            matches!(call, Call::NoDifference(d) if d.p < 0.01),
            "{call:?}"
        );
    }

    #[test]
    fn paired_judging_falls_back_to_welch_when_a_side_lost_a_run() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2];
        let cand = [120.0, 121.0, 119.0, 120.5, 119.5];
        let how = Judging {
            paired: true,
            ..Judging::default()
        };
        let family = [Sample {
            base: &base,
            cand: &cand,
            direction: Direction::LowerIsBetter,
        }];
        let call = judge(&family, &how)[0];
        assert!(matches!(call, Call::Worse(d) if !d.paired), "{call:?}");
        let family = [Sample {
            base: &base[..5],
            cand: &cand,
            direction: Direction::LowerIsBetter,
        }];
        assert!(matches!(judge(&family, &how)[0], Call::Worse(d) if d.paired));
    }

    #[test]
    fn not_enough_repetitions_says_how_many_from_the_noise() {
        let base = [100.0, 120.0, 85.0];
        let cand = [104.0, 90.0, 118.0];
        let family = [Sample {
            base: &base,
            cand: &cand,
            direction: Direction::LowerIsBetter,
        }];
        let Call::NotEnoughRepetitions { have, need } = judge(&family, &Judging::default())[0]
        else {
            panic!()
        };
        assert_eq!(have, 3);
        assert!(need > 20, "{need}");
    }

    #[test]
    fn best_needs_a_significant_lead_larger_than_min_effect() {
        let a = [100.0, 101.0, 99.0, 100.5, 99.5];
        let b = [90.0, 91.0, 89.0, 90.5, 89.5];
        let c = [101.0, 102.0, 100.0, 101.5, 100.5];
        let empty: [f64; 0] = [];
        let thr: [&[f64]; 4] = [&a, &b, &c, &empty];
        let contests = [
            // Higher is better: c leads a by 1%, too little.
            Contest {
                samples: &thr,
                direction: Direction::HigherIsBetter,
            },
            // Lower is better: b leads a by 10%.
            Contest {
                samples: &thr,
                direction: Direction::LowerIsBetter,
            },
            Contest {
                samples: &thr[..1],
                direction: Direction::LowerIsBetter,
            },
            Contest {
                samples: &[&a[..3], &b[..3]],
                direction: Direction::LowerIsBetter,
            },
        ];
        let best = best(&contests, ALPHA);
        assert!(
            matches!(
                best[0],
                Best::Tie {
                    leader: 2,
                    runner_up: 0,
                    ..
                }
            ),
            "{best:?}"
        );
        assert_eq!(best[1].winner(), Some(1));
        assert_eq!(best[2], Best::NoContest);
        assert!(matches!(
            best[3],
            Best::NotEnoughRepetitions { have: 3, .. }
        ));
    }
}
