//! Thread-local recording for the load generator, and the merge into one report. Latencies are
//! in µs in HDR histograms (1 µs to 1 h, 3 significant digits: 1 h is the longest timeout
//! allowed, so no latency it can produce is clamped) recorded with `saturating_record`, so an
//! outlier clamps instead of panicking. Every request of the window is recorded whatever its
//! outcome: a timeout or a refused connection at the moment it was given up. It counts; it
//! decides nothing about when requests are sent.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{
    Ctx, EndpointReport, GeneratorReport, LoadReport, LoadSpec, Model, OpenLoopReport, SecondRow,
    Spent, Window, WorkerCount,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Connect,
    Timeout,
    Read,
    Http4xx,
    Http5xx,
    /// A status other than the one the endpoint expects, and neither a 4xx nor a 5xx.
    UnexpectedStatus,
}

/// Failed requests by kind. `timeout`: no full response by the request's deadline (its send
/// time, or intended send time in an open loop, plus the timeout), connecting included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    pub connect: u64,
    pub timeout: u64,
    pub read: u64,
    pub http_4xx: u64,
    pub http_5xx: u64,
    /// Responses of an endpoint with an expected status that had another one, neither 4xx nor
    /// 5xx (those count as such): a 200 for a 201, a redirect to a login page. Absent from
    /// results written before endpoints could expect a status: 0.
    #[serde(default)]
    pub unexpected_status: u64,
}

impl ErrorCounts {
    fn add(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Connect => self.connect += 1,
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Read => self.read += 1,
            ErrorKind::Http4xx => self.http_4xx += 1,
            ErrorKind::Http5xx => self.http_5xx += 1,
            ErrorKind::UnexpectedStatus => self.unexpected_status += 1,
        }
    }

    fn merge(&mut self, o: &Self) {
        self.connect += o.connect;
        self.timeout += o.timeout;
        self.read += o.read;
        self.http_4xx += o.http_4xx;
        self.http_5xx += o.http_5xx;
        self.unexpected_status += o.unexpected_status;
    }

    pub fn total(&self) -> u64 {
        self.by_kind().iter().map(|(_, n)| n).sum()
    }

    /// Every kind with its count, as the text reports name them (`5xx 5, timeout 2`): the one
    /// list the totals and the reports read, so a new kind cannot be left out of either.
    pub fn by_kind(&self) -> [(&'static str, u64); 6] {
        [
            ("connect", self.connect),
            ("timeout", self.timeout),
            ("read", self.read),
            ("4xx", self.http_4xx),
            ("5xx", self.http_5xx),
            ("unexpected status", self.unexpected_status),
        ]
    }
}

/// Percentiles in µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Latency {
    /// The histogram's percentiles; all zeros when it is empty (see `recorded` for None).
    pub fn of(h: &Histogram<u64>) -> Self {
        Self::recorded(h).unwrap_or_default()
    }

    /// The histogram's percentiles, or None when nothing was recorded.
    pub fn recorded(h: &Histogram<u64>) -> Option<Self> {
        (!h.is_empty()).then(|| Self {
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        })
    }
}

/// The longest latency a histogram holds unclamped: the longest timeout allowed (`--timeout`,
/// `workload.timeout`), in µs.
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("fixed, valid bounds")
}

#[derive(Debug, Clone)]
struct Ep {
    total: Histogram<u64>,
    second: Histogram<u64>,
    requests: u64,
    errors: ErrorCounts,
    second_errors: u64,
}

/// One generator thread's counts.
#[derive(Debug, Clone)]
pub struct Recorder {
    measure_from: Instant,
    eps: Vec<Ep>,
    lateness: Histogram<u64>,
    late: u64,
    /// Requests that left inside the window (by their send time).
    sent: u64,
    /// Requests finished inside the window (by their finish time, whenever they were sent), and
    /// those of them answered as expected: the rates.
    completed: u64,
    completed_ok: u64,
    /// Requests of the window (sent or intended in it) started but not yet recorded.
    open: u64,
    /// `open` when this thread's window closed (open loop).
    pub in_flight_at_end: u64,
    /// Intents of the window never sent: the open loop's backlog was full. Fractional because
    /// a skipped span is counted as rate × length.
    pub shortfall: f64,
    /// Every finished request, warm-up and tail included: what the generator's CPU paid for.
    exchanged: u64,
    pub connections: u32,
    /// Connections opened for requests of the window (a server that closes after every
    /// response costs one per request).
    connects: u64,
    /// Responses of the window per worker header, in order of first appearance. A handful of
    /// workers: a linear scan beats hashing.
    workers: Vec<(Box<[u8]>, u64)>,
}

