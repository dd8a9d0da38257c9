//! report.html in a real browser: Debian's Chromium, headless, opens the page built from a
//! real results.json; every chart must be drawn, nothing may be fetched from the network, no
//! console error; a screenshot is kept beside the page. The page's table marks no best at three
//! repetitions and shows each median's spread; five repetitions with a clear lead, made from
//! the fixture through the typed model, highlight that one cell.

mod common;

fn chromium() -> std::path::PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file())
        .expect("Debian's chromium (apt-get install chromium; .ci/run installs it)")
}

/// Chromium with the flags that keep it from reaching anything but the page.
fn headless(profile: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn the_report_renders_offline_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::report_fixture(dir.path());
    assert_eq!(out.status.code(), Some(0));
    let page = dir.path().join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "report.html refers to the network"
    );
    assert!(!html.contains("<script"), "report.html needs no script");
    // Three repetitions call no difference: nothing is highlighted, and the page says why.
    assert!(!html.contains("class=\"best\""), "a best at 3 repetitions");
    assert!(
        html.contains(
            "No best is marked: 3 repetitions per deployment, 5 needed to call a difference"
        ),
        "the table does not say why nothing is marked"
    );
    // Every median with its spread; subinterpreters' goodput (734, 402, 366) is flagged noisy.
    assert!(html.contains(
        "<span class=\"cv noisy\" title=\"coefficient of variation across 3 repetitions: 40"
    ));
    assert!(html.contains("<th>goodput req/s</th><th>error rate</th>"));
    assert!(html.contains("subinterpreters: noisy across repetitions (CV above 10%): goodput 40%"));
    assert!(html.contains("<h2>The load, run by run</h2>"));
    let charts = html.matches("<svg class=\"chart\"").count();
    assert_eq!(
        charts, 8,
        "throughput, spectrum, 3 × ΣPSS, CPU, tasks, endpoints"
    );

    let url = format!("file://{}", page.display());
    let dom = headless(&dir.path().join("profile"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let rendered = String::from_utf8_lossy(&dom.stdout);
    let stderr = String::from_utf8_lossy(&dom.stderr);
    assert!(
        !stderr.contains("CONSOLE") && !stderr.contains("Uncaught"),
        "console messages:\n{stderr}"
    );
    let svgs: Vec<&str> = rendered.split("<svg class=\"chart\"").skip(1).collect();
    assert_eq!(svgs.len(), charts, "the browser's DOM lost charts");
    for (i, svg) in svgs.iter().enumerate() {
        let body = &svg[..svg.find("</svg>").unwrap()];
        assert!(
            body.contains("class=\"series\""),
            "chart {i} has nothing drawn:\n{body}"
        );
    }

    let shot = dir.path().join("report.png");
    let status = headless(&dir.path().join("profile2"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,4200")
        .arg("--hide-scrollbars")
        .arg(&url)
        .status()
        .unwrap();
    assert!(status.success());
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "{} bytes",
        png.len()
    );
}

/// Five repetitions of two deployments of one interpreter, built from the fixture through the
/// typed model: the same runs, one 10% ahead in goodput.
fn five_with_a_lead(dir: &std::path::Path) -> std::path::PathBuf {
    let doc = djbench::results::read(&common::results_fixture()).unwrap();
    let template: Vec<&djbench::results::RunResult> = doc
        .runs
        .iter()
        .filter(|r| r.label == "gunicorn_celery")
        .collect();
    let goodput = [600.0, 606.0, 597.0, 603.0, 594.0];
    let runs = [("gunicorn_celery", 1.0), ("subinterpreters", 1.10)]
        .iter()
        .flat_map(|&(label, by)| {
            let template = &template;
            goodput.iter().enumerate().map(move |(k, g)| {
                let mut r = template[k % template.len()].clone();
                r.label = label.into();
                r.repetition = k as u32 + 1;
                r.throughput_rps = g * by;
                r
            })
        })
        .collect();
    let doc = djbench::results::Results { runs, ..doc };
    djbench::results::write(dir, &doc).unwrap();
    dir.join("results.json")
}

#[test]
fn a_significant_lead_at_five_repetitions_is_highlighted_once() {
    let dir = tempfile::tempdir().unwrap();
    let results = five_with_a_lead(dir.path());
    let out = common::djbench()
        .arg("report")
        .arg(&results)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("| **660** ±0.8% |"), "{md}");
    assert_eq!(md.matches("**660**").count(), 1, "{md}");
    let page = dir.path().join("report.html");
    let dom = headless(&dir.path().join("profile"))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(dom.status.success());
    let rendered = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        rendered.matches("<td class=\"best\">").count(),
        1,
        "one highlighted cell"
    );
    assert!(
        rendered.contains("<td class=\"best\">660<span"),
        "{rendered}"
    );
    assert!(
        rendered.contains("best: goodput req/s: subinterpreters against gunicorn_celery, +10.0%"),
        "the lead is not listed"
    );
}
