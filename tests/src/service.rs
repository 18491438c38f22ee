//! A reference service as a child process, its JSON log lines collected as they come.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The service, started with `env`, its JSON log lines collected as they come.
#[derive(Debug)]
pub struct Service {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
    /// The API's base URL.
    pub api: String,
    /// The scrape URL.
    pub metrics: String,
}

impl Service {
    /// Starts the binary at `exe` (a reference service) with `env`.
    pub fn start(exe: &str, env: &[(&str, &str)]) -> Self {
        Self::start_with_args(exe, &[], env)
    }

    /// Starts the binary at `exe` with command-line `args` and `env`.
    pub fn start_with_args(exe: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(exe);
        command.args(args);
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        // obs's variables and the service's own, so only what the test sets applies.
        const SERVICE_VARIABLES: &[&str] = &["DATABASE_URL", "REDIS_URL", "PORT", "GEMINI_FLOW_STORE"];
        for (key, _) in std::env::vars() {
            if crate::child::OBS_VARIABLES.iter().chain(SERVICE_VARIABLES).any(|p| key.starts_with(p)) {
                command.env_remove(key);
            }
        }
        command.envs([
            ("PORT", "0"),
            ("PROMETHEUS_HOST", "127.0.0.1"),
            ("PROMETHEUS_PORT", "0"),
            ("LOG_FORMAT", "json"),
        ]);
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("start the service");
        let lines: Arc<Mutex<Vec<Value>>> = Arc::default();
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(value);
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let (mut api, mut metrics) = (None, None);
        while api.is_none() || metrics.is_none() {
            assert!(Instant::now() < deadline, "the service did not start: {:#?}", lines.lock().unwrap());
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the service exited with {status}: {:#?}", lines.lock().unwrap());
            }
            for line in lines.lock().unwrap().iter() {
                let message = line["message"].as_str().unwrap_or_default();
                // `<service> listening on <url>`, with `(metrics at /metrics)` when the app
                // serves its metrics itself.
                if let Some((_, rest)) = message.split_once(" listening on ") {
                    let url = rest.split_whitespace().next().unwrap_or_default().to_owned();
                    if let Some(path) = rest.split_once("(metrics at ").map(|(_, p)| p.trim_end_matches(')')) {
                        metrics = Some(format!("{url}{path}"));
                    }
                    api = Some(url);
                }
                if let Some(url) = message.strip_prefix("Prometheus scrape target: ") {
                    metrics = Some(url.to_owned());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, lines, api: api.unwrap(), metrics: metrics.unwrap() }
    }

    /// The log lines whose message contains `fragment`.
    pub fn lines_with(&self, fragment: &str) -> Vec<Value> {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|l| l["message"].as_str().is_some_and(|m| m.contains(fragment))).cloned().collect()
    }

    /// Whether a log line's message contains `fragment`.
    pub fn logged(&self, fragment: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l["message"].as_str().is_some_and(|m| m.contains(fragment)))
    }

    /// SIGTERM, then the exit status within `timeout`.
    pub fn terminate(mut self, timeout: Duration) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the service did not stop within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
