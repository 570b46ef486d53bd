//! Classifier benchmarks: index build from `knowledge/`, latency per message
//! (p50 and p99, over every message of the labelled sets) and throughput on
//! one core.
//!
//! Run with `cargo bench --bench classify`. Criterion reports the build time
//! and the mean time per message; the percentiles and the throughput are
//! printed before it, since criterion gives means, not tails.

use criterion::{criterion_group, Criterion};
use promeneur_bot::classify::evaluate::parse_labelled;
use promeneur_bot::classify::Classifier;
use promeneur_bot::knowledge::Knowledge;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// The binary's allocator, so the build is timed as `promeneur-bot` runs it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn load_knowledge() -> Knowledge {
    Knowledge::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"))
        .expect("valid knowledge")
}

fn messages() -> Vec<String> {
    let mut messages = Vec::new();
    for name in ["dev.jsonl", "final9.jsonl"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            messages.extend(
                parse_labelled(&text)
                    .expect("labelled set")
                    .into_iter()
                    .map(|l| l.text),
            );
        }
    }
    messages
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Times every message alone, several passes, and prints p50, p99 and the
/// throughput of one thread.
fn report_latency(classifier: &Classifier, messages: &[String]) {
    let mut samples = Vec::with_capacity(messages.len() * 5);
    for _ in 0..5 {
        for message in messages {
            let start = Instant::now();
            black_box(classifier.classify(black_box(message)));
            samples.push(start.elapsed());
        }
    }
    samples.sort();
    let total: Duration = samples.iter().sum();
    println!(
        "classify latency over {} messages × 5: p50 {:?}, p99 {:?}, max {:?}; throughput {:.0} messages/s on one core",
        messages.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or_default(),
        samples.len() as f64 / total.as_secs_f64()
    );
}

fn benches(c: &mut Criterion) {
    let knowledge = load_knowledge();
    let classifier = Classifier::new(&knowledge).expect("index");
    let messages = messages();
    report_latency(&classifier, &messages);

    c.bench_function("load knowledge (TOML, places) from disk", |b| {
        b.iter(load_knowledge)
    });
    c.bench_function(
        "build classifier (tantivy index) from loaded knowledge",
        |b| b.iter(|| Classifier::new(black_box(&knowledge)).expect("index")),
    );
    let mut group = c.benchmark_group("classify");
    group.throughput(criterion::Throughput::Elements(messages.len() as u64));
    group.bench_function("all labelled messages", |b| {
        b.iter(|| {
            for message in &messages {
                black_box(classifier.classify(black_box(message)));
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = classify;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = benches
}

fn main() {
    classify();
    Criterion::default().configure_from_args().final_summary();
}
