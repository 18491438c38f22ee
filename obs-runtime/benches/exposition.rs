//! Time to render the same 1 000 and 10 000 series (half counters, half histograms with
//! DESIGN's 11 HTTP buckets, one `app` label on all) with obs's recorder and with its peers:
//! metrics-exporter-prometheus, the `prometheus` crate, the official `prometheus-client` and
//! `measured` (labels interned with `paracord`, as its own encoding benchmark does).
//! Before timing, each peer's output is parsed and checked to hold exactly obs's samples. Last,
//! the 10 000 series rendered while 2 threads keep recording into them.
//!
//! `cargo bench -p obs-runtime --bench exposition`

#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics::{Key, Label, Level, Metadata, Recorder};
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram as PcHistogram;

const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const LABELS: [&str; 3] = ["method", "path", "status_code"];

/// Series `i`'s labels, its counter's value and its histogram's one observation.
fn series(i: usize) -> ([String; 3], u64, f64) {
    (["GET".to_owned(), format!("/route/{i}"), "200".to_owned()], i as u64, (i % 100) as f64 * 0.01)
}

/// A renderer holding `n` series, and a way to record into series `i` from another thread.
struct Peer {
    name: &'static str,
    render: Box<dyn Fn() -> String + Send + Sync>,
    record: Box<dyn Fn(usize) + Send + Sync>,
}

fn via_metrics(recorder: impl Recorder + Send + Sync + 'static, n: usize) -> Box<dyn Fn(usize) + Send + Sync> {
    let meta = Metadata::new("bench", Level::INFO, None);
    let handles: Vec<_> = (0..n / 2)
        .map(|i| {
            let (labels, count, value) = series(i);
            let labels: Vec<Label> = LABELS.iter().zip(labels).map(|(k, v)| Label::new(*k, v)).collect();
            let counter = recorder.register_counter(&Key::from_parts("http_requests_total", labels.clone()), &meta);
            counter.increment(count);
            let histogram =
                recorder.register_histogram(&Key::from_parts("http_request_duration_seconds", labels), &meta);
            histogram.record(value);
            (counter, histogram)
        })
        .collect();
    Box::new(move |i| {
        let (counter, histogram) = &handles[i % handles.len()];
        counter.increment(1);
        histogram.record(0.02);
    })
}

fn obs(n: usize) -> Peer {
    // Above the default series cap (2 000 per metric), which would fold most series into one
    // overflow series and measure something smaller.
    let recorder = obs_runtime::MetricsRecorder::builder()
        .global_label("app", "bench")
        .max_series_per_metric(20_000)
        .build()
        .unwrap();
    let handle = recorder.handle();
    Peer { name: "obs", record: via_metrics(recorder, n), render: Box::new(move || handle.render()) }
}

fn exporter(n: usize) -> Peer {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .add_global_label("app", "bench")
        .set_buckets(&BUCKETS)
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    Peer {
        name: "metrics-exporter-prometheus",
        record: via_metrics(recorder, n),
        render: Box::new(move || handle.render()),
    }
}

fn prometheus_crate(n: usize) -> Peer {
    use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
    let registry = Registry::new();
    let counters =
        IntCounterVec::new(Opts::new("http_requests_total", "Requests.").const_label("app", "bench"), &LABELS).unwrap();
    let opts = HistogramOpts::new("http_request_duration_seconds", "Latency.").const_label("app", "bench");
    let histograms = HistogramVec::new(opts.buckets(BUCKETS.to_vec()), &LABELS).unwrap();
    registry.register(Box::new(counters.clone())).unwrap();
    registry.register(Box::new(histograms.clone())).unwrap();
    let handles: Vec<_> = (0..n / 2)
        .map(|i| {
            let (labels, count, value) = series(i);
            let values: Vec<&str> = labels.iter().map(String::as_str).collect();
            let counter = counters.with_label_values(&values);
            counter.inc_by(count);
            let histogram = histograms.with_label_values(&values);
            histogram.observe(value);
            (counter, histogram)
        })
        .collect();
    Peer {
        name: "prometheus",
        render: Box::new(move || {
            let mut out = String::new();
            prometheus::TextEncoder::new().encode_utf8(&registry.gather(), &mut out).unwrap();
            out
        }),
        record: Box::new(move |i| {
            let (counter, histogram) = &handles[i % handles.len()];
            counter.inc();
            histogram.observe(0.02);
        }),
    }
}

