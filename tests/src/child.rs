//! Running a test body in a fresh child process of the test binary: obs installs process-wide
//! globals (the `metrics` recorder, the `tracing` subscriber), so every scenario that calls
//! `init()` gets a process of its own, with only the environment it names.

use std::process::Command;

const MARKER: &str = "OBS_CHILD_TEST";

/// Variables obs reads, removed from a child's environment unless the test sets them.
pub const OBS_VARIABLES: &[&str] =
    &["OTEL_", "PROMETHEUS_", "METRICS_", "LOG_", "RUST_LOG", "JAEGER_", "OBS_", "STELLAR_"];

/// Runs `body` in a child process of the calling test with `env`, and fails with the child's
/// output if it fails. A test that runs several cases gives each its own `case`, so the child
/// runs that one only. The test is found by its own name (libtest names each test's thread
/// after it).
/// Returns the child's standard output in the parent, and `None` in the child itself, so
/// assertions on the output run once.
#[must_use = "assert on the child's output, or ignore it explicitly"]
pub fn run_in_child(case: &str, env: &[(&str, &str)], body: impl FnOnce()) -> Option<String> {
    let thread = std::thread::current();
    let name = thread.name().filter(|name| *name != "main").expect("run_in_child is called from a #[test]");
    let marker = format!("{name}/{case}");
    match std::env::var(MARKER) {
        Ok(running) if running == marker => {
            body();
            return None;
        }
        // A child of another case of the same test: not this one.
        Ok(_) => return None,
        Err(_) => {}
    }
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command.args([name, "--exact", "--nocapture", "--test-threads=1"]).env(MARKER, &marker);
    for (key, _) in std::env::vars() {
        if OBS_VARIABLES.iter().any(|p| key.starts_with(p)) {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("spawn the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child test {marker} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    Some(stdout.into_owned())
}

/// Whether this process is a child started by [`run_in_child`]; parents own shared fixtures.
pub fn is_child() -> bool {
    std::env::var(MARKER).is_ok()
}

/// The resident set size of this process, in bytes.
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
    pages * 4096
}
