//! Fuzz target `scan_frame`: the body, its checks and what it covers are
//! `lgt_core_fuzz::scan_frame` (src/lib.rs), which `core/tests/fuzz_replay.rs` also runs on the
//! committed seeds and regression inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        // Contained rxing panics would otherwise trip libFuzzer's abort-on-panic hook; a panic
        // that escapes decode still fails the run (libfuzzer-sys aborts when one unwinds out).
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        lgt_core_fuzz::scan_frame(data);
    }
);
