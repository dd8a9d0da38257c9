//! What the load generator spends per request in user space, without the kernel: building a
//! request from its endpoint's prepared parts, one keep-alive exchange through hyper (encode, parse an nginx-sized response,
//! drop its body) over an in-memory pipe, and recording the result. `cargo bench --bench
//! hot_path`; figures in harness/benches/README.md.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use djbench::load::{Body, Endpoint, hot};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What nginx 1.22 sends for a 1 KiB static file, headers byte for byte in shape.
fn nginx_response() -> Vec<u8> {
    let body = vec![b'x'; 1024];
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov 2026 10:00:00 GMT\r\n\
         Content-Type: text/html\r\nContent-Length: {}\r\n\
         Last-Modified: Sun, 22 Nov 2026 09:00:00 GMT\r\nConnection: keep-alive\r\n\
         ETag: \"6740a1b0-400\"\r\nAccept-Ranges: bytes\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(&body);
    r
}

/// Answers every request (ending in a blank line) on the other end of the pipe with `canned`.
async fn answer(mut io: tokio::io::DuplexStream, canned: Vec<u8>) {
    let mut buf = vec![0u8; 4096];
    let mut pending = Vec::new();
    loop {
        let Ok(n) = io.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            if io.write_all(&canned).await.is_err() {
                return;
            }
        }
    }
}

fn benches(c: &mut Criterion) {
    let get = hot::Prepared::new(&Endpoint::get("/index.html", 1.0), "127.0.0.1:8080");
    let post = hot::Prepared::new(
        &Endpoint {
            method: hyper::Method::POST,
            headers: vec![("X-Request-Id".into(), "bench".into())],
            body: Some(Body {
                content_type: "application/json".into(),
                bytes: r#"{"title":"Dune","quantity":2}"#.into(),
            }),
            expect: Some(201),
            ..Endpoint::get("/api/orders", 1.0)
        },
        "127.0.0.1:8080",
    );

    let mut g = c.benchmark_group("generator");
    g.throughput(Throughput::Elements(1));

    g.bench_function("build request", |b| b.iter(|| get.request()));
    g.bench_function("build request (POST, JSON body, a header)", |b| {
        b.iter(|| post.request())
    });

    g.bench_function("exchange over a pipe (encode, parse, body)", |b| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        b.iter_custom(|iters| {
            local.block_on(&rt, async {
                let (client, server) = tokio::io::duplex(64 * 1024);
                tokio::task::spawn_local(answer(server, nginx_response()));
                let mut conn = hot::Connection::handshake(TokioIo::new(client))
                    .await
                    .expect("a handshake over a pipe");
                let start = Instant::now();
                for _ in 0..iters {
                    let status = conn.exchange(get.request()).await;
                    assert_eq!(status, Some(200));
                }
                start.elapsed()
            })
        })
    });

    g.bench_function("record", |b| {
        let mut rec = hot::recorder(4);
        let mut i = 0usize;
        b.iter_custom(|iters| {
            let from = Instant::now();
            let start = Instant::now();
            for n in 0..iters {
                // Latencies spread over 100 µs–10 ms, as a real run's are.
                let done = from + Duration::from_micros(100 + (n * 7919) % 10_000);
                rec.record(i % 4, from, done, Ok(()), true);
                i += 1;
            }
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group!(hot_path, benches);
criterion_main!(hot_path);
