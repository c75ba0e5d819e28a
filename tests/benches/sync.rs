//! Sync throughput, side by side in one run (a table, not assertions):
//! 1. 10,000 operations pushed from one phone to the server on loopback, next to a bare
//!    HTTP POST of the same bytes (same batches) to a server that only reads them, and the
//!    same push over HTTPS with the server's key pinned;
//! 2. 50 phones syncing concurrently against one server on PostgreSQL
//!    (`LGT_TEST_DATABASE_URL`; skipped with a note when unset).
//!
//! `cargo bench -p lgt-e2e --bench sync` (`LGT_BENCH_OPS` changes the 10,000).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lgt_core::crypto::sha256;
use lgt_e2e::{BackendChoice, Phone, TestServer};
use lgt_protocol::{hex, Bucket, PushOperation, PushRequest};

const BATCH: usize = 200;

fn main() {
    let ops: usize = std::env::var("LGT_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    println!("| measurement | operations | seconds | operations/s |");
    println!("|---|---:|---:|---:|");
    let (engine, bare) = one_phone(ops, false);
    let (engine_tls, _) = one_phone(ops, true);
    row("one phone -> lgt-server (SQLite), push + pull", ops, engine);
    row("bare HTTP POST of the same bytes, same batches", ops, bare);
    row(
        "one phone -> lgt-server (SQLite) over HTTPS, pinned key",
        ops,
        engine_tls,
    );
    println!(
        "\nratio: the sync engine takes {:.1}x the time of the bare POSTs; HTTPS {:.2}x plain HTTP",
        engine.as_secs_f64() / bare.as_secs_f64(),
        engine_tls.as_secs_f64() / engine.as_secs_f64()
    );
    match std::env::var("LGT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let (total, elapsed) = fifty_phones(&url);
            println!();
            println!("| measurement | operations | seconds | operations/s |");
            println!("|---|---:|---:|---:|");
            row(
                "50 phones concurrently -> lgt-server (PostgreSQL)",
                total,
                elapsed,
            );
        }
        _ => println!("\n50 phones on PostgreSQL: skipped (LGT_TEST_DATABASE_URL is not set)"),
    }
}

fn row(what: &str, ops: usize, elapsed: Duration) {
    println!(
        "| {what} | {ops} | {:.2} | {:.0} |",
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64()
    );
}

/// One phone pushing `ops` registrations (over HTTPS with `tls`); returns the sync's time and
/// that of the bare POSTs of the same bytes.
fn one_phone(ops: usize, tls: bool) -> (Duration, Duration) {
    let server = if tls {
        TestServer::start_tls(&BackendChoice::Sqlite)
    } else {
        TestServer::start(&BackendChoice::Sqlite)
    };
    let mut phone = Phone::new(1);
    let code = server.enrollment_code("bench", "110105");
    match server.pin {
        Some(pin) => phone.enroll_pinned(&server.url, pin, &code),
        None => phone.enroll(&server.url, &code),
    }
    phone.register(ops);
    let started = Instant::now();
    let report = phone.core.sync_now().expect("sync");
    let engine = started.elapsed();
    assert_eq!(report.acknowledged, ops);
    if tls {
        return (engine, Duration::ZERO);
    }

    // The same bytes: the payloads come back verbatim in the device's records bucket.
    let payloads: HashMap<String, String> = phone
        .core
        .sync_replica(Bucket::Records)
        .expect("replica")
        .into_iter()
        .collect();
    let operations: Vec<PushOperation> = phone
        .core
        .outbox(None)
        .expect("outbox")
        .into_iter()
        .map(|op| {
            let payload = payloads[&format!("registration:{}", op.record_id)].clone();
            assert_eq!(hex(&sha256(payload.as_bytes())), op.payload_hash);
            PushOperation {
                op_id: op.op_id,
                kind: op.kind,
                record_id: op.record_id,
                payload_sha256: op.payload_hash,
                payload,
            }
        })
        .collect();
    let bodies: Vec<String> = operations
        .chunks(BATCH)
        .map(|chunk| {
            serde_json::to_string(&PushRequest {
                operations: chunk.to_vec(),
            })
            .expect("json")
        })
        .collect();
    (engine, bare_posts(&bodies))
}

/// POSTs each body to a loopback server that reads it and answers a fixed body.
fn bare_posts(bodies: &[String]) -> Duration {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/sink", listener.local_addr().expect("addr"));
        let app = axum::Router::new().route(
            "/sink",
            axum::routing::post(|body: axum::body::Bytes| async move {
                format!("{{\"read\":{}}}", body.len())
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        let started = Instant::now();
        for body in bodies {
            let response = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("post");
            assert!(response.status().is_success());
            response.bytes().await.expect("answer");
        }
        started.elapsed()
    })
}

fn fifty_phones(url: &str) -> (usize, Duration) {
    const PHONES: usize = 50;
    const EACH: usize = 40;
    let server = TestServer::start(&BackendChoice::Postgres(url.to_owned()));
    let phones: Vec<Phone> = (0..PHONES)
        .map(|i| {
            let mut phone = Phone::new(10 + i as u64);
            let district = if i % 2 == 0 { "110105" } else { "310115" };
            phone.enroll(
                &server.url,
                &server.enrollment_code(&format!("c{i}"), district),
            );
            phone.register(EACH);
            phone
        })
        .collect();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for phone in &phones {
            scope.spawn(move || phone.sync_until_quiet(50));
        }
    });
    let elapsed = started.elapsed();
    assert_eq!(
        server.count("SELECT COUNT(*) FROM ledger"),
        (PHONES * EACH) as i64
    );
    (PHONES * EACH, elapsed)
}
