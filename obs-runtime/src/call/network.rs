//! The default `network` label of `#[stellar_call]` sites that do not name one.

use std::sync::RwLock;

static DEFAULT_NETWORK: RwLock<Option<&'static str>> = RwLock::new(None);

/// The network used when `#[stellar_call]` names none: what the runtime was configured with,
/// else `STELLAR_NETWORK`, else `testnet`.
pub fn default_network() -> &'static str {
    if let Some(network) = *DEFAULT_NETWORK.read().unwrap_or_else(|e| e.into_inner()) {
        return network;
    }
    let network = std::env::var("STELLAR_NETWORK")
        .ok()
        .filter(|v| !v.is_empty())
        .map_or("testnet", |v| &*Box::leak(v.into_boxed_str()));
    *DEFAULT_NETWORK.write().unwrap_or_else(|e| e.into_inner()) = Some(network);
    network
}

/// Sets the default network and makes cached call sites pick it up.
pub(crate) fn set_default_network(network: &str) {
    let network: &'static str = Box::leak(network.to_owned().into_boxed_str());
    *DEFAULT_NETWORK.write().unwrap_or_else(|e| e.into_inner()) = Some(network);
    crate::prometheus::generation::bump();
}
