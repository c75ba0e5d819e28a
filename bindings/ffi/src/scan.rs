//! Scanning: decode a camera frame's luma plane or an image file, interpret what the code
//! holds (identity number, signed permit, door plate, CTID token), and verify a permit QR
//! offline against the trusted issuer keys and the local store.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lgt_core::crypto::PublicKey;
use lgt_core::scan as core;

use crate::error::IdIssue;
use crate::permits::PermitState;
use crate::registrations::IdNumberInfo;
use crate::shared::{guarded, Shared};
use crate::watchlist::CheckOutcome;
use crate::LgtError;

/// The barcode formats the handhelds read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BarcodeFormat {
    /// QR Code.
    Qr,
    /// PDF417 (foreign documents).
    Pdf417,
    /// Data Matrix.
    DataMatrix,
    /// Code 128 (ID numbers printed on forms).
    Code128,
}

/// Live camera loop or still photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ScanMode {
    /// One frame of a camera loop: fast (25 ms budget); the next frame retries.
    Live,
    /// A photo: try harder (rotations, inversion, other binarizers; 2 s budget).
    Still,
}

/// A rectangle of the frame, in pixels: the viewfinder box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ScanRegion {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ScanOptions {
    /// Live frame or still photo.
    pub mode: ScanMode,
    /// The viewfinder box; `None` decodes the whole frame.
    #[uniffi(default = None)]
    pub region: Option<ScanRegion>,
    /// Time after which no further attempt starts; `None`: the mode's default.
    #[uniffi(default = None)]
    pub budget_ms: Option<u32>,
}

/// A point in frame coordinates.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct ScanPoint {
    /// Horizontal position in pixels.
    pub x: f32,
    /// Vertical position in pixels.
    pub y: f32,
}

/// What a permit QR asserts, as signed (the holder is referenced by a keyed hash, never by
/// the ID number).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PermitClaim {
    /// The permit number printed on the card.
    pub permit_number: String,
    /// First day of validity, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last day of validity (the next endorsement anniversary), `YYYY-MM-DD`.
    pub valid_until: String,
    /// Key id of the issuer's signing key.
    pub issuer_key_id: String,
}

/// What a decoded code means.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ScanPayload {
    /// A valid identity number (already checked against the watchlist: see
    /// [`ScanResult::watchlist`]).
    IdNumber {
        /// What it encodes.
        info: IdNumberInfo,
    },
    /// Text shaped like an identity number that fails the checks (check digit, date).
    InvalidIdNumber {
        /// Why, in both languages, without the number.
        issue: IdIssue,
    },
    /// A residence-permit QR of this system; see [`ScanResult::permit`] for the verdict.
    Permit {
        /// The claim; `None` when the code does not parse (its verdict is `Forged`).
        claim: Option<PermitClaim>,
    },
    /// A door plate's standard address: fills a registration's dwelling.
    DoorPlate {
        /// House code, normalised.
        house_code: String,
        /// The address, when the plate carries it.
        address: Option<String>,
    },
    /// An electronic-ID (CTID) token: verifiable only online by its platform.
    Ctid,
    /// Anything else; the raw text is in [`ScanResult::text`].
    Unknown,
}

/// The verdict on a permit QR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PermitVerdict {
    /// Signed by a trusted issuer, within its validity, not cancelled or suspended here.
    Valid,
    /// The signature does not verify, or the code is malformed: forged or altered.
    Forged,
    /// Signed by a key this device does not trust (not yet synced, or revoked).
    UnknownIssuer,
    /// Past its validity.
    Expired,
    /// Before its validity.
    NotYetValid,
    /// Genuine, but the permit is cancelled in the local store.
    Cancelled,
    /// Genuine, but the permit is suspended (missed endorsement) in the local store.
    Suspended,
}

/// A permit QR verified offline: signature, validity, and the local store's state.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PermitVerification {
    /// The overall verdict.
    pub verdict: PermitVerdict,
    /// The permit's state in this store, when this store knows the permit.
    pub local_state: Option<PermitState>,
    /// The permit's record id in this store, when known.
    pub permit_id: Option<String>,
}

