//! `djbench init`'s survey of a Django project and the starter scenario written from it. It
//! reads the project's files and nothing else (never imports or runs it, so it is instant and
//! works before any dependency is installed): the settings module and the modules it
//! star-imports for environment variables, ROOT_URLCONF and LOGIN_URL; the URLconf and what it
//! includes for pages (`urls`); app `fixtures/` folders for `loaddata`. It writes no file:
//! `render` returns the text and the command writes it.

mod env;
mod python;
mod render;
mod urls;

use std::path::{Component, Path, PathBuf};

pub use env::{EnvRead, placeholder};
pub use render::{Placement, render};
pub use urls::{Route, Scan, Skipped, Why};

use crate::check::Project;
use python::{Module, Source};

/// Everything `init` found in a project.
#[derive(Debug, Clone)]
pub struct Survey {
    /// The project directory, canonical.
    pub dir: PathBuf,
    /// The scenario name: the directory's name, sanitised.
    pub name: String,
    pub settings: String,
    /// Whether manage.py named the settings module (rather than `--settings`).
    pub settings_from_manage_py: bool,
    /// The settings files read, relative to `dir`, the settings module's own first.
    pub settings_files: Vec<String>,
    /// The requirements file, absolute.
    pub requirements: PathBuf,
    /// Environment variables the settings read, each with the file it was read in.
    pub env: Vec<(EnvRead, String)>,
    /// ROOT_URLCONF, when the settings assign it a literal.
    pub root_urlconf: Option<String>,
    /// LOGIN_URL, when the settings assign it a literal path.
    pub login_url: Option<String>,
    pub urls: Scan,
    pub fixtures: Vec<Fixture>,
    /// Whether `manage.py` exists (else setup runs `-m django`).
    pub has_manage_py: bool,
}

/// A fixture file `manage.py loaddata NAME` finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// The name loaddata takes: the file name without its extension.
    pub name: String,
    /// The file, relative to the project.
    pub file: String,
}

/// How many settings modules a chain of `from .x import *` is followed through.
const MAX_SETTINGS_FILES: usize = 8;

