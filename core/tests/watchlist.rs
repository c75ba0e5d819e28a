//! The watchlist end to end: lists built and signed by the publisher API, imported into a
//! real store through `FieldCore`, checked, registered against, re-checked.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use lgt_core::clock::FixedClock;
use lgt_core::crypto::{BlindIndex, KeyFile, KeyProvider, RowCipher, SigningKey, StretchParams};
use lgt_core::registration::{DocumentInput, Dwelling, PersonInput, RegistrationInput};
use lgt_core::store::StoreOptions;
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::watchlist::{
    AlertListener, Confidence, ListPackage, ListStatus, RowKind, Subject, WatchlistAlert,
    WatchlistPolicy, ALERT_WORDING,
};
use lgt_core::{FieldCore, OpenParams};
use lgt_publisher::{Epoch, ListedPerson, PublishedList, Signer, Validity};

mod common;

const CHEAP: StretchParams = StretchParams::MINIMUM;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn now() -> DateTime<Utc> {
    at("2026-11-29T10:00:00+08:00")
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The server: root key, delegated signer, and the list state it keeps between versions.
struct Server {
    root: SigningKey,
    signer: Signer,
}

impl Server {
    fn new() -> Self {
        let root = SigningKey::generate().unwrap();
        let signer = Signer::delegate(
            &root,
            SigningKey::generate().unwrap(),
            now() + Duration::days(365),
        )
        .unwrap();
        Self { root, signer }
    }

    /// Builds version 1 (key epoch 1) of `persons` and imports it into the phone.
    fn load(&self, phone: &Phone, persons: &[ListedPerson]) -> PublishedList {
        let (list, package) = self.snapshot(1, 1, persons);
        phone
            .core
            .watchlist_import(&package, &self.policy())
            .unwrap();
        list
    }

    fn policy(&self) -> WatchlistPolicy {
        WatchlistPolicy {
            roots: vec![self.root.public_key()],
            min_stretch: CHEAP,
        }
    }

    fn snapshot(
        &self,
        version: u64,
        epoch: u32,
        persons: &[ListedPerson],
    ) -> (PublishedList, Vec<u8>) {
        let epoch = Epoch::new(epoch, CHEAP).unwrap();
        let (list, package) = PublishedList::snapshot(
            "wanted-gd",
            version,
            epoch,
            persons,
            validity(),
            &self.signer,
        )
        .unwrap();
        (list, package.to_bytes())
    }
}

fn validity() -> Validity {
    Validity {
        created_at: now() - Duration::hours(1),
        expires_at: now() + Duration::days(7),
    }
}

fn listed(entry_ref: &str, name: &str, sex: &str, birth: &str, ids: &[&str]) -> ListedPerson {
    ListedPerson {
        entry_ref: entry_ref.into(),
        name: name.into(),
        sex: sex.into(),
        birth_date: date(birth),
        id_numbers: ids.iter().map(|s| (*s).to_owned()).collect(),
        case_summary: "synthetic case".into(),
        instructions: "do not confront; call the duty officer".into(),
    }
}

/// A listed person with two identity numbers: an 18-digit one and a legacy 15-digit one.
fn two_numbers() -> ListedPerson {
    listed(
        "CASE-1",
        "曾国强",
        "1",
        "1982-09-27",
        &["632123198209270518", "150102880730303"],
    )
}

struct Phone {
    dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    core: FieldCore,
    heard: Arc<Heard>,
}

#[derive(Default)]
struct Heard(Mutex<Vec<WatchlistAlert>>);

impl AlertListener for Heard {
    fn on_alert(&self, alert: &WatchlistAlert) {
        self.0.lock().unwrap().push(alert.clone());
    }
}

fn phone() -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyFile::create(dir.path().join("key")).unwrap();
    let clock = Arc::new(FixedClock::new(now()));
    let core = FieldCore::create(OpenParams {
        dir: &dir.path().join("store"),
        keys: &keys,
        actor: "coordinator-1",
        clock: clock.clone(),
        options: StoreOptions::default(),
    })
    .unwrap();
    let heard = Arc::new(Heard::default());
    core.set_alert_listener(heard.clone());
    Phone {
        dir,
        clock,
        core,
        heard,
    }
}

fn check(core: &FieldCore, number: &str) -> Vec<WatchlistAlert> {
    core.watchlist_check_identity(&Subject {
        id_numbers: vec![number.into()],
        ..Subject::default()
    })
    .unwrap()
    .alerts
}

