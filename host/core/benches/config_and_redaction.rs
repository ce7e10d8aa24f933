//! How long loading a config and redacting a log line take (run: `cargo bench -p openclaw-core`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use openclaw_core::config::check::check;
use openclaw_core::config::parse::parse;
use openclaw_core::security::redact::{RedactMode, Redactor};

fn fixture(name: &str) -> String {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seeds");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn env(name: &str) -> Option<String> {
    (name == "OPENCLAW_GATEWAY_TOKEN").then(|| "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c".to_string())
}

fn config(c: &mut Criterion) {
    for name in [
        "000-hardened-baseline.json5",
        "002-secure-baseline.json",
        "003-sandbox.json5",
    ] {
        let text = fixture(name);
        c.bench_function(&format!("parse+check {name}"), |b| {
            b.iter(|| {
                let parsed = parse(black_box(&text), "bench").unwrap();
                let checked = check(parsed.value, &env, &[]);
                assert!(checked.config.is_some());
            })
        });
    }
}

fn redaction(c: &mut Criterion) {
    let redactor = Redactor::with_known_secrets(
        RedactMode::Tools,
        &[],
        ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"],
    )
    .unwrap();
    let clean =
        "gateway listening on 127.0.0.1:18789 with 3 plugins loaded; channel telegram polling every 30s ".repeat(4);
    let dirty = "calling https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe with \
                 Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz and OPENAI_API_KEY=sk-abcdefghijklmnopq";
    c.bench_function("redact 400-byte clean line", |b| {
        b.iter(|| redactor.redact(black_box(&clean)).len())
    });
    c.bench_function("redact 200-byte line with 3 secrets", |b| {
        b.iter(|| redactor.redact(black_box(dirty)).len())
    });
    c.bench_function("build redactor (defaults + 1 known secret)", |b| {
        b.iter(|| {
            Redactor::with_known_secrets(RedactMode::Tools, &[], [black_box("e3b0c44298fc1c149afbf4c8996fb924")])
                .unwrap()
        })
    });
}

criterion_group!(benches, config, redaction);
criterion_main!(benches);
