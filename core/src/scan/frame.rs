//! Frame decoding: a camera's luma plane (or a decoded photo) to at most one symbol.
//!
//! rxing is called only from here, always restricted to the four production formats, always
//! inside `catch_unwind`, and in a ladder of attempts that stops when the time budget is spent.
//! The ladder is the performance engineering: a cheap attempt on a downscaled copy first (codes
//! in a viewfinder are large), then full resolution, then the expensive try-harder and inverted
//! passes only for still photos.

use std::borrow::Cow;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rxing::common::{
    BitArray, BitMatrix, GlobalHistogramBinarizer, HybridBinarizer, LineOrientation,
};
use rxing::{Binarizer, BinaryBitmap, DecodeHints, Luma8Source};
use rxing::{MultiFormatReader, RXingResult, Reader};

use super::presence::{candidates, may_hold_code, Candidate};
use super::{Format, Mode, Point, Region, ScanError, Symbol};

/// The largest frame side accepted, in pixels (a 64 MP photo is 9248 px wide).
pub const MAX_SIDE: u32 = 16_384;
/// The largest frame accepted, in pixels.
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;
/// The still ladder's cheap rungs (half and full size, plain readers). Every photo pays the
/// first; the ones after it run only when the photo may hold a code.
const CHEAP_RUNGS: usize = 2;
/// The still ladder's "no code here" test runs after this many rungs: after the half-size rung
/// (codes of large modules, which the test does not see), before the full-size one.
const PRESENCE_AT: usize = 1;
/// The most symbols [`Scanner::decode_all`] returns from one image.
pub const MAX_SYMBOLS: usize = 8;
/// The most code-like patches the still ladder's last rung crops and turns upright.
const MAX_PATCHES: usize = 6;
/// A patch turned by less than this (radians, 3 degrees) is cropped but not turned.
const MIN_TURN: f32 = 0.052;

/// One camera frame: the luma (Y) plane as the camera hands it over, rows `row_stride` bytes
/// apart (CameraX `ImageProxy.planes[0]`, AVFoundation's `CVPixelBuffer` plane 0).
#[derive(Debug, Clone, Copy)]
pub struct LumaFrame<'a> {
    /// The plane; at least `(height - 1) * row_stride + width` bytes.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Distance between the starts of two rows, in bytes (at least `width`).
    pub row_stride: u32,
}

impl LumaFrame<'_> {
    fn check(&self) -> Result<(), ScanError> {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 {
            return Err(ScanError::EmptyFrame);
        }
        if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
            return Err(ScanError::TooLarge {
                width: w,
                height: h,
            });
        }
        if self.row_stride < w {
            return Err(ScanError::BadStride {
                row_stride: self.row_stride,
                width: w,
            });
        }
        let needed = (h as usize - 1) * self.row_stride as usize + w as usize;
        if self.data.len() < needed {
            return Err(ScanError::ShortBuffer {
                needed,
                got: self.data.len(),
            });
        }
        Ok(())
    }
}

/// What to decode and how hard to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    /// Live camera frame or still photo.
    pub mode: Mode,
    /// The viewfinder box; `None` decodes the whole frame.
    pub region: Option<Region>,
    /// Time after which no further attempt is started. One rxing call cannot be interrupted,
    /// so a single attempt may overrun it; the budget stops the ladder, not the call.
    pub budget: Duration,
}

impl ScanOptions {
    /// Defaults for a mode: 25 ms for a live frame, 2 s for a still photo.
    pub fn new(mode: Mode) -> Self {
        let budget = match mode {
            Mode::Live => Duration::from_millis(25),
            Mode::Still => Duration::from_secs(2),
        };
        Self {
            mode,
            region: None,
            budget,
        }
    }

    /// The same options with a region of interest.
    pub fn with_region(self, region: Region) -> Self {
        Self {
            region: Some(region),
            ..self
        }
    }
}

/// A decoder that keeps its readers between frames (rxing's readers set up once per hints is
/// what its authors recommend for camera loops) and alternates binarizers across live frames:
/// the hybrid binarizer reads most codes, the global-histogram one rescues low-contrast and
/// blurred frames, and the next frame comes 33 ms later anyway.
pub struct Scanner {
    plain: Vec<MultiFormatReader>,
    camera: Vec<MultiFormatReader>,
    harder: Vec<MultiFormatReader>,
    frames: u64,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("frames", &self.frames)
            .finish()
    }
}

