//! `lgt` speaks the locale's language (`LC_ALL`, `LC_MESSAGES`, `LANG`) or `--lang`'s, Chinese
//! by default, and prints the stable code beside every message.

mod common;

use common::*;
use std::process::Output;

/// A wrong-length identity number (17 characters): the core refuses it.
const SHORT: &str = "11010519491231002";

fn id_check(lgt: &Lgt, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = lgt.command();
    command.env_remove("LANG");
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .args(args)
        .args(["id", "check", SHORT])
        .output()
        .unwrap()
}

fn lgt() -> Lgt {
    Lgt {
        dir: tempfile::tempdir().unwrap(),
    }
}

#[test]
fn a_chinese_locale_gets_the_chinese_message_and_the_code() {
    let lgt = lgt();
    let out = id_check(&lgt, &[("LANG", "zh_CN.UTF-8")], &[]);
    assert_clean_failure(&out);
    let err = stderr(&out);
    assert!(
        err.contains("身份号码应为 18 位（或旧式 15 位），实为 17 位"),
        "{err}"
    );
    assert!(err.contains("[id.wrong_length]"), "{err}");
    assert!(!err.contains(SHORT), "the error repeats the input: {err}");
}

#[test]
fn lang_flag_and_english_locales_get_english() {
    let lgt = lgt();
    for (env, args) in [
        (vec![("LANG", "zh_CN.UTF-8")], vec!["--lang", "en"]),
        (vec![("LANG", "en_US.UTF-8")], vec![]),
        (
            vec![("LANG", "zh_CN.UTF-8"), ("LC_ALL", "en_US.UTF-8")],
            vec![],
        ),
    ] {
        let out = id_check(&lgt, &env, &args);
        assert_clean_failure(&out);
        let err = stderr(&out);
        assert!(err.contains("has 17 characters"), "{env:?} {args:?}: {err}");
        assert!(err.contains("[id.wrong_length]"), "{err}");
        assert!(!err.contains("身份号码"), "{err}");
    }
    let out = id_check(&lgt, &[("LANG", "en_US.UTF-8")], &["--lang", "zh-CN"]);
    assert!(stderr(&out).contains("实为 17 位"), "{}", stderr(&out));
}

#[test]
fn without_a_locale_lgt_speaks_chinese() {
    let out = id_check(&lgt(), &[], &[]);
    assert!(stderr(&out).contains("实为 17 位"), "{}", stderr(&out));
}

#[test]
fn lgt_own_refusals_are_in_both_languages() {
    let lgt = Lgt::init();
    let zh = lgt
        .command()
        .args(["--lang", "zh-CN", "wipe"])
        .output()
        .unwrap();
    assert_clean_failure(&zh);
    assert!(
        stderr(&zh).contains("请用 --yes 确认") && stderr(&zh).contains("[cli.confirm]"),
        "{}",
        stderr(&zh)
    );
    let en = lgt.run(&["wipe"]);
    assert!(
        stderr(&en).contains("confirm with --yes"),
        "{}",
        stderr(&en)
    );

    // Human output follows the language too; JSON keeps its keys and gives both messages.
    let zh = lgt
        .command()
        .args(["--lang", "zh-CN", "outbox"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&zh.stdout).contains("共 0 个操作"));
    let json = lgt
        .command()
        .args(["--json", "--lang", "zh-CN", "id", "check", SHORT])
        .output()
        .unwrap();
    let reply: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(reply["error"]["code"], "id.wrong_length");
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("17 characters"));
    assert!(reply["error"]["message_zh"]
        .as_str()
        .unwrap()
        .contains("实为 17 位"));
}
