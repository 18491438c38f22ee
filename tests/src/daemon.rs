//! Starting a server binary the tests drive (Prometheus, Alertmanager) on a free loopback port.
//!
//! The port is chosen free and released before the binary binds it, so another socket of the
//! machine can take it meanwhile: the binary then exits, and it is started again on another port.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `command(addr)` on a free port until `ready(addr)` holds while it runs (three tries,
/// 30 s each); returns the running child and its address.
pub fn start_on_free_port(
    name: &str,
    command: impl Fn(SocketAddr) -> Command,
    ready: impl Fn(SocketAddr) -> bool,
) -> (Child, SocketAddr) {
    for _ in 0..3 {
        let addr = free_addr();
        let mut child = command(addr)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        // Ready, and still running: what answered is this child, not the port's other owner.
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            if ready(addr) && matches!(child.try_wait(), Ok(None)) {
                return (child, addr);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{name} did not become ready in three attempts");
}

/// A loopback address whose port was free a moment ago.
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}
