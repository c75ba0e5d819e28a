//! Scanner benchmark, side by side with zxing-cpp in the same run:
//!
//! ```sh
//! pip install zxing-cpp pillow numpy
//! LGT_BARCODE_CORPUS=../shared/corpus/barcode cargo bench -p lgt-core --features image-files --bench scan
//! ```
//!
//! Per folder of the corpus and of the generated hard set: detection (correct reads), false
//! reads and median decode time per image, for this scanner and zxing-cpp (its defaults, four
//! formats) in three ways: still mode for one symbol (`Scanner::decode`, what the phones call;
//! zxing-cpp's `read_barcode`), still mode for every symbol (`Scanner::decode_all`; zxing-cpp's
//! `read_barcodes`) and live mode; then live 1920x1080 frames with and without a code, whole
//! frame and with a region of interest. Only the decode is timed on both sides: images are
//! loaded and converted to gray before.
//! `LGT_BENCH_REPEATS` (default 3) sets the runs per corpus image; the median run counts.

#[path = "../tests/corpus/mod.rs"]
mod corpus;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use corpus::{Corpus, Expected};
use lgt_core::scan::{
    load_luma, render_qr, write_png, LumaFrame, Mode, Region, ScanOptions, Scanner,
};

const LIVE_RUNS: usize = 60;

/// One reader's outcome on one image.
#[derive(Debug, Clone, Default)]
struct Outcome {
    correct: bool,
    false_read: bool,
    ms: f64,
}

fn median(values: &mut [f64]) -> f64 {
    percentile(values, 0.5)
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// Whether any symbol read is the expected one, and whether something else was read instead.
/// Each symbol comes as its readings: the text, and for zxing-cpp also its raw bytes.
fn judge(expected: &Expected, texts: &[Vec<String>]) -> (bool, bool) {
    let correct = texts
        .iter()
        .any(|forms| forms.iter().any(|form| expected.matches(form)));
    (correct, !texts.is_empty() && !correct)
}

fn ours(
    scanner: &mut Scanner,
    frame: &LumaFrame<'_>,
    options: &ScanOptions,
    runs: usize,
    all: bool,
) -> (Vec<Vec<String>>, f64) {
    let mut times = Vec::with_capacity(runs);
    let mut texts = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let found = if all {
            scanner.decode_all(frame, options).unwrap_or_default()
        } else {
            scanner
                .decode(frame, options)
                .unwrap_or(None)
                .into_iter()
                .collect()
        };
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        texts = found.into_iter().map(|s| vec![s.text]).collect();
    }
    (texts, median(&mut times))
}

