//! The load generator against a server whose behaviour is known: a fixed delay must be
//! measured as that delay, and a stall must show in open-loop percentiles while closed-loop
//! percentiles hide it (coordinated omission). Failures count: a 500 is not goodput, a request
//! never answered is a latency of at least the timeout, and an open loop ahead of its server
//! reports what the server completed, not what it offered.

mod common;
#[path = "common/server.rs"]
mod server;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use djbench::load::{self, Endpoint, Latency, LoadReport, LoadSpec, Model};
use http_body_util::Full;
use server::spawn_server;

/// A server answering every request after `delay`; during a stall window it holds every
/// request until the window ends. `close` makes it close the connection after each answer.
struct TestServer {
    addr: SocketAddr,
    stall: Arc<Mutex<Option<(Instant, Instant)>>>,
}

fn server(delay: Duration, close: bool) -> TestServer {
    let stall: Arc<Mutex<Option<(Instant, Instant)>>> = Arc::default();
    let window = stall.clone();
    let addr = spawn_server(move |_connection| {
        let window = window.clone();
        async move {
            let until = *window.lock().unwrap();
            if let Some((from, to)) = until
                && Instant::now() >= from
                && Instant::now() < to
            {
                tokio::time::sleep_until(to.into()).await;
            }
            // A blocking sleep is precise to well under a millisecond; the runtime's timer
            // rounds up to whole milliseconds.
            tokio::task::spawn_blocking(move || std::thread::sleep(delay))
                .await
                .unwrap();
            let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
            if close {
                resp.headers_mut()
                    .insert(hyper::header::CONNECTION, "close".parse().unwrap());
            }
            resp
        }
    });
    TestServer { addr, stall }
}

fn spec(addr: SocketAddr, model: Model, duration: Duration) -> LoadSpec {
    LoadSpec {
        addr,
        host: addr.to_string(),
        endpoints: vec![Endpoint::get("/x", 1.0)],
        model,
        warmup: Duration::from_millis(500),
        duration,
        timeout: Duration::from_secs(5),
        threads: 1,
        control: Default::default(),
        name: "load",
    }
}

fn run(spec: &LoadSpec) -> LoadReport {
    let r = load::run(spec).unwrap();
    seconds_add_up(&r);
    r
}

fn latency(r: &LoadReport) -> Latency {
    r.latency_us.expect("latencies were recorded")
}

/// The per-second series counts every request of the window once, in the second it finished.
fn seconds_add_up(r: &LoadReport) {
    let all = r.seconds.iter().filter(|s| s.path == "*");
    let (count, errors) = all.fold((0, 0), |(c, e), s| (c + s.count, e + s.errors));
    assert_eq!(count, r.requests, "the seconds' counts: {:?}", r.seconds);
    assert_eq!(errors, r.errors, "the seconds' errors: {:?}", r.seconds);
    assert_eq!(r.ok + r.errors, r.requests);
}

#[test]
fn a_known_delay_is_measured_within_a_millisecond() {
    let s = server(Duration::from_millis(5), false);
    let r = run(&spec(
        s.addr,
        Model::Closed { connections: 2 },
        Duration::from_secs(2),
    ));
    assert_eq!(r.errors, 0, "{r:?}");
    assert!(r.requests > 200, "only {} requests", r.requests);
    let p50 = latency(&r).p50 as i64;
    assert!((p50 - 5000).abs() < 1000, "p50 {p50} µs for a 5 ms server");
    assert!(
        latency(&r).min >= 5000,
        "faster than the server can answer: {:?}",
        r.latency_us
    );
    assert_eq!(r.error_rate, Some(0.0));
    // Closed loop, 2 connections, ~5 ms each: ~400 req/s.
    assert!(
        (300.0..450.0).contains(&r.throughput_rps),
        "{}",
        r.throughput_rps
    );
}

