//! The load generator: closed loop (N connections back to back) and open loop (a constant or
//! Poisson arrival rate, latency counted from each request's intended send time, so a stalled
//! server shows up). One hyper `client::conn` per connection, one current-thread runtime per
//! generator thread, recording in thread-local HDR histograms (µs, 3 significant digits) that
//! are merged at the end; per-second snapshots cross threads once a second, never per request.
//! Every request of the window is recorded, failures included, and the rates count requests by
//! when they finished, so a server that falls behind an open loop shows its own pace. An open
//! loop holds a bounded backlog of intents waiting for a connection (`backlog_cap`): memory
//! stays bounded at any rate, and intents beyond it are reported as a shortfall.
//! It sends requests and counts; it knows nothing of deployments.

pub mod login;
mod pacer;
mod recorder;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use nix::sys::resource::UsageWho;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::Notify;

pub use recorder::{ErrorKind, Latency, histogram as recorder_histogram};
use recorder::{Recorder, SecondSnapshot};

pub use crate::limits::{MAX_DURATION, MAX_RATE, MAX_TIMEOUT};

/// One request of the mix: what to send, how often, and which answer counts as success.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Path and query, starting with `/`.
    pub path: String,
    pub weight: f64,
    pub method: hyper::Method,
    /// Sent after Host, in order. A name given here replaces djbench's own header of that name
    /// (Host, the body's Content-Type); a name given twice is sent twice.
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    /// The status that counts as success. None: any status below 400, as for a plain GET.
    pub expect: Option<u16>,
}

/// A request body, sent with a Content-Length (hyper sets it from the bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub content_type: String,
    pub bytes: Bytes,
}

impl Endpoint {
    /// A plain GET of `path` with no header of its own: what every endpoint was before
    /// methods and bodies.
    pub fn get(path: impl Into<String>, weight: f64) -> Self {
        Self {
            path: path.into(),
            weight,
            method: hyper::Method::GET,
            headers: Vec::new(),
            body: None,
            expect: None,
        }
    }

    /// How reports name the endpoint: the path alone for a GET, so the labels of GET-only
    /// mixes (every results.json written before methods existed) stay what they were; the
    /// method and the path otherwise (`POST /orders`). Headers, body and expected status are
    /// not in it: two endpoints that differ only there share a label.
    pub fn label(&self) -> String {
        if self.method == hyper::Method::GET {
            self.path.clone()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Model {
    Closed {
        connections: u32,
    },
    Open {
        rate: f64,
        poisson: bool,
        max_connections: u32,
    },
}

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    /// The Host header.
    pub host: String,
    pub endpoints: Vec<Endpoint>,
    pub model: Model,
    pub warmup: Duration,
    pub duration: Duration,
    /// Each request is given up this long after its send time (its intended send time in an
    /// open loop), connecting included, and recorded as a timeout with that latency.
    pub timeout: Duration,
    /// Generator threads, each with its own runtime and share of the load.
    pub threads: usize,
    /// Ending or holding the load from outside.
    pub control: Control,
    /// What this load is, in its threads' names (`djbench-NAME-0`): `web`, `tasks`, `load`.
    pub name: &'static str,
}

/// Control of a running load from outside: Ctrl-C, and the live view's keys.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Any of these set ends the load early (Ctrl-C, the live view's `q` or `n`); what was
    /// recorded is kept, and the measured window ends there.
    pub stop: Vec<Arc<AtomicBool>>,
    /// The live view's `p`: while held nothing is sent.
    pub hold: Option<Arc<Hold>>,
}

/// Holding the load: while held no request leaves, and when released the end moves by the
/// time held, so the measured window still holds `duration` of load and throughput stays
/// requests over load time. Seconds inside a hold show no requests.
#[derive(Debug, Default)]
pub struct Hold {
    held: AtomicBool,
    /// How far finished holds have moved the end, in ns: read on every request, so atomic.
    moved_ns: AtomicU64,
    spans: Mutex<Vec<(Instant, Option<Instant>)>>,
}

impl Hold {
    /// Holds the load, or releases it; returns whether it is now held.
    pub fn toggle(&self) -> bool {
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match spans.last_mut() {
            Some((from, to @ None)) => {
                *to = Some(now);
                let ns = now.duration_since(*from).as_nanos() as u64;
                self.moved_ns.fetch_add(ns, Ordering::Relaxed);
                self.held.store(false, Ordering::Relaxed);
                false
            }
            _ => {
                spans.push((now, None));
                self.held.store(true, Ordering::Relaxed);
                true
            }
        }
    }

    pub fn is_held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    fn moved(&self) -> Duration {
        Duration::from_nanos(self.moved_ns.load(Ordering::Relaxed))
    }

