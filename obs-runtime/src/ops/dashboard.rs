//! The Grafana dashboard: MentorsMind's overview panels and CPU, a row per subsystem with a panel
//! per catalogued family, and a row per objective. Every query goes through the `datasource`
//! variable and selects `job=~"$job"` and `instance=~"$instance"`.

use serde_json::{Value, json};

use super::model::{Model, ObjectiveModel};
use super::rules::num;
use crate::catalogue::{self, HTTP_REQUEST_DURATION, HTTP_REQUESTS_TOTAL, Subsystem};

const DATASOURCE: &str = "${datasource}";
const RATE: &str = "$__rate_interval";

/// Lays panels out left to right, two to a row, with unique ids.
struct Layout {
    panels: Vec<Value>,
    next_id: u64,
    x: u64,
    y: u64,
}

impl Layout {
    fn row(&mut self, title: &str) {
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

    fn panel(&mut self, title: &str, unit: &str, targets: &[(String, &str)]) {
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
        self.panels.push(json!({
            "type": "timeseries", "id": id, "title": title,
            "datasource": {"type": "prometheus", "uid": DATASOURCE},
            "gridPos": {"h": 8, "w": 12, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
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
    queries
}

pub(crate) fn dashboard(model: &Model) -> Value {
    let scope = |extra: &str| {
        let extra = if extra.is_empty() { String::new() } else { format!(",{extra}") };
        format!("{{job=~\"$job\",instance=~\"$instance\"{extra}}}")
    };
    let n = |metric: &catalogue::Metric| model.name(metric);
    let requests = n(&HTTP_REQUESTS_TOTAL);
    let http_bucket = format!("{}_bucket", n(&HTTP_REQUEST_DURATION));
    let p = |q: f64, bucket: &str, by: &str| {
        format!("histogram_quantile({q}, sum by ({by}) (rate({bucket}{}[{RATE}])))", scope(""))
    };
    let mut layout = Layout { panels: Vec::new(), next_id: 0, x: 0, y: 0 };
    let (method, code) =
        (model.label(&HTTP_REQUESTS_TOTAL, "method"), model.label(&HTTP_REQUESTS_TOTAL, "status_code"));

    layout.row("Overview");
    layout.panel(
        "Request rate by method and status",
        "reqps",
        &[(
            format!("sum by ({method}, {code}) (rate({requests}{}[{RATE}]))", scope("")),
            &format!("{{{{{method}}}}} {{{{{code}}}}}"),
        )],
    );
    layout.panel(
        "Request latency p50 / p95 / p99",
        "s",
        &[
            (p(0.5, &http_bucket, "le"), "p50"),
            (p(0.95, &http_bucket, "le"), "p95"),
            (p(0.99, &http_bucket, "le"), "p99"),
        ],
    );
    layout.panel(
        "5xx error rate",
        "percentunit",
        &[(
            format!(
                "(sum(rate({requests}{}[{RATE}])) or vector(0)) / sum(rate({requests}{}[{RATE}]))",
                scope(&model.matcher(&HTTP_REQUESTS_TOTAL, "status_code", "=~", "5..")),
                scope("")
            ),
            "5xx share",
        )],
    );
    if model.has_websockets && model.records(&catalogue::WS_CONNECTIONS) {
        layout.panel(
            "Active WebSocket connections",
            "short",
            &[(format!("sum({}{})", n(&catalogue::WS_CONNECTIONS), scope("")), "connections")],
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
            let bucket = format!("{}_bucket", n(duration));
            let by = model.label(duration, by);
            layout.panel(title, "s", &[(p(0.95, &bucket, &format!("le, {by}")), &format!("{{{{{by}}}}}"))]);
        }
    }
    if model.subsystems.contains(&Subsystem::Queue) {
        let total = Subsystem::Queue.family().total;
        let status = model.label(total, "status");
        layout.panel(
            "Queue throughput by status",
            "ops",
            &[(format!("sum by ({status}) (rate({}{}[{RATE}]))", n(total), scope("")), &format!("{{{{{status}}}}}"))],
        );
    }
    let process = |name: &str| catalogue::PROCESS.iter().find(|m| m.name == name).filter(|m| model.records(m));
    if let Some(memory) = process("process_resident_memory_bytes") {
        layout.panel("Memory (resident)", "bytes", &[(format!("{}{}", n(memory), scope("")), "{{instance}}")]);
    }
    if model.records(&catalogue::SCHEDULER_LAG) {
        layout.panel(
            "Tokio scheduler lag",
            "s",
            &[(format!("{}{}", n(&catalogue::SCHEDULER_LAG), scope("")), "{{instance}}")],
        );
    }
    if let Some(cpu) = process("process_cpu_seconds_total") {
        layout.panel("CPU", "percentunit", &[(format!("rate({}{}[{RATE}])", n(cpu), scope("")), "{{instance}}")]);
    }

    for subsystem in &model.subsystems {
        let family = subsystem.family();
        let (total, duration) = (n(family.total), n(family.duration));
        layout.row(&format!("{} ({} call sites)", title(*subsystem), model.catalogue.sites_of(*subsystem).count()));
        // Each metric under its own label names: a rename may give the two different ones.
        let labels_of = |metric| -> (String, String) {
            let names: Vec<&str> = family.site_labels().iter().map(|l| model.label(metric, l)).collect();
            (names.join(", "), names.iter().map(|l| format!("{{{{{l}}}}} ")).collect())
        };
        let (labels, legend) = labels_of(family.total);
        let status = model.label(family.total, "status");
        layout.panel(
            &format!("{total} by {labels} and {status}"),
            "ops",
            &[(
                format!("sum by ({labels}, {status}) (rate({total}{}[{RATE}]))", scope("")),
                &format!("{legend}{{{{{status}}}}}"),
            )],
        );
        let (labels, legend) = labels_of(family.duration);
        layout.panel(
            &format!("{duration} p95 by {labels}"),
            "s",
            &[(p(0.95, &format!("{duration}_bucket"), &format!("le, {labels}")), legend.trim_end())],
        );
    }

    for objective in &model.objectives {
        objective_row(&mut layout, objective);
    }

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
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}, "hide": 0},
            {
                "name": "job", "label": "Job", "type": "query",
                "datasource": {"type": "prometheus", "uid": DATASOURCE},
                "query": {"query": "label_values(up, job)", "refId": "job"},
                "definition": "label_values(up, job)",
                "current": {"text": model.job, "value": model.job},
                "includeAll": true, "allValue": ".*", "multi": false, "refresh": 1, "hide": 0,
            },
            {
                "name": "instance", "label": "Instance", "type": "query",
                "datasource": {"type": "prometheus", "uid": DATASOURCE},
                "query": {"query": "label_values(up{job=~\"$job\"}, instance)", "refId": "instance"},
                "definition": "label_values(up{job=~\"$job\"}, instance)",
                "current": {"text": "All", "value": "$__all"},
                "includeAll": true, "allValue": ".*", "multi": true, "refresh": 2, "hide": 0,
            },
        ]},
        "panels": layout.panels,
    })
}

