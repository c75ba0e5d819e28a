//! Frame decoding: a camera's luma plane (or a decoded photo) to at most one symbol.
//!
//! rxing is called only from here, always restricted to the four production formats, always
//! inside `catch_unwind`, and in a ladder of attempts that stops when the time budget is spent.
//! The ladder is the performance engineering: a cheap attempt on a downscaled copy first (codes
//! in a viewfinder are large), then full resolution, then the expensive try-harder and inverted
//! passes only for still photos.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::{Binarizer, BinaryBitmap, DecodeHints, Luma8Source};
use rxing::{MultiFormatReader, RXingResult, Reader};

use super::{Format, Mode, Point, Region, ScanError, Symbol};

/// The largest frame side accepted, in pixels (a 64 MP photo is 9248 px wide).
pub const MAX_SIDE: u32 = 16_384;
/// The largest frame accepted, in pixels.
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;
/// The most symbols [`Scanner::decode_all`] returns from one image.
pub const MAX_SYMBOLS: usize = 8;

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

/// A decoder that keeps its reader between frames (rxing's reader set up once per hints is
/// what its authors recommend for camera loops) and alternates binarizers across live frames:
/// the hybrid binarizer reads most codes, the global-histogram one rescues low-contrast and
/// blurred frames, and the next frame comes 33 ms later anyway.
pub struct Scanner {
    live: Vec<MultiFormatReader>,
    still: Vec<MultiFormatReader>,
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
    harder: bool,
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
fn readers(try_harder: bool) -> Vec<MultiFormatReader> {
    Format::ALL
        .iter()
        .map(|format| {
            let hints = DecodeHints {
                PossibleFormats: Some(HashSet::from([format.rxing()])),
                // rxing's helpers turn try-harder on unless told otherwise: always say which.
                TryHarder: Some(try_harder),
                AlsoInverted: Some(try_harder),
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
            live: readers(false),
            still: readers(true),
            frames: 0,
        }
    }

    /// Decodes one frame. `Ok(None)` means no symbol was found within the budget.
    pub fn decode(
        &mut self,
        frame: &LumaFrame<'_>,
        options: &ScanOptions,
    ) -> Result<Option<Symbol>, ScanError> {
        let started = Instant::now();
        frame.check()?;
        let region = match options.region {
            Some(region) => region.clip(frame.width, frame.height)?,
            None => Region::whole(frame.width, frame.height),
        };
        let pixels = copy_region(frame, region);
        let ladder = self.ladder(options.mode, region);
        self.frames = self.frames.wrapping_add(1);
        for (i, attempt) in ladder.iter().enumerate() {
            if i > 0 && started.elapsed() >= options.budget {
                break;
            }
            if let Some(symbol) = self.attempt(&pixels, region, *attempt)? {
                return Ok(Some(symbol));
            }
        }
        Ok(None)
    }

    /// Decodes every symbol in one frame or photo (an identity document with a QR code and a
    /// PDF417 side by side), in the order found, at most [`MAX_SYMBOLS`]. The ladder is the
    /// one of [`decode`](Self::decode); the first rung that reads anything is searched for
    /// every format, and each symbol read is masked out and its format searched again, so two
    /// codes of one format are both found. Later rungs are not tried once a rung has read.
    pub fn decode_all(
        &mut self,
        frame: &LumaFrame<'_>,
        options: &ScanOptions,
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
        for (i, attempt) in ladder.iter().enumerate() {
            if i > 0 && started.elapsed() >= options.budget {
                break;
            }
            let found = self.attempt_all(&pixels, region, *attempt)?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(Vec::new())
    }

    fn ladder(&self, mode: Mode, region: Region) -> Vec<Attempt> {
        use BinarizerKind::{Histogram, Hybrid};
        let at = |scale, binarizer, harder| Attempt {
            scale,
            binarizer,
            harder,
        };
        // Codes in a camera frame are large; at half size rxing does a quarter of the work.
        let large = region.width.max(region.height) >= 1200;
        match mode {
            // One attempt per frame, cycling through the rungs: the next frame, 33 ms later,
            // tries the next one, so a frame costs one cheap pass and a small or low-contrast
            // code is still found within three frames.
            Mode::Live => {
                let cycle: &[Attempt] = if large {
                    &[
                        at(2, Hybrid, false),
                        at(2, Histogram, false),
                        at(1, Hybrid, false),
                    ]
                } else {
                    &[at(1, Hybrid, false), at(1, Histogram, false)]
                };
                vec![cycle[(self.frames % cycle.len() as u64) as usize]]
            }
            // Measured on the corpus (349 reads): the first rung finds 328, the second 2, the
            // third 5; a global-histogram try-harder rung found none and was dropped. The
            // half-size rung is kept for high-resolution photos only, where the hybrid
            // binarizer's fixed block size is small against a large code.
            Mode::Still => {
                let mut ladder = vec![
                    at(1, Hybrid, false),
                    at(1, Histogram, false),
                    at(1, Hybrid, true),
                ];
                if region.width.max(region.height) >= 2000 {
                    ladder.push(at(2, Hybrid, true));
                }
                ladder
            }
        }
    }

    fn attempt(
        &mut self,
        pixels: &[u8],
        region: Region,
        attempt: Attempt,
    ) -> Result<Option<Symbol>, ScanError> {
        let (width, height) = (region.width / attempt.scale, region.height / attempt.scale);
        if width == 0 || height == 0 {
            return Ok(None);
        }
        let scaled;
        let pixels = if attempt.scale == 1 {
            pixels
        } else {
            scaled = downscale(pixels, region.width, attempt.scale, width, height);
            &scaled
        };
        let readers = if attempt.harder {
            &mut self.still
        } else {
            &mut self.live
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let source = Luma8Source::new_with_slice(pixels, width, height).ok()?;
            match attempt.binarizer {
                BinarizerKind::Hybrid => run(readers, HybridBinarizer::new(source)),
                BinarizerKind::Histogram => run(readers, GlobalHistogramBinarizer::new(source)),
            }
        }));
        match outcome {
            Ok(found) => Ok(found.and_then(|result| symbol(&result, region, attempt.scale))),
            Err(_) => {
                // The reader's state after a panic is unknown: start afresh.
                *readers = self::readers(attempt.harder);
                Err(ScanError::DecoderPanicked)
            }
        }
    }
}

impl Scanner {
    /// One rung, every symbol: all four readers over one bitmap, then, for each format that
    /// read, the symbol masked out and that format searched again.
    fn attempt_all(
        &mut self,
        pixels: &[u8],
        region: Region,
        attempt: Attempt,
    ) -> Result<Vec<Symbol>, ScanError> {
        let (width, height) = (region.width / attempt.scale, region.height / attempt.scale);
        if width == 0 || height == 0 {
            return Ok(Vec::new());
        }
        let mut work = if attempt.scale == 1 {
            pixels.to_vec()
        } else {
            downscale(pixels, region.width, attempt.scale, width, height)
        };
        let readers = if attempt.harder {
            &mut self.still
        } else {
            &mut self.live
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut results: Vec<RXingResult> = Vec::new();
            let first = decode_each(readers, &work, width, height, attempt.binarizer, None);
            let mut again = Vec::new();
            for (index, result) in first {
                mask(&mut work, width, height, &result);
                results.push(result);
                again.push(index);
            }
            // The same format once more over the masked image, until it reads nothing.
            for index in again {
                while results.len() < MAX_SYMBOLS {
                    let next = decode_each(
                        readers,
                        &work,
                        width,
                        height,
                        attempt.binarizer,
                        Some(index),
                    );
                    let Some((_, result)) = next.into_iter().next() else {
                        break;
                    };
                    mask(&mut work, width, height, &result);
                    results.push(result);
                }
            }
            results
        }));
        match outcome {
            Ok(results) => {
                let mut symbols: Vec<Symbol> = Vec::new();
                for result in &results {
                    if let Some(symbol) = symbol(result, region, attempt.scale) {
                        if !symbols
                            .iter()
                            .any(|s| s.text == symbol.text && s.format == symbol.format)
                        {
                            symbols.push(symbol);
                        }
                    }
                }
                symbols.truncate(MAX_SYMBOLS);
                Ok(symbols)
            }
            Err(_) => {
                *readers = self::readers(attempt.harder);
                Err(ScanError::DecoderPanicked)
            }
        }
    }
}

