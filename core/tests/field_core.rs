//! The public `FieldCore` API end to end, over real SQLite files.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lgt_core::clock::FixedClock;
use lgt_core::crypto::KeyFile;
use lgt_core::outbox::OperationState;
use lgt_core::permit::{PermitCommand, PermitEvent, PermitState};
use lgt_core::registration::{DocumentInput, Dwelling, PersonInput, RegistrationInput};
use lgt_core::store::StoreOptions;
use lgt_core::{Error, FieldCore, OpenParams};

mod common;
use common::scan_rendered;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Fixture {
    _dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    core: FieldCore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyFile::create(dir.path().join("key")).unwrap();
    let clock = Arc::new(FixedClock::new(at("2026-03-10T09:00:00+08:00")));
    let core = FieldCore::create(OpenParams {
        dir: &dir.path().join("store"),
        keys: &keys,
        actor: "coordinator-1",
        clock: clock.clone(),
        options: StoreOptions::default(),
    })
    .unwrap();
    Fixture {
        _dir: dir,
        clock,
        core,
    }
}

fn input(number: &str, house_code: &str) -> RegistrationInput {
    RegistrationInput {
        person: PersonInput {
            name: "测试人".into(),
            former_name: Some("旧名".into()),
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
            house_code: house_code.into(),
            address: "合成市演示路9号".into(),
            housing_type: "2".into(),
        },
        moved_in: "2026-03-01".into(),
        expected_stay_until: None,
        reason_for_stay: "1".into(),
        occupation: "5".into(),
        employer: None,
        landlord: None,
        householder: None,
        contact_phone: None,
    }
}

fn counts(core: &FieldCore) -> (usize, usize) {
    (
        core.outbox(None).unwrap().len(),
        core.audit_recent(u32::MAX).unwrap().len(),
    )
}

#[test]
fn a_registration_commits_with_exactly_one_operation_and_one_audit_record() {
    let f = fixture();
    let before = counts(&f.core);
    let receipt = f.core.register(&input("632123820927051", "HC1")).unwrap();
    assert_eq!(counts(&f.core), (before.0 + 1, before.1 + 1));
    let ops = f.core.outbox(Some(OperationState::Pending)).unwrap();
    assert_eq!(ops.last().unwrap().op_id, receipt.operation_id);
    assert_eq!(ops.last().unwrap().kind, "registration.create");
    assert_eq!(ops.last().unwrap().record_id, receipt.registration_id);
    assert_eq!(
        receipt.warnings.len(),
        2,
        "legacy upgrade and abolished county"
    );
    // Found by the 15-digit form, the 18-digit form and the former name.
    for number in ["632123820927051", "632123198209270518"] {
        assert_eq!(
            f.core.find_by_document_number(number).unwrap()[0].person_id,
            receipt.person_id
        );
    }
    assert_eq!(
        f.core.find_by_name("旧名").unwrap()[0].person_id,
        receipt.person_id
    );
}

#[test]
fn refused_input_changes_nothing() {
    let f = fixture();
    f.core.register(&input("632123820927051", "HC1")).unwrap();
    let before = counts(&f.core);
    let Error::Validation(errors) = f
        .core
        .register(&input("632123198209270517", "HC1"))
        .unwrap_err()
    else {
        panic!("expected validation")
    };
    assert_eq!(
        (errors.0[0].field.as_str(), errors.0[0].code),
        ("document.number", "id.check_digit")
    );
    let mut bad = input("632123820927051", "");
    bad.moved_in = "yesterday".into();
    let Error::Validation(errors) = f.core.register(&bad).unwrap_err() else {
        panic!("expected validation")
    };
    assert_eq!(errors.0.len(), 2);
    assert_eq!(counts(&f.core), before);
}

