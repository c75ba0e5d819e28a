//! The ZXing black-box barcode corpus: its location and each image's expected result. Shared by
//! the corpus tests and the benchmark harness.
#![allow(dead_code)] // each user takes the parts it needs

use std::path::{Path, PathBuf};

use lgt_core::scan::{load_luma, LumaImage};

/// Environment variable that overrides the corpus location.
pub const CORPUS_ENV: &str = "LGT_BARCODE_CORPUS";

/// Environment variable that, set to `1`, turns a missing corpus into a failure (CI sets it).
pub const REQUIRE_ENV: &str = "LGT_REQUIRE_CORPUS";

/// Says a test is skipped where a reader of `cargo test` sees it: straight to stderr, past the
/// test harness's output capture (which would hide it in a passing test), and through the
/// captured stdout too (shown with `--nocapture`).
pub fn skip_loudly(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    println!("{line}");
}

/// What an image should decode to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// NAME.txt
    Text(String),
    /// NAME.bin
    Bytes(Vec<u8>),
    /// One symbol of a structured-append set (pdf417-4: `01-02.png` is part 2 of `01.bin`):
    /// its text is a piece of the whole.
    Segment(Vec<u8>),
    /// The image holds two symbols; either text is a correct read.
    Either(String, String),
    /// Neither: the image holds no code (falsepositives-1).
    Nothing,
}

impl Expected {
    /// Whether decoded text is this expectation. Bytes compare as ISO-8859-1, the way a reader
    /// without an ECI hint turns byte-mode data into text, or as UTF-8.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Expected::Text(expected) => expected == text,
            Expected::Bytes(bytes) => {
                text.as_bytes() == bytes.as_slice()
                    || (text.chars().all(|c| (c as u32) < 256)
                        && text
                            .chars()
                            .map(|c| c as u32 as u8)
                            .eq(bytes.iter().copied()))
            }
            Expected::Segment(whole) => {
                let latin1: Option<Vec<u8>> =
                    text.chars().map(|c| u8::try_from(c as u32).ok()).collect();
                let pieces = [Some(text.as_bytes().to_vec()), latin1];
                pieces.into_iter().flatten().any(|piece| {
                    !piece.is_empty() && whole.windows(piece.len()).any(|w| w == piece.as_slice())
                })
            }
            Expected::Either(a, b) => a == text || b == text,
            Expected::Nothing => false,
        }
    }
}

/// One image and its expectation.
#[derive(Debug, Clone)]
pub struct Case {
    /// The image file.
    pub path: PathBuf,
    /// Its expected result.
    pub expected: Expected,
}

impl Case {
    /// `folder/file`, for messages.
    pub fn name(&self) -> String {
        let folder = self
            .path
            .parent()
            .and_then(Path::file_name)
            .unwrap_or_default();
        let file = self.path.file_name().unwrap_or_default();
        format!("{}/{}", folder.to_string_lossy(), file.to_string_lossy())
    }

    /// The decoded image; panics with the file name if it does not load (a broken corpus).
    pub fn load(&self) -> LumaImage {
        load_luma(&self.path).unwrap_or_else(|e| panic!("{}: {e}", self.name()))
    }
}

/// Images that hold a second symbol the expected file does not name (a QR inside a QR).
const SECOND_SYMBOL: &[(&str, &str)] = &[(
    "qrcode-2/16.png",
    "[内側QRコード]\r\n\r\n*ダブルQR*\r\nhttp://d-qr.net/ex/",
)];

/// For `NN-MM.png`, the expected whole `NN.bin` or `NN.txt` of its structured-append set.
fn structured_append_whole(path: &Path) -> Option<Vec<u8>> {
    let stem = path.file_stem()?.to_str()?;
    let (set, part) = stem.split_once('-')?;
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let dir = path.parent()?;
    ["bin", "txt"]
        .iter()
        .find_map(|ext| std::fs::read(dir.join(format!("{set}.{ext}"))).ok())
}

/// The corpus root.
pub struct Corpus {
    root: PathBuf,
}

impl Corpus {
    /// `$LGT_BARCODE_CORPUS`, else `../shared/corpus/barcode` from the repository root.
    /// `None` when it is missing, after one loud line saying so (a fresh clone has no corpus
    /// beside it); with `LGT_REQUIRE_CORPUS=1` (CI) a missing corpus panics instead, so the
    /// tests cannot pass there by skipping.
    pub fn locate() -> Option<Self> {
        let root = std::env::var_os(CORPUS_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/barcode")
            });
        if root.join("qrcode-1").is_dir() {
            return Some(Self { root });
        }
        assert!(
            std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
            "barcode corpus not found at {}: set {CORPUS_ENV} to the folder holding qrcode-1 .. falsepositives-1 ({REQUIRE_ENV}=1 is set)",
            root.display()
        );
        skip_loudly(&format!(
            "SKIPPED: barcode corpus not found at {} (set {CORPUS_ENV}=/path/to/shared/corpus/barcode, or {REQUIRE_ENV}=1 to fail instead)",
            root.display()
        ));
        None
    }

    /// Every folder of the corpus, sorted.
    pub fn folders(&self) -> Vec<String> {
        let mut folders: Vec<String> = std::fs::read_dir(&self.root)
            .expect("corpus readable")
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        folders.sort();
        folders
    }

    /// The folder's images with their expectations, sorted by name.
    pub fn cases(&self, folder: &str) -> Vec<Case> {
        let dir = self.root.join(folder);
        let mut cases: Vec<Case> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus folder {}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                matches!(
                    p.extension()
                        .and_then(|e| e.to_str())
                        .map(str::to_ascii_lowercase)
                        .as_deref(),
                    Some("png" | "jpg" | "jpeg" | "webp")
                )
            })
            .map(|path| {
                let text = path.with_extension("txt");
                let bytes = path.with_extension("bin");
                let expected = if let Ok(text) = std::fs::read(&text) {
                    let text = String::from_utf8_lossy(&text).into_owned();
                    match SECOND_SYMBOL.iter().find(|(name, _)| path.ends_with(name)) {
                        Some((_, other)) => Expected::Either(text, (*other).to_owned()),
                        None => Expected::Text(text),
                    }
                } else if let Ok(bytes) = std::fs::read(&bytes) {
                    Expected::Bytes(bytes)
                } else if let Some(whole) = structured_append_whole(&path) {
                    Expected::Segment(whole)
                } else {
                    Expected::Nothing
                };
                Case { path, expected }
            })
            .collect();
        cases.sort_by(|a, b| a.path.cmp(&b.path));
        cases
    }
}
