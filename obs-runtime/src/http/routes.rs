//! Routes join the call-site catalogue as the router is built, with the objective they serve.

use axum::Router;
use axum::routing::MethodRouter;

use crate::catalogue::{Objective, Route, register_route};

/// `Router::route` that also enters the route into [`crate::catalogue()`], so the generated
/// dashboards, rules and runbook know it, optionally with the [`Objective`] it serves. axum
/// keeps its route table private, so routes join the catalogue through these two methods;
/// routes added with plain `route` are still recorded by [`super::ObsLayer`].
///
/// ```
/// use axum::{Router, routing::{get, post}};
/// use obs_runtime::Objective;
/// use obs_runtime::http::{ObsLayer, RouteCatalogue as _};
///
/// const PAYMENTS: Objective = Objective::new("payments", 99.5);
///
/// let app: Router = Router::new()
///     .catalogued_route("/users/{id}", get(|| async { "user" }))
///     .route_with_objective("/payments", PAYMENTS, post(|| async { "paid" }))
///     .layer(ObsLayer::new());
/// let routes = obs_runtime::catalogue();
/// assert!(routes.routes().iter().any(|r| r.path == "/payments" && r.objective == Some(PAYMENTS)));
/// ```
pub trait RouteCatalogue<S>: Sized {
    /// Adds the route, and enters its template into the catalogue.
    #[must_use]
    fn catalogued_route(self, path: &str, method_router: MethodRouter<S>) -> Self;

    /// Adds the route, and enters it into the catalogue as part of `objective`, named as
    /// attributes name it (`objective = PAYMENTS`): the const itself.
    #[must_use]
    fn route_with_objective(self, path: &str, objective: Objective, method_router: MethodRouter<S>) -> Self;
}

impl<S> RouteCatalogue<S> for Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn catalogued_route(self, path: &str, method_router: MethodRouter<S>) -> Self {
        register_route(Route { path: path.to_owned(), objective: None });
        self.route(path, method_router)
    }

    fn route_with_objective(self, path: &str, objective: Objective, method_router: MethodRouter<S>) -> Self {
        register_route(Route { path: path.to_owned(), objective: Some(objective) });
        self.route(path, method_router)
    }
}
