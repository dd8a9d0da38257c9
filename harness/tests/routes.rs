//! The routes setup takes to an interpreter, each in a cache of its own: uv installing from a
//! download list and mirror served on loopback (interpreters this machine already provisioned,
//! packed as python-build-standalone's install_only archives), the Debian sysroot when uv cannot
//! download, and one message naming everything when neither apt nor an interpreter is there.

mod common;
#[path = "common/server.rs"]
mod server;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use djbench::provision::{self, Cache, Lookup, Ui, Wants};
use http_body_util::Full;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One provisioning at a time: the machine has two cores, and pip and apt share its network.
static SERIAL: Mutex<()> = Mutex::new(());

/// The interpreters of the user's cache (`djbench setup` first, which does nothing once they
/// are there), as `doctor --json` reports them.
fn provisioned() -> &'static Value {
    static REPORT: OnceLock<Value> = OnceLock::new();
    REPORT.get_or_init(|| {
        let setup = common::djbench()
            .arg("setup")
            .timeout(Duration::from_secs(1800))
            .output()
            .unwrap();
        assert!(
            setup.status.success(),
            "{}",
            String::from_utf8_lossy(&setup.stderr)
        );
        let doctor = common::djbench()
            .args(["doctor", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice(&doctor.stdout).unwrap()
    })
}

/// Whether both interpreters came from djbench's cache: where one is on PATH or named by a
/// variable, setup would never take the routes tested here (and its tree is not ours to pack).
fn from_the_cache(report: &Value) -> bool {
    let cache = report["cache"].as_str().unwrap_or("/nonexistent");
    let ok = ["gil", "free_threaded"].iter().all(|f| {
        let i = interpreter(report, f);
        i["path"].as_str().is_some_and(|p| p.starts_with(cache)) || i["source"] == "uv_install"
    });
    if !ok {
        eprintln!("skipped: this machine has interpreters of its own (on PATH or named)");
    }
    ok
}

fn interpreter<'a>(report: &'a Value, flavour: &str) -> &'a Value {
    report["interpreters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["flavour"] == flavour)
        .unwrap_or_else(|| panic!("no {flavour} interpreter in {report:#}"))
}

/// djbench with a cache of its own in `tmp`, no interpreter named explicitly, uv fast to fail.
fn djbench_in(tmp: &Path) -> assert_cmd::Command {
    let mut cmd = common::djbench();
    cmd.env("XDG_CACHE_HOME", tmp.join("cache"))
        .env("UV_HTTP_RETRIES", "0")
        .env_remove("DJBENCH_PYTHON")
        .env_remove("DJBENCH_PYTHON_FT")
        .env_remove("DJBENCH_PYTHON_GIL_TWIN")
        .env_remove("UV_PYTHON_INSTALL_DIR")
        .env_remove("UV_PYTHON_DOWNLOADS_JSON_URL")
        .env_remove("UV_PYTHON_INSTALL_MIRROR")
        .timeout(Duration::from_secs(900));
    cmd
}

/// One entry of uv's download list (uv's `download-metadata.json` format).
#[derive(Serialize)]
struct Download {
    name: &'static str,
    arch: Arch,
    os: &'static str,
    libc: &'static str,
    major: u32,
    minor: u32,
    patch: u32,
    prerelease: &'static str,
    url: String,
    sha256: String,
    variant: Option<&'static str>,
    build: &'static str,
}

#[derive(Serialize)]
struct Arch {
    family: &'static str,
    variant: Option<&'static str>,
}

/// Packs the installation `python` belongs to (its `bin/`'s parent) the way an install_only
/// archive is laid out: `python/bin/python3.X`, `python/lib/…`. uv refuses absolute symlinks
/// (Debian's tree has a few, into /etc), and the test suite, headers and static libraries are
/// not needed to run: all left out. The Debian sysroot's interpreter keeps the loader and
/// library paths patchelf baked in, so its archive runs on this machine only: enough here.
fn pack(python: &Path, out: &Path) {
    let prefix = python.canonicalize().unwrap();
    let prefix = prefix.parent().unwrap().parent().unwrap();
    let (parent, name) = (prefix.parent().unwrap(), prefix.file_name().unwrap());
    let mut absolute = Vec::new();
    let mut stack = vec![prefix.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                if std::fs::read_link(&path).unwrap().is_absolute() {
                    absolute.push(path.strip_prefix(parent).unwrap().display().to_string());
                }
            } else if kind.is_dir() {
                stack.push(path);
            }
        }
    }
    let excludes = out.with_extension("exclude");
    std::fs::write(&excludes, absolute.join("\n")).unwrap();
    let name = name.to_string_lossy();
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(parent)
        .arg("-X")
        .arg(&excludes)
        .args([
            "--exclude=__pycache__",
            "--exclude=*/lib/python3.*/test",
            "--exclude=*/include",
            "--exclude=*/share/doc",
            "--exclude=*/share/man",
            "--exclude=*/share/locale",
            "--exclude=*.a",
        ])
        .arg(format!(
            "--transform=s|^{}|python|",
            name.replace('.', "\\.")
        ))
        .args(["-I", "gzip -1", "-cf"])
        .arg(out)
        .arg(name.as_ref())
        .status()
        .unwrap();
    assert!(status.success(), "tar failed packing {}", prefix.display());
}

