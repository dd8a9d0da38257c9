//! The starter scenario's text, from a `Survey`: YAML written by hand rather than serialised,
//! because most of its worth is in the comments (what was found where, what was left out and
//! why, what to fill in). It does no I/O.

use std::fmt::Write as _;

use super::{Survey, Why, placeholder, relative};

/// Where the scenario file goes, relative to the project.
#[derive(Debug, Clone)]
pub struct Placement {
    /// `app.path`: the project directory from the scenario file's folder (`.` when the file
    /// is in the project).
    pub app_path: String,
    /// The scenario file's name, for the command the header suggests.
    pub file_name: String,
}

/// The column trailing comments of `app:` start at, as in the format's documentation.
const COMMENT_COLUMN: usize = 35;

const PLACEHOLDERS: &str = "{db.url} {db.host} {db.port} {db.name} {db.user} {broker.url}";

/// The open-loop rate, connections and durations of a first look: compare_modes' shape, shorter.
const WORKLOAD: &str = concat!(
    "  rate: 50/s                       # an open loop: every mode gets the same offered load\n",
    "  connections: 32\n",
    "  warmup: 5s\n",
    "  duration: 20s\n",
    "  repetitions: 1                   # 5 or more before `djbench compare` calls a change\n",
);

pub fn render(s: &Survey, at: &Placement) -> String {
    let mut out = String::new();
    header(&mut out, s, at);
    line(&mut out, "name:", &scalar(&s.name), "");
    line(
        &mut out,
        "description:",
        &scalar(&format!(
            "What each deployment mode costs and gives for {}, at 50 requests a second over its pages.",
            s.name
        )),
        "",
    );
    app(&mut out, s, at);
    out.push_str("modes:                             # drop any mode you do not want compared\n");
    for m in ["gunicorn_celery", "subinterpreters", "free_threaded"] {
        let _ = writeln!(out, "  - {m}");
    }
    workload(&mut out, s);
    out
}

fn header(out: &mut String, s: &Survey, at: &Placement) {
    let _ = writeln!(
        out,
        "# djbench scenario for the Django project {}, written by `djbench init` from its files\n\
         # alone (nothing was imported or run). Read it through, then: djbench scenario {}\n#",
        s.name, at.file_name
    );
    let settings_file = s
        .settings_files
        .first()
        .map_or(String::new(), |f| format!("{f}, "));
    let _ = writeln!(
        out,
        "#   settings      {} ({}{})",
        s.settings,
        settings_file,
        if s.settings_from_manage_py {
            "named by manage.py"
        } else {
            "given with --settings"
        }
    );
    let _ = writeln!(out, "#   requirements  {}", requirements(s));
    let known: Vec<String> = s
        .env
        .iter()
        .filter(|(r, _)| placeholder(&r.name).is_some())
        .map(|(r, file)| format!("{} ({file}:{})", r.name, r.line))
        .collect();
    let environment = if known.is_empty() {
        "no database or broker variable read by the settings".to_owned()
    } else {
        known.join(", ")
    };
    let wrap = wrap_at(96)
        .initial_indent("#   environment   ")
        .subsequent_indent("#                 ");
    for l in textwrap::wrap(&environment, wrap) {
        let _ = writeln!(out, "{l}");
    }
    let urls = match &s.root_urlconf {
        None => format!("no ROOT_URLCONF = \"…\" in {}", s.settings_files.join(", ")),
        Some(_) if s.urls.modules.is_empty() => format!(
            "ROOT_URLCONF {} is not a module under the project",
            s.root_urlconf.as_deref().unwrap_or_default()
        ),
        Some(_) => format!(
            "{} {} in {}",
            s.urls.routes.len(),
            if s.urls.routes.len() == 1 {
                "fixed path"
            } else {
                "fixed paths"
            },
            s.urls.modules.join(", ")
        ),
    };
    let _ = writeln!(out, "#   URLs          {urls}");
    let fixtures: Vec<&str> = s.fixtures.iter().map(|f| f.file.as_str()).collect();
    let _ = writeln!(
        out,
        "#   fixtures      {}",
        if fixtures.is_empty() {
            "none in the apps' fixtures/ folders".to_owned()
        } else {
            fixtures.join(", ")
        }
    );
    out.push_str(
        "#\n# Pages behind a login: `workload.login` (commented out below) logs in with a form \
         before\n# each run's load, and its session cookie goes with every request. Every key: \
         `djbench schema`.\n",
    );
}

