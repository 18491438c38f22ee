//! Just enough LogQL to run the generated runbook's queries over log lines the service printed:
//! a stream selector of `label="value"` matchers, then `| json` and `| field="value"` stages.
//! A query using anything else is refused, so a runbook cannot grow a query this cannot check.

use std::collections::BTreeMap;

use serde_json::Value;

/// A parsed query: stream matchers, then field filters applied after `| json`.
#[derive(Debug, PartialEq)]
pub struct Query {
    /// `label="value"` of the stream selector.
    pub stream: Vec<(String, String)>,
    /// `field="value"` filters after `| json`.
    pub fields: Vec<(String, String)>,
}

fn pair(text: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("not label=\"value\": {text}"))?;
    let value = value.trim();
    if key.ends_with(['!', '~']) || !value.starts_with('"') || !value.ends_with('"') || value.len() < 2 {
        return Err(format!("only exact matchers are understood here: {text}"));
    }
    Ok((key.trim().to_owned(), value[1..value.len() - 1].to_owned()))
}

impl Query {
    /// Parses `{service="x"} | json | level="error"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let close = text.find('}').ok_or("no stream selector")?;
        let selector = text.strip_prefix('{').ok_or("no stream selector")?[..close - 1].trim();
        let stream = selector.split(',').map(pair).collect::<Result<Vec<_>, _>>()?;
        let mut fields = Vec::new();
        let mut parsed = false;
        for stage in text[close + 1..].split('|').map(str::trim).filter(|s| !s.is_empty()) {
            if stage == "json" {
                parsed = true;
            } else if parsed {
                fields.push(pair(stage)?);
            } else {
                return Err(format!("a field filter before `| json`: {stage}"));
            }
        }
        Ok(Self { stream, fields })
    }

    /// The lines of a stream with `labels` that the query returns.
    pub fn run<'a>(&self, labels: &BTreeMap<String, String>, lines: &'a [Value]) -> Vec<&'a Value> {
        if !self.stream.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            return Vec::new();
        }
        lines
            .iter()
            .filter(|line| self.fields.iter().all(|(k, v)| line.get(k).and_then(Value::as_str) == Some(v.as_str())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_runbooks_form_and_refuses_the_rest() {
        let query = Query::parse(r#"{service="shop"} | json | level="error""#).unwrap();
        assert_eq!(query.stream, [("service".to_owned(), "shop".to_owned())]);
        assert_eq!(query.fields, [("level".to_owned(), "error".to_owned())]);
        assert!(Query::parse(r#"{service=~"shop"}"#).is_err());
        assert!(Query::parse(r#"{service="shop"} |= "error""#).is_err());
    }
}
