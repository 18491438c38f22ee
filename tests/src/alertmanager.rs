//! A real Alertmanager (Debian's `prometheus-alertmanager`) for tests: started on a free
//! loopback port with a given config and no cluster, fed alerts through its API, read back with
//! `amtool alert query`, and stopped when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use serde_json::Value;

/// Where Debian installs the server.
pub const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// A running Alertmanager.
#[derive(Debug)]
pub struct AlertmanagerServer {
    child: Child,
    /// Its HTTP address.
    pub addr: SocketAddr,
    dir: PathBuf,
}

impl AlertmanagerServer {
    /// Starts Alertmanager with `config`; panics with how to install it when it is missing.
    pub fn start(config: &Path) -> Self {
        assert!(
            Path::new(ALERTMANAGER).exists(),
            "{ALERTMANAGER} is missing: run scripts/test, which installs it (or apt-get install -y prometheus-alertmanager)"
        );
        let dir = std::env::temp_dir().join(format!(
            "obs-alertmanager-{}-{}",
            std::process::id(),
            crate::daemon::free_addr().port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (child, addr) = crate::daemon::start_on_free_port(
            "prometheus-alertmanager",
            |addr| {
                let mut command = Command::new(ALERTMANAGER);
                command
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!("--storage.path={}", dir.display()))
                    .arg(format!("--web.listen-address={addr}"))
                    // No gossip: a single instance, and no second port to collide on.
                    .arg("--cluster.listen-address=")
                    .arg("--log.level=warn");
                command
            },
            |addr| std::net::TcpStream::connect(addr).is_ok(),
        );
        Self { child, addr, dir }
    }

    /// Posts alerts (each `{"labels": {…}, "annotations": {…}}`) as Prometheus does, firing now.
    pub fn post(&self, alerts: &[Value]) {
        let body = serde_json::to_string(alerts).unwrap();
        let request = format!(
            "POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (status, _, text) = crate::raw_http(self.addr, &request);
        assert_eq!(status, 200, "POST /api/v2/alerts: {text}");
    }

    /// Every alert, inhibited ones included, as `amtool alert query --inhibited -o json` lists them.
    pub fn query(&self) -> Vec<Value> {
        let output = Command::new("amtool")
            .args(["alert", "query", "--inhibited", "--silenced", "--active", "-o", "json"])
            .arg(format!("--alertmanager.url=http://{}", self.addr))
            .output()
            .expect("amtool: run scripts/test, which installs it");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "amtool: {text}{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_str::<Value>(&text).ok().and_then(|v| v.as_array().cloned()).unwrap_or_default()
    }
}

impl Drop for AlertmanagerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