fn app(out: &mut String, s: &Survey, at: &Placement) {
    out.push_str("app:\n");
    line(
        out,
        "  path:",
        &scalar(&at.app_path),
        "the project directory, relative to this file",
    );
    line(
        out,
        "  settings:",
        &scalar(&s.settings),
        "DJANGO_SETTINGS_MODULE",
    );
    line(
        out,
        "  requirements:",
        &scalar(&requirements(s)),
        "relative to path",
    );
    let others: Vec<&str> = s
        .env
        .iter()
        .filter(|(r, _)| placeholder(&r.name).is_none())
        .map(|(r, _)| r.name.as_str())
        .collect();
    let also_read = |out: &mut String, indent: &str| {
        if others.is_empty() {
            return;
        }
        let text = format!(
            "The settings also read {}: set here any the app needs (their defaults apply otherwise).",
            others.join(", ")
        );
        for l in textwrap::wrap(&text, wrap_at(92)) {
            let _ = writeln!(out, "{indent}# {l}");
        }
    };
    let mapped: Vec<(&str, &str, String)> = s
        .env
        .iter()
        .filter_map(|(r, file)| {
            placeholder(&r.name).map(|p| (r.name.as_str(), p, format!("read in {file}:{}", r.line)))
        })
        .collect();
    if mapped.is_empty() {
        let _ = writeln!(
            out,
            "  # The environment of every process. The settings read no variable djbench fills in\n  \
             # (DATABASE_URL, DB_HOST, REDIS_URL, …); to hand the app the run's database or broker,\n  \
             # write one like DATABASE_URL: \"{{db.url}}\". Placeholders: {PLACEHOLDERS}"
        );
        also_read(out, "  ");
        out.push_str("  env: {}\n");
    } else {
        line(
            out,
            "  env:",
            "",
            &format!("environment of every process; placeholders: {PLACEHOLDERS}"),
        );
        for (name, value, note) in &mapped {
            line(out, &format!("    {name}:"), &scalar(value), note);
        }
        also_read(out, "    ");
    }
    line(
        out,
        "  setup:",
        "",
        "each runs as `python <entry>` in path with the mode's venv, before the runs",
    );
    let manage = if s.has_manage_py {
        "manage.py"
    } else {
        "-m django"
    };
    let _ = writeln!(out, "    - {manage} migrate --no-input");
    for f in &s.fixtures {
        line(
            out,
            &format!("    - {manage} loaddata"),
            &scalar(&f.name),
            &f.file,
        );
    }
}