fn version(core: &FieldCore) -> Option<u64> {
    match core.watchlist_status().unwrap() {
        ListStatus::Current(info) | ListStatus::OutOfDate(info) => Some(info.version),
        ListStatus::Missing => None,
    }
}

fn registration(name: &str, number: &str) -> RegistrationInput {
    RegistrationInput {
        person: PersonInput {
            name: name.into(),
            former_name: None,
            sex: "1".into(),
            ethnicity: "01".into(),
            birth_date: None,
        },
        document: DocumentInput {
            doc_type: "1".into(),
            number: number.into(),
        },
        household_address: "合成省演示县".into(),
        dwelling: Dwelling {
            house_code: "HC10001".into(),
            address: "合成市演示路9号".into(),
            housing_type: "2".into(),
        },
        moved_in: "2026-11-01".into(),
        expected_stay_until: None,
        reason_for_stay: "1".into(),
        occupation: "5".into(),
        employer: None,
        landlord: None,
        householder: None,
        contact_phone: None,
    }
}

#[test]
fn every_identity_number_of_a_listed_person_hits_including_the_15_digit_one() {
    let server = Server::new();
    let phone = phone();
    server.load(&phone, &[two_numbers()]);
    for presented in [
        "632123198209270518",
        "632123820927051", // the 15-digit form of the 18-digit number
        "150102880730303",
        "150102198807303035", // the 18-digit upgrade of the listed 15-digit number
        " １５０１０２８８０７３０３０３ ",
    ] {
        let alerts = check(&phone.core, presented);
        assert_eq!(alerts.len(), 1, "no single hit for a listed number");
        let alert = &alerts[0];
        assert_eq!(alert.wording, ALERT_WORDING);
        assert_eq!(alert.confidence, Confidence::Exact);
        assert_eq!(alert.matched_on, RowKind::IdNumber);
        assert_eq!(alert.score, 100);
        let details = alert.details.as_ref().expect("exact hits open the details");
        assert_eq!(details.entry_ref, "CASE-1");
        assert!(alert.instructions.contains("do not confront"));
    }
    assert!(check(&phone.core, "110101202311012176").is_empty());
}

#[test]
fn an_alert_is_raised_inside_register_and_find_audited_and_queued_as_a_hit_report() {
    let server = Server::new();
    let phone = phone();
    server.load(&phone, &[two_numbers()]);

    let receipt = phone
        .core
        .register(&registration("曾国强", "632123820927051"))
        .unwrap();
    assert_eq!(receipt.alerts.len(), 1);
    let alert = &receipt.alerts[0];
    assert_eq!(alert.person_id.as_deref(), Some(receipt.person_id.as_str()));
    assert_eq!(alert.confidence, Confidence::Exact);
    assert_eq!(phone.heard.0.lock().unwrap().len(), 1);

    let hits: Vec<_> = phone
        .core
        .outbox(None)
        .unwrap()
        .into_iter()
        .filter(|op| op.kind == "watchlist.hit")
        .collect();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].record_id, alert.alert_id);
    let audit = phone.core.audit_recent(50).unwrap();
    assert!(audit
        .iter()
        .any(|r| r.action == "watchlist.alert" && r.record_id == alert.alert_id));
    assert!(audit
        .iter()
        .all(|r| !r.record_id.contains("632123") && !r.record_id.contains("曾")));

    phone
        .core
        .find_by_document_number("632123198209270518")
        .unwrap();
    assert_eq!(phone.heard.0.lock().unwrap().len(), 2);
    phone.core.find_by_name("曾国强").unwrap();
    assert_eq!(phone.heard.0.lock().unwrap().len(), 3);
    // A number nobody registered still alerts on look-up, tied to no person.
    phone
        .core
        .find_by_document_number("150102880730303")
        .unwrap();
    let heard = phone.heard.0.lock().unwrap();
    assert_eq!(heard.len(), 4);
    assert_eq!(heard[3].person_id, None);
    drop(heard);
    assert_eq!(phone.core.watchlist_alerts().unwrap().len(), 4);
    assert!(phone.core.audit_verify().unwrap().is_intact());
}