/// One thread's last second, sent to the main thread once a second.
#[derive(Debug)]
pub struct SecondSnapshot {
    pub second: u64,
    pub eps: Vec<(Histogram<u64>, u64)>,
    /// The thread's last snapshot: every request it recorded is in this one or an earlier one.
    pub last: bool,
}

impl Recorder {
    pub fn new(endpoints: usize, measure_from: Instant) -> Self {
        let ep = Ep {
            total: histogram(),
            second: histogram(),
            requests: 0,
            errors: ErrorCounts::default(),
            second_errors: 0,
        };
        Self {
            measure_from,
            eps: vec![ep; endpoints],
            lateness: histogram(),
            late: 0,
            sent: 0,
            completed: 0,
            completed_ok: 0,
            open: 0,
            in_flight_at_end: 0,
            shortfall: 0.0,
            exchanged: 0,
            connections: 0,
            connects: 0,
            workers: Vec::new(),
        }
    }

    /// A connection opened for a request counted from `from`.
    pub fn count_connect(&mut self, from: Instant) {
        if self.in_window(from) {
            self.connects += 1;
        }
    }

    /// A response of a request counted from `from` named its worker.
    pub fn count_worker(&mut self, from: Instant, worker: &[u8]) {
        if !self.in_window(from) {
            return;
        }
        match self.workers.iter_mut().find(|(w, _)| **w == *worker) {
            Some((_, n)) => *n += 1,
            None => self.workers.push((worker.into(), 1)),
        }
    }

    /// After the warm-up. The window's end needs no check: nothing is sent after it (and a
    /// hold moves it).
    fn in_window(&self, t: Instant) -> bool {
        t >= self.measure_from
    }

    /// A request counted from `from` has started (sent, or waiting for a connection): until it
    /// is recorded it is in flight.
    pub fn start(&mut self, from: Instant) {
        if self.in_window(from) {
            self.open += 1;
        }
    }

    /// A finished request, counted from `from` (its send time, or its intended send time in an
    /// open loop) to `done`, when it was answered or given up. `done_in_window`: it finished
    /// inside the measured window, so it counts in the rates whenever it was sent. Warm-up
    /// requests are not recorded otherwise.
    pub fn record(
        &mut self,
        ep: usize,
        from: Instant,
        done: Instant,
        result: Result<(), ErrorKind>,
        done_in_window: bool,
    ) {
        self.exchanged += 1;
        self.record_outcome(ep, from, done, result, done_in_window);
    }

    /// An open loop's intent given up before it was sent (it waited for a connection until its
    /// deadline): a timeout like any other, but nothing was exchanged.
    pub fn record_given_up(&mut self, ep: usize, from: Instant, done: Instant, in_window: bool) {
        self.record_outcome(ep, from, done, Err(ErrorKind::Timeout), in_window);
    }

    fn record_outcome(
        &mut self,
        ep: usize,
        from: Instant,
        done: Instant,
        result: Result<(), ErrorKind>,
        done_in_window: bool,
    ) {
        if done_in_window {
            self.completed += 1;
            self.completed_ok += u64::from(result.is_ok());
        }
        if !self.in_window(from) {
            return;
        }
        self.open = self.open.saturating_sub(1);
        let e = &mut self.eps[ep];
        e.requests += 1;
        // Every outcome has a latency: a failure's is how long it took to give up.
        let us = done.saturating_duration_since(from).as_micros() as u64;
        e.total.saturating_record(us);
        e.second.saturating_record(us);
        if let Err(kind) = result {
            e.errors.add(kind);
            e.second_errors += 1;
        }
    }

    /// How late an open-loop request left against its intended time; `sent_in_window`: it left
    /// inside the measured window.
    pub fn record_lateness(&mut self, intended: Instant, sent: Instant, sent_in_window: bool) {
        self.sent += u64::from(sent_in_window);
        if !self.in_window(intended) {
            return;
        }
        let us = sent.saturating_duration_since(intended).as_micros() as u64;
        self.lateness.saturating_record(us);
        if us > 1000 {
            self.late += 1;
        }
    }

