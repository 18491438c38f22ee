//! The second reference service, built inside obs-tests so its tests can start it as a child
//! process (`CARGO_BIN_EXE_gemini-flow-under-test`).

fn main() -> std::process::ExitCode {
    gemini_flow::main()
}
