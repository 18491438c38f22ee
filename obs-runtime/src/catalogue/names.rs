//! The names a service exposes: the catalogue's, after the prefix, the renames and the metrics
//! switched off. Resolved and checked once; the recorder applies them when it registers a
//! series, the exposition when it writes a fused family, and the catalogue, the ops generator
//! and the metrics reference read them.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::rename::MetricRename;
use super::{Metric, MetricKind, all};
use crate::error::InitError;

/// One metric's renamed parts.
#[derive(Clone, Debug)]
struct Renamed {
    metric: &'static Metric,
    /// The new name, without the prefix.
    name: Option<String>,
    labels: Vec<(&'static str, String)>,
    help: Option<String>,
    origin: &'static str,
}

/// The final names of obs's metrics.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names {
    prefix: String,
    renamed: Vec<Renamed>,
    disabled: Vec<&'static str>,
}

static INSTALLED: OnceLock<Names> = OnceLock::new();
static DEFAULT: Names = Names { prefix: String::new(), renamed: Vec::new(), disabled: Vec::new() };

/// A metric obs emits, by its catalogue name.
pub(crate) fn metric_named(name: &str) -> Option<&'static Metric> {
    all().find(|m| m.name == name)
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Names {
    /// Resolves `renames` and `disabled` for a recorder with `prefix` and `global_labels`,
    /// refusing a rename of a metric obs does not emit or of a label it does not have, a name
    /// Prometheus would not accept, a name another metric has, and two labels with one name.
    pub(crate) fn new(
        prefix: &str,
        renames: &[MetricRename],
        disabled: &[String],
        global_labels: &[&str],
    ) -> Result<Self, InitError> {
        let mut names = Names { prefix: prefix.to_owned(), renamed: Vec::new(), disabled: Vec::new() };
        for rename in renames {
            let refuse = |expected: String| InitError::invalid(rename.origin, rename.to_string(), expected);
            let Some(metric) = metric_named(&rename.metric) else {
                return Err(refuse(
                    "a rename of one of obs's metrics, by the name docs/metrics.md gives it, \
                     e.g. http_requests_total{path=route}"
                        .to_owned(),
                ));
            };
            if names.renamed.iter().any(|r| std::ptr::eq(r.metric, metric)) {
                return Err(refuse(format!("one rename per metric; {} is renamed twice", metric.name)));
            }
            if let Some(name) = rename.name.as_deref().filter(|n| !is_metric_name(n)) {
                return Err(refuse(format!(
                    "a metric name of ASCII letters, digits, _ and :, not starting with a digit (not {name:?})"
                )));
            }
            let mut labels = Vec::new();
            for (from, to) in &rename.labels {
                let Some(from) = metric.labels.iter().copied().find(|l| l == from) else {
                    return Err(refuse(format!("labels of {}: {}", metric.name, metric.labels.join(", "))));
                };
                if !is_label_name(to) {
                    return Err(refuse(format!(
                        "a label name of ASCII letters, digits and _, not starting with a digit or __ (not {to:?})"
                    )));
                }
                labels.push((from, to.clone()));
            }
            if let Some(help) = rename.help.as_deref().filter(|h| h.trim().is_empty() || h.contains('\n')) {
                return Err(refuse(format!("a HELP text on one line, not empty (not {help:?})")));
            }
            names.renamed.push(Renamed {
                metric,
                name: rename.name.clone(),
                labels,
                help: rename.help.clone(),
                origin: rename.origin,
            });
        }
        for name in disabled {
            let Some(metric) = metric_named(name) else {
                return Err(InitError::invalid(
                    "Config::disable_metric",
                    name.clone(),
                    "the name of one of obs's metrics, as docs/metrics.md gives it",
                ));
            };
            names.disabled.push(metric.name);
        }
        names.check_unique(global_labels)?;
        Ok(names)
    }

    /// No two metrics expose one name, and no metric has two labels with one name.
    fn check_unique(&self, global_labels: &[&str]) -> Result<(), InitError> {
        let exposed = |metric: &'static Metric| -> Vec<String> {
            let name = self.name(metric.name).into_owned();
            match metric.kind {
                MetricKind::Histogram => ["", "_bucket", "_sum", "_count"].map(|s| format!("{name}{s}")).to_vec(),
                _ => vec![name],
            }
        };
        let metrics: Vec<&'static Metric> = all().collect();
        for renamed in &self.renamed {
            let rename = self.as_rename(renamed);
            let mine = exposed(renamed.metric);
            if let Some(other) = metrics
                .iter()
                .find(|m| !std::ptr::eq(**m, renamed.metric) && exposed(m).iter().any(|n| mine.contains(n)))
            {
                return Err(InitError::invalid(
                    rename.origin,
                    rename.to_string(),
                    format!("a name no other metric exposes; {} collides with the series of {}", mine[0], other.name),
                ));
            }
            let mut seen: Vec<&str> = global_labels.to_vec();
            if renamed.metric.kind == MetricKind::Histogram {
                seen.push("le");
            }
            for label in renamed.metric.labels {
                let label = self.label(renamed.metric.name, label);
                if seen.contains(&label) {
                    return Err(InitError::invalid(
                        rename.origin,
                        rename.to_string(),
                        format!("labels with different names; {} would have two labels named {label}", mine[0]),
                    ));
                }
                seen.push(label);
            }
        }
        Ok(())
    }

    /// The rename a resolved entry came from, for errors.
    fn as_rename(&self, renamed: &Renamed) -> MetricRename {
        let mut rename = MetricRename::new(renamed.metric.name);
        rename.name = renamed.name.clone();
        rename.labels = renamed.labels.iter().map(|(f, t)| ((*f).to_owned(), t.clone())).collect();
        rename.help = renamed.help.clone();
        rename.origin = renamed.origin;
        rename
    }

    /// Makes these the names the catalogue reports (the first recorder installed wins).
    pub(crate) fn install(&self) {
        let _ = INSTALLED.set(self.clone());
    }

    /// The names of the installed recorder, or the catalogue's.
    pub(crate) fn installed() -> &'static Names {
        INSTALLED.get().unwrap_or(&DEFAULT)
    }

    /// Whether any name differs from the catalogue's besides the prefix.
    #[inline]
    pub(crate) fn renames_nothing(&self) -> bool {
        self.renamed.is_empty()
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    fn renamed(&self, metric: &str) -> Option<&Renamed> {
        self.renamed.iter().find(|r| r.metric.name == metric)
    }

    /// The exposed name of the metric `name` (obs's, by its catalogue name, or any other).
    pub(crate) fn name<'a>(&'a self, name: &'a str) -> Cow<'a, str> {
        let name = self.renamed(name).and_then(|r| r.name.as_deref()).unwrap_or(name);
        if self.prefix.is_empty() { Cow::Borrowed(name) } else { Cow::Owned(format!("{}{name}", self.prefix)) }
    }

    /// The exposed name of `label` of the metric `metric` (by catalogue names).
    pub(crate) fn label<'a>(&'a self, metric: &str, label: &'a str) -> &'a str {
        self.renamed(metric)
            .and_then(|r| r.labels.iter().find(|(from, _)| *from == label))
            .map_or(label, |(_, to)| to.as_str())
    }

    /// The HELP text of `metric`.
    pub(crate) fn help<'a>(&'a self, metric: &'a Metric) -> &'a str {
        self.renamed(metric.name).and_then(|r| r.help.as_deref()).unwrap_or(metric.help)
    }

    /// The HELP text of the metric `name`, when it is one of obs's and renamed.
    pub(crate) fn help_of(&self, name: &str) -> Option<&str> {
        self.renamed(name).and_then(|r| r.help.as_deref())
    }

    /// Whether the metric `name` (by its catalogue name) is switched off.
    #[inline]
    pub(crate) fn is_disabled(&self, name: &str) -> bool {
        !self.disabled.is_empty() && self.disabled.contains(&name)
    }

    /// The catalogue name of a metric named by its new name (without the prefix), or `name`.
    pub(crate) fn catalogue_name<'a>(&self, name: &'a str) -> &'a str {
        match self.renamed.iter().find(|r| r.name.as_deref() == Some(name)) {
            Some(renamed) => renamed.metric.name,
            None => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(renames: &str) -> Result<Names, InitError> {
        Names::new("gemini_flow_", &MetricRename::parse_all(renames).unwrap(), &[], &["app"])
    }

    #[test]
    fn renames_apply_to_names_labels_and_help() {
        let names = names(
            r#"http_requests_total{path=route} "Total number of HTTP requests";
               db_queries_total=db_operations_total{table=collection}"#,
        )
        .unwrap();
        assert_eq!(names.name("http_requests_total"), "gemini_flow_http_requests_total");
        assert_eq!(names.name("db_queries_total"), "gemini_flow_db_operations_total");
        assert_eq!(names.name("workflows_total"), "gemini_flow_workflows_total", "not obs's: prefix only");
        assert_eq!(names.label("http_requests_total", "path"), "route");
        assert_eq!(names.label("http_request_duration_seconds", "path"), "path", "per metric");
        assert_eq!(names.label("db_queries_total", "table"), "collection");
        assert_eq!(names.help(&super::super::HTTP_REQUESTS_TOTAL), "Total number of HTTP requests");
        assert_eq!(names.catalogue_name("db_operations_total"), "db_queries_total");
    }

    #[test]
    fn refusals_name_the_variable_the_rename_and_the_fix() {
        for (renames, expected) in [
            ("http_request_total{path=route}", "one of obs's metrics"),
            ("http_requests_total{route=path}", "labels of http_requests_total: method, path, status_code"),
            ("http_requests_total=2xx", "a metric name"),
            ("http_requests_total{path=__route}", "a label name"),
            (
                "db_queries_total=redis_calls_total",
                "gemini_flow_redis_calls_total collides with the series of redis_calls_total",
            ),
            ("db_queries_total=db_query_duration_seconds_count", "db_query_duration_seconds"),
            ("http_requests_total{path=method}", "two labels named method"),
            ("http_requests_total{path=app}", "two labels named app"),
            ("http_request_duration_seconds{path=le}", "two labels named le"),
            ("errors_total; errors_total", "renamed twice"),
            ("errors_total \" \"", "HELP text"),
        ] {
            let error = names(renames).unwrap_err().to_string();
            assert!(error.starts_with("OBS_METRIC_RENAMES="), "{error}");
            assert!(error.contains(expected), "{renames}: {error}");
        }
    }

    #[test]
    fn a_swap_of_two_label_names_is_fine() {
        let names = names("http_requests_total{path=method,method=path}").unwrap();
        assert_eq!(names.label("http_requests_total", "path"), "method");
    }
}
