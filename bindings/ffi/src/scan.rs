//! Scanning: decode a camera frame's luma plane or an image file, interpret what the code
//! holds (identity number, signed permit, door plate, CTID token), and verify a permit QR
//! offline against the trusted issuer keys and the local store.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lgt_core::crypto::PublicKey;
use lgt_core::scan::permit_qr::PermitClaim;
use lgt_core::scan::{
    self as core, Format as BarcodeFormat, Mode as ScanMode, PermitVerification, Point, QrImage,
    Region as ScanRegion,
};

use crate::error::IdIssue;
use crate::registrations::IdNumberInfo;
use crate::shared::{guarded, Shared};
use crate::watchlist::CheckOutcome;
use crate::LgtError;

/// How to decode. Made here: the budget is milliseconds, and unset means the mode's default
/// (the core's options hold a `Duration` set from the mode).
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

/// What a decoded code means. Made here: the core's payload holds parse results (an
/// identity number or why it failed, a signed permit or why it failed).
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

/// One decoded code with its meaning (the core's decoded symbol, flattened in).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ScanResult {
    /// Its format.
    pub format: BarcodeFormat,
    /// The decoded text, as the code holds it.
    pub text: String,
    /// Corner or finder points in frame coordinates (for drawing the outline).
    pub position: Vec<Point>,
    /// What it means.
    pub payload: ScanPayload,
    /// For a permit QR: the verdict (verified offline; audited).
    pub permit: Option<PermitVerification>,
    /// For an identity number: the watchlist check made inside the scan (its alerts also
    /// went to the alert listener).
    pub watchlist: Option<CheckOutcome>,
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

impl Scan {
    /// Runs `decode` on the core with this handle's scanner over one luma frame.
    fn on_frame<T>(
        &self,
        luma: &[u8],
        width: u32,
        height: u32,
        row_stride: u32,
        options: ScanOptions,
        decode: impl FnOnce(
            &lgt_core::FieldCore,
            &mut core::Scanner,
            &core::LumaFrame<'_>,
            &core::ScanOptions,
        ) -> Result<T, lgt_core::Error>,
    ) -> Result<T, LgtError> {
        let frame = core::LumaFrame {
            data: luma,
            width,
            height,
            row_stride,
        };
        let options = core::ScanOptions::from(options);
        let mut scanner = self.scanner();
        self.shared
            .call(|core| decode(core, &mut scanner, &frame, &options))
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
        self.on_frame(
            &luma,
            width,
            height,
            row_stride,
            options,
            |core, scanner, frame, options| core.scan_frame(scanner, frame, options),
        )
        .map(|result| result.map(Into::into))
    }

    /// Decodes a JPEG, PNG or WebP file (a photo from the gallery). `None`: no code found.
    pub fn scan_file(
        &self,
        path: String,
        options: ScanOptions,
    ) -> Result<Option<ScanResult>, LgtError> {
        let options = core::ScanOptions::from(options);
        let mut scanner = self.scanner();
        self.shared
            .call(|core| core.scan_file(&mut scanner, Path::new(&path), &options))
            .map(|result| result.map(Into::into))
    }

    /// Decodes every code in one camera frame or photo (an identity document with a QR code
    /// and a PDF417 side by side) and interprets each, in the order found. Empty: no code.
    /// Slower than [`Self::scan_frame`] even on a photo of one code: for a still photo, not
    /// the camera loop.
    pub fn scan_frame_all(
        &self,
        luma: Vec<u8>,
        width: u32,
        height: u32,
        row_stride: u32,
        options: ScanOptions,
    ) -> Result<Vec<ScanResult>, LgtError> {
        self.on_frame(
            &luma,
            width,
            height,
            row_stride,
            options,
            |core, scanner, frame, options| core.scan_frame_all(scanner, frame, options),
        )
        .map(|results| results.into_iter().map(Into::into).collect())
    }

    /// Decodes every code in a JPEG, PNG or WebP file and interprets each, in the order
    /// found. Empty: no code found.
    pub fn scan_file_all(
        &self,
        path: String,
        options: ScanOptions,
    ) -> Result<Vec<ScanResult>, LgtError> {
        let options = core::ScanOptions::from(options);
        let mut scanner = self.scanner();
        self.shared
            .call(|core| core.scan_file_all(&mut scanner, Path::new(&path), &options))
            .map(|results| results.into_iter().map(Into::into).collect())
    }

    /// Interprets text another decoder read (e.g. the platform's own scanner), with the same
    /// permit verification.
    pub fn interpret(&self, format: BarcodeFormat, text: String) -> Result<ScanResult, LgtError> {
        let symbol = core::Symbol {
            format,
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
    guarded(|| Ok(core::render_qr(&text, module_px)?))
}

impl From<ScanOptions> for core::ScanOptions {
    fn from(o: ScanOptions) -> Self {
        let mut options = core::ScanOptions::new(o.mode);
        options.region = o.region;
        if let Some(ms) = o.budget_ms {
            options.budget = Duration::from_millis(ms.into());
        }
        options
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
                claim: signed.ok().map(|signed| signed.claim),
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

impl From<core::ScanResult> for ScanResult {
    fn from(r: core::ScanResult) -> Self {
        Self {
            format: r.symbol.format,
            text: r.symbol.text,
            position: r.symbol.position,
            payload: r.payload.into(),
            permit: r.permit,
            watchlist: r.watchlist.map(Into::into),
        }
    }
}
