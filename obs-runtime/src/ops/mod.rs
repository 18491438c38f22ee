//! The monitoring of a service, generated from the call sites its binary contains and the
//! config it installs: Grafana dashboard and provisioning, Prometheus scrape config, recording
//! rules, alerts and their promtool tests, Alertmanager routing, a runbook, a Compose file and
//! `metrics.md`, the metrics reference under the service's final names (prefix, renames,
//! buckets).
//!
//! Run it from the built service, so the catalogue is the binary's own: one line in `main`,
//! after the router is built, gives the service an `--ops-out DIR` flag:
//!
//! ```no_run
//! # fn routes() -> axum::Router { axum::Router::new().layer(obs_runtime::http::ObsLayer::new()) }
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let obs = obs_runtime::init()?;
//! let app = routes();
//! if obs.ops().write_if_requested()? {
//!     return Ok(()); // `--ops-out DIR`: the monitoring is written, nothing is served
//! }
//! # Ok(()) }
//! ```

mod alertmanager;
mod alerts;
mod alerts_test;
mod dashboard;
mod kubernetes;
mod model;
pub(crate) mod objectives;
mod rule_files;
mod rules;
mod runbook;
mod saturation;
mod slo;
mod stack;
mod write;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::InitError;

pub use kubernetes::Kubernetes;
pub use write::MARKER;

/// One generated file: its path under the output directory and its contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Relative path, `/`-separated, e.g. `prometheus/alerts.yml`.
    pub path: &'static str,
    /// The file's contents.
    pub contents: String,
}

/// The generator: a by-value builder over a [`Config`].
#[derive(Debug)]
#[must_use]
pub struct Ops<'a> {
    config: &'a Config,
    job: Option<String>,
    runbook_url: Option<String>,
    scrape_at: Option<(u16, String)>,
    kubernetes: Kubernetes,
    no_routes: bool,
}

/// The variable that gives the runbook's address when the code gives none.
pub const RUNBOOK_URL_VARIABLE: &str = "OBS_RUNBOOK_URL";

impl<'a> Ops<'a> {
    /// The generator for a service installed with `config`; the catalogue is this binary's.
    pub fn new(config: &'a Config) -> Self {
        Self {
            config,
            job: None,
            runbook_url: None,
            scrape_at: None,
            kubernetes: Kubernetes::default(),
            no_routes: false,
        }
    }

    /// Says this service serves no HTTP routes through [`ObsLayer`](crate::http::ObsLayer), so
    /// its monitoring may be written before (or without) any router.
    pub fn no_routes(mut self) -> Self {
        self.no_routes = true;
        self
    }

