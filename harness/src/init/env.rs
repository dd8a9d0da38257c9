//! Which environment variables a settings module reads, found in its source, and which of
//! them djbench can fill in with a placeholder of the run's database or broker. Reading
//! means the forms settings files use: `os.environ["X"]`, `os.environ.get("X")`,
//! `os.getenv("X")`, django-environ's `env("X")` / `env.str("X")` / `env.db()`,
//! python-decouple's `config("X")`, and `dj_database_url.config()` (DATABASE_URL unless it
//! names another). It owns no file reading (the caller passes `Source`s).

use super::python::{Source, is_ident_byte};

/// One environment variable read by the settings, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRead {
    pub name: String,
    /// 1-based line in the file it was read in.
    pub line: usize,
}

/// The placeholder djbench fills in for a well-known variable, if it is one.
pub fn placeholder(name: &str) -> Option<&'static str> {
    Some(match name {
        "DATABASE_URL" => "{db.url}",
        "DB_HOST" | "DATABASE_HOST" | "POSTGRES_HOST" => "{db.host}",
        "DB_PORT" | "DATABASE_PORT" | "POSTGRES_PORT" => "{db.port}",
        "DB_NAME" | "DATABASE_NAME" | "POSTGRES_DB" => "{db.name}",
        "DB_USER" | "DATABASE_USER" | "POSTGRES_USER" => "{db.user}",
        "REDIS_URL" | "CELERY_BROKER_URL" | "BROKER_URL" => "{broker.url}",
        _ => return None,
    })
}

/// Every environment variable `source` reads, in the order read, each name once.
pub fn reads(source: &Source) -> Vec<EnvRead> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for lit in &source.literals {
        let Some(name) = lit.value.as_deref().filter(|v| is_env_name(v)) else {
            continue;
        };
        if is_read(&source.masked[..lit.span.start]) {
            found.push((lit.span.start, name.to_owned()));
        }
    }
    // Reads that name no variable: the library's default one.
    for call in ["dj_database_url.config", "env.db", "env.db_url"] {
        for open in source.calls(call) {
            let Some(args) = source.call_args(open) else {
                continue;
            };
            let first_is_literal = args
                .first()
                .is_some_and(|a| source.string_at(a.clone()).is_some());
            let env_keyword = args.iter().any(|a| {
                let arg = &source.masked[a.clone()];
                arg.strip_prefix("env")
                    .map(str::trim_start)
                    .is_some_and(|r| r.starts_with('=') && !r.starts_with("=="))
            });
            if !first_is_literal && !env_keyword {
                found.push((open, "DATABASE_URL".to_owned()));
            }
        }
    }
    found.sort();
    let mut out: Vec<EnvRead> = Vec::new();
    for (at, name) in found {
        if !out.iter().any(|r| r.name == name) {
            out.push(EnvRead {
                line: source.line_of(at),
                name,
            });
        }
    }
    out
}

/// Whether the code just before a string literal makes it the name of an environment
/// variable being read: the first argument of a reading call, `os.environ[`, or `env=`.
fn is_read(before: &str) -> bool {
    let before = before.trim_end();
    if let Some(rest) = before.strip_suffix('=') {
        // `env="X"` as a keyword argument, not `x == "X"`.
        let rest = rest.trim_end();
        return !rest.ends_with(['=', '!', '<', '>']) && callee(rest) == "env";
    }
    let (rest, bracket) = match before.strip_suffix('(') {
        Some(rest) => (rest, false),
        None => match before.strip_suffix('[') {
            Some(rest) => (rest, true),
            None => return false,
        },
    };
    let chain = callee(rest);
    if bracket {
        return chain == "environ" || chain.ends_with(".environ");
    }
    let last = chain.rsplit('.').next().unwrap_or(chain);
    last == "getenv"
        || ["environ.get", "environ.setdefault", "environ.pop"]
            .iter()
            .any(|c| chain == *c || chain.ends_with(&format!(".{c}")))
        || chain == "env"
        || chain.starts_with("env.")
        || chain == "config"
        || chain == "dj_database_url.config"
}

/// The dotted name that ends `text`, as in `os.environ.get`.
fn callee(text: &str) -> &str {
    let start = text
        .bytes()
        .rposition(|b| !(is_ident_byte(b) || b == b'.'))
        .map_or(0, |p| p + 1);
    &text[start..]
}

fn is_env_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c == b'_' || c.is_ascii_alphabetic())
        && b.all(|c| c == b'_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<String> {
        reads(&Source::new(src))
            .into_iter()
            .map(|r| r.name)
            .collect()
    }

    #[test]
    fn every_usual_way_of_reading_the_environment_is_seen() {
        let src = r#"
import os, environ, dj_database_url
from decouple import config
env = environ.Env()
A = os.environ["DB_HOST"]
B = os.environ.get(
    "DB_PORT", "5432")
C = os.getenv('POSTGRES_DB')
D = env("REDIS_URL")
E = env.int("WORKERS", default=2)
F = config("SECRET")
G = os.environ.setdefault("DJANGO_DEBUG", "0")
H = dj_database_url.config(conn_max_age=60)
"#;
        assert_eq!(
            names(src),
            [
                "DB_HOST",
                "DB_PORT",
                "POSTGRES_DB",
                "REDIS_URL",
                "WORKERS",
                "SECRET",
                "DJANGO_DEBUG",
                "DATABASE_URL"
            ]
        );
    }

    #[test]
    fn strings_that_are_not_reads_are_not_variables() {
        let src = r#"
# os.environ["IN_A_COMMENT"]
X = "DATABASE_URL"
Y = os.environ.get("A", "DEFAULT_NOT_A_NAME")
Z = {"DB_HOST": 1}
if mode == "DB_USER": pass
print("os.getenv('IN_A_STRING')")
"#;
        assert_eq!(names(src), ["A"]);
    }

    #[test]
    fn a_database_url_under_another_name_is_that_name() {
        assert_eq!(
            names("DATABASES = {'default': dj_database_url.config('PRIMARY_DB')}"),
            ["PRIMARY_DB"]
        );
        assert_eq!(
            names("DATABASES = {'default': dj_database_url.config(env='PRIMARY_DB')}"),
            ["PRIMARY_DB"]
        );
        assert_eq!(
            names("D = env.db()\nE = env.db('OTHER_URL')"),
            ["DATABASE_URL", "OTHER_URL"]
        );
    }

    #[test]
    fn well_known_names_map_to_placeholders() {
        assert_eq!(placeholder("DATABASE_URL"), Some("{db.url}"));
        assert_eq!(placeholder("POSTGRES_HOST"), Some("{db.host}"));
        assert_eq!(placeholder("DB_PORT"), Some("{db.port}"));
        assert_eq!(placeholder("POSTGRES_DB"), Some("{db.name}"));
        assert_eq!(placeholder("DB_USER"), Some("{db.user}"));
        assert_eq!(placeholder("CELERY_BROKER_URL"), Some("{broker.url}"));
        assert_eq!(placeholder("DJANGO_SECRET_KEY"), None);
    }
}
