//! A small hard set made at test time: each production format rotated, blurred, grainy, at low
//! contrast or inverted on a textured photo; several symbols in one photo (an identity document
//! with a QR code and a PDF417 beside it, two QR codes); photos with no code. The symbols are
//! encoded with rxing's own writers and drawn with a deterministic generator (no files, no
//! Python): the full benchmark set is core/benches/scan_hardset.py, this is its regression
//! guard at moderate severity. Detection is asserted, never time.

use lgt_core::scan::{Format, LumaFrame, Mode, ScanOptions, Scanner};
use rxing::{BarcodeFormat, EncodeHintValue, EncodeHints, MultiFormatWriter, Writer};

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (self.next() % 10_000) as f32 / 10_000.0 * (hi - lo)
    }
}

/// A symbol as modules: `grid[row * cols + col]` is dark.
struct Grid {
    cols: usize,
    rows: usize,
    dark: Vec<bool>,
}

fn encode(format: Format, text: &str) -> Grid {
    let rx = match format {
        Format::Qr => BarcodeFormat::QR_CODE,
        Format::Pdf417 => BarcodeFormat::PDF_417,
        Format::DataMatrix => BarcodeFormat::DATA_MATRIX,
        Format::Code128 => BarcodeFormat::CODE_128,
    };
    let hints = EncodeHints::default().with(EncodeHintValue::Margin("0".into()));
    let matrix = MultiFormatWriter
        .encode_with_hints(text, &rx, 0, 0, &hints)
        .expect("encodable");
    let (cols, rows) = (matrix.getWidth() as usize, matrix.getHeight() as usize);
    let mut dark: Vec<bool> = (0..rows * cols)
        .map(|i| matrix.get((i % cols) as u32, (i / cols) as u32))
        .collect();
    if format == Format::Code128 {
        // One row of bars, extruded to a fifth of the length.
        let height = cols / 5;
        dark = (0..height * cols).map(|i| dark[i % cols]).collect();
        return Grid {
            cols,
            rows: height,
            dark,
        };
    }
    Grid { cols, rows, dark }
}

/// How one symbol is drawn.
#[derive(Clone, Copy)]
struct Placement {
    /// Centre in pixels.
    cx: f32,
    cy: f32,
    /// Pixels per module.
    module: f32,
    /// Rotation in radians.
    angle: f32,
    ink: f32,
    paper: f32,
}

struct Photo {
    width: usize,
    height: usize,
    pixels: Vec<f32>,
}