/// Serves the files put in the map (name → bytes) at `/name` on loopback; filled after the
/// server has its port, which the download list's URLs name.
fn serve_files() -> (std::net::SocketAddr, Arc<Mutex<HashMap<String, Bytes>>>) {
    let files: Arc<Mutex<HashMap<String, Bytes>>> = Arc::default();
    let shared = files.clone();
    let addr = server::serve(move |_, req| {
        let path = req.uri().path().trim_start_matches('/').to_owned();
        let body = shared.lock().unwrap().get(&path).cloned();
        async move {
            match body {
                Some(b) => hyper::Response::new(Full::new(b)),
                None => hyper::Response::builder()
                    .status(404)
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            }
        }
    });
    (addr, files)
}

#[test]
fn uv_installs_both_interpreters_from_a_loopback_mirror_and_doctor_says_so() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let real = provisioned();
    if !from_the_cache(real) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (addr, files) = serve_files();
    let mut list = BTreeMap::new();
    let mut served = Vec::new();
    for (flavour, file) in [("gil", "gil.tar.gz"), ("free_threaded", "ft.tar.gz")] {
        let i = interpreter(real, flavour);
        let archive = tmp.path().join(file);
        pack(Path::new(i["path"].as_str().unwrap()), &archive);
        let bytes = std::fs::read(&archive).unwrap();
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        files
            .lock()
            .unwrap()
            .insert(file.to_owned(), Bytes::from(bytes));
        let v: Vec<u32> = i["version"]
            .as_str()
            .unwrap()
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        let free_threaded = flavour == "free_threaded";
        let key = format!(
            "cpython-{}.{}.{}{}-linux-{}-gnu",
            v[0],
            v[1],
            v[2],
            if free_threaded { "+freethreaded" } else { "" },
            std::env::consts::ARCH
        );
        list.insert(
            key,
            Download {
                name: "cpython",
                arch: Arch {
                    family: std::env::consts::ARCH,
                    variant: None,
                },
                os: "linux",
                libc: "gnu",
                major: v[0],
                minor: v[1],
                patch: v[2],
                prerelease: "",
                url: format!("http://{addr}/{file}"),
                sha256,
                variant: free_threaded.then_some("freethreaded"),
                build: "djbench-test",
            },
        );
        served.push((flavour, format!("{}.{}", v[0], v[1])));
    }
    files.lock().unwrap().insert(
        "downloads.json".into(),
        Bytes::from(serde_json::to_vec(&list).unwrap()),
    );

    let uv_python = tmp.path().join("uv-python");
    let setup = djbench_in(tmp.path())
        .arg("setup")
        .env(
            "UV_PYTHON_DOWNLOADS_JSON_URL",
            format!("http://{addr}/downloads.json"),
        )
        .env("UV_PYTHON_INSTALL_DIR", &uv_python)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&setup.stderr);
    assert!(setup.status.success(), "setup failed:\n{said}");
    assert!(said.contains("install uv"), "{said}");

    let mut doctor = djbench_in(tmp.path());
    doctor.env("UV_PYTHON_INSTALL_DIR", &uv_python);
    let report: Value =
        serde_json::from_slice(&doctor.args(["doctor", "--json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(report["ready"], true, "{report:#}");
    for (flavour, minor) in &served {
        let i = interpreter(&report, flavour);
        assert_eq!(i["source"], "uv_install", "{i:#}");
        let request = if *flavour == "gil" {
            minor.clone()
        } else {
            format!("{minor}t")
        };
        assert_eq!(i["origin"], format!("uv python install {request}"), "{i:#}");
        assert!(
            i["path"]
                .as_str()
                .unwrap()
                .starts_with(uv_python.to_str().unwrap()),
            "{i:#}"
        );
        assert_eq!(i["gil_enabled"], *flavour == "gil", "{i:#}");
    }
    // Where only 3.13t is served, 3.14t was asked first, and doctor says why it was passed over.
    let ft = interpreter(&report, "free_threaded");
    if ft["origin"] == "uv python install 3.13t" {
        let first = &ft["passed_over"][0];
        assert_eq!(first["tried"], "uv python install 3.14t", "{ft:#}");
        assert_eq!(first["why"]["kind"], "no_download", "{ft:#}");
    }
    let text = djbench_in(tmp.path())
        .env("UV_PYTHON_INSTALL_DIR", &uv_python)
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("uv python install"), "{text}");
}

#[test]
fn when_uv_cannot_download_the_debian_sysroot_still_provides_the_gil_build() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The free-threaded interpreter is named, so only the GIL build is provisioned (~30 s):
    // building one from source would take minutes.
    if !from_the_cache(provisioned()) {
        return;
    }
    let ft = interpreter(provisioned(), "free_threaded")["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let tmp = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let setup = djbench_in(tmp.path())
        .arg("setup")
        .env("UV_PYTHON_INSTALL_MIRROR", format!("http://{closed}"))
        .env("DJBENCH_PYTHON_FT", &ft)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&setup.stderr);
    assert!(setup.status.success(), "setup failed:\n{said}");
    let mut doctor = djbench_in(tmp.path());
    doctor.env("DJBENCH_PYTHON_FT", &ft);
    let report: Value =
        serde_json::from_slice(&doctor.args(["doctor", "--json"]).output().unwrap().stdout)
            .unwrap();
    let gil = interpreter(&report, "gil");
    assert_eq!(gil["source"], "debian_sysroot", "{gil:#}");
    let refused = &gil["passed_over"][0];
    assert_eq!(refused["tried"], "uv python install 3.14", "{gil:#}");
    assert_eq!(refused["why"]["kind"], "download_failed", "{gil:#}");
    assert!(
        refused["why"]["detail"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{gil:#}"
    );
    assert_eq!(interpreter(&report, "free_threaded")["source"], "explicit");
}

/// Neither apt nor any interpreter, nor a python3 to install uv with: setup stops before any
/// work with one message naming everything, and exits 2.
#[test]
fn without_apt_or_an_interpreter_setup_names_everything_at_once_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let out = djbench_in(tmp.path())
        .arg("setup")
        .env("PATH", &bin)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    for part in [
        "no apt-get on PATH",
        "redis-server: not on PATH",
        "CPython 3.14 with the GIL: none found",
        "no python3 on PATH to install it from PyPI",
        "set $DJBENCH_PYTHON;",
        "$DJBENCH_PYTHON_FT",
        "then run djbench setup again",
    ] {
        assert!(stderr.contains(part), "{part:?} missing from:\n{stderr}");
    }
    let cache = tmp.path().join("cache/djbench");
    for dir in ["python", "uv", "apt", "venvs", "src"] {
        assert!(
            !cache.join(dir).exists(),
            "setup made {dir}/ before stopping"
        );
    }
}

/// The same on Fedora (its os-release staged through the Lookup): the command is dnf's, with
/// Fedora's own CPython 3.14 and free-threaded packages.
#[test]
fn on_fedora_the_one_message_is_a_dnf_command() {
    let tmp = tempfile::tempdir().unwrap();
    let os_release = tmp.path().join("os-release");
    std::fs::write(
        &os_release,
        "NAME=\"Fedora Linux\"\nID=fedora\nPRETTY_NAME=\"Fedora Linux 42 (Server Edition)\"\n",
    )
    .unwrap();
    let lookup = Lookup {
        path_var: Some(tmp.path().join("bin").into_os_string()),
        explicit: HashMap::new(),
        cache: Cache::at(tmp.path().join("cache")),
        uv_install: true,
        os_release,
        debian_keyring: tmp.path().join("no-keyring.gpg"),
    };
    let err = provision::setup(&lookup, Wants::default(), &Ui::quiet())
        .expect_err("nothing can be provisioned here");
    let said = err.to_string();
    eprintln!("{said}");
    assert!(said.contains("Fedora Linux 42"), "{said}");
    assert!(
        said.contains("dnf install -y redis python3.14 python3.14-freethreading"),
        "{said}"
    );
    assert!(!tmp.path().join("cache/python").exists());
}

/// The packing above, checked on its own: what uv will unpack has `python/bin/…` and no
/// absolute symlink.
#[test]
fn a_packed_interpreter_is_laid_out_like_an_install_only_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cpython-3.99.0");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("lib/python3.99/test")).unwrap();
    std::fs::write(root.join("bin/python3.99"), "").unwrap();
    std::fs::write(root.join("lib/python3.99/os.py"), "").unwrap();
    std::os::unix::fs::symlink("/etc/localtime", root.join("lib/localtime")).unwrap();
    std::os::unix::fs::symlink("python3.99", root.join("bin/python3")).unwrap();
    let archive = tmp.path().join("x.tar.gz");
    pack(&root.join("bin/python3.99"), &archive);
    let listing = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    for want in [
        "python/bin/python3.99",
        "python/bin/python3",
        "python/lib/python3.99/os.py",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.contains("localtime") || n.contains("/test")),
        "{names:?}"
    );
}
