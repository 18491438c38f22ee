//! Pushing metrics over OTLP (`OTEL_METRICS_EXPORTER=otlp`): every interval, the exposition a
//! scrape would get, as OTLP metrics, to the collector; once more when the guard is dropped.
//!
//! The pushes run on obs's own runtime, one at a time, each bounded by the export timeout.
//! Nothing is queued: the series are cumulative, so a push that fails loses nothing the next
//! one does not carry, and a dead or stalled collector costs one request's memory, never more.

mod convert;
mod transport;

use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use tokio::sync::oneshot;

use crate::config::PushSettings;
use crate::error::InitError;
use transport::Transport;

/// Asks the push loop for its last push, and is told when it is done.
type Stop = oneshot::Sender<(Duration, mpsc::Sender<()>)>;

/// The running push loop; [`Pusher::stop`] makes the last push.
#[derive(Debug)]
pub(crate) struct Pusher {
    stop: Option<Stop>,
}

/// Starts pushing to the collector `settings` names, as `resource` (the service's resource
/// attributes, as text).
pub(crate) fn spawn(
    runtime: &tokio::runtime::Runtime,
    settings: &PushSettings,
    resource: Vec<(String, String)>,
) -> Result<Pusher, InitError> {
    let endpoint = settings.endpoint();
    let transport = {
        let _enter = runtime.enter();
        Transport::new(settings.protocol, &endpoint, settings.timeout).map_err(|e| {
            InitError::invalid(settings.endpoint_variable(), &endpoint, format!("an endpoint obs can push to ({e})"))
        })?
    };
    let resource = Resource { attributes: convert::attributes(&resource), ..Default::default() };
    let push = Push { transport, resource, start: unix_nanos(), timeout: settings.timeout, failing: false };
    let (stop, stopped) = oneshot::channel();
    runtime.spawn(push.run(settings.interval, stopped));
    Ok(Pusher { stop: Some(stop) })
}

impl Pusher {
    /// Makes the last push and waits for it at most `deadline`, from any thread: the push runs
    /// on obs's runtime.
    pub(crate) fn stop(&mut self, deadline: Duration) {
        let Some(stop) = self.stop.take() else { return };
        let (done, finished) = mpsc::channel();
        if stop.send((deadline, done)).is_ok() && finished.recv_timeout(deadline).is_err() {
            tracing::warn!(?deadline, "the last metrics push did not finish within the shutdown deadline");
        }
    }
}

struct Push {
    transport: Transport,
    resource: Resource,
    /// When the cumulative series began: obs's recorder was installed just before.
    start: u64,
    timeout: Duration,
    /// Whether the last push failed: a failure is logged when it starts, not at every push.
    failing: bool,
}

impl Push {
    async fn run(mut self, interval: Duration, mut stopped: oneshot::Receiver<(Duration, mpsc::Sender<()>)>) {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                stop = &mut stopped => return self.last(stop.ok()).await,
            }
            // A push in flight gives way to the last one: the guard's deadline is what counts.
            let mut transport = self.transport.clone();
            crate::prometheus::sampled::refresh(crate::prometheus::sampled::REFRESH_DEADLINE).await;
            let request = self.request();
            tokio::select! {
                result = transport.send(request, self.timeout) => self.report(result),
                stop = &mut stopped => return self.last(stop.ok()).await,
            }
        }
    }

    async fn last(mut self, stop: Option<(Duration, mpsc::Sender<()>)>) {
        let Some((deadline, done)) = stop else { return };
        let request = self.request();
        let result = self.transport.send(request, self.timeout.min(deadline)).await;
        self.report(result);
        let _ = done.send(());
    }

    fn request(&self) -> ExportMetricsServiceRequest {
        let metrics = convert::metrics_of(&crate::prometheus::render(), self.start, unix_nanos());
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "obs".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn report(&mut self, result: Result<(), String>) {
        match (result, self.failing) {
            (Err(error), false) => {
                tracing::warn!(%error, "pushing metrics over OTLP failed; the next push carries the same totals");
                self.failing = true;
            }
            (Ok(()), true) => {
                tracing::info!("pushing metrics over OTLP works again");
                self.failing = false;
            }
            _ => {}
        }
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
