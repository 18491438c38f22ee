//! The live page on the scrape port: `GET /obs` (HTML) and `GET /obs.json`, what the binary
//! instruments and how it is doing since it started, before any Prometheus or Grafana exists.
//! Behind the scrape port's token like `/metrics`; nothing is computed until it is requested
//! (then it reads the exposition a scrape would get, and calls start keeping exemplars).

mod figures;
mod html;
mod samples;

use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::catalogue::{Names, Objective};

/// The content type of the HTML page.
pub(crate) const HTML: &str = "text/html; charset=utf-8";
/// The content type of the JSON.
pub(crate) const JSON: &str = "application/json";

/// What install knows that the page shows.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) service: String,
    pub(crate) version: String,
    pub(crate) revision: String,
    pub(crate) started: Instant,
    /// Whole-family objectives (`Config::objective_for`), by catalogue name.
    pub(crate) family_objectives: Vec<(String, Objective)>,
}

static CONTEXT: RwLock<Option<Arc<Context>>> = RwLock::new(None);

/// Remembers what install set up, for the page.
pub(crate) fn install(context: Context) {
    *CONTEXT.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(context));
}

fn page() -> Option<figures::Page> {
    let context = CONTEXT.read().unwrap_or_else(|e| e.into_inner()).clone()?;
    let text = crate::prometheus::render_with_exemplars();
    let samples = samples::parse(&text);
    Some(figures::page(&context, &crate::catalogue::catalogue(), &samples, Names::installed()))
}

/// The paths the page answers.
pub(crate) const PATHS: &[&str] = &["/obs", "/obs.json"];

/// The page at `path` (`/obs` or `/obs.json`) as a content type and a body; `None` for any
/// other path, or before obs is installed.
pub(crate) fn respond(path: &str) -> Option<(&'static str, String)> {
    match path {
        "/obs" => Some((HTML, html::render(&page()?))),
        "/obs.json" => Some((JSON, serde_json::to_string_pretty(&page()?).unwrap_or_default())),
        _ => None,
    }
}
