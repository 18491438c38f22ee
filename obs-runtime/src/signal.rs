//! Waiting for the signal that stops a service, so `main` returns and the guard flushes.

/// Resolves when the process is asked to stop: SIGTERM (Kubernetes, systemd, `docker stop`)
/// or Ctrl-C. Give it to axum's graceful shutdown, so in-flight requests finish and `main`
/// returns, dropping the guard, which flushes the last spans and metrics. Without it, SIGTERM
/// ends the process where it stands and what was buffered is lost.
///
/// ```no_run
/// # async fn serve(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
/// let _obs = obs_runtime::init()?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// axum::serve(listener, app).with_graceful_shutdown(obs_runtime::shutdown_signal()).await?;
/// Ok(()) // `_obs` is dropped here: spans flushed within OBS_SHUTDOWN_TIMEOUT
/// # }
/// ```
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No handler could be installed: wait for SIGTERM alone.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => tracing::info!(target: "obs_runtime::shutdown", "interrupted: shutting down"),
                    _ = terminate.recv() => tracing::info!(target: "obs_runtime::shutdown", "SIGTERM: shutting down"),
                }
            }
            Err(error) => {
                tracing::warn!(target: "obs_runtime::shutdown", "no SIGTERM handler ({error}): only Ctrl-C stops gracefully");
                interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        interrupt.await;
        tracing::info!(target: "obs_runtime::shutdown", "interrupted: shutting down");
    }
}