/// The readers' results over one binarization of `pixels`, with the index of the reader
/// (format) that read each; `only` restricts it to one reader.
fn decode_each(
    readers: &mut [MultiFormatReader],
    pixels: &[u8],
    width: u32,
    height: u32,
    binarizer: BinarizerKind,
    only: Option<usize>,
) -> Vec<(usize, RXingResult)> {
    let Ok(source) = Luma8Source::new_with_slice(pixels, width, height) else {
        return Vec::new();
    };
    match binarizer {
        BinarizerKind::Hybrid => run_each(readers, HybridBinarizer::new(source), only),
        BinarizerKind::Histogram => run_each(readers, GlobalHistogramBinarizer::new(source), only),
    }
}

fn run_each<B: Binarizer>(
    readers: &mut [MultiFormatReader],
    binarizer: B,
    only: Option<usize>,
) -> Vec<(usize, RXingResult)> {
    let mut bitmap = BinaryBitmap::new(binarizer);
    let mut out = Vec::new();
    for (index, reader) in readers.iter_mut().enumerate() {
        if only.is_some_and(|o| o != index) {
            continue;
        }
        if let Ok(result) = reader.decode_with_state(&mut bitmap) {
            out.push((index, result));
        }
        reader.reset();
    }
    out
}

/// Paints a read symbol's area flat (the mean of the area), so a second search of the same
/// format finds the next symbol rather than this one again. The points are finder centres or
/// corners (2D) or the ends of one scan line (Code128), so the box is widened: by a quarter of
/// its size for the finder patterns' outer modules, and for a bar code to a third of its
/// length above and below the line.
fn mask(pixels: &mut [u8], width: u32, height: u32, result: &RXingResult) {
    let points = result.getPoints();
    if points.is_empty() {
        return;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in points {
        x0 = x0.min(p.x);
        y0 = y0.min(p.y);
        x1 = x1.max(p.x);
        y1 = y1.max(p.y);
    }
    let size = (x1 - x0).max(y1 - y0);
    let margin = size * 0.25 + 2.0;
    let (mut mx, mut my) = (margin, margin);
    if *result.getBarcodeFormat() == rxing::BarcodeFormat::CODE_128 {
        mx = size * 0.1 + 4.0;
        my = my.max(size * 0.35);
    }
    let clamp = |v: f32, max: u32| v.max(0.0).min(max as f32) as usize;
    let (bx0, bx1) = (clamp(x0 - mx, width), clamp(x1 + mx + 1.0, width));
    let (by0, by1) = (clamp(y0 - my, height), clamp(y1 + my + 1.0, height));
    if bx1 <= bx0 || by1 <= by0 {
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

fn run<B: Binarizer>(readers: &mut [MultiFormatReader], binarizer: B) -> Option<RXingResult> {
    let mut bitmap = BinaryBitmap::new(binarizer);
    readers.iter_mut().find_map(|reader| {
        let result = reader.decode_with_state(&mut bitmap).ok();
        reader.reset();
        result
    })
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

/// Box-filter downscale by an integer factor: averaging keeps thin bars that point sampling
/// would drop.
fn downscale(pixels: &[u8], src_width: u32, factor: u32, width: u32, height: u32) -> Vec<u8> {
    let (f, sw) = (factor as usize, src_width as usize);
    let area = (f * f) as u32;
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for y in 0..height as usize {
        for x in 0..width as usize {
            let mut sum = 0u32;
            for dy in 0..f {
                let row = (y * f + dy) * sw + x * f;
                sum += pixels[row..row + f]
                    .iter()
                    .map(|&p| u32::from(p))
                    .sum::<u32>();
            }
            out.push((sum / area) as u8);
        }
    }
    out
}
