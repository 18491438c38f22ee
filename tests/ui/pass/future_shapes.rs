//! Regression (issue 9): fns returning futures, `Sync` boxed futures and `-> !` compile.
use std::future::Future;
use std::pin::Pin;

#[obs_runtime::instrument_db(table = "t", operation = "SELECT")]
fn later() -> impl Future<Output = Result<u8, std::io::Error>> + Send {
    async move { Ok(3) }
}

struct Repo;

impl Repo {
    #[obs_runtime::instrument_redis(command = "get")]
    fn get(&self, key: &str) -> Pin<Box<dyn Future<Output = Option<String>> + Send + Sync + '_>> {
        let key = key.to_owned();
        Box::pin(async move { Some(key) })
    }
}

#[obs_runtime::traced]
fn forever() -> ! {
    panic!("never returns")
}

fn main() {
    drop(later());
    drop(Repo.get("k"));
    let _ = forever as fn() -> !;
}
