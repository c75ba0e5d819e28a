//! Permit-issuer keys over sync: a permit QR one phone issued verifies on another phone, in
//! another district, once both synced; a colleague in the district sees its cancellation;
//! revoking the issuing device (or its key alone) makes its codes "unknown issuer" everywhere
//! at the next sync.

use lgt_core::permit::{Permit, PermitEvent};
use lgt_core::scan::{Format, PermitVerdict, Symbol};
use lgt_e2e::{backends, Phone, TestServer};

fn verdict(phone: &Phone, qr: &str) -> PermitVerdict {
    let result = phone
        .core
        .scan_symbol(Symbol {
            format: Format::Qr,
            text: qr.to_owned(),
            position: Vec::new(),
        })
        .expect("scan");
    result.permit.expect("a permit code").verdict
}

/// An issuing phone in 110105 with one delivered permit and its QR, and another phone
/// enrolled in `other_district`; the issuer has synced only for its permit numbers.
fn issuer_and_other(
    server: &TestServer,
    seed: u64,
    other_district: &str,
) -> (Phone, Phone, Permit, String) {
    let mut issuer = Phone::new(seed);
    let other = Phone::new(seed + 1);
    issuer.enroll(&server.url, &server.enrollment_code("c1", "110105"));
    other.enroll(&server.url, &server.enrollment_code("c2", other_district));
    issuer.sync_until_quiet(3);
    let person = issuer.register(1).remove(0).person_id;
    let permit = issuer.issue(&person).permit;
    let qr = issuer.core.permit_qr(&permit.id).unwrap();
    (issuer, other, permit, qr)
}

#[test]
fn a_permit_issued_on_one_phone_verifies_on_another_until_its_device_is_revoked() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let (issuer, other, _, qr) = issuer_and_other(&server, 91, "310115");
        assert_eq!(verdict(&issuer, &qr), PermitVerdict::Valid);
        assert_eq!(verdict(&other, &qr), PermitVerdict::UnknownIssuer);

        issuer.sync_until_quiet(5);
        other.sync_until_quiet(5);
        assert_eq!(verdict(&other, &qr), PermitVerdict::Valid, "{backend:?}");
        let key_id = issuer.core.issuer_public_key().unwrap().key_id();
        let listed = server
            .block_on(lgt_server::issuers::list(&server.db))
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key_id, key_id);
        assert_eq!(
            listed[0].device_id,
            issuer.status().enrollment.unwrap().device_id
        );

        // The issuing phone is lost: revoking it revokes its key on every phone.
        let device_id = issuer.status().enrollment.unwrap().device_id;
        server
            .block_on(lgt_server::admin::revoke(&server.db, &device_id))
            .unwrap();
        other.sync_until_quiet(5);
        assert_eq!(verdict(&other, &qr), PermitVerdict::UnknownIssuer);
    }
}

#[test]
fn a_colleague_sees_a_cancellation_and_one_leaked_key_is_revoked_alone() {
    let server = TestServer::start(&lgt_e2e::BackendChoice::Sqlite);
    let (mut issuer, other, permit, qr) = issuer_and_other(&server, 93, "110105");
    issuer.sync_until_quiet(5);
    other.sync_until_quiet(5);
    assert_eq!(verdict(&other, &qr), PermitVerdict::Valid);
    // The colleague's district list holds it too.
    let listed = other.core.sync_district_permits().unwrap();
    assert_eq!(
        listed.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        [permit.id.as_str()]
    );

    // Cancelled by the issuing coordinator: a colleague in the district sees it once synced.
    issuer
        .apply(
            &permit.id,
            permit.version,
            PermitEvent::Cancel { reason: "1".into() },
        )
        .unwrap();
    assert_eq!(verdict(&issuer, &qr), PermitVerdict::Cancelled);
    assert_eq!(verdict(&other, &qr), PermitVerdict::Valid, "not synced yet");
    issuer.sync_until_quiet(5);
    other.sync_until_quiet(5);
    assert_eq!(verdict(&other, &qr), PermitVerdict::Cancelled);

    let key_id = issuer.core.issuer_public_key().unwrap().key_id();
    server
        .block_on(lgt_server::issuers::revoke_key(&server.db, &key_id))
        .unwrap();
    issuer.register(1);
    issuer.sync_until_quiet(5);
    other.sync_until_quiet(5);
    assert_eq!(verdict(&other, &qr), PermitVerdict::UnknownIssuer);
    // The device itself still syncs, and the revocation reaches it like any phone.
    assert_eq!(verdict(&issuer, &qr), PermitVerdict::UnknownIssuer);
    assert!(server
        .block_on(lgt_server::issuers::revoke_key(&server.db, &key_id))
        .is_err());
}
