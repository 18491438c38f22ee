//! `--demo-traffic`: the service drives its own API and WebSocket the way the editor does,
//! with some invalid bodies and missing workflows, so every series moves.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// Drives traffic against `127.0.0.1:port` until `stop` turns true.
pub async fn drive(port: u16, mut stop: watch::Receiver<bool>) {
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client");
    let editor = tokio::spawn(editor(format!("ws://127.0.0.1:{port}/ws")));
    let mut round: u64 = 0;
    while !*stop.borrow() {
        round += 1;
        let _ = one_round(&http, &base, round).await;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = stop.changed() => break,
        }
    }
    editor.abort();
}

/// An editor tab: listens to workflow events and pings now and then.
async fn editor(url: String) {
    let Ok((socket, _)) = tokio_tungstenite::connect_async(url).await else { return };
    let (mut send, mut receive) = socket.split();
    let _ = send.send(Message::Text(json!({ "type": "subscribe" }).to_string().into())).await;
    let mut ping = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = ping.tick() => if send.send(Message::Text(json!({ "type": "ping" }).to_string().into())).await.is_err() { return },
            message = receive.next() => if message.is_none() { return },
        }
    }
}

async fn one_round(http: &reqwest::Client, base: &str, round: u64) -> Result<(), reqwest::Error> {
    // Node counts spread over the histogram's buckets: 0 to several hundred.
    let nodes: Vec<Value> =
        (0..(round * 37) % 400).map(|i| json!({ "id": format!("n{i}"), "type": "http_request" })).collect();
    let created: Value = http
        .post(format!("{base}/api/workflows"))
        .json(&json!({ "name": format!("Workflow {round}"), "nodes": nodes }))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    http.get(format!("{base}/api/workflows")).send().await?;
    http.get(format!("{base}/api/workflows/{id}")).send().await?;
    http.get(format!("{base}/api/workflows/no-such-workflow")).send().await?;
    http.post(format!("{base}/api/workflows")).json(&json!({ "name": "" })).send().await?;
    http.put(format!("{base}/api/workflows/{id}"))
        .json(&json!({ "name": format!("Workflow {round} (edited)"), "nodes": [] }))
        .send()
        .await?;
    http.put(format!("{base}/api/store/last-round")).json(&json!({ "round": round })).send().await?;
    http.get(format!("{base}/api/store/last-round")).send().await?;
    let session: Value =
        http.post(format!("{base}/api/sessions")).json(&json!({ "user": "demo" })).send().await?.json().await?;
    if let Some(session) = session["id"].as_str() {
        http.delete(format!("{base}/api/sessions/{session}")).send().await?;
    }
    // Keep some workflows, delete most.
    if !round.is_multiple_of(4) {
        http.delete(format!("{base}/api/workflows/{id}")).send().await?;
    }
    Ok(())
}