/// The server stalls 600 ms in the middle. Closed loop: only the few requests in flight wait,
/// so p99 stays low (the stall hides). Open loop: every request intended during the stall is
/// late, counted from its intended time, so p99 shows it.
#[test]
fn a_stall_shows_in_open_loop_percentiles_and_hides_in_closed_loop_ones() {
    let s = server(Duration::from_millis(1), false);
    let stall = |s: &TestServer| {
        let from = Instant::now() + Duration::from_millis(1500);
        *s.stall.lock().unwrap() = Some((from, from + Duration::from_millis(600)));
    };

    stall(&s);
    let closed = run(&spec(
        s.addr,
        Model::Closed { connections: 4 },
        Duration::from_secs(3),
    ));
    assert_eq!(closed.errors, 0);
    assert!(
        latency(&closed).p99 < 50_000,
        "closed p99 {:?}",
        closed.latency_us
    );
    assert!(
        latency(&closed).max >= 400_000,
        "the stall did not happen: {:?}",
        closed.latency_us
    );

    stall(&s);
    let open = Model::Open {
        rate: 400.0,
        poisson: false,
        max_connections: 256,
    };
    let open = run(&spec(s.addr, open, Duration::from_secs(3)));
    assert_eq!(open.errors, 0);
    assert!(
        latency(&open).p99 >= 300_000,
        "open p99 {:?}",
        open.latency_us
    );
    let o = open.open_loop.as_ref().unwrap();
    assert!((o.sent_rps - 400.0).abs() < 40.0, "{o:?}");
    assert_eq!(o.shortfall, 0, "{o:?}");
    assert!(
        o.connections_used > 4,
        "the stall should have needed more connections: {o:?}"
    );
    // The per-second series shows where it happened.
    let worst = open
        .seconds
        .iter()
        .filter(|r| r.path == "*")
        .max_by_key(|r| r.p99_us)
        .unwrap();
    assert!(worst.p99_us >= 300_000, "{worst:?}");
}

#[test]
fn a_server_closing_connections_is_not_an_error() {
    let s = server(Duration::from_millis(1), true);
    let r = run(&spec(
        s.addr,
        Model::Closed { connections: 2 },
        Duration::from_secs(1),
    ));
    assert!(r.requests > 50, "{r:?}");
    assert_eq!(r.errors, 0, "{:?}", r.error_kinds);
    // It costs a connection per request, and the report says so.
    let per = r.connections_per_request.unwrap();
    assert!((0.95..=1.05).contains(&per), "{per}");
    assert!(r.workers.is_empty(), "this server names no worker");
}

#[test]
fn nothing_listening_is_counted_as_connect_errors() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = run(&spec(
        port,
        Model::Closed { connections: 1 },
        Duration::from_millis(500),
    ));
    assert!(
        r.error_kinds.connect > 0 && r.error_kinds.connect == r.errors,
        "{r:?}"
    );
    // Nothing succeeded, and the numbers say so.
    assert_eq!((r.ok, r.throughput_rps), (0, 0.0), "{r:?}");
    assert_eq!(r.error_rate, Some(1.0));
    assert!(r.completed_rps > 0.0, "failures finish too: {r:?}");
    // Each failure was recorded when it was given up.
    assert_eq!(
        r.latency_us.map(|l| l.max < 1_000_000),
        Some(true),
        "a refused connection fails at once: {r:?}"
    );
}

/// A server answering every tenth request with a 500: goodput leaves them out, the error rate
/// is 10%, and every response counts once in the per-second series.
#[test]
fn a_tenth_of_500s_is_a_tenth_of_errors_and_no_goodput() {
    let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let addr = spawn_server(move |_| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
            if i % 10 == 9 {
                *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            }
            resp
        }
    });
    let r = run(&spec(
        addr,
        Model::Closed { connections: 4 },
        Duration::from_secs(2),
    ));
    assert!(r.requests > 500, "{r:?}");
    assert_eq!(r.errors, r.error_kinds.http_5xx, "{:?}", r.error_kinds);
    let rate = r.error_rate.unwrap();
    assert!((0.09..=0.11).contains(&rate), "error rate {rate}");
    let share = r.throughput_rps / r.completed_rps;
    assert!((0.88..=0.92).contains(&share), "goodput share {share}");
    // A closed loop finishes about what it sends inside the window.
    let sent = r.requests as f64 / r.measured_seconds;
    assert!((r.completed_rps / sent - 1.0).abs() < 0.05, "{r:?}");
}

