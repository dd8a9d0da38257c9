//! The search for the highest offered rate that meets an SLO: an exponential ramp until a load
//! fails, then bisection between the last passing and the first failing load down to a
//! tolerance. A load at the boundary passes when at least k of n trials pass (IETF MLRsearch's
//! idea of a load's verdict from several trials), with early stopping once the verdict cannot
//! change. It knows nothing of HTTP: a trial is a function from an offered rate to a judged
//! `Trial`, so the search is tested against a model of a server.

use serde::{Deserialize, Serialize};

use super::{Phase, Trial, Verdict};

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Method {
    /// The first load offered, per second.
    pub start_rps: f64,
    /// No load above this is offered: a deployment that passes it is "at least" this.
    pub max_rps: f64,
    /// Bisection stops once (first failing − last passing) ÷ last passing is at most this.
    pub tolerance: f64,
    /// A load at the boundary passes when at least `passes` of `trials` trials pass.
    pub passes: u32,
    pub trials: u32,
}

/// Why the search ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum End {
    /// The last passing and first failing loads are within the tolerance.
    Converged,
    /// The first load already failed: the capacity is below it, and unknown.
    FirstLoadFailed { reason: String },
    /// Every load up to the ceiling passed: the capacity is at least the ceiling.
    ReachedCeiling,
    /// A trial's generator used all of its CPU: from there on its numbers would measure
    /// djbench, so the search stopped; the capacity is at least the last passing load.
    GeneratorSaturated { offered_rps: f64 },
    /// `MAX_DISTURBED` trials of one load in a row were disturbed by other programs or the
    /// hypervisor: the machine was not djbench's to measure on; the bounds are what was found.
    Disturbed { offered_rps: f64, reason: String },
    /// Stopped from outside (Ctrl-C) or a trial could not be run: the bounds are what was
    /// found so far.
    Interrupted { reason: String },
}

impl End {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            End::Converged => "converged".into(),
            End::FirstLoadFailed { reason } => format!("the first load already failed: {reason}"),
            End::ReachedCeiling => "every load up to the ceiling passed".into(),
            End::GeneratorSaturated { offered_rps } => format!(
                "djbench's load generator saturated at {offered_rps:.0} req/s: its numbers would measure itself"
            ),
            End::Disturbed {
                offered_rps,
                reason,
            } => format!(
                "{MAX_DISTURBED} trials in a row at {offered_rps:.0} req/s were disturbed: {reason}"
            ),
            End::Interrupted { reason } => format!("interrupted: {reason}"),
        }
    }
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The highest load that passed (the capacity, at the tolerance); None when none did.
    pub last_pass_rps: Option<f64>,
    /// The lowest load that failed above it; None when none did.
    pub first_fail_rps: Option<f64>,
    pub end: End,
    /// Every trial in the order run.
    pub trials: Vec<Trial>,
}

impl Found {
    /// The capacity: the last passing load once the search converged; None otherwise (the
    /// bounds still say what is known).
    pub fn capacity_rps(&self) -> Option<f64> {
        match self.end {
            End::Converged => self.last_pass_rps,
            _ => None,
        }
    }

    /// A load's verdicts, in order.
    pub fn loads(&self) -> Vec<(f64, Vec<Verdict>)> {
        let mut loads: Vec<(f64, Vec<Verdict>)> = Vec::new();
        for t in &self.trials {
            match loads.last_mut() {
                Some((rate, v)) if *rate == t.offered_rps => v.push(t.verdict),
                _ => loads.push((t.offered_rps, vec![t.verdict])),
            }
        }
        loads
    }
}

/// A trial: the rate to offer, and which step of the search asks for it. Err ends the search
/// (interrupted, or the trial could not be run).
pub type RunTrial<'a> = dyn FnMut(f64, Phase) -> Result<Trial, String> + 'a;

/// Disturbed trials of one load in a row after which the search gives up on the machine.
pub const MAX_DISTURBED: u32 = 3;

/// A load's verdict from its trials.
enum Load {
    Pass,
    Fail(String),
    Saturated,
    Disturbed(String),
    Stopped(String),
}

