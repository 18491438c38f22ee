//! Counters and gauges recorded through obs's recorder (all but the macro families', which the
//! fused store and `counters` keep): one atomic per series, and the series' line prefix
//! (`name{labels} `, escaped, global labels merged) written once when it is registered. A
//! scrape then copies bytes and formats one number per series: no allocation per series, no
//! sorting, and recording never takes the lock.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::Key;

use super::text::{escape_help, merged_labels_body, sanitize_metric_name};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// One metric's series, in the order they were registered.
#[derive(Debug, Default)]
struct Block {
    series: Vec<(Box<str>, Arc<AtomicU64>)>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By key, for registration: naive code registers on every call.
    counters: HashMap<Key, Arc<AtomicU64>>,
    gauges: HashMap<Key, Arc<AtomicU64>>,
    /// By name, for the exposition.
    counter_blocks: BTreeMap<String, Block>,
    gauge_blocks: BTreeMap<String, Block>,
    help: HashMap<String, String>,
}

/// The counters and gauges of one recorder, by final key.
#[derive(Debug, Default)]
pub(crate) struct ScalarRegistry {
    global_labels: Vec<(String, String)>,
    inner: Mutex<Inner>,
}

impl ScalarRegistry {
    pub(crate) fn new(global_labels: Vec<(String, String)>) -> Self {
        Self { global_labels, inner: Mutex::default() }
    }

    /// The counter of `key`; its value is a `u64`.
    pub(crate) fn counter(&self, key: &Key) -> Arc<AtomicU64> {
        self.register(key, Kind::Counter)
    }

    /// The gauge of `key`; its value is an `f64`'s bits, as `metrics`' `GaugeFn for AtomicU64`
    /// keeps it.
    pub(crate) fn gauge(&self, key: &Key) -> Arc<AtomicU64> {
        self.register(key, Kind::Gauge)
    }

    fn register(&self, key: &Key, kind: Kind) -> Arc<AtomicU64> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *inner;
        let (by_key, blocks) = match kind {
            Kind::Counter => (&mut inner.counters, &mut inner.counter_blocks),
            Kind::Gauge => (&mut inner.gauges, &mut inner.gauge_blocks),
        };
        if let Some(existing) = by_key.get(key) {
            return existing.clone();
        }
        let value = Arc::new(AtomicU64::new(if kind == Kind::Gauge { 0f64.to_bits() } else { 0 }));
        by_key.insert(key.clone(), value.clone());
        let name = sanitize_metric_name(key.name());
        let prefix = self.line_prefix(&name, key);
        blocks.entry(name.into_owned()).or_default().series.push((prefix, value.clone()));
        value
    }

    /// `name{labels} `.
    fn line_prefix(&self, name: &str, key: &Key) -> Box<str> {
        let labels = merged_labels_body(&self.global_labels, key);
        let mut prefix = String::with_capacity(name.len() + labels.len() + 3);
        prefix.push_str(name);
        if !labels.is_empty() {
            prefix.push('{');
            prefix.push_str(&labels);
            prefix.push('}');
        }
        prefix.push(' ');
        prefix.into_boxed_str()
    }

    /// Sets the HELP text of the counter or gauge `name` (final name).
    pub(crate) fn describe(&self, name: &str, help: String) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.help.insert(sanitize_metric_name(name).into_owned(), help);
    }

    /// Appends every counter's block, then every gauge's, each sorted by name.
    pub(crate) fn render(&self, out: &mut String) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (kind, blocks) in [(Kind::Counter, &inner.counter_blocks), (Kind::Gauge, &inner.gauge_blocks)] {
            for (name, block) in blocks {
                if let Some(help) = inner.help.get(name) {
                    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
                }
                let type_name = if kind == Kind::Counter { "counter" } else { "gauge" };
                let _ = writeln!(out, "# TYPE {name} {type_name}");
                let mut digits = itoa::Buffer::new();
                for (prefix, value) in &block.series {
                    out.push_str(prefix);
                    let value = value.load(Ordering::Relaxed);
                    match kind {
                        Kind::Counter => out.push_str(digits.format(value)),
                        Kind::Gauge => super::text::push_float(out, f64::from_bits(value)),
                    }
                    out.push('\n');
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics::{CounterFn, GaugeFn, Label};

    use super::*;

    #[test]
    fn renders_sorted_blocks_with_global_labels_first_and_escaped_values() {
        let registry = ScalarRegistry::new(vec![("app".into(), "svc".into())]);
        let key = |name: &str, labels: &[(&'static str, &'static str)]| {
            Key::from_parts(name.to_owned(), labels.iter().map(|(k, v)| Label::new(*k, *v)).collect::<Vec<_>>())
        };
        CounterFn::increment(&*registry.counter(&key("orders_total", &[("kind", "a\"b\\c\nd")])), 3);
        CounterFn::increment(&*registry.counter(&key("orders_total", &[("kind", "a\"b\\c\nd")])), 1);
        CounterFn::increment(&*registry.counter(&key("logins_total", &[("app", "override")])), 2);
        GaugeFn::set(&*registry.gauge(&key("queue depth", &[])), 2.5);
        GaugeFn::set(&*registry.gauge(&key("infinite", &[])), f64::INFINITY);
        registry.describe("orders_total", "Orders.\nTwo lines \\ here".into());
        let mut text = String::new();
        registry.render(&mut text);
        let expected = "# TYPE logins_total counter\n\
            logins_total{app=\"override\"} 2\n\
            # HELP orders_total Orders.\\nTwo lines \\\\ here\n\
            # TYPE orders_total counter\n\
            orders_total{app=\"svc\",kind=\"a\\\"b\\\\c\\nd\"} 4\n\
            # TYPE infinite gauge\n\
            infinite{app=\"svc\"} +Inf\n\
            # TYPE queue_depth gauge\n\
            queue_depth{app=\"svc\"} 2.5\n";
        assert_eq!(text, expected);
    }
}
