//! OpenMetrics 1.0 text, for scrapers that ask for it: content negotiation on `Accept` (with
//! q-values, as HTTP specifies them), and the exposition rewritten from the Prometheus text
//! format: counter families named without `_total`, HELP escaped as OpenMetrics escapes it, no
//! blank lines, and the closing `# EOF`. `_created` samples are optional in OpenMetrics and obs
//! writes none. Anyone else gets the Prometheus text format unchanged.

use std::fmt::Write as _;

/// The content type of OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which exposition format a scraper gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/plain; version=0.0.4`: the default, and the answer to anything unclear.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

/// How well one media range matches a format: its specificity (2 exact, 1 `type/*`, 0 `*/*`)
/// and q-value, or `None` when it does not match.
fn matches(range: &str, params: &[(String, String)], format: Format) -> Option<u8> {
    let (kind, subtype, version) = match format {
        Format::Text => ("text", "plain", "0.0.4"),
        Format::OpenMetrics => ("application", "openmetrics-text", "1.0.0"),
    };
    let (t, s) = range.split_once('/')?;
    let version_ok = params.iter().filter(|(k, _)| k == "version").all(|(_, v)| v == version);
    match (t, s) {
        ("*", "*") => Some(0),
        (t, "*") if t == kind => Some(1),
        (t, s) if t == kind && s == subtype && version_ok => Some(2),
        _ => None,
    }
}

/// A q-value as HTTP writes it: 0 to 1, at most three decimals; anything else is unusable.
fn q_value(value: &str) -> Option<f32> {
    let valid = match value.split_once('.') {
        Some((whole, decimals)) => {
            (whole == "0" || (whole == "1" && decimals.chars().all(|c| c == '0')))
                && decimals.len() <= 3
                && decimals.chars().all(|c| c.is_ascii_digit())
        }
        None => value == "0" || value == "1",
    };
    valid.then(|| value.parse().ok()).flatten()
}

/// The q-value `accept` gives `format`: that of the most specific range matching it.
fn quality(accept: &str, format: Format) -> f32 {
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0;
        let mut params = Vec::new();
        for param in parts.filter(|p| !p.is_empty()) {
            let Some((key, value)) = param.split_once('=') else { continue };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim().trim_matches('"').to_owned());
            if key == "q" {
                // An unusable q-value makes the range unusable, not preferred.
                q = q_value(&value).unwrap_or(0.0);
            } else {
                params.push((key, value));
            }
        }
        if let Some(specificity) = matches(&media, &params, format)
            && best.is_none_or(|(s, _)| specificity > s)
        {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// The format for a request's `Accept` header: OpenMetrics when the scraper prefers it to the
/// text format; the text format on a tie, with no header, or with one obs cannot read.
pub(crate) fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept.filter(|a| a.is_ascii()) else { return Format::Text };
    let open_metrics = quality(accept, Format::OpenMetrics);
    if open_metrics > 0.0 && open_metrics > quality(accept, Format::Text) { Format::OpenMetrics } else { Format::Text }
}

/// The Prometheus text exposition `text` as OpenMetrics text.
pub(crate) fn from_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    // Counter families whose samples end in `_total`: named without it in their metadata.
    let mut counters: Vec<&str> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.push(name);
        }
    }
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            // The text format escapes `\` and newlines; OpenMetrics also escapes `"`.
            let _ = writeln!(out, "# HELP {} {}", family(name, &counters), help.replace('"', "\\\""));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let kind = match kind {
                // A counter whose samples do not end in `_total` cannot be an OpenMetrics
                // counter without renaming its samples: it stays itself, of unknown type.
                "counter" if !name.ends_with("_total") => "unknown",
                "untyped" => "unknown",
                other => other,
            };
            let _ = writeln!(out, "# TYPE {} {kind}", family(name, &counters));
        } else if !line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("# EOF\n");
    out
}

/// The OpenMetrics family name of the metric `name`.
fn family<'a>(name: &'a str, counters: &[&str]) -> &'a str {
    match name.strip_suffix("_total") {
        Some(family) if counters.contains(&name) => family,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus 2.42's own header.
    const PROMETHEUS: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn negotiation_honours_q_values_and_falls_back_to_text() {
        for (accept, expected) in [
            (Some(PROMETHEUS), Format::OpenMetrics),
            (Some("application/openmetrics-text; version=1.0.0"), Format::OpenMetrics),
            (Some("application/openmetrics-text"), Format::OpenMetrics),
            (Some("text/plain;q=0.9, application/openmetrics-text;q=0.5"), Format::Text),
            (Some("text/plain;q=0.5, application/openmetrics-text;q=0.9"), Format::OpenMetrics),
            (Some("application/openmetrics-text;q=0"), Format::Text),
            (Some("application/openmetrics-text;version=0.0.1"), Format::Text),
            (Some("application/*;q=0.8, text/plain;q=0.2"), Format::OpenMetrics),
            (Some("*/*"), Format::Text),
            (Some("text/plain"), Format::Text),
            (None, Format::Text),
            (Some(""), Format::Text),
            (Some(";;;,,,=q=/"), Format::Text),
            (Some("application/openmetrics-text;q=2"), Format::Text),
            (Some("application/openmetrics-text;q=0.12345"), Format::Text),
            (Some("application/openmetrics-text;q=abc"), Format::Text),
            (Some("\u{00e9}/openmetrics"), Format::Text),
            (Some("APPLICATION/OpenMetrics-Text; Version=1.0.0"), Format::OpenMetrics),
        ] {
            assert_eq!(negotiate(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn counters_lose_total_in_their_metadata_and_the_exposition_ends_with_eof() {
        let text = "# HELP requests_total Requests \"served\".\n# TYPE requests_total counter\nrequests_total{a=\"b\"} 3\n\n\
                    # TYPE orders counter\norders 2\n\n# HELP workflows_total Stored.\n# TYPE workflows_total gauge\nworkflows_total 1\n";
        assert_eq!(
            from_text(text),
            "# HELP requests Requests \\\"served\\\".\n# TYPE requests counter\nrequests_total{a=\"b\"} 3\n\
             # TYPE orders unknown\norders 2\n\
             # HELP workflows_total Stored.\n# TYPE workflows_total gauge\nworkflows_total 1\n# EOF\n"
        );
    }
}
