//! A loopback port nobody listens on, held for as long as a test needs it.
//!
//! Binding a port and releasing it at once ("a port nothing listens on") races with every other
//! socket the machine binds: in CI a child's scrape server (`PROMETHEUS_PORT=0`) was given the
//! port just released, and the exporter that was meant to find nothing reached it instead.

use std::net::{SocketAddr, TcpListener};

/// A port bound and not listening: a connection to it is refused, and no other socket can take it
/// while this is alive.
#[derive(Debug)]
pub struct RefusedPort {
    socket: socket2::Socket,
    addr: SocketAddr,
}

impl RefusedPort {
    /// Holds a free loopback port.
    pub fn new() -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        Self { socket, addr }
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts listening on the port held: for a server that comes up where clients were refused,
    /// with no moment where another socket could take the port.
    pub fn listen(self) -> TcpListener {
        self.socket.listen(128).unwrap();
        self.socket.into()
    }
}

impl Default for RefusedPort {
    fn default() -> Self {
        Self::new()
    }
}