    /// The window has closed on this thread: what is still open was in flight then.
    pub fn close_window(&mut self) {
        self.in_flight_at_end = self.open;
    }

    fn snapshot(&mut self, second: u64, last: bool) -> SecondSnapshot {
        SecondSnapshot {
            second,
            eps: self
                .eps
                .iter_mut()
                .map(|e| {
                    let h = e.second.clone();
                    e.second.reset();
                    (h, std::mem::take(&mut e.second_errors))
                })
                .collect(),
            last,
        }
    }
}

/// Sends this thread's per-second snapshot at each second from the start of the measured
/// window until the thread's requests are all done (`Ctx::finished`), then the remainder. Rows
/// go on past the window while requests of the window are still in flight: each counts in the
/// second it finished, so the series adds up to the window's requests.
pub(super) async fn tick(
    rec: Rc<RefCell<Recorder>>,
    tx: mpsc::Sender<SecondSnapshot>,
    ctx: Rc<Ctx>,
) {
    let from = rec.borrow().measure_from;
    let mut second = 0u64;
    loop {
        let at = from + Duration::from_secs(second + 1);
        tokio::select! {
            biased;
            _ = ctx.finished.notified() => break,
            _ = tokio::time::sleep_until(at.into()) => {}
        }
        let snap = rec.borrow_mut().snapshot(second, false);
        let _ = tx.send(snap);
        second += 1;
    }
    let snap = rec.borrow_mut().snapshot(second, true);
    let _ = tx.send(snap);
}

/// The intents an open loop could not send, rounded: the report's `shortfall`.
fn shortfall(recorders: &[Recorder]) -> u64 {
    recorders.iter().map(|r| r.shortfall).sum::<f64>().round() as u64
}

pub fn report(
    spec: &LoadSpec,
    threads: usize,
    recorders: Vec<Recorder>,
    seconds: Vec<SecondRow>,
    window: Window,
    spent: Spent,
) -> LoadReport {
    let Spent {
        cpu,
        threads_cpu,
        wall,
        max_rss_bytes,
    } = spent;
    let n = spec.endpoints.len();
    let mut totals = vec![histogram(); n];
    let mut requests = vec![0u64; n];
    let mut errors = vec![ErrorCounts::default(); n];
    let mut lateness = histogram();
    let (mut late, mut sent, mut connections, mut exchanged) = (0, 0, 0, 0);
    let (mut completed, mut completed_ok, mut in_flight_at_end) = (0, 0, 0);
    let mut connects = 0;
    let mut workers: std::collections::BTreeMap<String, u64> = Default::default();
    for r in &recorders {
        connects += r.connects;
        for (w, n) in &r.workers {
            *workers
                .entry(String::from_utf8_lossy(w).into_owned())
                .or_default() += n;
        }
        for (i, e) in r.eps.iter().enumerate() {
            let _ = totals[i].add(&e.total);
            requests[i] += e.requests;
            errors[i].merge(&e.errors);
        }
        let _ = lateness.add(&r.lateness);
        late += r.late;
        sent += r.sent;
        completed += r.completed;
        completed_ok += r.completed_ok;
        in_flight_at_end += r.in_flight_at_end;
        connections += r.connections;
        exchanged += r.exchanged;
    }
    let seconds_total = window.load.as_secs_f64();
    let per_second = |n: u64| {
        if seconds_total > 0.0 {
            n as f64 / seconds_total
        } else {
            0.0
        }
    };
    let mut all = histogram();
    let mut all_errors = ErrorCounts::default();
    let endpoints: Vec<EndpointReport> = (0..n)
        .map(|i| {
            let _ = all.add(&totals[i]);
            all_errors.merge(&errors[i]);
            EndpointReport {
                path: spec.endpoints[i].label(),
                requests: requests[i],
                errors: errors[i].total(),
                error_kinds: errors[i],
                latency_us: Latency::recorded(&totals[i]),
            }
        })
        .collect();
    let total_requests: u64 = requests.iter().sum();
    let total_errors = all_errors.total();

    let mut warnings = Vec::new();
    let open_loop = match spec.model {
        Model::Open { rate, .. } => {
            let shortfall = shortfall(&recorders);
            let sent_rps = per_second(sent);
            if shortfall > 0 {
                warnings.push(format!(
                    "{shortfall} intended requests were never sent: the generator holds at most \
                     {} waiting requests per thread (the rest would cost memory without \
                     measuring anything more); it sent {sent_rps:.1} req/s of the {rate} \
                     intended, so this is not a measurement at {rate} req/s",
                    super::backlog_cap(threads),
                ));
            }
            Some(OpenLoopReport {
                intended_rps: rate,
                sent_rps,
                late_sends: late,
                lateness_us: Latency::recorded(&lateness),
                connections_used: connections,
                in_flight_at_end,
                shortfall,
            })
        }
        Model::Closed { .. } => None,
    };
    LoadReport {
        model: spec.model,
        measured_seconds: seconds_total,
        requests: total_requests,
        ok: total_requests - total_errors,
        errors: total_errors,
        error_rate: (total_requests > 0).then(|| total_errors as f64 / total_requests as f64),
        throughput_rps: per_second(completed_ok),
        completed_rps: per_second(completed),
        latency_us: Latency::recorded(&all),
        error_kinds: all_errors,
        endpoints,
        seconds,
        open_loop,
        connections_opened: connects,
        connections_per_request: (total_requests > 0)
            .then(|| connects as f64 / total_requests as f64),
        workers: workers
            .into_iter()
            .map(|(worker, requests)| WorkerCount { worker, requests })
            .collect(),
        generator: GeneratorReport {
            threads,
            cpu_seconds: cpu,
            threads_cpu_seconds: threads_cpu,
            wall_seconds: wall,
            requests_exchanged: exchanged,
            cpu_us_per_request: if exchanged > 0 {
                cpu * 1e6 / exchanged as f64
            } else {
                0.0
            },
            saturated: wall > 0.0 && cpu / wall >= 0.9 * threads as f64,
            max_rss_bytes,
        },
        stopped_early: window.stopped_early,
        held_seconds: window.held.as_secs_f64(),
        warnings,
    }
}

