//! The Prometheus text format's pieces that obs writes itself: histogram lines, label sets and
//! escaping.

use std::fmt::Write as _;

/// One histogram series from per-bucket counts: cumulative buckets, sum and count. `labels` is the label set without
/// braces (`k="v",…`), built once per series rather than once per line. `exemplars` holds
/// each bucket's exemplar suffix, if any (OpenMetrics only; empty otherwise).
pub(crate) fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    les: &[String],
    buckets: &[u64],
    sum: f64,
    exemplars: &[Option<String>],
) {
    let separator = if labels.is_empty() { "" } else { "," };
    let mut cumulative = 0;
    for (i, (le, bucket)) in les.iter().zip(buckets).enumerate() {
        cumulative += bucket;
        let exemplar = exemplars.get(i).and_then(Option::as_deref).unwrap_or("");
        let _ = writeln!(out, "{name}_bucket{{{labels}{separator}le=\"{le}\"}} {cumulative}{exemplar}");
    }
    let braced = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
    let _ = writeln!(out, "{name}_sum{braced} {sum}");
    let _ = writeln!(out, "{name}_count{braced} {cumulative}");
}

/// `k="v",…` with Prometheus text-format escaping, no braces.
pub(crate) fn labels_body(labels: &[(&str, String)]) -> String {
    let mut body = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(body, "{k}=\"{}\"", escape_value(v));
    }
    body
}

/// Label values: `\`, `"` and newline escaped, as the text format specifies.
pub(crate) fn escape_value(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

/// HELP text: `\` and newline escaped.
pub(crate) fn escape_help(help: &str) -> String {
    help.replace('\\', r"\\").replace('\n', r"\n")
}

/// A key's labels as owned pairs, in order.
pub(crate) fn key_labels(key: &metrics::Key) -> Vec<(String, String)> {
    key.labels().map(|label| (label.key().to_owned(), label.value().to_owned())).collect()
}

/// Whether two label sets are the same set, whatever their order.
pub(crate) fn same_labels(a: &[(&str, &str)], b: &[(String, String)]) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.iter().any(|(bk, bv)| bk == k && bv == v))
}