#[test]
fn a_person_removed_from_the_list_stops_alerting() {
    let server = Server::new();
    let phone = phone();
    let other = listed("CASE-2", "王芳", "2", "1991-01-01", &["360426199101010071"]);
    let mut list = server.load(&phone, &[two_numbers(), other.clone()]);
    let receipt = phone
        .core
        .register(&registration("曾国强", "632123198209270518"))
        .unwrap();
    assert_eq!(receipt.alerts.len(), 1);

    let delta = list
        .delta(2, &[], &[two_numbers()], validity(), &server.signer)
        .unwrap();
    phone
        .core
        .watchlist_import(&delta.to_bytes(), &server.policy())
        .unwrap();
    assert_eq!(version(&phone.core), Some(2));
    assert!(check(&phone.core, "632123198209270518").is_empty());
    assert!(check(&phone.core, "150102880730303").is_empty());
    assert_eq!(check(&phone.core, "360426199101010071").len(), 1);
    // The registered person's alert was cleared with the import; only the new check stands.
    let standing = phone.core.watchlist_alerts().unwrap();
    assert!(standing
        .iter()
        .all(|a| a.person_id.as_deref() != Some(receipt.person_id.as_str())));
    let report = phone.core.watchlist_recheck().unwrap();
    assert!(report.raised.is_empty());
}

#[test]
fn the_recheck_alerts_on_newly_listed_local_persons_and_clears_those_removed() {
    let server = Server::new();
    let phone = phone();
    let mut list = server.load(&phone, &[two_numbers()]);
    let mut people = SyntheticPeople::new(3, now().date_naive());
    let mut ids = Vec::new();
    for _ in 0..5 {
        let receipt = phone.core.register(&people.next_registration()).unwrap();
        assert!(receipt.alerts.is_empty());
        ids.push(receipt.person_id);
    }
    let newcomer = SyntheticPeople::new(3, now().date_naive()).nth(2).unwrap();
    let entry = listed(
        "CASE-9",
        &newcomer.person.name,
        &newcomer.person.sex,
        newcomer.person.birth_date.as_deref().unwrap(),
        &[&newcomer.document.number],
    );
    let delta = list
        .delta(2, &[entry], &[], validity(), &server.signer)
        .unwrap();
    phone
        .core
        .watchlist_import(&delta.to_bytes(), &server.policy())
        .unwrap();
    let report = phone.core.watchlist_recheck().unwrap();
    assert_eq!(report.persons, 5);
    assert!(!report.raised.is_empty());
    assert!(report
        .raised
        .iter()
        .all(|a| a.person_id.as_deref() == Some(ids[2].as_str())));
    assert!(report
        .raised
        .iter()
        .any(|a| a.confidence == Confidence::Exact));
    // A second re-check raises nothing new: the alerts already stand.
    assert!(phone.core.watchlist_recheck().unwrap().raised.is_empty());

    // A new key epoch without the person: the re-check clears their alerts.
    let (_, next_epoch) = server.snapshot(3, 2, &[two_numbers()]);
    phone
        .core
        .watchlist_import(&next_epoch, &server.policy())
        .unwrap();
    let report = phone.core.watchlist_recheck().unwrap();
    assert!(report.raised.is_empty());
    assert!(!report.cleared.is_empty());
    assert!(phone.core.watchlist_alerts().unwrap().is_empty());
}

/// Imports `bad`, expects `code`, and checks the previous list is still in use and working.
fn refused(phone: &Phone, bad: &[u8], policy: &WatchlistPolicy, code: &str, in_use: u64) {
    let error = phone.core.watchlist_import(bad, policy).unwrap_err();
    assert_eq!(error.code(), code, "{error}");
    assert!(!error.to_string().contains("632123"));
    assert_eq!(version(&phone.core), Some(in_use));
    assert_eq!(check(&phone.core, "632123198209270518").len(), 1);
}