/// One rung of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Attempt {
    /// Downscale factor (1 = full resolution).
    scale: u32,
    binarizer: BinarizerKind,
    /// Which readers: see [`Effort`].
    effort: Effort,
    /// Light code on a dark ground: the pixels are inverted before binarizing.
    invert: bool,
    /// Local contrast raised before binarizing (faint print, glare), around the mean of a box
    /// this many pixels of the rung's image either side: see [`enhance`]. 0: not raised.
    enhance: usize,
}

/// How hard the readers try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effort {
    /// rxing's plain readers: QR finder patterns on every third row or so, bar codes on a
    /// few rows, Data Matrix traced along the centre lines only.
    Plain,
    /// The plain readers, but Data Matrix traced along lines across the whole frame: its plain
    /// detector misses a code away from the frame's centre lines, which is where a code is in
    /// most camera frames that are not yet aimed. It costs a few ms per frame, within the live
    /// budget.
    Camera,
    /// rxing's try-harder readers: every row for QR finder patterns and bar codes, bar codes
    /// turned a quarter, Data Matrix traced across the whole image and by its second
    /// detector.
    Harder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinarizerKind {
    Hybrid,
    Histogram,
}

/// One reader per format, in the fixed order of [`Format::ALL`]. rxing's multi-format reader
/// walks its formats in `HashSet` order, which differs from one reader to the next: the same
/// image could read as a different symbol from run to run. One reader per format over the same
/// bitmap (whose binarization is computed once) makes every decode deterministic.
///
/// Inversion is a rung of its own (`Attempt::invert`), not rxing's `AlsoInverted`, which
/// doubled every try-harder pass, found or not.
fn readers(effort: Effort) -> Vec<MultiFormatReader> {
    Format::ALL
        .iter()
        .map(|format| {
            let try_harder = match effort {
                Effort::Plain => false,
                Effort::Camera => *format == Format::DataMatrix,
                Effort::Harder => true,
            };
            let hints = DecodeHints {
                PossibleFormats: Some(HashSet::from([format.rxing()])),
                // rxing's helpers turn try-harder on unless told otherwise: always say which.
                TryHarder: Some(try_harder),
                AlsoInverted: Some(false),
                ..DecodeHints::default()
            };
            let mut reader = MultiFormatReader::default();
            reader.set_hints(&hints);
            reader
        })
        .collect()
}

impl Scanner {
    /// A scanner restricted to QR, PDF417, DataMatrix and Code128.
    pub fn new() -> Self {
        Self {
            plain: readers(Effort::Plain),
            camera: readers(Effort::Camera),
            harder: readers(Effort::Harder),
            frames: 0,
        }
    }

    /// Decodes one frame. `Ok(None)` means no symbol was found within the budget.
    pub fn decode(
        &mut self,
        frame: &LumaFrame<'_>,
        options: &ScanOptions,
    ) -> Result<Option<Symbol>, ScanError> {
        Ok(self.run_ladder(frame, options, false)?.into_iter().next())
    }

    /// Decodes every symbol in one frame or photo (an identity document with a QR code and a
    /// PDF417 side by side), in the order found, at most [`MAX_SYMBOLS`]. The ladder is the
    /// one of [`decode`](Self::decode), but every rung searches every format, each symbol read
    /// is masked out and its format searched again (two codes of one format), and in still
    /// mode the ladder goes on after a read through the cheap rungs and, for Data Matrix and
    /// Code128 not read yet, the try-harder rung, while something code-like is left once the
    /// symbols read are painted over. It costs more than `decode` even on a photo of one
    /// code (every format searched, the masked image tested): the camera loop and the
    /// one-symbol scans call `decode`.
    pub fn decode_all(
        &mut self,
        frame: &LumaFrame<'_>,
        options: &ScanOptions,
    ) -> Result<Vec<Symbol>, ScanError> {
        self.run_ladder(frame, options, true)
    }

