//! Event-stream parsing speed: a realistic streamed answer (2,000 OpenAI chunks, ~310 KB)
//! fed in network-sized pieces, and the same fed one small piece at a time.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use openclaw_providers::sse::SseParser;

fn stream() -> Vec<u8> {
    let mut out = String::new();
    for i in 0..2000 {
        out.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\
             \"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

fn parse(bytes: &[u8], piece: usize) -> usize {
    let mut parser = SseParser::new();
    bytes.chunks(piece).map(|c| parser.push(c).unwrap().len()).sum()
}

fn bench(c: &mut Criterion) {
    let bytes = stream();
    let mut group = c.benchmark_group("sse");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("parse_1460_byte_pieces", |b| {
        b.iter(|| assert_eq!(parse(&bytes, 1460), 2001))
    });
    group.bench_function("parse_7_byte_pieces", |b| b.iter(|| assert_eq!(parse(&bytes, 7), 2001)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
