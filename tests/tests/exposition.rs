//! The exposition: HELP, units, the prefix and the `app` label on every metric, and what
//! `promtool check metrics` (Debian's prometheus package) says of it.
#![cfg(all(feature = "db", feature = "queue"))]

use std::time::Duration;

use obs_tests::child::run_in_child;
use obs_tests::fixtures::{find_user, remind};
use obs_tests::prometheus::promtool_check;
use obs_tests::runtime;

#[test]
fn every_metric_has_help_a_unit_the_prefix_and_the_app_label() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("METRICS_PREFIX", "gemini_flow_"),
        ("OTEL_SERVICE_NAME", "mentorsmind"),
        ("OTEL_EXPORTER", "none"),
    ];
    let _ = run_in_child("", &env, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            for id in 1..=30 {
                let _ = find_user(id).await;
                let _ = remind(id).await;
            }
            metrics::histogram!("http_request_duration_seconds", "method" => "GET", "path" => "/users/{id}", "status_code" => "200").record(0.02);
            tokio::time::sleep(Duration::from_millis(600)).await; // one scheduler probe at least
            let text = obs_runtime::render();
            let mut families = Vec::new();
            for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
                let mut parts = line.split(' ').skip(2);
                let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
                assert_ne!(kind, "summary", "{name} must be a histogram");
                assert!(text.contains(&format!("# HELP {name} ")), "HELP for {name}");
                assert!(name.starts_with("gemini_flow_"), "{name} has the prefix");
                families.push((name.to_owned(), kind.to_owned()));
            }
            for expected in [
                ("gemini_flow_db_query_duration_seconds", "histogram"),
                ("gemini_flow_db_queries_total", "counter"),
                ("gemini_flow_queue_job_duration_seconds", "histogram"),
                ("gemini_flow_queue_jobs_total", "counter"),
                ("gemini_flow_http_request_duration_seconds", "histogram"),
                ("gemini_flow_process_resident_memory_bytes", "gauge"),
                ("gemini_flow_process_cpu_seconds_total", "counter"),
                ("gemini_flow_process_open_fds", "gauge"),
                ("gemini_flow_process_max_fds", "gauge"),
                ("gemini_flow_process_virtual_memory_bytes", "gauge"),
                ("gemini_flow_process_start_time_seconds", "gauge"),
                ("gemini_flow_process_threads", "gauge"),
                ("gemini_flow_tokio_scheduler_lag_seconds", "gauge"),
            ] {
                assert!(families.iter().any(|(n, k)| n == expected.0 && k == expected.1), "{expected:?} in {families:?}");
            }
            for sample in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
                assert!(sample.contains(r#"app="mentorsmind""#), "app label on {sample}");
            }
            let http_buckets = text.lines().filter(|l| l.starts_with("gemini_flow_http_request_duration_seconds_bucket{")).count();
            assert_eq!(http_buckets, 12, "DESIGN's 11 HTTP buckets and +Inf");
            // The catalogue names every metric obs emitted, with the type it has.
            let catalogue = include_str!("../../docs/metrics.md");
            for (name, kind) in &families {
                let bare = name.strip_prefix("gemini_flow_").unwrap();
                let row = catalogue.lines().find(|l| l.starts_with(&format!("| `{bare}` |")));
                let row = row.unwrap_or_else(|| panic!("{bare} is not in docs/metrics.md"));
                assert!(row.contains(&format!("| {kind}")), "{bare} is a {kind}: {row}");
            }
        });
    });
}

#[test]
fn promtool_finds_nothing_to_complain_about() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("METRICS_PREFIX", "gemini_flow_"),
        ("OTEL_EXPORTER", "none"),
        ("LOG_LEVEL", "off"),
    ];
    let _ = run_in_child("", &env, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            for id in 0..50 {
                let _ = find_user(id).await;
                let _ = remind(id).await;
            }
            metrics::histogram!("http_request_duration_seconds", "path" => "/users/{id}").record(0.01);
            tokio::time::sleep(Duration::from_millis(600)).await;
            let exposition = obs_runtime::render();
            let (ok, output) = promtool_check(&exposition);
            assert!(ok && output.trim().is_empty(), "promtool check metrics:\n{output}\n--- exposition\n{exposition}");
        });
    });
}

