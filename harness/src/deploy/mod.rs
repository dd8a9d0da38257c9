//! Deploying the sample app in one mode: the database for it, the processes with their roles
//! (each in a session of its own), readiness (the app answers and every task worker has
//! reported), and teardown that leaves no process behind, whatever ends djbench (the
//! watchdog). It sends no load and measures nothing.

pub mod app;
pub mod postgres;
pub mod process;
pub mod sockets;
pub mod supervisor;
pub mod watchdog;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scenario::faults::Target;
use crate::scenario::model::{Interface, Mode, Server, TaskBackend, WorkerUnit};
pub use process::{Leader, Role, Sessions};

/// The project the deployments serve.
pub fn django_dir() -> PathBuf {
    crate::assets::sample_dir()
}

/// Everything one deployment needs, resolved.
#[derive(Debug, Clone)]
pub struct Spec {
    pub mode: Mode,
    /// Never `Auto`: see [`Spec::resolve_server`].
    pub server: Server,
    pub web_workers: u32,
    pub threads: u32,
    pub task_workers: u32,
    /// The listen backlog of every listening socket.
    pub backlog: u32,
    /// The venv's python for the mode's interpreter.
    pub python: PathBuf,
    /// free_threaded on an interpreter with the GIL (the GIL twin): serve anyway.
    pub allow_gil: bool,
    /// redis-server, for gunicorn_celery.
    pub redis: Option<PathBuf>,
    /// Logs and the database go here.
    pub run_dir: PathBuf,
    /// Where the app's data comes from.
    pub database: Database,
    /// Extra environment (tests use DJBENCH_PRELOAD and PYTHONPATH).
    pub env: Vec<(String, String)>,
    /// CPUs every process of the deployment is placed on (the scenario's `isolation`).
    pub cpus: Option<Vec<u32>>,
    /// A user's project instead of the sample (`app:`), its settings already read.
    pub app: Option<app::App>,
    /// How tasks travel (never `Auto`).
    pub task_backend: TaskBackend,
    /// Celery's redis visibility timeout, when djbench sets one (a fault run).
    pub visibility_timeout: Option<Duration>,
    /// How the server talks to Django.
    pub interface: Interface,
}

impl Spec {
    /// Task workers the deployment starts: none for a user's project whose tasks djbench
    /// does not run (web only, or its own backend).
    pub fn started_task_workers(&self) -> u32 {
        match &self.app {
            Some(a) if !a.tasks().swapped() => 0,
            _ => self.task_workers,
        }
    }

    pub fn resolve_server(mode: Mode, interface: Interface, server: Server) -> Server {
        if server == Server::Auto {
            mode.default_server_for(interface)
        } else {
            server
        }
    }
}

/// How a deployment serves HTTP, as launched: recorded beside every run, so that two rows that
/// differ in more than their label say so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Serving {
    pub server: Server,
    /// WSGI or ASGI, as launched (results written before it existed read as WSGI).
    #[serde(default)]
    pub interface: Interface,
    /// Processes that serve requests (a supervising parent not counted).
    pub processes: u32,
    /// Subinterpreters serving in each of those processes (1: the main interpreter).
    pub interpreters_per_process: u32,
    /// Threads serving requests in each interpreter.
    pub threads_per_interpreter: u32,
    /// What one web worker is, and how many the deployment has.
    pub worker_unit: WorkerUnit,
    pub web_workers: u32,
    /// How a new connection reaches a worker.
    pub dispatch: String,
    /// The listen backlog asked of every listening socket.
    pub backlog: u32,
}

impl Serving {
    /// `2 processes × 1 thread`, `1 process × 2 subinterpreters × 1 thread`, …
    pub fn shape(&self) -> String {
        let n = |k: u32, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
        let mut parts = vec![n(self.processes, "process", "processes")];
        if self.interpreters_per_process > 1 || self.worker_unit == WorkerUnit::Interpreter {
            parts.push(n(
                self.interpreters_per_process,
                "subinterpreter",
                "subinterpreters",
            ));
        }
        parts.push(n(self.threads_per_interpreter, "thread", "threads"));
        parts.join(" × ")
    }
}

