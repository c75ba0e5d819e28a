use super::*;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn dwelling() -> Dwelling {
    Dwelling {
        house_code: "HC1".into(),
        address: "合成市演示路1号".into(),
        housing_type: "2".into(),
    }
}

fn accepted() -> Permit {
    let event = PermitEvent::Accept {
        person_id: "p1".into(),
        registration_id: "r1".into(),
        dwelling: dwelling(),
    };
    Permit::accepted("permit-1".into(), &event).unwrap()
}

fn delivered_on(issue: &str) -> Permit {
    accepted()
        .apply(
            &PermitEvent::Issue {
                number: "SZ0001".into(),
            },
            date(issue),
        )
        .unwrap()
        .apply(&PermitEvent::Deliver, date(issue))
        .unwrap()
}

#[test]
fn the_full_life_cycle() {
    let p = accepted();
    assert_eq!((p.state, p.version), (PermitState::Accepted, 1));
    let issued = p
        .apply(
            &PermitEvent::Issue {
                number: "SZ0001".into(),
            },
            date("2026-03-10"),
        )
        .unwrap();
    assert_eq!(issued.state, PermitState::Issued);
    assert_eq!(issued.endorsement_due, Some(date("2027-03-10")));
    let delivered = issued
        .apply(&PermitEvent::Deliver, date("2026-03-12"))
        .unwrap();
    let endorsed = delivered
        .apply(&PermitEvent::Endorse, date("2027-02-20"))
        .unwrap();
    assert_eq!(endorsed.endorsement_due, Some(date("2028-03-10")));
    assert_eq!(endorsed.state, PermitState::Delivered);
    let moved = endorsed
        .apply(
            &PermitEvent::ChangeAddress {
                dwelling: Dwelling {
                    house_code: "HC2".into(),
                    ..dwelling()
                },
            },
            date("2027-05-01"),
        )
        .unwrap();
    assert_eq!(moved.dwelling.house_code, "HC2");
    let cancelled = moved
        .apply(
            &PermitEvent::Cancel { reason: "3".into() },
            date("2027-06-01"),
        )
        .unwrap();
    assert_eq!(cancelled.state, PermitState::Cancelled);
    assert_eq!(cancelled.cancel_reason.as_deref(), Some("3"));
    assert_eq!(cancelled.version, 6);
}

#[test]
fn endorsement_only_in_the_month_before_the_anniversary() {
    let p = delivered_on("2026-03-10");
    assert_eq!(
        p.apply(&PermitEvent::Endorse, date("2027-02-09")),
        Err(PermitError::EndorsementNotDue {
            permit_id: "permit-1".into(),
            opens: date("2027-02-10")
        })
    );
    assert!(p.apply(&PermitEvent::Endorse, date("2027-02-10")).is_ok());
    assert!(p.apply(&PermitEvent::Endorse, date("2027-03-10")).is_ok());
    assert_eq!(
        p.apply(&PermitEvent::Endorse, date("2027-03-11")),
        Err(PermitError::EndorsementOverdue {
            permit_id: "permit-1".into(),
            due: date("2027-03-10")
        })
    );
}

#[test]
fn a_missed_endorsement_suspends_and_a_late_one_restores() {
    let p = delivered_on("2026-03-10");
    assert!(matches!(
        p.apply(&PermitEvent::Suspend, date("2027-03-10")),
        Err(PermitError::NotOverdue { .. })
    ));
    let suspended = p.apply(&PermitEvent::Suspend, date("2027-04-01")).unwrap();
    assert_eq!(suspended.state, PermitState::Suspended);
    assert!(matches!(
        suspended.apply(&PermitEvent::Endorse, date("2027-04-02")),
        Err(PermitError::IllegalTransition { .. })
    ));
    let restored = suspended
        .apply(&PermitEvent::Restore, date("2028-05-01"))
        .unwrap();
    assert_eq!(restored.state, PermitState::Delivered);
    assert_eq!(restored.endorsement_due, Some(date("2029-03-10")));
}

#[test]
fn a_leap_day_anniversary_falls_on_28_february() {
    let p = delivered_on("2024-02-29");
    assert_eq!(p.endorsement_due, Some(date("2025-02-28")));
}

#[test]
fn illegal_transitions_are_typed_and_change_nothing() {
    let p = accepted();
    let before = p.clone();
    for (event, on) in [
        (PermitEvent::Deliver, "2026-01-01"),
        (PermitEvent::Endorse, "2026-01-01"),
        (PermitEvent::Suspend, "2026-01-01"),
        (PermitEvent::Restore, "2026-01-01"),
    ] {
        let err = p.apply(&event, date(on)).unwrap_err();
        assert_eq!(err.code(), "permit.illegal_transition", "{event:?}");
    }
    assert_eq!(p, before);
    let cancelled = p
        .apply(
            &PermitEvent::Cancel { reason: "1".into() },
            date("2026-01-02"),
        )
        .unwrap();
    let twice = cancelled
        .apply(
            &PermitEvent::Cancel { reason: "1".into() },
            date("2026-01-03"),
        )
        .unwrap_err();
    assert_eq!(
        twice,
        PermitError::IllegalTransition {
            permit_id: "permit-1".into(),
            state: PermitState::Cancelled,
            event: "cancel"
        }
    );
    assert!(cancelled
        .apply(&PermitEvent::Endorse, date("2026-01-03"))
        .is_err());
    let again = PermitEvent::Accept {
        person_id: "p1".into(),
        registration_id: "r1".into(),
        dwelling: dwelling(),
    };
    assert!(p.apply(&again, date("2026-01-03")).is_err());
}

#[test]
fn bad_numbers_and_reasons_are_refused() {
    let p = accepted();
    for number in ["", "AB1", "SZ 0001", "号码0001"] {
        assert!(matches!(
            p.apply(
                &PermitEvent::Issue {
                    number: number.into()
                },
                date("2026-01-01")
            ),
            Err(PermitError::InvalidNumber { .. })
        ));
    }
    assert!(matches!(
        p.apply(
            &PermitEvent::Cancel {
                reason: "77".into()
            },
            date("2026-01-01")
        ),
        Err(PermitError::UnknownReason { .. })
    ));
}

#[test]
fn a_permit_at_the_last_version_takes_no_event() {
    // Found writing the sync_answers fuzz target (which applies events to the permits it
    // decodes) and confirmed by it on a crafted entry: a permits-bucket entry at version
    // u32::MAX made the next event overflow the version (a panic with overflow checks, a
    // wrap to 0 without). Input: core/fuzz/regressions/sync_answers/permit-version-overflow.
    let permit = Permit {
        version: u32::MAX,
        ..delivered_on("2026-03-10")
    };
    let error = permit
        .apply(
            &PermitEvent::ChangeAddress {
                dwelling: dwelling(),
            },
            date("2026-04-01"),
        )
        .unwrap_err();
    assert_eq!(error.code(), "permit.illegal_transition");
}
