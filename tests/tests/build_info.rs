//! `build_info{version,revision,rust_version} 1`: what is running, under the service's prefix
//! and names; the revision from code or `OBS_SERVICE_REVISION`, refused when it is not one.

use obs_tests::child::run_in_child;

#[test]
fn build_info_names_the_version_the_revision_and_the_compiler() {
    let env = [
        ("PROMETHEUS_PORT", "0"),
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("OTEL_EXPORTER", "none"),
        ("OTEL_SERVICE_NAME", "shop"),
        ("METRICS_PREFIX", "shop_"),
        ("OBS_SERVICE_REVISION", "3f2a9c1"),
    ];
    let output = run_in_child("", &env, || {
        let _guard = obs_runtime::Config::from_env().unwrap().service_version("1.2.3").install().unwrap();
        let text = obs_runtime::render();
        let rustc = env!("CARGO_PKG_RUST_VERSION");
        let line = text.lines().find(|l| l.starts_with("shop_build_info{")).unwrap_or_else(|| panic!("{text}"));
        assert!(
            line.starts_with("shop_build_info{app=\"shop\",version=\"1.2.3\",revision=\"3f2a9c1\",rust_version=\""),
            "{line}"
        );
        assert!(line.ends_with("\"} 1"), "{line}");
        // The compiler that built this test is at least the workspace's rust-version.
        let version = line.split("rust_version=\"").nth(1).unwrap().split('"').next().unwrap();
        let parse = |v: &str| v.split('.').map(|n| n.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>();
        assert!(parse(version) >= parse(rustc), "{version} < {rustc}");
        assert!(text.contains("# TYPE shop_build_info gauge"), "{text}");
        println!("build_info checked");
    });
    if let Some(output) = output {
        assert!(output.contains("build_info checked"), "{output}");
    }
}

#[test]
fn a_revision_with_spaces_is_refused() {
    let error = obs_runtime::Config::from_vars([("OBS_SERVICE_REVISION", "not a revision")]).unwrap_err().to_string();
    assert!(error.starts_with("OBS_SERVICE_REVISION=\"not a revision\" is not valid"), "{error}");
}
