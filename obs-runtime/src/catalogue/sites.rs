//! The call-site catalogue: every instrumented function in the binary, gathered at link time,
//! and every route an app registered through [`crate::http::RouteCatalogue`].
//!
//! Each expansion puts one [`CallSite`] into the `CALL_SITES` distributed slice (linkme): the
//! linker gathers them into one section, so the list costs nothing at start-up and nothing on
//! the call path, and it holds exactly the call sites linked into this binary.

use std::sync::Mutex;

use super::family::Subsystem;
use super::{Metric, Names, Objective, WS_CONNECTIONS};

/// What a call site records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteKind {
    /// A duration histogram and an outcome counter of a subsystem, plus a span.
    Calls(Subsystem),
    /// `#[ws_connection]`: the open-connections gauge.
    Connections,
    /// `#[traced]`: a span only.
    Span,
}

/// One instrumented function, as its attribute registered it.
#[derive(Debug)]
pub struct CallSite {
    kind: SiteKind,
    values: &'static [&'static str],
    span_name: &'static str,
    module: &'static str,
    function: &'static str,
    file: &'static str,
    line: u32,
    objective: Option<&'static Objective>,
    cancellable: bool,
}

impl CallSite {
    /// Used by the expansions.
    #[doc(hidden)]
    pub const fn new(kind: SiteKind, values: &'static [&'static str], span_name: &'static str) -> Self {
        Self {
            kind,
            values,
            span_name,
            module: "",
            function: "",
            file: "",
            line: 0,
            objective: None,
            cancellable: true,
        }
    }

    /// Used by the expansions: the function runs to completion once called (not async), so
    /// its calls cannot be cancelled and it has no `cancelled` series.
    #[doc(hidden)]
    pub const fn synchronous(mut self) -> Self {
        self.cancellable = false;
        self
    }

    /// Used by the expansions.
    #[doc(hidden)]
    pub const fn at(mut self, module: &'static str, function: &'static str, file: &'static str, line: u32) -> Self {
        self.module = module;
        self.function = function;
        self.file = file;
        self.line = line;
        self
    }

    /// Used by the expansions.
    #[doc(hidden)]
    pub const fn objective(mut self, objective: &'static Objective) -> Self {
        self.objective = Some(objective);
        self
    }

    /// What the site records.
    pub const fn kind(&self) -> SiteKind {
        self.kind
    }

    /// The subsystem of a site with call metrics.
    pub fn subsystem(&self) -> Option<Subsystem> {
        match self.kind {
            SiteKind::Calls(subsystem) => Some(subsystem),
            _ => None,
        }
    }

    /// The constant label values the attribute gave, in the order of the subsystem's labels
    /// (without `status`). A Stellar site without a `network` has one value fewer: the
    /// runtime's default network fills it in.
    pub fn label_values(&self) -> &'static [&'static str] {
        self.values
    }

    /// The label names of its counter, without `status`, in the order of
    /// [`Self::label_values`], as the installed recorder exposes them (after renames).
    pub fn label_names(&self) -> Vec<&'static str> {
        let names = Names::installed();
        match self.kind {
            SiteKind::Calls(subsystem) => {
                let family = subsystem.family();
                family.site_labels().iter().map(|label| names.label(family.total.name, label)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The metrics it records, as the installed recorder exposes them (prefix, renames): a
    /// counter and a histogram for calls, the gauge of open connections for WebSockets.
    pub fn metric_names(&self) -> Vec<String> {
        let names = Names::installed();
        let metrics: &[&Metric] = match self.kind {
            SiteKind::Calls(subsystem) => &[subsystem.family().total, subsystem.family().duration],
            SiteKind::Connections => &[&WS_CONNECTIONS],
            SiteKind::Span => &[],
        };
        metrics.iter().filter(|m| !names.is_disabled(m.name)).map(|m| names.name(m.name).into_owned()).collect()
    }

    /// Its label pairs by catalogue names, without `status`: the names with the attribute's
    /// values, and `default_network` where a Stellar site names no network.
    pub(crate) fn labels(&self, default_network: &str) -> Vec<(&'static str, String)> {
        let labels = match self.kind {
            SiteKind::Calls(subsystem) => subsystem.family().site_labels(),
            _ => &[],
        };
        let values = self.values.iter().copied().chain(std::iter::repeat(default_network));
        labels.iter().copied().zip(values.map(str::to_owned)).collect()
    }

    /// The span name its calls open, as the trace search shows it.
    pub fn span_name(&self) -> &'static str {
        self.span_name
    }

    /// The function's path, `module::function`.
    pub fn function(&self) -> String {
        format!("{}::{}", self.module, self.function)
    }

    /// The source file and line of the function.
    pub fn location(&self) -> (&'static str, u32) {
        (self.file, self.line)
    }

    /// Whether its calls can be cancelled: an async function (or one returning a future),
    /// whose future may be dropped before it completes. Only such sites have a `cancelled`
    /// series.
    pub const fn can_be_cancelled(&self) -> bool {
        self.cancellable
    }

    /// The objective the attribute named, if any.
    pub const fn objective_of(&self) -> Option<&'static Objective> {
        self.objective
    }
}

/// Every call site's registration, gathered by the linker.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static CALL_SITES: [CallSite];

/// One route of an app's router, with the objective it serves.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// The route template, as axum matches it (`/users/{id}`): the `path` label's value.
    pub path: String,
    /// The objective the route serves, if any.
    pub objective: Option<Objective>,
}

static ROUTES: Mutex<Vec<Route>> = Mutex::new(Vec::new());

/// A queue the app observes (`queue::ObservedQueue`): its name and the age its oldest job
/// must not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    /// The `queue_name` label.
    pub name: String,
    /// The declared limit of the oldest job's age, if any.
    pub max_age: Option<std::time::Duration>,
}