    fn run_ladder(
        &mut self,
        frame: &LumaFrame<'_>,
        options: &ScanOptions,
        all: bool,
    ) -> Result<Vec<Symbol>, ScanError> {
        let started = Instant::now();
        frame.check()?;
        let region = match options.region {
            Some(region) => region.clip(frame.width, frame.height)?,
            None => Region::whole(frame.width, frame.height),
        };
        let pixels = copy_region(frame, region);
        let ladder = self.ladder(options.mode, region);
        self.frames = self.frames.wrapping_add(1);
        let mut found: Vec<Symbol> = Vec::new();
        // The rungs to run: all of them unless the "no code here" test cuts the ladder short.
        let mut rungs = ladder.len();
        // Whether something code-like may be left besides the symbols read.
        let mut rest_left = true;
        // The region at a rung's scale other than 1, kept for the next rung at that scale.
        let mut scaled: Option<(u32, Vec<u8>)> = None;
        for (i, attempt) in ladder.iter().enumerate() {
            if i > 0 && started.elapsed() >= options.budget {
                break;
            }
            // Once something is read, the ladder stops, except that a still photo searched
            // for every symbol goes on through the cheap rungs (another code of the photo may
            // need the other size) and the try-harder rung for Data Matrix and Code128 not yet
            // read: their plain readers look only near the centre lines or on a few rows, so
            // a second code off the centre needs it.
            let mut wanted = [true; 4];
            if !found.is_empty() {
                let still_all = all && options.mode == Mode::Still;
                if !still_all || i > CHEAP_RUNGS {
                    break;
                }
                if i == CHEAP_RUNGS {
                    for (k, format) in Format::ALL.iter().enumerate() {
                        wanted[k] = matches!(format, Format::DataMatrix | Format::Code128)
                            && !found.iter().any(|s| s.format == *format);
                    }
                    // Only where something code-like is left once the symbols read are
                    // painted over: a photo of one code (most photos) stops here.
                    if !wanted.contains(&true) || !rest_may_hold_code(&pixels, region, &found) {
                        break;
                    }
                }
            }
            // After the half-size rung of a still photo, the cheap test: a photo without a
            // patch of dense edges in one or two right-angled directions is not searched
            // further. The test counts edge pixels, and a sharp code of large modules (a
            // screenshot, a print scanned flat) has too few of them at full size, enough at half
            // size: a photo that passes only at half size gets the full-size rung and no more.
            if i == PRESENCE_AT
                && options.mode == Mode::Still
                && found.is_empty()
                && !may_hold_code(&pixels, region.width, region.height)
            {
                let (width, height) = (region.width / 2, region.height / 2);
                let half = at_scale(&mut scaled, &pixels, region, 2);
                // Nothing code-like: no further rung, nor the patches after the ladder.
                rungs = if may_hold_code(half, width, height) {
                    CHEAP_RUNGS
                } else {
                    i
                };
            }
            if i >= rungs {
                break;
            }
            let source = at_scale(&mut scaled, &pixels, region, attempt.scale);
            let (symbols, rest) = self.attempt(source, region, *attempt, all, wanted)?;
            for symbol in symbols {
                if found.len() < MAX_SYMBOLS && !found.iter().any(|s| same(s, &symbol)) {
                    found.push(symbol);
                }
            }
            // A full-size rung that read and, with what it read painted over, left nothing
            // code-like: the photo holds no further symbol, the other rungs are not needed.
            if !rest && !found.is_empty() && attempt.scale == 1 && attempt.enhance == 0 {
                rest_left = false;
                break;
            }
        }
        // Last, in a still photo the whole ladder searched: each patch that looks like code
        // and holds no symbol read, on its own and turned upright.
        if options.mode == Mode::Still
            && rungs == ladder.len()
            && rest_left
            && (all || found.is_empty())
            && started.elapsed() < options.budget
        {
            for symbol in self.patches(&pixels, region, &found, all)? {
                if found.len() < MAX_SYMBOLS && !found.iter().any(|s| same(s, &symbol)) {
                    found.push(symbol);
                }
            }
        }
        Ok(found)
    }

