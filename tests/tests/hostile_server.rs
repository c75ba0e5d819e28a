//! A server that answers with a compression bomb: the phone reads no more than its bound of
//! the inflated answer, fails the call as a network error, and keeps nothing of it. Only a
//! server the phone trusts (its pinned key; plain HTTP on loopback here) gets this far.

use std::io::{Read, Write};
use std::net::TcpListener;

use flate2::write::GzEncoder;
use flate2::Compression;
use lgt_core::sync::SyncError;
use lgt_core::Error;
use lgt_e2e::Phone;

/// 300 MiB of JSON whitespace, gzipped (a few hundred kB on the wire).
fn bomb() -> Vec<u8> {
    let mut gzip = GzEncoder::new(Vec::new(), Compression::fast());
    let block = vec![b' '; 1024 * 1024];
    for _ in 0..300 {
        gzip.write_all(&block).unwrap();
    }
    gzip.finish().unwrap()
}

#[test]
fn a_compression_bomb_is_cut_off_and_changes_nothing() {
    let body = bomb();
    assert!(body.len() < 2 * 1024 * 1024, "{} bytes", body.len());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).unwrap();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        // The phone may hang up once it has read its bound.
        let _ = stream.write_all(&body);
    });
    let phone = Phone::new(901);
    let refused = phone
        .core
        .sync_enroll(&url, &[], "00000000000000000000000000000000")
        .unwrap_err();
    match refused {
        Error::Sync(SyncError::Transient { reason, .. }) => {
            assert_eq!(reason, "answer too large")
        }
        other => panic!("{other:?}"),
    }
    server.join().unwrap();
    assert!(phone.status().enrollment.is_none());
}
