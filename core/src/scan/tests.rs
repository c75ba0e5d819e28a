use chrono::NaiveDate;

use super::permit_qr::{self, PermitClaim, PermitQrError};
use super::*;
use crate::crypto::SigningKey;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
}

fn frame(data: &[u8], width: u32, height: u32, row_stride: u32) -> LumaFrame<'_> {
    LumaFrame {
        data,
        width,
        height,
        row_stride,
    }
}

fn decode(frame: &LumaFrame<'_>, options: &ScanOptions) -> Result<Option<Symbol>, ScanError> {
    Scanner::new().decode(frame, options)
}

#[test]
fn malformed_frames_are_clear_errors() {
    let still = ScanOptions::new(Mode::Still);
    let pixels = vec![255u8; 64];
    assert_eq!(
        decode(&frame(&pixels, 0, 0, 0), &still),
        Err(ScanError::EmptyFrame)
    );
    assert_eq!(
        decode(&frame(&[], 1, 0, 1), &still),
        Err(ScanError::EmptyFrame)
    );
    assert_eq!(decode(&frame(&pixels, 1, 1, 1), &still), Ok(None));
    assert!(matches!(
        decode(&frame(&pixels, 8, 8, 4), &still),
        Err(ScanError::BadStride { .. })
    ));
    assert!(matches!(
        decode(&frame(&pixels, 8, 9, 8), &still),
        Err(ScanError::ShortBuffer {
            needed: 72,
            got: 64
        })
    ));
    assert!(matches!(
        decode(&frame(&pixels, 20_000, 20_000, 20_000), &still),
        Err(ScanError::TooLarge { .. })
    ));
    let outside = still.with_region(Region {
        x: 8,
        y: 0,
        width: 4,
        height: 4,
    });
    assert_eq!(
        decode(&frame(&pixels, 8, 8, 8), &outside),
        Err(ScanError::RegionOutside)
    );
}

/// Narrow images were where rxing 0.9.3 panicked (MaxiCode with try-harder, under 33 px):
/// every small size decodes to a result, never a panic.
#[test]
fn tiny_and_degenerate_frames_never_panic() {
    for width in 1..40u32 {
        for height in [1u32, 2, 7, 32, 33] {
            let pixels: Vec<u8> = (0..width * height).map(|i| (i * 37 % 256) as u8).collect();
            for mode in [Mode::Live, Mode::Still] {
                let result = decode(
                    &frame(&pixels, width, height, width),
                    &ScanOptions::new(mode),
                );
                assert!(matches!(result, Ok(None) | Err(ScanError::DecoderPanicked)));
            }
        }
    }
}

#[test]
fn a_strided_frame_with_a_region_decodes_and_reports_frame_coordinates() {
    let qr = render_qr("HELLO 流管通", 3).unwrap();
    // Place the code at (100, 50) in a 400x300 frame whose rows are 512 bytes apart.
    let (w, h, stride) = (400u32, 300u32, 512u32);
    let mut pixels = vec![255u8; (stride * h) as usize];
    for y in 0..qr.size {
        let row = ((50 + y) * stride + 100) as usize;
        let src = (y * qr.size) as usize;
        pixels[row..row + qr.size as usize]
            .copy_from_slice(&qr.pixels[src..src + qr.size as usize]);
    }
    let frame = frame(&pixels, w, h, stride);
    let box_ = Region {
        x: 80,
        y: 30,
        width: qr.size + 40,
        height: qr.size + 40,
    };
    for options in [
        ScanOptions::new(Mode::Live),
        ScanOptions::new(Mode::Live).with_region(box_),
    ] {
        let symbol = decode(&frame, &options).unwrap().expect("found");
        assert_eq!(symbol.format, Format::Qr);
        assert_eq!(symbol.text, "HELLO 流管通");
        assert!(symbol
            .position
            .iter()
            .all(|p| (100.0..100.0 + qr.size as f32).contains(&p.x)
                && (50.0..50.0 + qr.size as f32).contains(&p.y)));
    }
    // A region that misses the code finds nothing.
    let elsewhere = ScanOptions::new(Mode::Still).with_region(Region {
        x: 300,
        y: 0,
        width: 100,
        height: 100,
    });
    assert_eq!(decode(&frame, &elsewhere), Ok(None));
}

#[test]
fn identity_numbers_are_parsed_and_checksum_failures_reported() {
    let Payload::IdNumber(Ok(id)) = interpret("11010519491231002X", today()) else {
        panic!("a valid number");
    };
    assert_eq!(id.as_str(), "11010519491231002X");
    assert!(interpret(" 11010519491231002x\n", today())
        .id_number()
        .is_some());
    assert_eq!(
        interpret("110105194912310021", today()),
        Payload::IdNumber(Err(crate::identity::IdError::CheckDigit))
    );
    assert_eq!(interpret("1101051949123100", today()), Payload::Unknown);
}

