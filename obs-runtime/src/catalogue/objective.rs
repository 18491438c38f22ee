//! Service-level objectives: declared once, in const context, and named by the call sites and
//! routes that serve one user journey.

use std::time::Duration;

/// A service-level objective: the share of calls that must succeed and, optionally, the share
/// that must finish under a latency threshold. Declare it once as a `const` and name it on the
/// attributes (`objective = CHECKOUT`) and routes that make up the journey; it adds no labels to
/// any series. obs generates its SLI recording rules, burn-rate alerts and dashboard row.
///
/// A bad value is a compile error where the objective is declared:
///
/// ```
/// use std::time::Duration;
/// use obs_runtime::Objective;
///
/// /// 99.9 % of checkouts succeed; 99 % finish within 500 ms.
/// pub const CHECKOUT: Objective =
///     Objective::new("checkout", 99.9).latency(Duration::from_millis(500), 99.0).description("Users can pay");
/// assert!((CHECKOUT.error_budget() - 0.001).abs() < 1e-12);
/// ```
///
/// ```compile_fail
/// // A success target of 120 % cannot be met: rustc rejects the const.
/// const BAD: obs_runtime::Objective = obs_runtime::Objective::new("checkout", 120.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    name: &'static str,
    success_percent: f64,
    latency: Option<LatencyTarget>,
    description: &'static str,
    period_days: u32,
    min_events: Option<u32>,
    shared_series: bool,
}

/// The error budget's period when an objective names none: 30 days.
pub const DEFAULT_PERIOD_DAYS: u32 = 30;

/// The latency part of an [`Objective`]: `percent` % of calls finish within `threshold`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyTarget {
    /// The threshold in seconds; it must be a bucket boundary of every family the objective
    /// covers (checked at install and by the generator).
    pub threshold_seconds: f64,
    /// The share of calls, in percent, that must finish within the threshold.
    pub percent: f64,
}

impl Objective {
    /// An objective named `name` (lowercase letters, digits and `_`, starting with a letter: it
    /// becomes part of rule and alert names) that `success_percent` % of calls meet, above 0
    /// and below 100.
    pub const fn new(name: &'static str, success_percent: f64) -> Self {
        assert!(
            valid_name(name),
            "an objective's name must be lowercase letters, digits and _, starting with a letter"
        );
        assert!(
            success_percent > 0.0 && success_percent < 100.0,
            "an objective's success target is a percentage above 0 and below 100, e.g. 99.9"
        );
        Self {
            name,
            success_percent,
            latency: None,
            description: "",
            period_days: DEFAULT_PERIOD_DAYS,
            min_events: None,
            shared_series: false,
        }
    }

    /// Adds a latency target: `percent` % of calls (above 0, below 100) finish within
    /// `threshold` (more than zero).
    pub const fn latency(mut self, threshold: Duration, percent: f64) -> Self {
        assert!(!threshold.is_zero(), "an objective's latency threshold must be more than zero");
        assert!(
            percent > 0.0 && percent < 100.0,
            "an objective's latency percentile is above 0 and below 100, e.g. 99"
        );
        self.latency = Some(LatencyTarget { threshold_seconds: threshold.as_secs_f64(), percent });
        self
    }

    /// What the objective protects, in a sentence, for the runbook and alert descriptions.
    pub const fn description(mut self, text: &'static str) -> Self {
        self.description = text;
        self
    }

    /// The period the error budget is counted over, in days (1 to 366; default 30): the
    /// budget-remaining rule and the dashboard's budget panel read this window, and the
    /// generated Prometheus keeps a day more than the longest period.
    pub const fn period_days(mut self, days: u32) -> Self {
        assert!(days >= 1 && days <= 366, "an objective's period is 1 to 366 days, e.g. 28 or 30");
        self.period_days = days;
        self
    }

    /// The fewest events (calls or requests) a burn-rate alert's long window must hold before
    /// the alert may fire, for every tier. Without it, each tier needs as many events as it
    /// takes for one bad event alone to stay within the tier's threshold (`1 / (factor ×
    /// budget)`: 14 in the hour for a 99.5 % objective's fastest page, 200 in three days for
    /// its slowest ticket), so a single failure at low traffic never alerts.
    pub const fn min_events(mut self, events: u32) -> Self {
        assert!(events >= 1, "an objective's minimum number of events is at least 1");
        self.min_events = Some(events);
        self
    }

    /// Says that the objective knowingly covers series other call sites feed too: a member
    /// site whose labels another catalogued site shares (two functions with
    /// `#[instrument_db(table = "users")]` and the same operation) is otherwise refused by the
    /// ops generator, since the objective would count the other site's calls as its own.
    pub const fn covers_shared_series(mut self) -> Self {
        self.shared_series = true;
        self
    }

    /// The objective's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The success target in percent.
    pub const fn success_percent(&self) -> f64 {
        self.success_percent
    }

    /// The share of calls allowed to fail: `1 - success_percent / 100`.
    pub fn error_budget(&self) -> f64 {
        1.0 - self.success_percent / 100.0
    }

    /// The latency target, if any.
    pub const fn latency_target(&self) -> Option<LatencyTarget> {
        self.latency
    }

    /// The description given, or `""`.
    pub const fn describe(&self) -> &'static str {
        self.description
    }

    /// The error budget's period in days.
    pub const fn period(&self) -> u32 {
        self.period_days
    }

    /// The minimum number of events set with [`Self::min_events`], if any.
    pub const fn min_events_set(&self) -> Option<u32> {
        self.min_events
    }

    /// Whether [`Self::covers_shared_series`] was said.
    pub const fn shares_series(&self) -> bool {
        self.shared_series
    }
}

const fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_target_keeps_its_threshold_in_seconds() {
        const API: Objective = Objective::new("api", 99.0).latency(Duration::from_millis(250), 95.0);
        assert_eq!(API.latency_target(), Some(LatencyTarget { threshold_seconds: 0.25, percent: 95.0 }));
        assert!((API.error_budget() - 0.01).abs() < 1e-12);
    }

    #[test]
    fn names_are_rule_safe() {
        assert!(valid_name("checkout_v2"));
        assert!(!valid_name("Checkout") && !valid_name("2fa") && !valid_name("a-b") && !valid_name(""));
    }
}
