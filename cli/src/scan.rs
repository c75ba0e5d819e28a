//! `lgt scan` and the permit QR commands.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};
use lgt_core::crypto::PublicKey;
use lgt_core::scan::{
    interpret, load_luma, render_qr, write_png, Mode, Payload, ScanOptions, ScanResult, Scanner,
    Symbol,
};
use lgt_core::store::Store;
use lgt_core::{FieldCore, Lang};
use serde_json::{json, Value};

use crate::commands::Session;
use crate::output::{describe, CliError};

const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "webp"];

/// Files given, and the images under folders given (recursively, sorted).
fn images(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| {
                    CliError::new(
                        "cli.io",
                        format!("无法列出 {}：{e}", path.display()),
                        format!("cannot list {}: {e}", path.display()),
                    )
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            let (dirs, files): (Vec<_>, Vec<_>) = entries.into_iter().partition(|p| p.is_dir());
            out.extend(files.into_iter().filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            }));
            out.extend(images(&dirs)?);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// One line per image (with `all`, one line per code found, or one for an image without any);
/// exits non-zero if any image could not be read.
pub fn scan(ctx: &Session, paths: &[PathBuf], mode: &str, all: bool) -> Result<()> {
    let mode: Mode = mode.parse()?;
    let core = match &ctx.store {
        Some(dir) if Store::exists(dir) => {
            let core = ctx.open()?;
            crate::watchlist::listen(&core, ctx.lang);
            Some(core)
        }
        _ => None,
    };
    let mut scanner = Scanner::new();
    let options = ScanOptions::new(mode);
    let mut failed = 0;
    for path in images(paths)? {
        let lines = match scan_one(
            ctx.clock.today(),
            core.as_ref(),
            &mut scanner,
            &path,
            &options,
            all,
        ) {
            Ok(lines) => lines,
            Err(error) => {
                failed += 1;
                let (code, message) = describe(&error, Lang::En);
                let (_, message_zh) = describe(&error, Lang::ZhCn);
                vec![json!({ "file": path, "found": false, "error": {
                    "code": code, "message": message, "message_zh": message_zh,
                } })]
            }
        };
        for line in &lines {
            ctx.out.value(line, |line| human(line, ctx.lang))?;
        }
    }
    if failed > 0 {
        bail!(CliError::new(
            "scan.failed",
            format!("{failed} 个图像无法读取"),
            format!("{failed} image(s) could not be read"),
        ));
    }
    Ok(())
}

/// The lines of one image: its code (`all`: every code, each line with its `index` from 1
/// and the image's `count`), or one line saying nothing was found. `decode_ms` is the
/// decoding of the whole image.
fn scan_one(
    ctx_today: chrono::NaiveDate,
    core: Option<&FieldCore>,
    scanner: &mut Scanner,
    path: &Path,
    options: &ScanOptions,
    all: bool,
) -> Result<Vec<Value>> {
    let image = load_luma(path).map_err(lgt_core::Error::from)?;
    let started = Instant::now();
    let symbols = if all {
        scanner.decode_all(&image.frame(), options)
    } else {
        scanner
            .decode(&image.frame(), options)
            .map(|symbol| symbol.into_iter().collect())
    }
    .map_err(lgt_core::Error::from)?;
    let decode_ms = started.elapsed().as_secs_f64() * 1000.0;
    if symbols.is_empty() {
        return Ok(vec![
            json!({ "file": path, "found": false, "decode_ms": decode_ms }),
        ]);
    }
    let count = symbols.len();
    // Every code is interpreted before any line is printed: a locked store refuses the image
    // as a whole, as `FieldCore::scan_frame_all` does.
    let results = symbols
        .into_iter()
        .map(|symbol| interpret_one(ctx_today, core, symbol))
        .collect::<Result<Vec<_>>>()?;
    Ok(results
        .iter()
        .enumerate()
        .map(|(i, result)| {
            let mut line = symbol_line(path, result, decode_ms);
            if all {
                line["index"] = json!(i + 1);
                line["count"] = json!(count);
            }
            line
        })
        .collect())
}

/// A decoded symbol interpreted: through the store when there is one (watchlist, permit
/// verification), else its payload only.
fn interpret_one(
    ctx_today: chrono::NaiveDate,
    core: Option<&FieldCore>,
    symbol: Symbol,
) -> Result<ScanResult> {
    Ok(match core {
        Some(core) => core.scan_symbol(symbol)?,
        None => ScanResult {
            payload: interpret(&symbol.text, ctx_today),
            symbol,
            permit: None,
            watchlist: None,
        },
    })
}

