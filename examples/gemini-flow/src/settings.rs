//! The service's own settings (obs reads its variables itself).

use std::path::PathBuf;

/// Where to listen and where the workflows live.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `PORT`, default 3001 (where the team's Prometheus config scrapes); 0 picks a free port.
    pub port: u16,
    /// `GEMINI_FLOW_STORE`, default `gemini-flow.json` in the temp directory.
    pub store_file: PathBuf,
    /// `--demo-traffic`: drive a realistic mix of the API and the WebSocket.
    pub demo_traffic: bool,
    /// `--ops-out DIR` (or `--ops-out=DIR`): write the generated monitoring to DIR and exit.
    /// obs's own flag handler (`Ops::write_if_requested`) reads DIR.
    pub ops_out: bool,
}

impl Settings {
    /// Reads the environment and the command line; a wrong value is an error naming it.
    pub fn load() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let port = match var("PORT") {
            Some(p) => {
                p.parse().map_err(|_| format!("PORT={p:?} is not valid: expected a port number from 0 to 65535"))?
            }
            None => 3001,
        };
        let store_file =
            var("GEMINI_FLOW_STORE").map_or_else(|| std::env::temp_dir().join("gemini-flow.json"), PathBuf::from);
        let (mut demo_traffic, mut ops_out) = (false, false);
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--demo-traffic" => demo_traffic = true,
                "--ops-out" => match args.next() {
                    Some(dir) if !dir.starts_with("--") => ops_out = true,
                    _ => return Err("--ops-out needs a directory, e.g. --ops-out ops".to_owned()),
                },
                other if other.starts_with("--ops-out=") => ops_out = true,
                other => {
                    return Err(format!("unknown argument {other:?}: the flags are --demo-traffic and --ops-out DIR"));
                }
            }
        }
        Ok(Self { port, store_file, demo_traffic, ops_out })
    }
}
