// `transparent` on an error whose type has no `BoundedKind` (as `sqlx::Error` has none without
// obs-runtime's `sqlx` feature): the error says which features give one, and how to add one.
use obs_runtime::BoundedKind;

#[derive(Debug, BoundedKind)]
enum ImportError {
    #[obs(transparent)]
    Parse(std::num::ParseIntError),
}

fn main() {
    let _ = ImportError::Parse("x".parse::<u8>().unwrap_err()).kind();
}