fn symbol_line(path: &Path, result: &ScanResult, decode_ms: f64) -> Value {
    let mut line = json!({
        "file": path,
        "found": true,
        "format": result.symbol.format,
        "text": result.symbol.text,
        "kind": result.payload.kind(),
        "decode_ms": decode_ms,
        "position": result.symbol.position,
    });
    if let Some(check) = &result.watchlist {
        line["watchlist"] = json!({ "list": check.list, "alerts": check.alerts });
    }
    match &result.payload {
        Payload::IdNumber(parsed) => {
            line["id_valid"] = json!(parsed.is_ok());
            if let Err(e) = parsed {
                line["id_error"] = json!(e.code());
            }
        }
        Payload::Permit(parsed) => {
            if let Ok(signed) = parsed {
                line["permit_number"] = json!(signed.claim.permit_number);
                line["valid_until"] = json!(signed.claim.valid_until);
                line["issuer_key_id"] = json!(signed.claim.issuer_key_id);
            }
            // Without a store nothing is trusted: the verdict needs the issuer table.
            line["verification"] = match &result.permit {
                Some(v) => json!(v),
                None => json!("needs a store"),
            };
        }
        Payload::DoorPlate(plate) => {
            line["house_code"] = json!(plate.house_code);
            line["address"] = json!(plate.address);
        }
        Payload::Ctid => line["advice"] = json!("verify online on the CTID platform"),
        Payload::Unknown => {}
    }
    line
}

fn human(line: &Value, lang: Lang) -> String {
    let file = line["file"].as_str().unwrap_or_default();
    if let Some(error) = line.get("error") {
        let message = error[lang.pick("message_zh", "message")]
            .as_str()
            .unwrap_or_default();
        let code = error["code"].as_str().unwrap_or_default();
        return lang.pick(
            format!("{file}：错误：{message} [{code}]"),
            format!("{file}: error: {message} [{code}]"),
        );
    }
    let ms = line["decode_ms"].as_f64().unwrap_or_default();
    if line["found"] != json!(true) {
        return lang.pick(
            format!("{file}：未找到条码（{ms:.1} ms）"),
            format!("{file}: nothing found ({ms:.1} ms)"),
        );
    }
    // With --all: which of the image's codes, e.g. "photo.jpg [2/3]".
    let file = match (line["index"].as_u64(), line["count"].as_u64()) {
        (Some(index), Some(count)) => format!("{file} [{index}/{count}]"),
        _ => file.to_owned(),
    };
    let mut text = format!(
        "{file}: {} {} ({:.1} ms): {}",
        line["format"].as_str().unwrap_or_default(),
        line["kind"].as_str().unwrap_or_default(),
        line["decode_ms"].as_f64().unwrap_or_default(),
        line["text"].as_str().unwrap_or_default()
    );
    if let Some(verdict) = line["verification"].get("verdict") {
        text.push_str(&format!(
            " [permit: {}]",
            verdict.as_str().unwrap_or_default()
        ));
    }
    text
}

/// Writes the signed QR of an issued permit as a PNG.
pub fn permit_qr(ctx: &Session, core: &FieldCore, permit: &str, out: &Path) -> Result<()> {
    let text = core.permit_qr(permit)?;
    let image = render_qr(&text, 8).map_err(lgt_core::Error::from)?;
    write_png(out, image.size, image.size, &image.pixels).map_err(lgt_core::Error::from)?;
    ctx.out.value(&json!({ "file": out, "text": text }), |_| {
        ctx.lang.pick(
            format!("已将签名的居住证二维码写入 {}", out.display()),
            format!("signed permit QR written to {}", out.display()),
        )
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Prints this device's issuer public key.
pub fn issuer_key(ctx: &Session, core: &FieldCore) -> Result<()> {
    let key = core.issuer_public_key()?;
    let value = json!({ "key_id": key.key_id(), "public_key": hex(key.as_bytes()) });
    ctx.out.value(&value, |v| {
        format!(
            "issuer key {}: {}",
            v["key_id"].as_str().unwrap_or_default(),
            v["public_key"].as_str().unwrap_or_default()
        )
    })
}

/// Trusts another issuer's public key.
pub fn trust_issuer(ctx: &Session, core: &FieldCore, public_key: &str, label: &str) -> Result<()> {
    let key = unhex(public_key)
        .and_then(|b| PublicKey::try_from_slice(&b).ok())
        .ok_or_else(|| {
            CliError::new(
                "cli.bad_key",
                "公钥应为 64 位十六进制数字",
                "the public key must be 64 hex digits",
            )
        })?;
    core.trust_issuer(&key, label)?;
    ctx.out.value(&json!({ "trusted": key.key_id() }), |_| {
        ctx.lang.pick(
            format!("已信任签发密钥 {}", key.key_id()),
            format!("issuer key {} trusted", key.key_id()),
        )
    })
}
