//! `#[traced]`: an internal span, no metrics.

use obs_runtime::testing::{SpanKind, SpanStatus, capture};
use obs_runtime::traced;
use obs_tests::CapturedSpans;

mod payments {
    #[obs_runtime::traced]
    pub fn settle(amount: u64) -> Result<u64, String> {
        if amount == 0 { Err("nothing to settle".into()) } else { Ok(amount) }
    }
}

#[traced(name = "payment.process")]
fn process() -> u8 {
    payments::settle(5).map_or(0, |_| 1)
}

#[test]
fn default_name_is_module_path_and_fn() {
    let (_, captured) = capture(|| payments::settle(0));
    let span = captured.only_span("traced::payments::settle");
    assert_eq!(span.kind, SpanKind::Internal);
    assert_eq!(span.status, SpanStatus::Error("nothing to settle".into()));
    assert!(captured.metrics.is_empty(), "#[traced] records no metrics: {:?}", captured.metrics);
}

#[test]
fn named_span_is_the_parent_of_spans_inside_it() {
    let (value, captured) = capture(process);
    assert_eq!(value, 1);
    let outer = captured.only_span("payment.process");
    let inner = captured.only_span("traced::payments::settle");
    assert_eq!(inner.parent_span_id.as_deref(), Some(outer.span_id.as_str()));
    assert_eq!(inner.trace_id, outer.trace_id);
    assert_eq!(outer.status, SpanStatus::Unset);
}
