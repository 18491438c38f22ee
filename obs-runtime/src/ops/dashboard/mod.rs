//! The Grafana dashboard: the service's overview (by route), its runtime, its outgoing requests,
//! a row per subsystem with a panel per question (how many, which fail, how slow, which kind of
//! error) and a row per objective. Every query goes through the `datasource` variable and
//! selects `job=~"$job"` and `instance=~"$instance"`, the objective rows included.

mod objectives;
mod saturation;
mod service;

pub(crate) use service::subsystem_panels;

use serde_json::{Value, json};

use super::model::Model;
use crate::catalogue::Subsystem;

const DATASOURCE: &str = "${datasource}";
pub(crate) const RATE: &str = "$__rate_interval";
/// The dashboard's scope of a query, before any other matcher.
pub(crate) const SCOPE: &str = "job=~\"$job\",instance=~\"$instance\"";

/// Lays panels out left to right, two to a row, with unique ids.
pub(crate) struct Layout {
    panels: Vec<Value>,
    next_id: u64,
    x: u64,
    y: u64,
}

/// A query and its legend.
pub(crate) type Target = (String, String);

impl Layout {
    pub(crate) fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.x = 0;
            self.y += 8;
        }
        let id = self.id();
        self.panels.push(json!({
            "type": "row", "id": id, "title": title, "collapsed": false, "panels": [],
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
        }));
        self.y += 1;
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn panel(&mut self, title: &str, unit: &str, targets: &[Target]) {
        self.panel_with(
            title,
            unit,
            targets,
            json!({"mode": "absolute", "steps": [{"color": "green", "value": null}]}),
            false,
        );
    }

    /// A panel with threshold lines drawn at `steps` (value, colour).
    pub(crate) fn panel_with_lines(&mut self, title: &str, unit: &str, targets: &[Target], steps: &[(f64, &str)]) {
        let mut all = vec![json!({"color": "green", "value": null})];
        all.extend(steps.iter().map(|(value, color)| json!({"color": color, "value": value})));
        self.panel_with(title, unit, targets, json!({"mode": "absolute", "steps": all}), true);
    }

    fn panel_with(&mut self, title: &str, unit: &str, targets: &[Target], thresholds: Value, lines: bool) {
        let id = self.id();
        let targets: Vec<Value> = targets
            .iter()
            .enumerate()
            .map(|(i, (expr, legend))| {
                json!({
                    "refId": ((b'A' + i as u8) as char).to_string(),
                    "datasource": {"type": "prometheus", "uid": DATASOURCE},
                    "expr": expr, "legendFormat": legend, "range": true,
                    // Latency panels show obs's exemplars: a point per bucket links to its trace.
                    "exemplar": expr.contains("histogram_quantile"),
                })
            })
            .collect();
        let style = if lines { "line" } else { "off" };
        self.panels.push(json!({
            "type": "timeseries", "id": id, "title": title,
            "datasource": {"type": "prometheus", "uid": DATASOURCE},
            "gridPos": {"h": 8, "w": 12, "x": self.x, "y": self.y},
            "fieldConfig": {
                "defaults": {"unit": unit, "thresholds": thresholds, "custom": {"thresholdsStyle": {"mode": style}}},
                "overrides": [],
            },
            "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": true}},
            "targets": targets,
        }));
        self.x += 12;
        if self.x >= 24 {
            self.x = 0;
            self.y += 8;
        }
    }
}

/// `name{job=~"$job",instance=~"$instance",extra}`.
pub(crate) fn scoped(name: &str, extra: &str) -> String {
    super::model::scoped(name, SCOPE, &[extra])
}

/// The title of a subsystem's row, as alert descriptions name it.
pub(crate) fn row_title(subsystem: Subsystem) -> &'static str {
    match subsystem {
        Subsystem::Db => "Database",
        Subsystem::Redis => "Redis",
        Subsystem::Queue => "Queue",
        Subsystem::Stellar => "Stellar Horizon",
    }
}

/// Every query of the dashboard, in panel order (for the real-Prometheus test).
pub(crate) fn queries(dashboard: &Value) -> Vec<String> {
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                queries.push(expr.to_owned());
            }
        }
    }
    for annotation in dashboard["annotations"]["list"].as_array().into_iter().flatten() {
        if let Some(expr) = annotation["expr"].as_str() {
            queries.push(expr.to_owned());
        }
    }
    queries
}

pub(crate) fn dashboard(model: &Model) -> Value {
    let mut layout = Layout { panels: Vec::new(), next_id: 0, x: 0, y: 0 };
    service::overview(&mut layout, model);
    service::runtime(&mut layout, model);
    saturation::fds(&mut layout, model);
    service::client(&mut layout, model);
    for subsystem in &model.subsystems {
        service::subsystem(&mut layout, model, *subsystem);
    }
    saturation::pools(&mut layout, model);
    saturation::queues(&mut layout, model);
    for objective in &model.objectives {
        objectives::row(&mut layout, model, objective);
    }
    let variable = |name: &str, label: &str, query: &str, current: Value, multi: bool, refresh: u64| {
        json!({
            "name": name, "label": label, "type": "query",
            "datasource": {"type": "prometheus", "uid": DATASOURCE},
            "query": {"query": query, "refId": name}, "definition": query,
            "current": current, "includeAll": true, "allValue": ".*", "multi": multi, "refresh": refresh, "hide": 0,
        })
    };
    json!({
        "title": model.service,
        "uid": format!("obs-{}", model.service).chars().take(40).collect::<String>(),
        "description": "Generated by obs from the service's call-site catalogue; do not edit.",
        "tags": ["obs", model.service],
        "editable": true,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "annotations": {"list": service::annotations(model).into_iter().chain(saturation::deploys(model)).collect::<Vec<_>>()},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}, "hide": 0},
            variable("job", "Job", "label_values(up, job)", json!({"text": model.job, "value": model.job}), false, 1),
            variable(
                "instance", "Instance", "label_values(up{job=~\"$job\"}, instance)",
                json!({"text": ["All"], "value": ["$__all"]}), true, 2,
            ),
        ]},
        "panels": layout.panels,
    })
}
