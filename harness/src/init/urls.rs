//! The pages a project's URLconf serves at fixed paths, read from its source: every
//! `path("literal", view)` of ROOT_URLCONF and of the project's modules it `include()`s, with
//! the prefix, and what the view's decorators say about methods and logins
//! (`@require_POST`, `@require_http_methods([...])`, `@login_required`, …). Paths with
//! converters (`<int:pk>`), `re_path`, and anything not a literal are left out and counted.
//! It reads modules through the caller's `read`, so it neither touches files nor runs code.

use std::collections::{BTreeMap, BTreeSet};

use super::python::{Binding, Module, Source, is_ident_byte};

/// One module's source, as the caller found it.
pub struct Read {
    pub module: Module,
    /// The file, as shown to the user (relative to the project).
    pub file: String,
    pub text: String,
}

/// A path of the URLconf that can be requested as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// From the root, with the leading `/`: `/shop/books/`.
    pub path: String,
    /// The view as written in the URLconf: `views.book_list`.
    pub view: String,
    /// The methods its decorators allow, upper case; None when they do not say (any).
    pub methods: Option<Vec<String>>,
    /// The decorator that says which methods, as written on one line: `@require_POST`.
    pub methods_from: Option<String>,
    /// A decorator asks for a logged-in user (`@login_required` and its kin).
    pub login_required: bool,
}

impl Route {
    /// Whether a plain GET is among the methods the view takes.
    pub fn takes_get(&self) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|m| m.iter().any(|x| x == "GET"))
    }

    /// The method to request it with when GET is not allowed: POST when it takes POST.
    pub fn other_method(&self) -> &str {
        let methods = self.methods.as_deref().unwrap_or_default();
        if methods.iter().any(|m| m == "POST") {
            "POST"
        } else {
            methods.first().map_or("POST", String::as_str)
        }
    }
}

/// A `path()` left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The path as far as it is known (with the prefix), or the code that was not a literal.
    pub path: String,
    pub why: Why,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// It has a `<converter>`: a real value is needed.
    Converter,
    /// Its route is not a string literal, or looks like a regular expression.
    NotLiteral,
    /// An `include()` of a module outside the project, or of something not a module name.
    NotFollowed,
}

/// What the scan found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub routes: Vec<Route>,
    pub skipped: Vec<Skipped>,
    /// The URL modules read, in order (ROOT_URLCONF first).
    pub modules: Vec<String>,
}

/// Include depth beyond which a URLconf is not followed (a cycle, or something odd).
const MAX_DEPTH: usize = 8;

/// Scans `root` (a dotted module name) and what it includes.
pub fn scan(root: &str, read: &dyn Fn(&str) -> Option<Read>) -> Scan {
    let mut scan = Scan::default();
    let mut seen = BTreeSet::new();
    walk(root, "/", 0, read, &mut seen, &mut scan);
    let mut paths = BTreeSet::new();
    scan.routes.retain(|r| paths.insert(r.path.clone()));
    scan
}

fn walk(
    module: &str,
    prefix: &str,
    depth: usize,
    read: &dyn Fn(&str) -> Option<Read>,
    seen: &mut BTreeSet<(String, String)>,
    scan: &mut Scan,
) {
    if depth > MAX_DEPTH || !seen.insert((module.to_owned(), prefix.to_owned())) {
        return;
    }
    let Some(file) = read(module) else {
        return;
    };
    if !scan.modules.iter().any(|m| m == module) {
        scan.modules.push(module.to_owned());
    }
    let src = Source::new(&file.text);
    let imports = src.imports(&file.module);
    for open in src.calls("path") {
        if src.masked[..open - "path(".len()]
            .trim_end()
            .ends_with("def")
        {
            continue;
        }
        let Some(args) = src.call_args(open) else {
            continue;
        };
        let (Some(route), Some(target)) = (args.first(), args.get(1)) else {
            continue;
        };
        let Some(literal) = src.string_at(route.clone()) else {
            scan.skipped.push(Skipped {
                path: one_line(&src.code[route.clone()]),
                why: Why::NotLiteral,
            });
            continue;
        };
        let full = format!("{prefix}{literal}");
        let target_text = &src.masked[target.clone()];
        if target_text.starts_with("include(") {
            match included_module(&src, target.start + "include(".len()) {
                Some(m) if read(&m).is_some() => walk(&m, &full, depth + 1, read, seen, scan),
                Some(m) if m == "django.contrib.auth.urls" => scan.routes.push(Route {
                    path: format!("{full}login/"),
                    view: "django.contrib.auth.views.LoginView".into(),
                    methods: None,
                    methods_from: None,
                    login_required: false,
                }),
                _ => scan.skipped.push(Skipped {
                    path: full,
                    why: Why::NotFollowed,
                }),
            }
            continue;
        }
        if target_text.contains("admin.site.urls") || full.starts_with("/admin/") {
            continue;
        }
        if full.contains(['<', '>']) {
            scan.skipped.push(Skipped {
                path: full,
                why: Why::Converter,
            });
            continue;
        }
        if full.contains(['^', '$', '(', ')', '\\', '?', '*', '[', ' ']) {
            scan.skipped.push(Skipped {
                path: full,
                why: Why::NotLiteral,
            });
            continue;
        }
        scan.routes.push(route_of(
            full,
            &src,
            target.clone(),
            &imports,
            &file.module,
            read,
        ));
    }
}

