//! What setup still has to get, and whether djbench can get it on this machine: the routes
//! left for a missing interpreter, the Debian packages the Debian routes need (the archive key
//! too, which Ubuntu lacks), and the one message that names everything a user must install or
//! set, in their distribution's words. It decides and words; it installs nothing.

use super::python::{Flavour, Lookup, Rejected};
use super::steps::ProvisionError;
use super::system::{self, Manager, Need, System};
use super::uv;

/// The interpreter in words, for messages.
fn described(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Gil => "CPython 3.14 with the GIL",
        Flavour::FreeThreaded => "a free-threaded CPython (3.14t, or 3.13t)",
        Flavour::GilTwin => "the GIL twin of the free-threaded build",
    }
}

/// The Debian route for a flavour, in words.
fn debian_route(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Gil => "CPython 3.14 from Debian sid packages (~30 s)",
        Flavour::FreeThreaded => "free-threaded CPython built from Debian's source (~3 min)",
        Flavour::GilTwin => "the GIL twin built from the same source (~3 min)",
    }
}

/// The routes setup would take for a missing flavour, in order, in words.
pub(super) fn routes_left(lookup: &Lookup, system: &System, flavour: Flavour) -> String {
    let mut routes = Vec::new();
    if let Some(request) = flavour.uv_requests().first()
        && lookup.uv_install
        && uv::obtainable(lookup).is_ok()
    {
        let first = if uv::locate(lookup).is_none() {
            format!(" (installing uv {} from PyPI first)", uv::PIN)
        } else {
            String::new()
        };
        routes.push(format!("uv python install {request}{first}"));
    }
    if system.apt {
        routes.push(debian_route(flavour).to_owned());
    }
    if routes.is_empty() {
        format!(
            "get {}: no route of djbench's works here; {}",
            described(flavour),
            yourself(system, flavour)
        )
    } else {
        format!("get {}: {}", described(flavour), routes.join(", else "))
    }
}

/// How a user gets an interpreter of `flavour` without djbench.
fn yourself(system: &System, flavour: Flavour) -> String {
    let names = match flavour {
        Flavour::Gil => "python3.14",
        Flavour::FreeThreaded => "python3.14t (or python3.13t)",
        Flavour::GilTwin => "the GIL build of your free-threaded interpreter's source",
    };
    let package = system
        .manager
        .and_then(|m| Some((m, m.packages(Need::Python(flavour))?)))
        .map(|(m, p)| format!("`{}`, or ", m.install_command(p, system.root)))
        .unwrap_or_default();
    format!(
        "install it ({package}put {names} on PATH, or set ${})",
        flavour.env_var()
    )
}

pub(super) fn service_name(need: Need) -> &'static str {
    match need {
        Need::Redis => "redis-server",
        Need::Postgres => "postgresql",
        Need::Python(_) => "python",
    }
}

/// The Debian packages the Debian routes need for `flavours` that are not installed, and the
/// archive keyring when it is missing (Ubuntu: `debian-archive-keyring` installs it).
pub(super) fn debian_packages(lookup: &Lookup, flavours: &[Flavour]) -> Vec<String> {
    let mut wanted: Vec<&str> = Vec::new();
    for f in flavours {
        match f {
            Flavour::Gil => wanted.push("patchelf"),
            Flavour::FreeThreaded | Flavour::GilTwin => wanted.extend(system::BUILD_DEPS),
        }
    }
    wanted.sort();
    wanted.dedup();
    let mut missing = system::missing(&wanted);
    if !flavours.is_empty() && !lookup.debian_keyring.is_file() {
        missing.push(system::KEYRING_PACKAGE.into());
    }
    missing
}

/// What setup still has to get: services, and interpreters (with the routes already refused).
#[derive(Debug, Default)]
pub(super) struct Wanting {
    pub services: Vec<Need>,
    /// Interpreters only the Debian routes can give now.
    pub interpreters: Vec<(Flavour, Vec<Rejected>)>,
    /// Interpreters uv will be asked for first: the Debian routes are needed only if it fails.
    pub uv_first: Vec<Flavour>,
}

