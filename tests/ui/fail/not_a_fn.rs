#[obs_runtime::instrument_db(table = "users")]
struct User;

trait Store {
    #[obs_runtime::traced]
    fn load(&self);
}

fn main() {
    let _ = User;
}
