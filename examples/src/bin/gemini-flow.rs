//! The second reference service, with another team's metric names:
//! `cargo run --release -p obs-examples --bin gemini-flow -- --demo-traffic`.

fn main() -> std::process::ExitCode {
    gemini_flow::main()
}
