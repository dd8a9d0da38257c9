//! The session a load runs in: the static cookies of the workload and, when it has a login,
//! one Django-style form login before the load (GET the login page for its `csrftoken`
//! cookie, POST the form with the credentials and the token, keep the cookies that come
//! back). Owns the cookie jar and the headers it adds to every endpoint of the load (Cookie,
//! and X-CSRFToken on unsafe methods); where the credentials come from is the caller's.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Endpoint;

/// The cookie Django keeps its CSRF secret in, and the form field and header that echo it.
const CSRF_COOKIE: &str = "csrftoken";
const CSRF_FIELD: &str = "csrfmiddlewaretoken";
const CSRF_HEADER: &str = "X-CSRFToken";

/// A form login to do before the load, credentials already read.
#[derive(Debug, Clone)]
pub struct Login {
    /// The login page's path, starting with `/`.
    pub url: String,
    pub username: String,
    pub password: String,
    /// The form's field names for the user name and the password.
    pub fields: (String, String),
    /// The status of a successful login POST (Django redirects: 302).
    pub expect: u16,
}

/// What results.json records of a login: never the password, nor the cookies' values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub url: String,
    pub username: String,
    /// The status the login POST answered with.
    pub status: u16,
    /// Names of the cookies every request of the load carried, the login's and the
    /// workload's.
    pub cookies: Vec<String>,
}

/// The cookies every request carries, and the login that set them (None without a login).
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// In the order first set; a later Set-Cookie of a name replaces its value.
    jar: Vec<(String, String)>,
    pub record: Option<Record>,
}

impl Session {
    /// The session of a load: `cookies` as given, then, with a `login`, the login's cookies
    /// on top. Err says why the login failed.
    pub fn open(
        base_url: &str,
        cookies: &[(String, String)],
        login: Option<&Login>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let mut session = Self {
            jar: cookies.to_vec(),
            record: None,
        };
        if let Some(login) = login {
            session.log_in(base_url.trim_end_matches('/'), login, timeout)?;
        }
        Ok(session)
    }

    fn log_in(&mut self, base: &str, l: &Login, timeout: Duration) -> Result<(), String> {
        // Redirects are not followed: the login's answer is the redirect itself.
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| format!("login: {e}"))?;
        let url = format!("{base}{}", l.url);
        let failed = |e: reqwest::Error| format!("login at {}: {e}", l.url);

