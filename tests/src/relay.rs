//! A relay that adds a bearer token to every request it forwards: what a proxy or a browser
//! extension does for a page behind a token, for clients (a headless browser) that cannot send
//! a header themselves.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Listens on a free loopback port and forwards each connection to `target`, with
/// `Authorization: Bearer <token>` added to its request head. Returns where it listens.
pub async fn with_bearer(target: SocketAddr, token: &str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let header = format!("Authorization: Bearer {token}\r\n");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let header = header.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head);
                let Some((line, rest)) = text.split_once("\r\n") else { return };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else { return };
                let request = format!("{line}\r\n{header}{rest}");
                if upstream.write_all(request.as_bytes()).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    addr
}
