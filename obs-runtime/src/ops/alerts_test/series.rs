//! The promtool tests' input series, and the annotations Prometheus renders for an alert, so a
//! test can state them exactly: `humanizePercentage` and `humanizeDuration` as Go formats them.

use crate::catalogue::{Covered, Metric};
use crate::ops::model::{Model, outcomes};

/// One input series: its selector and what it does per minute.
pub(crate) struct Input {
    pub(crate) series: String,
    pub(crate) values: Values,
}

/// How an input series moves.
pub(crate) enum Values {
    /// A counter rising by this much a minute from 0.
    Rising(f64),
    /// A gauge holding this value.
    Constant(f64),
    /// A counter at 0 until the minute given, then 1.
    StepAt(u64),
    /// A gauge going between two values, minute by minute.
    Alternating(f64, f64),
}

impl Input {
    /// The promtool `values` string for `minutes` minutes.
    pub(crate) fn values(&self, minutes: u64) -> String {
        match self.values {
            Values::Rising(per_minute) => format!("0+{}x{minutes}", go_float(per_minute)),
            Values::Constant(value) => format!("{}x{minutes}", go_float(value)),
            Values::StepAt(at) => format!("0x{} 1x{}", at.saturating_sub(1), minutes.saturating_sub(at)),
            Values::Alternating(a, b) => {
                let pair = format!("{} {}", go_float(a), go_float(b));
                vec![pair; minutes as usize / 2 + 1].join(" ")
            }
        }
    }
}

/// A series of `metric` (`suffix`: `_bucket`, `_count` or none) with `labels` by catalogue
/// names, as the service exposes it.
pub(crate) fn series(model: &Model, metric: &Metric, suffix: &str, labels: &[(&str, String)]) -> String {
    let matchers: Vec<String> = labels.iter().map(|(k, v)| model.matcher(metric, k, "=", v)).collect();
    let refs: Vec<&str> = matchers.iter().map(String::as_str).collect();
    model.series(&format!("{}{suffix}", model.name(metric)), &refs)
}

/// Calls of `covered` at `good` and `bad` per minute.
pub(crate) fn calls(model: &Model, covered: &Covered, base: &[(&str, String)], good: f64, bad: f64) -> Vec<Input> {
    let [ok, failed] = outcomes(covered);
    let with = |(k, v): (&'static str, &'static str)| {
        let mut labels = base.to_vec();
        labels.push((k, v.to_owned()));
        series(model, covered.total, "", &labels)
    };
    vec![
        Input { series: with(ok), values: Values::Rising(good) },
        Input { series: with(failed), values: Values::Rising(bad) },
    ]
}

/// A histogram whose `fast` of `count` observations per minute fall at or under `threshold`
/// and the rest in the bucket above it. With `float_le`, integral bounds are spelt as
/// Prometheus 3 stores them (`1.0`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn durations(
    model: &Model,
    duration: &'static Metric,
    base: &[(&str, String)],
    threshold: f64,
    fast: f64,
    count: f64,
    float_le: bool,
) -> Vec<Input> {
    let spell = |b: f64| if float_le && b.fract() == 0.0 { format!("{b:.1}") } else { b.to_string() };
    let mut les: Vec<(f64, String)> = model.bounds(duration).iter().map(|b| (*b, spell(*b))).collect();
    les.push((f64::INFINITY, "+Inf".to_owned()));
    let mut inputs: Vec<Input> = les
        .into_iter()
        .map(|(bound, le)| {
            let mut labels = base.to_vec();
            labels.push(("le", le));
            let per_minute = if bound < threshold * (1.0 - 1e-9) {
                0.0
            } else if bound <= threshold * (1.0 + 1e-9) {
                fast
            } else {
                count
            };
            Input { series: series(model, duration, "_bucket", &labels), values: Values::Rising(per_minute) }
        })
        .collect();
    inputs.push(Input { series: series(model, duration, "_count", base), values: Values::Rising(count) });
    inputs
}

/// A number as Go's `%g` writes it in a promtool values string: `1.5`, `108`.
fn go_float(value: f64) -> String {
    let rounded = (value * 1e9).round() / 1e9;
    rounded.to_string()
}

/// Go's `%.4g`: four significant digits, trailing zeros dropped, an exponent outside 1e-4..1e4.
pub(crate) fn g4(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let scientific = format!("{value:.3e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if value < 0.0 { "-" } else { "" };
    if !(-4..4).contains(&exponent) {
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    let text = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text };
    format!("{sign}{text}")
}

/// Prometheus's `humanizePercentage`.
pub(crate) fn humanize_percentage(value: f64) -> String {
    format!("{}%", g4(value * 100.0))
}

/// Prometheus's `humanize`, for the values a test gives it (from 1 to 1 000).
pub(crate) fn humanize(value: f64) -> String {
    g4(value)
}

/// Prometheus's `humanizeDuration`, for the values a test gives it (under a day).
pub(crate) fn humanize_duration(seconds: f64) -> String {
    if seconds >= 60.0 {
        let whole = seconds as u64;
        let (hours, minutes, rest) = (whole / 3600, whole / 60 % 60, whole % 60);
        return match hours {
            0 => format!("{minutes}m {rest}s"),
            _ => format!("{hours}h {minutes}m {rest}s"),
        };
    }
    if seconds >= 1.0 {
        return format!("{}s", g4(seconds));
    }
    let (mut value, mut prefix) = (seconds, "");
    for p in ["m", "u", "n"] {
        if value >= 1.0 || value == 0.0 {
            break;
        }
        value *= 1000.0;
        prefix = p;
    }
    format!("{}{prefix}s", g4(value))
}

/// An annotation as Prometheus renders it for an alert with `labels` (its expression's) and
/// `value`.
pub(crate) fn render(template: &str, labels: &[(String, String)], value: f64) -> String {
    let mut text = template.to_owned();
    for (name, label) in labels {
        text = text.replace(&format!("{{{{ $labels.{name} }}}}"), label);
    }
    text.replace("{{ $value | humanizePercentage }}", &humanize_percentage(value))
        .replace("{{ $value | humanizeDuration }}", &humanize_duration(value))
        .replace("{{ $value | humanize }}", &humanize(value))
        .replace("{{ $value }}", &g4_plain(value))
}

/// Go's `%v` of a float64 sample value as Prometheus's `$value` prints it.
fn g4_plain(value: f64) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_as_go_formats_them() {
        assert_eq!(g4(10.0), "10");
        assert_eq!(g4(10.8), "10.8");
        assert_eq!(g4(8.333333), "8.333");
        assert_eq!(g4(1.0 + 1.5 * 0.95), "2.425");
        assert_eq!(g4(0.5), "0.5");
        assert_eq!(g4(0.000012345), "1.234e-05");
        assert_eq!(g4(123456.0), "1.235e+05");
        assert_eq!(g4(1000.0), "1000");
        assert_eq!(humanize_percentage(0.108), "10.8%");
        assert_eq!(humanize_duration(2.425), "2.425s");
        assert_eq!(humanize_duration(0.25), "250ms");
        assert_eq!(humanize_duration(660.0), "11m 0s");
        assert_eq!(humanize_duration(0.1 + 0.15 * 0.95), "242.5ms");
    }

    #[test]
    fn a_step_is_zero_before_its_minute_and_one_after() {
        let step = Input { series: String::new(), values: Values::StepAt(30) };
        assert_eq!(step.values(120), "0x29 1x90");
    }
}
