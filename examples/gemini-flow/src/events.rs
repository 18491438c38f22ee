//! The WebSocket at `/ws`: every connected editor hears about workflow changes, and may ping.

use axum::extract::ws::{Message, WebSocket};
use obs_runtime::ws_connection;
use serde_json::json;
use tokio::sync::broadcast;

/// Fans workflow events out to connected clients.
#[derive(Clone, Debug)]
pub struct Events(broadcast::Sender<String>);

impl Default for Events {
    fn default() -> Self {
        Self(broadcast::channel(256).0)
    }
}

impl Events {
    /// Tells every connected client that `workflow` had `event` (`workflow_created`, …):
    /// `websocket_messages_total{direction="outbound",type=event}` counts one per recipient.
    pub fn publish(&self, event: &'static str, workflow: &str) {
        let text = json!({ "type": event, "workflow_id": workflow }).to_string();
        let listeners = self.0.send(text).unwrap_or(0);
        obs_runtime::ws::message_sent(event, listeners as u64);
    }

    /// Serves one client until it leaves; `websocket_connections_active` counts it meanwhile.
    #[ws_connection]
    pub async fn serve(&self, mut socket: WebSocket) {
        let mut events = self.0.subscribe();
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(text) => if socket.send(Message::Text(text.into())).await.is_err() { return },
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        // Clients send `{"type":"ping"}`; the type is the message's label.
                        let kind = serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .and_then(|v| v["type"].as_str().map(str::to_owned))
                            .filter(|t| t == "ping" || t == "subscribe")
                            .unwrap_or_else(|| "unknown".to_owned());
                        obs_runtime::ws::message_received(&kind);
                        if kind == "ping" {
                            let pong = json!({ "type": "pong" }).to_string();
                            if socket.send(Message::Text(pong.into())).await.is_err() { return }
                            obs_runtime::ws::message_sent("pong", 1);
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                },
            }
        }
    }
}
