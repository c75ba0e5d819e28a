//! Scanning: camera frames and photos to validated payloads.
//!
//! ```text
//!  luma plane (camera) ─┐
//!  image file (desktop) ┴─ frame::Scanner ── Symbol { format, text, position }
//!                                               │
//!                          payload::interpret ── Payload (identity number, signed permit,
//!                                               door plate, CTID token, unknown)
//!                                               │
//!                          FieldCore::scan_*  ── permit verified against trusted issuer keys
//!                                               and the local store; watchlist hook
//! ```
//!
//! Everything here is pure (no store, no clock): the frame decoder and the payload interpreter
//! are what the fuzz targets exercise.

#[cfg(feature = "image-files")]
mod file;
mod frame;
mod payload;
pub mod permit_qr;
mod presence;
mod render;
mod result;
#[cfg(test)]
mod tests;

use serde::Serialize;

#[cfg(feature = "image-files")]
pub use file::{decode_file, load_luma, write_png, LumaImage, MAX_FILE_BYTES};
pub use frame::{LumaFrame, ScanOptions, Scanner, MAX_PIXELS, MAX_SIDE, MAX_SYMBOLS};
pub use payload::{interpret, DoorPlate, Payload};
pub use render::{render_qr, QrImage};
pub use result::{PermitVerdict, PermitVerification, ScanResult};

/// The barcode formats the handhelds read; every decode is restricted to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "uniffi",
    derive(uniffi::Enum),
    uniffi(name = "BarcodeFormat")
)]
pub enum Format {
    /// QR Code.
    Qr,
    /// PDF417 (foreign documents).
    Pdf417,
    /// Data Matrix.
    DataMatrix,
    /// Code 128 (ID numbers printed on forms).
    Code128,
}

impl Format {
    /// The four production formats.
    pub const ALL: [Format; 4] = [
        Format::Qr,
        Format::Pdf417,
        Format::DataMatrix,
        Format::Code128,
    ];

    /// A stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Qr => "qr",
            Format::Pdf417 => "pdf417",
            Format::DataMatrix => "data_matrix",
            Format::Code128 => "code128",
        }
    }

    fn rxing(self) -> rxing::BarcodeFormat {
        match self {
            Format::Qr => rxing::BarcodeFormat::QR_CODE,
            Format::Pdf417 => rxing::BarcodeFormat::PDF_417,
            Format::DataMatrix => rxing::BarcodeFormat::DATA_MATRIX,
            Format::Code128 => rxing::BarcodeFormat::CODE_128,
        }
    }

    fn from_rxing(format: rxing::BarcodeFormat) -> Option<Self> {
        Format::ALL.into_iter().find(|f| f.rxing() == format)
    }
}

/// Live camera loop or still photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum), uniffi(name = "ScanMode"))]
pub enum Mode {
    /// One frame of a camera loop: fast, within a small time budget; the next frame retries.
    Live,
    /// A photo: try harder (rotations, inversion, other binarizers).
    Still,
}

impl std::str::FromStr for Mode {
    type Err = ScanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(Mode::Live),
            "still" => Ok(Mode::Still),
            _ => Err(ScanError::UnknownMode),
        }
    }
}

/// A rectangle of the frame, in pixels: the viewfinder box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(
    feature = "uniffi",
    derive(uniffi::Record),
    uniffi(name = "ScanRegion")
)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Region {
    fn whole(width: u32, height: u32) -> Self {
        Self {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    /// The part of the region inside a frame; an empty intersection is an error.
    fn clip(self, frame_width: u32, frame_height: u32) -> Result<Self, ScanError> {
        let x = self.x.min(frame_width);
        let y = self.y.min(frame_height);
        let width = self.width.min(frame_width - x);
        let height = self.height.min(frame_height - y);
        if width == 0 || height == 0 {
            return Err(ScanError::RegionOutside);
        }
        Ok(Self {
            x,
            y,
            width,
            height,
        })
    }
}

/// A point in frame coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record), uniffi(name = "ScanPoint"))]
pub struct Point {
    /// Horizontal position in pixels.
    pub x: f32,
    /// Vertical position in pixels.
    pub y: f32,
}

/// One decoded symbol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Symbol {
    /// Its format.
    pub format: Format,
    /// The decoded text, as the symbol holds it.
    pub text: String,
    /// Corner or finder points in frame coordinates (for drawing the outline).
    pub position: Vec<Point>,
}

/// Why a frame or file could not be decoded. Never carries decoded content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Width or height is zero.
    #[error("the image has no pixels")]
    EmptyFrame,
    /// The frame exceeds [`MAX_SIDE`] or [`MAX_PIXELS`].
    #[error("the image is {width}x{height}, larger than the scanner accepts")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The row stride is smaller than the width.
    #[error("row stride {row_stride} is smaller than the width {width}")]
    BadStride {
        /// Given stride.
        row_stride: u32,
        /// Given width.
        width: u32,
    },
    /// The buffer is shorter than its dimensions say.
    #[error("the luma buffer holds {got} bytes, {needed} are needed")]
    ShortBuffer {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// The region of interest lies outside the frame.
    #[error("the region of interest lies outside the frame")]
    RegionOutside,
    /// The barcode decoder panicked; the panic was contained.
    #[error("the barcode decoder failed on this image")]
    DecoderPanicked,
    /// The mode is neither `live` nor `still`.
    #[error("mode must be live or still")]
    UnknownMode,
    /// The file is larger than [`MAX_FILE_BYTES`](crate::scan) allows.
    #[error("the file is {bytes} bytes, larger than the scanner accepts")]
    FileTooLarge {
        /// Size in bytes.
        bytes: u64,
    },
    /// The file could not be read.
    #[error("the file could not be read: {0}")]
    Io(String),
    /// The file is not a JPEG, PNG or WebP image, or is truncated or corrupt.
    #[error("the file is not a readable JPEG, PNG or WebP image: {0}")]
    BadImage(String),
    /// The content cannot be encoded as a QR code.
    #[error("the content cannot be encoded as a QR code")]
    Encode,
}

impl ScanError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ScanError::EmptyFrame => "scan.empty_image",
            ScanError::TooLarge { .. } | ScanError::FileTooLarge { .. } => "scan.too_large",
            ScanError::BadStride { .. } | ScanError::ShortBuffer { .. } => "scan.bad_frame",
            ScanError::RegionOutside => "scan.region_outside",
            ScanError::DecoderPanicked => "scan.decoder_failed",
            ScanError::UnknownMode => "scan.unknown_mode",
            ScanError::Io(_) => "scan.io",
            ScanError::BadImage(_) => "scan.bad_image",
            ScanError::Encode => "scan.encode",
        }
    }
}