    /// The still ladder's last rung: each patch of code-like cells ([`candidates`]) that no
    /// symbol read covers, cropped with a margin and turned upright by the direction its
    /// edges pile up in, searched with the plain readers over both binarizers and then the
    /// try-harder ones. The bar code readers scan rows (and, trying harder, columns): a bar
    /// code turned 20 degrees or more crosses no row from end to end, and upright it does.
    /// A crop also spares the readers what surrounds the code: a global threshold fitted to
    /// the patch alone, no false start in the noise beside a bar code, no other code's
    /// finder patterns. Patches of more than half the photo (a texture, a close-up) are the
    /// whole-photo rungs' ground and are not cropped; the crops add up to at most the
    /// photo's size.
    fn patches(
        &mut self,
        pixels: &[u8],
        region: Region,
        found: &[Symbol],
        all: bool,
    ) -> Result<Vec<Symbol>, ScanError> {
        let (width, height) = (region.width, region.height);
        let area = u64::from(width) * u64::from(height);
        let mut left = area;
        let mut out: Vec<Symbol> = Vec::new();
        for candidate in candidates(pixels, width, height)
            .into_iter()
            .take(MAX_PATCHES)
        {
            let bounds = patch_box(&candidate, width, height);
            let size = u64::from(bounds.width) * u64::from(bounds.height);
            let turn = if candidate.angle.abs() >= MIN_TURN {
                candidate.angle
            } else {
                0.0
            };
            // A patch of more than half the photo, not turned: what the whole-photo rungs
            // searched already (a texture, a close-up).
            let large = size * 2 > area;
            if (large && turn == 0.0) || size > left {
                continue;
            }
            let covered = found.iter().chain(out.iter()).any(|symbol| {
                symbol.position.iter().any(|p| {
                    let (px, py) = (p.x - region.x as f32, p.y - region.y as f32);
                    px >= bounds.x as f32
                        && py >= bounds.y as f32
                        && px < (bounds.x + bounds.width) as f32
                        && py < (bounds.y + bounds.height) as f32
                })
            });
            if covered {
                continue;
            }
            left -= size;
            let whole = LumaFrame {
                data: pixels,
                width,
                height,
                row_stride: width,
            };
            let crop = copy_region(&whole, bounds);
            let (w, h) = (bounds.width, bounds.height);
            let (upright, patch) = if turn == 0.0 {
                (crop, Region::whole(w, h))
            } else {
                turn_upright(&crop, w, h, turn)
            };
            let plain = |binarizer| Attempt {
                scale: 1,
                binarizer,
                effort: Effort::Plain,
                invert: false,
                enhance: 0,
            };
            let harder = Attempt {
                effort: Effort::Harder,
                ..plain(BinarizerKind::Hybrid)
            };
            // A large patch turned upright gets one plain pass: it costs as much as a
            // whole-photo rung.
            let attempts = if large {
                &[plain(BinarizerKind::Hybrid)][..]
            } else {
                &[
                    plain(BinarizerKind::Hybrid),
                    plain(BinarizerKind::Histogram),
                    harder,
                ][..]
            };
            for &attempt in attempts {
                let (symbols, _) = self.attempt(&upright, patch, attempt, all, [true; 4])?;
                if symbols.is_empty() {
                    continue;
                }
                // Back from the upright patch to the photo.
                let (sin, cos) = turn.sin_cos();
                let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
                let (ux, uy) = (patch.width as f32 / 2.0, patch.height as f32 / 2.0);
                let (ox, oy) = ((region.x + bounds.x) as f32, (region.y + bounds.y) as f32);
                for mut symbol in symbols {
                    for p in symbol.position.iter_mut() {
                        let (dx, dy) = (p.x - ux, p.y - uy);
                        *p = Point {
                            x: ox + cx + cos * dx - sin * dy,
                            y: oy + cy + sin * dx + cos * dy,
                        };
                    }
                    out.push(symbol);
                }
                break;
            }
            if !all && !out.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    fn ladder(&self, mode: Mode, region: Region) -> Vec<Attempt> {
        use BinarizerKind::{Histogram, Hybrid};
        let at = |scale, binarizer, harder, invert| Attempt {
            scale,
            binarizer,
            effort: if harder {
                Effort::Harder
            } else {
                Effort::Plain
            },
            invert,
            enhance: 0,
        };
        let camera = |scale, binarizer| Attempt {
            effort: Effort::Camera,
            ..at(scale, binarizer, false, false)
        };
        // Codes in a camera frame are large; at half size rxing does a quarter of the work.
        let large = region.width.max(region.height) >= 1200;
        match mode {
            // One attempt per frame, cycling through the rungs: the next frame, 33 ms later,
            // tries the next one, so a frame costs one cheap pass and a small, low-contrast or
            // off-centre code is still found within three frames. One frame in three traces
            // Data Matrix across the whole frame (`Effort::Camera`, about twice a plain
            // pass on a frame without a code); the others only along its centre lines.
            Mode::Live => {
                let cycle: &[Attempt] = if large {
                    &[
                        camera(2, Hybrid),
                        at(2, Histogram, false, false),
                        at(1, Hybrid, false, false),
                    ]
                } else {
                    &[
                        camera(1, Hybrid),
                        at(1, Histogram, false, false),
                        at(1, Hybrid, false, false),
                    ]
                };
                vec![cycle[(self.frames % cycle.len() as u64) as usize]]
            }
            Mode::Still => {
                // Raised contrast around a 33x33 box of the rung's pixels; `fine` is the same
                // box in the photo's pixels (17x17 at half size), with try-harder: print of
                // 2-3 px modules only a few grey levels from its paper (faint Data Matrix and
                // QR codes, a QR code seen at a slant) that the coarse box and the plain readers
                // miss. On the generated hard set it adds, of the photos no other rung reads,
                // 9 (low contrast 5, grain 2, curved 1, glare 1, perspective 1); no-code
                // photos pay it (about 15 ms for a 1 MP photo on the VM).
                let enhanced = |scale| Attempt {
                    enhance: 16,
                    ..at(scale, Hybrid, false, false)
                };
                let fine = Attempt {
                    enhance: 8,
                    ..at(2, Hybrid, true, false)
                };
                let mut ladder = vec![
                    // The cheap rungs (CHEAP_RUNGS), the "no code here" test between them.
                    at(2, Hybrid, false, false),
                    at(1, Hybrid, false, false),
                    at(1, Hybrid, true, false),
                    at(1, Hybrid, true, true),
                    enhanced(2),
                    at(1, Histogram, false, false),
                    fine,
                    enhanced(1),
                ];
                if region.width.max(region.height) >= 2000 {
                    ladder.push(at(2, Hybrid, true, false));
                }
                ladder
            }
        }
    }

    /// One rung: the readers over one binarization of the (perhaps inverted) pixels, which are
    /// the region's at the rung's scale.
    /// With `all`, every format is searched and each format that read is searched again with
    /// its symbol masked out; without, the first read ends the rung. Also returns whether
    /// something code-like may be left (false only when, with `all`, the symbols read were
    /// painted over and the "no code here" test found nothing else).
    fn attempt(
        &mut self,
        pixels: &[u8],
        region: Region,
        attempt: Attempt,
        all: bool,
        wanted: [bool; 4],
    ) -> Result<(Vec<Symbol>, bool), ScanError> {
        let (width, height) = (region.width / attempt.scale, region.height / attempt.scale);
        if width == 0 || height == 0 {
            return Ok((Vec::new(), true));
        }
        // The pixels are copied only when this rung changes them (or masks symbols read).
        let mut work = Cow::Borrowed(&pixels[..(width * height) as usize]);
        if attempt.invert {
            work.to_mut().iter_mut().for_each(|p| *p = 255 - *p);
        }
        if attempt.enhance > 0 {
            work = Cow::Owned(enhance(
                &work,
                width as usize,
                height as usize,
                attempt.enhance,
            ));
        }
        let readers = match attempt.effort {
            Effort::Plain => &mut self.plain,
            Effort::Camera => &mut self.camera,
            Effort::Harder => &mut self.harder,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let first = decode_each(
                readers,
                &work,
                width,
                height,
                attempt.binarizer,
                wanted,
                all,
            );
            if !all || first.is_empty() {
                return (first.into_iter().map(|(_, r)| r).collect(), true);
            }
            // Every symbol: paint over what was read and search the wanted formats again,
            // until a round reads nothing or nothing code-like is left. A reader that stopped
            // at a false start (rxing's PDF417 detector gives up after its first candidate)
            // gets a second look without the symbol that misled it.
            let mut results: Vec<RXingResult> = Vec::new();
            let mut round = first;
            let mut rest = true;
            loop {
                for (_, result) in round {
                    mask(work.to_mut(), width, height, &result);
                    results.push(result);
                }
                if results.len() >= MAX_SYMBOLS {
                    break;
                }
                if !may_hold_code(&work, width, height) {
                    rest = false;
                    break;
                }
                round = decode_each(
                    readers,
                    &work,
                    width,
                    height,
                    attempt.binarizer,
                    wanted,
                    true,
                );
                if round.is_empty() {
                    break;
                }
            }
            (results, rest)
        }));
        match outcome {
            Ok((results, rest)) => Ok((
                results
                    .iter()
                    .filter_map(|result| symbol(result, region, attempt.scale))
                    .collect(),
                rest,
            )),
            Err(_) => {
                // The readers' state after a panic is unknown: start afresh.
                *readers = self::readers(attempt.effort);
                Err(ScanError::DecoderPanicked)
            }
        }
    }
}

