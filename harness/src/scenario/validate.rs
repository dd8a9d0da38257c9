//! Checks that need more than one field or the whole file: a server that cannot run in its
//! mode, a rate on a closed loop, duplicate labels, a body on a GET. Reports every problem it finds, each at its
//! place; it never changes the scenario.

use std::collections::HashMap;
use std::path::Path;

use hyper::header::{HeaderName, HeaderValue};
use serde_saphyr::{Location, Spanned};

use super::diagnostic::{Diagnostic, closest};
use super::model::{
    APP_PLACEHOLDERS, App, Credential, Endpoint, FORMAT_VERSION, Interface, LoadModel, Login,
    Pairs, ScenarioFile, Server, TaskBackend,
};
use crate::limits::FRAMING_HEADERS;

pub fn check(file: &Path, s: &ScenarioFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |at: Location, msg: String, help: Option<String>| {
        let d = Diagnostic::at(file, at, msg);
        out.push(match help {
            Some(h) => d.with_help(h),
            None => d,
        });
    };

    if s.version.value != FORMAT_VERSION {
        err(
            s.version.referenced,
            format!(
                "scenario format version {} is not known to this djbench",
                s.version.value
            ),
            Some(format!("this build reads version {FORMAT_VERSION}")),
        );
    }

    let name = &s.name.value;
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        err(
            s.name.referenced,
            format!("`{name}` is not a usable name"),
            Some("use 1 to 64 letters, digits, `_` or `-`: it becomes part of folder names".into()),
        );
    }

    if let Some(iso) = &s.isolation {
        let cpus = crate::host::cores() as u32;
        let v = &iso.value;
        let problem = if v.harness.is_empty() || v.deployment.is_empty() {
            Some("`isolation` needs at least one CPU for `harness` and one for `deployment`".into())
        } else if let Some(c) = v.harness.iter().chain(&v.deployment).find(|&&c| c >= cpus) {
            Some(format!(
                "CPU {c} does not exist: this machine has {cpus} (0 to {})",
                cpus - 1
            ))
        } else {
            v.harness
                .iter()
                .find(|c| v.deployment.contains(c))
                .map(|c| {
                    format!("CPU {c} is in both `harness` and `deployment`: they must not share")
                })
        };
        if let Some(msg) = problem {
            err(
                iso.referenced,
                msg,
                Some("e.g. `isolation: {harness: [0], deployment: [1]}`".into()),
            );
        }
    }

    let c = &s.capacity;
    if c.p99.value.0.is_zero() {
        err(
            c.p99.referenced,
            "`capacity.p99` must be more than 0".into(),
            Some("a latency bound like 100ms".into()),
        );
    }
    if c.window.value.0.is_zero() {
        err(
            c.window.referenced,
            "`capacity.window` must be more than 0".into(),
            Some("a trial's measured time, like 5s".into()),
        );
    }
    if c.tolerance.value.0 <= 0.0 || c.tolerance.value.0 >= 1.0 {
        err(
            c.tolerance.referenced,
            format!(
                "`capacity.tolerance` of {} cannot end a bisection",
                c.tolerance.value
            ),
            Some("more than 0% and less than 100%, like 2%".into()),
        );
    }
    if c.passes.value.0 > c.trials.0 {
        err(
            c.passes.referenced,
            format!(
                "`capacity.passes` is {} but a load gets at most {} trials",
                c.passes.value.0, c.trials.0
            ),
            Some("passes ≤ trials, like `passes: 2` of `trials: 3`".into()),
        );
    }
    if c.start.value.0 > c.max_rate.0 {
        err(
            c.start.referenced,
            format!(
                "`capacity.start` ({}) is above `capacity.max_rate` ({})",
                c.start.value, c.max_rate
            ),
            None,
        );
    }

    if s.modes.is_empty() {
        err(
            Location::UNKNOWN,
            "`modes` is empty: nothing to measure".into(),
            Some("list at least one of gunicorn_celery, subinterpreters, free_threaded".into()),
        );
    }
    super::sweep::check(s, &mut err);
    // With a sweep, every deployment as it will run: a swept value is checked where written.
    let swept = super::sweep::expand(s);
    let mut labels: HashMap<&str, Location> = HashMap::new();
    for entry in swept.as_deref().unwrap_or(s.modes.as_slice()) {
        let d = &entry.value.0;
        let at = d.label.as_ref().map_or(entry.referenced, |l| l.referenced);
        if let Some(first) = labels.insert(d.label(), at) {
            err(
                at,
                format!(
                    "two deployments are both called `{}` (the first at line {})",
                    d.label(),
                    first.line()
                ),
                Some("give one of them a distinct `label:`".into()),
            );
        }
        if let Some(label) = &d.label
            && label.value.trim().is_empty()
        {
            err(label.referenced, "`label` is empty".into(), None);
        }

        let server = d.server.value;
        let interface = d.interface.value;
        let servers = d.mode.servers_for(interface);
        if server != Server::Auto && !servers.contains(&server) {
            let names: Vec<&str> = servers.iter().map(|s| s.name()).collect();
            err(
                d.server.referenced,
                format!(
                    "server `{server}` cannot run in mode `{}` over {interface}: {}",
                    d.mode,
                    server.why_not(d.mode, interface)
                ),
                Some(format!(
                    "{} over {interface} takes: auto, {}",
                    d.mode,
                    names.join(", ")
                )),
            );
        }
        if interface == Interface::Asgi && d.threads.value.get() > 1 {
            err(
                d.threads.referenced,
                "`threads` applies to WSGI servers with threads; over asgi a worker is an event loop"
                    .into(),
                Some("drop `threads`, or use `interface: wsgi`".into()),
            );
        }
        let backend = d.task_backend.value;
        if backend != TaskBackend::Auto && !TaskBackend::of(d.mode).contains(&backend) {
            let names: Vec<&str> = TaskBackend::of(d.mode).iter().map(|b| b.name()).collect();
            err(
                d.task_backend.referenced,
                format!("task backend `{backend}` does not run in mode `{}`", d.mode),
                Some(format!("{} takes: auto, {}", d.mode, names.join(", "))),
            );
        } else if backend != TaskBackend::Auto && s.app.is_some() {
            err(
                d.task_backend.referenced,
                "`task_backend` chooses how the sample app's tasks travel; a project under `app:` keeps its own"
                    .into(),
                Some("drop `task_backend`, or measure the sample app".into()),
            );
        }
        let threads = d.threads.value.get();
        if threads > 1 && d.mode.workers_are_threads() {
            err(
                d.threads.referenced,
                "`threads` does not apply to free_threaded: its web workers already are threads"
                    .into(),
                Some(format!(
                    "set `web_workers: {}` for that many serving threads",
                    threads * d.web_workers.value.get()
                )),
            );
        } else if threads > 1 && server.is_single_threaded() {
            err(
                d.threads.referenced,
                format!("server `{server}` serves one request at a time per worker"),
                Some(
                    "use gunicorn_gthread, waitress or cheroot for threads, or drop `threads`"
                        .into(),
                ),
            );
        }
    }

    let w = &s.workload;
    for entry in &w.endpoints {
        let path = &entry.value.0.path;
        if let Some(problem) = endpoint_problem(path) {
            err(
                entry.referenced,
                format!("endpoint `{path}` {problem}"),
                Some("write a path on the app, like /hello or /cpu?n=20000".into()),
            );
        }
        request_checks(&entry.value.0, &mut err);
    }
    if let Some(login) = &w.login {
        login_checks(&login.value, &mut err);
    }
    cookie_checks(&w.cookies, &mut err);
    if w.endpoints.is_empty() {
        err(
            Location::UNKNOWN,
            "`workload.endpoints` is empty: nothing to request".into(),
            None,
        );
    }
    match (&w.model, &w.rate) {
        (Some(Spanned { value: LoadModel::Open, referenced, .. }), None) => err(
            *referenced,
            "an open loop needs `rate:` (requests per second)".into(),
            Some("add `rate: 500` under `workload:`, or use `model: closed`".into()),
        ),
        (Some(Spanned { value: LoadModel::Closed, .. }), Some(rate)) => err(
            rate.referenced,
            "`rate` applies to an open loop, but `model` is closed".into(),
            Some("a closed loop sends as fast as the server answers; drop `rate` or use `model: open`".into()),
        ),
        _ => {}
    }
    if let Some(arrivals) = &w.arrivals
        && w.rate.is_none()
    {
        err(
            arrivals.referenced,
            "`arrivals` applies to an open loop (with `rate:`)".into(),
            None,
        );
    }
    if w.duration.value.0.is_zero() {
        err(
            w.duration.referenced,
            "`duration` must be more than 0".into(),
            None,
        );
    }
    if w.timeout.value.0.is_zero() {
        err(
            w.timeout.referenced,
            "`timeout` must be more than 0".into(),
            None,
        );
    } else if w.timeout.value.0 > crate::limits::MAX_TIMEOUT {
        err(
            w.timeout.referenced,
            format!(
                "`timeout` of {} is too long: at most {}",
                w.timeout.value,
                humantime::format_duration(crate::limits::MAX_TIMEOUT)
            ),
            Some(
                "latencies are recorded up to an hour; a request unanswered that long has failed"
                    .into(),
            ),
        );
    }

    if let Some(app) = &s.app {
        app_checks(file, s, &app.value, &mut err);
    }
    super::faults::check(s, &mut err);

    let dir = &s.output.dir;
    if dir.value.trim().is_empty() {
        err(dir.referenced, "`output.dir` is empty".into(), None);
    }
    for placeholder in placeholders(&dir.value) {
        if !matches!(placeholder, "name" | "timestamp") {
            let help = match closest(placeholder, &["name", "timestamp"]) {
                Some(best) => format!("did you mean `{{{best}}}`?"),
                None => "the placeholders are {name} and {timestamp}".into(),
            };
            err(
                dir.referenced,
                format!("unknown placeholder `{{{placeholder}}}` in `output.dir`"),
                Some(help),
            );
        }
    }
    out
}