    /// Time held between `a` and `b` (a hold still on counts up to `b`).
    pub fn held_between(&self, a: Instant, b: Instant) -> Duration {
        let spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        spans
            .iter()
            .map(|&(from, to)| {
                let (from, to) = (from.max(a), to.unwrap_or(b).min(b));
                to.saturating_duration_since(from)
            })
            .sum()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointReport {
    /// The endpoint's label (`Endpoint::label`): its path for a GET, `METHOD /path` otherwise.
    pub path: String,
    pub requests: u64,
    pub errors: u64,
    pub error_kinds: recorder::ErrorCounts,
    /// Every request of the window, failures included; None when there was none.
    pub latency_us: Option<Latency>,
}

/// Responses one worker served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerCount {
    /// As the app named it: `pid.interpreter.thread`.
    pub worker: String,
    pub requests: u64,
}

/// One second of the series, counted from the start of the measured window: the requests of
/// the window that finished in it, each once whatever its outcome. Rows go on past the window
/// while its last requests finish, so the `*` rows add up to `LoadReport::requests`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondRow {
    pub second: u64,
    /// The endpoint's label (`Endpoint::label`), or `*` for all of them.
    pub path: String,
    /// Requests that finished in this second, errors included.
    pub count: u64,
    pub errors: u64,
    /// Over every request counted (0 when `count` is 0).
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// What an open loop managed against what it intended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenLoopReport {
    pub intended_rps: f64,
    /// Requests that left inside the window ÷ the window: below `intended_rps` when the
    /// backlog was full (`shortfall`); how fast they were answered is `completed_rps`.
    pub sent_rps: f64,
    /// Requests sent more than 1 ms after their intended time.
    pub late_sends: u64,
    /// How late requests left against their intended time; None when none was sent.
    pub lateness_us: Option<Latency>,
    pub connections_used: u32,
    /// Requests of the window still in flight or waiting for a connection when it closed;
    /// their latencies still count when they finish or time out.
    pub in_flight_at_end: u64,
    /// Intents of the window never sent because the backlog of requests waiting for a
    /// connection was full (`backlog_cap`); not in `requests`. Counted as rate × the time the
    /// backlog stayed full, so about that many.
    pub shortfall: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneratorReport {
    pub threads: usize,
    /// User + system CPU of the whole djbench process over the run, warm-up included.
    pub cpu_seconds: f64,
    /// User + system CPU of this load's own generator threads (the kernel's per-thread
    /// account), warm-up included: this load's part of `cpu_seconds`.
    pub threads_cpu_seconds: f64,
    /// Wall time of the whole load, warm-up and tail included.
    pub wall_seconds: f64,
    /// Every request that got an answer or an error, warm-up included: what that CPU paid for.
    pub requests_exchanged: u64,
    pub cpu_us_per_request: f64,
    /// The generator used nearly all of its threads' CPU: its numbers may measure itself.
    pub saturated: bool,
    /// Peak resident memory of the djbench process so far (the kernel's high-water mark).
    pub max_rss_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    #[serde(flatten)]
    pub model: Model,
    pub measured_seconds: f64,
    /// Requests of the window: sent in it (intended in it, in an open loop), whatever their
    /// outcome and whenever they finished. An open loop's intent that waited for a connection
    /// until its deadline is among them, as a timeout; one never taken into the backlog
    /// (`OpenLoopReport::shortfall`) is not.
    pub requests: u64,
    /// Those of `requests` answered as expected: below 400, or the endpoint's expected status.
    pub ok: u64,
    /// Those of `requests` that failed: `error_kinds` adds up to it.
    pub errors: u64,
    /// `errors` ÷ `requests`; None without requests.
    pub error_rate: Option<f64>,
    /// Goodput: responses as expected (`ok`) that finished inside the window ÷ `measured_seconds`,
    /// whenever they were sent. Not requests sent: an open loop ahead of its server sends
    /// more than it gets back.
    pub throughput_rps: f64,
    /// Every request that finished inside the window, any outcome, ÷ `measured_seconds`.
    pub completed_rps: f64,
    /// Every request of the window, failures included (at the moment they were given up),
    /// from its send time (intended send time in an open loop); None when there was none.
    pub latency_us: Option<Latency>,
    pub error_kinds: recorder::ErrorCounts,
    pub endpoints: Vec<EndpointReport>,
    pub seconds: Vec<SecondRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_loop: Option<OpenLoopReport>,
    /// Connections the generator opened for requests of the window.
    pub connections_opened: u64,
    /// Connections opened per request of the window: about 0 when the server keeps
    /// connections alive, 1 when it closes after every response (None: no requests).
    pub connections_per_request: Option<f64>,
    /// Responses of the window by the worker that served them (the `X-Djbench-Worker`
    /// header); empty when the server names none.
    pub workers: Vec<WorkerCount>,
    pub generator: GeneratorReport,
    /// Ended before its duration from outside (Ctrl-C, the live view's `q` or `n`):
    /// `measured_seconds` is the load time it had.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_early: bool,
    /// Seconds the load was held inside the measured window (the live view's `p`); the window
    /// was lengthened by as much.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held_seconds: f64,
    /// Why these numbers may not mean what they seem (an open loop that could not send its
    /// rate); absent when there is nothing to say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl LoadReport {
    /// The latency to show beside other figures: None when no request succeeded, so a load
    /// that only failed (refused connections answer fast) is unknown, never best. Judging
    /// against a bound reads `latency_us`, where the failures count.
    pub fn latency_shown(&self) -> Option<Latency> {
        self.latency_us.filter(|_| self.ok > 0)
    }
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Shared, read-only facts every connection task needs.
struct Ctx {
    addr: SocketAddr,
    /// Per endpoint, its request built once.
    requests: Vec<Prepared>,
    weights: Vec<f64>,
    /// The start of the measured window (after the warm-up).
    measure_from: Instant,
    end: Instant,
    timeout: Duration,
    control: Control,
    /// How far holds had moved the end before this load began (a `Hold` lives across loads).
    moved_before: Duration,
    /// When this thread first saw a stop flag.
    stopped_at: std::cell::Cell<Option<Instant>>,
    /// Signalled once every request of this thread has finished: the per-second series ends.
    finished: Notify,
}

impl Ctx {
    /// Whether to send more: not stopped from outside, and before the end or held (a hold
    /// moves the end when released).
    fn going(&self, now: Instant) -> bool {
        !self.stopped() && (now < self.end() || self.held())
    }

    /// Whether a request finished at `done` finished inside the measured window: after the
    /// warm-up, before the end (or during a hold, which moves the end) and before any stop.
    fn done_in_window(&self, done: Instant) -> bool {
        if done < self.measure_from {
            return false;
        }
        // Notes a stop seen only now.
        let _ = self.stopped();
        if self.stopped_at.get().is_some_and(|t| done >= t) {
            return false;
        }
        done < self.end() || self.held()
    }

    fn stopped(&self) -> bool {
        if self.stopped_at.get().is_some() {
            return true;
        }
        let stop = self.control.stop.iter().any(|s| s.load(Ordering::Relaxed));
        if stop {
            self.stopped_at.set(Some(Instant::now()));
        }
        stop
    }

    fn held(&self) -> bool {
        self.control.hold.as_ref().is_some_and(|h| h.is_held())
    }

    /// The end of the measured window, moved by every finished hold.
    fn end(&self) -> Instant {
        self.control
            .hold
            .as_ref()
            .map_or(self.end, |h| self.end + (h.moved() - self.moved_before))
    }

    /// Waits out a hold (polled: a hold is seconds long, and 20 ms is quick enough to resume).
    async fn released(&self) {
        while self.held() && !self.stopped() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn request(&self, ep: usize) -> hyper::Request<Full<Bytes>> {
        self.requests[ep].request()
    }
}

/// One endpoint's request, parsed and checked once before the load: the hot loop only clones
/// its parts (reference counts, and the header map's two small allocations, as many as
/// inserting a Host header into a new map cost). A plain GET builds in about 100 ns, 10 ns
/// more than with hyper's `Empty` body, which cannot carry a POST's
/// (harness/benches/README.md).
#[derive(Clone)]
struct Prepared {
    method: hyper::Method,
    uri: hyper::Uri,
    /// Host first, then the endpoint's own headers, then the body's Content-Type.
    headers: HeaderMap,
    /// None: no body and no Content-Length are sent.
    body: Option<Bytes>,
    expect: Option<u16>,
}

impl Prepared {
    fn new(e: &Endpoint, host: &HeaderValue) -> Result<Self, LoadError> {
        let bad = |what: String| LoadError(format!("endpoint `{}`: {what}", e.label()));
        let uri = e
            .path
            .parse::<hyper::Uri>()
            .map_err(|err| bad(format!("bad path: {err}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(hyper::header::HOST, host.clone());
        let mut own = Vec::new();
        for (name, value) in &e.headers {
            let name = header_name(name).map_err(&bad)?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| bad(format!("header `{name}` has a value that cannot be sent")))?;
            // The endpoint's first header of a name replaces djbench's own; more append.
            if own.contains(&name) {
                headers.append(name, value);
            } else {
                own.push(name.clone());
                headers.insert(name, value);
            }
        }
        let body = match &e.body {
            Some(b) => {
                if !headers.contains_key(hyper::header::CONTENT_TYPE) {
                    let ct = HeaderValue::from_str(&b.content_type)
                        .map_err(|_| bad(format!("bad content type `{}`", b.content_type)))?;
                    headers.insert(hyper::header::CONTENT_TYPE, ct);
                }
                Some(b.bytes.clone())
            }
            None => None,
        };
        Ok(Self {
            method: e.method.clone(),
            uri,
            headers,
            body,
            expect: e.expect,
        })
    }

    fn request(&self) -> hyper::Request<Full<Bytes>> {
        let body = self
            .body
            .as_ref()
            .map_or_else(Full::default, |b| Full::new(b.clone()));
        let mut req = hyper::Request::new(body);
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// A header an endpoint may set: a valid name, and not one that frames the body
/// (`limits::FRAMING_HEADERS`).
fn header_name(name: &str) -> Result<HeaderName, String> {
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a header name"))?;
    if crate::limits::FRAMING_HEADERS.contains(&parsed.as_str()) {
        return Err(format!(
            "header `{name}` is set by djbench from the body, not by an endpoint"
        ));
    }
    Ok(parsed)
}

/// Smooth weighted round robin: each endpoint earns its weight, the richest goes next.
/// Deterministic, and exact over any window of a few rounds.
struct Picker {
    credit: Vec<f64>,
    weights: Vec<f64>,
    total: f64,
}

impl Picker {
    fn new(weights: &[f64], offset: usize) -> Self {
        let mut p = Self {
            credit: vec![0.0; weights.len()],
            weights: weights.to_vec(),
            total: weights.iter().sum(),
        };
        // Connections start at different places in the cycle.
        for _ in 0..offset % (weights.len() * 4).max(1) {
            p.next();
        }
        p
    }

    fn next(&mut self) -> usize {
        for (c, w) in self.credit.iter_mut().zip(&self.weights) {
            *c += w;
        }
        let mut best = 0;
        for i in 1..self.credit.len() {
            if self.credit[i] > self.credit[best] {
                best = i;
            }
        }
        self.credit[best] -= self.total;
        best
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Driver<T> = hyper::client::conn::http1::Connection<T, Full<Bytes>>;

/// One keep-alive connection, driven inside the task that uses it. Hyper's usual pattern
/// spawns the connection as a second task; polling it here instead saves the wake-ups that
/// cross between the two tasks on every request (about a third of the generator's user CPU,
/// measured with perf against nginx: harness/benches/README.md).
struct Conn<T = TokioIo<TcpStream>>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin,
{
    sender: SendRequest<Full<Bytes>>,
    /// None once the connection has ended.
    driver: Option<Pin<Box<Driver<T>>>>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Self, ErrorKind> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        let _ = stream.set_nodelay(true);
        Self::handshake(TokioIo::new(stream)).await
    }
}

impl<T> Conn<T>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin,
{
    async fn handshake(io: T) -> Result<Self, ErrorKind> {
        let (sender, driver) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        Ok(Self {
            sender,
            driver: Some(Box::pin(driver)),
        })
    }

    /// Whether the connection can take another request (a server may close after any
    /// response; that is not an error of the request). `idle`: it sat unpolled since its last
    /// answer (an open loop's pool), so first poll its driver, the only way to notice that the
    /// server closed it meanwhile (an idle timeout) before a request is lost to it. Not for a
    /// connection reused at once (closed loop): that poll costs a read syscall per request.
    async fn ready(&mut self, idle: bool) -> bool {
        let Some(driver) = self.driver.as_mut() else {
            return false;
        };
        if self.sender.is_closed() {
            return false;
        }
        if idle {
            let closed = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(driver.as_mut().poll(cx).is_ready())
            })
            .await;
            if closed {
                self.driver = None;
                return false;
            }
        }
        tokio::select! {
            biased;
            r = self.sender.ready() => r.is_ok(),
            _ = driver.as_mut() => {
                self.driver = None;
                false
            }
        }
    }

    /// Sends one request and reads the whole response, dropping the body as it comes; gives
    /// up at `deadline`.
    async fn exchange(
        &mut self,
        req: hyper::Request<Full<Bytes>>,
        deadline: Instant,
    ) -> Result<Answer, ErrorKind> {
        let Conn { sender, driver } = self;
        let Some(running) = driver.as_mut() else {
            return Err(ErrorKind::Read);
        };
        let work = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|_| ErrorKind::Read)?;
            let status = resp.status().as_u16();
            let worker = resp.headers().get(WORKER_HEADER).cloned();
            let mut body = resp.into_body();
            while let Some(frame) = body.frame().await {
                frame.map_err(|_| ErrorKind::Read)?;
            }
            Ok(Answer { status, worker })
        };
        let mut work = std::pin::pin!(work);
        let outcome = tokio::time::timeout_at(deadline.into(), async {
            tokio::select! {
                biased;
                r = &mut work => Some(r),
                _ = running.as_mut() => None,
            }
        })
        .await;
        match outcome {
            Err(_) => {
                *driver = None;
                Err(ErrorKind::Timeout)
            }
            Ok(Some(r)) => r,
            // The connection ended; the response may already have been handed over (a server
            // that closes after answering). Dropping the driver settles the request either way.
            Ok(None) => {
                *driver = None;
                work.await
            }
        }
    }
}

/// The header in which the sample app names the web worker that served a response
/// (`pid.interpreter.thread`); any other server simply lacks it.
pub const WORKER_HEADER: &str = "x-djbench-worker";

/// A response, as far as the generator cares.
struct Answer {
    status: u16,
    /// The `X-Djbench-Worker` header, if the server sent one.
    worker: Option<hyper::header::HeaderValue>,
}

/// Counts the worker that answered (inside the window), and turns the answer into the
/// request's result against the status the endpoint expects.
fn answered(
    rec: &RefCell<Recorder>,
    from: Instant,
    answer: Answer,
    expect: Option<u16>,
) -> Result<(), ErrorKind> {
    if let Some(w) = &answer.worker {
        rec.borrow_mut().count_worker(from, w.as_bytes());
    }
    status_result(answer.status, expect)
}

/// Without an expected status, anything below 400 succeeds. With one, only it does; another
/// 4xx or 5xx still counts as such (a server error stays visible as one), and any other
/// status (a 200 for a 201, a redirect to a login page) as `UnexpectedStatus`.
fn status_result(status: u16, expect: Option<u16>) -> Result<(), ErrorKind> {
    match (status, expect) {
        (s, Some(e)) if s == e => Ok(()),
        (400..=499, _) => Err(ErrorKind::Http4xx),
        (500..=599, _) => Err(ErrorKind::Http5xx),
        (_, None) => Ok(()),
        (_, Some(_)) => Err(ErrorKind::UnexpectedStatus),
    }
}

/// A connection ready for the next request: the one given if it can go on, else a new one
/// (counted against `from`, the request it is opened for), given up at `deadline` (a SYN
/// that is never answered would otherwise wait minutes for the kernel).
async fn ready(
    addr: SocketAddr,
    conn: Option<Conn>,
    idle: bool,
    rec: &RefCell<Recorder>,
    from: Instant,
    deadline: Instant,
) -> Result<Conn, ErrorKind> {
    if let Some(mut c) = conn
        && c.ready(idle).await
    {
        return Ok(c);
    }
    rec.borrow_mut().count_connect(from);
    tokio::time::timeout_at(deadline.into(), Conn::open(addr))
        .await
        .unwrap_or(Err(ErrorKind::Timeout))
}

async fn closed_connection(
    ctx: Rc<Ctx>,
    rec: Rc<RefCell<Recorder>>,
    index: usize,
    connections: usize,
) {
    let mut picker = Picker::new(&ctx.weights, index);
    let mut conn = None;
    // The connections open one after another over the first half of the warm-up, as clients
    // arrive, not in one burst: workers that accept from a shared socket in a loop (asyncio's,
    // tokio's) would otherwise take the whole burst in whichever woke first and keep it, since
    // a kept-alive connection never comes back to the socket.
    let ramp = ctx.measure_from.saturating_duration_since(Instant::now()) / 2;
    tokio::time::sleep(ramp.mul_f64(index as f64 / connections.max(1) as f64)).await;
    let mut now = Instant::now();
    while ctx.going(now) {
        if ctx.held() {
            ctx.released().await;
            now = Instant::now();
            continue;
        }
        let ep = picker.next();
        let sent = now;
        let deadline = sent + ctx.timeout;
        let mut c = match ready(ctx.addr, conn.take(), false, &rec, sent, deadline).await {
            Ok(c) => c,
            Err(kind) => {
                let done = Instant::now();
                let counts = ctx.done_in_window(done);
                rec.borrow_mut().record(ep, sent, done, Err(kind), counts);
                // A refused connection answers at once: do not spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                now = Instant::now();
                continue;
            }
        };
        let result = c.exchange(ctx.request(ep), deadline).await;
        if result.is_ok() {
            conn = Some(c);
        }
        // The next request leaves now: one clock read serves as this one's end and its start.
        now = Instant::now();
        let expect = ctx.requests[ep].expect;
        let result = result.and_then(|a| answered(&rec, sent, a, expect));
        let counts = ctx.done_in_window(now);
        rec.borrow_mut().record(ep, sent, now, result, counts);
    }
}

struct OpenPool {
    /// Idle connections, oldest first, each with the worker that answered on it last.
    idle: RefCell<std::collections::VecDeque<(Conn, Option<usize>)>>,
    /// Per worker the app named (`X-Djbench-Worker`): requests in flight and requests sent.
    workers: RefCell<Vec<PoolWorker>>,
    opened: std::cell::Cell<u32>,
}

struct PoolWorker {
    name: hyper::header::HeaderValue,
    in_flight: u32,
    sent: u64,
}

impl OpenPool {
    /// The idle connection for the next request: one to the worker with the fewest requests in
    /// flight, then the fewest sent so far, then the one idle longest. That is a reverse
    /// proxy's least-requests balancing over the connections the generator holds: a LIFO stack
    /// sent every request down the connection that answered last, and plain FIFO follows how
    /// many connections each worker happens to hold (3 connections to 2 workers: 2:1). It
    /// chooses only among connections it has, so a deployment that gives every connection to
    /// one worker still shows as unfair.
    fn take(&self) -> Option<(Conn, Option<usize>)> {
        let mut idle = self.idle.borrow_mut();
        let workers = self.workers.borrow();
        let load = |w: Option<usize>| w.map_or((0, 0), |i| (workers[i].in_flight, workers[i].sent));
        let at = (0..idle.len()).min_by_key(|&i| (load(idle[i].1), i))?;
        let taken = idle.remove(at)?;
        drop(workers);
        if let Some(i) = taken.1 {
            let mut workers = self.workers.borrow_mut();
            workers[i].in_flight += 1;
            workers[i].sent += 1;
        }
        Some(taken)
    }

    /// A request on a connection to `worker` (as known before it) is over; the connection,
    /// if still usable, goes back idle with the worker that answered.
    fn give_back(
        &self,
        conn: Option<Conn>,
        before: Option<usize>,
        answered: Option<&hyper::header::HeaderValue>,
    ) {
        let mut workers = self.workers.borrow_mut();
        if let Some(i) = before {
            workers[i].in_flight -= 1;
        }
        let Some(conn) = conn else { return };
        let now = answered.map(|name| match workers.iter().position(|w| w.name == name) {
            Some(i) => i,
            None => {
                workers.push(PoolWorker {
                    name: name.clone(),
                    in_flight: 0,
                    sent: 0,
                });
                workers.len() - 1
            }
        });
        // A new connection's first request counts once its worker is known.
        if let (None, Some(i)) = (before, now) {
            workers[i].sent += 1;
        }
        self.idle.borrow_mut().push_back((conn, now));
    }
}

/// The most intents waiting for a connection, across all generator threads (each holds its
/// share). An intent is an endpoint and an instant (24 bytes), so the backlog costs about
/// 6 MiB (up to twice that as its queues grow by doubling) whatever the rate or thread count.
/// At the default 5 s timeout it holds 5 s of a 50,000 req/s backlog, far beyond what a
/// loopback deployment completes, so only a rate no server here could approach runs into it;
/// beyond it intents are a shortfall, not memory.
const BACKLOG_TOTAL: usize = 1 << 18;

/// How many intents one generator thread holds waiting for a connection.
pub fn backlog_cap(threads: usize) -> usize {
    (BACKLOG_TOTAL / threads.max(1)).max(1024)
}

/// An open loop's intents and the requests running for them on one thread. At most `max`
/// requests run (each in its own task, on its own connection); intents due while all of them
/// are busy wait in `backlog`, oldest first, at most `cap` of them.
struct OpenLoop {
    ctx: Rc<Ctx>,
    rec: Rc<RefCell<Recorder>>,
    pool: OpenPool,
    backlog: RefCell<std::collections::VecDeque<(usize, Instant)>>,
    cap: usize,
    running: std::cell::Cell<u32>,
    max: u32,
    /// A request finished and took from the backlog, or the last one stopped running.
    moved: Notify,
}

impl OpenLoop {
    /// An intent is due: a task runs it if fewer than `max` run, else it waits in the backlog;
    /// false when the backlog is full (the intent is not sent).
    fn dispatch(self: &Rc<Self>, ep: usize, intended: Instant) -> bool {
        if self.running.get() < self.max {
            self.rec.borrow_mut().start(intended);
            self.running.set(self.running.get() + 1);
            tokio::task::spawn_local(self.clone().run(ep, intended));
            return true;
        }
        let mut backlog = self.backlog.borrow_mut();
        if backlog.len() >= self.cap {
            return false;
        }
        self.rec.borrow_mut().start(intended);
        backlog.push_back((ep, intended));
        true
    }

    /// Runs requests, this one and then the backlog's, until the backlog is empty.
    async fn run(self: Rc<Self>, mut ep: usize, mut intended: Instant) {
        loop {
            self.request(ep, intended).await;
            match self.next() {
                Some((e, i)) => (ep, intended) = (e, i),
                None => break,
            }
        }
        self.running.set(self.running.get() - 1);
        self.moved.notify_one();
    }

    /// The oldest intent of the backlog still worth sending: those whose deadline passed while
    /// they waited are given up as timeouts, at their deadline.
    fn next(&self) -> Option<(usize, Instant)> {
        let mut backlog = self.backlog.borrow_mut();
        let now = Instant::now();
        let mut took = false;
        let next = loop {
            let Some((ep, intended)) = backlog.pop_front() else {
                break None;
            };
            took = true;
            let deadline = intended + self.ctx.timeout;
            if deadline > now {
                break Some((ep, intended));
            }
            let counts = self.ctx.done_in_window(deadline);
            self.rec
                .borrow_mut()
                .record_given_up(ep, intended, deadline, counts);
        };
        if took {
            self.moved.notify_one();
        }
        next
    }

    async fn request(&self, ep: usize, intended: Instant) {
        let (ctx, rec, pool) = (&self.ctx, &self.rec, &self.pool);
        // Given up `timeout` after its intended time: waiting for a connection counts.
        let deadline = intended + ctx.timeout;
        let (pooled, worker) = match pool.take() {
            Some((c, w)) => (Some(c), w),
            None => {
                pool.opened.set(pool.opened.get() + 1);
                (None, None)
            }
        };
        let conn = ready(ctx.addr, pooled, true, rec, intended, deadline).await;
        let sent = Instant::now();
        let sent_in_window = ctx.done_in_window(sent);
        rec.borrow_mut()
            .record_lateness(intended, sent, sent_in_window);
        let result = match conn {
            Ok(mut c) => {
                let r = c.exchange(ctx.request(ep), deadline).await;
                let name = r.as_ref().ok().and_then(|a| a.worker.clone());
                pool.give_back(r.is_ok().then_some(c), worker, name.as_ref());
                r.and_then(|a| answered(rec, intended, a, ctx.requests[ep].expect))
            }
            Err(kind) => {
                pool.give_back(None, worker, None);
                Err(kind)
            }
        };
        // Latency from the intended send time: waiting for a connection counts.
        let done = Instant::now();
        let counts = ctx.done_in_window(done);
        rec.borrow_mut().record(ep, intended, done, result, counts);
    }
}

async fn open_loop(
    ctx: Rc<Ctx>,
    rec: Rc<RefCell<Recorder>>,
    rate: f64,
    poisson: bool,
    max: u32,
    cap: usize,
    seed: u64,
) {
    let lp = Rc::new(OpenLoop {
        ctx: ctx.clone(),
        rec: rec.clone(),
        pool: OpenPool {
            idle: RefCell::new(std::collections::VecDeque::new()),
            workers: RefCell::new(Vec::new()),
            opened: std::cell::Cell::new(0),
        },
        backlog: RefCell::new(std::collections::VecDeque::new()),
        cap,
        running: std::cell::Cell::new(0),
        max,
        moved: Notify::new(),
    });
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut picker = Picker::new(&ctx.weights, seed as usize);
    let pacer = pacer::Pacer::new().ok();
    // Warm-up requests go out too; only those intended inside the window are recorded.
    let mut intended = Instant::now();
    let gap = 1.0 / rate;
    let mut sent_since_yield = 0u32;
    while intended < ctx.end() || ctx.held() {
        match &pacer {
            Some(p) if p.until(intended).await.is_ok() => {}
            // No timerfd (a restricted sandbox): tokio's millisecond timer, lateness will show it.
            _ => tokio::time::sleep_until(intended.into()).await,
        }
        if !ctx.going(Instant::now()) {
            break;
        }
        if ctx.held() {
            ctx.released().await;
            // The schedule starts again from the release: a hold is not a backlog to send.
            intended = Instant::now();
            continue;
        }
        let accepted = lp.dispatch(picker.next(), intended);
        if !accepted && intended >= ctx.measure_from {
            rec.borrow_mut().shortfall += 1.0;
        }
        let step = if poisson {
            // Exponential gaps: -ln(U) / rate.
            -(1.0 - rng.random::<f64>()).ln() * gap
        } else {
            gap
        };
        intended += Duration::from_secs_f64(step);
        if !accepted {
            // The backlog is full: wait for room (polled too, for the end and a stop); every
            // intent due meanwhile is a shortfall, counted as rate × time rather than one by
            // one (at an absurd rate, counting them would be all the thread did).
            while lp.backlog.borrow().len() >= lp.cap && ctx.going(Instant::now()) {
                let _ = tokio::time::timeout(Duration::from_millis(10), lp.moved.notified()).await;
            }
            let now = Instant::now();
            if intended < now {
                let (from, to) = (intended.max(ctx.measure_from), now.min(ctx.end()));
                rec.borrow_mut().shortfall +=
                    to.saturating_duration_since(from).as_secs_f64() * rate;
                intended = now;
            }
            continue;
        }
        // Behind schedule the pacer does not wait: let the requests run now and then.
        sent_since_yield += 1;
        if sent_since_yield >= 64 {
            sent_since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
    // The last intent may come well before the end (at a low rate): the window is open until
    // then, and what is in flight is counted when it closes.
    while ctx.going(Instant::now()) {
        let left = ctx.end().saturating_duration_since(Instant::now());
        tokio::time::sleep(left.clamp(Duration::from_millis(1), Duration::from_millis(100))).await;
    }
    rec.borrow_mut().close_window();
    // Let the last requests finish: each is given up at its deadline, so this ends within
    // the timeout.
    while lp.running.get() > 0 {
        lp.moved.notified().await;
    }
    rec.borrow_mut().connections = lp.pool.opened.get();
}

/// Where `djbench load` sends its requests.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
}

/// Parses an http URL and resolves it, refusing anything but loopback unless allowed.
pub fn target(url: &str, allow_remote: bool) -> Result<Target, LoadError> {
    use std::net::ToSocketAddrs;
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| LoadError(format!("`{url}` is not a URL: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(LoadError(format!(
            "`{url}`: only http:// URLs are supported"
        )));
    }
    let host = uri
        .host()
        .ok_or_else(|| LoadError(format!("`{url}` has no host")))?;
    let port = uri.port_u16().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| LoadError(format!("cannot resolve `{host}`: {e}")))?
        .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| LoadError(format!("`{host}` resolves to nothing")))?;
    if !allow_remote && !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(LoadError(format!(
            "`{host}` is not a loopback address: djbench sends load only to this machine unless \
             --allow-remote is given"
        )));
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok(Target {
        addr,
        host: uri.authority().map_or(host, |a| a.as_str()).to_owned(),
        path,
    })
}

/// Runs the load and returns what it measured.
pub fn run(spec: &LoadSpec) -> Result<LoadReport, LoadError> {
    run_watched(spec, &mut |_| {})
}

/// Runs the load, handing `each_second` every second's row over all endpoints (`*`) as it
/// closes, on the calling thread: what a live view shows, never per-request events.
pub fn run_watched(
    spec: &LoadSpec,
    each_second: &mut dyn FnMut(&SecondRow),
) -> Result<LoadReport, LoadError> {
    if spec.endpoints.is_empty() {
        return Err(LoadError("no endpoint to request".into()));
    }
    let host = HeaderValue::from_str(&spec.host)
        .map_err(|_| LoadError(format!("bad host `{}`", spec.host)))?;
    let requests = spec
        .endpoints
        .iter()
        .map(|e| Prepared::new(e, &host))
        .collect::<Result<Vec<_>, _>>()?;
    let threads = match spec.model {
        Model::Closed { connections } => spec.threads.clamp(1, connections.max(1) as usize),
        Model::Open { .. } => spec.threads.max(1),
    };
    let started = Instant::now();
    let measure_from = started + spec.warmup;
    let end = measure_from + spec.duration;
    let cpu_before = crate::sample::cpu_seconds(UsageWho::RUSAGE_SELF);
    let moved_before = spec
        .control
        .hold
        .as_ref()
        .map_or(Duration::ZERO, |h| h.moved());
    let (snapshots_tx, snapshots_rx) = mpsc::channel::<SecondSnapshot>();
    let mut handles = Vec::new();
    for t in 0..threads {
        let (requests, tx) = (requests.clone(), snapshots_tx.clone());
        let weights: Vec<f64> = spec.endpoints.iter().map(|e| e.weight).collect();
        let (addr, model, timeout) = (spec.addr, spec.model, spec.timeout);
        let control = spec.control.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("djbench-{}-{t}", spec.name))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime");
                    let local = tokio::task::LocalSet::new();
                    let ctx = Rc::new(Ctx {
                        addr,
                        requests,
                        weights,
                        measure_from,
                        end,
                        timeout,
                        control,
                        moved_before,
                        stopped_at: std::cell::Cell::new(None),
                        finished: Notify::new(),
                    });
                    let rec = Rc::new(RefCell::new(Recorder::new(
                        ctx.requests.len(),
                        measure_from,
                    )));
                    local.block_on(&rt, async {
                        let ticker =
                            tokio::task::spawn_local(recorder::tick(rec.clone(), tx, ctx.clone()));
                        match model {
                            Model::Closed { connections } => {
                                let mine: Vec<usize> = (0..connections as usize)
                                    .filter(|c| c % threads == t)
                                    .collect();
                                let tasks: Vec<_> = mine
                                    .into_iter()
                                    .map(|c| {
                                        tokio::task::spawn_local(closed_connection(
                                            ctx.clone(),
                                            rec.clone(),
                                            c,
                                            connections as usize,
                                        ))
                                    })
                                    .collect();
                                for task in tasks {
                                    let _ = task.await;
                                }
                            }
                            Model::Open {
                                rate,
                                poisson,
                                max_connections,
                            } => {
                                let share = (max_connections as usize / threads).max(1) as u32;
                                open_loop(
                                    ctx.clone(),
                                    rec.clone(),
                                    rate / threads as f64,
                                    poisson,
                                    share,
                                    backlog_cap(threads),
                                    0x5eed + t as u64,
                                )
                                .await;
                            }
                        }
                        // Every request of this thread is recorded: the series can end.
                        ctx.finished.notify_one();
                        let _ = ticker.await;
                    });
                    let rec = Rc::try_unwrap(rec)
                        .map(RefCell::into_inner)
                        .unwrap_or_else(|rc| rc.borrow().clone());
                    // This thread's whole life: the kernel's account of what it cost.
                    let cpu = crate::sample::cpu_seconds(UsageWho::RUSAGE_THREAD);
                    (rec, ctx.stopped_at.get(), cpu)
                })
                .map_err(|e| LoadError(format!("cannot start a generator thread: {e}")))?,
        );
    }
    drop(snapshots_tx);
    // Until every thread has finished (and dropped its sender).
    let mut seconds = recorder::Seconds::new(
        threads,
        spec.endpoints.iter().map(Endpoint::label).collect(),
    );
    for snap in snapshots_rx {
        seconds.add(snap, each_second);
    }
    let mut recorders = Vec::new();
    let mut stopped_at = None::<Instant>;
    let mut threads_cpu = 0.0;
    for h in handles {
        let (rec, stopped, cpu) = h
            .join()
            .map_err(|_| LoadError("a generator thread panicked".into()))?;
        recorders.push(rec);
        threads_cpu += cpu;
        stopped_at = match (stopped_at, stopped) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let cpu = crate::sample::cpu_seconds(UsageWho::RUSAGE_SELF) - cpu_before;
    let wall = started.elapsed().as_secs_f64();
    // The window as lived: to its end (moved by holds) or to a stop from outside; load time
    // is that less the time held inside it.
    let hold = spec.control.hold.as_ref();
    let final_end = end + hold.map_or(Duration::ZERO, |h| h.moved() - moved_before);
    let until = stopped_at.map_or(final_end, |t| t.min(final_end));
    let held = hold.map_or(Duration::ZERO, |h| h.held_between(measure_from, until));
    let window = Window {
        load: until
            .saturating_duration_since(measure_from)
            .saturating_sub(held),
        held,
        stopped_early: stopped_at.is_some_and(|t| t < final_end),
    };
    Ok(recorder::report(
        spec,
        threads,
        recorders,
        seconds.finish(),
        window,
        Spent {
            cpu,
            threads_cpu,
            wall,
            max_rss_bytes: max_rss_bytes(),
        },
    ))
}