#[test]
fn forged_rolled_back_expired_and_misbased_lists_are_refused_and_the_previous_list_stays() {
    let server = Server::new();
    let phone = phone();
    let policy = server.policy();
    let (mut list, v1) = server.snapshot(1, 1, &[two_numbers()]);
    phone.core.watchlist_import(&v1, &policy).unwrap();
    let list_v1 = list.clone();
    let other = listed("CASE-2", "王芳", "2", "1991-01-01", &["360426199101010071"]);
    let v2 = list
        .delta(
            2,
            std::slice::from_ref(&other),
            &[],
            validity(),
            &server.signer,
        )
        .unwrap();
    phone
        .core
        .watchlist_import(&v2.to_bytes(), &policy)
        .unwrap();
    let remove_other = |signer: &Signer, validity: Validity| {
        list.clone()
            .delta(3, &[], std::slice::from_ref(&other), validity, signer)
            .unwrap()
    };
    let v3 = remove_other(&server.signer, validity());

    // Forged: a flipped bit in the manifest signature, or an edited manifest.
    let mut forged = v3.clone();
    forged.manifest_signature[5] ^= 1;
    refused(
        &phone,
        &forged.to_bytes(),
        &policy,
        "watchlist.bad_signature",
        2,
    );
    let mut edited = v3.clone();
    let text = String::from_utf8(edited.manifest.clone()).unwrap();
    edited.manifest = text
        .replace("\"entry_count\":", "\"entry_count\":1")
        .into_bytes();
    refused(
        &phone,
        &edited.to_bytes(),
        &policy,
        "watchlist.bad_signature",
        2,
    );
    // Delegated by a root the phone does not pin; or that delegation swapped for the real one.
    let rogue_root = SigningKey::generate().unwrap();
    let rogue = Signer::delegate(
        &rogue_root,
        SigningKey::generate().unwrap(),
        now() + Duration::days(1),
    )
    .unwrap();
    let rogue_package = remove_other(&rogue, validity());
    refused(
        &phone,
        &rogue_package.to_bytes(),
        &policy,
        "watchlist.unknown_root",
        2,
    );
    let mut swapped = rogue_package.clone();
    swapped.delegation = v3.delegation.clone();
    swapped.delegation_signature = v3.delegation_signature;
    refused(
        &phone,
        &swapped.to_bytes(),
        &policy,
        "watchlist.bad_signature",
        2,
    );
    // A tampered payload.
    let mut tampered = v3.clone();
    tampered.payload[4] ^= 1;
    refused(
        &phone,
        &tampered.to_bytes(),
        &policy,
        "watchlist.payload_mismatch",
        2,
    );
    // Rollback: version 1 again, or version 2 again.
    refused(&phone, &v1, &policy, "watchlist.rollback", 2);
    refused(&phone, &v2.to_bytes(), &policy, "watchlist.rollback", 2);
    // A delta against the wrong base: built on version 1 although 2 is in use.
    let stale_base = list_v1
        .clone()
        .delta(3, &[], &[], validity(), &server.signer)
        .unwrap();
    refused(
        &phone,
        &stale_base.to_bytes(),
        &policy,
        "watchlist.wrong_base",
        2,
    );
    // A delta of another key epoch (mixed versions).
    let (mut other_epoch, _) = server.snapshot(2, 9, &[two_numbers(), other.clone()]);
    let foreign = other_epoch
        .delta(
            3,
            &[],
            std::slice::from_ref(&other),
            validity(),
            &server.signer,
        )
        .unwrap();
    refused(&phone, &foreign.to_bytes(), &policy, "watchlist.mixed", 2);
    // Expired.
    let expired = remove_other(
        &server.signer,
        Validity {
            created_at: now() - Duration::days(9),
            expires_at: now() - Duration::days(2),
        },
    );
    refused(&phone, &expired.to_bytes(), &policy, "watchlist.expired", 2);
    // Stretching cheaper than the field policy.
    refused(
        &phone,
        &v3.to_bytes(),
        &WatchlistPolicy::new(vec![server.root.public_key()]),
        "watchlist.weak_stretch",
        2,
    );
    // Garbage.
    refused(
        &phone,
        b"LGTWL1\r\n\x00\x00",
        &policy,
        "watchlist.malformed",
        2,
    );

    // And the genuine version 3 still applies after all that.
    phone
        .core
        .watchlist_import(&v3.to_bytes(), &policy)
        .unwrap();
    assert_eq!(version(&phone.core), Some(3));
    assert!(check(&phone.core, "360426199101010071").is_empty());
}

