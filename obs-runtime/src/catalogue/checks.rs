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

    /// Whether two are the same family.
    pub(crate) fn is(&self, other: &Covered) -> bool {
        // By name: each use of a `const` metric may be a copy at an address of its own, so
        // comparing addresses said an HTTP objective was not HTTP (issue 34: Apdex took its
        // default, not the objective's latency).
        self.total.name == other.total.name
    }

    /// The subsystem, `None` for HTTP.
    pub(crate) fn subsystem(&self) -> Option<Subsystem> {
        Subsystem::ALL.into_iter().find(|s| self.is(&Covered::of(*s)))
    }

    /// What one event of the family is, in words: "HTTP requests", "Stellar Horizon calls".
    pub(crate) fn events(&self) -> &'static str {
        match self.subsystem() {
            None => "HTTP requests",
            Some(Subsystem::Db) => "database queries",
            Some(Subsystem::Redis) => "Redis calls",
            Some(Subsystem::Queue) => "background jobs",
            Some(Subsystem::Stellar) => "Stellar Horizon calls",
        }
    }

    /// A short name for rule and objective names: `http`, `db`, `redis`, `queue`, `stellar`.
    pub(crate) fn slug(&self) -> &'static str {
        match self.subsystem() {
            None => "http",
            Some(Subsystem::Db) => "db",
            Some(Subsystem::Redis) => "redis",
            Some(Subsystem::Queue) => "queue",
            Some(Subsystem::Stellar) => "stellar",
        }
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

/// One thing that names an objective: a call site, a route or a whole family.
#[derive(Clone, Debug)]
pub(crate) struct Membership {
    pub(crate) objective: Objective,
    pub(crate) covered: Covered,
    /// Who names it, for messages: "route `/payments`", "`shop::pay::submit`".
    pub(crate) by: String,
}

