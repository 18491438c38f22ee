#[obs_runtime::traced]
const fn answer() -> u8 {
    42
}

fn main() {
    let _ = answer();
}