/// One request in twenty is never answered: with a 1 s timeout each is a latency of at least
/// 1 s, so p99 is one of them (the server giving up on requests must not improve p99).
#[test]
fn requests_never_answered_count_at_their_timeout() {
    let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let addr = spawn_server(move |_| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            if i % 20 == 19 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            hyper::Response::new(Full::new(Bytes::from_static(b"ok")))
        }
    });
    let mut s = spec(
        addr,
        Model::Closed { connections: 8 },
        Duration::from_secs(3),
    );
    s.timeout = Duration::from_secs(1);
    let r = run(&s);
    assert_eq!(r.errors, r.error_kinds.timeout, "{:?}", r.error_kinds);
    let rate = r.error_rate.unwrap();
    assert!((0.03..=0.07).contains(&rate), "timeouts {rate}: {r:?}");
    let l = latency(&r);
    assert!(l.p99 >= 1_000_000, "p99 {} µs hides the timeouts", l.p99);
    // Given up at the deadline (a timer may fire a little late on a busy machine).
    assert!(l.max < 1_500_000, "given up late: {l:?}");
}

/// A server that serves one request at a time, each for 5 ms (~200 req/s), offered twice that:
/// the open loop sends its rate, and the rates say what the server completed.
#[test]
fn an_open_loop_beyond_capacity_reports_the_servers_pace() {
    let served: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let one_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
    let log = served.clone();
    let addr = spawn_server(move |_| {
        let (lock, log) = (one_at_a_time.clone(), log.clone());
        async move {
            let _turn = lock.lock().await;
            tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(5)))
                .await
                .unwrap();
            log.lock().unwrap().push(Instant::now());
            hyper::Response::new(Full::new(Bytes::from_static(b"ok")))
        }
    });
    let mut s = spec(
        addr,
        Model::Open {
            rate: 400.0,
            poisson: false,
            max_connections: 64,
        },
        Duration::from_secs(2),
    );
    // The backlog's last requests wait ~2.5 s: none may time out.
    s.timeout = Duration::from_secs(10);
    let from = Instant::now() + s.warmup;
    let r = run(&s);
    let to = from + s.duration;
    let capacity = served
        .lock()
        .unwrap()
        .iter()
        .filter(|&&t| t >= from && t < to)
        .count() as f64
        / s.duration.as_secs_f64();
    assert!(
        (150.0..=210.0).contains(&capacity),
        "the server's pace: {capacity}"
    );
    assert!(
        (r.completed_rps / capacity - 1.0).abs() <= 0.05,
        "completed {} req/s, the server served {capacity}",
        r.completed_rps
    );
    assert_eq!(r.errors, 0, "{:?}", r.error_kinds);
    assert!((r.throughput_rps - r.completed_rps).abs() < 1e-9);
    let o = r.open_loop.as_ref().unwrap();
    // Its 64 connections are all busy: requests leave as the server frees one, late.
    assert!(o.sent_rps < 250.0, "{o:?}");
    assert!(o.late_sends > 700, "{o:?}");
    assert!(o.in_flight_at_end > 100, "the backlog at the end: {o:?}");
    assert_eq!(o.shortfall, 0, "{o:?}");
    // Every request intended in the window was measured, the backlog's last ones too.
    assert!(r.requests >= 760, "{} of ~800 intended", r.requests);
    assert!(latency(&r).p50 >= 500_000, "{:?}", r.latency_us);
}

/// The report reads back as it was written (results.json is read through these types).
#[test]
fn a_load_report_reads_back_from_json() {
    let s = server(Duration::from_millis(1), false);
    let mut spec = spec(
        s.addr,
        Model::Open {
            rate: 100.0,
            poisson: true,
            max_connections: 8,
        },
        Duration::from_secs(1),
    );
    spec.warmup = Duration::ZERO;
    let r = run(&spec);
    let json = serde_json::to_string(&r).unwrap();
    let back: LoadReport = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert_eq!(back.model, r.model);
}