/// The zxing-cpp reader (benches/zxing_cpp_reader.py) as a child process, asked one image at a
/// time so that its runs interleave with ours and both see the same machine load.
struct Zxing {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Zxing {
    fn start(runs: usize) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/zxing_cpp_reader.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(runs.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with zxing-cpp and pillow (pip install zxing-cpp pillow)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// Texts (each with its raw bytes as ISO-8859-1 text, for binary payloads) and median ms.
    fn read(&mut self, mode: &str, path: &str) -> (Vec<Vec<String>>, f64) {
        writeln!(self.stdin, "{mode} {path}").expect("zxing-cpp reader input");
        self.stdin.flush().expect("zxing-cpp reader input");
        let line = self
            .stdout
            .next()
            .expect("the zxing-cpp reader stopped: pip install zxing-cpp pillow")
            .expect("zxing output");
        let value: serde_json::Value = serde_json::from_str(&line).expect("json");
        let strings = |key: &str| -> Vec<String> {
            value[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let texts: Vec<Vec<String>> = strings("texts")
            .into_iter()
            .zip(strings("bytes"))
            .map(|(text, bytes)| vec![text, bytes])
            .collect();
        (texts, value["ms"].as_f64().unwrap_or(f64::NAN))
    }

    fn finish(self) {
        let Self {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        assert!(
            child.wait().expect("python3").success(),
            "the zxing-cpp reader failed: pip install zxing-cpp pillow"
        );
    }
}

/// What one image should read as.
#[derive(Debug, Clone)]
enum Want {
    /// A corpus image: its expectation file.
    Corpus(Expected),
    /// A generated image: every one of these texts (none: a photo without a code).
    All(Vec<String>),
}

impl Want {
    /// (correct, false read) for a reader that returns at most one symbol: correct when it
    /// read one of the expected symbols (for a photo without a code: nothing).
    fn judge_one(&self, texts: &[Vec<String>]) -> (bool, bool) {
        match self {
            Want::Corpus(expected) => judge(expected, texts),
            Want::All(wanted) => {
                let hit = |forms: &Vec<String>| forms.iter().any(|f| wanted.contains(f));
                let correct = if wanted.is_empty() {
                    texts.is_empty()
                } else {
                    texts.iter().any(hit)
                };
                (correct, texts.iter().any(|forms| !hit(forms)))
            }
        }
    }

    /// (correct, false read) for the symbols read: correct when every expected symbol was read.
    fn judge(&self, texts: &[Vec<String>]) -> (bool, bool) {
        match self {
            Want::Corpus(expected) => judge(expected, texts),
            Want::All(wanted) => {
                let read = |w: &String| texts.iter().any(|forms| forms.contains(w));
                let correct = if wanted.is_empty() {
                    texts.is_empty()
                } else {
                    wanted.iter().all(read)
                };
                let false_read = texts
                    .iter()
                    .any(|forms| !forms.iter().any(|f| wanted.contains(f)));
                (correct, false_read)
            }
        }
    }
}

/// One benchmark image.
struct Case {
    /// Table row (corpus folder, or `hard/FOLDER`).
    folder: String,
    /// Extra rows it also counts in (`hard: qr`, per format over the hard set).
    groups: Vec<String>,
    path: PathBuf,
    want: Want,
}

/// Per way of reading: (lgt, zxing-cpp) outcomes.
#[derive(Default, Clone)]
struct Row {
    images: usize,
    one: (Vec<Outcome>, Vec<Outcome>),
    every: (Vec<Outcome>, Vec<Outcome>),
    live: (Vec<Outcome>, Vec<Outcome>),
}

fn summary(outcomes: &[Outcome]) -> (usize, usize, f64) {
    let mut ms: Vec<f64> = outcomes.iter().map(|o| o.ms).collect();
    let found = outcomes.iter().filter(|o| o.correct).count();
    let false_reads = outcomes.iter().filter(|o| o.false_read).count();
    (found, false_reads, median(&mut ms))
}

/// Live frames per image: the live ladder cycles over up to three rungs, one a frame, so an
/// image counts as read in live mode when one of three consecutive frames reads it.
const LIVE_FRAMES: usize = 3;

fn ours_live(scanner: &mut Scanner, frame: &LumaFrame<'_>) -> (Vec<Vec<String>>, f64) {
    let options = ScanOptions::new(Mode::Live);
    let mut times = Vec::with_capacity(LIVE_FRAMES);
    let mut texts = Vec::new();
    for _ in 0..LIVE_FRAMES {
        let start = Instant::now();
        let found = scanner.decode(frame, &options).unwrap_or(None);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        if let Some(symbol) = found {
            texts = vec![vec![symbol.text]];
        }
    }
    (texts, median(&mut times))
}

fn corpus_cases() -> Vec<Case> {
    let Some(corpus) = Corpus::locate() else {
        return Vec::new();
    };
    let mut cases = Vec::new();
    for folder in corpus.folders() {
        for case in corpus.cases(&folder) {
            cases.push(Case {
                folder: folder.clone(),
                groups: Vec::new(),
                path: case.path,
                want: Want::Corpus(case.expected),
            });
        }
    }
    cases
}

/// The generated hard set (core/benches/scan_hardset.py): `$LGT_SCAN_HARDSET`, else
/// target/scan-hardset, made by running the script when missing or made by another version of
/// the script.
fn hard_cases() -> Vec<Case> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scan_hardset.py");
    let dir = std::env::var_os("LGT_SCAN_HARDSET")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
            target.join("scan-hardset")
        });
    let source = std::fs::read(&script).expect("core/benches/scan_hardset.py");
    let stamp = format!("{:016x}", fnv1a(&source));
    let stamp_path = dir.join("script.stamp");
    if std::fs::read_to_string(&stamp_path).ok().as_deref() != Some(stamp.as_str()) {
        eprintln!("generating the hard set in {} ...", dir.display());
        std::fs::remove_dir_all(&dir).ok();
        let status = Command::new("python3")
            .arg(&script)
            .arg(&dir)
            .status()
            .expect("python3 (pip install zxing-cpp pillow numpy)");
        assert!(
            status.success(),
            "scan_hardset.py failed: pip install zxing-cpp pillow numpy"
        );
        std::fs::write(&stamp_path, &stamp).expect("stamp");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest.json"))
            .expect("manifest json");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    manifest
        .as_array()
        .expect("manifest list")
        .iter()
        .map(|entry| {
            let folder = entry["folder"].as_str().unwrap_or_default();
            let formats = strings(&entry["formats"]);
            let groups = if formats.len() == 1 && folder != "multi" {
                vec![format!("hard: {}", formats[0])]
            } else {
                Vec::new()
            };
            Case {
                folder: format!("hard/{folder}"),
                groups,
                path: dir.join(entry["file"].as_str().unwrap_or_default()),
                want: Want::All(strings(&entry["texts"])),
            }
        })
        .collect()
}

/// FNV-1a, to notice a changed generator script (not a security hash).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn table(repeats: usize) {
    let mut cases = corpus_cases();
    cases.extend(hard_cases());
    // LGT_BENCH_FOLDERS=qrcode-1,hard/blur limits the run to those folders.
    if let Ok(only) = std::env::var("LGT_BENCH_FOLDERS") {
        cases.retain(|c| only.split(',').any(|f| f == c.folder));
    }
    let mut scanner = Scanner::new();
    let still = ScanOptions::new(Mode::Still);
    let mut rows: Vec<(String, Row)> = Vec::new();
    let mut theirs = Zxing::start(repeats);
    for case in &cases {
        let image =
            load_luma(&case.path).unwrap_or_else(|e| panic!("{}: {e}", case.path.display()));
        let path = case.path.to_string_lossy().into_owned();
        let outcome = |texts: &[Vec<String>], ms: f64, one: bool, who: &str| {
            let (correct, false_read) = if one {
                case.want.judge_one(texts)
            } else {
                case.want.judge(texts)
            };
            if false_read {
                eprintln!("{who} false read: {path}");
            }
            Outcome {
                correct,
                false_read,
                ms,
            }
        };
        // Ours and theirs one after the other for each way of reading.
        let (texts, ms) = ours(&mut scanner, &image.frame(), &still, repeats, false);
        let one_ours = outcome(&texts, ms, true, "lgt (still, decode)");
        let (texts, ms) = theirs.read("still1", &path);
        let one_theirs = outcome(&texts, ms, true, "zxing-cpp (still, one)");
        let (texts, ms) = ours(&mut scanner, &image.frame(), &still, repeats, true);
        let every_ours = outcome(&texts, ms, false, "lgt (still, decode_all)");
        let (texts, ms) = theirs.read("still", &path);
        let every_theirs = outcome(&texts, ms, false, "zxing-cpp (still, every)");
        let mut live_scanner = Scanner::new();
        let (texts, ms) = ours_live(&mut live_scanner, &image.frame());
        let live_ours = outcome(&texts, ms, true, "lgt (live)");
        let (texts, ms) = theirs.read("live", &path);
        let live_theirs = outcome(&texts, ms, true, "zxing-cpp (live)");
        for name in std::iter::once(&case.folder).chain(&case.groups) {
            let index = match rows.iter().position(|(f, _)| f == name) {
                Some(i) => i,
                None => {
                    rows.push((name.clone(), Row::default()));
                    rows.len() - 1
                }
            };
            let row = &mut rows[index].1;
            row.images += 1;
            row.one.0.push(one_ours.clone());
            row.one.1.push(one_theirs.clone());
            row.every.0.push(every_ours.clone());
            row.every.1.push(every_theirs.clone());
            row.live.0.push(live_ours.clone());
            row.live.1.push(live_theirs.clone());
        }
    }
    theirs.finish();
    println!("| folder | images | found, still one symbol: lgt / zxing-cpp | every symbol | live | false reads, all three: lgt / zxing-cpp | median ms, still one symbol: lgt / zxing-cpp | every symbol | live |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let total = |rows: &[&(String, Row)]| {
        let mut all = Row::default();
        for (_, row) in rows {
            all.images += row.images;
            all.one.0.extend(row.one.0.iter().cloned());
            all.one.1.extend(row.one.1.iter().cloned());
            all.every.0.extend(row.every.0.iter().cloned());
            all.every.1.extend(row.every.1.iter().cloned());
            all.live.0.extend(row.live.0.iter().cloned());
            all.live.1.extend(row.live.1.iter().cloned());
        }
        all
    };
    let corpus: Vec<_> = rows
        .iter()
        .filter(|(f, _)| !f.starts_with("hard"))
        .collect();
    let hard: Vec<_> = rows
        .iter()
        .filter(|(f, _)| f.starts_with("hard/"))
        .collect();
    let formats: Vec<_> = rows
        .iter()
        .filter(|(f, _)| f.starts_with("hard: "))
        .collect();
    for (folder, row) in &corpus {
        print_row(folder, row);
    }
    if !corpus.is_empty() {
        print_row("**corpus, all**", &total(&corpus));
    }
    for (folder, row) in hard.iter().chain(&formats) {
        print_row(folder, row);
    }
    if !hard.is_empty() {
        print_row("**hard set, all**", &total(&hard));
    }
}

fn print_row(name: &str, row: &Row) {
    let cell = |(ours, theirs): &(Vec<Outcome>, Vec<Outcome>)| {
        let (of, ofr, omed) = summary(ours);
        let (tf, tfr, tmed) = summary(theirs);
        let mark = if of < tf { " ⚠" } else { "" };
        (
            format!("{of} / {tf}{mark}"),
            ofr,
            tfr,
            format!("{omed:.2} / {tmed:.2}"),
        )
    };
    let (one_found, one_ofr, one_tfr, one_ms) = cell(&row.one);
    let (every_found, every_ofr, every_tfr, every_ms) = cell(&row.every);
    let (live_found, live_ofr, live_tfr, live_ms) = cell(&row.live);
    println!(
        "| {name} | {} | {one_found} | {every_found} | {live_found} | {} / {} | {one_ms} | {every_ms} | {live_ms} |",
        row.images,
        one_ofr + every_ofr + live_ofr,
        one_tfr + every_tfr + live_tfr,
    );
}

/// A deterministic 1920x1080 camera-like frame: textured background with a gradient and, if
/// asked, a blurred QR code of a signed-permit-sized payload in the middle.
fn live_frame(with_code: bool) -> Vec<u8> {
    let (w, h) = (1920usize, 1080usize);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut frame: Vec<u8> = (0..w * h)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (x, y) = (i % w, i / w);
            (90 + (x * 60 / w) + (y * 40 / h) + (state % 24) as usize) as u8
        })
        .collect();
    if with_code {
        let text = format!("LGTP1.{}", "eyJuIjoiU1oyMDI2MDAwMSIsImgiOiJ".repeat(7));
        let qr = render_qr(&text, 6).expect("render");
        let (ox, oy) = ((w - qr.size as usize) / 2, (h - qr.size as usize) / 2);
        for y in 0..qr.size as usize {
            for x in 0..qr.size as usize {
                let p = qr.pixels[y * qr.size as usize + x];
                frame[(oy + y) * w + ox + x] = if p == 0 { 40 } else { 210 };
            }
        }
        // A 3x3 box blur over the code: focus is never perfect.
        let copy = frame.clone();
        for y in oy.max(1)..(oy + qr.size as usize).min(h - 1) {
            for x in ox.max(1)..(ox + qr.size as usize).min(w - 1) {
                let sum: u32 = (0..9)
                    .map(|k| u32::from(copy[(y + k / 3 - 1) * w + x + k % 3 - 1]))
                    .sum();
                frame[y * w + x] = (sum / 9) as u8;
            }
        }
    }
    frame
}

