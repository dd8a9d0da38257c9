//! Every (mode, server) combination over ASGI, deployed for real from the provisioned
//! interpreters: every endpoint answers 200, sync views and async ones alike, tasks finish,
//! the GIL is as the mode promises, the app saw its requests arrive over ASGI, and teardown
//! leaves no process.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use djbench::deploy::{self, Deployment, Spec, process};
use djbench::provision::{self, Cache, Flavour, Lookup, Report, Ui, Wants};
use djbench::scenario::model::{Interface, Mode, TaskBackend};

fn provisioned() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        provision::setup(
            &Lookup::from_env(Cache::from_env()),
            Wants::default(),
            &Ui::quiet(),
        )
        .unwrap_or_else(|e| panic!("setup failed: {e}"))
    })
}

fn venv_python(flavour: Flavour) -> PathBuf {
    provisioned()
        .venvs
        .iter()
        .find(|v| v.flavour == flavour)
        .map(|v| v.path.join("bin/python"))
        .unwrap_or_else(|| panic!("no {flavour} venv"))
}

fn spec(mode: Mode, tmp: &Path) -> Spec {
    let flavour = if mode == Mode::FreeThreaded {
        Flavour::FreeThreaded
    } else {
        Flavour::Gil
    };
    let python = venv_python(flavour);
    let database = tmp.join("template.sqlite3");
    deploy::prepare_database(&python, &database, &Default::default()).unwrap();
    Spec {
        mode,
        server: djbench::scenario::model::Server::Auto,
        web_workers: 2,
        threads: 1,
        task_workers: 2,
        backlog: 1024,
        python,
        allow_gil: false,
        redis: provisioned()
            .services
            .iter()
            .find(|s| s.name == "redis-server")
            .map(|s| s.path.clone()),
        run_dir: tmp.join("run"),
        database: deploy::Database::SqliteTemplate(database),
        env: Vec::new(),
        cpus: None,
        app: None,
        task_backend: TaskBackend::Auto.resolve(mode),
        visibility_timeout: None,
        interface: Interface::Asgi,
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