/// The same symbol read twice (by two rungs, or again after masking missed part of it).
fn same(a: &Symbol, b: &Symbol) -> bool {
    a.format == b.format && a.text == b.text
}

/// The readers' results over one binarization of `pixels`, with the index of the reader
/// (format) that read each, for the `wanted` readers; without `all` it stops at the
/// first read.
fn decode_each(
    readers: &mut [MultiFormatReader],
    pixels: &[u8],
    width: u32,
    height: u32,
    binarizer: BinarizerKind,
    wanted: [bool; 4],
    all: bool,
) -> Vec<(usize, RXingResult)> {
    let Ok(source) = Luma8Source::new_with_slice(pixels, width, height) else {
        return Vec::new();
    };
    match binarizer {
        BinarizerKind::Hybrid => run_each(
            readers,
            LocalRows(HybridBinarizer::new(source)),
            wanted,
            all,
        ),
        BinarizerKind::Histogram => {
            run_each(readers, GlobalHistogramBinarizer::new(source), wanted, all)
        }
    }
}

/// rxing's hybrid binarizer (a threshold per 8x8 block from the blocks around it) for the
/// row-scanning Code128 reader too. rxing's own hands it rows thresholded by each row's
/// histogram, the same rows as the global histogram binarizer's: the hybrid and histogram
/// rungs gave Code128 the same pixels twice. Rows of the local threshold keep thin bars apart
/// under uneven light, blur and grain, and along a row that runs from dark ground onto a white
/// label (a Code128 between a Data Matrix and a QR code that only the local rows read); the
/// histogram rungs keep the other kind of row, which fares better on borderline
/// low-resolution bars.
struct LocalRows<'a>(HybridBinarizer<Luma8Source<'a>>);

