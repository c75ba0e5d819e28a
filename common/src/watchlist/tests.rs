//! The package and payload codecs: every malformed input is a typed error, never a panic.

use super::format::{hex, unhex};
use super::*;

fn payload() -> Payload {
    Payload {
        adds: vec![
            Row {
                tag: [1; 16],
                kind: RowKind::IdNumber,
                details: Some(vec![9; 40]),
            },
            Row {
                tag: [2; 16],
                kind: RowKind::NamePinyin,
                details: None,
            },
        ],
        removes: vec![[3; 16]],
    }
}

#[test]
fn payloads_round_trip() {
    let bytes = payload().encode();
    assert_eq!(Payload::decode(&bytes).unwrap(), payload());
    assert_eq!(
        Payload::decode(&Payload::default().encode()).unwrap(),
        Payload::default()
    );
}

#[test]
fn every_truncation_and_extension_of_a_payload_is_refused() {
    let bytes = payload().encode();
    for len in 0..bytes.len() {
        assert!(
            Payload::decode(&bytes[..len]).is_err(),
            "truncated at {len}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Payload::decode(&longer).is_err());
}

#[test]
fn rows_with_unknown_kinds_or_misplaced_details_are_refused() {
    let mut bad_kind = payload().encode();
    bad_kind[4 + 16] = 7;
    assert!(matches!(
        Payload::decode(&bad_kind),
        Err(WatchlistError::Malformed { what: "row kind" })
    ));
    let name_with_details = Payload {
        adds: vec![Row {
            tag: [2; 16],
            kind: RowKind::NameHanzi,
            details: Some(vec![1]),
        }],
        removes: vec![],
    };
    assert!(Payload::decode(&name_with_details.encode()).is_err());
    // A huge declared count on a short input is an error, not an allocation.
    let mut huge = vec![0xff; 4];
    huge.extend_from_slice(&[0; 8]);
    assert!(Payload::decode(&huge).is_err());
}

#[test]
fn packages_round_trip_and_refuse_foreign_bytes() {
    let package = ListPackage {
        delegation: b"{}".to_vec(),
        delegation_signature: [4; 64],
        manifest: b"{\"x\":1}".to_vec(),
        manifest_signature: [5; 64],
        payload: payload().encode(),
    };
    let bytes = package.to_bytes();
    assert_eq!(ListPackage::from_bytes(&bytes).unwrap(), package);
    assert!(ListPackage::from_bytes(b"PK\x03\x04 not a list").is_err());
    assert!(ListPackage::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(ListPackage::from_bytes(&[]).is_err());
    assert!(package.unverified_manifest().is_err());
}

#[test]
fn hex_round_trips_and_rejects_bad_digits() {
    let bytes = [0u8, 1, 0xab, 0xff];
    assert_eq!(hex(&bytes), "0001abff");
    assert_eq!(unhex::<4>("0001ABff"), Some(bytes));
    assert_eq!(unhex::<4>("0001abf"), None);
    assert_eq!(unhex::<4>("0001abfg"), None);
    assert_eq!(unhex::<2>("é1"), None);
}
