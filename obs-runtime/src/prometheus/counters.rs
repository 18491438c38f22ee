//! Counters registered by hand under the name of a macro family (`db_queries_total` for a
//! query the attribute cannot wrap): kept by obs, not the exporter, so the fused store renders
//! them in the family's one block (see `call_stats`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::Key;

#[derive(Debug, Default)]
pub(crate) struct CounterRegistry {
    series: Mutex<HashMap<Key, Arc<AtomicU64>>>,
}

impl CounterRegistry {
    pub(crate) fn register(&self, key: &Key) -> Arc<AtomicU64> {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        series.entry(key.clone()).or_default().clone()
    }

    /// Every series of the metric `name` (final name): its labels and value.
    pub(crate) fn series_of(&self, name: &str) -> Vec<(Vec<(String, String)>, u64)> {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<_> = series
            .iter()
            .filter(|(key, _)| key.name() == name)
            .map(|(key, value)| (super::text::key_labels(key), value.load(Ordering::Relaxed)))
            .collect();
        found.sort();
        found
    }
}
