//! The monitoring as Prometheus Operator objects (kube-prometheus-stack), in `kubernetes/`: a
//! `PrometheusRule` with the same groups as `prometheus/`, a `ServiceMonitor` for the scrape
//! port, the dashboard in a ConfigMap Grafana's sidecar picks up, an `AlertmanagerConfig` with
//! the routing and inhibitions of `alertmanager/`, and a `kustomization.yaml` listing them.

mod objects;

pub(crate) use objects::files;

use super::OpsError;

/// The Prometheus Operator objects' settings: where they go and the labels the Operator's
/// selectors and Grafana's sidecar look for. Every value is checked against Kubernetes' rules
/// for names and labels when the files are generated; a wrong one writes nothing.
///
/// ```
/// use obs_runtime::ops::{Kubernetes, Ops};
///
/// let config = obs_runtime::Config::default().service_name("shop");
/// let kubernetes = Kubernetes::default().namespace("payments").selector_label("release", "monitoring");
/// let files = Ops::new(&config).kubernetes(kubernetes).files().unwrap();
/// let rule = files.iter().find(|f| f.path == "kubernetes/prometheus-rule.yaml").unwrap();
/// assert!(rule.contents.contains("namespace: \"payments\""));
/// assert!(rule.contents.contains("release: \"monitoring\""));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Kubernetes {
    pub(crate) namespace: String,
    pub(crate) name: Option<String>,
    pub(crate) selector_labels: Vec<(String, String)>,
    pub(crate) dashboard_label: (String, String),
    pub(crate) port: String,
    pub(crate) service_labels: Vec<(String, String)>,
    pub(crate) token_secret: Option<(String, String)>,
    pub(crate) interval: String,
}

impl Default for Kubernetes {
    /// Namespace `default`; `release: kube-prometheus-stack`, what the chart's default
    /// selectors match; the dashboard label `grafana_dashboard: "1"`; port `metrics`; scraped
    /// every 15 s.
    fn default() -> Self {
        Self {
            namespace: "default".to_owned(),
            name: None,
            selector_labels: vec![("release".to_owned(), "kube-prometheus-stack".to_owned())],
            dashboard_label: ("grafana_dashboard".to_owned(), "1".to_owned()),
            port: "metrics".to_owned(),
            service_labels: Vec::new(),
            token_secret: None,
            interval: "15s".to_owned(),
        }
    }
}

impl Kubernetes {
    /// The namespace of every object (a DNS label).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The objects' name (a DNS subdomain); default the service's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A label the Operator's `ruleSelector`, `serviceMonitorSelector` and
    /// `alertmanagerConfigSelector` match; the first call replaces the default
    /// `release: kube-prometheus-stack`.
    pub fn selector_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        if self.selector_labels == Kubernetes::default().selector_labels {
            self.selector_labels.clear();
        }
        self.selector_labels.push((key.into(), value.into()));
        self
    }

    /// The label Grafana's dashboard sidecar watches; default `grafana_dashboard: "1"`.
    pub fn dashboard_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.dashboard_label = (key.into(), value.into());
        self
    }

    /// The name of the scrape port in the service's `Service`; default `metrics`.
    pub fn port_name(mut self, port: impl Into<String>) -> Self {
        self.port = port.into();
        self
    }

    /// A label of the service's `Service` that the ServiceMonitor selects it by; default
    /// `app.kubernetes.io/name: <service>`.
    pub fn service_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.service_labels.push((key.into(), value.into()));
        self
    }

    /// The Secret (name and key) holding the scrape's bearer token; default
    /// `<name>-scrape-token`, key `token`, when the service requires one. The token itself is
    /// never written.
    pub fn token_secret(mut self, name: impl Into<String>, key: impl Into<String>) -> Self {
        self.token_secret = Some((name.into(), key.into()));
        self
    }

    /// How often Prometheus scrapes the service; default `15s`.
    pub fn scrape_interval(mut self, interval: impl Into<String>) -> Self {
        self.interval = interval.into();
        self
    }
}

fn refuse(option: &str, value: &str, fix: &str) -> OpsError {
    OpsError::Invalid { option: option.to_owned(), value: value.to_owned(), fix: fix.to_owned() }
}

