//! The service's own settings (obs reads its variables itself): where to listen and which
//! backing services to use. Embedded defaults need nothing running.

use std::time::Duration;

/// What the service runs against.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `PORT`, default 3000; 0 picks a free port (logged at start).
    pub port: u16,
    /// `DATABASE_URL`; default an SQLite file in the temp directory.
    pub database_url: String,
    /// `REDIS_URL`; without it there is no cache and jobs queue in-process.
    pub redis_url: Option<String>,
    /// `STELLAR_HORIZON_URL`, default the public testnet Horizon.
    pub horizon_url: String,
    /// How long a Horizon call may take before the payment fails with 502.
    pub horizon_timeout: Duration,
    /// `--demo-traffic`: drive a realistic mix of the service's own endpoints.
    pub demo_traffic: bool,
    /// `--ops-out DIR` (or `--ops-out=DIR`): write the generated monitoring (dashboard, rules,
    /// alerts, runbook…) to DIR and exit, without serving. obs's own flag handler
    /// (`Ops::write_if_requested`) reads DIR; the service only needs to know not to serve.
    pub ops_out: bool,
    /// `--catalogue`: print obs's call-site catalogue of this binary, one JSON line per site, and exit.
    pub print_catalogue: bool,
}

impl Settings {
    /// Reads the environment and the command line; a wrong value is an error naming it.
    pub fn load() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let port = match var("PORT") {
            Some(p) => {
                p.parse().map_err(|_| format!("PORT={p:?} is not valid: expected a port number from 0 to 65535"))?
            }
            None => 3000,
        };
        let database_url = var("DATABASE_URL").unwrap_or_else(|| {
            let path = std::env::temp_dir().join("mentorsmind.sqlite");
            format!("sqlite://{}?mode=rwc", path.display())
        });
        if !(database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
            || database_url.starts_with("sqlite:"))
        {
            return Err(format!("DATABASE_URL={database_url:?} is not valid: expected postgres://… or sqlite:…"));
        }
        let redis_url = var("REDIS_URL");
        if let Some(url) = &redis_url
            && !url.starts_with("redis://")
        {
            return Err(format!("REDIS_URL={url:?} is not valid: expected redis://host:port[/db]"));
        }
        let horizon_url =
            var("STELLAR_HORIZON_URL").unwrap_or_else(|| "https://horizon-testnet.stellar.org".to_owned());
        let mut demo_traffic = false;
        let mut ops_out = false;
        let mut print_catalogue = false;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--demo-traffic" => demo_traffic = true,
                "--catalogue" => print_catalogue = true,
                "--ops-out" => match args.next() {
                    Some(dir) if !dir.starts_with("--") => ops_out = true,
                    _ => return Err("--ops-out needs a directory, e.g. --ops-out docs/ops".to_owned()),
                },
                other if other.starts_with("--ops-out=") => ops_out = true,
                other => {
                    return Err(format!(
                        "unknown argument {other:?}: the flags are --demo-traffic, --catalogue and --ops-out DIR"
                    ));
                }
            }
        }
        Ok(Self {
            port,
            database_url,
            redis_url,
            horizon_url: horizon_url.trim_end_matches('/').to_owned(),
            horizon_timeout: Duration::from_secs(5),
            demo_traffic,
            ops_out,
            print_catalogue,
        })
    }
}
