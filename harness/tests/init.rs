//! `djbench init` on the fixture projects: the starter scenario it writes for bookshop (read
//! back as YAML: the app block, the endpoints its URLconf gives, the commented-out POST-only
//! view), quant's (settings in quant_site/conf.py, written into the project), the refusal to
//! overwrite without --force, and a missing directory. Every file written passes `djbench
//! validate`.

mod common;

use std::path::Path;

use serde_json::{Value, json};

fn init(args: &[&str]) -> std::process::Output {
    common::djbench().arg("init").args(args).output().unwrap()
}

fn read_yaml(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).unwrap();
    let value: Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}\n{text}", path.display()));
    (text, value)
}

/// The scenario with its commented-out endpoints put back, for `djbench validate`.
fn uncommented(text: &str) -> String {
    text.lines()
        .map(|line| format!("{}\n", line.replacen("    # - {", "    - {", 1)))
        .collect()
}

#[test]
fn bookshop_gets_its_settings_env_fixtures_and_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("djbench.yaml");
    let out = init(&[
        "--out",
        file.to_str().unwrap(),
        "fixtures/projects/bookshop",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("djbench scenario"), "{stdout}");
    let (text, v) = read_yaml(&file);

    assert_eq!(v["name"], "bookshop");
    let app = &v["app"];
    let project = tmp
        .path()
        .join(app["path"].as_str().unwrap())
        .canonicalize()
        .unwrap();
    assert_eq!(
        project,
        common::root()
            .join("fixtures/projects/bookshop")
            .canonicalize()
            .unwrap()
    );
    assert_eq!(app["settings"], "config.settings");
    assert_eq!(app["requirements"], "requirements.txt");
    assert_eq!(app["env"], json!({ "DATABASE_URL": "{db.url}" }));
    assert_eq!(
        app["setup"],
        json!(["manage.py migrate --no-input", "manage.py loaddata books"])
    );
    assert!(app.get("wsgi").is_none());
    assert_eq!(
        v["modes"],
        json!(["gunicorn_celery", "subinterpreters", "free_threaded"])
    );

    let w = &v["workload"];
    let paths: Vec<&str> = w["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/shop/books/", "/account/", "/accounts/login/", "/health/"]
    );
    assert!(
        text.contains("# - { path: /api/orders/, method: POST, json: {} }"),
        "{text}"
    );
    assert!(text.contains("/shop/books/<int:pk>/"), "{text}");
    assert_eq!(w["rate"], "50/s");
    assert_eq!(w["duration"], "20s");
    assert_eq!(w["warmup"], "5s");
    assert_eq!(w["repetitions"], 1);
    assert!(text.contains("workload.login"), "{text}");

    // The file as written is a valid scenario, and so it is with the POST endpoint
    // uncommented (beside it, so `app.path` still names the project).
    let rest = tmp.path().join("rest.yaml");
    std::fs::write(&rest, uncommented(&text)).unwrap();
    for f in [&file, &rest] {
        let out = common::djbench().arg("validate").arg(f).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn an_existing_file_is_kept_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("djbench.yaml");
    std::fs::write(&file, "mine\n").unwrap();
    let args = [
        "--out",
        file.to_str().unwrap(),
        "fixtures/projects/bookshop",
    ];
    let out = init(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(file.to_str().unwrap()) && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine\n");

    let out = init(&[&["--force"][..], &args].concat());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read_yaml(&file).1["name"], "bookshop");
}

#[test]
fn a_missing_directory_is_named() {
    let out = init(&["fixtures/projects/no-such-project"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("fixtures/projects/no-such-project"),
        "{stderr}"
    );
}

#[test]
fn quant_is_written_into_the_project_with_its_settings_from_manage_py() {
    // A copy, so the repository's fixture stays as it is.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("quant");
    copy_tree(&common::root().join("fixtures/projects/quant"), &copy);
    let out = common::djbench()
        .current_dir(&copy)
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, v) = read_yaml(&copy.join("djbench.yaml"));
    assert_eq!(v["name"], "quant");
    assert_eq!(v["app"]["path"], ".");
    assert_eq!(v["app"]["settings"], "quant_site.conf");
    assert_eq!(v["app"]["env"], json!({}));
    assert_eq!(v["app"]["setup"], json!(["manage.py migrate --no-input"]));
    assert_eq!(
        v["workload"]["endpoints"],
        json!([{ "path": "/prices/summary/" }])
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