#[test]
fn a_delta_without_a_list_and_an_expired_list_in_use() {
    let server = Server::new();
    let phone = phone();
    let (mut list, v1) = server.snapshot(1, 1, &[two_numbers()]);
    let v2 = list.delta(2, &[], &[], validity(), &server.signer).unwrap();
    let error = phone
        .core
        .watchlist_import(&v2.to_bytes(), &server.policy())
        .unwrap_err();
    assert_eq!(error.code(), "watchlist.wrong_base");
    assert_eq!(phone.core.watchlist_status().unwrap(), ListStatus::Missing);

    phone.core.watchlist_import(&v1, &server.policy()).unwrap();
    assert_eq!(
        phone.core.watchlist_status().unwrap().label(),
        "list current"
    );
    phone.clock.set(now() + Duration::days(8));
    let status = phone.core.watchlist_status().unwrap();
    assert_eq!(status.label(), "list out of date");
    let outcome = phone
        .core
        .watchlist_check_identity(&Subject {
            id_numbers: vec!["632123198209270518".into()],
            ..Subject::default()
        })
        .unwrap();
    assert_eq!(outcome.list.label(), "list out of date");
    assert!(outcome.alerts[0].list_out_of_date);
}

fn name_check(core: &FieldCore, name: &str, birth: &str, sex: &str) -> Vec<WatchlistAlert> {
    core.watchlist_check_identity(&Subject {
        id_numbers: vec![],
        name: Some(name.into()),
        birth_date: Some(date(birth)),
        sex: Some(sex.into()),
    })
    .unwrap()
    .alerts
}

#[test]
fn names_match_on_surname_readings_polyphones_traditional_forms_and_u_umlaut() {
    let server = Server::new();
    let phone = phone();
    let persons = [
        listed("N-1", "曾伟", "1", "1980-01-01", &[]),
        listed("N-2", "单国强", "1", "1981-02-02", &[]),
        listed("N-3", "解晓东", "1", "1982-03-03", &[]),
        listed("N-4", "区志华", "2", "1983-04-04", &[]),
        listed("N-5", "仇海燕", "2", "1984-05-05", &[]),
        listed("N-6", "朴明", "1", "1985-06-06", &[]),
        listed("N-7", "吕长乐", "2", "1986-07-07", &[]),
    ];
    let (_, package) = server.snapshot(1, 1, &persons);
    phone
        .core
        .watchlist_import(&package, &server.policy())
        .unwrap();
    let hit = |name: &str, birth: &str, sex: &str| -> Option<u8> {
        let alerts = name_check(&phone.core, name, birth, sex);
        alerts.iter().for_each(|a| {
            assert_eq!(a.confidence, Confidence::Low);
            assert!(a.details.is_none(), "details open only on an exact match");
            assert_eq!(a.wording, ALERT_WORDING);
        });
        alerts.first().map(|a| a.score)
    };
    // The name in characters, traditional or simplified.
    assert_eq!(hit("曾伟", "1980-01-01", "1"), Some(70));
    assert_eq!(hit("單國強", "1981-02-02", "男"), Some(70));
    assert_eq!(hit("樸明", "1985-06-06", "1"), Some(70));
    assert_eq!(hit("區志華", "1983-04-04", "2"), Some(70));
    // Pinyin with the surname reading (never the default reading).
    assert_eq!(hit("ZENG WEI", "1980-01-01", "1"), Some(55));
    assert_eq!(hit("CENG WEI", "1980-01-01", "1"), None);
    assert_eq!(hit("SHAN GUOQIANG", "1981-02-02", "1"), Some(55));
    assert_eq!(hit("DAN GUOQIANG", "1981-02-02", "1"), None);
    assert_eq!(hit("XIE XIAODONG", "1982-03-03", "1"), Some(55));
    assert_eq!(hit("OU ZHIHUA", "1983-04-04", "2"), Some(55));
    assert_eq!(hit("QIU HAIYAN", "1984-05-05", "2"), Some(55));
    assert_eq!(hit("PIAO MING", "1985-06-06", "1"), Some(55));
    // A homophone written with other characters matches through pinyin.
    assert_eq!(hit("曾伟", "1980-01-01", "1"), Some(70));
    assert_eq!(hit("曾维", "1980-01-01", "1"), Some(55));
    // ü in every spelling, and every reading of 长 and 乐.
    for spelling in ["LYU CHANGLE", "LV ZHANGYUE", "Lü Changyue", "吕长乐"] {
        assert!(hit(spelling, "1986-07-07", "2").is_some(), "{spelling}");
    }
    // Birth date and sex are part of the key.
    assert_eq!(hit("曾伟", "1980-01-02", "1"), None);
    assert_eq!(hit("曾伟", "1980-01-01", "2"), None);
    // A stricter threshold drops pinyin-only hits but keeps the characters.
    phone.core.set_watchlist_threshold(60);
    assert_eq!(hit("ZENG WEI", "1980-01-01", "1"), None);
    assert_eq!(hit("曾伟", "1980-01-01", "1"), Some(70));
}

