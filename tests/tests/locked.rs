//! The offline lock, method by method: a phone past its offline limit calls every public
//! method of `FieldCore`. Those that reach personal data answer `sync.locked` and change
//! nothing; the others (status, the outbox's ids, the audit trail, sync itself) still work.
//! The table must name every public method: a new one without a row fails this test.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::{Duration, Utc};
use lgt_core::clock::{Clock, FixedClock};
use lgt_core::crypto::{KeyFile, SigningKey};
use lgt_core::permit::PermitCommand;
use lgt_core::registration::DocumentInput;
use lgt_core::scan::{render_qr, Format, LumaFrame, Mode, QrImage, ScanOptions, Scanner, Symbol};
use lgt_core::store::StoreOptions;
use lgt_core::sync::{Backoff, SyncAttempt, WatchOptions};
use lgt_core::watchlist::{Subject, WatchlistPolicy};
use lgt_core::{Error, FieldCore, OpenParams};
use lgt_e2e::{BackendChoice, Phone, TestServer};

/// What a locked phone's call must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Locked {
    /// Refused with `sync.locked`.
    Refused,
    /// Not refused by the lock (it may fail for another reason, never `sync.locked`).
    Allowed,
}

struct Fixture {
    person_id: String,
    permit_id: String,
    permit_number: String,
    id_number: String,
    name: String,
    house_code: String,
    id_qr: Vec<u8>,
    qr_side: u32,
    /// A photo of two codes side by side (the identity number's QR and a door plate's).
    two_codes: Vec<u8>,
    two_codes_size: (u32, u32),
    server_url: String,
}

type Call = fn(&FieldCore, &Fixture) -> Result<(), Error>;

fn ok<T>(result: Result<T, Error>) -> Result<(), Error> {
    result.map(|_| ())
}

