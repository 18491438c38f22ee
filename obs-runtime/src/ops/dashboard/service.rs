//! The service's own rows: requests by route, the runtime, outgoing requests, and a row per
//! subsystem.

use serde_json::{Value, json};

use super::{Layout, RATE, Target, row_title, scoped};
use crate::catalogue::{
    self, Covered, ERRORS_TOTAL, HTTP_CLIENT_REQUEST_DURATION, HTTP_REQUEST_DURATION, HTTP_REQUESTS_TOTAL, Metric,
    Subsystem,
};
use crate::ops::alerts::panels;
use crate::ops::model::Model;

fn target(expr: String, legend: &str) -> Target {
    (expr, legend.to_owned())
}

/// `sum by (by) (rate(name{scope,extra}[r]))`.
fn rate_by(by: &str, name: &str, extra: &str) -> String {
    format!("sum by ({by}) (rate({}[{RATE}]))", scoped(name, extra))
}

/// The bad share of `name` by `by`: 0, not nothing, before the first failure.
fn ratio_by(by: &str, name: &str, bad: &str) -> String {
    let all = rate_by(by, name, "");
    format!("({} or {all} * 0) / {all}", rate_by(by, name, bad))
}

fn quantile_by(q: f64, by: &str, bucket: &str) -> String {
    let by = if by.is_empty() { "le".to_owned() } else { format!("le, {by}") };
    format!("histogram_quantile({q}, sum by ({by}) (rate({}[{RATE}])))", scoped(bucket, ""))
}

fn legend(labels: &[&str]) -> String {
    labels.iter().map(|l| format!("{{{{{l}}}}}")).collect::<Vec<_>>().join(" ")
}

pub(super) fn overview(layout: &mut Layout, model: &Model) {
    if !model.has_routes() {
        return;
    }
    let requests = model.name(&HTTP_REQUESTS_TOTAL);
    let bucket = format!("{}_bucket", model.name(&HTTP_REQUEST_DURATION));
    let label = |l| model.label(&HTTP_REQUESTS_TOTAL, l);
    let (path, method, code) = (label("path"), label("method"), label("status_code"));
    let five = model.matcher(&HTTP_REQUESTS_TOTAL, "status_code", "=~", "5..");
    layout.row("Overview");
    layout.panel("Request rate by route", "reqps", &[target(rate_by(path, &requests, ""), &legend(&[path]))]);
    layout.panel(
        "Request latency p50 / p95 / p99",
        "s",
        &[
            target(quantile_by(0.5, "", &bucket), "p50"),
            target(quantile_by(0.95, "", &bucket), "p95"),
            target(quantile_by(0.99, "", &bucket), "p99"),
        ],
    );
    layout.panel(panels::ERRORS_BY_ROUTE, "percentunit", &[target(ratio_by(path, &requests, &five), &legend(&[path]))]);
    let route_p95 = quantile_by(0.95, model.label(&HTTP_REQUEST_DURATION, "path"), &bucket);
    layout.panel(
        panels::LATENCY_BY_ROUTE,
        "s",
        &[target(route_p95, &legend(&[model.label(&HTTP_REQUEST_DURATION, "path")]))],
    );
    layout.panel(
        "5xx error rate",
        "percentunit",
        &[target(
            format!(
                "(sum(rate({}[{RATE}])) or vector(0)) / sum(rate({}[{RATE}]))",
                scoped(&requests, &five),
                scoped(&requests, "")
            ),
            "5xx share",
        )],
    );
    layout.panel(
        "Request rate by method and status",
        "reqps",
        &[target(rate_by(&format!("{method}, {code}"), &requests, ""), &legend(&[method, code]))],
    );
    if model.records(&ERRORS_TOTAL) {
        let (kind, route) = (model.label(&ERRORS_TOTAL, "type"), model.label(&ERRORS_TOTAL, "path"));
        let errors = model.name(&ERRORS_TOTAL);
        layout.panel(
            "Errors by type and route",
            "ops",
            &[target(rate_by(&format!("{kind}, {route}"), &errors, ""), &legend(&[kind, route]))],
        );
    }
    if model.has_websockets && model.records(&catalogue::WS_CONNECTIONS) {
        let gauge = model.name(&catalogue::WS_CONNECTIONS);
        layout.panel(
            "Active WebSocket connections",
            "short",
            &[target(format!("sum({})", scoped(&gauge, "")), "connections")],
        );
    }
    let overview = [
        (Subsystem::Db, "Database p95 by table", "table"),
        (Subsystem::Redis, "Redis p95 by command", "command"),
        (Subsystem::Stellar, "Stellar p95 by operation", "operation"),
    ];
    for (subsystem, title, by) in overview {
        if model.subsystems.contains(&subsystem) {
            let duration = subsystem.family().duration;
            let by = model.label(duration, by);
            let bucket = format!("{}_bucket", model.name(duration));
            layout.panel(title, "s", &[target(quantile_by(0.95, by, &bucket), &legend(&[by]))]);
        }
    }
    if model.subsystems.contains(&Subsystem::Queue) {
        let total = Subsystem::Queue.family().total;
        let status = model.label(total, "status");
        layout.panel(
            "Queue throughput by status",
            "ops",
            &[target(rate_by(status, &model.name(total), ""), &legend(&[status]))],
        );
    }
}

