//! `#[ws_connection]`: the gauge goes up while a handler runs and back down however it ends,
//! checked through a real recorder installed for this test binary.
#![cfg(feature = "ws")]

use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use obs_runtime::ws_connection;
use obs_tests::catch_panic;
use tokio::sync::oneshot;

#[ws_connection]
async fn handle_socket(hang_up: oneshot::Receiver<()>, explode: bool) -> u32 {
    let _ = hang_up.await;
    if explode {
        panic!("handler exploded");
    }
    1
}

#[ws_connection]
fn handle_sync() -> u8 {
    2
}

fn gauge(prometheus: &PrometheusHandle) -> f64 {
    prometheus
        .render()
        .lines()
        .find_map(|line| line.strip_prefix("active_websocket_connections "))
        .map_or(0.0, |value| value.parse().expect("a number"))
}

async fn until_gauge(snapshotter: &PrometheusHandle, expected: f64) {
    for _ in 0..200 {
        if gauge(snapshotter) == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("active_websocket_connections stayed at {} instead of {expected}", gauge(snapshotter));
}

#[tokio::test]
async fn gauge_returns_to_its_value_after_completion_panic_and_cancellation() {
    let snapshotter = PrometheusBuilder::new().install_recorder().expect("the only recorder of this test binary");

    assert_eq!(handle_sync(), 2);
    assert_eq!(gauge(&snapshotter), 0.0);

    // Completed.
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(handle_socket(rx, false));
    until_gauge(&snapshotter, 1.0).await;
    tx.send(()).unwrap();
    assert_eq!(task.await.unwrap(), 1);
    assert_eq!(gauge(&snapshotter), 0.0);

    // Two at once, one panics.
    let (tx_a, rx_a) = oneshot::channel();
    let (tx_b, rx_b) = oneshot::channel();
    let a = tokio::spawn(catch_panic(handle_socket(rx_a, true)));
    let b = tokio::spawn(handle_socket(rx_b, false));
    until_gauge(&snapshotter, 2.0).await;
    tx_a.send(()).unwrap();
    assert_eq!(a.await.unwrap().unwrap_err(), "handler exploded");
    assert_eq!(gauge(&snapshotter), 1.0);
    tx_b.send(()).unwrap();
    b.await.unwrap();
    assert_eq!(gauge(&snapshotter), 0.0);

    // Cancelled: the connection's future is dropped while waiting.
    let (_tx, rx) = oneshot::channel::<()>();
    let result = tokio::time::timeout(Duration::from_millis(30), handle_socket(rx, false)).await;
    assert!(result.is_err());
    assert_eq!(gauge(&snapshotter), 0.0);

    // Aborted task.
    let (_tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(handle_socket(rx, false));
    until_gauge(&snapshotter, 1.0).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(gauge(&snapshotter), 0.0);
}