/// Every public method of `FieldCore`, in the order they run.
fn table() -> Vec<(&'static str, Locked, Call)> {
    use Locked::{Allowed, Refused};
    vec![
        ("store_id", Allowed, |core, _| {
            assert!(!core.store_id().is_empty());
            Ok(())
        }),
        ("register", Refused, |core, _| {
            let mut people = lgt_core::synthetic::SyntheticPeople::new(7, Utc::now().date_naive());
            ok(core.register(&people.next_registration()))
        }),
        ("add_identifier", Refused, |core, f| {
            let document = DocumentInput {
                doc_type: "1".into(),
                number: f.id_number.clone(),
            };
            ok(core.add_identifier(&f.person_id, &document))
        }),
        ("find_by_document_number", Refused, |core, f| {
            ok(core.find_by_document_number(&f.id_number))
        }),
        ("find_by_name", Refused, |core, f| {
            ok(core.find_by_name(&f.name))
        }),
        ("dwelling", Refused, |core, f| {
            ok(core.dwelling(&f.house_code))
        }),
        ("export_person", Refused, |core, f| {
            ok(core.export_person(&f.person_id))
        }),
        ("permit", Refused, |core, f| {
            ok(core.permit(&PermitCommand::Accept {
                person_id: f.person_id.clone(),
            }))
        }),
        ("permit_show", Refused, |core, f| {
            ok(core.permit_show(&f.permit_id))
        }),
        ("permit_qr", Refused, |core, f| {
            ok(core.permit_qr(&f.permit_number))
        }),
        ("permit_number_from_pool", Allowed, |core, _| {
            ok(core.permit_number_from_pool())
        }),
        ("issuer_public_key", Refused, |core, _| {
            ok(core.issuer_public_key())
        }),
        ("trust_issuer", Allowed, |core, _| {
            let key = SigningKey::generate().unwrap().public_key();
            core.trust_issuer(&key, "office")
        }),
        ("revoke_issuer", Allowed, |core, _| {
            let key = SigningKey::generate().unwrap().public_key();
            core.trust_issuer(&key, "office")?;
            core.revoke_issuer(&key.key_id())
        }),
        ("scan_frame", Refused, |core, f| {
            let frame = LumaFrame {
                data: &f.id_qr,
                width: f.qr_side,
                height: f.qr_side,
                row_stride: f.qr_side,
            };
            ok(core.scan_frame(&mut Scanner::new(), &frame, &ScanOptions::new(Mode::Still)))
        }),
        ("scan_file", Refused, |core, f| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("id.png");
            lgt_core::scan::write_png(&path, f.qr_side, f.qr_side, &f.id_qr).unwrap();
            ok(core.scan_file(&mut Scanner::new(), &path, &ScanOptions::new(Mode::Still)))
        }),
        ("scan_frame_all", Refused, |core, f| {
            let (width, height) = f.two_codes_size;
            let frame = LumaFrame {
                data: &f.two_codes,
                width,
                height,
                row_stride: width,
            };
            ok(core.scan_frame_all(&mut Scanner::new(), &frame, &ScanOptions::new(Mode::Still)))
        }),
        ("scan_file_all", Refused, |core, f| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("two.png");
            let (width, height) = f.two_codes_size;
            lgt_core::scan::write_png(&path, width, height, &f.two_codes).unwrap();
            ok(core.scan_file_all(&mut Scanner::new(), &path, &ScanOptions::new(Mode::Still)))
        }),
        ("scan_symbol", Refused, |core, f| {
            ok(core.scan_symbol(Symbol {
                format: Format::Qr,
                text: f.id_number.clone(),
                position: Vec::new(),
            }))
        }),
        ("set_alert_listener", Allowed, |core, _| {
            struct Quiet;
            impl lgt_core::watchlist::AlertListener for Quiet {
                fn on_alert(&self, _: &lgt_core::watchlist::WatchlistAlert) {}
            }
            core.set_alert_listener(Arc::new(Quiet));
            Ok(())
        }),
        ("set_watchlist_threshold", Allowed, |core, _| {
            core.set_watchlist_threshold(50);
            Ok(())
        }),
        ("watchlist_import", Refused, |core, _| {
            // The list's rows are keyed by the store's key: refused for the lock, before the
            // package is even read.
            let root = SigningKey::generate().unwrap().public_key();
            ok(core.watchlist_import(b"not a list", &WatchlistPolicy::new(vec![root])))
        }),
        ("watchlist_status", Allowed, |core, _| {
            ok(core.watchlist_status())
        }),
        ("watchlist_check_identity", Refused, |core, f| {
            ok(core.watchlist_check_identity(&Subject {
                id_numbers: vec![f.id_number.clone()],
                ..Subject::default()
            }))
        }),
        ("watchlist_alerts", Refused, |core, _| {
            ok(core.watchlist_alerts())
        }),
        ("watchlist_recheck", Refused, |core, _| {
            ok(core.watchlist_recheck())
        }),
        ("sync_replica", Refused, |core, _| {
            ok(core.sync_replica(lgt_protocol::Bucket::Records))
        }),
        ("sync_district_permits", Refused, |core, _| {
            ok(core.sync_district_permits())
        }),
        ("sync_status", Allowed, |core, _| ok(core.sync_status())),
        ("audit_verify", Allowed, |core, _| {
            assert!(core.audit_verify()?.is_intact());
            Ok(())
        }),
        ("audit_recent", Allowed, |core, _| ok(core.audit_recent(10))),
        ("outbox", Allowed, |core, _| ok(core.outbox(None))),
        ("integrity_check", Allowed, |core, _| {
            assert_eq!(core.integrity_check()?, "ok");
            Ok(())
        }),
        ("sync_pin_watchlist", Allowed, |core, _| {
            let root = SigningKey::generate().unwrap().public_key();
            core.sync_pin_watchlist(&WatchlistPolicy::new(vec![root]))
        }),
        // Enrolled already: refused as such, never for the lock.
        ("sync_enroll", Allowed, |core, f| {
            match core.sync_enroll(&f.server_url, &[], "ABCD-EFGH") {
                Err(e) if e.code() == "sync.locked" => Err(e),
                _ => Ok(()),
            }
        }),
        ("sync_enroll_task", Allowed, |core, f| {
            let task = core.sync_enroll_task(&f.server_url, &[], "ABCD-EFGH");
            match futures_block_on(core, task) {
                Err(e) if e.code() == "sync.locked" => Err(e),
                _ => Ok(()),
            }
        }),
        // Syncing is how a locked phone unlocks (the table locks it again before each row).
        ("sync_now", Allowed, |core, _| ok(core.sync_now())),
        ("sync_now_task", Allowed, |core, _| {
            ok(futures_block_on(core, core.sync_now_task()))
        }),
        ("sync_watch", Allowed, |core, _| {
            let options = WatchOptions {
                interval: std::time::Duration::from_secs(3600),
                backoff: Backoff::new(
                    std::time::Duration::from_millis(10),
                    std::time::Duration::from_millis(50),
                ),
            };
            core.sync_watch(options, |_: &SyncAttempt| ControlFlow::Break(()))
                .wait()
        }),
    ]
}

/// Two QR codes side by side on white, as one photo: its pixels, width and height.
fn side_by_side(codes: [&QrImage; 2]) -> (Vec<u8>, (u32, u32)) {
    const GAP: u32 = 24;
    let width = codes.iter().map(|c| c.size + GAP).sum::<u32>() + GAP;
    let height = codes.iter().map(|c| c.size).max().unwrap() + 2 * GAP;
    let mut pixels = vec![255u8; (width * height) as usize];
    let mut left = GAP;
    for code in codes {
        let (side, top) = (code.size as usize, GAP as usize);
        for y in 0..side {
            let at = (top + y) * width as usize + left as usize;
            pixels[at..at + side].copy_from_slice(&code.pixels[y * side..(y + 1) * side]);
        }
        left += code.size + GAP;
    }
    (pixels, (width, height))
}

