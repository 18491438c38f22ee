//! The workflow store: three collections (`workflows`, `store`, `sessions`) kept in memory and
//! written through to one JSON file, replaced atomically on every write. Its operations are
//! synchronous (a lock and a small file), so their metrics have no `cancelled` outcome: the
//! team's `db_operations_total` has `status` `success` and `error` only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use obs_runtime::instrument_db;
use serde::{Deserialize, Serialize};

/// One node of a workflow graph.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Node {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A workflow: a named graph of nodes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Workflow {
    pub id: String,
    pub name: String,
    pub nodes: Vec<Node>,
}

/// An editor session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub id: String,
    pub user: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Data {
    workflows: BTreeMap<String, Workflow>,
    store: BTreeMap<String, serde_json::Value>,
    sessions: BTreeMap<String, Session>,
}

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// Writing the file failed; memory is left as it was.
    Io(std::io::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Io(e) => write!(f, "cannot write the store file: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The store, shared by every handler.
#[derive(Clone, Debug)]
pub struct Store {
    file: Arc<PathBuf>,
    data: Arc<Mutex<Data>>,
}

impl Store {
    /// Opens the store file, or starts empty when it does not exist yet.
    pub fn open(file: PathBuf) -> Result<Self, String> {
        let data = match std::fs::read(&file) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a store file: {e}", file.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Data::default(),
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        };
        Ok(Self { file: Arc::new(file), data: Arc::new(Mutex::new(data)) })
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `change` to a copy, writes the copy, then keeps it: a failed write changes nothing.
    fn write<T>(&self, change: impl FnOnce(&mut Data) -> T) -> Result<T, StoreError> {
        let mut data = self.lock();
        let mut next = data.clone();
        let out = change(&mut next);
        let bytes = serde_json::to_vec(&next).map_err(|e| StoreError::Io(e.into()))?;
        let staging = self.file.with_extension("json.tmp");
        std::fs::write(&staging, bytes)
            .and_then(|()| std::fs::rename(&staging, &*self.file))
            .map_err(StoreError::Io)?;
        *data = next;
        Ok(out)
    }

    /// Every workflow, by id.
    #[instrument_db(operation = "read", table = "workflows", system = "other_sql")]
    pub fn list_workflows(&self) -> Result<Vec<Workflow>, StoreError> {
        Ok(self.lock().workflows.values().cloned().collect())
    }

    /// One workflow.
    #[instrument_db(operation = "read", table = "workflows", system = "other_sql")]
    pub fn get_workflow(&self, id: &str) -> Result<Option<Workflow>, StoreError> {
        Ok(self.lock().workflows.get(id).cloned())
    }

    /// Creates or replaces a workflow; returns how many workflows there are now.
    #[instrument_db(operation = "write", table = "workflows", system = "other_sql")]
    pub fn save_workflow(&self, workflow: &Workflow) -> Result<usize, StoreError> {
        self.write(|data| {
            data.workflows.insert(workflow.id.clone(), workflow.clone());
            data.workflows.len()
        })
    }

    /// Deletes a workflow; `None` when there was none, else how many are left.
    #[instrument_db(operation = "delete", table = "workflows", system = "other_sql")]
    pub fn delete_workflow(&self, id: &str) -> Result<Option<usize>, StoreError> {
        self.write(|data| data.workflows.remove(id).map(|_| data.workflows.len()))
    }

    /// A value of the key-value collection.
    #[instrument_db(operation = "read", table = "store", system = "other_sql")]
    pub fn get_value(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(self.lock().store.get(key).cloned())
    }

    /// Sets a value of the key-value collection.
    #[instrument_db(operation = "write", table = "store", system = "other_sql")]
    pub fn put_value(&self, key: &str, value: serde_json::Value) -> Result<(), StoreError> {
        self.write(|data| {
            data.store.insert(key.to_owned(), value);
        })
    }

    /// Opens an editor session.
    #[instrument_db(operation = "write", table = "sessions", system = "other_sql")]
    pub fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.write(|data| {
            data.sessions.insert(session.id.clone(), session.clone());
        })
    }

    /// Closes an editor session; false when there was none.
    #[instrument_db(operation = "delete", table = "sessions", system = "other_sql")]
    pub fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        self.write(|data| data.sessions.remove(id).is_some())
    }

    /// How many workflows there are, for the `workflows_total` gauge at start.
    pub fn workflow_count(&self) -> usize {
        self.lock().workflows.len()
    }
}