fn title(subsystem: Subsystem) -> &'static str {
    match subsystem {
        Subsystem::Db => "Database",
        Subsystem::Redis => "Redis",
        Subsystem::Queue => "Queue",
        Subsystem::Stellar => "Stellar Horizon",
    }
}

fn objective_row(layout: &mut Layout, objective: &ObjectiveModel) {
    let o = objective.objective;
    let name = o.name();
    let scope = "{job=~\"$job\"}";
    layout.row(&format!("Objective {name}: {} % success", num(o.success_percent())));
    let budget = num(o.error_budget());
    let mut sli = vec![(format!("1 - objective:{name}:error_ratio:rate5m{scope}"), "success".to_owned())];
    let mut burn = vec![
        (format!("objective:{name}:error_ratio:rate1h{scope} / {budget}"), "errors, 1h".to_owned()),
        (format!("objective:{name}:error_ratio:rate6h{scope} / {budget}"), "errors, 6h".to_owned()),
    ];
    let mut left = vec![(format!("1 - objective:{name}:error_ratio:rate30d{scope} / {budget}"), "errors".to_owned())];
    if let Some(latency) = o.latency_target() {
        let slow_budget = num(1.0 - latency.percent / 100.0);
        let within = format!("within {} s", num(latency.threshold_seconds));
        sli.push((format!("1 - objective:{name}:slow_ratio:rate5m{scope}"), within));
        burn.push((format!("objective:{name}:slow_ratio:rate1h{scope} / {slow_budget}"), "latency, 1h".to_owned()));
        burn.push((format!("objective:{name}:slow_ratio:rate6h{scope} / {slow_budget}"), "latency, 6h".to_owned()));
        left.push((format!("1 - objective:{name}:slow_ratio:rate30d{scope} / {slow_budget}"), "latency".to_owned()));
    }
    layout.panel(&format!("{name}: SLI (5m)"), "percentunit", &as_refs(&sli));
    layout.panel(&format!("{name}: burn rate (1 = on budget)"), "short", &as_refs(&burn));
    layout.panel(&format!("{name}: error budget left (30d)"), "percentunit", &as_refs(&left));
}

fn as_refs(targets: &[(String, String)]) -> Vec<(String, &str)> {
    targets.iter().map(|(e, l)| (e.clone(), l.as_str())).collect()
}
