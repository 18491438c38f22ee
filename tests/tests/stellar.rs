//! `#[stellar_call]`: the network label, explicit or the runtime default.
#![cfg(feature = "stellar")]

use obs_runtime::stellar_call;
use obs_runtime::testing::{SpanKind, capture_async};
use obs_tests::{CapturedSpans, assert_counted};

#[stellar_call(operation = "loadAccount")]
async fn load_account(id: &str) -> Result<u64, String> {
    if id.starts_with('G') { Ok(100) } else { Err(format!("account {id} not found")) }
}

#[stellar_call(operation = "submitTransaction", network = "public")]
async fn submit(envelope: &str) -> Result<String, String> {
    Ok(format!("hash-of-{}", envelope.len()))
}

#[tokio::test]
async fn default_network_comes_from_the_runtime() {
    // No install sets it here, so the default is the environment's, else testnet.
    let network = std::env::var("STELLAR_NETWORK").ok().filter(|v| !v.is_empty()).unwrap_or_else(|| "testnet".into());
    let network = network.as_str();
    let labels = [("operation", "loadAccount"), ("network", network)];
    let (_, captured) = capture_async(load_account("GABC")).await;
    assert_counted(&captured, "stellar_api_calls_total", "stellar_api_call_duration_seconds", &labels, "success");
    let span = captured.only_span("stellar.loadAccount");
    assert_eq!(span.kind, SpanKind::Client);
    assert_eq!(span.attr("stellar.operation"), Some("loadAccount"));
    assert_eq!(span.attr("stellar.network"), Some(network));

    let (_, captured) = capture_async(load_account("nope")).await;
    assert_counted(&captured, "stellar_api_calls_total", "stellar_api_call_duration_seconds", &labels, "error");
}

#[tokio::test]
async fn explicit_network() {
    let labels = [("operation", "submitTransaction"), ("network", "public")];
    let (_, captured) = capture_async(submit("AAAA")).await;
    assert_counted(&captured, "stellar_api_calls_total", "stellar_api_call_duration_seconds", &labels, "success");
    assert_eq!(captured.only_span("stellar.submitTransaction").attr("stellar.network"), Some("public"));
}