/// One decoded code with its meaning.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ScanResult {
    /// Its format.
    pub format: BarcodeFormat,
    /// The decoded text, as the code holds it.
    pub text: String,
    /// Corner or finder points in frame coordinates (for drawing the outline).
    pub position: Vec<ScanPoint>,
    /// What it means.
    pub payload: ScanPayload,
    /// For a permit QR: the verdict (verified offline; audited).
    pub permit: Option<PermitVerification>,
    /// For an identity number: the watchlist check made inside the scan (its alerts also
    /// went to the alert listener).
    pub watchlist: Option<CheckOutcome>,
}

/// A rendered QR code: black modules on white, with the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrImage {
    /// Width and height in pixels.
    pub size: u32,
    /// Row-contiguous luma (0 black, 255 white), `size * size` bytes.
    pub pixels: Vec<u8>,
}

/// A scanner over one open store: `core.scan()`. It keeps its decoders between frames, so
/// keep one per camera session; calls on one scanner run one at a time.
#[derive(uniffi::Object)]
pub struct Scan {
    shared: Arc<Shared>,
    scanner: Mutex<core::Scanner>,
}

impl Scan {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self {
            shared,
            scanner: Mutex::new(core::Scanner::new()),
        })
    }

    fn scanner(&self) -> std::sync::MutexGuard<'_, core::Scanner> {
        // A panic while decoding is contained by the decoder; the scanner stays usable.
        self.scanner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[uniffi::export]
impl Scan {
    /// Decodes one camera frame: the luma (Y) plane as the camera hands it over (CameraX
    /// `ImageProxy.planes[0]`, AVFoundation's plane 0), rows `row_stride` bytes apart.
    /// `None`: no code in this frame.
    pub fn scan_frame(
        &self,
        luma: Vec<u8>,
        width: u32,
        height: u32,
        row_stride: u32,
        options: ScanOptions,
    ) -> Result<Option<ScanResult>, LgtError> {
        let frame = core::LumaFrame {
            data: &luma,
            width,
            height,
            row_stride,
        };
        let options = options.into();
        let mut scanner = self.scanner();
        self.shared
            .call(|core| core.scan_frame(&mut scanner, &frame, &options))
            .map(|result| result.map(Into::into))
    }

    /// Decodes a JPEG, PNG or WebP file (a photo from the gallery). `None`: no code found.
    pub fn scan_file(
        &self,
        path: String,
        options: ScanOptions,
    ) -> Result<Option<ScanResult>, LgtError> {
        let options = options.into();
        let mut scanner = self.scanner();
        self.shared
            .call(|core| core.scan_file(&mut scanner, Path::new(&path), &options))
            .map(|result| result.map(Into::into))
    }

    /// Interprets text another decoder read (e.g. the platform's own scanner), with the same
    /// permit verification.
    pub fn interpret(&self, format: BarcodeFormat, text: String) -> Result<ScanResult, LgtError> {
        let symbol = core::Symbol {
            format: format.into(),
            text,
            position: Vec::new(),
        };
        self.shared
            .call(|core| core.scan_symbol(symbol))
            .map(Into::into)
    }

    /// This device's permit-issuer public key (32 bytes, created on first use), for other
    /// devices to trust.
    pub fn issuer_public_key(&self) -> Result<Vec<u8>, LgtError> {
        self.shared
            .call(|core| core.issuer_public_key())
            .map(|key| key.as_bytes().to_vec())
    }

    /// Trusts another device's or office's issuer key (32 bytes) under a label. Audited.
    pub fn trust_issuer(&self, public_key: Vec<u8>, label: String) -> Result<(), LgtError> {
        let key = PublicKey::try_from_slice(&public_key).map_err(|_| {
            LgtError::from(lgt_core::Error::InvalidArgument {
                field: "public_key",
                reason: "must be a 32-byte Ed25519 key".into(),
            })
        })?;
        self.shared.call(|core| core.trust_issuer(&key, &label))
    }

