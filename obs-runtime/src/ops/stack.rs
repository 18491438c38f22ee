//! The stack around the service: Prometheus's scrape config, Grafana's provisioning, Promtail's
//! log shipping, and a Compose file that runs them all with Alertmanager, Jaeger and Loki, its
//! state on named volumes.

use super::model::Model;
use super::rule_files::HEADER;
use super::yaml::{Yaml, list, map, plain, s};

/// The scrape token's file, beside `prometheus.yml` (Prometheus resolves it against the config's
/// folder): the token itself never goes into a generated file.
pub(crate) const TOKEN_FILE: &str = "scrape-token";

/// Where Grafana reads the dashboard in the Compose stack.
const DASHBOARDS: &str = "/etc/grafana/dashboards";

/// The longest error-budget period of the service's objectives, in days, or the default.
fn longest_period(model: &Model) -> u32 {
    model.objectives.iter().map(|o| o.objective.period()).max().unwrap_or(crate::catalogue::DEFAULT_PERIOD_DAYS)
}

/// How long the Compose stack's Prometheus keeps data: a day more than the longest period, so
/// the budget's window is always whole, and never under 31 days.
pub(crate) fn retention_days(model: &Model) -> u32 {
    (longest_period(model) + 1).max(31)
}

pub(crate) fn prometheus_yml(model: &Model) -> String {
    let scrape = &model.scrape;
    let job = map([
        ("job_name", s(&model.job)),
        ("metrics_path", s(&scrape.endpoint)),
        ("static_configs", list([map([("targets", list([s(format!("{}:{}", model.service, scrape.port))]))])])),
    ]);
    let job = match scrape.bearer_token {
        Some(_) => job.with("authorization", map([("type", s("Bearer")), ("credentials_file", s(TOKEN_FILE))])),
        None => job,
    };
    map([
        ("global", map([("scrape_interval", s("15s")), ("evaluation_interval", s("15s"))])),
        ("rule_files", list([s("recording-rules.yml"), s("alerts.yml")])),
        (
            "alerting",
            map([(
                "alertmanagers",
                list([map([("static_configs", list([map([("targets", list([s("alertmanager:9093")]))])]))])]),
            )]),
        ),
        ("scrape_configs", list([job])),
    ])
    .document(HEADER)
}

pub(crate) fn datasources_yml() -> String {
    let derived = map([
        ("name", s("trace_id")),
        ("matcherRegex", s("\"trace_id\":\"(\\w+)\"")),
        ("url", s("$${__value.raw}")),
        ("datasourceUid", s("jaeger")),
    ]);
    let source = |name: &str, uid: &str, kind: &str, url: &str| {
        map([("name", s(name)), ("uid", s(uid)), ("type", s(kind)), ("access", s("proxy")), ("url", s(url))])
    };
    map([
        ("apiVersion", plain(1)),
        (
            "datasources",
            list([
                source("Prometheus", "prometheus", "prometheus", "http://prometheus:9090")
                    .with("isDefault", plain(true))
                    .with(
                        "jsonData",
                        map([(
                            "exemplarTraceIdDestinations",
                            list([map([("name", s("trace_id")), ("datasourceUid", s("jaeger"))])]),
                        )]),
                    ),
                source("Jaeger", "jaeger", "jaeger", "http://jaeger:16686"),
                // A JSON log line's trace_id opens its trace in Jaeger.
                source("Loki", "loki", "loki", "http://loki:3100")
                    .with("jsonData", map([("derivedFields", list([derived]))])),
            ]),
        ),
    ])
    .document(HEADER)
}

pub(crate) fn dashboards_yml() -> String {
    map([
        ("apiVersion", plain(1)),
        (
            "providers",
            list([map([
                ("name", s("obs")),
                ("type", s("file")),
                ("disableDeletion", plain(false)),
                ("allowUiUpdates", plain(false)),
                ("options", map([("path", s(DASHBOARDS))])),
            ])]),
        ),
    ])
    .document(HEADER)
}

/// Promtail reads the service container's output through Docker and ships every line to Loki
/// with `service="<service>"`, the label the runbook's LogQL selects; the JSON fields (`level`,
/// `trace_id`, `request_id`) are read at query time with `| json`.
pub(crate) fn promtail_yml(model: &Model) -> String {
    let filter =
        map([("name", s("label")), ("values", list([s(format!("com.docker.compose.service={}", model.service))]))]);
    let relabel = map([
        ("source_labels", list([s("__meta_docker_container_label_com_docker_compose_service")])),
        ("target_label", s("service")),
    ]);
    map([
        ("server", map([("http_listen_port", plain(9080)), ("grpc_listen_port", plain(0))])),
        ("positions", map([("filename", s("/tmp/positions.yaml"))])),
        ("clients", list([map([("url", s("http://loki:3100/loki/api/v1/push"))])])),
        (
            "scrape_configs",
            list([map([
                ("job_name", s(&model.service)),
                (
                    "docker_sd_configs",
                    list([map([
                        ("host", s("unix:///var/run/docker.sock")),
                        ("refresh_interval", s("5s")),
                        ("filters", list([filter])),
                    ])]),
                ),
                ("relabel_configs", list([relabel])),
            ])]),
        ),
    ])
    .document(HEADER)
}

