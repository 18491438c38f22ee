//! obs's own Tokio runtime: the scrape server and the gRPC exporter's connections live here,
//! never on the app's threads.

use crate::error::InitError;

/// obs's own runtime: the scrape server, and the gRPC exporter's connections. Dropped from any
/// context, also inside the app's async code when `install` fails half-way, without blocking.
#[derive(Debug)]
pub(crate) struct BackgroundRuntime(Option<tokio::runtime::Runtime>);

impl BackgroundRuntime {
    pub(super) fn start() -> Result<Self, InitError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("obs")
            .enable_all()
            .build()
            .map(|runtime| Self(Some(runtime)))
            .map_err(InitError::Runtime)
    }
}

impl std::ops::Deref for BackgroundRuntime {
    type Target = tokio::runtime::Runtime;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
