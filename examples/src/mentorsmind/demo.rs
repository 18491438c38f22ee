//! `--demo-traffic`: the service drives a realistic mix of its own endpoints, including 404s, a
//! reminder job that fails and a payment that fails, so every panel of the dashboard moves.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::watch;

/// Drives traffic against `127.0.0.1:port` until `stop` turns true.
pub async fn drive(port: u16, mut stop: watch::Receiver<bool>) {
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client");
    // One listener for notifications, as a browser tab would be.
    let listener = tokio::spawn(listen(format!("ws://127.0.0.1:{port}/ws")));
    let mut round: u64 = 0;
    while !*stop.borrow() {
        round += 1;
        let _ = one_round(&http, &base, round).await;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => break,
        }
    }
    listener.abort();
}

async fn listen(url: String) {
    if let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url).await {
        while socket.next().await.is_some() {}
    }
}

async fn one_round(http: &reqwest::Client, base: &str, round: u64) -> Result<(), reqwest::Error> {
    // Every 7th reminder bounces on every attempt and is given up on; every 5th fails its first
    // attempt and is retried.
    let email = match round {
        r if r.is_multiple_of(7) => format!("mentee{round}@bounce.invalid"),
        r if r.is_multiple_of(5) => format!("mentee{round}@flaky.invalid"),
        _ => format!("mentee{round}@example.com"),
    };
    let mentee: Value = http
        .post(format!("{base}/users"))
        .json(&json!({ "name": format!("Mentee {round}"), "email": email }))
        .send()
        .await?
        .json()
        .await?;
    let mentor: Value = http
        .post(format!("{base}/users"))
        .json(&json!({ "name": format!("Mentor {round}"), "email": "mentor@example.com" }))
        .send()
        .await?
        .json()
        .await?;
    let mentee_id = mentee["id"].as_str().unwrap_or_default().to_owned();
    let mentor_id = mentor["id"].as_str().unwrap_or_default();
    for _ in 0..3 {
        http.get(format!("{base}/users/{mentee_id}")).send().await?;
    }
    http.get(format!("{base}/users")).send().await?;
    http.get(format!("{base}/users/no-such-user")).send().await?;
    http.get(format!("{base}/definitely/not/a/route/{round}")).send().await?;
    http.patch(format!("{base}/users/{mentee_id}"))
        .json(&json!({ "name": format!("Mentee {round} (renamed)") }))
        .send()
        .await?;
    http.post(format!("{base}/sessions"))
        .json(&json!({ "mentor_id": mentor_id, "mentee_id": mentee_id }))
        .send()
        .await?;
    // A valid-looking Stellar account most rounds; a bad one now and then.
    let destination = if round.is_multiple_of(5) { "not-an-account".to_owned() } else { format!("G{:0>55}", round) };
    http.post(format!("{base}/payments"))
        .json(&json!({ "user_id": mentee_id, "destination": destination, "amount": "10" }))
        .send()
        .await?;
    if round.is_multiple_of(3) {
        http.delete(format!("{base}/users/{mentor_id}")).send().await?;
    }
    Ok(())
}