/// Runs trials at `rate` until its verdict is known: at most `n` judged ones, stopping as soon
/// as `k` passed or more than `n − k` failed. With `once`, one passing trial is enough (a ramp
/// load far below the boundary); a failure still gets the full k of n. A disturbed trial is
/// run again and counts for neither side, up to `MAX_DISTURBED` in a row.
fn judge_load(
    rate: f64,
    phase: Phase,
    m: &Method,
    once: bool,
    trial: &mut RunTrial<'_>,
    trials: &mut Vec<Trial>,
) -> Load {
    let (k, n) = (m.passes, m.trials);
    let (mut passed, mut failed, mut disturbed) = (0, 0, 0);
    let mut last_reason = String::new();
    let mut first = true;
    while passed + failed < n {
        let phase = if first { phase } else { Phase::Repeat };
        first = false;
        let t = match trial(rate, phase) {
            Ok(t) => t,
            Err(e) => return Load::Stopped(e),
        };
        let verdict = t.verdict;
        let reason = t.reasons.join("; ");
        if verdict == Verdict::Fail {
            last_reason = reason.clone();
        }
        trials.push(t);
        match verdict {
            Verdict::Saturated => return Load::Saturated,
            Verdict::Disturbed => {
                disturbed += 1;
                if disturbed >= MAX_DISTURBED {
                    return Load::Disturbed(reason);
                }
                continue;
            }
            Verdict::Pass => passed += 1,
            Verdict::Fail => failed += 1,
        }
        disturbed = 0;
        if passed >= k || (once && passed == 1) {
            return Load::Pass;
        }
        if failed > n - k {
            return Load::Fail(last_reason);
        }
    }
    Load::Fail(last_reason)
}