impl<'a> Binarizer for LocalRows<'a> {
    type Source = Luma8Source<'a>;

    fn get_luminance_source(&self) -> &Luma8Source<'a> {
        self.0.get_luminance_source()
    }

    fn get_black_row(&self, y: usize) -> rxing::common::Result<Cow<'_, BitArray>> {
        self.get_black_line(y, LineOrientation::Row)
    }

    fn get_black_row_from_matrix(&self, y: usize) -> rxing::common::Result<Cow<'_, BitArray>> {
        self.get_black_line(y, LineOrientation::Row)
    }

    fn get_black_matrix(&self) -> rxing::common::Result<&BitMatrix> {
        self.0.get_black_matrix()
    }

    fn get_black_line(
        &self,
        l: usize,
        lt: LineOrientation,
    ) -> rxing::common::Result<Cow<'_, BitArray>> {
        let matrix = self.0.get_black_matrix()?;
        let (lines, line) = match lt {
            LineOrientation::Row => (
                matrix.height(),
                BitMatrix::getRow as fn(&BitMatrix, u32) -> BitArray,
            ),
            LineOrientation::Column => (
                matrix.width(),
                BitMatrix::getCol as fn(&BitMatrix, u32) -> BitArray,
            ),
        };
        if l >= lines as usize {
            return Err(rxing::Exceptions::INDEX_OUT_OF_BOUNDS);
        }
        Ok(Cow::Owned(line(matrix, l as u32)))
    }

    fn create_binarizer(&self, source: Luma8Source<'a>) -> Self {
        Self(HybridBinarizer::new(source))
    }

    fn get_width(&self) -> usize {
        self.0.get_width()
    }

    fn get_height(&self) -> usize {
        self.0.get_height()
    }
}

fn run_each<B: Binarizer>(
    readers: &mut [MultiFormatReader],
    binarizer: B,
    wanted: [bool; 4],
    all: bool,
) -> Vec<(usize, RXingResult)> {
    let mut bitmap = BinaryBitmap::new(binarizer);
    let mut out = Vec::new();
    for (index, reader) in readers.iter_mut().enumerate() {
        if !wanted.get(index).copied().unwrap_or(false) {
            continue;
        }
        let result = reader.decode_with_state(&mut bitmap);
        reader.reset();
        if let Ok(result) = result {
            out.push((index, result));
            if !all {
                break;
            }
        }
    }
    out
}

/// Whether the photo may still hold a code once the symbols read are painted over.
fn rest_may_hold_code(pixels: &[u8], region: Region, found: &[Symbol]) -> bool {
    let mut rest = pixels.to_vec();
    for symbol in found {
        let points: Vec<(f32, f32)> = symbol
            .position
            .iter()
            .map(|p| (p.x - region.x as f32, p.y - region.y as f32))
            .collect();
        paint_over(
            &mut rest,
            region.width,
            region.height,
            &points,
            symbol.format == Format::Code128,
        );
    }
    may_hold_code(&rest, region.width, region.height)
}

