//! A real Prometheus server (Debian's `prometheus` package) for tests: started on a free
//! loopback port from a temporary config that scrapes the given targets every second, queried
//! through its HTTP API, and stopped by pid when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where Debian installs the server and its checker.
pub const PROMETHEUS: &str = "/usr/bin/prometheus";
/// `promtool`, from the same package.
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// One scrape target.
#[derive(Clone, Debug)]
pub struct Target {
    /// `host:port` of the scrape server.
    pub addr: SocketAddr,
    /// The metrics path.
    pub path: String,
    /// A bearer token to send, if the target needs one.
    pub bearer_token: Option<String>,
}

/// A running Prometheus server.
#[derive(Debug)]
pub struct PrometheusServer {
    child: Child,
    /// The server's HTTP API address.
    pub addr: SocketAddr,
    dir: PathBuf,
}

impl PrometheusServer {
    /// Starts Prometheus scraping `targets` every second; panics with how to install it when
    /// the package is missing (CI installs it; a skipped check proves nothing).
    pub fn start(targets: &[Target]) -> Self {
        let jobs: Vec<(String, Target)> =
            targets.iter().enumerate().map(|(i, target)| (format!("target{i}"), target.clone())).collect();
        Self::start_with_rules(&jobs, &[])
    }

    /// Starts Prometheus scraping each `(job name, target)` every second and evaluating
    /// `rule_files` every second.
    pub fn start_with_rules(jobs: &[(String, Target)], rule_files: &[PathBuf]) -> Self {
        Self::start_with_features(jobs, rule_files, &[])
    }

    /// Like [`Self::start_with_rules`], with Prometheus's `--enable-feature` flags, e.g.
    /// `exemplar-storage`.
    pub fn start_with_features(jobs: &[(String, Target)], rule_files: &[PathBuf], features: &[&str]) -> Self {
        assert!(
            std::path::Path::new(PROMETHEUS).exists(),
            "{PROMETHEUS} is missing: run scripts/test, which installs it (or apt-get install -y prometheus)"
        );
        let dir = std::env::temp_dir().join(format!(
            "obs-prometheus-{}-{}",
            std::process::id(),
            crate::daemon::free_addr().port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n");
        if !rule_files.is_empty() {
            config.push_str("rule_files:\n");
            for file in rule_files {
                config.push_str(&format!("  - '{}'\n", file.display()));
            }
        }
        config.push_str("scrape_configs:\n");
        // One scrape config per job, with every target of that job (replicas of one service).
        let mut seen: Vec<&str> = Vec::new();
        for (job, target) in jobs {
            if seen.contains(&job.as_str()) {
                continue;
            }
            seen.push(job);
            let addrs: Vec<String> =
                jobs.iter().filter(|(j, _)| j == job).map(|(_, t)| format!("'{}'", t.addr)).collect();
            config.push_str(&format!(
                "  - job_name: {job}\n    metrics_path: {}\n    static_configs:\n      - targets: [{}]\n",
                target.path,
                addrs.join(", ")
            ));
            if let Some(token) = &target.bearer_token {
                config.push_str(&format!("    authorization:\n      type: Bearer\n      credentials: {token}\n"));
            }
        }
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let config = dir.join("prometheus.yml");
        let (child, addr) = crate::daemon::start_on_free_port(
            "prometheus",
            |addr| {
                let mut command = Command::new(PROMETHEUS);
                command
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
                    .arg(format!("--web.listen-address={addr}"))
                    .arg("--log.level=warn")
                    .args(features.iter().map(|f| format!("--enable-feature={f}")));
                command
            },
            |addr| reqwest::blocking_get(&format!("http://{addr}/-/ready")).is_ok_and(|response| response.0 == 200),
        );
        Self { child, addr, dir }
    }

    /// An instant query's `data.result`.
    pub fn query(&self, promql: &str) -> Vec<Value> {
        let url = format!("http://{}/api/v1/query", self.addr);
        let body = reqwest::blocking_query(&url, promql);
        let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        assert_eq!(parsed["status"], "success", "{promql}: {parsed}");
        parsed["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// An instant query's `data.result` at `time` (Unix seconds), e.g. a recorded sample's own
    /// evaluation time.
    pub fn query_at(&self, promql: &str, time: f64) -> Vec<Value> {
        let url = format!("http://{}/api/v1/query", self.addr);
        let body = reqwest::blocking_query_at(&url, promql, time);
        let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        assert_eq!(parsed["status"], "success", "{promql}: {parsed}");
        parsed["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// `GET /api/v1/<path>`'s `data`, e.g. `rules` or `alerts`.
    pub fn api(&self, path: &str) -> Value {
        let (status, body) = reqwest::blocking_get(&format!("http://{}/api/v1/{path}", self.addr)).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        parsed["data"].clone()
    }

    /// Polls `promql` until it returns at least one series, whatever its value (a ratio of
    /// zero rates is NaN, and still an answer), or `timeout` passes; returns the last result.
    pub fn wait_for_series(&self, promql: &str, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.query(promql);
            if !result.is_empty() || Instant::now() >= deadline {
                return result;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Polls `promql` until it returns a non-empty result with at least one finite value, or
    /// fails. (A series whose only increase happened before the first scrape has a zero rate,
    /// so a quantile over it is NaN: that is an answer, not a missing one.)
    pub fn wait_for_result(&self, promql: &str, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.query(promql);
            let numeric = result
                .iter()
                .any(|r| r["value"][1].as_str().is_some_and(|v| v.parse::<f64>().is_ok_and(f64::is_finite)));
            if numeric {
                return result;
            }
            assert!(Instant::now() < deadline, "{promql} returned nothing usable within {timeout:?}: {result:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `promtool check metrics` on `exposition`; returns its exit success and its output.
pub fn promtool_check(exposition: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool: run scripts/test, which installs it (or apt-get install -y prometheus)");
    child.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Blocking HTTP for the helpers above, on a throwaway runtime (callers may be on any thread).
mod reqwest {
    pub fn blocking_get(url: &str) -> Result<(u16, String), ::reqwest::Error> {
        let url = url.to_owned();
        run(async move {
            let response = ::reqwest::get(url).await?;
            let status = response.status().as_u16();
            Ok((status, response.text().await?))
        })
    }

    pub fn blocking_query(url: &str, promql: &str) -> String {
        let url = ::reqwest::Url::parse_with_params(url, &[("query", promql)]).unwrap();
        run(async move { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }

    pub fn blocking_query_at(url: &str, promql: &str, time: f64) -> String {
        let url = ::reqwest::Url::parse_with_params(url, &[("query", promql), ("time", &time.to_string())]).unwrap();
        run(async move { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }

    fn run<T: Send + 'static>(future: impl std::future::Future<Output = T> + Send + 'static) -> T {
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
        })
        .join()
        .unwrap()
    }
}