        let mut get = http.get(&url);
        if let Some(cookie) = self.cookie_header() {
            get = get.header(reqwest::header::COOKIE, cookie);
        }
        let page = get.send().map_err(failed)?;
        if !page.status().is_success() {
            return Err(format!(
                "login page GET {} answered {}, expected 200",
                l.url,
                page.status().as_u16()
            ));
        }
        self.take_cookies(page.headers());
        let csrf = self.get(CSRF_COOKIE).map(str::to_owned);

        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair(&l.fields.0, &l.username)
            .append_pair(&l.fields.1, &l.password);
        // Django ≥ 4.1 accepts the cookie's unmasked secret as the form's token.
        if let Some(token) = &csrf {
            form.append_pair(CSRF_FIELD, token);
        }
        let mut post = http
            .post(&url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form.finish());
        if let Some(cookie) = self.cookie_header() {
            post = post.header(reqwest::header::COOKIE, cookie);
        }
        let answer = post.send().map_err(failed)?;
        let status = answer.status().as_u16();
        if status != l.expect {
            let what = match status {
                // A refused login renders the form again, with its errors.
                200 => "200 (the form again?)".to_owned(),
                403 if csrf.is_none() => format!(
                    "403 (GET {} set no `{CSRF_COOKIE}` cookie: does the form render \
                     {{% csrf_token %}}?)",
                    l.url
                ),
                s => s.to_string(),
            };
            return Err(format!(
                "login refused: the server answered {what}, expected {} (POST {} as `{}`)",
                l.expect, l.url, l.username
            ));
        }
        let set = self.take_cookies(answer.headers());
        if !set.iter().any(|name| name != CSRF_COOKIE) {
            return Err(format!(
                "login at {} answered {status} but set no session cookie (no Set-Cookie but \
                 `{CSRF_COOKIE}`'s): the server did not log `{}` in",
                l.url, l.username
            ));
        }
        self.record = Some(Record {
            url: l.url.clone(),
            username: l.username.clone(),
            status,
            cookies: self.jar.iter().map(|(n, _)| n.clone()).collect(),
        });
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&str> {
        (self.jar.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Keeps the cookies a response set; returns their names. An empty value deletes (what
    /// Django sends to drop a cookie).
    fn take_cookies(&mut self, headers: &reqwest::header::HeaderMap) -> Vec<String> {
        let mut names = Vec::new();
        for h in headers.get_all(reqwest::header::SET_COOKIE) {
            let Some((name, value)) = h.to_str().ok().and_then(cookie_pair) else {
                continue;
            };
            self.jar.retain(|(n, _)| *n != name);
            if !value.is_empty() {
                self.jar.push((name.clone(), value));
            }
            names.push(name);
        }
        names
    }

    /// The Cookie header for the jar; None when it is empty.
    fn cookie_header(&self) -> Option<String> {
        (!self.jar.is_empty()).then(|| {
            (self.jar.iter())
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Adds the session to each endpoint's headers, once before the load: the jar's Cookie
    /// (before an endpoint's own cookies, in its one Cookie header), and on POST, PUT, PATCH
    /// and DELETE the CSRF token Django checks, unless the endpoint sends its own.
    pub fn apply(&self, endpoints: &mut [Endpoint]) {
        let cookie = self.cookie_header();
        let csrf = self.get(CSRF_COOKIE);
        for e in endpoints {
            if let Some(cookie) = &cookie {
                match (e.headers.iter_mut()).find(|(n, _)| n.eq_ignore_ascii_case("cookie")) {
                    Some((_, own)) => *own = format!("{cookie}; {own}"),
                    None => e.headers.push(("Cookie".into(), cookie.clone())),
                }
            }
            let unsafe_method = matches!(
                e.method,
                hyper::Method::POST
                    | hyper::Method::PUT
                    | hyper::Method::PATCH
                    | hyper::Method::DELETE
            );
            if let Some(token) = csrf
                && unsafe_method
                && !(e.headers.iter()).any(|(n, _)| n.eq_ignore_ascii_case(CSRF_HEADER))
            {
                e.headers.push((CSRF_HEADER.into(), token.to_owned()));
            }
        }
    }
}

/// A Set-Cookie header's name and value. The `cookie` crate is not a dependency, and the
/// attributes after the first `;` (path, expiry, flags) do not matter for one session.
fn cookie_pair(header: &str) -> Option<(String, String)> {
    let pair = header.split(';').next()?;
    let (name, value) = pair.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then(|| {
        let value = value.trim();
        let value = (value.strip_prefix('"').and_then(|v| v.strip_suffix('"'))).unwrap_or(value);
        (name.to_owned(), value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_cookie_header_gives_its_name_and_value_only() {
        assert_eq!(
            cookie_pair(
                "sessionid=abc123; expires=Sun, 20 Dec 2026 19:00:00 GMT; HttpOnly; Path=/"
            ),
            Some(("sessionid".into(), "abc123".into()))
        );
        assert_eq!(
            cookie_pair("csrftoken=\"x y\"; Path=/"),
            Some(("csrftoken".into(), "x y".into()))
        );
        assert_eq!(cookie_pair("=v"), None);
        assert_eq!(cookie_pair("novalue"), None);
    }

    #[test]
    fn every_endpoint_gets_the_cookies_and_unsafe_ones_the_token() {
        let session = Session {
            jar: vec![
                ("csrftoken".into(), "tok".into()),
                ("sessionid".into(), "s1".into()),
            ],
            record: None,
        };
        let mut endpoints = vec![
            Endpoint::get("/account/", 1.0),
            Endpoint {
                method: hyper::Method::POST,
                headers: vec![("cookie".into(), "theme=dark".into())],
                ..Endpoint::get("/cart/", 1.0)
            },
            Endpoint {
                method: hyper::Method::DELETE,
                headers: vec![("x-csrftoken".into(), "mine".into())],
                ..Endpoint::get("/cart/1", 1.0)
            },
        ];
        session.apply(&mut endpoints);
        let h = |i: usize| endpoints[i].headers.clone();
        let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        assert_eq!(h(0), [pair("Cookie", "csrftoken=tok; sessionid=s1")]);
        assert_eq!(
            h(1),
            [
                pair("cookie", "csrftoken=tok; sessionid=s1; theme=dark"),
                pair("X-CSRFToken", "tok")
            ]
        );
        assert_eq!(
            h(2),
            [
                pair("x-csrftoken", "mine"),
                pair("Cookie", "csrftoken=tok; sessionid=s1")
            ]
        );
        // No cookies at all: the endpoints are left as they were.
        let mut plain = vec![Endpoint::get("/", 1.0)];
        Session::default().apply(&mut plain);
        assert!(plain[0].headers.is_empty());
    }
}
