//! Every (mode, server) combination over ASGI, deployed for real from the provisioned
//! interpreters: every endpoint answers 200, sync views and async ones alike, tasks finish,
//! the GIL is as the mode promises, the app saw its requests arrive over ASGI, and teardown
//! leaves no process.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use djbench::deploy::{Deployment, Spec, process};
use djbench::scenario::model::{Interface, Mode};

/// The sample app in `mode` over ASGI, otherwise as every deployment test has it.
fn spec(mode: Mode, tmp: &Path) -> Spec {
    Spec {
        interface: Interface::Asgi,
        ..common::sample_spec(mode, tmp)
    }
}

/// The endpoints every combination must answer with 200: the sync views and the async ones.
const ENDPOINTS: &[&str] = &[
    "/hello",
    "/db",
    "/template",
    "/cpu?n=1000",
    "/io?ms=1",
    "/async/io?ms=1",
    "/async/db",
    "/async/cpu?n=1000&thread_sensitive=0",
    "/async/cpu?n=1000&thread_sensitive=1",
];

#[test]
fn every_asgi_server_of_every_mode_serves_sync_and_async_views_and_stops() {
    for mode in Mode::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let base = spec(mode, tmp.path());
        for &server in mode.servers_for(Interface::Asgi) {
            let what = format!("{mode} {server} asgi");
            let mut s = base.clone();
            s.server = server;
            s.run_dir = tmp.path().join(server.name());
            let mut d = Deployment::start(&s).unwrap();
            let env = d
                .wait_ready(Duration::from_secs(90), &Default::default())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(env["server"], server.name(), "{what}");
            assert_eq!(env["interface"], "asgi", "{what}: {env}");
            assert!(env["server_version"].is_string(), "{what}: {env}");
            assert_eq!(
                env["gil_enabled"],
                mode != Mode::FreeThreaded,
                "{what}: {env}"
            );
            for path in ENDPOINTS {
                for _ in 0..5 {
                    let (status, body) = d.get(path).unwrap();
                    assert_eq!(status, 200, "{what} {path}: {body}");
                }
            }
            for _ in 0..5 {
                d.get_json("/enqueue?kind=io&n=1").unwrap();
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while d.get_json("/_djbench/tasks?limit=1").unwrap()["finished"] != 5 {
                assert!(Instant::now() < deadline, "{what}: tasks did not finish");
                std::thread::sleep(Duration::from_millis(100));
            }
            let sessions: Vec<i32> = d.session_roles().into_iter().map(|(sid, _)| sid).collect();
            assert!(d.stop().survivors.is_empty(), "{what}");
            for sid in sessions {
                assert!(
                    process::session_members(sid).is_empty(),
                    "{what}: session {sid} still has processes"
                );
            }
        }
    }
}