static QUEUES: Mutex<Vec<QueueEntry>> = Mutex::new(Vec::new());
static POOLS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Adds an observed queue; its name is checked unique by the caller.
#[cfg(feature = "queue")]
pub(crate) fn register_queue(entry: QueueEntry) {
    QUEUES.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
}

/// Adds an observed connection pool's name, once.
#[cfg(feature = "sqlx")]
pub(crate) fn register_pool(name: &str) {
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if !pools.iter().any(|p| p == name) {
        pools.push(name.to_owned());
    }
}

/// Whether `name` can be a label value as it is, the way the exposition writes it.
pub(crate) fn is_plain_label(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= super::label::MAX_LABEL_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.:/-".contains(c))
}

/// The servers outgoing requests go to, as `client::catalogue_server` and `SendTraced` saw
/// them; at most [`MAX_CLIENT_SERVERS`], so a service calling arbitrary hosts cannot grow it.
static CLIENT_SERVERS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// How many distinct servers the catalogue keeps.
pub(crate) const MAX_CLIENT_SERVERS: usize = 64;

/// Adds a server outgoing requests go to (a host name), once.
#[cfg(feature = "reqwest")]
pub(crate) fn register_client(server: &str) {
    let mut servers = CLIENT_SERVERS.lock().unwrap_or_else(|e| e.into_inner());
    if servers.len() < MAX_CLIENT_SERVERS && !servers.iter().any(|s| s == server) {
        servers.push(server.to_owned());
    }
}

/// Set once an `ObsLayer` wraps a router: its routes, built before the layer, are catalogued.
static ROUTER_LAYERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Notes that an `ObsLayer` wrapped a router.
#[cfg(feature = "http")]
pub(crate) fn note_router_layered() {
    ROUTER_LAYERED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether an `ObsLayer` has wrapped a router in this process.
pub(crate) fn router_layered() -> bool {
    ROUTER_LAYERED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Adds `route` to the catalogue; a path registered again replaces its entry, so routers
/// built more than once (tests) do not grow it.
#[cfg(feature = "http")]
pub(crate) fn register_route(route: Route) {
    let mut routes = ROUTES.lock().unwrap_or_else(|e| e.into_inner());
    match routes.iter_mut().find(|r| r.path == route.path) {
        Some(existing) => *existing = route,
        None => routes.push(route),
    }
}

/// What this binary instruments: see [`catalogue`].
#[derive(Debug)]
pub struct Catalogue {
    sites: Vec<&'static CallSite>,
    routes: Vec<Route>,
    clients: Vec<String>,
    pools: Vec<String>,
    queues: Vec<QueueEntry>,
}

impl Catalogue {
    #[cfg(test)]
    pub(crate) fn from_parts(sites: Vec<&'static CallSite>, routes: Vec<Route>) -> Self {
        Self { sites, routes, clients: Vec::new(), pools: Vec::new(), queues: Vec::new() }
    }

    /// The connection pools the app observes (`db::observe_pool`), by name.
    pub fn pools(&self) -> &[String] {
        &self.pools
    }

    /// The queues the app observes (`queue::ObservedQueue`).
    pub fn queues(&self) -> &[QueueEntry] {
        &self.queues
    }

    /// The servers the service sends HTTP requests to through `client::SendTraced`, as
    /// `client::catalogue_server` named them or requests so far reached them.
    pub fn clients(&self) -> &[String] {
        &self.clients
    }

    /// Whether the service makes outgoing HTTP requests obs records.
    pub(crate) fn has_client(&self) -> bool {
        !self.clients.is_empty()
    }

    /// Every instrumented function linked into the binary, ordered by file and line.
    pub fn sites(&self) -> &[&'static CallSite] {
        &self.sites
    }

    /// Every route registered through [`crate::http::RouteCatalogue`] so far, in order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Every objective a site or route names, once each, by name.
    pub fn objectives(&self) -> Vec<Objective> {
        let named = self
            .sites
            .iter()
            .filter_map(|s| s.objective.copied())
            .chain(self.routes.iter().filter_map(|r| r.objective));
        let mut objectives: Vec<Objective> = Vec::new();
        for objective in named {
            if !objectives.iter().any(|o| o.name() == objective.name()) {
                objectives.push(objective);
            }
        }
        objectives.sort_by_key(|o| o.name());
        objectives
    }

    /// The sites of one subsystem.
    pub fn sites_of(&self, subsystem: Subsystem) -> impl Iterator<Item = &'static CallSite> + '_ {
        self.sites.iter().copied().filter(move |s| s.subsystem() == Some(subsystem))
    }
}

/// What this binary instruments: every call site its attributes registered (known at link
/// time, so complete before `main` runs) and the routes registered so far.
///
/// ```
/// #[obs_runtime::instrument_redis(command = "hget_profile_name")]
/// fn cached_name() -> Option<String> {
///     None
/// }
///
/// let catalogue = obs_runtime::catalogue();
/// let site = catalogue.sites().iter().find(|s| s.span_name() == "hget_profile_name").unwrap();
/// assert_eq!(site.subsystem(), Some(obs_runtime::Subsystem::Redis));
/// assert_eq!(site.label_values(), ["hget_profile_name"]);
/// assert!(site.function().ends_with("::cached_name"));
/// ```
pub fn catalogue() -> Catalogue {
    let mut sites: Vec<&'static CallSite> = CALL_SITES.iter().collect();
    sites.sort_by(|a, b| (a.file, a.line, a.function, a.span_name).cmp(&(b.file, b.line, b.function, b.span_name)));
    let routes = ROUTES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let clients = CLIENT_SERVERS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let pools = POOLS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let queues = QUEUES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Catalogue { sites, routes, clients, pools, queues }
}
