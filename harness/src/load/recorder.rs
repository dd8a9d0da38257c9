//! Thread-local recording for the load generator, and the merge into one report. Latencies are
//! in µs in HDR histograms (1 µs to 60 s, 3 significant digits) recorded with
//! `saturating_record`, so an outlier clamps instead of panicking.

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
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    pub connect: u64,
    pub timeout: u64,
    pub read: u64,
    pub http_4xx: u64,
    pub http_5xx: u64,
}

impl ErrorCounts {
    fn add(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Connect => self.connect += 1,
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Read => self.read += 1,
            ErrorKind::Http4xx => self.http_4xx += 1,
            ErrorKind::Http5xx => self.http_5xx += 1,
        }
    }

    fn merge(&mut self, o: &Self) {
        self.connect += o.connect;
        self.timeout += o.timeout;
        self.read += o.read;
        self.http_4xx += o.http_4xx;
        self.http_5xx += o.http_5xx;
    }

    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.read + self.http_4xx + self.http_5xx
    }

    /// Failures with no response at all.
    fn transport(&self) -> u64 {
        self.connect + self.timeout + self.read
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
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("fixed, valid bounds")
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
    sent: u64,
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

    /// A finished request, counted from `from` (its send time, or its intended send time in an
    /// open loop). Warm-up requests are not recorded.
    pub fn record(
        &mut self,
        ep: usize,
        from: Instant,
        done: Instant,
        result: Result<(), ErrorKind>,
    ) {
        self.exchanged += 1;
        if !self.in_window(from) {
            return;
        }
        let e = &mut self.eps[ep];
        e.requests += 1;
        let us = done.saturating_duration_since(from).as_micros() as u64;
        match result {
            Ok(()) => {
                e.total.saturating_record(us);
                e.second.saturating_record(us);
            }
            Err(kind) => {
                e.errors.add(kind);
                e.second_errors += 1;
                // An HTTP error is still a response with a latency.
                if matches!(kind, ErrorKind::Http4xx | ErrorKind::Http5xx) {
                    e.total.saturating_record(us);
                    e.second.saturating_record(us);
                }
            }
        }
    }

    /// How late an open-loop request left against its intended time.
    pub fn record_lateness(&mut self, intended: Instant, sent: Instant) {
        if !self.in_window(intended) {
            return;
        }
        self.sent += 1;
        let us = sent.saturating_duration_since(intended).as_micros() as u64;
        self.lateness.saturating_record(us);
        if us > 1000 {
            self.late += 1;
        }
    }

    fn snapshot(&mut self, second: u64) -> SecondSnapshot {
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
        }
    }
}

/// Sends this thread's per-second snapshot at each second of the measured window, then the
/// remainder once the thread's requests are done (the end plus the in-flight tail).
pub(super) async fn tick(
    rec: Rc<RefCell<Recorder>>,
    tx: mpsc::Sender<SecondSnapshot>,
    ctx: Rc<Ctx>,
) {
    let from = rec.borrow().measure_from;
    let mut second = 0u64;
    loop {
        let at = from + Duration::from_secs(second + 1);
        if (at > ctx.end() && !ctx.held()) || ctx.stopped() {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        let snap = rec.borrow_mut().snapshot(second);
        let _ = tx.send(snap);
        second += 1;
    }
    // Polled, as a hold may move the end meanwhile.
    loop {
        let now = Instant::now();
        if ctx.stopped() || (now >= ctx.end() && !ctx.held()) {
            break;
        }
        let left = ctx.end().saturating_duration_since(now);
        tokio::time::sleep(left.clamp(Duration::from_millis(1), Duration::from_millis(100))).await;
    }
    // Give in-flight requests a moment; what lands later still counts in the totals.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let snap = rec.borrow_mut().snapshot(second);
    let _ = tx.send(snap);
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
        connections += r.connections;
        exchanged += r.exchanged;
    }
    let seconds_total = window.load.as_secs_f64();
    let per_second = |n: f64| {
        if seconds_total > 0.0 {
            n / seconds_total
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
                path: spec.endpoints[i].path.clone(),
                requests: requests[i],
                errors: errors[i].total(),
                error_kinds: errors[i],
                latency_us: Latency::of(&totals[i]),
            }
        })
        .collect();
    let total_requests: u64 = requests.iter().sum();

    let open_loop = match spec.model {
        Model::Open { rate, .. } => Some(OpenLoopReport {
            intended_rps: rate,
            achieved_rps: per_second(sent as f64),
            late_sends: late,
            lateness_us: Latency::of(&lateness),
            connections_used: connections,
        }),
        Model::Closed { .. } => None,
    };
    LoadReport {
        model: spec.model,
        measured_seconds: seconds_total,
        requests: total_requests,
        errors: all_errors.total(),
        throughput_rps: per_second((total_requests - all_errors.transport()) as f64),
        latency_us: Latency::of(&all),
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
    }
}

/// The per-second series, merged across generator threads as their snapshots arrive. A
/// second's histograms live only until every thread has sent that second: kept whole, a
/// 10-minute run would hold 600 × endpoints × threads histograms of ~140 KB each.
pub struct Seconds {
    threads: usize,
    paths: Vec<String>,
    pending: std::collections::BTreeMap<u64, OpenSecond>,
    rows: Vec<SecondRow>,
}

/// A second some threads have sent: per endpoint its merged histogram and errors, and how
/// many threads have sent it.
type OpenSecond = (Vec<Histogram<u64>>, Vec<u64>, usize);

impl Seconds {
    pub fn new(threads: usize, paths: Vec<String>) -> Self {
        Self {
            threads,
            paths,
            pending: Default::default(),
            rows: Vec::new(),
        }
    }

    /// Adds one thread's second; when that closes the second, its row over all endpoints.
    pub fn add(&mut self, snap: SecondSnapshot) -> Option<&SecondRow> {
        let n = self.paths.len();
        let (hists, errors, seen) = self
            .pending
            .entry(snap.second)
            .or_insert_with(|| (vec![histogram(); n], vec![0; n], 0));
        for (i, (h, e)) in snap.eps.iter().enumerate() {
            let _ = hists[i].add(h);
            errors[i] += e;
        }
        *seen += 1;
        if *seen < self.threads {
            return None;
        }
        let done = self.pending.remove(&snap.second).expect("just inserted");
        let at = self.close(snap.second, done.0, done.1);
        self.rows.get(at)
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
                self.rows.push(row(second, &self.paths[i], h, errors[i]));
            }
        }
        at
    }

    /// The rows in order of seconds; seconds not every thread reached (a run stopped from
    /// outside) close with what arrived.
    pub fn finish(mut self) -> Vec<SecondRow> {
        for (second, (hists, errors, _)) in std::mem::take(&mut self.pending) {
            let _ = self.close(second, hists, errors);
        }
        self.rows.sort_by_key(|r| r.second);
        self.rows
    }
}

fn row(second: u64, path: &str, h: &Histogram<u64>, errors: u64) -> SecondRow {
    SecondRow {
        second,
        path: path.to_owned(),
        count: h.len() + errors,
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