/// Awaits a core task from a thread of the test (any executor would do).
fn futures_block_on<T>(_core: &FieldCore, task: lgt_core::SyncTask<T>) -> Result<T, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(task)
}

/// The public methods `core/src/field/mod.rs` defines on `FieldCore`.
fn public_methods() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/src/field/mod.rs");
    let source = std::fs::read_to_string(path).unwrap();
    source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub fn "))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn a_locked_phone_answers_every_method_by_the_table() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let mut phone = Phone::with_clock(71, clock.clone());
    phone.enroll(
        &server.url,
        &server.enrollment_code_with_limit("c1", "110105", 3600),
    );
    let receipt = phone.register(1).remove(0);
    let person = phone.core.export_person(&receipt.person_id).unwrap().person;
    phone.sync_until_quiet(3);
    let number = phone.core.permit_number_from_pool().unwrap().unwrap();
    let permit = phone.permit(&receipt.person_id, &number);
    let id_number = person.identifiers[0].document.number.clone();
    let qr = render_qr(&id_number, 4).unwrap();
    let (two_codes, two_codes_size) = side_by_side([&qr, &render_qr("mpbm=HC1000101", 4).unwrap()]);
    let fixture = Fixture {
        person_id: receipt.person_id.clone(),
        permit_id: permit.permit.id.clone(),
        permit_number: number,
        id_number,
        name: person.person.name.clone(),
        house_code: person
            .current_registration
            .as_ref()
            .unwrap()
            .registration
            .dwelling
            .house_code
            .clone(),
        id_qr: qr.pixels.clone(),
        qr_side: qr.size,
        two_codes,
        two_codes_size,
        server_url: server.url.clone(),
    };

    // Closes the lock: the last success (or the clock) moves two hours past the hour's limit.
    let relock = || {
        let last = phone.core.sync_status().unwrap().last_success.unwrap();
        let last = chrono::DateTime::parse_from_rfc3339(&last)
            .unwrap()
            .to_utc();
        clock.set(last.max(clock.now()) + Duration::hours(2));
    };
    let table = table();
    let covered: BTreeSet<String> = table.iter().map(|(name, ..)| name.to_string()).collect();
    let uncovered: Vec<_> = public_methods()
        .into_iter()
        // Constructors and the two that end the core run below.
        .filter(|m| !["create", "open", "close", "wipe"].contains(&m.as_str()))
        .filter(|m| !covered.contains(m))
        .collect();
    assert!(uncovered.is_empty(), "methods without a row: {uncovered:?}");

    for (name, expected, call) in &table {
        relock();
        let before = phone.core.outbox(None).unwrap().len();
        let result = call(&phone.core, &fixture);
        match (expected, result) {
            (Locked::Refused, Err(e)) => {
                assert_eq!(e.code(), "sync.locked", "{name}: {e}");
                assert_eq!(
                    phone.core.outbox(None).unwrap().len(),
                    before,
                    "{name} queued"
                );
            }
            (Locked::Refused, Ok(())) => panic!("{name} answered on a locked store"),
            (Locked::Allowed, Err(e)) if e.code() == "sync.locked" => {
                panic!("{name} refused by the lock: {e}")
            }
            (Locked::Allowed, _) => {}
        }
    }

    // A photo without a code holds nothing personal: on a locked phone it reads as empty,
    // one symbol or every symbol alike (the lock refuses only the interpretation).
    relock();
    let blank = vec![255u8; 64 * 64];
    let frame = LumaFrame {
        data: &blank,
        width: 64,
        height: 64,
        row_stride: 64,
    };
    let still = ScanOptions::new(Mode::Still);
    let one = phone.core.scan_frame(&mut Scanner::new(), &frame, &still);
    assert!(one.unwrap().is_none());
    let every = phone
        .core
        .scan_frame_all(&mut Scanner::new(), &frame, &still);
    assert!(every.unwrap().is_empty());

    // Opening a locked store works (the lock is about personal data, not the file); closing
    // and wiping too.
    relock();
    let keys = KeyFile::open(phone.dir().join("store.key")).unwrap();
    let reopened = FieldCore::open(OpenParams {
        dir: &phone.dir().join("store"),
        keys: &keys,
        actor: "c1",
        clock: clock.clone(),
        options: StoreOptions::default(),
    })
    .unwrap();
    assert_eq!(
        reopened.find_by_name(&fixture.name).unwrap_err().code(),
        "sync.locked"
    );
    reopened.close();
    let Phone { core, .. } = phone;
    core.wipe(&keys).unwrap();
}
