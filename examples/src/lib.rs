//! obs's examples: the reference service `mentorsmind`, a mentoring-platform backend
//! instrumented with obs (see `src/bin/mentorsmind.rs` and the README).

pub mod mentorsmind;
