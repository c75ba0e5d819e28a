//! Fuzzes frame decoding: arbitrary dimensions, strides, regions and pixels.
//!
//! No panic may escape `Scanner::decode` (rxing's own panics are contained and reported as
//! `DecoderPanicked`), and a malformed frame is an error, never an out-of-bounds read.
#![no_main]

use lgt_core::scan::{LumaFrame, Mode, Region, ScanOptions, Scanner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // Contained rxing panics would otherwise trip libFuzzer's abort-on-panic hook; a panic
        // that escapes decode still fails the run (libfuzzer-sys aborts when one unwinds out).
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        if data.len() < 8 {
            return;
        }
        let (header, pixels) = data.split_at(8);
        let width = u32::from(header[0]) + 1;
        let height = u32::from(header[1]) + 1;
        let row_stride = width + u32::from(header[2] % 8);
        let mode = if header[3] & 1 == 0 { Mode::Live } else { Mode::Still };
        let mut options = ScanOptions::new(mode);
        if header[3] & 2 != 0 {
            options = options.with_region(Region {
                x: u32::from(header[4]),
                y: u32::from(header[5]),
                width: u32::from(header[6]),
                height: u32::from(header[7]),
            });
        }
        let frame = LumaFrame {
            data: pixels,
            width,
            height,
            row_stride,
        };
        let _ = Scanner::new().decode(&frame, &options);
    }
);
