//! The reference service, built inside obs-tests so its end-to-end tests can start it as a child
//! process (`CARGO_BIN_EXE_mentorsmind-under-test`).

fn main() -> std::process::ExitCode {
    obs_examples::mentorsmind::main()
}