/// The Runtime row: CPU in cores, resident memory, and the Tokio scheduler.
pub(super) fn runtime(layout: &mut Layout, model: &Model) {
    layout.row("Runtime");
    if let Some(cpu) = model.process_metric(&catalogue::PROCESS_CPU_SECONDS_TOTAL) {
        // CPU seconds a second: the cores in use (2 is two cores busy), not a percentage.
        let cpu = format!("rate({}[{RATE}])", scoped(&model.name(cpu), ""));
        layout.panel("CPU (cores)", "short", &[target(cpu, "{{instance}}")]);
    }
    if let Some(memory) = model.process_metric(&catalogue::PROCESS_RESIDENT_MEMORY_BYTES) {
        layout.panel("Memory (resident)", "bytes", &[target(scoped(&model.name(memory), ""), "{{instance}}")]);
    }
    if model.records(&catalogue::SCHEDULER_LAG) {
        let lag = scoped(&model.name(&catalogue::SCHEDULER_LAG), "");
        layout.panel("Tokio scheduler lag", "s", &[target(lag, "{{instance}}")]);
    }
}

pub(super) fn client(layout: &mut Layout, model: &Model) {
    if !model.has_client() {
        return;
    }
    let metric = &HTTP_CLIENT_REQUEST_DURATION;
    let count = format!("{}_count", model.name(metric));
    let (server, code) = (model.label(metric, "server_address"), model.label(metric, "status_code"));
    let bad = model.matcher(metric, "status_code", "=~", "5..|error");
    layout.row("Outgoing HTTP requests");
    layout.panel(
        "Outgoing requests by server and status",
        "reqps",
        &[target(rate_by(&format!("{server}, {code}"), &count, ""), &legend(&[server, code]))],
    );
    layout.panel(panels::CLIENT_ERRORS, "percentunit", &[target(ratio_by(server, &count, &bad), &legend(&[server]))]);
    let bucket = format!("{}_bucket", model.name(metric));
    layout.panel(
        "Outgoing request p95 by server",
        "s",
        &[target(quantile_by(0.95, server, &bucket), &legend(&[server]))],
    );
}

/// The titles of a subsystem row's panels, which the runbook names too.
pub(crate) struct SubsystemPanels {
    pub(crate) calls: String,
    pub(crate) failing: String,
    pub(crate) latency: String,
    /// Failures by kind of error, when error series carry `error_type`.
    pub(crate) kinds: Option<String>,
}

/// The label names of a family's call sites on `metric`, as the service exposes them.
fn site_labels<'a>(model: &'a Model, subsystem: Subsystem, metric: &Metric) -> Vec<&'a str> {
    subsystem.family().site_labels().iter().map(|l| model.label(metric, l)).collect()
}

pub(crate) fn subsystem_panels(model: &Model, subsystem: Subsystem) -> SubsystemPanels {
    let family = subsystem.family();
    let (total, duration) = (model.name(family.total), model.name(family.duration));
    // Each metric under its own label names: a rename may give the two different ones.
    let by = site_labels(model, subsystem, family.total).join(", ");
    let status = model.label(family.total, "status");
    SubsystemPanels {
        calls: format!("{total} by {by} and {status}"),
        failing: format!("{total} failing, by {by}"),
        latency: format!("{duration} p95 by {}", site_labels(model, subsystem, family.duration).join(", ")),
        kinds: model
            .error_type_label
            .then(|| format!("{total} failures by {}", model.label(family.total, catalogue::ERROR_TYPE_LABEL))),
    }
}

pub(super) fn subsystem(layout: &mut Layout, model: &Model, subsystem: Subsystem) {
    let family = subsystem.family();
    let (total, duration) = (model.name(family.total), model.name(family.duration));
    let titles = subsystem_panels(model, subsystem);
    let sites = model.catalogue.sites_of(subsystem).count();
    layout.row(&format!("{} ({sites} call site{})", row_title(subsystem), if sites == 1 { "" } else { "s" }));
    let labels = site_labels(model, subsystem, family.total);
    let status = model.label(family.total, "status");
    let by = labels.join(", ");
    let calls = rate_by(&format!("{by}, {status}"), &total, "");
    layout.panel(&titles.calls, "ops", &[target(calls, &legend(&[&labels[..], &[status]].concat()))]);
    let bad = model.bad_matcher(&Covered::of(subsystem));
    layout.panel(&titles.failing, "percentunit", &[target(ratio_by(&by, &total, &bad), &legend(&labels))]);
    let duration_labels = site_labels(model, subsystem, family.duration);
    let p95 = quantile_by(0.95, &duration_labels.join(", "), &format!("{duration}_bucket"));
    layout.panel(&titles.latency, "s", &[target(p95, &legend(&duration_labels))]);
    if let Some(title) = &titles.kinds {
        let kind = model.label(family.total, catalogue::ERROR_TYPE_LABEL);
        let failures = rate_by(&format!("{by}, {kind}"), &total, &bad);
        layout.panel(title, "ops", &[target(failures, &legend(&[&labels[..], &[kind]].concat()))]);
    }
}

/// The dashboard's annotations: none yet beyond Grafana's own.
pub(super) fn annotations(_model: &Model) -> Vec<Value> {
    vec![json!({
        "name": "Annotations & Alerts", "builtIn": 1, "enable": true, "hide": true, "iconColor": "rgba(0, 211, 255, 1)",
        "type": "dashboard", "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    })]
}