/// Paints a read symbol's area flat, so a second search of the same format finds the next
/// symbol rather than this one again.
fn mask(pixels: &mut [u8], width: u32, height: u32, result: &RXingResult) {
    let points: Vec<(f32, f32)> = result.getPoints().iter().map(|p| (p.x, p.y)).collect();
    let bar = *result.getBarcodeFormat() == rxing::BarcodeFormat::CODE_128;
    paint_over(pixels, width, height, &points, bar);
}

/// Paints the box round a symbol's points flat (the mean of the box). The points are finder
/// centres or corners (2D) or the ends of one scan line (a bar code), so the box is widened: by
/// a quarter of its size for the finder patterns' outer modules, and for a bar code to a third
/// of its length above and below the line.
fn paint_over(pixels: &mut [u8], width: u32, height: u32, points: &[(f32, f32)], bar: bool) {
    if points.is_empty() {
        return;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let size = (x1 - x0).max(y1 - y0);
    let margin = size * 0.25 + 2.0;
    let (mut mx, mut my) = (margin, margin);
    if bar {
        mx = size * 0.1 + 4.0;
        my = my.max(size * 0.35);
    }
    let clamp = |v: f32, max: u32| v.max(0.0).min(max as f32) as usize;
    let (bx0, bx1) = (clamp(x0 - mx, width), clamp(x1 + mx + 1.0, width));
    let (by0, by1) = (clamp(y0 - my, height), clamp(y1 + my + 1.0, height));
    if bx1 <= bx0 || by1 <= by0 || pixels.len() < width as usize * height as usize {
        return;
    }
    let w = width as usize;
    let mut sum = 0u64;
    for y in by0..by1 {
        sum += pixels[y * w + bx0..y * w + bx1]
            .iter()
            .map(|&p| u64::from(p))
            .sum::<u64>();
    }
    let mean = (sum / ((by1 - by0) * (bx1 - bx0)) as u64) as u8;
    for y in by0..by1 {
        pixels[y * w + bx0..y * w + bx1].fill(mean);
    }
}

fn symbol(result: &RXingResult, region: Region, scale: u32) -> Option<Symbol> {
    let format = Format::from_rxing(*result.getBarcodeFormat())?;
    let text = result.getText();
    if text.is_empty() {
        return None;
    }
    let position = result
        .getPoints()
        .iter()
        .map(|p| Point {
            x: region.x as f32 + p.x * scale as f32,
            y: region.y as f32 + p.y * scale as f32,
        })
        .collect();
    Some(Symbol {
        format,
        text: text.to_owned(),
        position,
    })
}

/// A patch's box widened by a margin (a quarter of its size, at least a cell: the quiet zone
/// and the parts of the code whose cells fell short of code-like), within the image.
fn patch_box(candidate: &Candidate, width: u32, height: u32) -> Region {
    let b = candidate.bounds;
    let margin = (b.width.max(b.height) / 4).max(24);
    let (x0, y0) = (b.x.saturating_sub(margin), b.y.saturating_sub(margin));
    let x1 = (b.x + b.width + margin).min(width);
    let y1 = (b.y + b.height + margin).min(height);
    Region {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    }
}

/// The image turned by `-angle` about its centre (bilinear), on a canvas large enough to
/// hold all of it; the corners outside the image take its mean grey. Returns the pixels and
/// the canvas (at the origin). A point `p` of the canvas comes from `centre + R(angle) (p -
/// canvas centre)` of the image.
fn turn_upright(pixels: &[u8], width: u32, height: u32, angle: f32) -> (Vec<u8>, Region) {
    let (sin, cos) = angle.sin_cos();
    let (w, h) = (width as f32, height as f32);
    let out_w = (w * cos.abs() + h * sin.abs()).ceil() as u32;
    let out_h = (w * sin.abs() + h * cos.abs()).ceil() as u32;
    let mean =
        (pixels.iter().map(|&p| u64::from(p)).sum::<u64>() / pixels.len().max(1) as u64) as u8;
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (ox, oy) = (out_w as f32 / 2.0, out_h as f32 / 2.0);
    let stride = width as usize;
    let mut out = Vec::with_capacity(out_w as usize * out_h as usize);
    for py in 0..out_h {
        let dy = py as f32 + 0.5 - oy;
        for px in 0..out_w {
            let dx = px as f32 + 0.5 - ox;
            let sx = cx + cos * dx - sin * dy - 0.5;
            let sy = cy + sin * dx + cos * dy - 0.5;
            if sx < 0.0 || sy < 0.0 || sx >= w - 1.0 || sy >= h - 1.0 {
                out.push(mean);
                continue;
            }
            let (x0, y0) = (sx as usize, sy as usize);
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let at = |x: usize, y: usize| f32::from(pixels[y * stride + x]);
            let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
            let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
            out.push((top * (1.0 - fy) + bottom * fy).round() as u8);
        }
    }
    (out, Region::whole(out_w, out_h))
}

/// The region's pixels, row-contiguous.
fn copy_region(frame: &LumaFrame<'_>, region: Region) -> Vec<u8> {
    let stride = frame.row_stride as usize;
    let (x, w) = (region.x as usize, region.width as usize);
    let mut out = Vec::with_capacity(w * region.height as usize);
    for row in region.y as usize..(region.y + region.height) as usize {
        let start = row * stride + x;
        out.extend_from_slice(&frame.data[start..start + w]);
    }
    out
}

/// Local contrast times four around the mean of a box `radius` pixels either side (from an
/// integral image): print that differs from its paper by 8-20 grey levels (faint, washed out by
/// glare or a bright room) falls below rxing's hybrid binarizer's minimum block range of 24 and
/// reads as paper; raised, it reads as print. Flat areas stay flat (their deviation is near
/// zero).
fn enhance(pixels: &[u8], width: usize, height: usize, radius: usize) -> Vec<u8> {
    const GAIN: i64 = 4;
    let stride = width + 1;
    let mut integral = vec![0u64; stride * (height + 1)];
    for y in 0..height {
        let mut row = 0u64;
        for x in 0..width {
            row += u64::from(pixels[y * width + x]);
            integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1] + row;
        }
    }
    let mut out = Vec::with_capacity(pixels.len());
    for y in 0..height {
        let (y0, y1) = (y.saturating_sub(radius), (y + radius + 1).min(height));
        for x in 0..width {
            let (x0, x1) = (x.saturating_sub(radius), (x + radius + 1).min(width));
            let sum = integral[y1 * stride + x1] + integral[y0 * stride + x0]
                - integral[y0 * stride + x1]
                - integral[y1 * stride + x0];
            let mean = (sum / ((y1 - y0) * (x1 - x0)) as u64) as i64;
            let value = 128 + GAIN * (i64::from(pixels[y * width + x]) - mean);
            out.push(value.clamp(0, 255) as u8);
        }
    }
    out
}

