//! The core's layering, checked: data flows one way, so no module names one above it.
//!
//! Every module of `core/src` has a place in [`ORDER`], lowest first; a module may name
//! (`crate::x`) only modules before it. `crate::Error` is the one exception: the crate's error
//! type, which every capability returns and which wraps each capability's own error. A second
//! rule keeps the store's bookkeeping cipher (`store.cipher()`) to the modules that keep the
//! books; everything else reaches sealed personal rows through `Unlocked`.
//! `docs/architecture.md` explains the layers.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Lowest first. A module may import only modules earlier in this list.
const ORDER: &[&str] = &[
    // Leaves.
    "clock",
    "crypto",
    "text",
    "codes",
    "identity",
    "session",
    // The store and the records written with each change.
    "store",
    "audit",
    "outbox",
    // Capabilities.
    "watchlist",
    "registration",
    "permit",
    "issuers",
    "scan",
    "sync",
    // Work across capabilities, the facade, what shells read.
    "usecases",
    "field",
    "error",
    "messages",
    "synthetic",
    // UniFFI custom types for the bindings (feature `uniffi`).
    "uniffi_types",
];

/// The modules that may use the store's bookkeeping cipher.
const BOOKKEEPERS: &[&str] = &["store", "audit", "outbox", "sync"];

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("core/src is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`None` for lib.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative
        .components()
        .next()?
        .as_os_str()
        .to_str()?
        .to_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (name != "lib").then_some(name)
}

/// The code of a file without comments (doc links may point anywhere).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let code = line.split("//").next().unwrap_or("");
        (!code.trim().is_empty()).then_some((i + 1, code))
    })
}

/// The crate modules a line of code names: `crate::x` and `crate::{x, y::z}`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                named.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            named.insert(name);
        }
    }
    named.retain(|n| !n.is_empty() && n != "Error" && n != "self");
    named
}

#[test]
fn no_module_names_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let rank = |module: &str| ORDER.iter().position(|m| *m == module);
    let mut upward = Vec::new();
    let mut unplaced = BTreeSet::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let Some(own) = rank(&module) else {
            unplaced.insert(module);
            continue;
        };
        let text = fs::read_to_string(file).expect("source is UTF-8");
        for (line, code) in code_lines(&text) {
            for named in named_modules(code) {
                match rank(&named) {
                    Some(theirs) if theirs > own => upward.push(format!(
                        "{}:{line}: {module} names {named}, a layer above it",
                        file.strip_prefix(&src).unwrap().display()
                    )),
                    Some(_) => {}
                    None => {
                        unplaced.insert(named);
                    }
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules without a place in ORDER (add them where they belong): {unplaced:?}"
    );
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn only_the_bookkeepers_use_the_stores_own_cipher() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut misuse = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        if BOOKKEEPERS.contains(&module.as_str()) {
            continue;
        }
        let text = fs::read_to_string(file).expect("source is UTF-8");
        for (line, code) in code_lines(&text) {
            let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.contains("store.cipher()") || compact.contains("store().cipher()") {
                misuse.push(format!(
                    "{}:{line}: personal rows go through Unlocked",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(misuse.is_empty(), "{}", misuse.join("\n"));
}

/// The checks themselves catch what they claim to.
#[test]
fn the_checks_see_both_forms_of_import() {
    assert_eq!(
        named_modules("use crate::{audit::Audited, field::Session};"),
        BTreeSet::from(["audit".to_owned(), "field".to_owned()])
    );
    assert_eq!(
        named_modules(
            code_lines("    let x = crate::usecases::run(); // crate::field")
                .next()
                .unwrap()
                .1
        ),
        BTreeSet::from(["usecases".to_owned()])
    );
    assert!(named_modules("fn f() -> Result<(), crate::Error>").is_empty());
    let lines: Vec<_> = code_lines("/// crate::field\nuse crate::store;").collect();
    assert_eq!(lines, vec![(2, "use crate::store;")]);
}