type PcLabels = Vec<(&'static str, String)>;

fn prometheus_client(n: usize) -> Peer {
    let mut registry = prometheus_client::registry::Registry::with_labels([("app".into(), "bench".into())].into_iter());
    let counters = Family::<PcLabels, PcCounter>::default();
    let histograms: Family<PcLabels, PcHistogram, fn() -> PcHistogram> =
        Family::new_with_constructor(|| PcHistogram::new(BUCKETS));
    registry.register("http_requests", "Requests.", counters.clone());
    registry.register("http_request_duration_seconds", "Latency.", histograms.clone());
    let keys: Vec<PcLabels> = (0..n / 2)
        .map(|i| {
            let (labels, count, value) = series(i);
            let labels: PcLabels = LABELS.into_iter().zip(labels).collect();
            counters.get_or_create(&labels).inc_by(count);
            histograms.get_or_create(&labels).observe(value);
            labels
        })
        .collect();
    Peer {
        name: "prometheus-client",
        render: Box::new(move || {
            let mut out = String::new();
            prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
            out
        }),
        record: Box::new(move |i| {
            let labels = &keys[i % keys.len()];
            counters.get_or_create(labels).inc();
            histograms.get_or_create(labels).observe(0.02);
        }),
    }
}

/// `measured`'s series: every label dynamic, interned.
#[derive(Clone, Copy, measured::LabelGroup)]
#[label(set = HttpSet)]
struct Http<'a> {
    #[label(dynamic_with = paracord::ParaCord)]
    app: &'a str,
    #[label(dynamic_with = paracord::ParaCord)]
    method: &'a str,
    #[label(dynamic_with = paracord::ParaCord)]
    path: &'a str,
    #[label(dynamic_with = paracord::ParaCord)]
    status_code: &'a str,
}

impl HttpSet {
    fn interned() -> Self {
        use paracord::ParaCord;
        Self {
            app: ParaCord::default(),
            method: ParaCord::default(),
            path: ParaCord::default(),
            status_code: ParaCord::default(),
        }
    }
}

#[derive(measured::MetricGroup)]
struct MeasuredMetrics {
    /// Requests.
    http_requests_total: measured::CounterVec<HttpSet>,
    /// Latency.
    http_request_duration_seconds: measured::HistogramVec<HttpSet, 11>,
}

fn measured(n: usize) -> Peer {
    use measured::metric::group::MetricGroup as _;
    let metrics = Arc::new(MeasuredMetrics {
        http_requests_total: measured::CounterVec::with_label_set(HttpSet::interned()),
        http_request_duration_seconds: measured::HistogramVec::with_label_set_and_metadata(
            HttpSet::interned(),
            measured::metric::histogram::Thresholds::with_buckets(BUCKETS),
        ),
    });
    let series: Arc<Vec<[String; 3]>> = Arc::new(
        (0..n / 2)
            .map(|i| {
                let (labels, count, value) = series(i);
                let [method, path, status_code] = &labels;
                let http = Http { app: "bench", method, path, status_code };
                metrics.http_requests_total.inc_by(http, count);
                metrics.http_request_duration_seconds.observe(http, value);
                labels
            })
            .collect(),
    );
    let recording = metrics.clone();
    Peer {
        name: "measured",
        render: Box::new(move || {
            let mut encoder = measured::text::BufferedTextEncoder::new();
            metrics.collect_group_into(&mut encoder).unwrap();
            String::from_utf8(encoder.finish().to_vec()).unwrap()
        }),
        record: Box::new(move |i| {
            let [method, path, status_code] = &series[i % series.len()];
            let http = Http { app: "bench", method, path, status_code };
            recording.http_requests_total.inc(http);
            recording.http_request_duration_seconds.observe(http, 0.02);
        }),
    }
}