/// The region's `pixels` at `scale`: themselves at 1, else downscaled once and kept in
/// `cache` for the next call at the same scale.
fn at_scale<'a>(
    cache: &'a mut Option<(u32, Vec<u8>)>,
    pixels: &'a [u8],
    region: Region,
    scale: u32,
) -> &'a [u8] {
    if scale == 1 {
        return pixels;
    }
    if cache.as_ref().is_none_or(|(kept, _)| *kept != scale) {
        let (width, height) = (region.width / scale, region.height / scale);
        *cache = Some((scale, downscale(pixels, region.width, scale, width, height)));
    }
    cache.as_ref().map_or(pixels, |(_, scaled)| scaled)
}

/// Box-filter downscale by an integer factor: averaging keeps thin bars that point sampling
/// would drop.
fn downscale(pixels: &[u8], src_width: u32, factor: u32, width: u32, height: u32) -> Vec<u8> {
    let (f, sw, w) = (factor as usize, src_width as usize, width as usize);
    let area = (f * f) as u32;
    let mut out = Vec::with_capacity(w * height as usize);
    // Column sums of the `factor` source rows of one output row, then summed `factor` at a
    // time: whole rows at once, which the compiler turns into vector code.
    let mut sums = vec![0u32; w * f];
    for y in 0..height as usize {
        sums.fill(0);
        for dy in 0..f {
            let row = &pixels[(y * f + dy) * sw..][..w * f];
            for (sum, &p) in sums.iter_mut().zip(row) {
                *sum += u32::from(p);
            }
        }
        out.extend(
            sums.chunks_exact(f)
                .map(|block| (block.iter().sum::<u32>() / area) as u8),
        );
    }
    out
}
