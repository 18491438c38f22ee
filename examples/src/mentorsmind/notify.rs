//! WebSocket notifications: every connected client hears about new sessions.

use axum::extract::ws::{Message, WebSocket};
use obs_runtime::ws_connection;
use tokio::sync::broadcast;

/// Fans notifications out to connected clients.
#[derive(Clone, Debug)]
pub struct Notifier(broadcast::Sender<String>);

impl Default for Notifier {
    fn default() -> Self {
        Self(broadcast::channel(256).0)
    }
}

impl Notifier {
    /// Sends `text` to every connected client.
    pub fn publish(&self, text: String) {
        let listeners = self.0.send(text).unwrap_or(0);
        obs_runtime::ws::message_sent("notification", listeners as u64);
    }

    /// Serves one client until it leaves.
    #[ws_connection]
    pub async fn serve(&self, mut socket: WebSocket) {
        let mut notifications = self.0.subscribe();
        loop {
            tokio::select! {
                notification = notifications.recv() => match notification {
                    Ok(text) => if socket.send(Message::Text(text.into())).await.is_err() { return },
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(_))) => obs_runtime::ws::message_received("text"),
                    Some(Ok(Message::Ping(_))) => obs_runtime::ws::message_received("ping"),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => obs_runtime::ws::message_received("other"),
                },
            }
        }
    }
}