impl Photo {
    /// A table-top-like background: shading, a few flat shapes, grain.
    fn new(width: usize, height: usize, rng: &mut Rng) -> Self {
        let base = rng.range(70.0, 150.0);
        let (gx, gy) = (rng.range(-40.0, 40.0), rng.range(-40.0, 40.0));
        let shapes: Vec<(f32, f32, f32, f32)> = (0..4)
            .map(|_| {
                (
                    rng.range(0.0, width as f32),
                    rng.range(0.0, height as f32),
                    rng.range(20.0, width as f32 / 3.0),
                    rng.range(-30.0, 30.0),
                )
            })
            .collect();
        let pixels = (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as f32, (i / width) as f32);
                let mut v = base + gx * x / width as f32 + gy * y / height as f32;
                for &(sx, sy, r, d) in &shapes {
                    if (x - sx).powi(2) + (y - sy).powi(2) < r * r {
                        v += d;
                    }
                }
                v
            })
            .collect();
        Self {
            width,
            height,
            pixels,
        }
    }

    /// Draws a symbol on its card (quiet zone of `quiet` modules), 3x3 samples per pixel.
    fn draw(&mut self, grid: &Grid, at: Placement, quiet: f32) {
        let (s, c) = at.angle.sin_cos();
        let (half_w, half_h) = (
            grid.cols as f32 / 2.0 + quiet,
            grid.rows as f32 / 2.0 + quiet,
        );
        let reach = (half_w.hypot(half_h) * at.module).ceil() as isize + 2;
        for py in
            (at.cy as isize - reach).max(0)..(at.cy as isize + reach).min(self.height as isize)
        {
            for px in
                (at.cx as isize - reach).max(0)..(at.cx as isize + reach).min(self.width as isize)
            {
                let (mut sum, mut inside) = (0.0, 0);
                for k in 0..9 {
                    let x = px as f32 + (k % 3) as f32 / 3.0 + 1.0 / 6.0 - at.cx;
                    let y = py as f32 + (k / 3) as f32 / 3.0 + 1.0 / 6.0 - at.cy;
                    // Into module coordinates, origin at the symbol's centre.
                    let u = (x * c + y * s) / at.module;
                    let v = (-x * s + y * c) / at.module;
                    if u.abs() >= half_w || v.abs() >= half_h {
                        continue;
                    }
                    inside += 1;
                    let (col, row) = (u + grid.cols as f32 / 2.0, v + grid.rows as f32 / 2.0);
                    let dark = col >= 0.0
                        && row >= 0.0
                        && (col as usize) < grid.cols
                        && (row as usize) < grid.rows
                        && grid.dark[row as usize * grid.cols + col as usize];
                    sum += if dark { at.ink } else { at.paper };
                }
                if inside > 0 {
                    let i = py as usize * self.width + px as usize;
                    let cover = inside as f32 / 9.0;
                    self.pixels[i] = self.pixels[i] * (1.0 - cover) + sum / 9.0;
                }
            }
        }
    }

    /// A 3x3 box blur, `passes` times.
    fn blur(&mut self, passes: usize) {
        let (w, h) = (self.width, self.height);
        for _ in 0..passes {
            let src = self.pixels.clone();
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    let mut sum = 0.0;
                    for k in 0..9 {
                        sum += src[(y + k / 3 - 1) * w + x + k % 3 - 1];
                    }
                    self.pixels[y * w + x] = sum / 9.0;
                }
            }
        }
    }

    fn finish(&self, grain: f32, rng: &mut Rng) -> Vec<u8> {
        self.pixels
            .iter()
            .map(|&v| (v + rng.range(-grain, grain)).round().clamp(0.0, 255.0) as u8)
            .collect()
    }
}

