//! Gauges read when the exposition renders (a scrape, a push), not on any call path: connection
//! pools, queues, the build. A source registers once; what it reads costs nothing until a
//! scraper asks. A source that needs I/O (a queue's reader) is refreshed before a scrape or a
//! push within a deadline: a reading that fails or is late is left out of that exposition, never
//! waited for.

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::text::{escape_help, labels_body};
use crate::catalogue::{Metric, Names};

/// One gauge reading.
#[derive(Debug)]
pub(crate) struct Reading {
    pub(crate) metric: &'static Metric,
    /// Label values by catalogue label names, in the metric's order.
    pub(crate) labels: Vec<(&'static str, String)>,
    pub(crate) value: f64,
}

/// A future a source's refresh runs.
pub(crate) type Refresh = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What gives readings at render time.
pub(crate) trait Source: Send + Sync + 'static {
    /// Its readings now; cheap and never blocking.
    fn read(&self, out: &mut Vec<Reading>);

    /// A fresh reading that needs I/O, started now and given up at `until`; none by default.
    fn refresh(&self, _until: tokio::time::Instant) -> Option<Refresh> {
        None
    }
}

static SOURCES: RwLock<Vec<Arc<dyn Source>>> = RwLock::new(Vec::new());

/// How long a scrape or a push waits for the sources' fresh readings.
pub(crate) const REFRESH_DEADLINE: Duration = Duration::from_secs(1);

/// Adds `source` to every exposition from now on.
pub(crate) fn register(source: Arc<dyn Source>) {
    SOURCES.write().unwrap_or_else(|e| e.into_inner()).push(source);
}

/// Refreshes every source that needs I/O, side by side, all given up after `deadline`.
pub(crate) async fn refresh(deadline: Duration) {
    let until = tokio::time::Instant::now() + deadline;
    let pending: Vec<Refresh> = {
        let sources = SOURCES.read().unwrap_or_else(|e| e.into_inner());
        sources.iter().filter_map(|s| s.refresh(until)).collect()
    };
    // Each started when asked and gives up at `until`: waiting for them in turn waits one
    // deadline at most.
    for refresh in pending {
        refresh.await;
    }
}

/// Appends every source's readings, a `# HELP`/`# TYPE` block per family, under the service's
/// names and with its global labels.
pub(crate) fn render(out: &mut String, names: &Names, global_labels: &[(String, String)]) {
    let mut readings = Vec::new();
    for source in SOURCES.read().unwrap_or_else(|e| e.into_inner()).iter() {
        source.read(&mut readings);
    }
    let mut families: Vec<&'static Metric> = Vec::new();
    for reading in &readings {
        if !families.iter().any(|m| m.name == reading.metric.name) {
            families.push(reading.metric);
        }
    }
    for metric in families {
        if names.is_disabled(metric.name) {
            continue;
        }
        let exposed = names.name(metric.name);
        let _ = writeln!(out, "# HELP {exposed} {}", escape_help(names.help(metric)));
        let _ = writeln!(out, "# TYPE {exposed} gauge");
        for reading in readings.iter().filter(|r| r.metric.name == metric.name) {
            let mut labels: Vec<(&str, &str)> = global_labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            labels.extend(reading.labels.iter().map(|(k, v)| (names.label(metric.name, k), v.as_str())));
            let body = labels_body(&labels);
            let _ = writeln!(out, "{exposed}{{{body}}} {}", reading.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::QUEUE_DEPTH;

    struct Depth;
    impl Source for Depth {
        fn read(&self, out: &mut Vec<Reading>) {
            out.push(Reading { metric: &QUEUE_DEPTH, labels: vec![("queue_name", "a\"b".to_owned())], value: 3.0 });
        }
    }

    #[test]
    fn renders_one_block_per_family_with_global_labels_and_escaped_values() {
        register(Arc::new(Depth));
        let mut out = String::new();
        render(&mut out, &Names::default(), &[("app".to_owned(), "shop".to_owned())]);
        assert!(out.contains("# TYPE queue_depth gauge\nqueue_depth{app=\"shop\",queue_name=\"a\\\"b\"} 3\n"), "{out}");
    }
}
