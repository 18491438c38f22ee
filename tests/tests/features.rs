//! A subsystem whose cargo feature is off: its macro returns the function unchanged, so it
//! records nothing. CI runs this file with `--no-default-features --features db`.
#![allow(dead_code)]

use obs_runtime::testing::capture;

macro_rules! unchanged_when_off {
    ($feature:literal, $test:ident, $attr:meta) => {
        #[cfg(not(feature = $feature))]
        #[test]
        fn $test() {
            #[$attr]
            fn subject(x: u32) -> Result<u32, String> {
                if x == 0 { Err("zero".into()) } else { Ok(x) }
            }
            let (value, captured) = capture(|| (subject(0), subject(2)));
            assert_eq!(value, (Err("zero".into()), Ok(2)));
            assert!(captured.metrics.is_empty(), "no metrics with `{}` off: {:?}", $feature, captured.metrics);
            assert!(captured.spans.is_empty(), "no span with `{}` off: {:?}", $feature, captured.spans);
        }
    };
}

unchanged_when_off!("db", db_off, obs_runtime::instrument_db(table = "users"));
unchanged_when_off!("redis", redis_off, obs_runtime::instrument_redis(command = "get"));
unchanged_when_off!("queue", queue_off, obs_runtime::queue_job(queue = "q"));
unchanged_when_off!("stellar", stellar_off, obs_runtime::stellar_call(operation = "loadAccount"));
unchanged_when_off!("ws", ws_off, obs_runtime::ws_connection);

/// With every feature on, the same attributes do record: the cfg'd tests above are not vacuous.
#[cfg(all(feature = "db", feature = "redis", feature = "queue", feature = "stellar"))]
#[test]
fn features_on_record() {
    #[obs_runtime::instrument_redis(command = "get")]
    fn subject() -> u8 {
        1
    }
    let (_, captured) = capture(subject);
    assert_eq!(captured.counter("redis_calls_total", &[]), 1);
}