impl Spec {
    /// The serving shape this spec launches.
    pub fn serving(&self) -> Serving {
        let server = Self::resolve_server(self.mode, self.interface, self.server);
        let (w, t) = (self.web_workers, self.threads);
        let threads = if server.is_single_threaded() { 1 } else { t };
        let (processes, interpreters, threads, dispatch) = match (self.mode, server) {
            (Mode::GunicornCelery, Server::Granian) => (
                w,
                1,
                1,
                "each granian worker process accepts from the shared socket",
            ),
            (Mode::GunicornCelery, Server::Cheroot) => (
                w,
                1,
                threads,
                "one acceptor hands connections to the processes in turn",
            ),
            (Mode::GunicornCelery, _) => (
                w,
                1,
                threads,
                "each process accepts from the shared socket (gunicorn)",
            ),
            (Mode::Subinterpreters, Server::Hypercorn | Server::Uvicorn) => (
                1,
                w,
                threads,
                "each subinterpreter accepts from the shared socket (the kernel decides)",
            ),
            (Mode::Subinterpreters, _) => (
                1,
                w,
                threads,
                "one acceptor hands connections to the subinterpreters in turn",
            ),
            (Mode::FreeThreaded, Server::Uvicorn) => (
                1,
                1,
                w,
                "one event loop; sync views run on a pool of W threads",
            ),
            (Mode::FreeThreaded, _) => (1, 1, w, "one server queues requests for its threads"),
        };
        Serving {
            server,
            interface: self.interface,
            processes,
            interpreters_per_process: interpreters,
            threads_per_interpreter: threads,
            worker_unit: self.mode.worker_unit(),
            web_workers: w,
            dispatch: dispatch.to_owned(),
            backlog: self.backlog,
        }
    }
}

/// The database a deployment uses.
#[derive(Debug, Clone)]
pub enum Database {
    /// A migrated, seeded SQLite file, copied into the run folder for each deployment.
    SqliteTemplate(PathBuf),
    /// A database of its own on a running cluster: the settings that reach it.
    Postgres(Vec<(String, String)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployError {
    pub what: String,
    pub detail: String,
}

impl std::fmt::Display for DeployError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.detail)
    }
}

impl std::error::Error for DeployError {}

fn err(what: impl Into<String>, detail: impl Into<String>) -> DeployError {
    DeployError {
        what: what.into(),
        detail: detail.into(),
    }
}

/// Migrates and seeds a SQLite database at `path` with `python` (any venv's); `stop` set
/// meanwhile (Ctrl-C) ends it at once with an error.
pub fn prepare_database(python: &Path, path: &Path, stop: &AtomicBool) -> Result<(), DeployError> {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    // manage.py runs in the sample app's folder: a relative path (the default `reports/…`)
    // would name a file there.
    let path = std::path::absolute(path).map_err(|e| err("the database path", e.to_string()))?;
    let env = [("DJBENCH_SQLITE_PATH".to_owned(), path.display().to_string())];
    migrate_and_seed(python, &env, stop)
}