/// Regression (issue 9): a macro family's series and series recorded by hand under the same
/// name rendered as two `# HELP`/`# TYPE` blocks, which `promtool check metrics` rejects.
#[test]
fn regression_one_block_per_metric_name_whatever_recorded_it() {
    let env =
        [("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none"), ("LOG_LEVEL", "off")];
    let _ = run_in_child("", &env, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            for id in 1..=9 {
                let _ = find_user(id).await; // nine successes of SELECT users
            }
            // The same label set by hand: merged into the macro's series.
            let users = [("operation", "SELECT"), ("table", "users"), ("status", "success")];
            metrics::counter!("db_queries_total", &users).increment(2);
            // A query the attribute cannot wrap: a series of its own in the same block.
            metrics::counter!("db_queries_total", "operation" => "SELECT", "table" => "raw", "status" => "error")
                .increment(1);
            metrics::histogram!("db_query_duration_seconds", "operation" => "SELECT", "table" => "raw").record(0.003);
            metrics::histogram!("db_query_duration_seconds", "operation" => "SELECT", "table" => "users").record(0.5);
            // A family no call site feeds: one block, with the catalogue's HELP.
            metrics::counter!("redis_calls_total", "command" => "eval", "status" => "success").increment(1);

            let text = obs_runtime::render();
            for name in ["db_queries_total", "db_query_duration_seconds", "redis_calls_total"] {
                let types = text.lines().filter(|l| l.starts_with(&format!("# TYPE {name} "))).count();
                assert_eq!(types, 1, "one TYPE line for {name}:\n{text}");
            }
            let app = r#"app="exposition""#;
            let line = |l: String| assert!(text.lines().any(|x| x == l), "{l} in\n{text}");
            line(format!(r#"db_queries_total{{{app},operation="SELECT",table="users",status="success"}} 11"#));
            line(format!(r#"db_queries_total{{{app},operation="SELECT",table="raw",status="error"}} 1"#));
            line(format!(r#"db_query_duration_seconds_count{{{app},operation="SELECT",table="users"}} 10"#));
            // The family's buckets (1 ms first), not the HTTP default.
            line(format!(r#"db_query_duration_seconds_bucket{{{app},operation="SELECT",table="raw",le="0.001"}} 0"#));
            line(format!(r#"db_query_duration_seconds_bucket{{{app},operation="SELECT",table="raw",le="0.005"}} 1"#));
            assert!(
                text.contains(
                    "# HELP redis_calls_total Redis calls by command and outcome; errors also by error type."
                ),
                "{text}"
            );
            let (ok, output) = promtool_check(&text);
            assert!(ok && output.trim().is_empty(), "promtool check metrics:\n{output}\n--- exposition\n{text}");
        });
    });
}

/// Seconds from clock ticks of `/proc/self/stat` fields (numbered as in proc(5)).
#[cfg(target_os = "linux")]
fn proc_stat_seconds(fields: &[usize]) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields.iter().map(|n| after_name[n - 3].parse::<u64>().unwrap()).sum();
    ticks as f64 / clock_ticks()
}

#[cfg(target_os = "linux")]
fn clock_ticks() -> f64 {
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

/// Regression (issue 13): `process_cpu_seconds_total` went through an integer counter, so it
/// was rounded down to whole seconds and `rate()` over it was a staircase; the start time lost
/// its fraction the same way.
#[cfg(target_os = "linux")]
#[test]
fn regression_process_cpu_seconds_and_start_time_are_exact() {
    let env =
        [("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none"), ("LOG_LEVEL", "off")];
    let _ = run_in_child("", &env, || {
        let _guard = obs_runtime::init().unwrap();
        // Some CPU time, as /proc counts it, well short of a whole second: truncation shows.
        let mut x = 0_u64;
        while proc_stat_seconds(&[14, 15]) < 0.15 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        let tick = 1.0 / clock_ticks();
        let before = proc_stat_seconds(&[14, 15]);
        let text = obs_runtime::render();
        let after = proc_stat_seconds(&[14, 15]);
        let value = |name: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name}{{")))
                .unwrap_or_else(|| panic!("{name} in\n{text}"));
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };
        let cpu = value("process_cpu_seconds_total");
        assert!(cpu >= before - tick && cpu <= after + tick, "cpu {cpu} s; /proc/self/stat said {before}..{after} s");
        assert_eq!(text.matches("# TYPE process_cpu_seconds_total counter").count(), 1, "{text}");

        let boot: f64 = std::fs::read_to_string("/proc/stat")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let start = boot + proc_stat_seconds(&[22]);
        let reported = value("process_start_time_seconds");
        assert!((reported - start).abs() <= tick, "start time {reported}, /proc says {start}");
        let (ok, output) = promtool_check(&text);
        assert!(ok && output.trim().is_empty(), "promtool check metrics:\n{output}");
    });
}
