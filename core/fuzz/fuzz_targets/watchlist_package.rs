//! Fuzz target `watchlist_package`: the body, its checks and what it covers are
//! `lgt_core_fuzz::watchlist_package` (src/lib.rs), which `core/tests/fuzz_replay.rs` also runs on the
//! committed seeds and regression inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lgt_core_fuzz::watchlist_package(data);
});
