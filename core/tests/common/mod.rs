//! Helpers shared by the core's integration tests.

use lgt_core::FieldCore;

/// Renders `text` as a QR code and scans it through the core, as a camera frame.
pub fn scan_rendered(core: &FieldCore, text: &str) -> lgt_core::scan::ScanResult {
    use lgt_core::scan::{render_qr, LumaFrame, Mode, ScanOptions, Scanner};
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