#[test]
fn the_store_files_hold_no_listed_name_or_number_in_clear_or_plainly_hashed() {
    let server = Server::new();
    let phone = phone();
    let mut persons: Vec<ListedPerson> = SyntheticPeople::new(11, now().date_naive())
        .take(300)
        .enumerate()
        .map(|(i, r)| {
            listed(
                &format!("CASE-{i}"),
                &r.person.name,
                &r.person.sex,
                r.person.birth_date.as_deref().unwrap(),
                &[&r.document.number],
            )
        })
        .collect();
    persons.push(two_numbers());
    let (_, package) = server.snapshot(1, 1, &persons);
    phone
        .core
        .watchlist_import(&package, &server.policy())
        .unwrap();
    // Look-ups and an alert write more pages (and WAL frames) about listed persons.
    assert_eq!(check(&phone.core, "632123198209270518").len(), 1);
    check(&phone.core, &persons[0].id_numbers[0]);

    let manifest = ListPackage::from_bytes(&package)
        .unwrap()
        .unverified_manifest()
        .unwrap();
    let salt: Vec<u8> = (0..manifest.epoch_salt.len() / 2)
        .map(|i| u8::from_str_radix(&manifest.epoch_salt[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let data_key = KeyFile::open(phone.dir.path().join("key"))
        .unwrap()
        .data_key()
        .unwrap();
    let cipher = RowCipher::new(&data_key);
    let salt_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &salt);
    let data_key_hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, data_key.expose_bytes());

    let mut needles: Vec<Vec<u8>> = Vec::new();
    for person in &persons {
        needles.push(person.name.as_bytes().to_vec());
        for number in &person.id_numbers {
            let canonical = lgt_core::identity::parse(number, now().date_naive()).unwrap();
            for value in [canonical.as_str(), number.as_str()] {
                let sha = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
                needles.push(value.as_bytes().to_vec());
                needles.push(sha.as_ref()[..16].to_vec());
                needles.push(
                    sha.as_ref()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                        .into_bytes(),
                );
                needles.push(ring::hmac::sign(&salt_key, value.as_bytes()).as_ref()[..16].to_vec());
                needles.push(
                    ring::hmac::sign(&data_key_hmac, value.as_bytes()).as_ref()[..16].to_vec(),
                );
                needles.push(cipher.blind(BlindIndex::IdNumber, value)[..16].to_vec());
            }
        }
    }
    let matcher = aho_corasick::AhoCorasick::new(&needles).unwrap();
    let store = phone.dir.path().join("store");
    let mut files = 0;
    for entry in std::fs::read_dir(&store).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        let found = matcher.find_iter(&bytes).count();
        assert_eq!(found, 0, "{} holds a listed value", path.display());
    }
    assert!(files >= 2, "database and WAL expected");
    // The search itself can fail: the same needles are found where they are in clear.
    assert!(matcher.is_match(persons[0].name.as_bytes()));
    assert!(matcher.is_match(&cipher.blind(BlindIndex::IdNumber, "632123198209270518")));
}

