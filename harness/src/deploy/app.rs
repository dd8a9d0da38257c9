//! A user's own Django project as a deployment serves it (`app:` in a scenario): where it is,
//! which settings and WSGI application, the environment its processes get (with the
//! placeholders for what djbench starts filled in), what its settings say about tasks, and its
//! set-up commands. It starts no deployment and decides nothing about modes; the launchers and
//! the settings overlay (django_sample/serve/) do the rest the same way as for the sample.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::{DeployError, err, process};

/// The settings module every process of a user's project runs with: the project's own under
/// djbench's probes (django_sample/serve/overlay.py).
pub const OVERLAY: &str = "serve.overlay";

/// A user's project, resolved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    pub dir: PathBuf,
    /// The project's own settings module.
    pub settings: String,
    /// `module:attr`; None: the settings' WSGI_APPLICATION.
    pub wsgi: Option<String>,
    /// `module:attr`; None: Django's get_asgi_application() over the same settings.
    #[serde(default)]
    pub asgi: Option<String>,
    /// `app.env` as written, placeholders unresolved.
    pub env: Vec<(String, String)>,
    /// Each set-up command's arguments to `python`.
    pub setup: Vec<Vec<String>>,
    /// What its settings and code say about tasks (`serve/appinfo.py`).
    pub info: Option<Info>,
}

/// What serve/appinfo.py found, read without setting Django up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// TASKS["default"]["BACKEND"] of the project's settings (Django's default when unset).
    pub tasks_backend: String,
    /// It is Django's immediate or dummy backend: nothing runs in a worker.
    pub built_in_backend: bool,
    /// Some module of the project imports django.tasks.
    pub uses_tasks: bool,
    pub wsgi_application: Option<String>,
}

/// How a run of the project gets its background tasks done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tasks {
    /// The project uses django.tasks with a built-in backend: each mode's backend and task
    /// workers replace it.
    Swapped,
    /// The project brings its own backend (`backend`): kept; djbench starts no task worker.
    Own { backend: String },
    /// The project does not use django.tasks: web only.
    None,
}

impl Tasks {
    pub fn swapped(&self) -> bool {
        matches!(self, Tasks::Swapped)
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        match self {
            Tasks::Swapped => {
                "the project's django.tasks run on each mode's backend and task workers".into()
            }
            Tasks::Own { backend } => format!(
                "the project's own task backend {backend} was kept; djbench started no task \
                 workers (web only)"
            ),
            Tasks::None => "the project does not use django.tasks: web only".into(),
        }
    }
}

impl App {
    pub fn tasks(&self) -> Tasks {
        match &self.info {
            Some(i) if i.uses_tasks && i.built_in_backend => Tasks::Swapped,
            Some(i) if i.uses_tasks => Tasks::Own {
                backend: i.tasks_backend.clone(),
            },
            _ => Tasks::None,
        }
    }

    /// PYTHONPATH of every process: the project first (its modules win), then djbench's
    /// launchers and probe app.
    pub fn pythonpath(&self) -> String {
        format!("{}:{}", self.dir.display(), super::django_dir().display())
    }

    /// The environment every process of the project gets, `db` and `broker` filled in; the
    /// project's own values last, so they can override nothing of djbench's but their own.
    pub fn env(&self, db: &Services) -> Vec<(String, String)> {
        let mut env = vec![
            ("DJANGO_SETTINGS_MODULE".to_owned(), OVERLAY.to_owned()),
            ("DJBENCH_PROJECT_SETTINGS".to_owned(), self.settings.clone()),
            ("PYTHONPATH".to_owned(), self.pythonpath()),
        ];
        if let Some(w) = &self.wsgi {
            env.push(("DJBENCH_WSGI".to_owned(), w.clone()));
        }
        if let Some(a) = &self.asgi {
            env.push(("DJBENCH_ASGI".to_owned(), a.clone()));
        }
        env.extend(self.env.iter().map(|(k, v)| (k.clone(), db.fill(v))));
        env
    }

