//! The renamed dependency's expansions record like any other.

use my_obs::testing::{capture, capture_async};

#[test]
fn counts_through_the_renamed_path() {
    let (value, captured) = capture(|| obs_renamed_dep::find_renamed(3));
    assert_eq!(value.unwrap(), 3);
    assert_eq!(captured.counter("db_queries_total", &[("table", "renamed"), ("status", "success")]), 1);
    let (value, captured) = futures_lite_block_on(capture_async(obs_renamed_dep::traced_renamed()));
    assert_eq!(value, 3);
    assert_eq!(captured.spans[0].name, "obs_renamed_dep::traced_renamed");
}

fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}