#[test]
fn a_new_number_keeps_the_person_and_the_old_number_still_finds_them() {
    let f = fixture();
    let first = f.core.register(&input("632123820927051", "HC1")).unwrap();
    let other = f
        .core
        .register(&input("360426199101010071", "HC2"))
        .unwrap();
    let added = f
        .core
        .add_identifier(
            &first.person_id,
            &DocumentInput {
                doc_type: "1".into(),
                number: "321083197812162119".into(),
            },
        )
        .unwrap();
    assert_eq!(added.superseded_at, None);
    for number in ["632123198209270518", "321083197812162119"] {
        assert_eq!(
            f.core.find_by_document_number(number).unwrap()[0].person_id,
            first.person_id
        );
    }
    let person = &f
        .core
        .find_by_document_number("321083197812162119")
        .unwrap()[0];
    assert_eq!(person.identifiers.len(), 2);
    assert!(person.identifiers[1].superseded_at.is_some());
    let taken = DocumentInput {
        doc_type: "1".into(),
        number: "360426199101010071".into(),
    };
    assert_eq!(
        f.core
            .add_identifier(&first.person_id, &taken)
            .unwrap_err()
            .code(),
        "conflict"
    );
    assert_ne!(first.person_id, other.person_id);
}

#[test]
fn moving_closes_the_earlier_residence() {
    let f = fixture();
    let first = f
        .core
        .register(&input("360426199101010071", "HC1"))
        .unwrap();
    let second = f
        .core
        .register(&input("360426199101010071", "HC2"))
        .unwrap();
    assert!(!second.new_person);
    assert_eq!(
        second.closed_registration_id.as_deref(),
        Some(first.registration_id.as_str())
    );
    let export = f.core.export_person(&first.person_id).unwrap();
    let active: Vec<_> = export
        .registrations
        .iter()
        .filter(|r| r.closed_at.is_none())
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].registration.dwelling.house_code, "HC2");
}

#[test]
fn a_permit_lives_through_a_year_of_field_work() {
    let f = fixture();
    let person = f
        .core
        .register(&input("360426199101010071", "HC1"))
        .unwrap()
        .person_id;
    let accepted = f
        .core
        .permit(&PermitCommand::Accept {
            person_id: person.clone(),
        })
        .unwrap();
    let id = accepted.permit.id.clone();
    let apply = |event| PermitCommand::Apply {
        permit_id: id.clone(),
        base_version: None,
        event,
    };
    f.core
        .permit(&apply(PermitEvent::Issue {
            number: "SZ20260001".into(),
        }))
        .unwrap();
    f.core.permit(&apply(PermitEvent::Deliver)).unwrap();

    f.clock.set(at("2027-02-20T10:00:00+08:00"));
    let endorsed = f.core.permit(&apply(PermitEvent::Endorse)).unwrap();
    assert_eq!(
        endorsed.permit.endorsement_due,
        Some("2028-03-10".parse().unwrap())
    );

    f.clock.set(at("2028-04-01T10:00:00+08:00"));
    assert_eq!(
        f.core
            .permit(&apply(PermitEvent::Endorse))
            .unwrap_err()
            .code(),
        "permit.endorsement_overdue"
    );
    f.core.permit(&apply(PermitEvent::Suspend)).unwrap();
    let restored = f.core.permit(&apply(PermitEvent::Restore)).unwrap();
    assert_eq!(restored.permit.state, PermitState::Delivered);
    assert_eq!(
        restored.permit.endorsement_due,
        Some("2029-03-10".parse().unwrap())
    );

    // A second permit cannot take a number already issued.
    let second_person = f
        .core
        .register(&input("321083197812162119", "HC3"))
        .unwrap()
        .person_id;
    let second = f
        .core
        .permit(&PermitCommand::Accept {
            person_id: second_person,
        })
        .unwrap();
    let reuse = PermitCommand::Apply {
        permit_id: second.permit.id,
        base_version: Some(1),
        event: PermitEvent::Issue {
            number: "SZ20260001".into(),
        },
    };
    assert_eq!(f.core.permit(&reuse).unwrap_err().code(), "conflict");

    let export = f.core.export_person(&person).unwrap();
    let kinds: Vec<_> = export.permits[0]
        .events
        .iter()
        .map(|e| e.event.kind())
        .collect();
    assert_eq!(
        kinds,
        ["accept", "issue", "deliver", "endorse", "suspend", "restore"]
    );
    let permit_ops = f
        .core
        .outbox(None)
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == "permit.event")
        .count();
    assert_eq!(permit_ops, 7);
    assert!(f.core.audit_verify().unwrap().is_intact());
}

