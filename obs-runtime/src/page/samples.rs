//! obs's own exposition read back into samples, with each sample's exemplar: the live page's
//! figures are the scrape's numbers, so the two never disagree.

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: f64,
    /// `(trace id, timestamp)` of the sample's exemplar, if it has one.
    pub(crate) exemplar: Option<(String, f64)>,
}

impl Sample {
    /// The value of label `name`, if the sample has it.
    pub(crate) fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Reads `name="value",…` up to the closing brace; the rest of the line after it.
fn read_labels(text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(',');
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((name.trim().to_owned(), value));
        rest = &after[end + 1..];
    }
}

/// Every sample of `text`, the Prometheus text format as obs writes it (exemplars appended
/// after ` # `).
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (sample, exemplar) = match line.split_once(" # ") {
            Some((sample, exemplar)) => (sample, Some(exemplar)),
            None => (line, None),
        };
        let (name, labels, rest) = match sample.find('{') {
            Some(open) => match read_labels(&sample[open + 1..]) {
                Some((labels, rest)) => (&sample[..open], labels, rest),
                None => continue,
            },
            None => match sample.split_once(' ') {
                Some((name, rest)) => (name, Vec::new(), rest),
                None => continue,
            },
        };
        let Some(value) = rest.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()) else { continue };
        let exemplar = exemplar.and_then(|text| {
            let (labels, rest) = read_labels(text.strip_prefix('{')?)?;
            let trace = labels.into_iter().find(|(k, _)| k == "trace_id")?.1;
            let timestamp = rest.split_whitespace().nth(1).and_then(|t| t.parse().ok()).unwrap_or(0.0);
            Some((trace, timestamp))
        });
        samples.push(Sample { name: name.to_owned(), labels, value, exemplar });
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labels_escapes_and_exemplars() {
        let text = "# HELP x X.\nx_total{a=\"1\",b=\"q\\\"<\\\\>\"} 3 # {trace_id=\"ab\",span_id=\"cd\"} 1 1700000000.5\nup 1\n";
        let samples = parse(text);
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].label("b"), Some("q\"<\\>"));
        assert_eq!(samples[0].value, 3.0);
        assert_eq!(samples[0].exemplar, Some(("ab".to_owned(), 1_700_000_000.5)));
        assert_eq!((samples[1].name.as_str(), samples[1].value), ("up", 1.0));
    }
}