#[test]
fn door_plates_ctid_tokens_and_anything_else() {
    let plate = interpret(
        "https://dz.example.gov.cn/mp?dzbm=44030500-0012-a&dz=%E6%B7%B1%E5%9C%B3%E5%B8%82%E6%BC%94%E7%A4%BA%E8%B7%AF9%E5%8F%B7",
        today(),
    );
    assert_eq!(
        plate,
        Payload::DoorPlate(DoorPlate {
            house_code: "44030500-0012-A".into(),
            address: Some("深圳市演示路9号".into()),
        })
    );
    assert_eq!(
        interpret("houseCode=HC1;address=合成市演示路9号", today()).kind(),
        "door_plate"
    );
    assert_eq!(interpret("houseCode=bad code!", today()), Payload::Unknown);
    assert_eq!(interpret("CTID:v1:AbCdEf0123", today()), Payload::Ctid);
    assert_eq!(
        interpret("https://wz.ctid.cn/t?x=1", today()),
        Payload::Ctid
    );
    assert_eq!(
        interpret("https://example.com/?a=1", today()),
        Payload::Unknown
    );
    assert_eq!(interpret("", today()), Payload::Unknown);
    assert_eq!(interpret(&"9".repeat(5000), today()), Payload::Unknown);
}

fn claim(key: &SigningKey) -> PermitClaim {
    PermitClaim {
        permit_number: "SZ20260001".into(),
        holder_ref: permit_qr::holder_ref(&[7; 32], "11010519491231002X"),
        valid_from: today(),
        valid_until: NaiveDate::from_ymd_opt(2027, 3, 10).unwrap(),
        issuer_key_id: key.public_key().key_id(),
    }
}

#[test]
fn permit_codes_verify_only_for_their_key_text_and_dates() {
    let key = SigningKey::generate().unwrap();
    let public = key.public_key();
    let text = permit_qr::sign(&claim(&key), &key).unwrap();
    let Payload::Permit(Ok(signed)) = interpret(&text, today()) else {
        panic!("a permit");
    };
    assert_eq!(signed.verify(Some(&public), today()), Ok(()));
    let id = crate::identity::parse("11010519491231002X", today()).unwrap();
    assert!(signed.holder_matches(&[7; 32], &id));
    assert!(!signed.holder_matches(&[8; 32], &id));

    let other = SigningKey::generate().unwrap().public_key();
    assert_eq!(
        signed.verify(None, today()),
        Err(PermitQrError::UnknownIssuer)
    );
    assert_eq!(
        signed.verify(Some(&other), today()),
        Err(PermitQrError::UnknownIssuer)
    );
    assert!(matches!(
        signed.verify(Some(&public), NaiveDate::from_ymd_opt(2027, 3, 11).unwrap()),
        Err(PermitQrError::Expired { .. })
    ));
    assert!(matches!(
        signed.verify(Some(&public), NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()),
        Err(PermitQrError::NotYetValid { .. })
    ));

    // A claim re-encoded with a later expiry keeps the old signature: it must fail.
    let (_, signature) = text.rsplit_once('.').unwrap();
    let mut extended = claim(&key);
    extended.valid_until = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let body = serde_json::to_vec(&extended).unwrap();
    use base64::Engine;
    let forged = format!(
        "LGTP1.{}.{signature}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body)
    );
    let Payload::Permit(Ok(forged)) = interpret(&forged, today()) else {
        panic!("parses");
    };
    assert_eq!(
        forged.verify(Some(&public), today()),
        Err(PermitQrError::BadSignature)
    );

    for malformed in [
        "LGTP1.",
        "LGTP1.abc",
        "LGTP1.e30.AAAA",
        &format!("{text}x"),
        &text[..text.len() - 2],
    ] {
        assert!(
            matches!(
                interpret(malformed, today()),
                Payload::Permit(Err(PermitQrError::Malformed))
            ),
            "{malformed}"
        );
    }
}

#[cfg(feature = "image-files")]
mod files {
    use std::io::Write;

    use super::*;

    fn png_header(width: u32, height: u32) -> Vec<u8> {
        // Signature, IHDR and an empty IDAT: enough for the header check, nothing to decode.
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", Vec::new())] {
            let typed = [kind.as_slice(), &data].concat();
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(&typed);
            out.extend_from_slice(&crc32(&typed).to_be_bytes());
        }
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn images_of_every_awkward_size_and_truncated_files_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("1x1.png");
        write_png(&one, 1, 1, &[0]).unwrap();
        assert_eq!(load_luma(&one).unwrap().pixels, vec![0]);
        let mut scanner = Scanner::new();
        assert_eq!(
            decode_file(&mut scanner, &one, &ScanOptions::new(Mode::Still)),
            Ok(None)
        );

        assert!(matches!(
            load_luma(file_with(&png_header(0, 0)).path()),
            Err(ScanError::BadImage(_) | ScanError::EmptyFrame)
        ));
        assert_eq!(
            load_luma(file_with(&png_header(20_000, 20_000)).path()),
            Err(ScanError::TooLarge {
                width: 20_000,
                height: 20_000
            })
        );

        let qr = render_qr("SZ20260001", 4).unwrap();
        let whole = dir.path().join("qr.png");
        write_png(&whole, qr.size, qr.size, &qr.pixels).unwrap();
        let found = decode_file(&mut scanner, &whole, &ScanOptions::new(Mode::Still)).unwrap();
        assert_eq!(found.unwrap().text, "SZ20260001");
        let bytes = std::fs::read(&whole).unwrap();
        let truncated = file_with(&bytes[..bytes.len() / 2]);
        assert!(matches!(
            load_luma(truncated.path()),
            Err(ScanError::BadImage(_))
        ));
        assert!(matches!(
            load_luma(file_with(b"not an image").path()),
            Err(ScanError::BadImage(_))
        ));
        assert!(matches!(
            load_luma(&dir.path().join("missing.png")),
            Err(ScanError::Io(_))
        ));
    }
}
