//! The page as HTML: one self-contained document, no external assets, no script; it reloads
//! itself every five seconds. Every text it prints passes through [`escape`]: label values are
//! user input.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::figures::{Gauges, Page};

/// `&`, `<`, `>`, `"` and `'` as entities.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn seconds(value: Option<f64>) -> String {
    match value {
        Some(s) if s < 1.0 => format!("{:.1} ms", s * 1e3),
        Some(s) => format!("{s:.2} s"),
        None => "–".to_owned(),
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{:.2} %", v * 100.0))
}

fn labels(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{}=\"{}\"", escape(k), escape(v))).collect();
    pairs.join(", ")
}

fn table(out: &mut String, title: &str, head: &[&str], rows: Vec<Vec<String>>) {
    let _ = write!(out, "<h2>{}</h2>", escape(title));
    if rows.is_empty() {
        out.push_str("<p class=\"none\">none</p>");
        return;
    }
    out.push_str("<table><tr>");
    for cell in head {
        let _ = write!(out, "<th>{}</th>", escape(cell));
    }
    out.push_str("</tr>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            // Cells are escaped where they are made: some hold markup of their own (<code>).
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn gauges(rows: &[Gauges]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| {
            let values: Vec<String> = row.values.iter().map(|(k, v)| format!("{}: {v}", escape(k))).collect();
            vec![escape(&row.name), values.join(", ")]
        })
        .collect()
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:20px}h2{font-size:16px;\
margin-top:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;\
vertical-align:top;max-width:26em;overflow-wrap:anywhere}th{background:#f3f3f3;white-space:nowrap}code{font-size:12px}.none{color:#888}\
.bad{color:#b00}";

pub(crate) fn render(page: &Page) -> String {
    let mut out = String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\">");
    out.push_str("<meta http-equiv=\"refresh\" content=\"5\">");
    let _ = write!(out, "<title>{} · obs</title><style>{STYLE}</style></head><body>", escape(&page.service));
    let _ = write!(
        out,
        "<h1>{}</h1><p>version {} · revision {} · up {:.0} s</p>",
        escape(&page.service),
        escape(&page.version),
        escape(&page.revision),
        page.uptime_seconds
    );
    let sites = page
        .sites
        .iter()
        .map(|s| {
            let errors: Vec<String> = s.errors.iter().map(|(k, v)| format!("{}: {v}", escape(k))).collect();
            vec![
                format!("<code>{}</code>", escape(&s.function)),
                escape(&s.kind),
                labels(&s.labels),
                format!("<code>{}:{}</code>", escape(&s.file), s.line),
                escape(s.objective.as_deref().unwrap_or("")),
                s.calls.to_string(),
                errors.join(", "),
                seconds(s.p50_seconds),
                seconds(s.p95_seconds),
                format!("<code>{}</code>", escape(s.exemplar_trace_id.as_deref().unwrap_or(""))),
            ]
        })
        .collect();
    let head = ["function", "kind", "labels", "where", "objective", "calls", "errors", "p50", "p95", "latest trace"];
    table(&mut out, "Call sites", &head, sites);
    let routes = page
        .routes
        .iter()
        .map(|r| {
            let objective = escape(r.objective.as_deref().unwrap_or(""));
            vec![
                escape(&r.path),
                objective,
                r.requests.to_string(),
                format!("{:.2}", r.per_second),
                percent(r.error_ratio),
            ]
        })
        .collect();
    table(&mut out, "Routes", &["route", "objective", "requests", "per second", "5xx"], routes);
    let objectives = page
        .objectives
        .iter()
        .map(|o| {
            let budget = 1.0 - o.target;
            let class = if o.bad_ratio.is_some_and(|b| b > budget) { " class=\"bad\"" } else { "" };
            vec![
                escape(&o.name),
                escape(o.sli),
                format!("{:.2} %", o.target * 100.0),
                o.events.to_string(),
                format!("<span{class}>{}</span>", percent(o.bad_ratio)),
            ]
        })
        .collect();
    table(&mut out, "Objectives since start", &["objective", "SLI", "target", "events", "bad"], objectives);
    table(&mut out, "Connection pools", &["pool", "now"], gauges(&page.pools));
    table(&mut out, "Queues", &["queue", "now"], gauges(&page.queues));
    let pipeline = page
        .pipeline
        .iter()
        .map(|c| {
            let labels: BTreeMap<String, String> = c.labels.clone();
            vec![escape(&c.metric), self::labels(&labels), c.value.to_string()]
        })
        .collect();
    table(&mut out, "Span export and series cap", &["counter", "labels", "value"], pipeline);
    out.push_str(
        "<p class=\"none\">The same as JSON: <a href=\"obs.json\">obs.json</a>. Generated by obs.</p></body></html>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_value_is_text() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
