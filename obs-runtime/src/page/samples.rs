//! obs's own exposition read back into samples, with each sample's exemplar: the live page's
//! figures are the scrape's numbers, so the two never disagree.

use crate::prometheus::read;

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

/// Every sample of `text`, the Prometheus text format as obs writes it (exemplars appended
/// after ` # `).
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (sample, exemplar) = match line.split_once(" # ") {
            Some((sample, exemplar)) => (sample, Some(exemplar)),
            None => (line, None),
        };
        let Some((name, labels, value)) = read::sample(sample) else { continue };
        let exemplar = exemplar.and_then(|text| {
            let (labels, rest) = read::labels(text.strip_prefix('{')?)?;
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
