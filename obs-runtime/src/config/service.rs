//! The service section: who is reporting (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`).

use super::env::Vars;
use crate::error::InitError;

/// The service's identity: `service.name` on every span and the `app` label of every metric.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceSettings {
    /// `OTEL_SERVICE_NAME`, else `service.name` of `OTEL_RESOURCE_ATTRIBUTES`, else
    /// [`crate::Config::service_name`]; default the executable's file name (with a WARN line at
    /// install saying so), or `unknown_service` where it cannot be read.
    pub name: String,
    /// `service.version` of `OTEL_RESOURCE_ATTRIBUTES`, or [`crate::Config::service_version`].
    pub version: Option<String>,
    /// The source revision the service was built from (a git commit): `OBS_SERVICE_REVISION`,
    /// or [`crate::Config::service_revision`]; `build_info{revision}` shows it.
    pub revision: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, percent-decoded, in order.
    pub resource: Vec<(String, String)>,
    /// Whether the name was given, not defaulted.
    pub(crate) named: bool,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self { name: executable_name(), version: None, revision: None, resource: Vec::new(), named: false }
    }
}

/// The executable's file name, without the hash cargo appends to test and bench binaries
/// (`orders-0123456789abcdef` is `orders`); `unknown_service` where it cannot be read.
pub(crate) fn executable_name() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe.as_deref().and_then(std::path::Path::file_stem).and_then(|s| s.to_str()).unwrap_or_default();
    let name = match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => name,
        _ => stem,
    };
    if name.is_empty() { "unknown_service".to_owned() } else { name.to_owned() }
}

impl ServiceSettings {
    /// The line install logs when the name was not given.
    pub(crate) fn default_name_warning(&self) -> Option<String> {
        (!self.named).then(|| {
            format!(
                "OTEL_SERVICE_NAME is not set: the service is named {:?} after its executable, in every series' app \
                 label, the spans' service.name and the generated monitoring. Set OTEL_SERVICE_NAME (or \
                 Config::service_name) to name it",
                self.name
            )
        })
    }
}

impl ServiceSettings {
    /// The deployment environment: `deployment.environment.name` of the resource, or the older
    /// `deployment.environment`.
    pub fn environment(&self) -> Option<&str> {
        let attribute = |key: &str| self.resource.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        attribute("deployment.environment.name").or_else(|| attribute("deployment.environment"))
    }

    pub(super) fn read(&mut self, vars: &Vars) -> Result<(), InitError> {
        if let Some(value) = vars.get("OTEL_RESOURCE_ATTRIBUTES") {
            self.resource = parse_resource(value)?;
        }
        let attribute = |key: &str| self.resource.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        if let Some(name) = attribute("service.name") {
            self.name = name;
            self.named = true;
        }
        if let Some(version) = attribute("service.version") {
            self.version = Some(version);
        }
        if let Some(revision) = vars.get("OBS_SERVICE_REVISION") {
            if revision.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(InitError::invalid(
                    "OBS_SERVICE_REVISION",
                    revision,
                    "a revision without spaces or control characters, e.g. a git commit",
                ));
            }
            self.revision = Some(revision.to_owned());
        }
        if let Some(name) = vars.get("OTEL_SERVICE_NAME") {
            if name.chars().any(char::is_control) {
                return Err(InitError::invalid("OTEL_SERVICE_NAME", name, "a name without control characters"));
            }
            self.name = name.to_owned();
            self.named = true;
        }
        Ok(())
    }
}

fn parse_resource(value: &str) -> Result<Vec<(String, String)>, InitError> {
    value
        .split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), percent_decode(v.trim()))),
            _ => Err(InitError::invalid("OTEL_RESOURCE_ATTRIBUTES", value, "comma-separated key=value pairs")),
        })
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = value.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_attributes_are_percent_decoded() {
        let parsed = parse_resource("service.name=shop,deployment.environment=prod%2Ceu").unwrap();
        assert_eq!(
            parsed,
            vec![("service.name".into(), "shop".into()), ("deployment.environment".into(), "prod,eu".into())]
        );
    }
}
