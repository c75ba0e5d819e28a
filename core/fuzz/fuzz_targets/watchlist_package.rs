//! Fuzzes the watchlist package and payload codecs: they must never panic, and whatever they
//! accept must be canonical (encoding what was decoded gives back the very bytes).
#![no_main]

use lgt_core::watchlist::{ListPackage, Payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(package) = ListPackage::from_bytes(data) {
        assert_eq!(package.to_bytes(), data);
        let _ = package.unverified_manifest();
    }
    if let Ok(payload) = Payload::decode(data) {
        assert_eq!(payload.encode(), data);
    }
});
