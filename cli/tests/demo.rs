//! `lgt demo` end to end, as the README's first command runs it: in process server on
//! loopback, enrollment, scans, the watchlist alert, the permit and its QR code, sync, audit,
//! wipe; one line per step and a summary table, in Chinese by default and in English when the
//! locale says so; nothing personal printed and nothing left behind.

mod common;

use std::process::{Command, Output, Stdio};

use chrono::NaiveDate;
use common::{stderr, NOW};
use lgt_core::synthetic::SyntheticPeople;

/// The step titles, in Chinese and in English, in order.
const STEPS: [(&str, &str); 11] = [
    ("启动同步服务器", "Start the sync server"),
    ("设备入网", "Enroll the device"),
    ("下发监控名单", "Publish the watchlist"),
    ("扫码登记", "Scan and register"),
    ("名单比对提示", "Watchlist alert"),
    ("签发居住证", "Issue a permit"),
    ("注销居住证", "Cancel the permit"),
    ("同步", "Sync"),
    ("服务器数据", "What the server holds"),
    ("审计链校验", "Verify the audit chain"),
    ("擦除", "Wipe"),
];

/// Runs `lgt demo` under the locale `lang` (and a pinned clock, if given), in a fresh
/// temporary folder that the demo must leave empty.
fn demo(lang: &str, now: Option<&str>) -> (Output, String) {
    let tmp = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_lgt"));
    command
        .arg("demo")
        .env("LANG", lang)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LGT_STORE")
        .env_remove("LGT_NOW")
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null());
    if let Some(now) = now {
        command.env("LGT_NOW", now);
    }
    let started = std::time::Instant::now();
    let out = command.output().unwrap();
    eprintln!(
        "lgt demo ({lang}): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "the demo left files behind: {left:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

/// Every step line, in order, then the table with every step passed.
fn assert_complete(out: &Output, text: &str, chinese: bool) {
    assert!(out.status.success(), "{text}\n{}", stderr(out));
    let lines: Vec<&str> = text.lines().collect();
    for (i, (zh, en)) in STEPS.iter().enumerate() {
        let line = if chinese {
            format!("{:>2}. {zh}：", i + 1)
        } else {
            format!("{:>2}. {en}: ", i + 1)
        };
        assert!(
            lines.get(i).is_some_and(|l| l.starts_with(&line)),
            "step line {line:?} missing:\n{text}"
        );
        let ok = if chinese { "成功" } else { "ok" };
        let row = lines.iter().skip(STEPS.len()).any(|l| {
            l.starts_with(&format!("{:>2}. {}", i + 1, if chinese { zh } else { en }))
                && l.contains(ok)
        });
        assert!(row, "summary row of step {} missing:\n{text}", i + 1);
    }
    let (header, total) = if chinese {
        ("步骤", "共 11 步：11 成功，0 失败，0 跳过")
    } else {
        ("Step", "11 steps: 11 passed, 0 failed, 0 skipped")
    };
    assert!(
        lines.iter().any(|l| l.starts_with(header)),
        "no table:\n{text}"
    );
    assert!(text.contains(total), "no totals line:\n{text}");
}

#[test]
fn the_demo_plays_the_day_in_chinese_by_default() {
    let (out, text) = demo("zh_CN.UTF-8", None);
    assert_complete(&out, &text, true);
    assert!(text.contains("“可能匹配，请核实”"), "{text}");
    assert!(text.contains("扫描验证：有效"), "{text}");
    assert!(text.contains("但已注销"), "{text}");
}

#[test]
fn the_demo_speaks_english_and_prints_no_personal_value() {
    let (out, text) = demo("en_US.UTF-8", Some(NOW));
    assert_complete(&out, &text, false);
    assert!(text.contains("\"possible match: verify\""), "{text}");
    assert!(text.contains("verified: valid"), "{text}");
    assert!(text.contains("genuine, but cancelled"), "{text}");
    // The demo's synthetic people (seed 2026, as of the pinned day): no name, number,
    // address or phone of theirs appears, on either stream.
    let shown = format!("{text}{}", stderr(&out));
    let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    for person in SyntheticPeople::new(2026, today).take(2) {
        let mut values = vec![
            person.person.name.clone(),
            person.document.number.clone(),
            person.dwelling.house_code.clone(),
            person.dwelling.address.clone(),
            person.household_address.clone(),
        ];
        values.extend(person.contact_phone.clone());
        values.extend(person.landlord.as_ref().map(|c| c.phone.clone()));
        for value in values {
            assert!(!shown.contains(&value), "a personal value was printed");
        }
    }
}
