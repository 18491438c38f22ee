//! The guard of a `#[ws_connection]` handler.

use std::sync::Arc;

use super::site::GaugeSite;
use crate::catalogue::WS_CONNECTIONS;
use crate::testing::{self, Sink};

/// Keeps `active_websocket_connections` one higher while a `#[ws_connection]` handler runs,
/// however it ends. Used by the expansions.
#[derive(Debug)]
#[must_use]
pub struct WsConnection {
    site: &'static GaugeSite,
    sink: Option<Arc<Sink>>,
}

impl WsConnection {
    /// Counts a connection in.
    #[inline]
    pub fn open(site: &'static GaugeSite) -> Self {
        site.add(1.0);
        let sink = testing::current_sink();
        if let Some(sink) = &sink {
            sink.add_gauge(WS_CONNECTIONS.name, 1.0);
        }
        Self { site, sink }
    }
}

impl Drop for WsConnection {
    fn drop(&mut self) {
        self.site.add(-1.0);
        if let Some(sink) = &self.sink {
            sink.add_gauge(WS_CONNECTIONS.name, -1.0);
        }
    }
}