/// The thief with only the phone's database file: reads the list's manifest (salt and cost
/// are in clear), stretches the right guesses (the listed person's identity number, and name
/// with birth date and sex, in characters and pinyin) and looks for them among the rows and
/// under the sealed details. The file alone gives nothing; the same attack with the data key
/// (the keystore broken too) finds every row and opens the details, so the attack is real.
#[test]
fn with_only_the_database_file_a_thief_confirms_no_listed_person_on_either_path() {
    use lgt_common::watchlist::probe::{derive_one, id_probe, name_probes};

    let server = Server::new();
    let phone = phone();
    let person = two_numbers();
    server.load(&phone, std::slice::from_ref(&person));
    assert_eq!(check(&phone.core, "632123198209270518").len(), 1);

    // Everything the thief has: a copy of the file (and its WAL) with no key.
    let stolen = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(phone.dir.path().join("store")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, stolen.path().join(path.file_name().unwrap())).unwrap();
    }
    let file = rusqlite::Connection::open(stolen.path().join("lgt.db")).unwrap();
    let manifest: Vec<u8> = file
        .query_row("SELECT manifest FROM watchlist_state", [], |r| r.get(0))
        .unwrap();
    let manifest: lgt_core::watchlist::Manifest = serde_json::from_slice(&manifest).unwrap();
    let salt: [u8; lgt_core::crypto::EPOCH_SALT_LEN] = (0..lgt_core::crypto::EPOCH_SALT_LEN)
        .map(|i| u8::from_str_radix(&manifest.epoch_salt[2 * i..2 * i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .try_into()
        .unwrap();
    let column = |sql: &str| -> Vec<Vec<u8>> {
        file.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let rows = column("SELECT tag FROM watchlist_entries");
    let details = column("SELECT sealed FROM watchlist_details");

    let today = now().date_naive();
    let id_paths: Vec<_> = person
        .id_numbers
        .iter()
        .map(|n| id_probe(n, today).unwrap())
        .collect();
    let name_paths = name_probes(&person.name, person.birth_date, &person.sex);
    // Two numbers, the name in characters and each pinyin reading: one row per guess.
    assert_eq!(rows.len(), id_paths.len() + name_paths.len());
    let guesses: Vec<_> = id_paths
        .iter()
        .chain(&name_paths)
        .map(|probe| derive_one(probe, &manifest.stretch, &salt).unwrap())
        .collect();

    let file_only_hits = guesses
        .iter()
        .filter(|key| rows.iter().any(|row| row[..] == key.tag()[..]))
        .count();
    let file_only_opened = guesses
        .iter()
        .filter(|key| {
            details
                .iter()
                .any(|sealed| key.open_details(sealed).is_ok())
        })
        .count();
    assert_eq!((file_only_hits, file_only_opened), (0, 0));
    // Nor are the stretched tags anywhere else in the files.
    let needles: Vec<Vec<u8>> = guesses.iter().map(|k| k.tag().to_vec()).collect();
    let matcher = aho_corasick::AhoCorasick::new(&needles).unwrap();
    for entry in std::fs::read_dir(stolen.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!matcher.is_match(&bytes));
    }

    // The control: with the data key as well, the same guesses find every row and open the
    // details of the identity-number rows.
    let cipher = RowCipher::new(
        &KeyFile::open(phone.dir.path().join("key"))
            .unwrap()
            .data_key()
            .unwrap(),
    );
    let with_key_hits = guesses
        .iter()
        .filter(|key| {
            let stored = cipher.watchlist_tag(&key.tag());
            rows.iter().any(|row| row[..] == stored[..])
        })
        .count();
    assert_eq!(with_key_hits, rows.len());
    let opened = guesses[..id_paths.len()]
        .iter()
        .filter(|key| {
            let stored = cipher.watchlist_tag(&key.tag());
            let hex: String = stored.iter().map(|b| format!("{b:02x}")).collect();
            details.iter().any(|sealed| {
                cipher
                    .open(&format!("watchlist_details:{hex}"), sealed)
                    .ok()
                    .and_then(|inner| key.open_details(&inner).ok())
                    .is_some_and(|plain| String::from_utf8_lossy(&plain).contains("synthetic case"))
            })
        })
        .count();
    assert_eq!(opened, id_paths.len());
}

#[test]
fn the_recheck_runs_on_a_background_thread_while_the_coordinator_keeps_working() {
    let server = Server::new();
    let phone = phone();
    let mut people = SyntheticPeople::new(5, now().date_naive());
    for _ in 0..4 {
        phone.core.register(&people.next_registration()).unwrap();
    }
    server.load(&phone, &[two_numbers()]);
    let (report, receipt) = std::thread::scope(|scope| {
        let background = scope.spawn(|| phone.core.watchlist_recheck());
        let receipt = phone
            .core
            .register(&registration("曾国强", "632123198209270518"))
            .unwrap();
        (background.join().unwrap().unwrap(), receipt)
    });
    assert_eq!(receipt.alerts.len(), 1);
    // Whether the re-check saw the new person depends on timing; it never alerts twice.
    assert!(report.persons >= 4);
    let standing = phone.core.watchlist_alerts().unwrap();
    assert_eq!(
        standing
            .iter()
            .filter(|a| a.person_id.as_deref() == Some(receipt.person_id.as_str()))
            .count(),
        1
    );
}

#[test]
fn a_root_rotation_pins_both_roots_and_an_expired_delegation_is_refused() {
    let old = Server::new();
    let phone = phone();
    old.load(&phone, &[two_numbers()]);
    // The next root, pinned beside the old one by an app release.
    let next_root = SigningKey::generate().unwrap();
    let next_signer = Signer::delegate(
        &next_root,
        SigningKey::generate().unwrap(),
        now() + Duration::days(30),
    )
    .unwrap();
    let mut policy = old.policy();
    let epoch = Epoch::new(2, CHEAP).unwrap();
    let (_, v2) = PublishedList::snapshot(
        "wanted-gd",
        2,
        epoch,
        &[two_numbers()],
        validity(),
        &next_signer,
    )
    .unwrap();
    let error = phone
        .core
        .watchlist_import(&v2.to_bytes(), &policy)
        .unwrap_err();
    assert_eq!(error.code(), "watchlist.unknown_root");
    policy.roots.push(next_root.public_key());
    phone
        .core
        .watchlist_import(&v2.to_bytes(), &policy)
        .unwrap();
    assert_eq!(version(&phone.core), Some(2));

    // A signer whose delegation has run out can no longer publish.
    let lapsed = Signer::delegate(
        &next_root,
        SigningKey::generate().unwrap(),
        now() - Duration::hours(1),
    )
    .unwrap();
    let epoch = Epoch::new(3, CHEAP).unwrap();
    let (_, v3) =
        PublishedList::snapshot("wanted-gd", 3, epoch, &[two_numbers()], validity(), &lapsed)
            .unwrap();
    let error = phone
        .core
        .watchlist_import(&v3.to_bytes(), &policy)
        .unwrap_err();
    assert_eq!(error.code(), "watchlist.delegation_expired");
    assert_eq!(version(&phone.core), Some(2));
}

#[test]
fn a_scanned_identity_number_of_a_listed_person_alerts_inside_the_scan() {
    let server = Server::new();
    let phone = phone();
    server.load(&phone, &[two_numbers()]);
    let scan = |text: &str| common::scan_rendered(&phone.core, text);

    let listed = scan("632123198209270518");
    let check = listed.watchlist.expect("an identity number is checked");
    assert_eq!(check.alerts.len(), 1);
    assert_eq!(check.alerts[0].confidence, Confidence::Exact);
    assert_eq!(phone.heard.0.lock().unwrap().len(), 1);
    assert!(phone
        .core
        .outbox(None)
        .unwrap()
        .iter()
        .any(|op| op.kind == "watchlist.hit" && op.record_id == check.alerts[0].alert_id));

    let unlisted = scan("11010519491231002X");
    assert!(unlisted.watchlist.expect("checked").alerts.is_empty());
    assert!(scan("not an identity number").watchlist.is_none());
    assert_eq!(phone.heard.0.lock().unwrap().len(), 1);
}

#[test]
fn every_code_of_one_photo_is_interpreted_and_a_listed_identity_number_among_them_alerts() {
    let server = Server::new();
    let phone = phone();
    server.load(&phone, &[two_numbers()]);

    // An unlisted number and a listed one side by side (synthetic numbers).
    let results =
        common::scan_all_rendered(&phone.core, &["11010519491231002X", "632123198209270518"]);
    let mut texts: Vec<_> = results.iter().map(|r| r.symbol.text.as_str()).collect();
    texts.sort_unstable();
    assert_eq!(texts, ["11010519491231002X", "632123198209270518"]);
    for result in &results {
        let check = result
            .watchlist
            .as_ref()
            .expect("every identity number is checked");
        let listed = result.symbol.text == "632123198209270518";
        assert_eq!(
            check.alerts.len(),
            usize::from(listed),
            "{}",
            result.symbol.text
        );
    }
    let alerts: Vec<_> = results
        .iter()
        .flat_map(|r| &r.watchlist.as_ref().unwrap().alerts)
        .collect();
    assert_eq!(alerts[0].confidence, Confidence::Exact);
    assert_eq!(phone.heard.0.lock().unwrap().len(), 1);
    assert!(phone
        .core
        .outbox(None)
        .unwrap()
        .iter()
        .any(|op| op.kind == "watchlist.hit" && op.record_id == alerts[0].alert_id));

    // A photo without a code: nothing, and no alert.
    assert!(common::scan_all_rendered(&phone.core, &[]).is_empty());
    assert_eq!(phone.heard.0.lock().unwrap().len(), 1);
}
