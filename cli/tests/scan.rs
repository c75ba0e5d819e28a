//! `lgt scan` and `lgt permit qr` through the real binary: a signed permit QR is rendered,
//! scanned back and verified; another store trusts the issuer; unreadable files are reported.

mod common;

use common::{stderr, Lgt};
use serde_json::Value;

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn issued_permit(lgt: &Lgt) -> String {
    let person = lgt.json(&[
        "register",
        "--name",
        "测试人",
        "--sex",
        "1",
        "--ethnicity",
        "01",
        "--number",
        "360426199101010071",
        "--household-address",
        "合成省演示县",
        "--house-code",
        "HC1",
        "--address",
        "合成市演示路9号",
        "--housing-type",
        "2",
        "--moved-in",
        "2026-11-01",
        "--reason",
        "1",
        "--occupation",
        "5",
    ]);
    let person_id = person["person_id"].as_str().unwrap().to_owned();
    let permit = lgt.json(&["permit", "accept", &person_id]);
    let permit_id = permit["permit"]["id"].as_str().unwrap().to_owned();
    lgt.json(&["permit", "issue", &permit_id, "--number", "SZ20260001"]);
    permit_id
}

#[test]
fn a_permit_qr_written_by_lgt_scans_back_as_a_valid_permit_and_forged_elsewhere_until_trusted() {
    let office = Lgt::init();
    issued_permit(&office);
    let png = office.dir.path().join("permit.png");
    let written = office.json(&["permit", "qr", "SZ20260001", "--out", png.to_str().unwrap()]);
    assert!(written["text"].as_str().unwrap().starts_with("LGTP1."));

    let out = office
        .command()
        .args(["--json", "scan"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["found"], true);
    assert_eq!(line["format"], "qr");
    assert_eq!(line["kind"], "permit");
    assert_eq!(line["permit_number"], "SZ20260001");
    assert_eq!(line["verification"]["verdict"], "valid");
    assert!(line["decode_ms"].as_f64().unwrap() >= 0.0);

    // A phone that does not trust the office's key cannot vouch for the code.
    let phone = Lgt::init();
    let scan_on_phone = || {
        let out = phone
            .command()
            .args(["--json", "scan"])
            .arg(&png)
            .output()
            .unwrap();
        json_lines(&out)[0]["verification"]["verdict"].clone()
    };
    assert_eq!(scan_on_phone(), "unknown_issuer");
    let key = office.json(&["permit", "issuer-key"]);
    phone.json(&[
        "permit",
        "trust-issuer",
        key["public_key"].as_str().unwrap(),
        "--label",
        "office-1",
    ]);
    assert_eq!(scan_on_phone(), "valid");
}

#[test]
fn a_folder_scan_reports_every_image_and_fails_for_unreadable_ones() {
    let lgt = Lgt::init();
    let dir = lgt.dir.path().join("images");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("broken.png"), b"\x89PNG\r\n\x1a\ntruncated").unwrap();
    std::fs::write(dir.join("notes.txt"), b"not an image, skipped").unwrap();
    // A 16x16 white PNG: readable, holds no code.
    std::fs::write(
        dir.join("sub").join("blank.png"),
        include_bytes!("data/blank.png"),
    )
    .unwrap();
    let out = lgt
        .command()
        .args(["--json", "scan", "--mode", "live"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "an unreadable image must fail the run"
    );
    let lines = json_lines(&out);
    // Two image lines (notes.txt is skipped), then the run's own error line.
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["error"]["code"], "scan.bad_image");
    assert_eq!(lines[1]["found"], false);
    assert!(lines[1]["file"].as_str().unwrap().ends_with("blank.png"));
    assert!(stderr(&out).contains("1 image(s) could not be read"));
}

#[test]
fn scan_all_prints_every_code_of_a_photo_and_a_plain_scan_one() {
    use lgt_core::scan::{render_qr, write_png};
    let lgt = Lgt::init();
    issued_permit(&lgt);
    let permit_png = lgt.dir.path().join("permit.png");
    let written = lgt.json(&[
        "permit",
        "qr",
        "SZ20260001",
        "--out",
        permit_png.to_str().unwrap(),
    ]);
    // The permit's QR and an identity number's (synthetic) side by side in one photo.
    let codes = [
        render_qr(written["text"].as_str().unwrap(), 4).unwrap(),
        render_qr("11010519491231002X", 4).unwrap(),
    ];
    let gap = 24;
    let width = codes.iter().map(|c| c.size + gap).sum::<u32>() + gap;
    let height = codes.iter().map(|c| c.size).max().unwrap() + 2 * gap;
    let mut pixels = vec![255u8; (width * height) as usize];
    let mut left = gap;
    for code in &codes {
        for y in 0..code.size {
            let at = ((gap + y) * width + left) as usize;
            let row = (y * code.size) as usize..((y + 1) * code.size) as usize;
            pixels[at..at + code.size as usize].copy_from_slice(&code.pixels[row]);
        }
        left += code.size + gap;
    }
    let photo = lgt.dir.path().join("document.png");
    write_png(&photo, width, height, &pixels).unwrap();

    let scan = |all: bool| {
        let mut command = lgt.command();
        command.args(["--json", "scan"]);
        if all {
            command.arg("--all");
        }
        let out = command.arg(&photo).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        json_lines(&out)
    };
    let lines = scan(true);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let mut kinds: Vec<_> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["id_number", "permit"]);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["found"], true);
        assert_eq!(line["index"], i + 1);
        assert_eq!(line["count"], 2);
    }
    let permit = lines.iter().find(|l| l["kind"] == "permit").unwrap();
    assert_eq!(permit["verification"]["verdict"], "valid");
    let number = lines.iter().find(|l| l["kind"] == "id_number").unwrap();
    assert_eq!(number["id_valid"], true);

    // Without --all: one line, the first code read, without index or count.
    let one = scan(false);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["found"], true);
    assert!(one[0].get("index").is_none());

    // The human lines name each code's place in the photo.
    let out = lgt
        .command()
        .args(["scan", "--all"])
        .arg(&photo)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[1/2]") && text.contains("[2/2]"), "{text}");
}