/// `--rate 1e9`: the generator keeps a bounded backlog, so its memory stays small, and says
/// that it did not send that rate. Two threads, as on a 2-core machine: each thread also holds
/// its own runtime and histograms (about 1 MB), which is not what this checks.
#[test]
fn an_absurd_rate_keeps_memory_bounded_and_warns() {
    let s = server(Duration::from_millis(1), false);
    let url = format!("http://{}/", s.addr);
    let out = common::djbench()
        .args(["load", &url, "--rate", "1000000000", "-d", "2s", "-t", "2"])
        .args(["--warmup", "500ms", "--json"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    let out = out.get_output();
    let r: LoadReport = serde_json::from_slice(&out.stdout).unwrap();
    let rss = r.generator.max_rss_bytes;
    assert!(rss > 0 && rss < 64 << 20, "peak RSS {rss} bytes");
    let o = r.open_loop.as_ref().unwrap();
    assert!(o.shortfall > 1_000_000, "{o:?}");
    assert!(o.sent_rps < 1e7, "{o:?}");
    assert!(!r.warnings.is_empty(), "{r:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning:"), "{stderr}");
    assert!(r.latency_us.is_some(), "what was sent was measured");
}

/// Absurd durations, timeouts and rates are refused up front, naming the flag.
#[test]
fn absurd_flags_exit_2_naming_the_flag() {
    for (flag, value) in [
        ("--duration", "1000000000000s"),
        ("--warmup", "25h"),
        ("--timeout", "2h"),
        ("--rate", "2e9"),
    ] {
        let out = common::djbench()
            .args(["load", "http://127.0.0.1:9/", flag, value])
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains(flag), "{flag}: {stderr}");
        assert!(!stderr.contains("panicked"), "{flag}: {stderr}");
    }
}

#[test]
fn only_loopback_targets_without_allow_remote() {
    assert!(load::target("http://127.0.0.1:8000/hello", false).is_ok());
    let remote = load::target("http://10.1.2.3:80/", false)
        .unwrap_err()
        .to_string();
    assert!(remote.contains("not a loopback address"), "{remote}");
    assert!(load::target("http://10.1.2.3:80/", true).is_ok());
    assert!(load::target("https://127.0.0.1/", false).is_err());
    let t = load::target("http://localhost:9/a?b=1", false).unwrap();
    assert_eq!(
        (t.path.as_str(), t.host.as_str()),
        ("/a?b=1", "localhost:9")
    );
}

/// The live view's `p`: while held nothing is sent, seconds inside the hold count nothing,
/// and the window is lengthened by the hold, so throughput is requests over load time.
#[test]
fn a_hold_sends_nothing_and_lengthens_the_window_by_as_much() {
    for model in [
        Model::Closed { connections: 2 },
        Model::Open {
            rate: 200.0,
            poisson: false,
            max_connections: 8,
        },
    ] {
        let s = server(Duration::from_millis(5), false);
        let hold = Arc::new(load::Hold::default());
        let mut spec = spec(s.addr, model, Duration::from_secs(3));
        spec.control.hold = Some(hold.clone());
        let holder = hold.clone();
        std::thread::spawn(move || {
            // 0.5 s warm-up + 1 s of the window, then 1.5 s held.
            std::thread::sleep(Duration::from_millis(1500));
            assert!(holder.toggle());
            std::thread::sleep(Duration::from_millis(1500));
            assert!(!holder.toggle());
        });
        let started = Instant::now();
        let r = run(&spec);
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(r.errors, 0, "{model:?}");
        assert!(!r.stopped_early);
        assert!((1.4..1.7).contains(&r.held_seconds), "{}", r.held_seconds);
        assert!(
            (r.measured_seconds - 3.0).abs() < 0.05,
            "{model:?}: {}",
            r.measured_seconds
        );
        assert!(wall > 4.9, "the window was not lengthened: {wall} s");
        // Only what was in flight when the hold began lands in the held second.
        let idle = r
            .seconds
            .iter()
            .filter(|s| s.path == "*" && s.count <= 8)
            .count();
        assert!(idle >= 1, "no held second: {:?}", r.seconds);
        let expected = match model {
            Model::Closed { .. } => 300.0..450.0,
            Model::Open { .. } => 185.0..215.0,
        };
        assert!(
            expected.contains(&r.throughput_rps),
            "{model:?}: {} req/s counts the hold",
            r.throughput_rps
        );
    }
}

/// A stop from outside (Ctrl-C, the live view's `q` or `n`) ends the load at once; the window
/// is what it had, so throughput stays requests over load time.
#[test]
fn a_stop_from_outside_ends_the_window_there() {
    let s = server(Duration::from_millis(5), false);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut spec = spec(
        s.addr,
        Model::Closed { connections: 2 },
        Duration::from_secs(10),
    );
    spec.control.stop = vec![stop.clone()];
    let flag = stop.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2000));
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let r = run(&spec);
    assert!(r.stopped_early);
    assert!(
        (1.3..1.8).contains(&r.measured_seconds),
        "{}",
        r.measured_seconds
    );
    assert!(
        (300.0..450.0).contains(&r.throughput_rps),
        "{}",
        r.throughput_rps
    );
}

