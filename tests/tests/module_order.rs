//! obs-runtime's top-level modules import only from those `lib.rs` lists above them (issue 32:
//! `call → prometheus → telemetry → call` had come back, tail sampling and obs's spans reaching
//! into `call::timer` for field names and the clock).

use std::path::Path;

use obs_tests::module_order::{crate_paths, declared_modules, declared_order, source_files, upward_imports};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../obs-runtime/src");

fn lib() -> String {
    std::fs::read_to_string(Path::new(SRC).join("lib.rs")).unwrap()
}

#[test]
fn every_module_imports_only_from_those_before_it() {
    let lib = lib();
    let mut declared = declared_modules(&lib);
    let mut ordered = declared_order(&lib);
    println!("order: {}", ordered.join(" → "));
    declared.sort();
    ordered.sort();
    assert_eq!(declared, ordered, "lib.rs's order lists every module it declares, and only those");
    let files = source_files(Path::new(SRC));
    let upward = upward_imports(&lib, &files).unwrap();
    let report: Vec<String> = upward.iter().map(ToString::to_string).collect();
    assert!(report.is_empty(), "imports against the order:\n{}", report.join("\n"));
    println!("{} files, no import of a later module", files.len());
}

#[test]
fn an_upward_import_is_reported_with_its_place() {
    let lib = "// - error: e\n// - call: c\n// - telemetry: t\n// - prometheus: p\npub use prometheus::{render, MetricsHandle};\n";
    let file = |module: &str, text: &str| (module.to_owned(), format!("{module}/x.rs"), text.to_owned());
    let files = [
        file(
            "call",
            "use crate::error::InitError;\n/// [`crate::telemetry`] in a doc link\nuse crate::{telemetry::x, error};",
        ),
        file("prometheus", "let s = crate::render();\nuse crate::call::timer::SLOW_FIELD;"),
        file("telemetry", "use crate::{call::x, prometheus::y};"),
    ];
    let found = upward_imports(lib, &files).unwrap();
    let found: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "call/x.rs:3: `call` imports `telemetry`, which comes after it",
            "telemetry/x.rs:1: `telemetry` imports `prometheus`, which comes after it",
        ]
    );
    let unknown = upward_imports(lib, &[file("call", "crate::nowhere::f()")]).unwrap_err();
    assert!(unknown.contains("`crate::nowhere` is neither a module nor a root re-export"), "{unknown}");
    assert_eq!(crate_paths("use crate::{a::{b, c}, d, self};"), ["a", "d"]);
}
