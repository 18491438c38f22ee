//! What `init()` returns: keeps obs running, and flushes and stops it when dropped.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry_sdk::trace::SdkTracerProvider;

/// Keeps obs installed. Dropping it pushes metrics a last time (with `OTEL_METRICS_EXPORTER=otlp`),
/// flushes buffered spans and stops the exporters and the
/// scrape server, within the configured deadline (`OBS_SHUTDOWN_TIMEOUT`, default 5 s), from a
/// multi-thread runtime, a current-thread runtime or no runtime at all.
///
/// ```no_run
/// # fn main() -> Result<(), obs_runtime::InitError> {
/// let guard = obs_runtime::init()?;
/// println!("scrape me at {:?}", guard.scrape_addr());
/// // … run the app; spans are flushed when `guard` goes out of scope.
/// # Ok(()) }
/// ```
#[must_use = "dropping the guard stops obs: keep it alive for as long as the app runs"]
#[derive(Debug)]
pub struct ObsGuard {
    pub(crate) scrape_addr: Option<SocketAddr>,
    /// Dropped last (fields drop after `drop`), after the flush that may need it.
    #[allow(dead_code)] // held for its Drop
    pub(crate) runtime: super::BackgroundRuntime,
    pub(crate) provider: Option<SdkTracerProvider>,
    pub(crate) pusher: Option<crate::push::Pusher>,
    pub(crate) probe: Option<tokio::task::AbortHandle>,
    pub(crate) stop_scrape: Option<tokio::sync::oneshot::Sender<()>>,
    pub(crate) shutdown_timeout: Duration,
    /// What was installed, for the generated monitoring.
    pub(crate) config: crate::config::Config,
}

impl ObsGuard {
    /// The monitoring generated for this binary as installed (its catalogue, names, buckets and
    /// objectives): [`Ops::write_if_requested`](crate::ops::Ops::write_if_requested) gives the
    /// service an `--ops-out DIR` flag in one line, after the router is built.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let obs = obs_runtime::init()?;
    /// // … build the router …
    /// if obs.ops().runbook_url("https://wiki.example/shop/runbook.md").write_if_requested()? {
    ///     return Ok(());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn ops(&self) -> crate::ops::Ops<'_> {
        crate::ops::Ops::new(&self.config)
    }

    /// The address the scrape server listens on, with the port it actually got (useful with
    /// `PROMETHEUS_PORT=0`); `None` when Prometheus is disabled.
    pub fn scrape_addr(&self) -> Option<SocketAddr> {
        self.scrape_addr
    }

    /// The tracer provider obs installed, its exporter, batch processor and sampler included;
    /// `None` with `OTEL_SDK_DISABLED=true`. For spans an app builds on the same pipeline, e.g.
    /// a layer of its own under a scoped subscriber.
    ///
    /// ```no_run
    /// use opentelemetry::trace::TracerProvider as _;
    /// # fn main() -> Result<(), obs_runtime::InitError> {
    /// let guard = obs_runtime::init()?;
    /// let tracer = guard.tracer_provider().map(|provider| provider.tracer("batch-import"));
    /// # drop(tracer); Ok(()) }
    /// ```
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }
}

impl Drop for ObsGuard {
    fn drop(&mut self) {
        if let Some(probe) = self.probe.take() {
            probe.abort();
        }
        // The last metrics push and the span flush share the deadline, one after the other.
        let started = std::time::Instant::now();
        if let Some(mut pusher) = self.pusher.take() {
            pusher.stop(self.shutdown_timeout);
        }
        if let Some(provider) = self.provider.take() {
            flush(provider, self.shutdown_timeout.saturating_sub(started.elapsed()));
        }
        if let Some(stop) = self.stop_scrape.take() {
            let _ = stop.send(());
        }
    }
}

/// Shuts the provider down on a thread of its own and waits at most `timeout` for it.
///
/// The batch processor exports from its own thread, and the gRPC exporter's connection lives
/// on obs's runtime, so no thread of the caller's (not even the only thread of a
/// current-thread runtime) is ever needed for the flush to finish.
fn flush(provider: SdkTracerProvider, timeout: Duration) {
    let (done, finished) = mpsc::channel();
    let spawned = std::thread::Builder::new().name("obs-flush".into()).spawn(move || {
        let _ = done.send(provider.shutdown_with_timeout(timeout));
    });
    if spawned.is_err() {
        return;
    }
    match finished.recv_timeout(timeout + Duration::from_millis(200)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "OpenTelemetry shutdown reported an error; some spans may be lost")
        }
        Err(_) => {
            tracing::warn!(?timeout, "OpenTelemetry did not flush within the shutdown deadline; leaving the rest")
        }
    }
}