/// Surveys `project`; `settings_from_manage_py` says where its settings module came from.
pub fn survey(project: &Project, settings_from_manage_py: bool) -> Survey {
    let dir = project.dir.clone();
    let read = |name: &str| -> Option<urls::Read> {
        let (module, path) = Module::find(&dir, name)?;
        let bytes = std::fs::read(&path).ok()?;
        Some(urls::Read {
            module,
            file: shown(&dir, &path),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    };

    // The settings module, what it star-imports, then its package's __init__.py.
    let mut queue = vec![project.settings.clone()];
    if let Some((parent, _)) = project.settings.rsplit_once('.') {
        queue.push(parent.to_owned());
    }
    let mut settings = Vec::new();
    let mut seen = Vec::new();
    while let Some(name) = (!queue.is_empty()).then(|| queue.remove(0)) {
        if seen.contains(&name) || settings.len() >= MAX_SETTINGS_FILES {
            continue;
        }
        seen.push(name.clone());
        let Some(file) = read(&name) else { continue };
        let src = Source::new(&file.text);
        // An empty package __init__.py says nothing; leave it out of what is reported.
        if src.masked.trim().is_empty() && !settings.is_empty() {
            continue;
        }
        for (i, m) in src.star_imports(&file.module).into_iter().enumerate() {
            queue.insert(i, m);
        }
        settings.push((file.file, src));
    }

    let mut env: Vec<(EnvRead, String)> = Vec::new();
    for (file, src) in &settings {
        for read in env::reads(src) {
            if !env.iter().any(|(r, _)| r.name == read.name) {
                env.push((read, file.clone()));
            }
        }
    }
    let setting = |name: &str| settings.iter().find_map(|(_, s)| s.assigned_string(name));
    let root_urlconf = setting("ROOT_URLCONF");
    let login_url = setting("LOGIN_URL").filter(|u| u.starts_with('/'));
    let urls = root_urlconf
        .as_deref()
        .map(|root| urls::scan(root, &read))
        .unwrap_or_default();

    Survey {
        name: scenario_name(&dir),
        settings: project.settings.clone(),
        settings_from_manage_py,
        settings_files: settings.into_iter().map(|(f, _)| f).collect(),
        requirements: project
            .requirements
            .path()
            .canonicalize()
            .unwrap_or_else(|_| project.requirements.path().to_owned()),
        env,
        root_urlconf,
        login_url,
        urls,
        fixtures: fixtures(&dir),
        has_manage_py: dir.join("manage.py").is_file(),
        dir,
    }
}

/// Folder depth below the project where apps' `fixtures/` folders are looked for.
const FIXTURE_DEPTH: usize = 4;

/// The fixture files of the project's apps: `APP/fixtures/*.{json,yaml,xml}`, where APP is
/// a folder with models.py or apps.py (so a test suite's `tests/fixtures/*.json` data is not
/// mistaken for one), each name once, in path order.
fn fixtures(dir: &Path) -> Vec<Fixture> {
    let mut found = Vec::new();
    let mut folders = vec![(dir.to_owned(), 0)];
    while let Some((folder, depth)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let is_app = folder.join("models.py").is_file()
            || folder.join("models").is_dir()
            || folder.join("apps.py").is_file();
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type().is_ok_and(|t| t.is_dir()) || skipped_folder(&name, &path) {
                continue;
            }
            if name == "fixtures" && is_app {
                let Ok(files) = std::fs::read_dir(&path) else {
                    continue;
                };
                for f in files.flatten() {
                    let p = f.path();
                    let ext = p.extension().and_then(|e| e.to_str());
                    if p.is_file() && matches!(ext, Some("json" | "yaml" | "xml")) {
                        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                        found.push(Fixture {
                            name: stem.to_owned(),
                            file: shown(dir, &p),
                        });
                    }
                }
            } else if depth < FIXTURE_DEPTH {
                folders.push((path, depth + 1));
            }
        }
    }
    found.sort_by(|a, b| a.file.cmp(&b.file));
    let mut names = std::collections::BTreeSet::new();
    found.retain(|f| !f.name.is_empty() && names.insert(f.name.clone()));
    found
}

/// Folders that hold no app of the project: hidden ones, virtualenvs, caches, node_modules.
fn skipped_folder(name: &str, path: &Path) -> bool {
    name.starts_with('.')
        || matches!(name, "node_modules" | "__pycache__" | "site-packages")
        || path.join("pyvenv.cfg").is_file()
}

/// `path` relative to `dir` for the user's eyes, with `/` separators.
fn shown(dir: &Path, path: &Path) -> String {
    relative(dir, path).to_string_lossy().replace('\\', "/")
}

/// The path from folder `from` to `to`, both absolute and canonical: `.` when they are the
/// same, `..` steps where `to` is not below `from`.
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The scenario name for a project directory: its name with every character outside
/// `[A-Za-z0-9_-]` made `_`, at most 64 long (the scenario format's rule).
pub fn scenario_name(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.trim_matches('_').is_empty() {
        "django_project".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_step_up_and_down() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(relative(&p("/a/b"), &p("/a/b")), p("."));
        assert_eq!(relative(&p("/a/b"), &p("/a/b/c/d")), p("c/d"));
        assert_eq!(relative(&p("/a/b/x"), &p("/a/c")), p("../../c"));
    }

    #[test]
    fn names_keep_only_what_the_scenario_format_allows() {
        assert_eq!(
            scenario_name(Path::new("/src/book shop.v2")),
            "book_shop_v2"
        );
        assert_eq!(scenario_name(Path::new("/src/my-site")), "my-site");
        assert_eq!(scenario_name(Path::new("/")), "django_project");
    }

    #[test]
    fn app_fixtures_are_found_and_test_data_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |p: &str| {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        };
        mk("shop/models.py");
        mk("shop/fixtures/books.json");
        mk("shop/fixtures/notes.txt");
        mk("apps/users/apps.py");
        mk("apps/users/fixtures/staff.yaml");
        mk("tests/fixtures/response.json");
        mk(".venv/lib/app/models.py");
        mk(".venv/lib/app/fixtures/x.json");
        let names: Vec<(String, String)> = fixtures(dir.path())
            .into_iter()
            .map(|f| (f.name, f.file))
            .collect();
        assert_eq!(
            names,
            [
                ("staff".into(), "apps/users/fixtures/staff.yaml".into()),
                ("books".into(), "shop/fixtures/books.json".into())
            ]
        );
    }
}