/// The module an `include(` names: `include("app.urls")` or `include(("app.urls", "ns"))`.
fn included_module(src: &Source, open: usize) -> Option<String> {
    let args = src.call_args(open)?;
    let first = args.first()?.clone();
    if let Some(m) = src.string_at(first.clone()) {
        return Some(m.to_owned());
    }
    if src.masked[first.clone()].starts_with(['(', '[']) {
        let inner = src.call_args(first.start + 1)?;
        return src.string_at(inner.first()?.clone()).map(str::to_owned);
    }
    None
}

/// The route of a view, with what its decorators say, when its function can be found.
fn route_of(
    path: String,
    src: &Source,
    target: std::ops::Range<usize>,
    imports: &BTreeMap<String, Binding>,
    here: &Module,
    read: &dyn Fn(&str) -> Option<Read>,
) -> Route {
    let mut route = Route {
        path,
        view: one_line(&src.code[target.clone()]),
        methods: None,
        methods_from: None,
        login_required: false,
    };
    // Decorators applied in the URLconf itself: `login_required(views.account)`.
    let mut target = target;
    loop {
        let text = &src.masked[target.clone()];
        let chain_len = text
            .bytes()
            .take_while(|&b| is_ident_byte(b) || b == b'.')
            .count();
        let chain = &text[..chain_len];
        if chain_len == text.len() {
            break;
        }
        if text[chain_len..].starts_with('(') && !chain.ends_with("as_view") {
            let open = target.start + chain_len + 1;
            judge(
                &mut route,
                chain,
                &format!("{}(…)", chain),
                literals_in(src, target.clone()),
            );
            match src.call_args(open).and_then(|a| a.first().cloned()) {
                Some(first) => target = first,
                None => return route,
            }
        } else {
            // A class-based view (`X.as_view()`) or an expression: nothing more to read.
            return route;
        }
    }
    let chain = src.masked[target].to_owned();
    let Some((module, function)) = resolve(&chain, imports, here) else {
        return route;
    };
    let Some(file) = read(&module) else {
        return route;
    };
    let views = Source::new(&file.text);
    let decorated = views.decorated_functions();
    for deco in decorated.get(&function).into_iter().flatten() {
        let text = views.masked[deco.clone()].trim_start_matches('@').trim();
        let name_len = text
            .bytes()
            .take_while(|&b| is_ident_byte(b) || b == b'.')
            .count();
        judge(
            &mut route,
            &text[..name_len],
            &one_line(&views.code[deco.clone()]),
            literals_in(&views, deco.clone()),
        );
    }
    route
}

/// What one decorator (its dotted name, as written, and its string arguments) says.
fn judge(route: &mut Route, name: &str, written: &str, strings: Vec<String>) {
    let last = name.rsplit('.').next().unwrap_or(name);
    let methods: Option<Vec<String>> = match last {
        "require_POST" => Some(vec!["POST".into()]),
        "require_GET" => Some(vec!["GET".into()]),
        "require_safe" => Some(vec!["GET".into(), "HEAD".into()]),
        "require_http_methods" | "api_view" => {
            let m: Vec<String> = strings.iter().map(|s| s.to_ascii_uppercase()).collect();
            // DRF's @api_view() with no list allows GET only.
            Some(if m.is_empty() { vec!["GET".into()] } else { m })
        }
        "login_required"
        | "permission_required"
        | "staff_member_required"
        | "user_passes_test"
        | "superuser_required" => {
            route.login_required = true;
            None
        }
        _ => None,
    };
    if route.methods.is_none()
        && let Some(m) = methods
    {
        route.methods = Some(m);
        route.methods_from = Some(written.to_owned());
    }
}

/// The string literals inside `range`.
fn literals_in(src: &Source, range: std::ops::Range<usize>) -> Vec<String> {
    src.literals
        .iter()
        .filter(|l| l.span.start >= range.start && l.span.end <= range.end)
        .filter_map(|l| l.value.clone())
        .collect()
}