fn identity_number(rng: &mut Rng) -> String {
    let body = format!(
        "{:06}{:04}{:02}{:02}{:03}",
        110_000 + rng.next() % 500_000,
        1950 + rng.next() % 60,
        1 + rng.next() % 12,
        1 + rng.next() % 28,
        rng.next() % 1000
    );
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

fn payload(format: Format, rng: &mut Rng) -> String {
    match format {
        Format::Qr => format!(
            "https://mp.example.gov.cn/q?houseCode={:012}&n={}",
            rng.next() % 1_000_000_000_000,
            identity_number(rng)
        ),
        Format::Pdf417 => format!(
            "P<UTO{}<<ANNA<<<<<<<<<<<<<<<<<<<<<<<<<<<<<E{:08}7UTO{}",
            ["ERIKSSON", "MUSTERMANN", "NOVAK"][(rng.next() % 3) as usize],
            rng.next() % 100_000_000,
            identity_number(rng)
        ),
        Format::DataMatrix | Format::Code128 => identity_number(rng),
    }
}

/// How a test photo is spoiled.
#[derive(Debug, Clone, Copy)]
enum Spoil {
    Rotated,
    Blurred,
    Grainy,
    LowContrast,
    Inverted,
    /// Turned 20 to 40 degrees: no row crosses a bar code from end to end.
    SteepTurn,
}

struct Case {
    name: String,
    width: usize,
    height: usize,
    pixels: Vec<u8>,
    texts: Vec<String>,
}

fn single(format: Format, spoil: Spoil, seed: u64) -> Case {
    let mut rng = Rng(seed);
    let (width, height) = (800, 600);
    let mut photo = Photo::new(width, height, &mut rng);
    let text = payload(format, &mut rng);
    let grid = encode(format, &text);
    let fit = (width as f32 * 0.8 / (grid.cols as f32 + 8.0))
        .min(height as f32 * 0.8 / (grid.rows as f32 + 8.0));
    let (ink, paper) = match spoil {
        Spoil::LowContrast => (150.0, 195.0),
        Spoil::Inverted => (225.0, 35.0),
        _ => (rng.range(20.0, 50.0), rng.range(200.0, 240.0)),
    };
    let angle = match spoil {
        // Long symbols read along rows turn less before both readers lose them.
        Spoil::Rotated if matches!(format, Format::Pdf417 | Format::Code128) => {
            rng.range(0.05, 0.1)
        }
        Spoil::Rotated => rng.range(0.12, 0.22),
        Spoil::SteepTurn => {
            rng.range(0.35, 0.7) * if rng.range(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 }
        }
        _ => rng.range(-0.1, 0.1),
    };
    let at = Placement {
        cx: width as f32 / 2.0 + rng.range(-20.0, 20.0),
        cy: height as f32 / 2.0 + rng.range(-20.0, 20.0),
        module: fit.min(4.0),
        angle,
        ink,
        paper,
    };
    let quiet = if format == Format::Code128 { 10.0 } else { 3.0 };
    photo.draw(&grid, at, quiet);
    photo.blur(if matches!(spoil, Spoil::Blurred) {
        2
    } else {
        1
    });
    let grain = if matches!(spoil, Spoil::Grainy) {
        30.0
    } else {
        4.0
    };
    Case {
        name: format!("{} {spoil:?}", format.as_str()),
        width,
        height,
        pixels: photo.finish(grain, &mut rng),
        texts: vec![text],
    }
}

fn several(formats: &[Format], seed: u64) -> Case {
    let mut rng = Rng(seed);
    let (width, height) = (1200, 600);
    let mut photo = Photo::new(width, height, &mut rng);
    let slot = width as f32 / formats.len() as f32;
    let mut texts = Vec::new();
    for (k, &format) in formats.iter().enumerate() {
        let text = payload(format, &mut rng);
        let grid = encode(format, &text);
        let fit = (slot * 0.8 / (grid.cols as f32 + 8.0))
            .min(height as f32 * 0.7 / (grid.rows as f32 + 8.0));
        let at = Placement {
            cx: slot * (k as f32 + 0.5),
            cy: height as f32 / 2.0 + rng.range(-30.0, 30.0),
            module: fit.min(4.0),
            angle: rng.range(-0.08, 0.08),
            ink: rng.range(20.0, 50.0),
            paper: rng.range(200.0, 240.0),
        };
        photo.draw(
            &grid,
            at,
            if format == Format::Code128 { 10.0 } else { 3.0 },
        );
        texts.push(text);
    }
    photo.blur(1);
    let name = formats
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join("+");
    Case {
        name,
        width,
        height,
        pixels: photo.finish(4.0, &mut rng),
        texts,
    }
}

fn no_code(seed: u64) -> Case {
    let mut rng = Rng(seed);
    let (width, height) = (640, 480);
    let mut photo = Photo::new(width, height, &mut rng);
    // Printed-text-like dashes on half the photos.
    if seed.is_multiple_of(2) {
        for _ in 0..30 {
            let (x0, y0) = (
                rng.range(0.0, 560.0) as usize,
                rng.range(0.0, 460.0) as usize,
            );
            let (len, tall) = (rng.range(5.0, 60.0) as usize, rng.range(6.0, 14.0) as usize);
            for y in y0..(y0 + tall).min(height) {
                for x in x0..(x0 + len).min(width) {
                    photo.pixels[y * width + x] -= 80.0;
                }
            }
        }
    }
    photo.blur(1);
    Case {
        name: format!("no code {seed}"),
        width,
        height,
        pixels: photo.finish(12.0, &mut rng),
        texts: Vec::new(),
    }
}

fn read_all(scanner: &mut Scanner, case: &Case, mode: Mode) -> Vec<String> {
    let frame = LumaFrame {
        data: &case.pixels,
        width: case.width as u32,
        height: case.height as u32,
        row_stride: case.width as u32,
    };
    scanner
        .decode_all(&frame, &ScanOptions::new(mode))
        .expect("a valid frame")
        .into_iter()
        .map(|s| s.text)
        .collect()
}

/// Whether a still-mode read found the case's symbol; a read of anything else fails the test.
fn read_in_still_mode(scanner: &mut Scanner, case: &Case) -> bool {
    let read = read_all(scanner, case, Mode::Still);
    assert!(
        read.iter().all(|t| case.texts.contains(t)),
        "{}: false read {read:?}",
        case.name
    );
    !read.is_empty()
}

#[test]
fn every_format_is_read_through_each_spoiling() {
    let mut scanner = Scanner::new();
    let mut missed = Vec::new();
    let mut seed = 0x5eed_0001;
    for format in Format::ALL {
        for spoil in [
            Spoil::Rotated,
            Spoil::Blurred,
            Spoil::Grainy,
            Spoil::LowContrast,
            Spoil::Inverted,
        ] {
            seed += 1;
            // Known gap (docs/limits.md): a Code128 under this grain is not read (zxing-cpp
            // did not read it either at a higher grain); the hard set measures grain per format.
            if format == Format::Code128 && matches!(spoil, Spoil::Grainy) {
                continue;
            }
            let case = single(format, spoil, seed);
            if !read_in_still_mode(&mut scanner, &case) {
                missed.push(case.name);
            }
        }
    }
    assert!(missed.is_empty(), "not read in still mode: {missed:?}");
}

#[test]
fn bar_codes_turned_far_from_the_rows_are_read() {
    let mut scanner = Scanner::new();
    let mut missed = Vec::new();
    for (k, format) in [Format::Code128, Format::Pdf417].into_iter().enumerate() {
        for seed in 0..3 {
            let case = single(
                format,
                Spoil::SteepTurn,
                0x7u64 << 20 | (k as u64) << 8 | seed,
            );
            if !read_in_still_mode(&mut scanner, &case) {
                missed.push(format!("{} seed {seed}", case.name));
            }
        }
    }
    assert!(missed.is_empty(), "not read in still mode: {missed:?}");
}

/// The case turned a quarter `turns` times (clockwise), pixel for pixel.
fn quarter_turned(case: &Case, turns: usize) -> Case {
    let (mut w, mut h, mut pixels) = (case.width, case.height, case.pixels.clone());
    for _ in 0..turns % 4 {
        // Pixel (x, y) of the turned image is pixel (y, h - 1 - x) of the one before.
        pixels = (0..w * h)
            .map(|i| pixels[(h - 1 - i % h) * w + i / h])
            .collect();
        (w, h) = (h, w);
    }
    Case {
        name: format!("{} turned {} degrees", case.name, 90 * turns),
        width: w,
        height: h,
        pixels,
        texts: case.texts.clone(),
    }
}

/// rxing's PDF417 detector searches four quarter turns of the image; the patched copy
/// (third_party/rxing/PATCHES.md, 1) skips a turn whose rows hold no start or stop pattern,
/// read from the unturned image: one that skipped the turn the symbol is in fails here.
#[test]
fn a_pdf417_is_read_at_every_quarter_turn() {
    let mut scanner = Scanner::new();
    let mut missed = Vec::new();
    for seed in 0..2 {
        let upright = single(Format::Pdf417, Spoil::Grainy, 0x9u64 << 20 | seed);
        for turns in 0..4 {
            let case = quarter_turned(&upright, turns);
            if !read_in_still_mode(&mut scanner, &case) {
                missed.push(case.name);
            }
        }
    }
    assert!(missed.is_empty(), "not read in still mode: {missed:?}");
}

/// rxing's PDF417 decoder keeps the codeword values seen for each cell of a symbol with their
/// counts and takes the first of the values tied for the highest count: in a `HashMap`'s order,
/// which differs from one map to the next, so a blurred PDF417 could read at one attempt of
/// the ladder in one run and at another in the next. The patched copy lists tied values in
/// order (third_party/rxing/PATCHES.md, 2).
#[test]
fn tied_pdf417_codeword_values_come_in_one_order() {
    let values = [811u32, 17, 502, 3, 929, 64, 250, 777, 1, 430, 96, 615];
    for _ in 0..16 {
        let mut cell = rxing::pdf417::decoder::BarcodeValue::new();
        for value in values {
            cell.setValue(value);
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        assert_eq!(cell.getValue(), sorted);
    }
}

/// The patched hybrid binarizer (third_party/rxing/PATCHES.md, 4) sets a block's row of bits
/// at once, into two words when the block straddles them. Blocks start every 8 columns, the
/// last at `width - 8`: with 64-bit words it straddles when `width - 8` is 57-63 bits into a
/// word (widths 129-135, 193-199), where a lost high part would leave the last columns white.
/// A width of 128 (no straddle) is the control.
#[test]
fn hybrid_binarization_keeps_the_last_columns() {
    use rxing::common::HybridBinarizer;
    use rxing::{Binarizer, Luma8Source};
    for width in [128u32, 129, 131, 135, 193, 199] {
        let height = 48;
        // Dark bars three pixels wide on light ground, the last column dark.
        let pixels: Vec<u8> = (0..width * height)
            .map(|i| {
                let x = i % width;
                if x == width - 1 || (x / 3) % 2 == 0 {
                    20
                } else {
                    230
                }
            })
            .collect();
        let source = Luma8Source::new_with_slice(&pixels, width, height).expect("a source");
        let binarizer = HybridBinarizer::new(source);
        let matrix = binarizer.get_black_matrix().expect("a matrix");
        for y in 0..height {
            for x in 0..width {
                let dark = pixels[(y * width + x) as usize] < 128;
                assert_eq!(matrix.get(x, y), dark, "width {width}: pixel ({x}, {y})");
            }
        }
    }
}

fn assert_all_read(formats: &[Format], seed: u64) {
    let mut scanner = Scanner::new();
    let case = several(formats, seed);
    let mut read = read_all(&mut scanner, &case, Mode::Still);
    read.sort();
    let mut want = case.texts.clone();
    want.sort();
    assert_eq!(read, want, "{}", case.name);
}

#[test]
fn two_codes_of_one_format_in_a_photo_are_both_read() {
    assert_all_read(&[Format::Qr, Format::Qr], 0xd0c_0001);
}

#[test]
fn three_formats_in_a_photo_are_all_read() {
    assert_all_read(
        &[Format::DataMatrix, Format::Code128, Format::Qr],
        0xd0c_0002,
    );
}

#[test]
fn an_identity_document_photo_yields_its_qr_and_its_pdf417() {
    assert_all_read(&[Format::Qr, Format::Pdf417], 0xd0c_0000);
}

#[test]
fn photos_without_a_code_read_nothing_in_either_mode() {
    let mut scanner = Scanner::new();
    for seed in 1..=6 {
        let case = no_code(seed);
        for mode in [Mode::Still, Mode::Live] {
            let read = read_all(&mut scanner, &case, mode);
            assert!(read.is_empty(), "{} ({mode:?}) read {read:?}", case.name);
        }
    }
}

#[test]
fn a_data_matrix_away_from_the_frame_centre_is_read_live_within_three_frames() {
    // A viewfinder not yet aimed: the code sits in a corner quadrant, off the frame's centre
    // lines, where rxing's plain Data Matrix detector does not look.
    let mut missed = Vec::new();
    for seed in 0..4u64 {
        let mut rng = Rng(0xd4_0000 + seed);
        let (width, height) = (640, 480);
        let mut photo = Photo::new(width, height, &mut rng);
        let text = payload(Format::DataMatrix, &mut rng);
        let grid = encode(Format::DataMatrix, &text);
        let (cx, cy) = match seed % 4 {
            0 => (150.0, 120.0),
            1 => (490.0, 120.0),
            2 => (150.0, 360.0),
            _ => (490.0, 360.0),
        };
        let at = Placement {
            cx: cx + rng.range(-10.0, 10.0),
            cy: cy + rng.range(-10.0, 10.0),
            module: 4.0,
            angle: rng.range(-0.1, 0.1),
            ink: rng.range(20.0, 50.0),
            paper: rng.range(200.0, 240.0),
        };
        photo.draw(&grid, at, 3.0);
        photo.blur(1);
        let pixels = photo.finish(4.0, &mut rng);
        let frame = LumaFrame {
            data: &pixels,
            width: width as u32,
            height: height as u32,
            row_stride: width as u32,
        };
        let mut scanner = Scanner::new();
        let read: Vec<String> = (0..3)
            .filter_map(|_| {
                scanner
                    .decode(&frame, &ScanOptions::new(Mode::Live))
                    .expect("a valid frame")
            })
            .map(|s| s.text)
            .collect();
        assert!(read.iter().all(|t| *t == text), "false read {read:?}");
        if read.is_empty() {
            missed.push(seed);
        }
    }
    assert!(missed.is_empty(), "not read live, seeds {missed:?}");
}