/// A server that names the connection of every response in the worker header, and is slow
/// (300 ms) for its first half second, then quick (1 ms): a burst that leaves the generator's
/// open-loop pool with many idle connections when the load turns light.
fn connection_naming_server() -> SocketAddr {
    worker_naming_server(|id| id)
}

/// As `connection_naming_server`, naming as the worker `worker(connection id)`.
fn worker_naming_server(worker: fn(u64) -> u64) -> SocketAddr {
    let started = Instant::now();
    spawn_server(move |id| async move {
        let slow = started.elapsed() < Duration::from_millis(500);
        tokio::time::sleep(Duration::from_millis(if slow { 300 } else { 1 })).await;
        let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
        resp.headers_mut().insert(
            "x-djbench-worker",
            format!("1.0.{}", worker(id)).parse().unwrap(),
        );
        resp
    })
}

/// 60 requests a second for 3 s after a 1 s warm-up (the server's burst): every one answered.
fn light_open_loop(addr: SocketAddr) -> LoadReport {
    let mut s = spec(
        addr,
        Model::Open {
            rate: 60.0,
            poisson: false,
            max_connections: 64,
        },
        Duration::from_secs(3),
    );
    s.warmup = Duration::from_secs(1);
    let r = run(&s);
    assert_eq!(r.errors, 0, "{r:?}");
    r
}

/// After a burst opened many connections, a light open loop goes on using all of them in turn
/// (no connection is favoured), so a server's workers, each holding some
/// of those connections, all get their share; the worker counts add up to the requests.
#[test]
fn the_open_loops_pool_favours_no_connection() {
    let addr = connection_naming_server();
    let r = light_open_loop(addr);
    let counts: Vec<u64> = r.workers.iter().map(|w| w.requests).collect();
    assert_eq!(counts.iter().sum::<u64>(), r.requests);
    assert!(
        counts.len() >= 10,
        "the burst opened few connections: {counts:?}"
    );
    let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(
        *hi <= 2 * *lo + 1,
        "some connections carried far more than others: {counts:?}"
    );
    // Nothing was opened in the window: every request reused a pooled connection.
    assert_eq!(r.connections_opened, 0, "{r:?}");
    assert_eq!(r.connections_per_request, Some(0.0));
}

/// Two workers holding unequal numbers of connections (two thirds of them go to worker 0)
/// still get even shares of a light open loop: the pool picks the idle connection whose worker
/// has the fewest requests in flight, then the fewest sent (plain FIFO gave about 2:1).
#[test]
fn the_open_loop_balances_workers_that_hold_unequal_connections() {
    let addr = worker_naming_server(|id| u64::from(id % 3 == 2));
    let r = light_open_loop(addr);
    assert_eq!(r.workers.len(), 2, "{:?}", r.workers);
    for w in &r.workers {
        let share = w.requests as f64 / r.requests as f64;
        assert!((0.45..=0.55).contains(&share), "{:?}", r.workers);
    }
}

/// A short closed loop of `endpoints` against `addr`.
fn mix(addr: SocketAddr, endpoints: Vec<Endpoint>) -> LoadReport {
    run(&LoadSpec {
        endpoints,
        warmup: Duration::from_millis(100),
        ..spec(
            addr,
            Model::Closed { connections: 2 },
            Duration::from_millis(500),
        )
    })
}