/// The module and function a view written as `views.create_order` or `create_order` is,
/// through the URLconf's imports.
fn resolve(
    chain: &str,
    imports: &BTreeMap<String, Binding>,
    here: &Module,
) -> Option<(String, String)> {
    let segments: Vec<&str> = chain.split('.').collect();
    let (function, path) = segments.split_last()?;
    let Some((head, middle)) = path.split_first() else {
        return match imports.get(*function) {
            Some(Binding::From { module, item }) => Some((module.clone(), item.clone())),
            Some(Binding::Module(_)) => None,
            None => Some((here.name.clone(), (*function).to_owned())),
        };
    };
    let base = match imports.get(*head)? {
        Binding::From { module, item } => format!("{module}.{item}"),
        Binding::Module(m) => m.clone(),
    };
    let module = std::iter::once(base.as_str())
        .chain(middle.iter().copied())
        .collect::<Vec<_>>()
        .join(".");
    Some((module, (*function).to_owned()))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> impl Fn(&str) -> Option<Read> {
        let files: BTreeMap<String, String> = files
            .iter()
            .map(|(m, t)| ((*m).to_owned(), (*t).to_owned()))
            .collect();
        move |name: &str| {
            files.get(name).map(|text| Read {
                module: Module {
                    name: name.to_owned(),
                    is_package: false,
                },
                file: format!("{}.py", name.replace('.', "/")),
                text: text.clone(),
            })
        }
    }

    const ROOT: &str = r#"
from django.contrib import admin
from django.urls import include, path, re_path
from shop import views
from shop.views import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("shop/", include("shop.urls")),
    path("api/orders/", views.create_order, name="orders"),
    path("api/edit/", views.edit),
    path("account/", views.account),
    path("health/", health),
    path("", views.home),
    # path("commented/", views.home),
    re_path(r"^old/$", views.home),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include(router.urls)),
]
"#;

    const SHOP: &str = r#"
from django.urls import path
from . import views
urlpatterns = [
    path("books/", views.book_list),
    path("books/<int:pk>/", views.book_detail),
    path("about/", login_required(views.about)),
]
"#;

    const VIEWS: &str = r#"
from django.views.decorators.http import require_POST, require_http_methods

@csrf_exempt
@require_POST
def create_order(request): ...

@require_http_methods(
    ["put", "PATCH"]
)
def edit(request): ...

@require_http_methods(["GET", "POST"])
@login_required
def account(request): ...

def health(request): ...
def home(request): ...
def book_list(request): ...
def about(request): ...
"#;

    #[test]
    fn literal_paths_are_found_through_includes_with_their_prefix() {
        let read = project(&[
            ("site.urls", ROOT),
            ("shop.urls", SHOP),
            ("shop.views", VIEWS),
        ]);
        let s = scan("site.urls", &read);
        let paths: Vec<&str> = s.routes.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/shop/books/",
                "/shop/about/",
                "/api/orders/",
                "/api/edit/",
                "/account/",
                "/health/",
                "/",
                "/accounts/login/"
            ]
        );
        assert_eq!(s.modules, ["site.urls", "shop.urls"]);
        let skipped: Vec<(&str, Why)> =
            s.skipped.iter().map(|k| (k.path.as_str(), k.why)).collect();
        assert_eq!(
            skipped,
            [
                ("/shop/books/<int:pk>/", Why::Converter),
                ("/api/", Why::NotFollowed)
            ]
        );
    }

    #[test]
    fn decorators_say_which_methods_a_view_takes() {
        let read = project(&[
            ("site.urls", ROOT),
            ("shop.urls", SHOP),
            ("shop.views", VIEWS),
        ]);
        let s = scan("site.urls", &read);
        let r = |p: &str| s.routes.iter().find(|r| r.path == p).unwrap().clone();
        let orders = r("/api/orders/");
        assert!(!orders.takes_get());
        assert_eq!(orders.other_method(), "POST");
        assert_eq!(orders.methods_from.as_deref(), Some("@require_POST"));
        let edit = r("/api/edit/");
        assert_eq!(edit.other_method(), "PUT");
        assert_eq!(
            edit.methods_from.as_deref(),
            Some(r#"@require_http_methods( ["put", "PATCH"] )"#)
        );
        let account = r("/account/");
        assert!(account.takes_get() && account.login_required);
        assert!(r("/shop/about/").login_required);
        assert!(r("/health/").takes_get() && r("/health/").methods.is_none());
    }

    #[test]
    fn a_missing_urlconf_gives_nothing() {
        let s = scan("nowhere.urls", &project(&[]));
        assert!(s.routes.is_empty() && s.modules.is_empty());
    }
}