    /// The Prometheus job the rules select and `prometheus.yml` scrapes; default the service name.
    pub fn job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }

    /// Where alerts link to the runbook (each adds `#<alert>`): give the absolute URL where your
    /// repository or wiki serves the generated `runbook.md`, so the link opens from a pager.
    /// Without it, `OBS_RUNBOOK_URL`; without that, `runbook.md`, relative to the generated
    /// folder.
    pub fn runbook_url(mut self, url: impl Into<String>) -> Self {
        self.runbook_url = Some(url.into());
        self
    }

    /// Where Prometheus scrapes the service when it is not obs's scrape server: the app's own
    /// port and path (a service that serves `http::metrics_handler` on its router).
    pub fn scrape_at(mut self, port: u16, path: impl Into<String>) -> Self {
        self.scrape_at = Some((port, path.into()));
        self
    }

    /// The Prometheus Operator objects' namespace and labels (see [`Kubernetes`]).
    pub fn kubernetes(mut self, kubernetes: Kubernetes) -> Self {
        self.kubernetes = kubernetes;
        self
    }

    fn runbook(&self) -> Result<String, OpsError> {
        if let Some(url) = &self.runbook_url {
            return Ok(url.clone());
        }
        match std::env::var(RUNBOOK_URL_VARIABLE) {
            Ok(url) if url.starts_with("https://") || url.starts_with("http://") => Ok(url),
            Ok(url) if !url.is_empty() => Err(OpsError::Objective(InitError::invalid(
                RUNBOOK_URL_VARIABLE,
                url,
                "an absolute http(s) URL of the runbook, e.g. https://github.com/acme/shop/blob/main/docs/ops/runbook.md",
            ))),
            _ => Ok("runbook.md".to_owned()),
        }
    }

    /// Every file, in a fixed order, without writing anything.
    ///
    /// ```
    /// let config = obs_runtime::Config::default().service_name("shop");
    /// let files = obs_runtime::ops::Ops::new(&config).files().unwrap();
    /// let alerts = files.iter().find(|f| f.path == "prometheus/alerts.yml").unwrap();
    /// assert!(alerts.contents.contains("alert: \"TargetDown\""));
    /// ```
    pub fn files(&self) -> Result<Vec<GeneratedFile>, OpsError> {
        let job = self.job.clone().unwrap_or_else(|| self.config.service().name.clone());
        let mut model = model::Model::new(self.config, crate::catalogue::catalogue(), job, self.runbook()?)
            .map_err(OpsError::Objective)?;
        if let Some((port, path)) = &self.scrape_at {
            model.scrape.port = *port;
            model.scrape.endpoint = path.clone();
        }
        let mut groups = rules::groups(&model);
        groups.extend(slo::groups(&model));
        let alerts = alerts::alerts(&model, &groups);
        let dashboard = dashboard::dashboard(&model);
        let json = serde_json::to_string_pretty(&dashboard).unwrap_or_default() + "\n";
        let kubernetes = kubernetes::files(&self.kubernetes, &model, &groups, &alerts, &json)?;
        let file = |path, contents| GeneratedFile { path, contents };
        let mut files = vec![
            file("grafana/dashboard.json", json),
            file("grafana/provisioning/datasources/datasources.yml", stack::datasources_yml()),
            file("grafana/provisioning/dashboards/dashboards.yml", stack::dashboards_yml()),
            file("prometheus/prometheus.yml", stack::prometheus_yml(&model)),
            file("prometheus/recording-rules.yml", rule_files::recording_rules(&groups)),
            file("prometheus/alerts.yml", rule_files::alerts(&model, &alerts)),
            file("prometheus/alerts_test.yml", alerts_test::alerts_test(&model, &alerts)),
            file("alertmanager/alertmanager.yml", alertmanager::alertmanager_yml(&model)),
            file("promtail/promtail.yml", stack::promtail_yml(&model)),
            file("runbook.md", runbook::runbook(&model, &alerts)),
            file("metrics.md", metrics_md(&model, self.config)),
            file("docker-compose.yml", stack::compose_yml(&model)),
        ];
        files.extend(kubernetes);
        Ok(files)
    }

    /// Writes every file under `dir`, replacing a folder this generator wrote before. All or
    /// nothing: the files go to a temporary folder beside `dir`, which is then renamed into place.
    ///
    /// Fails, writing nothing, while no router has been built (none wrapped in
    /// [`ObsLayer`](crate::http::ObsLayer), no route catalogued), unless [`Ops::no_routes`]:
    /// the routes, and the objectives they name, join the catalogue as the router is built, and
    /// files written before it would silently leave them out.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, OpsError> {
        let files = self.files()?;
        let routes_built = crate::catalogue::router_layered() || !crate::catalogue::catalogue().routes().is_empty();
        if cfg!(feature = "http") && !self.no_routes && !routes_built {
            return Err(OpsError::RouterNotBuilt);
        }
        write::replace_dir(dir.as_ref(), &files)
    }

    /// With `--ops-out DIR` (or `--ops-out=DIR`) among the process's arguments, writes the files
    /// to `DIR` ([`write_to`](Ops::write_to)), prints their paths and returns `true`, for `main`
    /// to return at once; without it, `false`. One line gives a service the flag.
    pub fn write_if_requested(&self) -> Result<bool, OpsError> {
        let Some(dir) = ops_out(std::env::args().skip(1))? else { return Ok(false) };
        for path in self.write_to(&dir)? {
            println!("{}", path.display());
        }
        Ok(true)
    }
}

/// The flag that asks for the monitoring.
const OPS_OUT: &str = "--ops-out";

/// The directory `--ops-out` names among `args`, if it is there.
fn ops_out(mut args: impl Iterator<Item = String>) -> Result<Option<PathBuf>, OpsError> {
    while let Some(arg) = args.next() {
        let dir = match arg.strip_prefix(OPS_OUT) {
            Some("") => args.next(),
            Some(rest) if rest.starts_with('=') => Some(rest[1..].to_owned()),
            _ => continue,
        };
        return match dir.filter(|d| !d.is_empty() && !d.starts_with("--")) {
            Some(dir) => Ok(Some(PathBuf::from(dir))),
            None => Err(OpsError::Invalid {
                option: OPS_OUT.to_owned(),
                value: String::new(),
                fix: "give the directory to write the monitoring into, e.g. --ops-out docs/ops".to_owned(),
            }),
        };
    }
    Ok(None)
}

