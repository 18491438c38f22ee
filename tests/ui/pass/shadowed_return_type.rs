//! Regression (issue 9): the return-type hint lived inside the user's block, so an import there
//! that shadows the return type's name broke the build (E0573). The user's body keeps its own
//! scope.
#![allow(dead_code, unused_imports)]

type Nothing = ();

enum Shade {
    Nothing,
}

#[obs_runtime::traced]
fn shadowed() -> Nothing {
    use Shade::*;
}

#[obs_runtime::instrument_db(table = "t", operation = "SELECT")]
fn shadowed_result() -> Result<Nothing, std::fmt::Error> {
    use Shade::*;
    Ok(())
}

fn main() {
    shadowed();
    shadowed_result().unwrap();
}