/// One sample: name, labels sorted (`le` as a number), the value's bits.
type Sample = (String, Vec<(String, String)>, u64);

/// The samples of an exposition.
fn samples(text: &str) -> BTreeSet<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
            let mut labels: Vec<(String, String)> = labels
                .trim_end_matches('}')
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("k=v");
                    let v = v.trim_matches('"');
                    let v = match (k, v.parse::<f64>()) {
                        ("le", Ok(bound)) => bound.to_string(),
                        _ => v.to_owned(),
                    };
                    (k.to_owned(), v)
                })
                .collect();
            labels.sort();
            (name.to_owned(), labels, value.parse::<f64>().expect("a number").to_bits())
        })
        .collect()
}

fn main() {
    let mut c = support::config(20);
    let mut peers_of_size = Vec::new();
    for n in [1_000, 10_000] {
        let peers = [obs(n), exporter(n), prometheus_crate(n), prometheus_client(n), measured(n)];
        let expected = samples(&(peers[0].render)());
        assert_eq!(expected.len(), n / 2 * (1 + BUCKETS.len() + 3), "obs renders every sample");
        for peer in &peers[1..] {
            let got = samples(&(peer.render)());
            let (missing, extra): (Vec<_>, Vec<_>) =
                (expected.difference(&got).take(3).collect(), got.difference(&expected).take(3).collect());
            assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}, extra {extra:?}", peer.name);
        }
        for peer in &peers {
            let render = &peer.render;
            support::measure(&mut c, Box::leak(format!("render/{n}/{}", peer.name).into_boxed_str()), || {
                black_box(render()).len() as u64
            });
        }
        peers_of_size.push((n, peers));
    }
    // 10 000 series while 2 threads record into them.
    let (_, peers) = peers_of_size.pop().expect("the 10 000 series");
    for peer in peers {
        let peer = Arc::new(peer);
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2)
            .map(|t| {
                let (peer, stop) = (peer.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut i = t * 7919;
                    while !stop.load(Ordering::Relaxed) {
                        (peer.record)(i);
                        i = i.wrapping_add(104_729);
                    }
                })
            })
            .collect();
        let render = &peer.render;
        support::measure(&mut c, Box::leak(format!("recording/10000/{}", peer.name).into_boxed_str()), || {
            black_box(render()).len() as u64
        });
        stop.store(true, Ordering::Relaxed);
        writers.into_iter().for_each(|w| w.join().unwrap());
    }
    c.final_summary();
    print_ratios();
}

fn print_ratios() {
    let t = |name: String| support::median_of(&name);
    println!("\nRender time (median of criterion samples, this run), and its ratio to prometheus-client's:");
    for case in ["render/1000", "render/10000", "recording/10000"] {
        let Some(official) = t(format!("{case}/prometheus-client")) else {
            println!("  (too few samples for ratios: run without --test)");
            return;
        };
        for peer in ["obs", "metrics-exporter-prometheus", "prometheus", "prometheus-client", "measured"] {
            let ns = t(format!("{case}/{peer}")).unwrap_or(f64::NAN);
            println!("  {case:16} {peer:28} {:9.1} us  {:5.2}x", ns / 1e3, ns / official);
        }
    }
    if let (Some(obs), Some(measured)) = (t("render/10000/obs".into()), t("render/10000/measured".into())) {
        println!("  obs / measured at 10 000 series: {:.2}x", obs / measured);
    }
    println!("  target: obs <= 0.8x prometheus-client at 10 000 series");
}
