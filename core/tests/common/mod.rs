//! Helpers shared by the core's integration tests.

use lgt_core::scan::{render_qr, LumaFrame, Mode, ScanOptions, ScanResult, Scanner};
use lgt_core::FieldCore;

/// Renders `text` as a QR code and scans it through the core, as a camera frame.
pub fn scan_rendered(core: &FieldCore, text: &str) -> ScanResult {
    let qr = render_qr(text, 4).unwrap();
    let frame = LumaFrame {
        data: &qr.pixels,
        width: qr.size,
        height: qr.size,
        row_stride: qr.size,
    };
    core.scan_frame(&mut Scanner::new(), &frame, &ScanOptions::new(Mode::Still))
        .unwrap()
        .expect("the rendered QR decodes")
}

/// A white photo (`width`, `height`, row-contiguous luma) holding one QR code per text, side
/// by side from the left, with white space between them (an identity document's two codes).
pub fn side_by_side(texts: &[&str]) -> (u32, u32, Vec<u8>) {
    const MARGIN: u32 = 24;
    let codes: Vec<_> = texts.iter().map(|t| render_qr(t, 4).unwrap()).collect();
    let width = codes.iter().map(|c| c.size + MARGIN).sum::<u32>() + MARGIN;
    let height = codes.iter().map(|c| c.size).max().unwrap_or(0) + 2 * MARGIN;
    let mut pixels = vec![255u8; (width * height) as usize];
    let mut left = MARGIN;
    for code in &codes {
        let top = (height - code.size) / 2;
        for y in 0..code.size {
            let row = ((top + y) * width + left) as usize;
            let from = (y * code.size) as usize;
            pixels[row..row + code.size as usize]
                .copy_from_slice(&code.pixels[from..from + code.size as usize]);
        }
        left += code.size + MARGIN;
    }
    (width, height, pixels)
}

/// Renders the texts side by side in one photo and scans every code through the core.
pub fn scan_all_rendered(core: &FieldCore, texts: &[&str]) -> Vec<ScanResult> {
    let (width, height, pixels) = side_by_side(texts);
    let frame = LumaFrame {
        data: &pixels,
        width,
        height,
        row_stride: width,
    };
    core.scan_frame_all(&mut Scanner::new(), &frame, &ScanOptions::new(Mode::Still))
        .unwrap()
}
