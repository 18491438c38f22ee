//! The objects themselves, one file each, written from the same lists as the plain files.

use super::Kubernetes;
use crate::ops::alertmanager::{self, Matcher, Route};
use crate::ops::alerts::Alert;
use crate::ops::model::Model;
use crate::ops::rule_files::{HEADER, alert_groups, recording_groups};
use crate::ops::rules::Group;
use crate::ops::yaml::{Yaml, list, map, plain, s};
use crate::ops::{GeneratedFile, OpsError};

/// The label a Service is selected by, and the job name the Operator gives its targets.
const NAME_LABEL: &str = "app.kubernetes.io/name";

fn labels(pairs: impl IntoIterator<Item = (String, String)>) -> Yaml {
    Yaml::Map(pairs.into_iter().map(|(k, v)| (k, s(v))).collect())
}

struct Objects<'a> {
    kubernetes: &'a Kubernetes,
    model: &'a Model,
}

impl Objects<'_> {
    fn metadata(&self, name: String, extra: &[(String, String)]) -> Yaml {
        let mut all = vec![
            (NAME_LABEL.to_owned(), self.model.job.clone()),
            ("app.kubernetes.io/managed-by".to_owned(), "obs".to_owned()),
        ];
        all.extend(extra.iter().cloned());
        map([("name", s(name)), ("namespace", s(&self.kubernetes.namespace)), ("labels", labels(all))])
    }

    fn object(&self, api: &str, kind: &str, name: String, extra: &[(String, String)], spec: (&str, Yaml)) -> String {
        map([("apiVersion", s(api)), ("kind", s(kind)), ("metadata", self.metadata(name, extra)), spec]).document(
            &format!("{HEADER}\n{kind} of {} for the Prometheus Operator (kube-prometheus-stack).", self.model.service),
        )
    }
}

/// The Operator's structured matcher.
fn matcher(m: &Matcher) -> Yaml {
    map([("name", s(m.name)), ("value", s(m.value)), ("matchType", s(m.op))])
}

fn route(route: &Route) -> Yaml {
    let mut node = map([("matchers", list(route.matchers.iter().map(matcher)))]);
    if let Some(receiver) = route.receiver {
        node = node.with("receiver", s(receiver));
    }
    if !route.group_by.is_empty() {
        node = node.with("groupBy", list(route.group_by.iter().copied().map(s)));
    }
    if let Some((wait, repeat)) = route.timing {
        node = node.with("groupWait", s(wait)).with("repeatInterval", s(repeat));
    }
    if !route.routes.is_empty() {
        node = node.with("routes", list(route.routes.iter().map(self::route)));
    }
    node
}

/// Adds `namespace` to every alert: the Operator adds a namespace matcher to an
/// AlertmanagerConfig's routes and inhibitions, so its alerts must carry it.
fn with_namespace(alerts: Yaml, namespace: &str) -> Yaml {
    let Yaml::List(groups) = alerts else { return alerts };
    Yaml::List(
        groups
            .into_iter()
            .map(|group| match group {
                Yaml::Map(entries) => Yaml::Map(
                    entries
                        .into_iter()
                        .map(|(key, value)| match (key.as_str(), value) {
                            ("rules", Yaml::List(rules)) => {
                                (key, list(rules.into_iter().map(|r| add_label(r, namespace))))
                            }
                            (_, value) => (key, value),
                        })
                        .collect(),
                ),
                other => other,
            })
            .collect(),
    )
}

fn add_label(rule: Yaml, namespace: &str) -> Yaml {
    let Yaml::Map(entries) = rule else { return rule };
    Yaml::Map(
        entries
            .into_iter()
            .map(|(key, value)| match (key.as_str(), value) {
                ("labels", Yaml::Map(mut labels)) => {
                    labels.push(("namespace".to_owned(), s(namespace)));
                    (key, Yaml::Map(labels))
                }
                (_, value) => (key, value),
            })
            .collect(),
    )
}