/// What the generator itself spent: CPU seconds and wall seconds over the whole load, and
/// its peak RSS.
pub(crate) struct Spent {
    cpu: f64,
    /// The generator threads' own CPU (RUSAGE_THREAD), apart from the rest of the process.
    threads_cpu: f64,
    wall: f64,
    max_rss_bytes: u64,
}

/// The measured window as it was lived: load time, time held, and whether it was cut short.
pub(crate) struct Window {
    load: Duration,
    held: Duration,
    stopped_early: bool,
}

/// This process's peak RSS: the kernel's high-water mark for its memory (VmHWM). Not
/// `ru_maxrss`, which keeps the RSS of whatever forked us (cargo, a shell) from before exec.
pub fn max_rss_bytes() -> u64 {
    procfs::process::Process::myself()
        .and_then(|p| p.status())
        .ok()
        .and_then(|s| s.vmhwm)
        .map_or(0, |kib| kib * 1024)
}

/// The generator's per-request steps, reachable from the criterion benches
/// (harness/benches/hot_path.rs) and nothing else: not an API.
#[doc(hidden)]
pub mod hot {
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use http_body_util::Full;

    pub use super::recorder::Recorder;

    /// An endpoint's request as the generator builds it before the load.
    pub struct Prepared(super::Prepared);