#[test]
fn a_wrong_key_is_reported_as_such() {
    let f = fixture();
    let dir = f._dir.path();
    drop(f.core);
    let other = KeyFile::create(dir.join("other-key")).unwrap();
    let err = FieldCore::open(OpenParams {
        dir: &dir.join("store"),
        keys: &other,
        actor: "coordinator-1",
        clock: f.clock.clone(),
        options: StoreOptions::default(),
    })
    .err()
    .unwrap();
    assert_eq!(err.code(), "store.wrong_key");
    assert!(!err.to_string().is_empty());
}

// ---- Scanning: signed permit QR codes (issue #3) ----

/// A newly registered person's accepted permit application, for the scan tests.
fn accepted_permit(f: &Fixture) -> String {
    let person = f
        .core
        .register(&input("360426199101010071", "HC1"))
        .unwrap()
        .person_id;
    f.core
        .permit(&PermitCommand::Accept { person_id: person })
        .unwrap()
        .permit
        .id
}

/// An issued permit's id, for the scan tests.
fn issued_permit(f: &Fixture, number: &str) -> String {
    let id = accepted_permit(f);
    f.core
        .permit(&PermitCommand::Apply {
            permit_id: id.clone(),
            base_version: None,
            event: PermitEvent::Issue {
                number: number.into(),
            },
        })
        .unwrap();
    id
}

/// Renders the text as a QR, decodes it as a live camera frame would, and verifies it.

#[test]
fn a_signed_permit_qr_round_trips_and_forged_expired_cancelled_codes_are_told_apart() {
    use lgt_core::scan::{Payload, PermitVerdict};
    let f = fixture();
    let id = issued_permit(&f, "SZ20260001");
    let text = f.core.permit_qr(&id).unwrap();
    assert!(
        !text.contains("360426199101010071"),
        "the QR must not carry the ID number"
    );

    let result = scan_rendered(&f.core, &text);
    assert_eq!(result.symbol.text, text);
    let Payload::Permit(Ok(signed)) = &result.payload else {
        panic!("not a permit: {:?}", result.payload.kind());
    };
    assert_eq!(signed.claim.permit_number, "SZ20260001");
    assert_eq!(signed.claim.valid_until, "2027-03-10".parse().unwrap());
    let verification = result.permit.unwrap();
    assert_eq!(verification.verdict, PermitVerdict::Valid);
    assert_eq!(verification.permit_id.as_deref(), Some(id.as_str()));

    // One altered character in the signed body: forged.
    let body_at = "LGTP1.".len() + 10;
    let mut tampered = text.clone().into_bytes();
    tampered[body_at] = if tampered[body_at] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let tampered = String::from_utf8(tampered).unwrap();
    let verdict = scan_rendered(&f.core, &tampered).permit.unwrap().verdict;
    assert_eq!(verdict, PermitVerdict::Forged);

    // After its endorsement anniversary the code has expired.
    f.clock.set(at("2027-03-11T10:00:00+08:00"));
    let verdict = scan_rendered(&f.core, &text).permit.unwrap().verdict;
    assert_eq!(verdict, PermitVerdict::Expired);

    // Cancelled in the local store: genuine but cancelled.
    f.clock.set(at("2026-04-01T10:00:00+08:00"));
    f.core
        .permit(&PermitCommand::Apply {
            permit_id: id.clone(),
            base_version: None,
            event: PermitEvent::Cancel { reason: "3".into() },
        })
        .unwrap();
    let verification = scan_rendered(&f.core, &text).permit.unwrap();
    assert_eq!(verification.verdict, PermitVerdict::Cancelled);
    assert_eq!(verification.local_state, Some(PermitState::Cancelled));
    assert_eq!(f.core.permit_qr(&id).unwrap_err().code(), "conflict");
}