/// Searches for the highest rate that passes.
pub fn search(m: &Method, trial: &mut RunTrial<'_>) -> Found {
    let mut trials = Vec::new();
    let mut lo: Option<f64> = None;
    let mut hi: Option<f64> = None;
    let mut rate = m.start_rps.min(m.max_rps);
    let done = |lo, hi, end, trials| Found {
        last_pass_rps: lo,
        first_fail_rps: hi,
        end,
        trials,
    };
    // The ramp: double until a load fails.
    loop {
        match judge_load(rate, Phase::Ramp, m, true, trial, &mut trials) {
            Load::Pass => {
                lo = Some(rate);
                if rate >= m.max_rps {
                    return done(lo, hi, End::ReachedCeiling, trials);
                }
                rate = (rate * 2.0).min(m.max_rps);
            }
            Load::Fail(reason) => {
                hi = Some(rate);
                if lo.is_none() {
                    return done(lo, hi, End::FirstLoadFailed { reason }, trials);
                }
                break;
            }
            Load::Saturated => {
                let end = End::GeneratorSaturated { offered_rps: rate };
                return done(lo, hi, end, trials);
            }
            Load::Disturbed(reason) => {
                let end = End::Disturbed {
                    offered_rps: rate,
                    reason,
                };
                return done(lo, hi, end, trials);
            }
            Load::Stopped(reason) => return done(lo, hi, End::Interrupted { reason }, trials),
        }
    }
    // Bisection between the last pass and the first failure.
    while let (Some(l), Some(h)) = (lo, hi) {
        if (h - l) / l <= m.tolerance {
            return done(lo, hi, End::Converged, trials);
        }
        let mid = (l + h) / 2.0;
        match judge_load(mid, Phase::Bisect, m, false, trial, &mut trials) {
            Load::Pass => lo = Some(mid),
            Load::Fail(_) => hi = Some(mid),
            Load::Saturated => {
                let end = End::GeneratorSaturated { offered_rps: mid };
                return done(lo, hi, end, trials);
            }
            Load::Disturbed(reason) => {
                let end = End::Disturbed {
                    offered_rps: mid,
                    reason,
                };
                return done(lo, hi, end, trials);
            }
            Load::Stopped(reason) => return done(lo, hi, End::Interrupted { reason }, trials),
        }
    }
    unreachable!("the ramp leaves both bounds set")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method() -> Method {
        Method {
            start_rps: 10.0,
            max_rps: 1e6,
            tolerance: 0.02,
            passes: 2,
            trials: 3,
        }
    }

    /// A server that passes every load up to `capacity`; `flaky` fails the first trial of
    /// every load (noise), which k of n must absorb.
    fn server(capacity: f64, flaky: bool) -> impl FnMut(f64, Phase) -> Result<Trial, String> {
        let mut last = f64::NAN;
        move |rate, phase| {
            let first = rate != last;
            last = rate;
            let pass = rate <= capacity && !(flaky && first && phase != Phase::Ramp);
            Ok(Trial::judged_for_test(rate, phase, pass))
        }
    }

    #[test]
    fn the_search_converges_on_a_known_capacity_within_the_tolerance() {
        for capacity in [37.0, 200.0, 1234.5, 99_999.0] {
            let f = search(&method(), &mut server(capacity, false));
            assert_eq!(f.end, End::Converged, "{capacity}");
            let (lo, hi) = (f.last_pass_rps.unwrap(), f.first_fail_rps.unwrap());
            assert!(lo <= capacity && capacity < hi, "{lo} {capacity} {hi}");
            assert!((hi - lo) / lo <= 0.02);
            assert_eq!(f.capacity_rps(), Some(lo));
        }
    }

    #[test]
    fn k_of_n_absorbs_one_bad_trial_at_the_boundary() {
        let f = search(&method(), &mut server(200.0, true));
        assert_eq!(f.end, End::Converged);
        let lo = f.last_pass_rps.unwrap();
        assert!(lo > 196.0 && lo <= 200.0, "{lo}");
        // Every bisection load that passed needed a second and third trial.
        assert!(f.trials.iter().any(|t| t.phase == Phase::Repeat));
        // One trial of 1: the noise wins, and the answer is wrong, which is why k of n exists.
        let once = Method {
            passes: 1,
            trials: 1,
            ..method()
        };
        let f = search(&once, &mut server(200.0, true));
        assert!(f.last_pass_rps.unwrap() < 196.0, "{:?}", f.last_pass_rps);
    }

    #[test]
    fn a_first_load_that_fails_stops_at_once_with_its_reason() {
        let f = search(&method(), &mut server(5.0, false));
        assert!(matches!(f.end, End::FirstLoadFailed { .. }), "{:?}", f.end);
        assert_eq!(f.capacity_rps(), None);
        assert_eq!(f.last_pass_rps, None);
        assert_eq!(f.first_fail_rps, Some(10.0));
        // Confirmed by k of n: two failures of the three.
        assert_eq!(f.trials.len(), 2);
    }

    #[test]
    fn a_saturated_generator_is_neither_pass_nor_fail_and_ends_the_search() {
        let f = search(&method(), &mut |rate, phase| {
            let mut t = Trial::judged_for_test(rate, phase, true);
            if rate > 100.0 {
                t.verdict = Verdict::Saturated;
            }
            Ok(t)
        });
        assert_eq!(f.end, End::GeneratorSaturated { offered_rps: 160.0 });
        assert_eq!(f.capacity_rps(), None);
        assert_eq!(f.last_pass_rps, Some(80.0));
        assert_eq!(f.first_fail_rps, None);
    }

    #[test]
    fn a_disturbed_trial_is_run_again_and_counts_for_neither_side() {
        // Every other trial is disturbed: the search still converges on the same capacity,
        // with the disturbed trials on record beside the judged ones.
        let mut inner = server(200.0, false);
        let mut n = 0;
        let f = search(&method(), &mut |rate, phase| {
            n += 1;
            let mut t = inner(rate, phase)?;
            if n % 2 == 0 {
                t.verdict = Verdict::Disturbed;
            }
            Ok(t)
        });
        assert_eq!(f.end, End::Converged);
        let lo = f.last_pass_rps.unwrap();
        assert!(lo > 196.0 && lo <= 200.0, "{lo}");
        let disturbed = f.trials.iter().filter(|t| t.verdict == Verdict::Disturbed);
        assert!(disturbed.count() * 2 >= f.trials.len() - 1);
    }

    #[test]
    fn a_machine_that_stays_busy_ends_the_search_with_the_bounds_so_far() {
        let f = search(&method(), &mut |rate, phase| {
            let mut t = Trial::judged_for_test(rate, phase, true);
            if rate > 50.0 {
                t.verdict = Verdict::Disturbed;
                t.reasons = vec!["other programs used 1.20 cores".into()];
            }
            Ok(t)
        });
        assert_eq!(
            f.end,
            End::Disturbed {
                offered_rps: 80.0,
                reason: "other programs used 1.20 cores".into()
            }
        );
        assert_eq!(f.capacity_rps(), None);
        assert_eq!(f.last_pass_rps, Some(40.0));
        assert_eq!(f.trials.len() as u32, 3 + MAX_DISTURBED);
    }

    #[test]
    fn a_server_faster_than_the_ceiling_is_at_least_the_ceiling() {
        let m = Method {
            max_rps: 300.0,
            ..method()
        };
        let f = search(&m, &mut server(1e9, false));
        assert_eq!(f.end, End::ReachedCeiling);
        assert_eq!(f.last_pass_rps, Some(300.0));
        assert_eq!(f.capacity_rps(), None);
    }

    #[test]
    fn an_interrupted_search_keeps_its_bounds() {
        let mut n = 0;
        let f = search(&method(), &mut |rate, phase| {
            n += 1;
            if n > 6 {
                return Err("interrupted".into());
            }
            Ok(Trial::judged_for_test(rate, phase, rate <= 100.0))
        });
        assert!(matches!(f.end, End::Interrupted { .. }));
        assert_eq!(f.last_pass_rps, Some(80.0));
        assert_eq!(f.first_fail_rps, Some(160.0));
        assert_eq!(f.capacity_rps(), None);
    }
}