fn workload(out: &mut String, s: &Survey) {
    out.push_str("workload:\n");
    line(
        out,
        "  endpoints:",
        "",
        "GETs of the URLconf's fixed paths, weight 1 each",
    );
    let mut active = 0;
    for r in &s.urls.routes {
        let path = scalar_in_flow(&r.path);
        if r.takes_get() {
            active += 1;
            let note = if r.login_required {
                "login required: without `login:` below, a redirect to the login page"
            } else {
                ""
            };
            line(out, &format!("    - {{ path: {path} }}"), "", note);
        } else {
            let _ = writeln!(
                out,
                "    # - {{ path: {path}, method: {}, json: {{}} }}   # {} takes {} only ({}): write \
                 its body (json: or form:), then uncomment",
                r.other_method(),
                r.view,
                r.methods.as_deref().unwrap_or_default().join(", "),
                r.methods_from.as_deref().unwrap_or_default(),
            );
        }
    }
    if active == 0 {
        line(
            out,
            "    - { path: / }",
            "",
            "nothing in the URLconf could be requested as written: put your pages here",
        );
    }
    for why in [Why::Converter, Why::NotLiteral, Why::NotFollowed] {
        let paths: Vec<&str> = s
            .urls
            .skipped
            .iter()
            .filter(|k| k.why == why)
            .map(|k| k.path.as_str())
            .collect();
        if paths.is_empty() {
            continue;
        }
        let reason = match why {
            Why::Converter => "Left out, a path converter needs a real value (write one in)",
            Why::NotLiteral => "Left out, not a literal path",
            Why::NotFollowed => "Left out, an include() outside the project",
        };
        let text = format!("{reason}: {}", paths.join(" "));
        for l in textwrap::wrap(&text, wrap_at(92)) {
            let _ = writeln!(out, "  # {l}");
        }
    }
    let login_url = s.login_url.clone().unwrap_or_else(|| {
        s.urls
            .routes
            .iter()
            .find(|r| r.view.contains("LoginView"))
            .map_or("/accounts/login/".to_owned(), |r| r.path.clone())
    });
    let _ = write!(
        out,
        "  # login:                         # a form login before each run's load\n  \
         #   url: {}\n  \
         #   username: {{ env: DJBENCH_USERNAME }}\n  \
         #   password: {{ env: DJBENCH_PASSWORD }}\n  \
         # The user must exist: e.g. `{} createsuperuser --no-input` in app.setup, with\n  \
         # DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD in app.env.\n",
        scalar(&login_url),
        if s.has_manage_py {
            "manage.py"
        } else {
            "-m django"
        }
    );
    out.push_str(WORKLOAD);
}

/// Wrapping at spaces only: paths and names stay whole.
fn wrap_at(width: usize) -> textwrap::Options<'static> {
    textwrap::Options::new(width)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .break_words(false)
}

/// The requirements file, relative to the project.
fn requirements(s: &Survey) -> String {
    relative(&s.dir, &s.requirements)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `key value` with `# comment` at COMMENT_COLUMN (or two spaces after, when longer).
fn line(out: &mut String, key: &str, value: &str, comment: &str) {
    let mut l = if value.is_empty() {
        key.to_owned()
    } else {
        format!("{key} {value}")
    };
    if !comment.is_empty() {
        let pad = COMMENT_COLUMN.saturating_sub(l.chars().count()).max(2);
        l.push_str(&" ".repeat(pad));
        l.push_str("# ");
        l.push_str(comment);
    }
    out.push_str(&l);
    out.push('\n');
}

/// A YAML scalar for a text: plain when it cannot be read as anything else, else
/// double-quoted (JSON's quoting is YAML's).
fn scalar(text: &str) -> String {
    let plain = text == "."
        || !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c) || c == ' ')
            && !text.starts_with(['-', ' '])
            && !text.ends_with(' ')
            && text.chars().any(|c| c.is_ascii_alphabetic() || c == '/')
            && !matches!(
                text.to_ascii_lowercase().as_str(),
                "true"
                    | "false"
                    | "null"
                    | "yes"
                    | "no"
                    | "on"
                    | "off"
                    | "y"
                    | "n"
                    | ".inf"
                    | ".nan"
            );
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).unwrap_or_default()
    }
}

/// A scalar inside a flow mapping (`{ path: … }`), where spaces are fine but not always.
fn scalar_in_flow(text: &str) -> String {
    if text.contains(' ') {
        serde_json::to_string(text).unwrap_or_default()
    } else {
        scalar(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_only_when_yaml_would_misread_them() {
        assert_eq!(scalar("config.settings"), "config.settings");
        assert_eq!(scalar("."), ".");
        assert_eq!(scalar("../shop"), "../shop");
        assert_eq!(scalar("{db.url}"), "\"{db.url}\"");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("2024"), "\"2024\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar_in_flow("/a b/"), "\"/a b/\"");
        assert_eq!(scalar_in_flow("/shop/books/"), "/shop/books/");
    }
}
