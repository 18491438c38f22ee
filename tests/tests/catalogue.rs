//! The call-site catalogue: what each attribute registers at link time, the objectives it
//! names, and the checks install makes on them.
#![cfg(all(feature = "db", feature = "redis", feature = "queue", feature = "ws", feature = "http"))]

use std::time::Duration;

use obs_runtime::{Config, InitError, Objective, SiteKind, Subsystem};
use obs_tests::child::run_in_child;

/// 99 % of lookups succeed, 95 % within 300 ms: 0.3 is not a default bound of the DB buckets.
const LOOKUPS: Objective = Objective::new("lookups", 99.0).latency(Duration::from_millis(300), 95.0);

#[obs_runtime::instrument_db(table = "catalogue_users", objective = LOOKUPS)]
fn find_catalogue_user(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

#[obs_runtime::queue_job(queue = "catalogueQueue")]
async fn catalogue_job() {}

#[obs_runtime::traced(name = "catalogue.traced")]
fn catalogue_traced() {}

#[obs_runtime::ws_connection]
async fn catalogue_socket() {}

#[test]
fn each_attribute_registers_its_site_with_place_labels_and_objective() {
    let _ = (find_catalogue_user(1), catalogue_job(), catalogue_traced(), catalogue_socket());
    let catalogue = obs_runtime::catalogue();
    let sites = catalogue.sites();
    let db = sites.iter().find(|s| s.span_name() == "SELECT catalogue_users").expect("the db site");
    assert_eq!(db.kind(), SiteKind::Calls(Subsystem::Db));
    assert_eq!(db.label_names(), ["operation", "table"]);
    assert_eq!(db.label_values(), ["SELECT", "catalogue_users"]);
    assert_eq!(db.function(), "catalogue::find_catalogue_user");
    assert_eq!(db.location(), ("tests/tests/catalogue.rs", 13));
    assert_eq!(db.objective_of(), Some(&LOOKUPS));

    let job = sites.iter().find(|s| s.span_name() == "queue.catalogueQueue").expect("the job site");
    assert_eq!(job.label_values(), ["catalogueQueue", "catalogue_job"], "job defaults to the fn name");
    assert_eq!(job.objective_of(), None);
    let traced = sites.iter().find(|s| s.span_name() == "catalogue.traced").expect("the traced site");
    assert_eq!((traced.kind(), traced.label_names(), traced.metric_names()), (SiteKind::Span, vec![], vec![]));
    assert!(!db.can_be_cancelled() && job.can_be_cancelled(), "only a future can be dropped half-way");
    assert_eq!(db.metric_names(), ["db_queries_total", "db_query_duration_seconds"]);
    assert!(sites.iter().any(|s| s.kind() == SiteKind::Connections && s.function().ends_with("::catalogue_socket")));
    assert!(catalogue.objectives().contains(&LOOKUPS));
    // Ordered by file and line, so generated files are stable.
    let places: Vec<_> = sites.iter().map(|s| s.location()).collect();
    assert!(places.windows(2).all(|w| w[0] <= w[1]), "{places:?}");
}

#[test]
fn an_objective_threshold_off_the_buckets_is_refused_at_install() {
    let error = obs_runtime::init().map(drop).expect_err("0.3 s is not a bucket of db_query_duration_seconds");
    let InitError::InvalidObjective { objective, problem, fix } = &error else { panic!("{error}") };
    assert_eq!(objective, "lookups");
    assert!(
        problem.contains("latency threshold 0.3 s is not a bucket boundary of db_query_duration_seconds"),
        "{problem}"
    );
    assert!(fix.contains("Config::buckets_for(\"db_query_duration_seconds\""), "{fix}");
    // With the bound added, it installs.
    let output = run_in_child("with the bound", &[("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none")], || {
        let _guard = Config::from_env()
            .unwrap()
            .buckets_for("db_query_duration_seconds", &[0.1, 0.3, 1.0])
            .install()
            .expect("0.3 is a bound now");
        println!("installed");
    });
    if let Some(output) = output {
        assert!(output.contains("installed"), "{output}");
    }
}

#[test]
fn an_objective_for_an_unknown_family_names_the_known_ones() {
    static CACHE: Objective = Objective::new("cache", 99.99);
    let config = Config::default().objective_for("redis_call_total", CACHE);
    let error = obs_runtime::ops::Ops::new(&config).files().expect_err("no such family").to_string();
    assert!(
        error.starts_with("objective `cache`: it names the family \"redis_call_total\", which obs does not record"),
        "{error}"
    );
    assert!(error.contains("redis_calls_total"), "{error}");
}

/// The SRE review's `payments`: a route and a dependency's call counted in one ratio. Refused at
/// install (when the routes are built first) and by the generator, naming both members.
#[test]
fn an_objective_over_a_route_and_a_call_site_is_refused_with_the_fix() {
    use obs_runtime::http::RouteCatalogue as _;
    let output = run_in_child("mixed", &[("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none")], || {
        let _router: axum::Router =
            axum::Router::new().route_with_objective("/lookups", LOOKUPS, axum::routing::get(|| async { "ok" }));
        let config = Config::from_env().unwrap();
        let generated = obs_runtime::ops::Ops::new(&config).files().expect_err("two kinds of events").to_string();
        let installed = obs_runtime::init().map(drop).expect_err("two kinds of events").to_string();
        for error in [generated, installed] {
            println!("refused: {error}");
        }
    });
    let Some(output) = output else { return };
    let refusals: Vec<&str> = output.lines().filter_map(|l| l.split_once("refused: ").map(|(_, e)| e)).collect();
    assert_eq!(refusals.len(), 2, "{output}");
    for error in refusals {
        assert!(error.starts_with("objective `lookups`: it counts different kinds of events together: database queries (`catalogue::find_catalogue_user`) and HTTP requests (route `/lookups`)"), "{error}");
        assert!(error.contains("declare one objective per kind, e.g. `lookups` on the database queries and `lookups_http` on the HTTP requests"), "{error}");
    }
}