/// Every file of `kubernetes/`.
pub(crate) fn files(
    kubernetes: &Kubernetes,
    model: &Model,
    groups: &[Group],
    alerts: &[Alert],
    dashboard_json: &str,
) -> Result<Vec<GeneratedFile>, OpsError> {
    let name = kubernetes.checked_name(&model.service)?;
    let objects = Objects { kubernetes, model };
    let selector = &kubernetes.selector_labels;
    let mut rule_groups = match recording_groups(groups) {
        Yaml::List(groups) => groups,
        _ => Vec::new(),
    };
    if let Yaml::List(alerting) = with_namespace(alert_groups(model, alerts), &kubernetes.namespace) {
        rule_groups.extend(alerting);
    }
    let rule = objects.object(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        format!("{name}-rules"),
        selector,
        ("spec", map([("groups", Yaml::List(rule_groups))])),
    );

    // The Service is selected by the labels given, else by its name label, whose value the
    // Operator then makes the job name the rules select.
    let (service_labels, job_label) = match kubernetes.service_labels.is_empty() {
        true => (vec![(NAME_LABEL.to_owned(), model.job.clone())], Some(NAME_LABEL)),
        false => (kubernetes.service_labels.clone(), None),
    };
    let mut endpoint = map([
        ("port", s(&kubernetes.port)),
        ("path", s(&model.scrape.endpoint)),
        ("interval", s(&kubernetes.interval)),
    ]);
    if model.scrape.bearer_token.is_some() || kubernetes.token_secret.is_some() {
        let (secret, key) =
            kubernetes.token_secret.clone().unwrap_or_else(|| (format!("{name}-scrape-token"), "token".to_owned()));
        let credentials = map([("name", s(secret)), ("key", s(key))]);
        endpoint = endpoint.with("authorization", map([("type", s("Bearer")), ("credentials", credentials)]));
    }
    let mut monitor = map([
        ("selector", map([("matchLabels", labels(service_labels))])),
        ("namespaceSelector", map([("matchNames", list([s(&kubernetes.namespace)]))])),
        ("endpoints", list([endpoint])),
    ]);
    if let Some(job_label) = job_label {
        monitor = monitor.with("jobLabel", s(job_label));
    }
    let monitor =
        objects.object("monitoring.coreos.com/v1", "ServiceMonitor", name.clone(), selector, ("spec", monitor));

    let dashboard = objects.object(
        "v1",
        "ConfigMap",
        format!("{name}-dashboard"),
        std::slice::from_ref(&kubernetes.dashboard_label),
        ("data", Yaml::Map(vec![(format!("{name}.json"), s(dashboard_json))])),
    );

    let [wait, interval, repeat] = alertmanager::ROOT_TIMING;
    let routing = map([
        ("receiver", s("ticket")),
        ("groupBy", list(alertmanager::ROOT_GROUP_BY.map(s))),
        ("groupWait", s(wait)),
        ("groupInterval", s(interval)),
        ("repeatInterval", s(repeat)),
        ("routes", list(alertmanager::routes().iter().map(route))),
    ]);
    let inhibit = list(alertmanager::inhibitions().iter().map(|rule| {
        map([
            ("sourceMatch", list(rule.source.iter().map(matcher))),
            ("targetMatch", list(rule.target.iter().map(matcher))),
            ("equal", list(rule.equal.iter().copied().map(s))),
        ])
    }));
    let receivers = list(alertmanager::RECEIVERS.iter().map(|(receiver, url)| {
        let webhook = map([("url", s(*url)), ("sendResolved", plain(true))]);
        map([("name", s(*receiver)), ("webhookConfigs", list([webhook]))])
    }));
    let manager = objects.object(
        "monitoring.coreos.com/v1alpha1",
        "AlertmanagerConfig",
        name.clone(),
        selector,
        ("spec", map([("route", routing), ("inhibitRules", inhibit), ("receivers", receivers)])),
    );

    let paths =
        ["prometheus-rule.yaml", "service-monitor.yaml", "dashboard-configmap.yaml", "alertmanager-config.yaml"];
    let kustomization = map([
        ("apiVersion", s("kustomize.config.k8s.io/v1beta1")),
        ("kind", s("Kustomization")),
        ("namespace", s(&kubernetes.namespace)),
        ("resources", list(paths.map(s))),
    ])
    .document(&format!(
        "{HEADER}\n`kubectl apply -k .` installs the monitoring of {} into namespace {}. Its Service must carry the label \
         {NAME_LABEL}: {} (or the one Kubernetes::service_label gave) and name its scrape port {}.",
        model.service, kubernetes.namespace, model.job, kubernetes.port
    ));
    let file = |path, contents| GeneratedFile { path, contents };
    Ok(vec![
        file("kubernetes/prometheus-rule.yaml", rule),
        file("kubernetes/service-monitor.yaml", monitor),
        file("kubernetes/dashboard-configmap.yaml", dashboard),
        file("kubernetes/alertmanager-config.yaml", manager),
        file("kubernetes/kustomization.yaml", kustomization),
    ])
}
