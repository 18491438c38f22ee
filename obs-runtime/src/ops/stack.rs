//! The stack around the service: Prometheus's scrape config, Alertmanager's routing, Grafana's
//! provisioning, and a Compose file that runs them all with Jaeger and Loki.

use super::model::Model;
use super::rule_files::HEADER;
use super::yaml::{Yaml, list, map, plain, s};

/// The scrape token's file, beside `prometheus.yml` (Prometheus resolves it against the config's
/// folder): the token itself never goes into a generated file.
pub(crate) const TOKEN_FILE: &str = "scrape-token";

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

pub(crate) fn alertmanager_yml(model: &Model) -> String {
    let webhook = |url: &str| list([map([("url", s(url)), ("send_resolved", plain(true))])]);
    map([
        (
            "route",
            map([
                ("receiver", s("chat")),
                ("group_by", list([s("alertname"), s("job")])),
                ("group_wait", s("30s")),
                ("group_interval", s("5m")),
                ("repeat_interval", s("4h")),
                (
                    "routes",
                    list([
                        map([("matchers", list([s("severity=\"critical\"")])), ("receiver", s("pager"))]),
                        map([("matchers", list([s("severity=\"warning\"")])), ("receiver", s("chat"))]),
                    ]),
                ),
            ]),
        ),
        (
            "inhibit_rules",
            list([map([
                ("source_matchers", list([s("severity=\"critical\"")])),
                ("target_matchers", list([s("severity=\"warning\"")])),
                ("equal", list([s("alertname"), s("job")])),
            ])]),
        ),
        (
            "receivers",
            list([
                map([("name", s("pager")), ("webhook_configs", webhook("http://pager.example.invalid/alerts"))]),
                map([("name", s("chat")), ("webhook_configs", webhook("http://chat.example.invalid/alerts"))]),
            ]),
        ),
    ])
    .document(&format!(
        "{HEADER}\nCritical alerts page ({}); warnings go to chat. Replace the two webhook URLs with your pager and chat \
         integrations.",
        model.service
    ))
}

pub(crate) fn datasources_yml() -> String {
    let derived = map([
        ("name", s("trace_id")),
        ("matcherRegex", s("\"trace_id\":\"(\\w+)\"")),
        ("url", s("$${__value.raw}")),
        ("datasourceUid", s("jaeger")),
    ]);
    map([
        ("apiVersion", plain(1)),
        (
            "datasources",
            list([
                map([
                    ("name", s("Prometheus")),
                    ("uid", s("prometheus")),
                    ("type", s("prometheus")),
                    ("access", s("proxy")),
                    ("url", s("http://prometheus:9090")),
                    ("isDefault", plain(true)),
                    (
                        "jsonData",
                        map([(
                            "exemplarTraceIdDestinations",
                            list([map([("name", s("trace_id")), ("datasourceUid", s("jaeger"))])]),
                        )]),
                    ),
                ]),
                map([
                    ("name", s("Jaeger")),
                    ("uid", s("jaeger")),
                    ("type", s("jaeger")),
                    ("access", s("proxy")),
                    ("url", s("http://jaeger:16686")),
                ]),
                map([
                    ("name", s("Loki")),
                    ("uid", s("loki")),
                    ("type", s("loki")),
                    ("access", s("proxy")),
                    ("url", s("http://loki:3100")),
                    // A JSON log line's trace_id opens its trace in Jaeger.
                    ("jsonData", map([("derivedFields", list([derived]))])),
                ]),
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
                ("options", map([("path", s("/var/lib/grafana/dashboards"))])),
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
    let prometheus_volumes = vec![s("./prometheus:/etc/prometheus:ro")];
    let compose = map([(
        "services",
        Yaml::Map(vec![
            (service.clone(), app),
            (
                "prometheus".into(),
                map([
                    ("image", s("prom/prometheus:v2.53.0")),
                    (
                        "command",
                        list([
                            s("--config.file=/etc/prometheus/prometheus.yml"),
                            s("--enable-feature=exemplar-storage"),
                        ]),
                    ),
                    ("volumes", list(prometheus_volumes)),
                    ("ports", list([s("9090:9090")])),
                ]),
            ),
            (
                "alertmanager".into(),
                map([
                    ("image", s("prom/alertmanager:v0.27.0")),
                    ("command", list([s("--config.file=/etc/alertmanager/alertmanager.yml")])),
                    ("volumes", list([s("./alertmanager:/etc/alertmanager:ro")])),
                    ("ports", list([s("9093:9093")])),
                ]),
            ),
            (
                "grafana".into(),
                map([
                    ("image", s("grafana/grafana:11.1.0")),
                    (
                        "volumes",
                        list([
                            s("./grafana/provisioning:/etc/grafana/provisioning:ro"),
                            s("./grafana/dashboard.json:/var/lib/grafana/dashboards/dashboard.json:ro"),
                        ]),
                    ),
                    ("ports", list([s("3000:3000")])),
                ]),
            ),
            (
                "jaeger".into(),
                map([
                    ("image", s("jaegertracing/all-in-one:1.58")),
                    ("environment", map([("COLLECTOR_OTLP_ENABLED", s("true"))])),
                    ("ports", list([s("16686:16686"), s("4317:4317"), s("4318:4318")])),
                ]),
            ),
            ("loki".into(), map([("image", s("grafana/loki:3.1.0")), ("ports", list([s("3100:3100")]))])),
        ]),
    )]);
    let compose = match model.scrape.bearer_token {
        Some(_) => {
            compose.with("secrets", map([("scrape-token", map([("file", s("${SCRAPE_TOKEN_FILE:-./scrape-token}"))]))]))
        }
        None => compose,
    };
    compose.document(&format!(
        "{HEADER}\nThe whole stack: `docker compose up` here, with SERVICE_IMAGE naming the service's image. Ship the \
         service's JSON logs to Loki with your log agent (or Docker's Loki logging driver)."
    ))
}
