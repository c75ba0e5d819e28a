use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

pub(crate) fn valid_input() -> RegistrationInput {
    RegistrationInput {
        person: PersonInput {
            name: "  张　三 ".into(),
            former_name: None,
            sex: "2".into(),
            ethnicity: "01".into(),
            birth_date: None,
        },
        document: DocumentInput {
            doc_type: "1".into(),
            number: "11010519491231002x".into(),
        },
        household_address: "合成省演示县1组".into(),
        dwelling: Dwelling {
            house_code: "hc-0001".into(),
            address: "合成市演示路1号".into(),
            housing_type: "2".into(),
        },
        moved_in: "2026-10-01".into(),
        expected_stay_until: Some("2027-10-01".into()),
        reason_for_stay: "1".into(),
        occupation: "5".into(),
        employer: Some(Employer {
            name: "合成科技有限公司".into(),
            credit_code: Some("91350100M000100Y43".into()),
        }),
        landlord: Some(Contact {
            name: "李四".into(),
            phone: "138 0000 0000".into(),
        }),
        householder: Some(Householder {
            name: "李四".into(),
            relation: "99".into(),
        }),
        contact_phone: Some("+86-755-1234567".into()),
    }
}

fn fields(
    result: Result<(Registration, Vec<String>), ValidationErrors>,
) -> Vec<(String, &'static str)> {
    result
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| (e.field, e.code))
        .collect()
}

#[test]
fn a_valid_registration_is_normalised() {
    let (r, warnings) = validate(&valid_input(), today()).unwrap();
    assert_eq!(r.person.name, "张 三");
    assert_eq!(
        r.person.birth_date,
        NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
    );
    assert_eq!(r.document.number, "11010519491231002X");
    assert_eq!(r.dwelling.house_code, "HC-0001");
    assert_eq!(r.landlord.unwrap().phone, "13800000000");
    assert_eq!(r.code_versions.len(), crate::codes::CodeTableId::ALL.len());
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_legacy_number_is_stored_upgraded_with_its_original() {
    let mut input = valid_input();
    input.person.sex = "1".into();
    input.document.number = "632123820927051".into();
    let (r, warnings) = validate(&input, today()).unwrap();
    assert_eq!(r.document.number, "632123198209270518");
    assert_eq!(r.document.legacy_number.as_deref(), Some("632123820927051"));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}

#[test]
fn every_field_at_fault_is_reported_without_its_value() {
    let mut input = valid_input();
    input.person.name = "Zhang3".into();
    input.person.sex = "1".into();
    input.person.ethnicity = "99".into();
    input.dwelling.housing_type = "".into();
    input.moved_in = "2026-02-30".into();
    input.reason_for_stay = "15".into();
    input.employer.as_mut().unwrap().credit_code = Some("91350100M000100Y44".into());
    input.contact_phone = Some("12345678901".into());
    let errors = validate(&input, today()).unwrap_err();
    let got: Vec<_> = errors
        .0
        .iter()
        .map(|e| (e.field.as_str(), e.code))
        .collect();
    assert_eq!(
        got,
        vec![
            ("person.name", "invalid_character"),
            ("person.ethnicity", "unknown_code"),
            ("person.sex", "mismatch"),
            ("dwelling.housing_type", "required"),
            ("moved_in", "invalid_date"),
            ("reason_for_stay", "unknown_code"),
            ("employer.credit_code", "invalid_credit_code"),
            ("contact_phone", "invalid_phone"),
        ]
    );
    let text = errors.to_string();
    for secret in [
        "Zhang3",
        "91350100M000100Y44",
        "12345678901",
        "11010519491231002",
    ] {
        assert!(!text.contains(secret), "message leaks a value: {text}");
    }
}

#[test]
fn identity_number_errors_name_the_document_field() {
    let mut input = valid_input();
    input.document.number = "110101202311012171".into();
    assert_eq!(
        fields(validate(&input, today())),
        vec![("document.number".to_owned(), "id.check_digit")]
    );
    input.document.number = "1101051949123100é".into();
    assert_eq!(fields(validate(&input, today()))[0].0, "document.number");
}

#[test]
fn dates_must_be_consistent() {
    let mut input = valid_input();
    input.person.birth_date = Some("1950-01-01".into());
    input.moved_in = "2026-12-01".into();
    input.expected_stay_until = Some("2020-01-01".into());
    assert_eq!(
        fields(validate(&input, today())),
        vec![
            ("person.birth_date".to_owned(), "mismatch"),
            ("moved_in".to_owned(), "in_future")
        ]
    );
    let mut input = valid_input();
    input.expected_stay_until = Some("2026-09-01".into());
    assert_eq!(
        fields(validate(&input, today())),
        vec![("expected_stay_until".to_owned(), "before_move_in")]
    );
}

#[test]
fn other_documents_need_a_birth_date_and_a_plausible_number() {
    let mut input = valid_input();
    input.document = DocumentInput {
        doc_type: "2".into(),
        number: "e 1234 5678".into(),
    };
    assert_eq!(
        fields(validate(&input, today())),
        vec![("person.birth_date".to_owned(), "required")]
    );
    input.person.birth_date = Some("1990-05-05".into());
    let (r, _) = validate(&input, today()).unwrap();
    assert_eq!(r.document.number, "E12345678");
    assert_eq!(r.document.id_kind, None);
    input.document.number = "护照".into();
    assert_eq!(
        fields(validate(&input, today())),
        vec![("document.number".to_owned(), "invalid_document_number")]
    );
}

#[test]
fn names_normalise_widths_dots_and_case() {
    assert_eq!(normalise_name("ｍａｉ　ｍａｉｔｉ"), "MAI MAITI");
    assert_eq!(normalise_name("买买提•艾力"), "买买提·艾力");
    assert_eq!(normalise_name("买买提・艾力"), "买买提·艾力");
    assert_eq!(normalise_name("  "), "");
}

#[test]
fn credit_codes_follow_gb_32100() {
    assert!(is_valid_credit_code("91350100M000100Y43"));
    assert!(!is_valid_credit_code("91350100M000100Y42"));
    assert!(!is_valid_credit_code("91350100M000100Y4"));
    assert!(!is_valid_credit_code("91350100M000100I43"));
}
