//! Which Django project `check` looks at: its directory, where its requirements are
//! (requirements.txt, or pyproject.toml's `[project] dependencies`), and its settings module
//! (given, or read from manage.py). It reads files and nothing else.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// A Django project, found.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub dir: PathBuf,
    pub requirements: Requirements,
    pub settings: String,
}

/// Where the project's dependencies are listed.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum Requirements {
    /// A pip requirements file.
    File(PathBuf),
    /// pyproject.toml's `[project] dependencies`.
    Pyproject(PathBuf),
}

impl Requirements {
    pub fn path(&self) -> &Path {
        match self {
            Requirements::File(p) | Requirements::Pyproject(p) => p,
        }
    }
}

/// Finds the project at `path`; the error says which file or flag is wrong and what was
/// expected.
pub fn find(
    path: &Path,
    settings: Option<&str>,
    requirements: Option<&Path>,
) -> Result<Project, String> {
    let dir = path.canonicalize().map_err(|e| {
        format!(
            "{}: {e}; expected a Django project directory",
            path.display()
        )
    })?;
    if !dir.is_dir() {
        return Err(format!(
            "{}: not a directory; expected a Django project directory",
            path.display()
        ));
    }
    let requirements = match requirements {
        Some(file) => {
            let file = if file.is_absolute() {
                file.to_owned()
            } else {
                std::env::current_dir().unwrap_or_default().join(file)
            };
            if !file.is_file() {
                return Err(format!(
                    "--requirements {}: no such file; expected a pip requirements file",
                    file.display()
                ));
            }
            if file.file_name().is_some_and(|n| n == "pyproject.toml") {
                Requirements::Pyproject(file)
            } else {
                Requirements::File(file)
            }
        }
        None => {
            let txt = dir.join("requirements.txt");
            let toml = dir.join("pyproject.toml");
            if txt.is_file() {
                Requirements::File(txt)
            } else if toml.is_file() {
                Requirements::Pyproject(toml)
            } else {
                return Err(format!(
                    "{}: no requirements.txt or pyproject.toml; expected one listing the \
                     project's dependencies (or pass --requirements FILE)",
                    dir.display()
                ));
            }
        }
    };
    let settings = match settings {
        Some(s) => s.to_owned(),
        None => from_manage_py(&dir)?,
    };
    if !settings.split('.').all(is_identifier) {
        return Err(format!(
            "--settings {settings}: expected a dotted Python module name, like mysite.settings"
        ));
    }
    let module = dir.join(settings.replace('.', "/"));
    if !module.with_extension("py").is_file() && !module.join("__init__.py").is_file() {
        return Err(format!(
            "settings module {settings}: no {} (or a package of that name) under {}",
            module.with_extension("py").display(),
            dir.display()
        ));
    }
    Ok(Project {
        dir,
        requirements,
        settings,
    })
}

/// The settings module manage.py sets, as in `os.environ.setdefault("DJANGO_SETTINGS_MODULE",
/// "mysite.settings")`. Read, not run: running it would need the project's dependencies.
fn from_manage_py(dir: &Path) -> Result<String, String> {
    let manage = dir.join("manage.py");
    let text = std::fs::read_to_string(&manage).map_err(|e| {
        format!(
            "{}: {e}; expected manage.py naming the settings module (or pass --settings)",
            manage.display()
        )
    })?;
    for (n, line) in text.lines().enumerate() {
        if !line.contains("DJANGO_SETTINGS_MODULE") {
            continue;
        }
        if let Some(found) = quoted(line)
            .into_iter()
            .find(|s| *s != "DJANGO_SETTINGS_MODULE" && s.split('.').all(is_identifier))
        {
            return Ok(found.to_owned());
        }
        return Err(format!(
            "{}:{}: DJANGO_SETTINGS_MODULE is not set to a literal module name here; pass \
             --settings",
            manage.display(),
            n + 1
        ));
    }
    Err(format!(
        "{}: does not set DJANGO_SETTINGS_MODULE; pass --settings",
        manage.display()
    ))
}

/// The string literals of one line of Python (no escapes: module names have none).
fn quoted(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find(['"', '\'']) {
        let q = rest[start..].chars().next().unwrap_or('"');
        let after = &rest[start + 1..];
        let Some(end) = after.find(q) else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// A Python identifier (a module name's part, an attribute).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_settings_module_manage_py_sets() {
        let dir = std::env::temp_dir().join(format!("djbench-project-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("site_conf")).unwrap();
        std::fs::write(
            dir.join("manage.py"),
            "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_conf.base')\n",
        )
        .unwrap();
        std::fs::write(dir.join("site_conf/base.py"), "").unwrap();
        std::fs::write(dir.join("requirements.txt"), "Django\n").unwrap();
        let p = find(&dir, None, None).unwrap();
        assert_eq!(p.settings, "site_conf.base");
        assert!(matches!(p.requirements, Requirements::File(_)));
        let err = find(&dir, Some("site_conf.missing"), None).unwrap_err();
        assert!(err.contains("settings module site_conf.missing"), "{err}");
        let err = find(&dir, Some("not a module"), None).unwrap_err();
        assert!(err.contains("--settings"), "{err}");
        std::fs::remove_file(dir.join("requirements.txt")).unwrap();
        let err = find(&dir, None, None).unwrap_err();
        assert!(
            err.contains("no requirements.txt or pyproject.toml"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