/// Every (objective, family) pair: from the sites, the routes and whole-family objectives.
pub(crate) fn coverage(
    catalogue: &Catalogue,
    family_objectives: &[(String, Objective)],
) -> Result<Vec<Membership>, InitError> {
    let mut pairs = Vec::new();
    for site in catalogue.sites() {
        if let (Some(objective), Some(subsystem)) = (site.objective_of(), site.subsystem()) {
            let by = format!("`{}`", site.function());
            pairs.push(Membership { objective: *objective, covered: Covered::of(subsystem), by });
        }
    }
    for Route { path, objective } in catalogue.routes() {
        if let Some(objective) = objective {
            pairs.push(Membership { objective: *objective, covered: Covered::HTTP, by: format!("route `{path}`") });
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
        let by = format!("every series of `{}`", covered.total.name);
        pairs.push(Membership { objective: *objective, covered, by });
    }
    Ok(pairs)
}

/// Refuses an objective whose members are different kinds of events: its ratio would add
/// requests and dependency calls together, and a failure users see would be diluted by calls
/// that went well.
fn one_kind(pairs: &[Membership], first: &Membership) -> Result<(), InitError> {
    let same_name: Vec<&Membership> = pairs.iter().filter(|m| m.objective.name() == first.objective.name()).collect();
    let Some(other) = same_name.iter().find(|m| !m.covered.is(&first.covered)) else { return Ok(()) };
    let describe = |kind: &Covered| {
        let by: Vec<&str> = same_name.iter().filter(|m| m.covered.is(kind)).map(|m| m.by.as_str()).collect();
        format!("{} ({})", kind.events(), by.join(", "))
    };
    let name = first.objective.name();
    Err(InitError::InvalidObjective {
        objective: name.to_owned(),
        problem: format!(
            "it counts different kinds of events together: {} and {}, so one failure users see is diluted by \
             the other kind's successes",
            describe(&first.covered),
            describe(&other.covered)
        ),
        fix: format!(
            "an objective measures one kind of event; declare one objective per kind, e.g. `{name}` on the {} \
             and `{name}_{}` on the {}, and name each from its own members",
            first.covered.events(),
            other.covered.slug(),
            other.covered.events()
        ),
    })
}

/// Checks every objective the catalogue and `family_objectives` name against the bucket
/// overrides in `buckets`: one declaration per name, one kind of event each, latency
/// thresholds on bucket boundaries.
pub(crate) fn check_objectives(
    catalogue: &Catalogue,
    family_objectives: &[(String, Objective)],
    buckets: &[(String, Vec<f64>)],
) -> Result<(), InitError> {
    let pairs = coverage(catalogue, family_objectives)?;
    for (i, membership) in pairs.iter().enumerate() {
        let (objective, covered) = (&membership.objective, &membership.covered);
        if let Some(other) =
            pairs[..i].iter().find(|o| o.objective.name() == objective.name() && o.objective != *objective)
        {
            return Err(InitError::InvalidObjective {
                objective: objective.name().to_owned(),
                problem: format!(
                    "it is declared twice with different targets ({:?} and {objective:?})",
                    other.objective
                ),
                fix: "declare it once, as a `const`, and name that const everywhere".to_owned(),
            });
        }
        one_kind(&pairs, membership)?;
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
                     Config::buckets_for(\"{}\", …) or OBS_BUCKETS",
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

    const SLOW: Objective = Objective::new("slow_db", 99.0).latency(Duration::from_millis(300), 99.0);
    const FAST: Objective = Objective::new("fast_db", 99.0).latency(Duration::from_millis(250), 99.0);

    fn empty() -> Catalogue {
        Catalogue::from_parts(Vec::new(), Vec::new())
    }

    #[test]
    fn a_threshold_must_be_a_bucket_boundary_after_overrides() {
        let families = [("db_queries_total".to_owned(), SLOW)];
        let error = check_objectives(&empty(), &families, &[]).unwrap_err().to_string();
        assert!(error.starts_with("objective `slow_db`: its latency threshold 0.3 s is not a bucket boundary of db_query_duration_seconds (0.001, "), "{error}");
        assert!(error.contains("Config::buckets_for(\"db_query_duration_seconds\""), "{error}");
        let overridden = [("db_query_duration_seconds".to_owned(), vec![0.1, 0.3, 1.0])];
        check_objectives(&empty(), &families, &overridden).unwrap();
        let families = [("db_query_duration_seconds".to_owned(), FAST)];
        check_objectives(&empty(), &families, &[]).unwrap();
        let error = check_objectives(&empty(), &families, &overridden).unwrap_err().to_string();
        assert!(
            error.contains("0.25 s is not a bucket boundary of db_query_duration_seconds (0.1, 0.3, 1)"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_family_is_named_with_the_known_ones() {
        let families = [("db_querys_total".to_owned(), FAST)];
        let error = check_objectives(&empty(), &families, &[]).unwrap_err().to_string();
        assert!(error.contains("names the family \"db_querys_total\", which obs does not record"), "{error}");
        assert!(error.contains("name one of http_requests_total, db_queries_total, redis_calls_total"), "{error}");
    }

    #[test]
    fn one_name_means_one_objective() {
        const OTHER: Objective = Objective::new("fast_db", 99.9);
        let families = [("db_queries_total".to_owned(), FAST), ("db_queries_total".to_owned(), OTHER)];
        let error = check_objectives(&empty(), &families, &[]).unwrap_err().to_string();
        assert!(error.contains("declared twice with different targets"), "{error}");
    }

    #[test]
    fn an_objective_counts_one_kind_of_event() {
        const PAYMENTS: Objective = Objective::new("payments", 99.5);
        let routes = vec![Route { path: "/payments".to_owned(), objective: Some(PAYMENTS) }];
        let catalogue = Catalogue::from_parts(Vec::new(), routes);
        let families = [("stellar_api_calls_total".to_owned(), PAYMENTS)];
        let error = check_objectives(&catalogue, &families, &[]).unwrap_err().to_string();
        assert_eq!(
            error,
            "objective `payments`: it counts different kinds of events together: HTTP requests (route `/payments`) \
             and Stellar Horizon calls (every series of `stellar_api_calls_total`), so one failure users see is \
             diluted by the other kind's successes; an objective measures one kind of event; declare one objective \
             per kind, e.g. `payments` on the HTTP requests and `payments_stellar` on the Stellar Horizon calls, \
             and name each from its own members"
        );
        check_objectives(&catalogue, &[], &[]).unwrap();
    }
}
