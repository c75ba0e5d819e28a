//! Helpers for driving the real `lgt` binary against a temporary store.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const NOW: &str = "2026-11-29T10:00:00+08:00";

pub struct Lgt {
    pub dir: tempfile::TempDir,
}

impl Lgt {
    /// A new, initialised store.
    pub fn init() -> Self {
        let lgt = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = lgt.run(&["init"]);
        assert!(out.status.success(), "init failed: {}", stderr(&out));
        lgt
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lgt"));
        command
            .env("LGT_STORE", self.store())
            .env("LGT_NOW", NOW)
            .env("LGT_ACTOR", "tester-1")
            .env_remove("LGT_KEY_FILE")
            // English whatever the machine's locale: the tests read English texts, and the
            // language tests (lang.rs) set their own locale or `--lang`.
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "en_US.UTF-8")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs with `--json`, expects success, parses standard output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.command().arg("--json").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "lgt {args:?} failed: {}",
            stderr(&out)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Bytes of every database file in the store directory.
    pub fn raw_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        std::fs::read_dir(self.store())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("lgt.db")
            })
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect()
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Which of `needles` occur anywhere in `haystack`, in one pass.
pub fn occurring<'a>(haystack: &[u8], needles: &[&'a str]) -> Vec<&'a str> {
    let matcher = aho_corasick::AhoCorasick::new(needles).unwrap();
    let mut found: Vec<&str> = matcher
        .find_overlapping_iter(haystack)
        .map(|m| needles[m.pattern().as_usize()])
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// A one-line error on stderr, no panic, non-zero exit.
pub fn assert_clean_failure(out: &Output) {
    assert!(!out.status.success(), "expected failure");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(out);
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err:?}"
    );
}

pub fn store_path(dir: &Path) -> PathBuf {
    dir.join("store")
}

/// `lgt register` arguments for a synthetic person (the watchlist tests list them).
pub fn register_args(number: &str) -> Vec<&str> {
    register_args_for("曾国强", "1", number)
}

/// `lgt register` arguments for a synthetic person with this name, sex code and number.
pub fn register_args_for<'a>(name: &'a str, sex: &'a str, number: &'a str) -> Vec<&'a str> {
    vec![
        "register",
        "--name",
        name,
        "--sex",
        sex,
        "--ethnicity",
        "01",
        "--number",
        number,
        "--household-address",
        "合成省演示县1组",
        "--house-code",
        "HC-2",
        "--address",
        "合成市演示路2号",
        "--housing-type",
        "3",
        "--moved-in",
        "2026-11-01",
        "--reason",
        "1",
        "--occupation",
        "5",
    ]
}
