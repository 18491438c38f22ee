//! `build_info{version,revision,rust_version} 1`: what is running, for the dashboard's deploy
//! marks and for comparing instances. Set at install; rendered with the sampled gauges.

use std::sync::{Arc, OnceLock, RwLock};

use super::sampled::{self, Reading, Source};
use crate::catalogue::BUILD_INFO;

/// What a label says when the service did not tell.
pub(crate) const UNKNOWN: &str = "unknown";

/// The compiler that built obs, and so the service.
pub(crate) const RUST_VERSION: &str = env!("OBS_RUSTC_VERSION");

#[derive(Default)]
struct Build {
    labels: RwLock<Option<[String; 2]>>,
}

impl Source for Build {
    fn read(&self, out: &mut Vec<Reading>) {
        if let Some([version, revision]) = self.labels.read().unwrap_or_else(|e| e.into_inner()).clone() {
            let labels = vec![("version", version), ("revision", revision), ("rust_version", RUST_VERSION.to_owned())];
            out.push(Reading { metric: &BUILD_INFO, labels, value: 1.0 });
        }
    }
}

/// Sets the build's version and source revision (each `unknown` when `None`).
pub(crate) fn set(version: Option<&str>, revision: Option<&str>) {
    static BUILD: OnceLock<Arc<Build>> = OnceLock::new();
    let build = BUILD.get_or_init(|| {
        let build = Arc::new(Build::default());
        sampled::register(build.clone());
        build
    });
    let label = |value: Option<&str>| value.filter(|v| !v.is_empty()).unwrap_or(UNKNOWN).to_owned();
    *build.labels.write().unwrap_or_else(|e| e.into_inner()) = Some([label(version), label(revision)]);
}
