//! Reading configuration variables: a value that is set but wrong is an error naming the
//! variable, the value and what is accepted; an empty value counts as unset.

use std::collections::HashMap;
use std::time::Duration;

use crate::InitError;

/// A snapshot of the variables obs reads.
pub(crate) struct Vars(HashMap<String, String>);

impl Vars {
    pub(crate) fn new<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(vars.into_iter().map(|(k, v)| (k.into(), v.into())).filter(|(_, v)| !v.trim().is_empty()).collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim())
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, InitError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(InitError::invalid(name, v, "true or false")),
            })
            .transpose()
    }

    pub(crate) fn port(&self, name: &str) -> Result<Option<u16>, InitError> {
        self.get(name)
            .map(|v| v.parse::<u16>().map_err(|_| InitError::invalid(name, v, "a port number from 0 to 65535")))
            .transpose()
    }

    pub(crate) fn positive(&self, name: &str) -> Result<Option<usize>, InitError> {
        self.get(name)
            .map(|v| match v.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(InitError::invalid(name, v, "a whole number greater than 0")),
            })
            .transpose()
    }

    pub(crate) fn millis(&self, name: &str) -> Result<Option<Duration>, InitError> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|_| InitError::invalid(name, v, "a whole number of milliseconds"))
            })
            .transpose()
    }

    /// `5s`, `500ms`, `1m`, or a plain number of seconds.
    pub(crate) fn duration(&self, name: &str) -> Result<Option<Duration>, InitError> {
        self.get(name)
            .map(|v| {
                parse_duration(v).ok_or_else(|| {
                    InitError::invalid(name, v, "a duration such as 5s, 500ms or 1m (a plain number is seconds)")
                })
            })
            .transpose()
    }

    /// One of `accepted`, case-insensitive; returns the accepted spelling.
    pub(crate) fn one_of(&self, name: &str, accepted: &[&'static str]) -> Result<Option<&'static str>, InitError> {
        self.get(name)
            .map(|v| {
                accepted
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(v))
                    .copied()
                    .ok_or_else(|| InitError::invalid(name, v, format!("one of {}", accepted.join(", "))))
            })
            .transpose()
    }

    pub(crate) fn url(&self, name: &str) -> Result<Option<String>, InitError> {
        self.get(name).map(|v| check_url(name, v).map(|()| v.to_owned())).transpose()
    }
}

pub(crate) fn check_url(name: &str, value: &str) -> Result<(), InitError> {
    let rest = value.strip_prefix("http://").or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace) => Ok(()),
        _ => Err(InitError::invalid(name, value, "an http:// or https:// URL with a host, e.g. http://localhost:4317")),
    }
}

fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok().filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("5h"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}