#[test]
fn another_devices_permit_verifies_once_its_issuer_key_is_trusted_and_not_after_revocation() {
    use lgt_core::scan::PermitVerdict;
    let office = fixture();
    let phone = fixture();
    let id = issued_permit(&office, "SZ20260002");
    let text = office.core.permit_qr(&id).unwrap();

    let verify = |core: &FieldCore| scan_rendered(core, &text).permit.unwrap();
    assert_eq!(verify(&phone.core).verdict, PermitVerdict::UnknownIssuer);

    let key = office.core.issuer_public_key().unwrap();
    phone.core.trust_issuer(&key, "office 1").unwrap();
    let verification = verify(&phone.core);
    assert_eq!(verification.verdict, PermitVerdict::Valid);
    assert_eq!(
        verification.local_state, None,
        "the phone's store does not hold the permit"
    );

    phone.core.revoke_issuer(&key.key_id()).unwrap();
    assert_eq!(verify(&phone.core).verdict, PermitVerdict::UnknownIssuer);
    assert_eq!(
        phone.core.revoke_issuer(&key.key_id()).unwrap_err().code(),
        "not_found"
    );
}

#[test]
fn a_permit_qr_and_an_identity_number_in_one_photo_are_both_read_and_interpreted() {
    use lgt_core::scan::{Format, Payload, PermitVerdict};
    let f = fixture();
    let id = issued_permit(&f, "SZ20260003");
    let permit_text = f.core.permit_qr(&id).unwrap();
    let before = f.core.audit_recent(u32::MAX).unwrap().len();

    let results = common::scan_all_rendered(&f.core, &[&permit_text, "360426199101010071"]);
    assert_eq!(results.len(), 2, "both codes read");
    assert!(results.iter().all(|r| r.symbol.format == Format::Qr));
    let permit = results
        .iter()
        .find(|r| r.symbol.text == permit_text)
        .expect("the permit QR is read");
    let Payload::Permit(Ok(signed)) = &permit.payload else {
        panic!("not a permit: {:?}", permit.payload.kind());
    };
    assert_eq!(signed.claim.permit_number, "SZ20260003");
    let verification = permit.permit.as_ref().expect("a permit QR is verified");
    assert_eq!(verification.verdict, PermitVerdict::Valid);
    assert_eq!(verification.permit_id.as_deref(), Some(id.as_str()));
    let number = results
        .iter()
        .find(|r| r.symbol.text == "360426199101010071")
        .expect("the identity number is read");
    assert!(matches!(number.payload, Payload::IdNumber(Ok(_))));
    assert!(number.permit.is_none());
    // The permit's verification is audited, once.
    let audited = f.core.audit_recent(u32::MAX).unwrap();
    assert_eq!(audited.len(), before + 1);
    assert_eq!(
        (audited[0].action.as_str(), audited[0].record_id.as_str()),
        ("permit.verify_qr", id.as_str())
    );

    // No code: an empty list, nothing audited.
    assert!(common::scan_all_rendered(&f.core, &[]).is_empty());
    assert_eq!(f.core.audit_recent(u32::MAX).unwrap().len(), before + 1);
}

#[test]
fn an_accepted_permit_has_no_qr_yet() {
    let f = fixture();
    let id = accepted_permit(&f);
    let before = counts(&f.core);
    assert_eq!(f.core.permit_qr(&id).unwrap_err().code(), "conflict");
    assert_eq!(counts(&f.core), before);
    assert_eq!(
        f.core.permit_qr("no-such-permit").unwrap_err().code(),
        "not_found"
    );
}
