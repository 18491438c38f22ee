//! What makes an objective measurable: a family that exists, a latency threshold that is one of
//! its histogram's bucket boundaries (after overrides), one declaration per name. Checked at
//! install and again by the ops generator, which also sees the routes built after install.

use super::{
    Catalogue, Family, HTTP_REQUEST_DURATION, HTTP_REQUESTS_TOTAL, Metric, Objective, Subsystem, sites::Route,
};
use crate::error::InitError;

/// A family an objective can cover: a counter of calls by outcome and their durations.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Covered {
    pub(crate) total: &'static Metric,
    pub(crate) duration: &'static Metric,
    /// The macros' family, with its `status` values; `None` for HTTP, whose outcome is the
    /// status code.
    pub(crate) family: Option<&'static Family>,
}

impl Covered {
    /// The HTTP layer's requests.
    pub(crate) const HTTP: Covered =
        Covered { total: &HTTP_REQUESTS_TOTAL, duration: &HTTP_REQUEST_DURATION, family: None };

    /// A subsystem's calls.
    pub(crate) fn of(subsystem: Subsystem) -> Self {
        let family = subsystem.family();
        Covered { total: family.total, duration: family.duration, family: Some(family) }
    }
}

/// Every family an objective may name, HTTP first.
pub(crate) fn coverable() -> impl Iterator<Item = Covered> {
    std::iter::once(Covered::HTTP).chain(Subsystem::ALL.map(Covered::of))
}

/// The family whose counter or histogram is called `name` (without the prefix).
pub(crate) fn family_named(name: &str) -> Option<Covered> {
    coverable().find(|c| c.total.name == name || c.duration.name == name)
}

/// The bucket bounds of `metric` after the overrides in `buckets` (metric name, bounds).
pub(crate) fn bounds_of<'a>(metric: &'static Metric, buckets: &'a [(String, Vec<f64>)]) -> &'a [f64] {
    buckets.iter().find(|(name, _)| name == metric.name).map_or(metric.buckets, |(_, bounds)| bounds.as_slice())
}

/// Every (objective, family) pair: from the sites, the routes and whole-family objectives.
pub(crate) fn coverage(
    catalogue: &Catalogue,
    family_objectives: &[(String, &'static Objective)],
) -> Result<Vec<(&'static Objective, Covered)>, InitError> {
    let mut pairs = Vec::new();
    for site in catalogue.sites() {
        if let (Some(objective), Some(subsystem)) = (site.objective_of(), site.subsystem()) {
            pairs.push((objective, Covered::of(subsystem)));
        }
    }
    for Route { objective, .. } in catalogue.routes() {
        if let Some(objective) = objective {
            pairs.push((*objective, Covered::HTTP));
        }
    }
    for (name, objective) in family_objectives {
        let Some(covered) = family_named(name) else {
            let known: Vec<&str> = coverable().map(|c| c.total.name).collect();
            return Err(InitError::InvalidObjective {
                objective: objective.name().to_owned(),
                problem: format!("it names the family {name:?}, which obs does not record"),
                fix: format!("name one of {}", known.join(", ")),
            });
        };
        pairs.push((*objective, covered));
    }
    Ok(pairs)
}

/// Checks every objective the catalogue and `family_objectives` name against the bucket
/// overrides in `buckets`.
pub(crate) fn check_objectives(
    catalogue: &Catalogue,
    family_objectives: &[(String, &'static Objective)],
    buckets: &[(String, Vec<f64>)],
) -> Result<(), InitError> {
    let pairs = coverage(catalogue, family_objectives)?;
    for (i, (objective, covered)) in pairs.iter().enumerate() {
        if let Some((other, _)) = pairs[..i].iter().find(|(o, _)| o.name() == objective.name() && o != objective) {
            return Err(InitError::InvalidObjective {
                objective: objective.name().to_owned(),
                problem: format!("it is declared twice with different targets ({other:?} and {objective:?})"),
                fix: "declare it once, as a `const`, and name that const everywhere".to_owned(),
            });
        }
        let Some(latency) = objective.latency_target() else { continue };
        let bounds = bounds_of(covered.duration, buckets);
        let threshold = latency.threshold_seconds;
        if !bounds.iter().any(|b| (b - threshold).abs() <= threshold * 1e-9) {
            let listed: Vec<String> = bounds.iter().map(f64::to_string).collect();
            return Err(InitError::InvalidObjective {
                objective: objective.name().to_owned(),
                problem: format!(
                    "its latency threshold {threshold} s is not a bucket boundary of {} ({})",
                    covered.duration.name,
                    listed.join(", ")
                ),
                fix: format!(
                    "use one of those bounds as the threshold, or add {threshold} to the buckets with \
                     Config::buckets_for(\"{}\", …)",
                    covered.duration.name
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    static SLOW: Objective = Objective::new("slow_db", 99.0).latency(Duration::from_millis(300), 99.0);
    static FAST: Objective = Objective::new("fast_db", 99.0).latency(Duration::from_millis(250), 99.0);

    fn empty() -> Catalogue {
        Catalogue::from_parts(Vec::new(), Vec::new())
    }

    #[test]
    fn a_threshold_must_be_a_bucket_boundary_after_overrides() {
        let families = [("db_queries_total".to_owned(), &SLOW)];
        let error = check_objectives(&empty(), &families, &[]).unwrap_err().to_string();
        assert!(error.starts_with("objective `slow_db`: its latency threshold 0.3 s is not a bucket boundary of db_query_duration_seconds (0.001, "), "{error}");
        assert!(error.contains("Config::buckets_for(\"db_query_duration_seconds\""), "{error}");
        let overridden = [("db_query_duration_seconds".to_owned(), vec![0.1, 0.3, 1.0])];
        check_objectives(&empty(), &families, &overridden).unwrap();
        let families = [("db_query_duration_seconds".to_owned(), &FAST)];
        check_objectives(&empty(), &families, &[]).unwrap();
        let error = check_objectives(&empty(), &families, &overridden).unwrap_err().to_string();
        assert!(
            error.contains("0.25 s is not a bucket boundary of db_query_duration_seconds (0.1, 0.3, 1)"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_family_is_named_with_the_known_ones() {
        let families = [("db_querys_total".to_owned(), &FAST)];
        let error = check_objectives(&empty(), &families, &[]).unwrap_err().to_string();
        assert!(error.contains("names the family \"db_querys_total\", which obs does not record"), "{error}");
        assert!(error.contains("name one of http_requests_total, db_queries_total, redis_calls_total"), "{error}");
    }

    #[test]
    fn one_name_means_one_objective() {
        static OTHER: Objective = Objective::new("fast_db", 99.9);
        let families = [("db_queries_total".to_owned(), &FAST), ("redis_calls_total".to_owned(), &OTHER)];
        let error = check_objectives(&empty(), &families, &[]).unwrap_err().to_string();
        assert!(error.contains("declared twice with different targets"), "{error}");
    }
}
