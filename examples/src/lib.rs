//! obs's examples: the reference service `mentorsmind`, a mentoring-platform backend with obs's
//! own metric names (`src/bin/mentorsmind.rs`). The second reference service, `gemini-flow`
//! (another team's metric names, `src/bin/gemini-flow.rs`), is its own crate in
//! `examples/gemini-flow`: a binary's call-site catalogue is every instrumented function linked
//! into it, so each service's binary links only its own code.

pub mod mentorsmind;