pub(crate) fn compose_yml(model: &Model) -> String {
    let service = &model.service;
    let port = model.scrape.port.to_string();
    let app = map([
        ("image", s(format!("${{SERVICE_IMAGE:-{service}:latest}}"))),
        (
            "environment",
            map([
                ("OTEL_SERVICE_NAME", s(service)),
                ("OTEL_EXPORTER", s("otlp")),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", s("http://jaeger:4317")),
                ("PROMETHEUS_PORT", s(&port)),
            ]),
        ),
        ("expose", list([s(&port)])),
        ("logging", map([("driver", s("json-file"))])),
    ]);
    let image = |image: &str, command: &[String], volumes: &[&str], ports: &[&str]| {
        let mut entries = vec![("image".to_owned(), s(image))];
        if !command.is_empty() {
            entries.push(("command".to_owned(), list(command.iter().map(s))));
        }
        if !volumes.is_empty() {
            entries.push(("volumes".to_owned(), list(volumes.iter().copied().map(s))));
        }
        if !ports.is_empty() {
            entries.push(("ports".to_owned(), list(ports.iter().copied().map(s))));
        }
        Yaml::Map(entries)
    };
    let prometheus = image(
        "prom/prometheus:v2.53.0",
        &[
            "--config.file=/etc/prometheus/prometheus.yml".into(),
            "--storage.tsdb.path=/prometheus".into(),
            format!("--storage.tsdb.retention.time={}d", retention_days(model)),
            "--enable-feature=exemplar-storage".into(),
        ],
        &["./prometheus:/etc/prometheus:ro", "prometheus-data:/prometheus"],
        &["9090:9090"],
    );
    let alertmanager = image(
        "prom/alertmanager:v0.27.0",
        &["--config.file=/etc/alertmanager/alertmanager.yml".into(), "--storage.path=/alertmanager".into()],
        &["./alertmanager:/etc/alertmanager:ro", "alertmanager-data:/alertmanager"],
        &["9093:9093"],
    );
    let dashboard = format!("./grafana/dashboard.json:{DASHBOARDS}/dashboard.json:ro");
    let grafana = image(
        "grafana/grafana:11.1.0",
        &[],
        &["./grafana/provisioning:/etc/grafana/provisioning:ro", &dashboard, "grafana-data:/var/lib/grafana"],
        &["3000:3000"],
    );
    let jaeger = image("jaegertracing/all-in-one:1.58", &[], &[], &["16686:16686", "4317:4317", "4318:4318"])
        .with("environment", map([("COLLECTOR_OTLP_ENABLED", s("true"))]));
    let loki = image("grafana/loki:3.1.0", &[], &["loki-data:/loki"], &["3100:3100"]);
    let promtail = image(
        "grafana/promtail:3.1.0",
        &["-config.file=/etc/promtail/promtail.yml".into()],
        &["./promtail/promtail.yml:/etc/promtail/promtail.yml:ro", "/var/run/docker.sock:/var/run/docker.sock:ro"],
        &[],
    );
    let compose = map([
        (
            "services",
            Yaml::Map(vec![
                (service.clone(), app),
                ("prometheus".into(), prometheus),
                ("alertmanager".into(), alertmanager),
                ("grafana".into(), grafana),
                ("jaeger".into(), jaeger),
                ("loki".into(), loki),
                ("promtail".into(), promtail),
            ]),
        ),
        (
            "volumes",
            map([
                ("prometheus-data", map([])),
                ("alertmanager-data", map([])),
                ("grafana-data", map([])),
                ("loki-data", map([])),
            ]),
        ),
    ]);
    let compose = match model.scrape.bearer_token {
        Some(_) => {
            compose.with("secrets", map([("scrape-token", map([("file", s("${SCRAPE_TOKEN_FILE:-./scrape-token}"))]))]))
        }
        None => compose,
    };
    compose.document(&format!(
        "{HEADER}\nThe whole stack: `docker compose up` here, with SERVICE_IMAGE naming the service's image. Prometheus \
         keeps {} days on a named volume (the longest objective period and a day), so a 30-day budget is whole; \
         Promtail ships the service's JSON logs to Loki.",
        retention_days(model)
    ))
}
