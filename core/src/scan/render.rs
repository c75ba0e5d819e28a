//! QR rendering for the codes this system prints (signed permits, receipts), with rxing's own
//! encoder: no second QR implementation.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rxing::qrcode::QRCodeWriter;
use rxing::{BarcodeFormat, EncodeHints, Writer};

use super::ScanError;

/// A rendered code: black modules on white, with the standard four-module quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QrImage {
    /// Width and height in pixels.
    pub size: u32,
    /// Row-contiguous luma (0 black, 255 white), `size * size` bytes.
    pub pixels: Vec<u8>,
}

/// Largest module size accepted, in pixels.
const MAX_MODULE_PX: u32 = 32;

/// Renders text as a QR code with error-correction level M (15 % of the symbol may be soiled),
/// `module_px` pixels per module (1 to 32).
pub fn render_qr(text: &str, module_px: u32) -> Result<QrImage, ScanError> {
    if text.is_empty() || !(1..=MAX_MODULE_PX).contains(&module_px) {
        return Err(ScanError::Encode);
    }
    let hints = EncodeHints {
        ErrorCorrection: Some("M".into()),
        CharacterSet: Some("UTF-8".into()),
        ..EncodeHints::default()
    };
    let matrix = catch_unwind(AssertUnwindSafe(|| {
        QRCodeWriter.encode_with_hints(text, &BarcodeFormat::QR_CODE, 0, 0, &hints)
    }))
    .map_err(|_| ScanError::Encode)?
    .map_err(|_| ScanError::Encode)?;
    let modules = matrix.getWidth();
    let size = modules * module_px;
    let mut pixels = Vec::with_capacity((size * size) as usize);
    for y in 0..size {
        for x in 0..size {
            let dark = matrix.get(x / module_px, y / module_px);
            pixels.push(if dark { 0 } else { 255 });
        }
    }
    Ok(QrImage { size, pixels })
}
