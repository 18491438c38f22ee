//! A small Stellar Horizon client on reqwest; every call carries `#[stellar_call]`, and each
//! HTTP request it makes gets a client span of its own whose context goes to Horizon.

use obs_runtime::client::SendTraced;
use obs_runtime::stellar_call;
use serde::Deserialize;

/// Why a Horizon call failed.
#[derive(Debug)]
pub enum HorizonError {
    /// Horizon could not be reached, or did not answer in time.
    Unreachable(String),
    /// The account does not exist on the network.
    AccountNotFound(String),
    /// Horizon answered with an error status.
    Status(u16),
    /// Horizon answered with something that is not Horizon's JSON.
    Malformed(String),
}

impl std::fmt::Display for HorizonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HorizonError::Unreachable(e) => write!(f, "Stellar Horizon is unreachable: {e}"),
            HorizonError::AccountNotFound(id) => write!(f, "Stellar account {id} not found"),
            HorizonError::Status(code) => write!(f, "Stellar Horizon answered {code}"),
            HorizonError::Malformed(e) => write!(f, "Stellar Horizon answered something unexpected: {e}"),
        }
    }
}

impl std::error::Error for HorizonError {}

/// The parts of Horizon's account resource the service uses.
#[derive(Debug, Deserialize)]
pub struct Account {
    /// The account id.
    pub id: String,
    /// The sequence number for the next transaction.
    pub sequence: String,
}

#[derive(Debug, Deserialize)]
struct Submitted {
    hash: String,
}

/// The client.
#[derive(Clone, Debug)]
pub struct Horizon {
    client: reqwest::Client,
    base: String,
}

impl Horizon {
    /// A client for the Horizon at `base`, giving up on a call after `timeout`.
    pub fn new(base: String, timeout: std::time::Duration) -> Self {
        // The generated monitoring has the outgoing requests' panels and alert from the start.
        obs_runtime::client::catalogue_server(&base);
        let client = reqwest::Client::builder().timeout(timeout).build().expect("a plain HTTP client");
        Self { client, base }
    }

    /// `GET /accounts/{id}`.
    #[stellar_call(operation = "loadAccount")]
    pub async fn load_account(&self, id: &str) -> Result<Account, HorizonError> {
        let url = format!("{}/accounts/{id}", self.base);
        let response =
            self.client.get(url).send_traced().await.map_err(|e| HorizonError::Unreachable(e.to_string()))?;
        match response.status().as_u16() {
            200 => response.json().await.map_err(|e| HorizonError::Malformed(e.to_string())),
            404 => Err(HorizonError::AccountNotFound(id.to_owned())),
            code => Err(HorizonError::Status(code)),
        }
    }

    /// `POST /transactions` with a signed envelope; returns the transaction hash.
    #[stellar_call(operation = "submitTransaction", objective = super::objectives::HORIZON_SUBMIT)]
    pub async fn submit_transaction(&self, envelope: &str) -> Result<String, HorizonError> {
        let url = format!("{}/transactions", self.base);
        let request = self.client.post(url).form(&[("tx", envelope)]);
        let response = request.send_traced().await.map_err(|e| HorizonError::Unreachable(e.to_string()))?;
        match response.status().as_u16() {
            200 => {
                response.json::<Submitted>().await.map(|s| s.hash).map_err(|e| HorizonError::Malformed(e.to_string()))
            }
            code => Err(HorizonError::Status(code)),
        }
    }
}
