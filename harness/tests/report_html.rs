//! report.html in a real browser: Debian's Chromium, headless, opens the page built from a
//! real results.json; every chart must be drawn, nothing may be fetched from the network, no
//! console error; a screenshot is kept beside the page. The page's table marks no best at three
//! repetitions and shows each median's spread.

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