/// Migrates and seeds the database that `env` points the app at; `stop` set meanwhile ends it
/// at once with an error.
pub fn migrate_and_seed(
    python: &Path,
    env: &[(String, String)],
    stop: &AtomicBool,
) -> Result<(), DeployError> {
    for args in [&["migrate", "--no-input", "-v0"][..], &["seed"][..]] {
        let out = process::output_unless_stopped(
            Command::new(python)
                .arg("manage.py")
                .args(args)
                .current_dir(django_dir())
                .envs(env.iter().map(|(k, v)| (k, v))),
            stop,
        )
        .map_err(|e| err(format!("manage.py {}", args[0]), e.to_string()))?;
        if !out.status.success() {
            return Err(err(
                format!("manage.py {}", args[0]),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
    }
    Ok(())
}

/// The app's entry point for a server given a module path: WSGI's `application` or ASGI's.
fn entry_point(interface: Interface) -> &'static str {
    match interface {
        Interface::Wsgi => "serve.entry:application",
        Interface::Asgi => "serve.entry:asgi_application",
    }
}

/// The celery options of the spec's task backend, for every process that loads the celery app
/// (the worker, and the web processes that publish).
fn celery_options(cmd: &mut Command, spec: &Spec) {
    if spec.task_backend == TaskBackend::CeleryAcksLate {
        cmd.env("DJBENCH_CELERY_ACKS_LATE", "1");
    }
    if let Some(t) = spec.visibility_timeout {
        cmd.env("DJBENCH_VISIBILITY_TIMEOUT", t.as_secs().max(1).to_string());
    }
}

/// A fresh random hex string: /dev/urandom directly, as a crate for one key would be overkill.
fn random_hex(bytes: usize) -> String {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut buf);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A running deployment.
#[derive(Debug)]
pub struct Deployment {
    pub base_url: String,
    /// Behind a lock: the supervisor restarts a leader while the run measures.
    leaders: std::sync::Mutex<Vec<Leader>>,
    sessions: Sessions,
    mode: Mode,
    expected_task_workers: u32,
    http: reqwest::blocking::Client,
    stopped: bool,
}

/// A leader the supervisor started again.
#[derive(Debug, Clone)]
pub struct Restarted {
    pub name: String,
    pub status: String,
    pub noticed: Instant,
    /// When it was started again, or why it could not be.
    pub restarted: Result<Instant, String>,
}

/// How teardown went.
#[derive(Debug, Clone, Default)]
pub struct Teardown {
    /// Processes that ignored SIGTERM for the grace period and were killed.
    pub killed: Vec<i32>,
    /// Processes still alive after SIGKILL: never expected.
    pub survivors: Vec<i32>,
}

impl Deployment {
    pub fn start(spec: &Spec) -> Result<Self, DeployError> {
        std::fs::create_dir_all(&spec.run_dir)
            .map_err(|e| err("create the run folder", e.to_string()))?;
        // The app runs in its own folder: a relative run folder would name a file there.
        let db = std::path::absolute(spec.run_dir.join("db.sqlite3"))
            .map_err(|e| err("the database path", e.to_string()))?;
        let db_env = match &spec.database {
            Database::SqliteTemplate(template) => {
                std::fs::copy(template, &db)
                    .map_err(|e| err("copy the database", e.to_string()))?;
                vec![("DJBENCH_SQLITE_PATH".to_owned(), db.display().to_string())]
            }
            Database::Postgres(env) => env.clone(),
        };
        let port = process::free_port().map_err(|e| err("find a free port", e.to_string()))?;
        let bind = format!("127.0.0.1:{port}");
        let server = Spec::resolve_server(spec.mode, spec.interface, spec.server);
        let bin = spec.python.parent().unwrap_or(Path::new("."));
        let secret = random_hex(32);
        let task_workers = spec.started_task_workers();
        // gunicorn_celery's broker, when it has task workers: its URL is known before it starts
        // so that a user's project can be handed it (`{broker.url}`).
        let broker = if spec.mode == Mode::GunicornCelery && task_workers > 0 {
            let port = process::free_port().map_err(|e| err("find a free port", e.to_string()))?;
            Some((port, format!("redis://127.0.0.1:{port}/0")))
        } else {
            None
        };
        let app_env = spec.app.as_ref().map(|a| {
            let mut services = app::Services::from_db_env(&db_env);
            services.broker_url = broker.as_ref().map(|(_, u)| u.clone()).unwrap_or_default();
            a.env(&services)
        });
        let dir = spec.app.as_ref().map_or_else(django_dir, |a| a.dir.clone());
        let serve = |script: &str| django_dir().join("serve").join(script);

        let base = |program: &Path| {
            let mut cmd = Command::new(program);
            cmd.current_dir(&dir)
                .env("DJANGO_SETTINGS_MODULE", "djsample.settings")
                .envs(db_env.iter().map(|(k, v)| (k, v)))
                .env("DJBENCH_SECRET_KEY", &secret)
                .env("DJBENCH_MODE", spec.mode.name())
                .env("DJBENCH_SERVER", server.name())
                .env("PYTHONUNBUFFERED", "1");
            if let Some(env) = &app_env {
                cmd.envs(env.iter().map(|(k, v)| (k, v)));
            }
            for (k, v) in &spec.env {
                cmd.env(k, v);
            }
            cmd
        };
        // Made before any process starts: dropped on an error below, it tears down those
        // started so far (redis, when celery cannot start).
        let mut deployment = Self {
            base_url: format!("http://{bind}"),
            leaders: Default::default(),
            sessions: Sessions::default(),
            mode: spec.mode,
            expected_task_workers: task_workers,
            // A new connection per request, so probes reach every worker, not one kept alive.
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(0)
                .build()
                .map_err(|e| err("make an HTTP client", e.to_string()))?,
            stopped: false,
        };
        let leaders = deployment
            .leaders
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let log = |name: &str| spec.run_dir.join(format!("{name}.log"));
        let spawn = |leaders: &mut Vec<Leader>, name: &str, role, cmd| {
            Leader::spawn(name, role, cmd, &log(name), spec.cpus.as_deref())
                .map(|l| leaders.push(l))
                .map_err(|e| err(format!("start {name}"), e.to_string()))
        };

        match spec.mode {
            Mode::GunicornCelery => {
                let url = match &broker {
                    Some((redis_port, url)) => {
                        let redis = spec.redis.as_ref().ok_or_else(|| {
                            err("gunicorn_celery", "needs redis-server (djbench setup)")
                        })?;
                        let mut r = Command::new(redis);
                        r.args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
                            .args(["--tcp-backlog", &spec.backlog.to_string()])
                            .args(["--save", "", "--appendonly", "no"]);
                        spawn(leaders, "redis", Role::Broker, r)?;

                        let mut celery = base(&bin.join("celery"));
                        celery
                            .args(["-A", "djsample", "worker", "-P", "prefork", "-c"])
                            .arg(task_workers.to_string())
                            .args([
                                "--without-heartbeat",
                                "--without-gossip",
                                "--without-mingle",
                                "-l",
                                "warning",
                            ])
                            .env("DJBENCH_TASKS", "celery")
                            .env("DJBENCH_REDIS_URL", url);
                        celery_options(&mut celery, spec);
                        spawn(leaders, "celery", Role::Tasks, celery)?;
                        Some(url.clone())
                    }
                    // Web only: a user's project whose tasks djbench does not run.
                    None => None,
                };
                let tasks_env = |cmd: &mut Command| {
                    if let Some(url) = &url {
                        cmd.env("DJBENCH_TASKS", "celery")
                            .env("DJBENCH_REDIS_URL", url);
                        celery_options(cmd, spec);
                    }
                };

                if server == Server::Granian {
                    // ASGI (or WSGI) served by granian's own worker processes.
                    let mut granian = base(&bin.join("granian"));
                    let (host, port) = bind.rsplit_once(':').unwrap_or(("127.0.0.1", "0"));
                    // `asginl`: ASGI without the lifespan protocol, which Django does not speak
                    // (plain `asgi` logs a lifespan error in every worker).
                    let interface = match spec.interface {
                        Interface::Wsgi => "wsgi",
                        Interface::Asgi => "asginl",
                    };
                    granian
                        .args(["--interface", interface])
                        .args(["--host", host, "--port", port])
                        .args(["--workers", &spec.web_workers.to_string()])
                        .args(["--backlog", &spec.backlog.to_string()])
                        .args(["--no-ws", "--log-level", "warning"])
                        .arg(entry_point(spec.interface));
                    tasks_env(&mut granian);
                    spawn(leaders, "granian", Role::Web, granian)?;
                } else if server == Server::Cheroot {
                    // The same server the other modes run, as pre-forked processes.
                    let mut web = base(&spec.python);
                    web.arg(serve("prefork.py"))
                        .args(["--bind", &bind, "--server", server.name()])
                        .args(["--workers", &spec.web_workers.to_string()])
                        .args(["--threads", &spec.threads.to_string()])
                        .args(["--backlog", &spec.backlog.to_string()]);
                    tasks_env(&mut web);
                    spawn(leaders, "web", Role::Web, web)?;
                } else {
                    let mut gunicorn = base(&bin.join("gunicorn"));
                    gunicorn
                        .arg("-c")
                        .arg(serve("gunicorn.conf.py"))
                        .args(["--bind", &bind])
                        .args(["--backlog", &spec.backlog.to_string()])
                        .args(["--workers", &spec.web_workers.to_string()]);
                    tasks_env(&mut gunicorn);
                    if server == Server::GunicornGthread {
                        gunicorn
                            .args(["--worker-class", "gthread", "--threads"])
                            .arg(spec.threads.to_string());
                    }
                    if server == Server::Uvicorn {
                        gunicorn.args(["--worker-class", "uvicorn_worker.UvicornWorker"]);
                    }
                    gunicorn.arg(entry_point(spec.interface));
                    spawn(leaders, "gunicorn", Role::Web, gunicorn)?;
                }
            }
            Mode::Subinterpreters => {
                let mut app = base(&spec.python);
                app.arg(serve("subinterpreters.py"))
                    .args(["--bind", &bind, "--server", server.name()])
                    .args(["--web", &spec.web_workers.to_string()])
                    .args(["--tasks", &task_workers.to_string()])
                    .args(["--threads", &spec.threads.to_string()])
                    .args(["--backlog", &spec.backlog.to_string()])
                    .args(["--task-backend", spec.task_backend.name()])
                    .args(["--interface", spec.interface.name()]);
                spawn(leaders, "app", Role::App, app)?;
            }
            Mode::FreeThreaded => {
                let mut app = base(&spec.python);
                app.arg(serve("free_threaded.py"))
                    .args(["--bind", &bind, "--server", server.name()])
                    .args(["--threads", &spec.web_workers.to_string()])
                    .args(["--task-threads", &task_workers.to_string()])
                    .args(["--backlog", &spec.backlog.to_string()])
                    .args(["--task-backend", spec.task_backend.name()])
                    .args(["--interface", spec.interface.name()]);
                if spec.allow_gil {
                    app.arg("--allow-gil");
                }
                spawn(leaders, "app", Role::App, app)?;
            }
        }
        deployment
            .sessions
            .set(leaders.iter().map(|l| (l.session(), l.role)).collect());
        Ok(deployment)
    }

    fn leaders(&self) -> std::sync::MutexGuard<'_, Vec<Leader>> {
        self.leaders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The sessions with their roles, shared: they follow a restart.
    pub fn sessions(&self) -> Sessions {
        self.sessions.clone()
    }

    /// The process a fault at `target` hits now: of a role's worker processes, the first of
    /// `busy` (pids holding a task) when one is, else the lowest pid; None when the role has no
    /// live process at this moment (a restart under way).
    pub fn target_pid(&self, target: Target, busy: &[i32]) -> Option<i32> {
        let leaders = self.leaders();
        let leader_of = |role: Role| leaders.iter().find(|l| l.role == role);
        let workers_of = |role: Role| -> Option<i32> {
            let l = leader_of(role)?;
            let mut kids: Vec<i32> = process::session_members(l.session())
                .into_iter()
                .filter(|&p| p != l.session())
                .collect();
            kids.sort_unstable();
            kids.iter()
                .find(|p| busy.contains(p))
                .or(kids.first())
                .copied()
        };
        let one = || leader_of(Role::App).map(Leader::session);
        match (self.mode, target) {
            (Mode::GunicornCelery, Target::WebWorker) => workers_of(Role::Web),
            (Mode::GunicornCelery, Target::TaskWorker) => workers_of(Role::Tasks),
            (Mode::GunicornCelery, Target::Main) => leader_of(Role::Web).map(Leader::session),
            (Mode::GunicornCelery, Target::Broker) => leader_of(Role::Broker).map(Leader::session),
            (_, Target::Broker) => None,
            (_, _) => one(),
        }
        .filter(|&p| process::stat(p).is_some())
    }

    /// Restarts every leader that has exited since the last call, `delay` after it was seen
    /// dead (systemd's `RestartSec`), without holding the leaders meanwhile; returns each one's
    /// name, how it ended, when it was seen dead, and how its restart went.
    pub fn restart_exited(&self, delay: Duration) -> Vec<Restarted> {
        let dead: Vec<(usize, String, String, Instant)> = self
            .leaders()
            .iter_mut()
            .enumerate()
            .filter_map(|(i, l)| Some((i, l.name.clone(), l.exited()?.to_string(), Instant::now())))
            .collect();
        if dead.is_empty() {
            return Vec::new();
        }
        std::thread::sleep(delay);
        let mut leaders = self.leaders();
        let done = dead
            .into_iter()
            .map(|(i, name, status, noticed)| Restarted {
                name,
                status,
                noticed,
                restarted: leaders[i]
                    .restart()
                    .map(|()| Instant::now())
                    .map_err(|e| e.to_string()),
            })
            .collect();
        self.sessions
            .set(leaders.iter().map(|l| (l.session(), l.role)).collect());
        done
    }

    /// Each leader that has exited, with how (without restarting it).
    pub fn exited(&self) -> Vec<(String, String)> {
        self.leaders()
            .iter_mut()
            .filter_map(|l| Some((l.name.clone(), l.exited()?.to_string())))
            .collect()
    }

    /// Waits until the app answers `/_djbench/env` and every task worker has reported; returns
    /// that answer. A process that exits meanwhile fails it at once, with its log's tail, and
    /// so does `stop` set (Ctrl-C), within about a second.
    pub fn wait_ready(&mut self, limit: Duration, stop: &AtomicBool) -> Result<Value, DeployError> {
        let deadline = Instant::now() + limit;
        let mut last;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Err(err(
                    "stopped",
                    "interrupted (Ctrl-C or a signal) before the deployment was ready",
                ));
            }
            for l in self.leaders().iter_mut() {
                if let Some(status) = l.exited() {
                    return Err(err(
                        format!("{} exited during start-up ({status})", l.name),
                        format!("last lines of {}:\n{}", l.log.display(), l.log_tail(15)),
                    ));
                }
            }
            match self.probe("/_djbench/env") {
                Ok(env) => {
                    let ready = env["task_workers_ready"].as_u64().unwrap_or(0);
                    if ready >= u64::from(self.expected_task_workers) {
                        return Ok(env);
                    }
                    last = format!(
                        "{ready} of {} task workers ready",
                        self.expected_task_workers
                    );
                }
                Err(e) => last = e.to_string(),
            }
            if Instant::now() > deadline {
                let tails: Vec<String> = self
                    .leaders()
                    .iter()
                    .map(|l| format!("--- {} ({}):\n{}", l.name, l.log.display(), l.log_tail(10)))
                    .collect();
                return Err(err(
                    format!("not ready within {}s", limit.as_secs()),
                    format!("{last}\n{}", tails.join("\n")),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// GET `path` as JSON, given up after two seconds: a probe of a server still starting,
    /// short so that a stop is seen soon.
    fn probe(&self, path: &str) -> Result<Value, DeployError> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base_url))
            .timeout(Duration::from_secs(2))
            .send()
            .map_err(|e| err(format!("GET {path}"), e.to_string()))?;
        if !resp.status().is_success() {
            return Err(err(
                format!("GET {path}"),
                format!("HTTP {}", resp.status()),
            ));
        }
        resp.json()
            .map_err(|e| err(format!("GET {path}"), e.to_string()))
    }

    pub fn get(&self, path: &str) -> Result<(u16, String), DeployError> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .map_err(|e| err(format!("GET {path}"), e.to_string()))?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .map_err(|e| err(format!("GET {path}"), e.to_string()))?;
        Ok((status, body))
    }

    pub fn get_json(&self, path: &str) -> Result<Value, DeployError> {
        let (status, body) = self.get(path)?;
        if status != 200 {
            return Err(err(format!("GET {path}"), format!("HTTP {status}")));
        }
        serde_json::from_str(&body).map_err(|e| err(format!("GET {path}"), e.to_string()))
    }

    /// Every listening TCP socket of the deployment's processes, with its backlog (None when
    /// `ss` cannot be run).
    pub fn listening(&self) -> Option<Vec<sockets::Listening>> {
        let pids: Vec<i32> = self.processes().into_iter().map(|(p, _)| p).collect();
        sockets::listening(&pids)
    }

    /// Every live process of the deployment with its role.
    pub fn processes(&self) -> Vec<(i32, Role)> {
        process::members_by_role(&self.session_roles())
    }

    /// Each leader's session with its role now.
    pub fn session_roles(&self) -> Vec<(i32, Role)> {
        self.sessions.now()
    }

    /// SIGTERM, a grace period, SIGKILL for the rest; then checks that nothing survived.
    pub fn stop(mut self) -> Teardown {
        self.teardown()
    }

    fn teardown(&mut self) -> Teardown {
        if self.stopped {
            return Teardown::default();
        }
        self.stopped = true;
        let leaders = self
            .leaders
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (killed, survivors) = process::stop_all(leaders, Duration::from_secs(10));
        Teardown { killed, survivors }
    }
}

impl Drop for Deployment {
    /// Nothing of a deployment outlives it, whatever path left the code.
    fn drop(&mut self) {
        self.teardown();
    }
}
