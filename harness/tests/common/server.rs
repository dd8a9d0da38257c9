//! A loopback HTTP/1.1 server for tests whose behaviour the test decides: what the load
//! generator and the capacity search are measured against; and one that records what it was
//! sent.
// Each test crate that includes this file uses only part of it.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// What a test server is given: the connection's number (from 0) and the request.
pub type Request = hyper::Request<hyper::body::Incoming>;

/// A loopback HTTP/1.1 server on its own runtime (2 threads) answering every request with
/// `handle(connection number, request)`.
pub fn serve<H, Fut>(handle: H) -> SocketAddr
where
    H: Fn(u64, Request) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let handle = Arc::new(handle);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            for id in 0u64.. {
                let (stream, _) = listener.accept().await.unwrap();
                let handle = handle.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let reply = handle(id, req);
                        async move { Ok::<_, Infallible>(reply.await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    addr
}

/// Every request on connection number N (counted from 0) gets `answer(N)`.
pub fn spawn_server<F, Fut>(answer: F) -> SocketAddr
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    serve(move |id, _req| answer(id))
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// In the order received, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A loopback server that answers every request with `status` (and an empty body) and keeps
/// the first `keep` requests it received, read whole.
pub fn spawn_recording_server(status: u16, keep: usize) -> (SocketAddr, Arc<Mutex<Vec<Received>>>) {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = received.clone();
    let addr = serve(move |_, req| {
        let log = log.clone();
        async move {
            let (head, body) = req.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes().to_vec());
            let mut log = log.lock().unwrap();
            if log.len() < keep {
                log.push(Received {
                    method: head.method.to_string(),
                    target: head.uri.to_string(),
                    headers: (head.headers.iter())
                        .map(|(k, v)| {
                            let v = String::from_utf8_lossy(v.as_bytes());
                            (k.to_string(), v.into_owned())
                        })
                        .collect(),
                    body: body.unwrap_or_default(),
                });
            }
            let mut resp = hyper::Response::new(Full::new(Bytes::new()));
            *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
            resp
        }
    });
    (addr, received)
}

/// A loopback server that logs in like Django: GET `/accounts/login/` sets a `csrftoken`
/// cookie; a POST there of `username=ann`, `password` and `csrfmiddlewaretoken` equal to the
/// cookie (sent back as a Cookie) answers 302 with a `sessionid` cookie and a new
/// `csrftoken` (Django rotates it at login), wrong credentials 200 (the form again), a
/// missing or wrong token 403. `/account/` answers 200 only with that session, else 302 to
/// the login page; `POST /cart/` 201 only with the session and the rotated token as
/// `X-CSRFToken`, else 403.
pub fn spawn_login_server(password: &'static str) -> SocketAddr {
    const SESSION: &str = "s3ss10n";
    const TOKEN: &str = "t0ken";
    const ROTATED: &str = "r0tated";
    serve(move |_, req| async move {
        let (head, body) = req.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let cookies: Vec<(String, String)> = (head.headers)
            .get_all(hyper::header::COOKIE)
            .iter()
            .flat_map(|v| v.to_str().unwrap().split("; "))
            .filter_map(|c| c.split_once('='))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let has = |n: &str, v: &str| cookies.iter().any(|c| c.0 == n && c.1 == v);
        let header = |n: &str| head.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
        let mut resp = hyper::Response::builder();
        let status = match (head.method.as_str(), head.uri.path()) {
            ("GET", "/accounts/login/") => {
                resp = resp.header(
                        "set-cookie",
                        format!("csrftoken={TOKEN}; expires=Sun, 05 Dec 2027 19:00:00 GMT; Max-Age=31449600; Path=/; SameSite=Lax"),
                    );
                200
            }
            ("POST", "/accounts/login/") => {
                let form: Vec<(String, String)> =
                    form_urlencoded::parse(&body).into_owned().collect();
                let field = |n: &str| form.iter().find(|f| f.0 == n).map(|f| f.1.as_str());
                if !has("csrftoken", TOKEN) || field("csrfmiddlewaretoken") != Some(TOKEN) {
                    403
                } else if field("username") == Some("ann") && field("password") == Some(password) {
                    resp = resp
                        .header("location", "/account/")
                        .header("set-cookie", format!("csrftoken={ROTATED}; Path=/"))
                        .header(
                            "set-cookie",
                            format!("sessionid={SESSION}; HttpOnly; Path=/"),
                        );
                    302
                } else {
                    200
                }
            }
            ("GET", "/account/") if has("sessionid", SESSION) => 200,
            ("GET", "/account/") => {
                resp = resp.header("location", "/accounts/login/?next=/account/");
                302
            }
            ("POST", "/cart/")
                if has("sessionid", SESSION)
                    && has("csrftoken", ROTATED)
                    && header("x-csrftoken").as_deref() == Some(ROTATED) =>
            {
                201
            }
            _ => 403,
        };
        resp.status(status).body(Full::new(Bytes::new())).unwrap()
    })
}
