//! The scrape server's open connections, bounded: idle or trickling clients can never hold the
//! port against a real scraper.
//!
//! At most [`MAX_OPEN`] connections are open at once. A new connection is always accepted: when
//! the limit is reached, the connection that has been waiting longest for a request head is
//! closed to make room. A scraper's request is served as soon as its head arrives, so it is
//! never the one waiting longest; a client that sends nothing, or trickles its head, is. Each
//! head must also arrive within [`HEADER_TIMEOUT`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// Open connections at most: bounded file descriptors and memory.
pub(crate) const MAX_OPEN: usize = 512;

/// How long a client may take to send a request head (also the longest a keep-alive connection
/// stays idle between scrapes).
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// One open connection.
#[derive(Debug, Default)]
pub(crate) struct Connection {
    /// Fires to close the connection.
    pub(crate) shed: Notify,
    /// When it started waiting for a request head, as a sequence number; 0 while serving one.
    waiting_since: AtomicU64,
}

#[derive(Debug, Default)]
pub(crate) struct Connections {
    open: Mutex<Vec<Arc<Connection>>>,
    sequence: AtomicU64,
}

impl Connections {
    /// Registers a new connection, shedding the longest-waiting one when the limit is reached.
    /// `None` only when every open connection is busy serving (the new one is then refused).
    pub(crate) fn admit(&self) -> Option<Arc<Connection>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        // A finished connection's task has dropped its handle.
        open.retain(|c| Arc::strong_count(c) > 1);
        if open.len() >= MAX_OPEN {
            let oldest = open
                .iter()
                .enumerate()
                .filter(|(_, c)| c.waiting_since.load(Ordering::Relaxed) != 0)
                .min_by_key(|(_, c)| c.waiting_since.load(Ordering::Relaxed))
                .map(|(i, _)| i)?;
            open.swap_remove(oldest).shed.notify_one();
        }
        let connection = Arc::new(Connection::default());
        self.waiting(&connection);
        open.push(connection.clone());
        Some(connection)
    }

    /// `connection` is serving a request: it is not shed meanwhile.
    pub(crate) fn serving(&self, connection: &Connection) {
        connection.waiting_since.store(0, Ordering::Relaxed);
    }

    /// `connection` waits for its next request head, from now.
    pub(crate) fn waiting(&self, connection: &Connection) {
        connection.waiting_since.store(self.sequence.fetch_add(1, Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// How many are open.
    #[cfg(test)]
    fn len(&self) -> usize {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|c| Arc::strong_count(c) > 1);
        open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_waiting_connection_makes_room_and_busy_ones_stay() {
        let connections = Connections::default();
        let held: Vec<Arc<Connection>> = (0..MAX_OPEN).map(|_| connections.admit().unwrap()).collect();
        connections.serving(&held[0]);
        let newcomer = connections.admit().expect("always room for a new connection");
        assert_eq!(connections.len(), MAX_OPEN);
        // held[0] is busy, so held[1], the next oldest, was shed.
        assert!(futures_ready(held[1].shed.notified()), "the oldest waiting connection is told to close");
        assert!(!futures_ready(held[0].shed.notified()), "a connection serving a request is not");
        assert!(!futures_ready(newcomer.shed.notified()));
    }

    /// Whether a `Notified` future is ready at its first poll.
    fn futures_ready(notified: tokio::sync::futures::Notified<'_>) -> bool {
        use std::future::Future;
        let mut notified = std::pin::pin!(notified);
        let waker = std::task::Waker::noop();
        notified.as_mut().poll(&mut std::task::Context::from_waker(waker)).is_ready()
    }
}
