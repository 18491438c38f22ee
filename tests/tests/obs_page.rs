//! The live page on the scrape port, loaded in a real browser (Debian's headless Chromium):
//! from the running reference service, and from a small app whose route template carries
//! `<script>`, which must render as text. `/obs.json` says the same; both sit behind the scrape
//! token like `/metrics`.
#![cfg(feature = "e2e")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use obs_runtime::http::{ObsLayer, RouteCatalogue as _};
use obs_tests::child::run_in_child;
use obs_tests::service::Service;
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");
const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium with what a headless run on this kind of machine needs, `args` after; its
/// standard output (the DOM with `--dump-dom`).
fn chromium(args: &[&str]) -> String {
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: run scripts/test, which installs it");
    let profile = std::env::temp_dir().join(format!("obs-chromium-{}-{}", std::process::id(), args.len()));
    let output = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(output.status.success(), "chromium: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Where the screenshot of the reference service's page is kept, for a reader to look at.
fn screenshot_path() -> PathBuf {
    std::env::temp_dir().join("obs-page-mentorsmind.png")
}

#[test]
fn the_reference_services_page_renders_its_sites_routes_objectives_pool_and_queue() {
    let service = Service::start_with_args(EXE, &["--demo-traffic"], &[("OTEL_EXPORTER", "none")]);
    let base = service.metrics.trim_end_matches("/metrics").to_owned();
    // A few rounds of demo traffic first.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let json: Value = serde_json::from_str(&get(&format!("{base}/obs.json"), None).1).unwrap();
        let users =
            json["routes"].as_array().unwrap().iter().find(|r| r["path"] == "/users").unwrap()["requests"].clone();
        if users.as_f64().unwrap_or(0.0) >= 3.0 {
            check_json(&json);
            break;
        }
        assert!(Instant::now() < deadline, "no traffic on the page: {json}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let dom = chromium(&["--dump-dom", &format!("{base}/obs")]);
    for text in [
        "mentorsmind",
        "Call sites",
        "obs_examples::mentorsmind::db::find_user",
        "/users/{id}",
        "Objectives since start",
        "profiles",
        "sessionReminder",
        "main",
    ] {
        assert!(dom.contains(text), "{text} is not on the rendered page:\n{dom}");
    }
    assert!(dom.contains("http-equiv=\"refresh\""), "the page refreshes itself");
    let screenshot = screenshot_path();
    let _ = std::fs::remove_file(&screenshot);
    chromium(&[&format!("--screenshot={}", screenshot.display()), &format!("{base}/obs")]);
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a screenshot of the page");
    println!("screenshot: {}", screenshot.display());
    service.terminate(Duration::from_secs(15));
}

fn check_json(json: &Value) {
    assert_eq!(json["service"], "mentorsmind");
    assert!(json["uptime_seconds"].as_f64().unwrap() > 0.0);
    let sites = json["sites"].as_array().unwrap();
    let find_user = sites.iter().find(|s| s["function"].as_str().unwrap().ends_with("db::find_user")).unwrap();
    assert!(find_user["calls"].as_f64().unwrap() > 0.0, "{find_user}");
    assert!(find_user["p95_seconds"].as_f64().is_some(), "{find_user}");
    assert_eq!(find_user["labels"]["table"], "users");
    assert!(find_user["line"].as_u64().unwrap() > 0);
    let objectives: Vec<&str> =
        json["objectives"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert!(objectives.contains(&"profiles") && objectives.contains(&"reminders"), "{objectives:?}");
    assert_eq!(json["pools"][0]["name"], "main");
    assert_eq!(json["queues"][0]["name"], "sessionReminder");
}

/// A GET with an optional bearer token: status and body.
fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let (addr, path) = url.trim_start_matches("http://").split_once('/').unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let (status, _, body) = obs_tests::raw_get(addr.parse().unwrap(), &format!("/{path}"), &auth);
    (status, body)
}

#[obs_runtime::instrument_db(table = "users")]
async fn find_user(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

#[test]
fn markup_in_a_label_value_renders_as_text_and_the_page_needs_the_token() {
    let env = [
        ("PROMETHEUS_PORT", "0"),
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("OTEL_EXPORTER", "none"),
        ("OTEL_SERVICE_NAME", "markup"),
        ("PROMETHEUS_BEARER_TOKEN", "page-token"),
    ];
    let output = run_in_child("", &env, || {
        obs_tests::runtime().block_on(async {
            let guard = obs_runtime::init().unwrap();
            let hostile = "/x/<script>document.title='pwned'</script>";
            let _app: axum::Router = axum::Router::new()
                .catalogued_route(hostile, axum::routing::get(|| async { "x" }))
                .layer(ObsLayer::new());
            find_user(7).await.unwrap();
            let base = format!("http://{}", guard.scrape_addr().unwrap());
            assert_eq!(get(&format!("{base}/obs"), None).0, 401, "the page needs the scrape token");
            assert_eq!(get(&format!("{base}/obs.json"), Some("wrong")).0, 401);
            let (status, json) = get(&format!("{base}/obs.json"), Some("page-token"));
            assert_eq!(status, 200);
            let json: Value = serde_json::from_str(&json).unwrap();
            assert!(json["routes"].as_array().unwrap().iter().any(|r| r["path"] == hostile), "{json}");
            // Chromium cannot send a header from the command line: the page is served to it
            // by a relay that adds the token, as a browser extension or a proxy would.
            let relay = obs_tests::relay::with_bearer(guard.scrape_addr().unwrap(), "page-token").await;
            let (dom, title) = tokio::task::spawn_blocking(move || {
                let dom = chromium(&["--dump-dom", &format!("http://{relay}/obs")]);
                let title =
                    dom.split("<title>").nth(1).and_then(|t| t.split("</title>").next()).unwrap_or("").to_owned();
                (dom, title)
            })
            .await
            .unwrap();
            assert!(!dom.contains("<script"), "the route's markup became an element:\n{dom}");
            assert!(dom.contains("/x/&lt;script&gt;document.title='pwned'&lt;/script&gt;"), "{dom}");
            assert_eq!(title, "markup · obs", "no script ran");
            assert!(dom.contains("tests::obs_page::find_user") || dom.contains("obs_page::find_user"), "{dom}");
            println!("page checked");
        });
    });
    if let Some(output) = output {
        assert!(output.contains("page checked"), "{output}");
    }
}