    /// Revokes an issuer key by id: its permit codes read as `UnknownIssuer` from now on.
    /// Audited.
    pub fn revoke_issuer(&self, key_id: String) -> Result<(), LgtError> {
        self.shared.call(|core| core.revoke_issuer(&key_id))
    }
}

/// Renders text as a QR code (error correction M), `module_px` pixels per module (1 to 32):
/// for showing a permit's signed code on screen.
#[uniffi::export]
pub fn render_qr(text: String, module_px: u32) -> Result<QrImage, LgtError> {
    guarded(|| Ok(core::render_qr(&text, module_px)?)).map(|image| QrImage {
        size: image.size,
        pixels: image.pixels,
    })
}

impl From<ScanOptions> for core::ScanOptions {
    fn from(o: ScanOptions) -> Self {
        let mode = match o.mode {
            ScanMode::Live => core::Mode::Live,
            ScanMode::Still => core::Mode::Still,
        };
        let mut options = core::ScanOptions::new(mode);
        options.region = o.region.map(|r| core::Region {
            x: r.x,
            y: r.y,
            width: r.width,
            height: r.height,
        });
        if let Some(ms) = o.budget_ms {
            options.budget = Duration::from_millis(ms.into());
        }
        options
    }
}

impl From<BarcodeFormat> for core::Format {
    fn from(f: BarcodeFormat) -> Self {
        match f {
            BarcodeFormat::Qr => Self::Qr,
            BarcodeFormat::Pdf417 => Self::Pdf417,
            BarcodeFormat::DataMatrix => Self::DataMatrix,
            BarcodeFormat::Code128 => Self::Code128,
        }
    }
}

impl From<core::Format> for BarcodeFormat {
    fn from(f: core::Format) -> Self {
        match f {
            core::Format::Qr => Self::Qr,
            core::Format::Pdf417 => Self::Pdf417,
            core::Format::DataMatrix => Self::DataMatrix,
            core::Format::Code128 => Self::Code128,
        }
    }
}

impl From<core::Payload> for ScanPayload {
    fn from(p: core::Payload) -> Self {
        match p {
            core::Payload::IdNumber(Ok(id)) => Self::IdNumber { info: id.into() },
            core::Payload::IdNumber(Err(error)) => Self::InvalidIdNumber {
                issue: IdIssue::from(&error),
            },
            core::Payload::Permit(signed) => Self::Permit {
                claim: signed.ok().map(|s| PermitClaim {
                    permit_number: s.claim.permit_number,
                    valid_from: s.claim.valid_from.to_string(),
                    valid_until: s.claim.valid_until.to_string(),
                    issuer_key_id: s.claim.issuer_key_id,
                }),
            },
            core::Payload::DoorPlate(plate) => Self::DoorPlate {
                house_code: plate.house_code,
                address: plate.address,
            },
            core::Payload::Ctid => Self::Ctid,
            core::Payload::Unknown => Self::Unknown,
        }
    }
}

impl From<core::PermitVerification> for PermitVerification {
    fn from(v: core::PermitVerification) -> Self {
        use core::PermitVerdict as V;
        Self {
            verdict: match v.verdict {
                V::Valid => PermitVerdict::Valid,
                V::Forged => PermitVerdict::Forged,
                V::UnknownIssuer => PermitVerdict::UnknownIssuer,
                V::Expired => PermitVerdict::Expired,
                V::NotYetValid => PermitVerdict::NotYetValid,
                V::Cancelled => PermitVerdict::Cancelled,
                V::Suspended => PermitVerdict::Suspended,
            },
            local_state: v.local_state.map(Into::into),
            permit_id: v.permit_id,
        }
    }
}

impl From<core::ScanResult> for ScanResult {
    fn from(r: core::ScanResult) -> Self {
        Self {
            format: r.symbol.format.into(),
            text: r.symbol.text,
            position: r
                .symbol
                .position
                .into_iter()
                .map(|p| ScanPoint { x: p.x, y: p.y })
                .collect(),
            payload: r.payload.into(),
            permit: r.permit.map(Into::into),
            watchlist: r.watchlist.map(Into::into),
        }
    }
}