/// A DNS-1123 label: what a namespace and a Service's port name (shorter) must be.
pub(crate) fn is_dns_label(value: &str, max: usize) -> bool {
    let bytes = value.as_bytes();
    !value.is_empty()
        && value.len() <= max
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// A DNS-1123 subdomain: what an object's name must be.
pub(crate) fn is_dns_subdomain(value: &str) -> bool {
    value.len() <= 253 && value.split('.').all(|part| is_dns_label(part, 63))
}

/// A label value: at most 63 characters, alphanumerics with `-`, `_`, `.` inside; may be empty.
pub(crate) fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    value.is_empty()
        || (value.len() <= 63
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric())
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name like a non-empty value.
pub(crate) fn is_label_key(key: &str) -> bool {
    let (prefix, name) = key.rsplit_once('/').map_or((None, key), |(p, n)| (Some(p), n));
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

impl Kubernetes {
    /// The objects' name for `service`, after every option is checked.
    pub(crate) fn checked_name(&self, service: &str) -> Result<String, OpsError> {
        let name = self.name.clone().unwrap_or_else(|| service.to_owned());
        // The longest name derived from it: `<name>-dashboard`.
        if !is_dns_subdomain(&name) || name.len() > 253 - "-dashboard".len() {
            let option = if self.name.is_some() { "Kubernetes::name" } else { "the service name (OTEL_SERVICE_NAME)" };
            return Err(refuse(
                option,
                &name,
                "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit; give \
                 Kubernetes::name(\"my-service\") if the service's name cannot be one",
            ));
        }
        if !is_dns_label(&self.namespace, 63) {
            return Err(refuse(
                "Kubernetes::namespace",
                &self.namespace,
                "a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
            ));
        }
        if !is_dns_label(&self.port, 15) || !self.port.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(refuse(
                "Kubernetes::port_name",
                &self.port,
                "the name of the Service's port: at most 15 lowercase letters, digits and '-', with a letter",
            ));
        }
        let labels = self.selector_labels.iter().map(|l| ("Kubernetes::selector_label", l));
        let labels = labels.chain(self.service_labels.iter().map(|l| ("Kubernetes::service_label", l)));
        for (option, (key, value)) in labels.chain([("Kubernetes::dashboard_label", &self.dashboard_label)]) {
            if !is_label_key(key) {
                return Err(refuse(
                    option,
                    key,
                    "a label key: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' and '.'",
                ));
            }
            if !is_label_value(value) {
                return Err(refuse(
                    option,
                    value,
                    "a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter \
                     or digit",
                ));
            }
        }
        if let Some((secret, key)) = &self.token_secret {
            if !is_dns_subdomain(secret) {
                return Err(refuse("Kubernetes::token_secret", secret, "the name of a Secret in the namespace"));
            }
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
                return Err(refuse(
                    "Kubernetes::token_secret",
                    key,
                    "the key of the token within the Secret: letters, digits, '-', '_' and '.', e.g. token",
                ));
            }
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_follow_kubernetes_rules() {
        assert!(is_dns_label("payments-eu", 63) && !is_dns_label("Payments", 63) && !is_dns_label("-a", 63));
        assert!(!is_dns_label(&"a".repeat(64), 63));
        assert!(is_dns_subdomain("shop.example") && !is_dns_subdomain("shop_api"));
        assert!(is_label_key("app.kubernetes.io/name") && is_label_key("release") && !is_label_key("a/b/"));
        assert!(is_label_value("") && is_label_value("kube-prometheus-stack") && !is_label_value("-x"));
    }

    #[test]
    fn a_wrong_option_names_itself_and_the_fix() {
        let error = Kubernetes::default().namespace("Payments").checked_name("shop").unwrap_err().to_string();
        assert!(error.starts_with("Kubernetes::namespace=\"Payments\" cannot be used: a DNS label"), "{error}");
        let error = Kubernetes::default().token_secret("scrape", "").checked_name("shop").unwrap_err().to_string();
        assert!(error.contains("Kubernetes::token_secret=\"\" cannot be used: the key of the token"), "{error}");
        let error = Kubernetes::default().checked_name("Shop_API").unwrap_err().to_string();
        assert!(error.contains("the service name (OTEL_SERVICE_NAME)=\"Shop_API\""), "{error}");
        let long = "x".repeat(64);
        let error = Kubernetes::default().selector_label("release", long).checked_name("shop").unwrap_err();
        assert!(error.to_string().starts_with("Kubernetes::selector_label="), "{error}");
    }
}