/// The PromQL of every panel of a generated `dashboard.json`, in panel order.
///
/// ```
/// let json = r#"{"panels": [{"targets": [{"expr": "up"}]}]}"#;
/// assert_eq!(obs_runtime::ops::dashboard_queries(json).unwrap(), ["up"]);
/// ```
pub fn dashboard_queries(dashboard_json: &str) -> Result<Vec<String>, serde_json::Error> {
    Ok(dashboard::queries(&serde_json::from_str(dashboard_json)?))
}

/// Why the monitoring could not be generated. `Debug` prints the sentence `Display` does.
#[non_exhaustive]
pub enum OpsError {
    /// An objective cannot be measured (unknown family, two kinds of events, shared series,
    /// threshold not a bucket boundary…), or a setting is not valid.
    Objective(InitError),
    /// A generator option cannot be used as given (a Kubernetes name or label, say).
    Invalid {
        /// The option, as the builder method or variable calls it.
        option: String,
        /// The value given.
        value: String,
        /// What it must be.
        fix: String,
    },
    /// The output path exists and is not a directory.
    NotADirectory(PathBuf),
    /// The output directory holds files this generator did not write: it is not replaced.
    NotGenerated {
        /// The directory.
        dir: PathBuf,
        /// A file in it that is not the generator's.
        found: PathBuf,
    },
    /// No router has been built with `ObsLayer` yet, so its routes are not catalogued.
    RouterNotBuilt,
    /// Reading or writing failed.
    Io {
        /// The path being written.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpsError::Objective(error) => write!(f, "{error}"),
            OpsError::Invalid { option, value, fix } => write!(f, "{option}={value:?} cannot be used: {fix}"),
            OpsError::NotADirectory(path) => {
                write!(f, "{} is not a directory: give the ops generator a directory to write into", path.display())
            }
            OpsError::NotGenerated { dir, found } => write!(
                f,
                "{} holds {}, which obs did not generate: give an empty or new directory, or one obs wrote before \
                 (it has a {MARKER} file)",
                dir.display(),
                found.display()
            ),
            OpsError::RouterNotBuilt => write!(
                f,
                "no router has been built with ObsLayer yet, so its routes and the objectives they name would be \
                 missing from the monitoring: write it after building the router (`.layer(ObsLayer::new())`), or \
                 call `.no_routes()` if this service serves no HTTP"
            ),
            OpsError::Io { path, source } => write!(f, "cannot write {}: {source}", path.display()),
        }
    }
}

impl fmt::Debug for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for OpsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpsError::Objective(error) => Some(error),
            OpsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `metrics.md`: every metric as this service exposes it, with its final names and buckets.
fn metrics_md(model: &model::Model, config: &Config) -> String {
    let app = match config.metrics().app_label {
        true => format!("Every series also carries `app=\"{}\"`.", model.service),
        false => "Series carry no `app` label (`OBS_APP_LABEL=false`).".to_owned(),
    };
    let intro = format!(
        "Every metric obs records as `{}` exposes it: final names, label names, HELP texts and buckets in\n\
         seconds, after the service's prefix, renames and bucket overrides (generated by obs; do not edit).\n{app}",
        model.service
    );
    let error_type = config.metrics().error_type_label;
    crate::catalogue::metrics_markdown(&model.names, &model.buckets, error_type, &intro, |metric| model.emits(metric))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> impl Iterator<Item = String> {
        line.split_whitespace().map(str::to_owned).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn the_flag_names_the_directory_either_way_and_needs_one() {
        assert_eq!(ops_out(args("--demo-traffic")).unwrap(), None);
        assert_eq!(ops_out(args("--ops-out docs/ops")).unwrap(), Some(PathBuf::from("docs/ops")));
        assert_eq!(ops_out(args("-v --ops-out=out --x")).unwrap(), Some(PathBuf::from("out")));
        for missing in ["--ops-out", "--ops-out --demo-traffic", "--ops-out="] {
            let error = ops_out(args(missing)).unwrap_err().to_string();
            assert!(error.contains("e.g. --ops-out docs/ops"), "{missing}: {error}");
        }
        assert_eq!(ops_out(args("--ops-outside x")).unwrap(), None, "another flag");
    }
}
