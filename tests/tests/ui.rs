//! Compile-time behaviour: hygiene cases that must build, and one case per kind of attribute
//! mistake with the exact error rustc shows (regenerate with `TRYBUILD=overwrite`).
#![cfg(all(feature = "db", feature = "redis", feature = "queue", feature = "stellar", feature = "ws"))]

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