/// The per-second series, merged across generator threads as their snapshots arrive. A
/// second's histograms live only until every thread has sent that second: kept whole, a
/// 10-minute run would hold 600 × endpoints × threads histograms of ~190 KB each.
pub struct Seconds {
    threads: usize,
    /// The endpoints' labels.
    labels: Vec<String>,
    pending: std::collections::BTreeMap<u64, OpenSecond>,
    /// The last second of each thread that has sent its last snapshot: it sends no later one,
    /// so later seconds close without it.
    finished: Vec<u64>,
    rows: Vec<SecondRow>,
}

/// A second some threads have sent: per endpoint its merged histogram and errors, and how
/// many threads have sent it.
type OpenSecond = (Vec<Histogram<u64>>, Vec<u64>, usize);

impl Seconds {
    pub fn new(threads: usize, labels: Vec<String>) -> Self {
        Self {
            threads,
            labels,
            pending: Default::default(),
            finished: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Adds one thread's second, and hands `closed` the row over all endpoints of every second
    /// that it closes, in order.
    pub fn add(&mut self, snap: SecondSnapshot, closed: &mut dyn FnMut(&SecondRow)) {
        let n = self.labels.len();
        let (hists, errors, seen) = self
            .pending
            .entry(snap.second)
            .or_insert_with(|| (vec![histogram(); n], vec![0; n], 0));
        for (i, (h, e)) in snap.eps.iter().enumerate() {
            let _ = hists[i].add(h);
            errors[i] += e;
        }
        *seen += 1;
        if snap.last {
            self.finished.push(snap.second);
        }
        while let Some((&second, &(_, _, seen))) = self.pending.first_key_value() {
            let gone = self.finished.iter().filter(|&&last| last < second).count();
            if seen + gone < self.threads {
                break;
            }
            let (hists, errors, _) = self.pending.remove(&second).expect("just seen");
            let at = self.close(second, hists, errors);
            closed(&self.rows[at]);
        }
    }

    /// Each endpoint, and all of them as `*`; returns where the `*` row is.
    fn close(&mut self, second: u64, hists: Vec<Histogram<u64>>, errors: Vec<u64>) -> usize {
        let mut sum = histogram();
        for h in &hists {
            let _ = sum.add(h);
        }
        let at = self.rows.len();
        self.rows.push(row(second, "*", &sum, errors.iter().sum()));
        if hists.len() > 1 {
            for (i, h) in hists.iter().enumerate() {
                self.rows.push(row(second, &self.labels[i], h, errors[i]));
            }
        }
        at
    }

    /// The rows in order of seconds; seconds not every thread reached close with what arrived.
    pub fn finish(mut self) -> Vec<SecondRow> {
        for (second, (hists, errors, _)) in std::mem::take(&mut self.pending) {
            let _ = self.close(second, hists, errors);
        }
        self.rows.sort_by_key(|r| r.second);
        self.rows
    }
}

/// One second's row: every request recorded in it once, whatever its outcome (each outcome is
/// in the histogram).
fn row(second: u64, label: &str, h: &Histogram<u64>, errors: u64) -> SecondRow {
    SecondRow {
        second,
        path: label.to_owned(),
        count: h.len(),
        errors,
        p50_us: if h.is_empty() {
            0
        } else {
            h.value_at_quantile(0.5)
        },
        p99_us: if h.is_empty() {
            0
        } else {
            h.value_at_quantile(0.99)
        },
        max_us: h.max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(second: u64, count: u64, last: bool) -> SecondSnapshot {
        let mut h = histogram();
        for _ in 0..count {
            h.record(1000).unwrap();
        }
        SecondSnapshot {
            second,
            eps: vec![(h, 0)],
            last,
        }
    }

    /// A thread that finished early no longer holds back the seconds the others go on with.
    #[test]
    fn a_finished_thread_does_not_hold_later_seconds_open() {
        let mut s = Seconds::new(2, vec!["/".into()]);
        let mut closed = Vec::new();
        let mut push = |s: &mut Seconds, snap| s.add(snap, &mut |r| closed.push(r.second));
        push(&mut s, snap(0, 3, false));
        push(&mut s, snap(0, 2, false));
        push(&mut s, snap(1, 1, true));
        push(&mut s, snap(1, 4, false));
        push(&mut s, snap(2, 5, false));
        push(&mut s, snap(3, 1, true));
        assert_eq!(closed, vec![0, 1, 2, 3]);
        let rows = s.finish();
        let counts: Vec<u64> = rows.iter().map(|r| r.count).collect();
        assert_eq!(counts, vec![5, 5, 5, 1]);
    }

    /// Every kind is in the total and in the list the reports print: each field a distinct bit.
    #[test]
    fn every_error_kind_counts_in_the_total() {
        let k = ErrorCounts {
            connect: 1,
            timeout: 2,
            read: 4,
            http_4xx: 8,
            http_5xx: 16,
            unexpected_status: 32,
        };
        assert_eq!(k.total(), 63);
        let mut merged = ErrorCounts::default();
        merged.merge(&k);
        merged.add(ErrorKind::UnexpectedStatus);
        assert_eq!(merged.unexpected_status, 33);
        assert_eq!(merged.total(), 64);
    }

    /// Each outcome counts once in its second: an HTTP error is in the histogram and among the
    /// errors, but not twice in the count.
    #[test]
    fn every_outcome_counts_once_with_its_latency() {
        let t0 = Instant::now();
        let mut r = Recorder::new(1, t0);
        let at = |ms| t0 + Duration::from_millis(ms);
        r.record(0, at(0), at(5), Ok(()), true);
        r.record(0, at(0), at(7), Err(ErrorKind::Http5xx), true);
        r.record(0, at(0), at(1000), Err(ErrorKind::Timeout), false);
        r.record_given_up(0, at(1), at(1001), true);
        let s = r.snapshot(0, true);
        assert_eq!(s.eps[0].0.len(), 4);
        assert_eq!(s.eps[0].1, 3);
        assert_eq!(row(0, "*", &s.eps[0].0, s.eps[0].1).count, 4);
        assert_eq!((r.completed, r.completed_ok), (3, 1));
        assert!(r.eps[0].total.max() >= 1_000_000);
        assert_eq!(r.exchanged, 3, "the given-up intent was never exchanged");
    }
}
