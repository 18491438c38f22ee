//! WebSocket message counters (feature `ws`): `websocket_messages_total{direction,type}`.
//! Connections are counted by `#[ws_connection]` on the handler.

use crate::catalogue::WS_MESSAGES_TOTAL;
use crate::catalogue::normalise_label;

/// Counts one message received from a client, by its type (`text`, `binary`, `ping`, or an
/// application message type). The type is normalised and capped like every dynamic label.
///
/// ```
/// obs_runtime::ws::message_received("chat");
/// ```
pub fn message_received(kind: &str) {
    metrics::counter!(WS_MESSAGES_TOTAL.name, "direction" => "inbound", "type" => normalise_label(kind)).increment(1);
}

/// Counts `n` messages sent to a client (a broadcast to many counts once per recipient).
///
/// ```
/// obs_runtime::ws::message_sent("notification", 3);
/// ```
pub fn message_sent(kind: &str, n: u64) {
    metrics::counter!(WS_MESSAGES_TOTAL.name, "direction" => "outbound", "type" => normalise_label(kind)).increment(n);
}
