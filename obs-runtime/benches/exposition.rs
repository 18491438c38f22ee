//! Time to render the exposition with 1 000 and 10 000 series (half counters, half histograms
//! with DESIGN's 11 buckets), through obs's recorder.
//!
//! `cargo bench -p obs-runtime --bench exposition`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use metrics::{Key, Label, Level, Metadata, Recorder};

fn populated(series: usize) -> obs_runtime::MetricsHandle {
    // Above the default series cap (2 000 per metric), which would otherwise fold most series
    // into one overflow series and measure something smaller.
    let recorder = obs_runtime::MetricsRecorder::builder()
        .global_label("app", "bench")
        .max_series_per_metric(20_000)
        .build()
        .unwrap();
    let handle = recorder.handle();
    let meta = Metadata::new("bench", Level::INFO, None);
    for i in 0..series / 2 {
        let labels = vec![
            Label::new("method", "GET"),
            Label::new("path", format!("/route/{i}")),
            Label::new("status_code", "200"),
        ];
        recorder.register_counter(&Key::from_parts("http_requests_total", labels.clone()), &meta).increment(i as u64);
        let histogram = recorder.register_histogram(&Key::from_parts("http_request_duration_seconds", labels), &meta);
        histogram.record((i % 100) as f64 * 0.01);
    }
    handle
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for series in [1_000, 10_000] {
        let handle = populated(series);
        let text = handle.render();
        println!("{series} series: {} lines, {} KiB", text.lines().count(), text.len() / 1024);
        group.bench_with_input(BenchmarkId::from_parameter(series), &handle, |b, handle| {
            b.iter(|| black_box(handle.render()))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3)).sample_size(20);
    targets = render
}
criterion_main!(benches);
