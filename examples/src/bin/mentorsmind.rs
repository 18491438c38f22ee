//! The reference service: `cargo run --release -p obs-examples --bin mentorsmind -- --demo-traffic`.

fn main() -> std::process::ExitCode {
    obs_examples::mentorsmind::main()
}