/// A project of the user's: its folder exists, its WSGI target and set-up commands read, its
/// environment's placeholders are known ones, and the workload is written for it (the sample's
/// default endpoints and its `/enqueue` task load do not exist there). Whether the folder is a
/// Django project is found when it is deployed (`check`'s reading of manage.py and settings).
fn app_checks(
    file: &Path,
    s: &ScenarioFile,
    app: &App,
    err: &mut dyn FnMut(Location, String, Option<String>),
) {
    let dir = app.dir(file);
    if !dir.is_dir() {
        err(
            app.path.referenced,
            format!("`app.path` {} is not a folder", dir.display()),
            Some("write the folder holding your project's manage.py, relative to this file".into()),
        );
    } else if let Some(taken) = ["bench", "serve", "djsample"]
        .into_iter()
        .find(|m| dir.join(m).is_dir() || dir.join(format!("{m}.py")).is_file())
    {
        err(
            app.path.referenced,
            format!(
                "the project has a top-level module `{taken}`, a name djbench's launchers and probes \
                 use beside it"
            ),
            Some("rename that module, or put the project one folder down".into()),
        );
    }
    for (key, target) in [("wsgi", &app.wsgi), ("asgi", &app.asgi)] {
        let Some(target) = target else { continue };
        let ok = target
            .value
            .split_once(':')
            .is_some_and(|(m, a)| m.split('.').all(is_identifier) && is_identifier(a));
        if !ok {
            err(
                target.referenced,
                format!("`app.{key}` `{}` is not `module:attribute`", target.value),
                Some(format!("like config.{key}:application")),
            );
        }
    }
    for (name, value) in &app.env.0 {
        if !is_env_name(&name.value) {
            err(
                name.referenced,
                format!("`{}` is not an environment variable name", name.value),
                None,
            );
        }
        for placeholder in placeholders(&value.value) {
            if !APP_PLACEHOLDERS.contains(&placeholder) {
                let help = match closest(placeholder, &APP_PLACEHOLDERS) {
                    Some(best) => format!("did you mean `{{{best}}}`?"),
                    None => format!(
                        "the placeholders are {}",
                        APP_PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
                    ),
                };
                err(
                    value.referenced,
                    format!(
                        "unknown placeholder `{{{placeholder}}}` in `app.env.{}`",
                        name.value
                    ),
                    Some(help),
                );
            }
        }
    }
    for command in &app.setup {
        match shlex::split(&command.value) {
            Some(words) if !words.is_empty() => {}
            _ => err(
                command.referenced,
                format!("set-up command `{}` cannot be read", command.value),
                Some("write the arguments of `python`, like `manage.py loaddata books`".into()),
            ),
        }
    }
    if s.workload
        .endpoints
        .iter()
        .all(|e| e.referenced == Location::UNKNOWN)
    {
        err(
            app.path.referenced,
            "`app` needs `workload.endpoints`: the default (/hello) is the sample app's".into(),
            Some("list your project's paths under `workload: endpoints:`".into()),
        );
    }
    if let Some(rate) = &s.tasks.rate {
        err(
            Location::UNKNOWN,
            format!(
                "`tasks.rate` ({rate}) enqueues the sample app's tasks through its /enqueue, which \
                 your project does not have"
            ),
            Some(
                "drop `tasks:`; your own endpoints enqueue your project's tasks as they do in \
                 production"
                    .into(),
            ),
        );
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// An endpoint's request beyond its path: one body at most, none on GET or HEAD, headers that
/// can be sent and that djbench does not set itself.
fn request_checks(e: &Endpoint, err: &mut dyn FnMut(Location, String, Option<String>)) {
    if let (Some(_), Some(form)) = (&e.json, &e.form) {
        err(
            form.referenced,
            "`json` and `form` are both set: an endpoint sends one body".into(),
            Some("keep `json:` for a JSON body or `form:` for a URL-encoded form".into()),
        );
    }
    let body = match (&e.json, &e.form) {
        (Some(json), _) => Some(("json", json.referenced)),
        (None, Some(form)) => Some(("form", form.referenced)),
        (None, None) => None,
    };
    if let Some((key, at)) = body
        && !e.method.takes_body()
    {
        err(
            at,
            format!(
                "a {} request sends no body, but this endpoint has `{key}`",
                e.method
            ),
            Some("add `method: POST` (or PUT, PATCH, DELETE, OPTIONS) to send a body".into()),
        );
    }
    for (name, value) in &e.headers.0 {
        match HeaderName::from_bytes(name.value.as_bytes()) {
            Err(_) => err(
                name.referenced,
                format!("`{}` is not a header name", name.value),
                Some("a header name is letters, digits and `-`, like X-Request-Id".into()),
            ),
            Ok(n) if FRAMING_HEADERS.contains(&n.as_str()) => err(
                name.referenced,
                format!("header `{}` is djbench's to set", name.value),
                Some("drop it: djbench sends the length of the body it sends".into()),
            ),
            Ok(_) => {}
        }
        if HeaderValue::from_str(&value.value).is_err() {
            err(
                value.referenced,
                format!("the value of header `{}` cannot be sent", name.value),
                Some("a header value is one line, without control characters".into()),
            );
        }
    }
}

/// The login's page is a path on the app, and a credential read from the environment names a
/// variable (checked here; whether it is set is known only when the run starts).
fn login_checks(l: &Login, err: &mut dyn FnMut(Location, String, Option<String>)) {
    if let Some(problem) = endpoint_problem(&l.url.value) {
        err(
            l.url.referenced,
            format!("login url `{}` {problem}", l.url.value),
            Some("write the login page's path, like /accounts/login/".into()),
        );
    }
    for (key, c) in [("username", &l.username), ("password", &l.password)] {
        if let Credential::Env { env } = &c.value
            && !is_env_name(env)
        {
            err(
                c.referenced,
                format!("`{env}` is not an environment variable name (`workload.login.{key}`)"),
                Some(
                    "letters, digits and `_`, not starting with a digit, like BOOKSHOP_PASSWORD"
                        .into(),
                ),
            );
        }
    }
}

fn is_env_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A cookie's name is an HTTP token and its value goes into a Cookie header as written.
fn cookie_checks(cookies: &Pairs, err: &mut dyn FnMut(Location, String, Option<String>)) {
    for (name, value) in &cookies.0 {
        let n = &name.value;
        if n.is_empty() || HeaderName::from_bytes(n.as_bytes()).is_err() {
            err(
                name.referenced,
                format!("`{n}` is not a cookie name"),
                Some("a cookie name is letters, digits and `-` or `_`, like sessionid".into()),
            );
        }
        let v = &value.value;
        if v.chars()
            .any(|c| c == ';' || c == ',' || c.is_whitespace() || c.is_control())
        {
            err(
                value.referenced,
                format!("the value of cookie `{n}` cannot be sent"),
                Some("a cookie value has no spaces, `;` or `,`".into()),
            );
        }
    }
}

fn endpoint_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        Some("must start with `/` (a path on the app, not a URL)")
    } else if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains white space")
    } else if path.contains('#') {
        Some("has a `#` fragment, which is never sent to a server")
    } else {
        None
    }
}

fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::model::Method;
    use super::super::{Invalid, Scenario, parse};

    fn scenario(endpoint: &str) -> Result<Scenario, Invalid> {
        let yaml = format!("name: t\nworkload:\n  endpoints:\n    - path: /x\n{endpoint}");
        parse(Path::new("t.yaml"), yaml.as_bytes())
    }

    /// Each problem as `line:column: message`.
    fn problems(endpoint: &str) -> Vec<String> {
        let invalid = scenario(endpoint).expect_err("invalid");
        (invalid.problems.iter())
            .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
            .collect()
    }

    #[test]
    fn an_endpoint_with_a_method_headers_a_body_and_a_status_reads_as_written() {
        let s = scenario(
            "      method: POST\n      headers:\n        X-Request-Id: abc\n        X-Try: 3\n      \
             json: {title: Dune, tags: [scifi], price: 9.5}\n      status: 201\n",
        )
        .unwrap();
        let e = s.endpoints().next().unwrap();
        assert_eq!(e.method, Method::Post);
        let headers: Vec<(&str, &str)> = (e.headers.0.iter())
            .map(|(k, v)| (k.value.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(headers, [("X-Request-Id", "abc"), ("X-Try", "3")]);
        let (content_type, bytes) = e.body().unwrap();
        assert_eq!(content_type, "application/json");
        let sent: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"title": "Dune", "tags": ["scifi"], "price": 9.5})
        );
        assert_eq!(e.status.map(|s| s.get()), Some(201));
        // results.json carries the scenario as run: the new keys read back from JSON.
        let json = serde_json::to_string(&s.file).unwrap();
        let back: super::super::ScenarioFile = serde_json::from_str(&json).unwrap();
        let again = &back.workload.endpoints[0].value.0;
        assert_eq!(again.method, Method::Post);
        assert_eq!(again.headers.0.len(), 2);
        assert_eq!(again.body(), e.body());
        assert_eq!(again.status, e.status);
    }

    #[test]
    fn a_form_is_url_encoded_in_the_order_written() {
        let s = scenario("      method: PUT\n      form: {user: ann lee, next: /a&b=c, n: 2}\n")
            .unwrap();
        let (content_type, bytes) = s.endpoints().next().unwrap().body().unwrap();
        assert_eq!(content_type, "application/x-www-form-urlencoded");
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "user=ann+lee&next=%2Fa%26b%3Dc&n=2"
        );
    }

    #[test]
    fn a_plain_path_is_a_get_without_body_or_expected_status() {
        let s = parse(
            Path::new("t.yaml"),
            b"name: t\nworkload: {endpoints: [/x]}\n",
        )
        .unwrap();
        let e = s.endpoints().next().unwrap();
        assert_eq!(e.method, Method::Get);
        assert!(e.headers.is_empty() && e.body().is_none() && e.status.is_none());
    }

    #[test]
    fn one_body_at_most_and_none_on_get_or_head() {
        assert_eq!(
            problems("      method: POST\n      json: {a: 1}\n      form: {a: 1}\n"),
            ["7:13: `json` and `form` are both set: an endpoint sends one body"]
        );
        assert_eq!(
            problems("      method: HEAD\n      form: {a: 1}\n"),
            ["6:13: a HEAD request sends no body, but this endpoint has `form`"]
        );
        assert_eq!(
            problems("      json: [1, 2]\n"),
            ["5:13: a GET request sends no body, but this endpoint has `json`"]
        );
        for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let body = format!("      method: {method}\n      json: null\n");
            assert!(scenario(&body).is_ok(), "{method} takes a body");
        }
    }

    /// Bytes beyond ASCII are sent as they are (HTTP's obs-text); line breaks cannot be.
    #[test]
    fn headers_that_cannot_be_sent_or_are_djbenchs_are_pointed_at() {
        assert_eq!(
            problems(
                "      method: POST\n      json: {}\n      headers:\n        \"X:Y\": a\n        \
                 Content-Length: 5\n        X-Ok: \"caf\u{e9}\"\n        X-Two: \"a\\nb\"\n"
            ),
            [
                "8:9: `X:Y` is not a header name",
                "9:9: header `Content-Length` is djbench's to set",
                "11:16: the value of header `X-Two` cannot be sent",
            ]
        );
    }

    #[test]
    fn the_status_is_an_http_status_and_the_method_a_known_one() {
        assert!(scenario("      status: 100\n").is_ok());
        assert!(scenario("      status: 599\n").is_ok());
        assert_eq!(
            problems("      status: 600\n"),
            ["5:15: 600 is out of range: expected a whole number from 100 to 599"]
        );
        let bad = scenario("      method: FETCH\n").unwrap_err();
        assert_eq!(bad.problems[0].message, "unknown value `FETCH`");
        assert!(
            (bad.problems[0].help.as_deref().unwrap()).contains("GET, POST, PUT, PATCH, DELETE"),
            "{:?}",
            bad.problems[0].help
        );
    }

    fn login(lines: &str) -> Result<Scenario, Invalid> {
        let yaml = format!("name: t\nworkload:\n{lines}");
        parse(Path::new("t.yaml"), yaml.as_bytes())
    }

    #[test]
    fn a_login_reads_with_django_defaults_and_its_password_is_never_recorded() {
        use super::super::model::Credential;
        let s =
            login("  login:\n    url: /accounts/login/\n    username: ann\n    password: s3cret\n")
                .unwrap();
        let l = &s.file.workload.login.as_ref().unwrap().value;
        assert_eq!(l.username.value, Credential::Text("ann".into()));
        assert_eq!(
            (l.fields.username.as_str(), l.fields.password.as_str()),
            ("username", "password")
        );
        assert_eq!(l.status.get(), 302);
        let json = serde_json::to_string(&s.file).unwrap();
        assert!(!json.contains("s3cret"), "{json}");
        // results.json's scenario reads back, its password redacted.
        let back: super::super::ScenarioFile = serde_json::from_str(&json).unwrap();
        let again = &back.workload.login.unwrap().value;
        assert_eq!(again.password.value, Credential::Text("<redacted>".into()));

        let s = login(
            "  login:\n    url: /in\n    username: {env: SHOP_USER}\n    \
             password: {env: SHOP_PASSWORD}\n    fields: {username: email, password: pw}\n    \
             status: 303\n  cookies: {theme: dark, consent: '1'}\n",
        )
        .unwrap();
        let w = &s.file.workload;
        let l = &w.login.as_ref().unwrap().value;
        assert_eq!(
            l.password.value,
            Credential::Env {
                env: "SHOP_PASSWORD".into()
            }
        );
        assert_eq!((l.fields.username.as_str(), l.status.get()), ("email", 303));
        assert_eq!(w.cookies.0.len(), 2);
        let json = serde_json::to_value(&s.file).unwrap();
        assert_eq!(
            json["workload"]["login"]["password"],
            serde_json::json!({"env": "SHOP_PASSWORD"})
        );
    }

    #[test]
    fn a_bad_login_or_cookie_is_pointed_at() {
        let problems = |lines: &str| -> Vec<String> {
            (login(lines).expect_err("invalid").problems.iter())
                .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
                .collect()
        };
        assert_eq!(
            problems(
                "  login:\n    url: https://shop/login\n    username: {env: 1USER}\n    \
                 password: {env: PASS-WORD}\n"
            ),
            [
                "4:10: login url `https://shop/login` must start with `/` (a path on the app, \
                 not a URL)",
                "5:15: `1USER` is not an environment variable name (`workload.login.username`)",
                "6:15: `PASS-WORD` is not an environment variable name \
                 (`workload.login.password`)",
            ]
        );
        assert_eq!(
            problems("  cookies:\n    \"a b\": x\n    ok: \"two words\"\n"),
            [
                "4:5: `a b` is not a cookie name",
                "5:9: the value of cookie `ok` cannot be sent",
            ]
        );
        // A login needs its three keys.
        assert!(login("  login: {url: /in, username: ann}\n").is_err());
    }

    /// Problems of a scenario at `dir/t.yaml` with `app` as its `app:` block (and `rest`).
    fn app_problems(dir: &Path, app: &str, rest: &str) -> Vec<String> {
        let yaml = format!("name: t\napp:\n{app}{rest}");
        match parse(&dir.join("t.yaml"), yaml.as_bytes()) {
            Ok(_) => Vec::new(),
            Err(invalid) => (invalid.problems.iter())
                .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
                .collect(),
        }
    }

    #[test]
    fn an_app_block_is_checked_where_it_is_written() {
        let dir = std::env::temp_dir().join(format!("djbench-app-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("shop")).unwrap();
        let endpoints = "workload:\n  endpoints: [/shop/]\n";
        // A project folder beside the file, with its endpoints: fine; its defaults apply.
        let ok = "  path: shop\n  env:\n    DATABASE_URL: \"{db.url}\"\n";
        assert_eq!(app_problems(&dir, ok, endpoints), Vec::<String>::new());
        let s = parse(
            &dir.join("t.yaml"),
            format!("name: t\napp:\n{ok}{endpoints}").as_bytes(),
        )
        .unwrap();
        let app = &s.file.app.as_ref().unwrap().value;
        assert_eq!(app.dir(&s.path), dir.join("shop"));
        assert_eq!(app.setup[0].value, "manage.py migrate --no-input");

        let problems = app_problems(
            &dir,
            "  path: nowhere\n  wsgi: config.wsgi\n  asgi: config/asgi.py\n  env:\n    \
             DATABASE_URL: \"{db.uri}\"\n  setup: [\"manage.py 'unclosed\"]\n",
            "tasks:\n  rate: 5\n",
        );
        let joined = problems.join("\n");
        for expected in [
            "3:9: `app.path`",
            "is not a folder",
            "`app.wsgi` `config.wsgi` is not `module:attribute`",
            "`app.asgi` `config/asgi.py` is not `module:attribute`",
            "unknown placeholder `{db.uri}` in `app.env.DATABASE_URL`",
            "set-up command `manage.py 'unclosed` cannot be read",
            "`app` needs `workload.endpoints`",
            "`tasks.rate` (5/s) enqueues the sample app's tasks",
        ] {
            assert!(joined.contains(expected), "{expected} not in:\n{joined}");
        }
        std::fs::create_dir_all(dir.join("shop/serve")).unwrap();
        let joined = app_problems(&dir, "  path: shop\n", endpoints).join("\n");
        assert!(joined.contains("top-level module `serve`"), "{joined}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