    /// Reads what the project's settings and code say about tasks, with `python` (a venv that
    /// has its requirements), its environment filled from `db`.
    pub fn read_info(
        &mut self,
        python: &Path,
        db: &Services,
        stop: &AtomicBool,
    ) -> Result<(), DeployError> {
        let out = process::output_unless_stopped(
            Command::new(python)
                .arg(super::django_dir().join("serve/appinfo.py"))
                .arg(&self.dir)
                .current_dir(&self.dir)
                .envs(self.env(db))
                // appinfo imports the project's own settings, not the overlay.
                .env("DJANGO_SETTINGS_MODULE", &self.settings),
            stop,
        )
        .map_err(|e| err("read the project's settings", e.to_string()))?;
        if !out.status.success() {
            return Err(err(
                format!("read the project's settings ({})", self.settings),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let info = serde_json::from_str(text.trim())
            .map_err(|e| err("read the project's settings", format!("{e}: {text}")))?;
        self.info = Some(info);
        Ok(())
    }

    /// Runs the project's set-up commands, then migrates djbench's probe tables, on the
    /// database `db` names.
    pub fn set_up(
        &self,
        python: &Path,
        db: &Services,
        stop: &AtomicBool,
    ) -> Result<(), DeployError> {
        let ours = vec![
            "-m".to_owned(),
            "django".to_owned(),
            "migrate".to_owned(),
            "bench".to_owned(),
            "--no-input".to_owned(),
            "-v0".to_owned(),
        ];
        for args in self.setup.iter().chain(std::iter::once(&ours)) {
            let shown = format!("python {}", args.join(" "));
            let out = process::output_unless_stopped(
                Command::new(python)
                    .args(args)
                    .current_dir(&self.dir)
                    .envs(self.env(db)),
                stop,
            )
            .map_err(|e| err(format!("set-up `{shown}`"), e.to_string()))?;
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(err(
                    format!("set-up `{shown}` failed in {}", self.dir.display()),
                    tail.join("\n"),
                ));
            }
        }
        Ok(())
    }
}

/// What the placeholders of `app.env` stand for in one deployment (or the set-up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Services {
    pub db_url: String,
    pub db_host: String,
    pub db_port: String,
    pub db_name: String,
    pub db_user: String,
    pub broker_url: String,
}

impl Services {
    /// From the environment djbench gives the sample app for its database (DJBENCH_DB,
    /// DJBENCH_SQLITE_PATH, DJBENCH_PG_*), so both apps are pointed at the same data.
    pub fn from_db_env(env: &[(String, String)]) -> Self {
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        if get("DJBENCH_DB") == "postgres" {
            let (host, port, name, user) = (
                get("DJBENCH_PG_HOST"),
                get("DJBENCH_PG_PORT"),
                get("DJBENCH_PG_NAME"),
                get("DJBENCH_PG_USER"),
            );
            Self {
                db_url: format!("postgres://{user}@{host}:{port}/{name}"),
                db_host: host,
                db_port: port,
                db_name: name,
                db_user: user,
                broker_url: String::new(),
            }
        } else {
            let path = get("DJBENCH_SQLITE_PATH");
            Self {
                // sqlite:/// then the absolute path, its own slash making four: the form
                // dj-database-url and SQLAlchemy read as absolute (three is relative).
                db_url: format!("sqlite:///{path}"),
                db_name: path,
                ..Self::default()
            }
        }
    }

    /// `template` with every placeholder replaced.
    pub fn fill(&self, template: &str) -> String {
        [
            ("{db.url}", &self.db_url),
            ("{db.host}", &self.db_host),
            ("{db.port}", &self.db_port),
            ("{db.name}", &self.db_name),
            ("{db.user}", &self.db_user),
            ("{broker.url}", &self.broker_url),
        ]
        .iter()
        .fold(template.to_owned(), |acc, (k, v)| acc.replace(k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn placeholders_name_the_database_djbench_prepared() {
        let s = Services::from_db_env(&pairs(&[("DJBENCH_SQLITE_PATH", "/r/db.sqlite3")]));
        assert_eq!(s.fill("{db.url}"), "sqlite:////r/db.sqlite3");
        assert_eq!(s.fill("{db.name}|{db.host}|{db.port}"), "/r/db.sqlite3||");
        let mut s = Services::from_db_env(&pairs(&[
            ("DJBENCH_DB", "postgres"),
            ("DJBENCH_PG_HOST", "127.0.0.1"),
            ("DJBENCH_PG_PORT", "5499"),
            ("DJBENCH_PG_NAME", "djbench_run_01"),
            ("DJBENCH_PG_USER", "djbench"),
        ]));
        s.broker_url = "redis://127.0.0.1:7000/0".into();
        assert_eq!(
            s.fill("{db.url} {db.host}:{db.port} {db.user} {broker.url} {other}"),
            "postgres://djbench@127.0.0.1:5499/djbench_run_01 127.0.0.1:5499 djbench \
             redis://127.0.0.1:7000/0 {other}"
        );
    }

    #[test]
    fn tasks_are_swapped_only_for_a_project_using_a_built_in_backend() {
        let mut app = App {
            dir: "/p".into(),
            settings: "config.settings".into(),
            wsgi: None,
            asgi: None,
            env: vec![],
            setup: vec![],
            info: None,
        };
        assert_eq!(app.tasks(), Tasks::None);
        let info = |backend: &str, built_in, uses| Info {
            tasks_backend: backend.into(),
            built_in_backend: built_in,
            uses_tasks: uses,
            wsgi_application: None,
        };
        app.info = Some(info(
            "django.tasks.backends.immediate.ImmediateBackend",
            true,
            true,
        ));
        assert_eq!(app.tasks(), Tasks::Swapped);
        app.info = Some(info("django_tasks_db.DatabaseBackend", false, true));
        assert!(matches!(app.tasks(), Tasks::Own { backend } if backend.contains("tasks_db")));
        app.info = Some(info(
            "django.tasks.backends.immediate.ImmediateBackend",
            true,
            false,
        ));
        assert_eq!(app.tasks(), Tasks::None);
    }
}
