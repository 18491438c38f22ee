//! The Prometheus text format's pieces that obs writes itself: histogram lines, label sets and
//! escaping.

use std::fmt::Write as _;

/// One histogram series from per-bucket counts: cumulative buckets, sum and count. `labels` is
/// the label set without braces (`k="v",…`), built once per series rather than once per line.
/// `exemplar(i, out)` may append bucket `i`'s exemplar suffix (OpenMetrics only). Writes
/// straight into `out`: nothing is allocated.
pub(crate) fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    les: &[String],
    buckets: impl IntoIterator<Item = u64>,
    sum: f64,
    exemplar: impl Fn(usize, &mut String),
) {
    let mut digits = itoa::Buffer::new();
    let mut cumulative = 0;
    for (i, (le, bucket)) in les.iter().zip(buckets).enumerate() {
        cumulative += bucket;
        out.push_str(name);
        out.push_str("_bucket{");
        out.push_str(labels);
        if !labels.is_empty() {
            out.push(',');
        }
        out.push_str("le=\"");
        out.push_str(le);
        out.push_str("\"} ");
        out.push_str(digits.format(cumulative));
        exemplar(i, out);
        out.push('\n');
    }
    for (suffix, value) in [("_sum", None), ("_count", Some(cumulative))] {
        out.push_str(name);
        out.push_str(suffix);
        if !labels.is_empty() {
            out.push('{');
            out.push_str(labels);
            out.push('}');
        }
        out.push(' ');
        match value {
            Some(count) => out.push_str(digits.format(count)),
            None => push_float(out, sum),
        }
        out.push('\n');
    }
}

/// `k="v",…` with Prometheus text-format escaping, no braces.
pub(crate) fn labels_body<K: AsRef<str>, V: AsRef<str>>(labels: &[(K, V)]) -> String {
    let mut body = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(k.as_ref());
        body.push_str("=\"");
        push_label_value(&mut body, v.as_ref());
        body.push('"');
    }
    body
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

/// Appends a label value with the text format's escaping of `\`, `"` and newline, without an
/// intermediate string.
pub(crate) fn push_label_value(out: &mut String, value: &str) {
    if !value.contains(['\\', '"', '\n']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            c => out.push(c),
        }
    }
}

/// A sample value as Prometheus reads it: `+Inf`, `-Inf`, `NaN`, else Rust's shortest
/// round-trip form.
pub(crate) fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{value}");
    }
}

/// A metric name as the text format allows it (`[a-zA-Z_:][a-zA-Z0-9_:]*`): other characters
/// become `_`, as metrics-exporter-prometheus did before obs rendered these itself.
pub(crate) fn sanitize_metric_name(name: &str) -> std::borrow::Cow<'_, str> {
    sanitize(name, |c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A label name as the text format allows it (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub(crate) fn sanitize_label_name(name: &str) -> std::borrow::Cow<'_, str> {
    sanitize(name, |c| c.is_ascii_alphanumeric() || c == '_')
}

fn sanitize(name: &str, allowed: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    let leading_digit = name.starts_with(|c: char| c.is_ascii_digit());
    if !leading_digit && !name.is_empty() && name.chars().all(&allowed) {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut clean: String = name.chars().map(|c| if allowed(c) { c } else { '_' }).collect();
    if leading_digit || clean.is_empty() {
        clean.insert(0, '_');
    }
    std::borrow::Cow::Owned(clean)
}

/// A series' label set as `k="v",…` (no braces), escaped: `global` first, a key's label of the
/// same name in its place. Built once, when the series is registered.
pub(crate) fn merged_labels_body(global: &[(String, String)], key: &metrics::Key) -> String {
    let mut labels: Vec<(std::borrow::Cow<'_, str>, &str)> =
        global.iter().map(|(k, v)| (std::borrow::Cow::Borrowed(k.as_str()), v.as_str())).collect();
    for label in key.labels() {
        let name = sanitize_label_name(label.key());
        match labels.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = label.value(),
            None => labels.push((name, label.value())),
        }
    }
    labels_body(&labels)
}