/// A scenario's POST with a JSON body and a header, and a form POST, arrive as the scenario
/// wrote them: method, path and query, headers, the body's type and length, the body itself.
#[test]
fn a_post_with_a_body_and_a_header_arrives_as_sent() {
    let yaml = "name: t\nworkload:\n  endpoints:\n    - path: /orders?src=test\n      \
                method: POST\n      headers: {X-Request-Id: abc-123}\n      \
                json: {title: Dune, quantity: 2, tags: [scifi]}\n    - path: /login\n      \
                method: POST\n      form: {username: ann lee, next: /a&b}\n";
    let s = djbench::scenario::parse(std::path::Path::new("t.yaml"), yaml.as_bytes()).unwrap();
    let endpoints: Vec<Endpoint> = s.endpoints().map(djbench::run::endpoint).collect();
    let (addr, received) = server::spawn_recording_server(200, 1000);
    let r = mix(addr, endpoints);
    assert_eq!(r.errors, 0, "{:?}", r.error_kinds);
    let labels: Vec<&str> = r.endpoints.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(labels, ["POST /orders?src=test", "POST /login"]);

    let received = received.lock().unwrap();
    let header = |req: &server::Received, name: &str| -> Vec<String> {
        (req.headers.iter())
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let orders: Vec<_> = received
        .iter()
        .filter(|q| q.target.starts_with("/orders"))
        .collect();
    let logins: Vec<_> = received.iter().filter(|q| q.target == "/login").collect();
    assert!(
        orders.len() > 10 && logins.len() > 10,
        "{} {}",
        orders.len(),
        logins.len()
    );
    for q in &orders {
        assert_eq!(
            (q.method.as_str(), q.target.as_str()),
            ("POST", "/orders?src=test")
        );
        assert_eq!(header(q, "x-request-id"), ["abc-123"]);
        assert_eq!(header(q, "content-type"), ["application/json"]);
        assert_eq!(header(q, "content-length"), [q.body.len().to_string()]);
        assert_eq!(header(q, "host"), [addr.to_string()]);
        let body: serde_json::Value = serde_json::from_slice(&q.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"title": "Dune", "quantity": 2, "tags": ["scifi"]})
        );
    }
    for q in &logins {
        assert_eq!(q.method, "POST");
        assert_eq!(
            header(q, "content-type"),
            ["application/x-www-form-urlencoded"]
        );
        assert_eq!(q.body, b"username=ann+lee&next=%2Fa%26b");
        assert!(header(q, "x-request-id").is_empty());
    }
}

/// An endpoint that expects 201 from a server answering 200 fails every request as an
/// unexpected status; one that expects 200 fails none, and neither is a 4xx or 5xx.
#[test]
fn a_status_other_than_the_expected_one_is_an_error() {
    let (addr, _) = server::spawn_recording_server(200, 0);
    let r = mix(
        addr,
        vec![
            Endpoint {
                expect: Some(201),
                ..Endpoint::get("/created", 1.0)
            },
            Endpoint {
                expect: Some(200),
                ..Endpoint::get("/ok", 1.0)
            },
        ],
    );
    let (created, ok) = (&r.endpoints[0], &r.endpoints[1]);
    assert!(created.requests > 10, "{r:?}");
    assert_eq!(
        created.errors, created.requests,
        "{:?}",
        created.error_kinds
    );
    assert_eq!(created.error_kinds.unexpected_status, created.requests);
    assert_eq!(ok.errors, 0, "{:?}", ok.error_kinds);
    assert!(ok.requests > 10);
    assert_eq!(r.error_kinds.unexpected_status, r.errors);
    assert_eq!(r.ok, ok.requests);
    // The kind reads back from JSON, and a report written before it existed reads as 0.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["error_kinds"]["unexpected_status"], created.requests);
    let mut old = json.clone();
    old["error_kinds"]
        .as_object_mut()
        .unwrap()
        .remove("unexpected_status");
    let back: LoadReport = serde_json::from_value(old).unwrap();
    assert_eq!(back.error_kinds.unexpected_status, 0);
}

/// A scenario's load in its session against `addr`: the login (if any) done as a run does
/// it, then a short closed loop.
fn logged_in(
    addr: SocketAddr,
    yaml: &str,
) -> Result<(LoadReport, Option<load::login::Record>), String> {
    let s = djbench::scenario::parse(std::path::Path::new("t.yaml"), yaml.as_bytes()).unwrap();
    let (spec, record) = djbench::run::web_load(
        &s,
        &format!("http://{addr}"),
        Duration::from_millis(100),
        Duration::from_millis(500),
        &djbench::run::Controls::new(),
    )?;
    let report = run(&LoadSpec {
        model: Model::Closed { connections: 2 },
        ..spec
    });
    Ok((report, record))
}

