//! Scanner benchmark, side by side with zxing-cpp in the same run:
//!
//! ```sh
//! pip install zxing-cpp pillow
//! cargo bench -p lgt-core --features image-files --bench scan
//! ```
//!
//! Per corpus folder: detection (correct reads), false reads and median / p95 decode time per
//! image, for this scanner (still mode) and zxing-cpp (its defaults, four formats); then live
//! 1920x1080 frames with and without a code, whole frame and with a region of interest. Only
//! the decode is timed on both sides: images are loaded and converted to gray before.
//! `LGT_BENCH_REPEATS` (default 3) sets the runs per corpus image; the median run counts.

#[path = "../tests/corpus/mod.rs"]
mod corpus;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use corpus::{Corpus, Expected};
use lgt_core::scan::{render_qr, write_png, LumaFrame, Mode, Region, ScanOptions, Scanner};

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
) -> (Vec<Vec<String>>, f64) {
    let mut times = Vec::with_capacity(runs);
    let mut texts = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let found = scanner.decode(frame, options).unwrap_or(None);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        texts = found.into_iter().map(|s| vec![s.text]).collect();
    }
    (texts, median(&mut times))
}

/// Runs the zxing-cpp reader over (mode, path) jobs; returns texts and median ms per path.
fn zxing(jobs: &[(&str, String)], runs: usize) -> HashMap<String, (Vec<Vec<String>>, f64)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/zxing_cpp_reader.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(runs.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with zxing-cpp and pillow (pip install zxing-cpp pillow)");
    let mut stdin = child.stdin.take().expect("stdin");
    let input: String = jobs
        .iter()
        .map(|(mode, path)| format!("{mode} {path}\n"))
        .collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut out = HashMap::new();
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let value: serde_json::Value =
            serde_json::from_str(&line.expect("zxing output")).expect("json");
        let strings = |key: &str| -> Vec<String> {
            value[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        // Per symbol, its text and its raw bytes (as ISO-8859-1 text) for binary payloads.
        let texts: Vec<Vec<String>> = strings("texts")
            .into_iter()
            .zip(strings("bytes"))
            .map(|(text, bytes)| vec![text, bytes])
            .collect();
        out.insert(
            value["file"].as_str().unwrap_or_default().to_owned(),
            (texts, value["ms"].as_f64().unwrap_or(f64::NAN)),
        );
    }
    writer
        .join()
        .expect("writer")
        .expect("zxing-cpp reader input");
    assert!(
        child.wait().expect("python3").success(),
        "the zxing-cpp reader failed: pip install zxing-cpp pillow"
    );
    out
}

#[derive(Default)]
struct Row {
    images: usize,
    ours: Vec<Outcome>,
    theirs: Vec<Outcome>,
}

fn summary(outcomes: &[Outcome]) -> (usize, usize, f64, f64) {
    let mut ms: Vec<f64> = outcomes.iter().map(|o| o.ms).collect();
    let found = outcomes.iter().filter(|o| o.correct).count();
    let false_reads = outcomes.iter().filter(|o| o.false_read).count();
    (
        found,
        false_reads,
        median(&mut ms.clone()),
        percentile(&mut ms, 0.95),
    )
}

fn corpus_table(repeats: usize) {
    let Some(corpus) = Corpus::locate() else {
        return;
    };
    let mut scanner = Scanner::new();
    let options = ScanOptions::new(Mode::Still);
    let mut rows: Vec<(String, Row)> = Vec::new();
    let mut jobs = Vec::new();
    let mut cases = Vec::new();
    // LGT_BENCH_FOLDERS=qrcode-1,pdf417-2 limits the run to those folders.
    let only = std::env::var("LGT_BENCH_FOLDERS").ok();
    let wanted = |folder: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|f| f == folder))
    };
    for folder in corpus.folders().into_iter().filter(|f| wanted(f)) {
        let mut row = Row::default();
        for case in corpus.cases(&folder) {
            let image = case.load();
            let (texts, ms) = ours(&mut scanner, &image.frame(), &options, repeats);
            let (correct, false_read) = judge(&case.expected, &texts);
            if false_read {
                eprintln!("lgt false read: {}", case.name());
            }
            row.ours.push(Outcome {
                correct,
                false_read,
                ms,
            });
            row.images += 1;
            jobs.push(("still", case.path.to_string_lossy().into_owned()));
            cases.push((folder.clone(), case));
        }
        rows.push((folder, row));
    }
    let theirs = zxing(&jobs, repeats);
    for (folder, case) in cases {
        let (texts, ms) = theirs
            .get(case.path.to_string_lossy().as_ref())
            .cloned()
            .unwrap_or_default();
        let (correct, false_read) = judge(&case.expected, &texts);
        if let Some((_, row)) = rows.iter_mut().find(|(f, _)| *f == folder) {
            row.theirs.push(Outcome {
                correct,
                false_read,
                ms,
            });
        }
    }
    println!("| folder | images | found lgt / zxing-cpp | false reads lgt / zxing-cpp | median ms lgt / zxing-cpp | p95 ms lgt / zxing-cpp |");
    println!("|---|---|---|---|---|---|");
    let mut all = Row::default();
    for (folder, row) in &rows {
        print_row(folder, row);
        all.images += row.images;
        all.ours.extend(row.ours.iter().cloned());
        all.theirs.extend(row.theirs.iter().cloned());
    }
    print_row("**all**", &all);
}

fn print_row(name: &str, row: &Row) {
    let (of, ofr, omed, op95) = summary(&row.ours);
    let (tf, tfr, tmed, tp95) = summary(&row.theirs);
    let mark = if of < tf { " ⚠" } else { "" };
    println!(
        "| {name} | {} | {of} / {tf}{mark} | {ofr} / {tfr} | {omed:.2} / {tmed:.2} | {op95:.2} / {tp95:.2} |",
        row.images
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
        let theirs = zxing(&[("live", path.to_string_lossy().into_owned())], LIVE_RUNS);
        let (their_texts, their_ms) = theirs.into_values().next().unwrap_or_default();
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
    corpus_table(repeats);
    live_table();
}