    impl Prepared {
        pub fn new(endpoint: &super::Endpoint, host: &str) -> Self {
            let host = hyper::header::HeaderValue::from_str(host).expect("a valid host");
            Self(super::Prepared::new(endpoint, &host).expect("a valid endpoint"))
        }

        /// What the hot loop does per request.
        pub fn request(&self) -> hyper::Request<Full<Bytes>> {
            self.0.request()
        }
    }

    /// One keep-alive connection over any byte stream, as the generator drives it.
    pub struct Connection<T: hyper::rt::Read + hyper::rt::Write + Unpin>(super::Conn<T>);

    impl<T: hyper::rt::Read + hyper::rt::Write + Unpin> Connection<T> {
        pub async fn handshake(io: T) -> Option<Self> {
            super::Conn::handshake(io).await.ok().map(Self)
        }

        /// Sends the request and reads the whole response: its status, or None on an error.
        pub async fn exchange(&mut self, req: hyper::Request<Full<Bytes>>) -> Option<u16> {
            self.0
                .exchange(req, Instant::now() + Duration::from_secs(5))
                .await
                .ok()
                .map(|a| a.status)
        }
    }

    /// A recorder whose measured window is open from now.
    pub fn recorder(endpoints: usize) -> Recorder {
        Recorder::new(endpoints, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_counts_against_the_expected_one() {
        assert_eq!(status_result(302, None), Ok(()));
        assert_eq!(status_result(404, None), Err(ErrorKind::Http4xx));
        assert_eq!(status_result(201, Some(201)), Ok(()));
        assert_eq!(status_result(404, Some(404)), Ok(()));
        assert_eq!(
            status_result(200, Some(201)),
            Err(ErrorKind::UnexpectedStatus)
        );
        assert_eq!(
            status_result(302, Some(200)),
            Err(ErrorKind::UnexpectedStatus)
        );
        // A server error stays one, whatever was expected.
        assert_eq!(status_result(503, Some(201)), Err(ErrorKind::Http5xx));
        assert_eq!(status_result(403, Some(200)), Err(ErrorKind::Http4xx));
    }

    #[test]
    fn a_get_is_labelled_by_its_path_alone() {
        assert_eq!(Endpoint::get("/x?a=1", 1.0).label(), "/x?a=1");
        let post = Endpoint {
            method: hyper::Method::POST,
            ..Endpoint::get("/orders", 1.0)
        };
        assert_eq!(post.label(), "POST /orders");
    }

    #[test]
    fn the_endpoints_headers_replace_djbenchs_and_repeat_in_order() {
        let e = Endpoint {
            method: hyper::Method::PATCH,
            headers: vec![
                ("Host".into(), "shop.example".into()),
                ("X-Tag".into(), "a".into()),
                ("x-tag".into(), "b".into()),
            ],
            body: Some(Body {
                content_type: "application/json".into(),
                bytes: Bytes::from_static(b"{}"),
            }),
            ..Endpoint::get("/x", 1.0)
        };
        let req = Prepared::new(&e, &HeaderValue::from_static("127.0.0.1:1"))
            .unwrap()
            .request();
        assert_eq!(req.method(), hyper::Method::PATCH);
        let h = req.headers();
        assert_eq!(
            h.get_all("host").iter().collect::<Vec<_>>(),
            ["shop.example"]
        );
        assert_eq!(h.get_all("x-tag").iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(h["content-type"], "application/json");
        let own_type = Endpoint {
            headers: vec![("Content-Type".into(), "application/vnd.api+json".into())],
            ..e
        };
        let req = Prepared::new(&own_type, &HeaderValue::from_static("h"))
            .unwrap()
            .request();
        assert_eq!(req.headers()["content-type"], "application/vnd.api+json");
    }

    #[test]
    fn a_header_that_frames_the_body_is_refused() {
        let e = Endpoint {
            headers: vec![("Content-Length".into(), "3".into())],
            ..Endpoint::get("/x", 1.0)
        };
        let err = Prepared::new(&e, &HeaderValue::from_static("h")).err();
        assert!(
            err.is_some_and(|LoadError(m)| m.contains("set by djbench from the body")),
            "refused"
        );
    }
}
