//! Image files for the desktop client and the tests: JPEG, PNG and WebP to a luma plane, with
//! limits checked on the header before any pixel is decoded (decompression bombs).

use std::io::{Cursor, Read};
use std::path::Path;

use image::{ImageFormat, ImageReader, Limits};

use super::{LumaFrame, ScanError, ScanOptions, Scanner, Symbol, MAX_PIXELS, MAX_SIDE};

/// The largest image file accepted, in bytes.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// A decoded grayscale image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LumaImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-contiguous luma, `width * height` bytes.
    pub pixels: Vec<u8>,
}

impl LumaImage {
    /// The image as a frame for [`Scanner::decode`].
    pub fn frame(&self) -> LumaFrame<'_> {
        LumaFrame {
            data: &self.pixels,
            width: self.width,
            height: self.height,
            row_stride: self.width,
        }
    }
}

/// Reads and decodes an image file to luma, refusing oversized files and images.
pub fn load_luma(path: &Path) -> Result<LumaImage, ScanError> {
    let file = std::fs::File::open(path).map_err(|e| ScanError::Io(e.kind().to_string()))?;
    let mut bytes = Vec::new();
    // Read one byte past the limit so an oversized file is detected without reading it all.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ScanError::Io(e.kind().to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let bytes = std::fs::metadata(path).map_or(MAX_FILE_BYTES + 1, |m| m.len());
        return Err(ScanError::FileTooLarge { bytes });
    }
    decode_bytes(&bytes)
}

/// A reader for a supported format; `limited` adds the decoder's own allocation limits (the
/// header-only dimension check runs without them, to report the size it found).
fn reader(bytes: &[u8], limited: bool) -> Result<ImageReader<Cursor<&[u8]>>, ScanError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ScanError::BadImage(e.to_string()))?;
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP) => {}
        _ => return Err(ScanError::BadImage("unsupported format".into())),
    }
    if !limited {
        reader.no_limits();
        return Ok(reader);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // The decoded image (up to 4 bytes per pixel) plus the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    Ok(reader)
}

/// Decodes an in-memory JPEG, PNG or WebP to luma.
pub(crate) fn decode_bytes(bytes: &[u8]) -> Result<LumaImage, ScanError> {
    let (width, height) = reader(bytes, false)?
        .into_dimensions()
        .map_err(|e| ScanError::BadImage(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(ScanError::EmptyFrame);
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ScanError::TooLarge { width, height });
    }
    let image = reader(bytes, true)?
        .decode()
        .map_err(|e| ScanError::BadImage(e.to_string()))?
        .into_luma8();
    Ok(LumaImage {
        width: image.width(),
        height: image.height(),
        pixels: image.into_raw(),
    })
}

/// Decodes the first symbol in an image file.
pub fn decode_file(
    scanner: &mut Scanner,
    path: &Path,
    options: &ScanOptions,
) -> Result<Option<Symbol>, ScanError> {
    let image = load_luma(path)?;
    scanner.decode(&image.frame(), options)
}

/// Writes a luma image as PNG.
pub fn write_png(path: &Path, width: u32, height: u32, pixels: &[u8]) -> Result<(), ScanError> {
    let image =
        image::GrayImage::from_raw(width, height, pixels.to_vec()).ok_or(ScanError::Encode)?;
    image
        .save_with_format(path, ImageFormat::Png)
        .map_err(|e| ScanError::Io(e.to_string()))
}