fn live_table() {
    let dir = std::env::temp_dir().join(format!("lgt-scan-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let roi = Region {
        x: 560,
        y: 140,
        width: 800,
        height: 800,
    };
    println!();
    println!("| live 1920x1080 frame | found lgt / zxing-cpp | median ms lgt / zxing-cpp |");
    println!("|---|---|---|");
    for with_code in [true, false] {
        let pixels = live_frame(with_code);
        let frame = LumaFrame {
            data: &pixels,
            width: 1920,
            height: 1080,
            row_stride: 1920,
        };
        let path = dir.join(format!("live-{with_code}.png"));
        write_png(&path, 1920, 1080, &pixels).expect("png");
        let mut zxing = Zxing::start(LIVE_RUNS);
        let (their_texts, their_ms) = zxing.read("live", &path.to_string_lossy());
        zxing.finish();
        let label = if with_code {
            "with a QR code"
        } else {
            "without a code"
        };
        let mut scanner = Scanner::new();
        let (texts, ms) = ours(
            &mut scanner,
            &frame,
            &ScanOptions::new(Mode::Live),
            LIVE_RUNS,
            false,
        );
        println!(
            "| {label}, whole frame | {} / {} | {ms:.2} / {their_ms:.2} |",
            texts.len(),
            their_texts.len()
        );
        let (texts, ms) = ours(
            &mut scanner,
            &frame,
            &ScanOptions::new(Mode::Live).with_region(roi),
            LIVE_RUNS,
            false,
        );
        println!(
            "| {label}, 800x800 region (lgt only) | {} / - | {ms:.2} / - |",
            texts.len()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need: run either way.
    let repeats = std::env::var("LGT_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!("scan benchmark: lgt-core (rxing 0.9.3 + scan module) vs zxing-cpp (PyPI), {repeats} runs per image, median run");
    table(repeats);
    live_table();
}
