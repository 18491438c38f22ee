//! [`MetricRename`]: a new name, new label names or a new HELP text for one of obs's metrics,
//! from the builder or from `OBS_METRIC_RENAMES`, whose syntax this module parses.

use std::fmt;

/// Where a rename came from, for the error that refuses it.
pub(crate) const ENV: &str = "OBS_METRIC_RENAMES";
const BUILDER: &str = "Config::rename_metric";

/// The syntax of one `OBS_METRIC_RENAMES` entry, as an error message says it.
pub(crate) const SYNTAX: &str = "entries separated by `;`, each `metric[=new_name][{label=new_label,…}][ \"HELP text\"]`, \
     e.g. db_queries_total=db_operations_total{table=collection}";

/// A new name, new label names and a new HELP text for one of obs's metrics, named as
/// `docs/metrics.md` names it (without the prefix). Applied once, when a series is registered;
/// the call path is the same whatever the names.
///
/// From the environment, `OBS_METRIC_RENAMES` takes the same as entries separated by `;`, each
/// `metric[=new_name][{label=new_label,…}][ "HELP text"]`, which is also what this type
/// displays as:
///
/// ```
/// use obs_runtime::MetricRename;
///
/// let rename = MetricRename::new("db_queries_total").to("db_operations_total").label("table", "collection");
/// assert_eq!(rename.to_string(), "db_queries_total=db_operations_total{table=collection}");
///
/// let config = obs_runtime::Config::default()
///     .rename_metric(rename)
///     .with_vars([("OBS_METRIC_RENAMES", r#"http_requests_total{path=route} "Total number of HTTP requests""#)])?;
/// assert_eq!(config.metrics().renames.len(), 2);
/// # Ok::<(), obs_runtime::InitError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a rename does nothing until given to `Config::rename_metric`"]
pub struct MetricRename {
    pub(crate) metric: String,
    pub(crate) name: Option<String>,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) help: Option<String>,
    /// The variable or builder method it came from, for errors.
    pub(crate) origin: &'static str,
}

impl MetricRename {
    /// Renames parts of `metric`, one of obs's metrics (`http_requests_total`, …).
    pub fn new(metric: impl Into<String>) -> Self {
        Self { metric: metric.into(), name: None, labels: Vec::new(), help: None, origin: BUILDER }
    }

    /// Its new name, before the prefix: `db_operations_total`.
    pub fn to(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Renames its label `from` (e.g. `path`) to `to` (e.g. `route`).
    pub fn label(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.labels.push((from.into(), to.into()));
        self
    }

    /// Its HELP text.
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    /// Parses `OBS_METRIC_RENAMES`; the error is the first malformed entry, as written.
    pub(crate) fn parse_all(value: &str) -> Result<Vec<MetricRename>, String> {
        split_entries(value)
            .into_iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| parse_entry(entry).ok_or_else(|| entry.trim().to_owned()))
            .collect()
    }
}

impl fmt::Display for MetricRename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.metric)?;
        if let Some(name) = &self.name {
            write!(f, "={name}")?;
        }
        if !self.labels.is_empty() {
            let labels: Vec<String> = self.labels.iter().map(|(from, to)| format!("{from}={to}")).collect();
            write!(f, "{{{}}}", labels.join(","))?;
        }
        if let Some(help) = &self.help {
            write!(f, " \"{}\"", help.replace('\\', "\\\\").replace('"', "\\\""))?;
        }
        Ok(())
    }
}

/// Splits at `;` outside double quotes.
fn split_entries(value: &str) -> Vec<&str> {
    let (mut entries, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                entries.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    entries.push(&value[start..]);
    entries
}

/// One entry; the names are checked later, with the metric they belong to.
fn parse_entry(entry: &str) -> Option<MetricRename> {
    let mut rest = entry.trim();
    let word_end = |s: &str| s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(s.len());
    let end = word_end(rest);
    let mut rename = MetricRename::new(&rest[..end]);
    rename.origin = ENV;
    rest = rest[end..].trim_start();
    if let Some(after) = rest.strip_prefix('=') {
        let after = after.trim_start();
        let end = word_end(after);
        rename.name = Some(after[..end].to_owned());
        rest = after[end..].trim_start();
    }
    if let Some(after) = rest.strip_prefix('{') {
        let close = after.find('}')?;
        for pair in after[..close].split(',').filter(|p| !p.trim().is_empty()) {
            let (from, to) = pair.split_once('=')?;
            rename.labels.push((from.trim().to_owned(), to.trim().to_owned()));
        }
        rest = after[close + 1..].trim_start();
    }
    if let Some(after) = rest.strip_prefix('"') {
        let (mut help, mut escaped, mut closed) = (String::new(), false, None);
        for (i, c) in after.char_indices() {
            match c {
                _ if escaped => {
                    help.push(c);
                    escaped = false;
                }
                '\\' => escaped = true,
                '"' => {
                    closed = Some(i + 1);
                    break;
                }
                _ => help.push(c),
            }
        }
        rest = after[closed?..].trim_start();
        rename.help = Some(help);
    }
    let named = |s: &Option<String>| s.as_ref().is_none_or(|s| !s.is_empty());
    let labels_named = rename.labels.iter().all(|(from, to)| !from.is_empty() && !to.is_empty());
    (rest.is_empty() && !rename.metric.is_empty() && named(&rename.name) && labels_named).then_some(rename)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_display_back() {
        let value = r#" http_requests_total{path=route} "Total number of HTTP requests; all of them" ;
            db_queries_total = db_operations_total { table = collection } ;
            active_websocket_connections=websocket_connections_active;
            errors_total "Errors by \"type\"";"#;
        let renames = MetricRename::parse_all(value).unwrap();
        let shown: Vec<String> = renames.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                r#"http_requests_total{path=route} "Total number of HTTP requests; all of them""#,
                "db_queries_total=db_operations_total{table=collection}",
                "active_websocket_connections=websocket_connections_active",
                r#"errors_total "Errors by \"type\"""#,
            ]
        );
        assert!(renames.iter().all(|r| r.origin == ENV));
        for shown in &shown {
            assert_eq!(&MetricRename::parse_all(shown).unwrap()[0].to_string(), shown, "round trip");
        }
    }

    #[test]
    fn a_malformed_entry_is_returned_whole() {
        for (value, bad) in [
            ("http_requests_total{path=route", "http_requests_total{path=route"),
            ("ok_total; db_queries_total=", "db_queries_total="),
            ("http_requests_total{path}", "http_requests_total{path}"),
            ("http_requests_total \"unclosed", "http_requests_total \"unclosed"),
            ("http requests", "http requests"),
            ("=new_name", "=new_name"),
            ("x{a=}", "x{a=}"),
        ] {
            assert_eq!(MetricRename::parse_all(value), Err(bad.to_owned()), "{value}");
        }
    }
}