/// With a login, a protected page answers 200 to every request of the load, and a form POST
/// passes the CSRF check with the token Django rotated at login; without it the same page
/// redirects to the login page, which `status: 200` counts as an error.
#[test]
fn a_login_makes_protected_pages_answer() {
    let addr = server::spawn_login_server("s3cret");
    let endpoints = "  endpoints:\n    - {path: /account/, status: 200}\n    \
                     - {path: /cart/, method: POST, form: {book: 1}, status: 201}\n";
    let login = "  login:\n    url: /accounts/login/\n    username: ann\n    \
                 password: s3cret\n  cookies: {theme: dark}\n";
    let (r, record) = logged_in(addr, &format!("name: t\nworkload:\n{login}{endpoints}")).unwrap();
    assert_eq!(r.errors, 0, "{:?}", r.error_kinds);
    assert!(
        r.endpoints.iter().all(|e| e.requests > 10),
        "{:?}",
        r.endpoints
    );
    let record = record.expect("a login ran");
    assert_eq!(
        (record.url.as_str(), record.username.as_str(), record.status),
        ("/accounts/login/", "ann", 302)
    );
    assert_eq!(record.cookies, ["theme", "csrftoken", "sessionid"]);
    // The record holds no password.
    assert!(!serde_json::to_string(&record).unwrap().contains("s3cret"));

    let (anonymous, none) = logged_in(addr, &format!("name: t\nworkload:\n{endpoints}")).unwrap();
    assert!(none.is_none());
    assert_eq!(anonymous.errors, anonymous.requests);
    assert_eq!(
        anonymous.endpoints[0].error_kinds.unexpected_status,
        anonymous.endpoints[0].requests
    );
}

/// Wrong credentials re-render the form (200): the load does not start, and the error says so.
#[test]
fn a_refused_login_says_what_the_server_answered() {
    let addr = server::spawn_login_server("s3cret");
    let yaml = "name: t\nworkload:\n  login:\n    url: /accounts/login/\n    username: ann\n    \
                password: wrong\n  endpoints: [/account/]\n";
    let err = logged_in(addr, yaml).unwrap_err();
    assert!(
        err.starts_with("login refused: the server answered 200 (the form again?), expected 302"),
        "{err}"
    );
    assert!(!err.contains("wrong"), "the password is not told: {err}");
}

/// A password read from the environment: an unset variable is named with the scenario key.
#[test]
fn a_password_from_an_unset_variable_is_named() {
    let yaml = "name: t\nworkload:\n  login:\n    url: /accounts/login/\n    username: ann\n    \
                password: {env: DJBENCH_TEST_UNSET_PASSWORD}\n";
    let s = djbench::scenario::parse(std::path::Path::new("t.yaml"), yaml.as_bytes()).unwrap();
    let err = djbench::run::login_of(&s).unwrap_err();
    assert_eq!(
        err,
        "`workload.login.password` reads the environment variable \
         `DJBENCH_TEST_UNSET_PASSWORD`, which is not set"
    );
}

/// A closed loop's connections arrive one after another over the first half of the warm-up
/// (here 1 s: 8 connections over 0.5 s), not in one burst that one accepting worker could take
/// whole; once started, every one keeps sending.
#[test]
fn a_closed_loops_connections_arrive_over_the_first_half_of_the_warm_up() {
    let first_seen: Arc<Mutex<std::collections::HashMap<u64, Instant>>> = Arc::default();
    let seen = first_seen.clone();
    let addr = spawn_server(move |id| {
        seen.lock().unwrap().entry(id).or_insert_with(Instant::now);
        async { hyper::Response::new(Full::new(Bytes::from_static(b"ok"))) }
    });
    let mut s = spec(
        addr,
        Model::Closed { connections: 8 },
        Duration::from_millis(500),
    );
    s.warmup = Duration::from_secs(1);
    let started = Instant::now();
    let r = run(&s);
    assert_eq!(r.errors, 0, "{r:?}");
    let mut at: Vec<Duration> = first_seen
        .lock()
        .unwrap()
        .values()
        .map(|t| t.duration_since(started))
        .collect();
    at.sort();
    assert_eq!(at.len(), 8, "{at:?}");
    // The last opens 7/8 of 0.5 s after the first; a burst would open them within a few ms.
    let spread = at[7] - at[0];
    assert!(
        spread >= Duration::from_millis(350) && at[7] < Duration::from_millis(900),
        "{at:?}"
    );
}