/// Ok when djbench can get all of `w` on this machine by itself; else one error naming
/// everything the user must install or set, in this distribution's words.
pub(super) fn shortfall(
    lookup: &Lookup,
    system: &System,
    w: &Wanting,
) -> Result<(), ProvisionError> {
    let flavours: Vec<Flavour> = w.interpreters.iter().map(|(f, _)| *f).collect();
    if system.apt {
        let mut needs: Vec<String> = w
            .services
            .iter()
            .filter_map(|n| Manager::Apt.packages(*n))
            .flat_map(system::missing)
            .collect();
        needs.extend(debian_packages(lookup, &flavours));
        if needs.is_empty() || system.root {
            return Ok(());
        }
        let later = debian_packages(lookup, &w.uv_first);
        let later: Vec<String> = later.into_iter().filter(|p| !needs.contains(p)).collect();
        let mut fix = format!(
            "run `{}` (or run djbench setup as root), then djbench setup again",
            system::install_command(&needs)
        );
        if !later.is_empty() {
            fix.push_str(&format!(
                "; should uv fail to download, setup will also need {}",
                later.join(" ")
            ));
        }
        // Why the Debian routes are needed at all: what uv said, where it was tried.
        let tried: String = w
            .interpreters
            .iter()
            .filter(|(_, refused)| !refused.is_empty())
            .map(|(f, refused)| {
                let why: Vec<String> = refused.iter().map(ToString::to_string).collect();
                format!("\n  - {}: {}", described(*f), why.join("; "))
            })
            .collect();
        return Err(ProvisionError::new(
            "setup needs Debian packages that are not installed, and is not running as root",
            format!("{}{tried}", needs.join(" ")),
        )
        .with_fix(fix));
    }
    if w.services.is_empty() && w.interpreters.is_empty() {
        return Ok(());
    }
    let mut lines = Vec::new();
    let mut packages: Vec<&str> = Vec::new();
    let mut by_hand = Vec::new();
    for need in &w.services {
        lines.push(format!("{}: not on PATH", service_name(*need)));
        match system.manager.and_then(|m| m.packages(*need)) {
            Some(p) => packages.extend(p),
            None => by_hand.push(format!("install {}", service_name(*need))),
        }
    }
    for (flavour, refused) in &w.interpreters {
        let mut why: Vec<String> = refused.iter().map(ToString::to_string).collect();
        if refused.is_empty() && flavour.uv_requests().is_empty() {
            why.push("uv does not offer it".into());
        }
        why.push(
            match flavour {
                Flavour::Gil => "the Debian sysroot needs apt-get",
                Flavour::FreeThreaded | Flavour::GilTwin => {
                    "the build from Debian's source needs apt-get"
                }
            }
            .into(),
        );
        lines.push(format!(
            "{}: none found; {}",
            described(*flavour),
            why.join("; ")
        ));
        match system
            .manager
            .and_then(|m| m.packages(Need::Python(*flavour)))
        {
            Some(p) => packages.extend(p),
            None => by_hand.push(format!(
                "put {} on PATH or set ${}",
                match flavour {
                    Flavour::Gil => "python3.14",
                    Flavour::FreeThreaded => "python3.14t (or python3.13t)",
                    Flavour::GilTwin => "the GIL twin",
                },
                flavour.env_var()
            )),
        }
    }
    for flavour in &w.uv_first {
        lines.push(format!(
            "{}: none found yet; setup will try `uv python install {}` first (it needs to \
             reach python-build-standalone's downloads)",
            described(*flavour),
            flavour.uv_requests()[0]
        ));
    }
    let mut fix = Vec::new();
    match system.manager {
        Some(m) if !packages.is_empty() => fix.push(format!(
            "run `{}`",
            m.install_command(&packages, system.root)
        )),
        None if !packages.is_empty() => fix.push(format!("install {}", packages.join(" "))),
        _ => {}
    }
    fix.extend(by_hand);
    Err(ProvisionError::new(
        format!(
            "setup cannot get everything it needs on {}: djbench installs system packages and \
             builds interpreters only with apt-get (Debian, Ubuntu), and there is no apt-get on \
             PATH",
            system.name()
        ),
        lines
            .iter()
            .map(|l| format!("\n  - {l}"))
            .collect::<String>(),
    )
    .with_fix(format!("{}; then run djbench setup again", fix.join("; "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::{Cache, Refusal, Rule};
    use std::collections::HashMap;

    fn lookup(dir: &std::path::Path) -> Lookup {
        Lookup {
            path_var: Some(dir.as_os_str().to_owned()),
            explicit: HashMap::new(),
            cache: Cache::at(dir.join("cache")),
            uv_install: true,
            os_release: dir.join("os-release"),
            debian_keyring: dir.join("no-such-keyring.gpg"),
        }
    }

    /// Ubuntu has apt but not Debian's archive key: the Debian routes ask for the package that
    /// installs it, in the same one message as the rest.
    #[test]
    fn without_the_debian_keyring_the_debian_routes_ask_for_its_package() {
        let tmp = tempfile::tempdir().unwrap();
        let l = lookup(tmp.path());
        assert!(debian_packages(&l, &[Flavour::Gil]).contains(&"debian-archive-keyring".into()));
        assert!(debian_packages(&l, &[]).is_empty());
        let ubuntu_user = System {
            distro: Some("Ubuntu 24.04.3 LTS".into()),
            manager: Some(Manager::Apt),
            apt: true,
            root: false,
        };
        let w = Wanting {
            interpreters: vec![(
                Flavour::Gil,
                vec![Rejected {
                    rule: Rule::UvInstall,
                    tried: "uv python install 3.14".into(),
                    path: None,
                    why: Refusal::DownloadFailed("dns error".into()),
                }],
            )],
            ..Wanting::default()
        };
        let said = shortfall(&l, &ubuntu_user, &w).unwrap_err().to_string();
        assert!(said.contains("debian-archive-keyring"), "{said}");
        assert!(said.contains("sudo apt-get install"), "{said}");
        assert!(
            said.contains("uv python install 3.14: uv could not download it: dns error"),
            "{said}"
        );
        // As root it installs them itself.
        let ubuntu_root = System {
            root: true,
            ..ubuntu_user
        };
        assert!(shortfall(&l, &ubuntu_root, &w).is_ok());
    }

    #[test]
    fn doctor_names_each_route_and_what_is_left() {
        let tmp = tempfile::tempdir().unwrap();
        let mut l = lookup(tmp.path());
        l.uv_install = false;
        let no_apt = System {
            distro: Some("Alpine Linux v3.22".into()),
            manager: Some(Manager::Apk),
            apt: false,
            root: true,
        };
        let said = routes_left(&l, &no_apt, Flavour::FreeThreaded);
        assert!(said.contains("no route of djbench's works here"), "{said}");
        assert!(said.contains("$DJBENCH_PYTHON_FT"), "{said}");
        l.uv_install = true;
        let debian = System {
            distro: None,
            manager: Some(Manager::Apt),
            apt: true,
            root: true,
        };
        // No uv and no python3 on this PATH: only the Debian route is left.
        let said = routes_left(&l, &debian, Flavour::Gil);
        assert_eq!(
            said,
            "get CPython 3.14 with the GIL: CPython 3.14 from Debian sid packages (~30 s)"
        );
    }
}
