//! Unit tests: the test vectors of the domain brief, normalisation, errors, card readings.

use chrono::NaiveDate;

use super::number::check_character;
use super::*;

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("test date")
}

/// A fixed "today" after every vector's birth date.
fn today() -> NaiveDate {
    date(2025, 6, 1)
}

fn ok(input: &str) -> IdNumber {
    match parse(input, today()) {
        Ok(id) => id,
        Err(e) => panic!("expected {input:?} to be valid, got {e:?}"),
    }
}

fn err(input: &str) -> IdError {
    match parse(input, today()) {
        Ok(id) => panic!("expected {input:?} to be invalid, got {id:?}"),
        Err(e) => e,
    }
}

/// Appends the computed check character to seventeen digits.
fn with_check(body: &str) -> String {
    let bytes: [u8; 17] = body.as_bytes().try_into().expect("17 digits");
    format!("{body}{}", char::from(check_character(&bytes)))
}

#[test]
fn brief_valid_vectors() {
    use IdKind::*;
    use IdSex::*;
    let vectors: [(&str, IdSex, NaiveDate, IdKind); 12] = [
        ("11010519491231002X", Female, date(1949, 12, 31), Mainland),
        ("440524188001010014", Male, date(1880, 1, 1), Mainland),
        ("110101202311012176", Male, date(2023, 11, 1), Mainland),
        ("632123198209270518", Male, date(1982, 9, 27), Mainland),
        ("150102198807303035", Male, date(1988, 7, 30), Mainland),
        ("511702198002221308", Female, date(1980, 2, 22), Mainland),
        ("360426199101010071", Male, date(1991, 1, 1), Mainland),
        ("321083197812162119", Male, date(1978, 12, 16), Mainland),
        ("230306196304054513", Male, date(1963, 4, 5), Mainland),
        (
            "810000199408230021",
            Female,
            date(1994, 8, 23),
            HongKongResidencePermit,
        ),
        (
            "830000199201300022",
            Female,
            date(1992, 1, 30),
            TaiwanResidencePermit,
        ),
        (
            "911398199012310021",
            Female,
            date(1990, 12, 31),
            ForeignPermanentResident,
        ),
    ];
    for (input, sex, birth, kind) in vectors {
        let id = ok(input);
        assert_eq!(id.as_str(), input);
        assert_eq!(id.sex(), sex, "{input}");
        assert_eq!(id.birth_date(), birth, "{input}");
        assert_eq!(id.kind(), kind, "{input}");
        assert_eq!(id.legacy(), None);
        assert_eq!(id.region_code(), &input[..6]);
        assert!(
            !id.warnings().contains(&IdWarning::UnknownRegion),
            "{input}"
        );
    }
}

#[test]
fn standard_example_with_long_gone_county_is_valid() {
    let id = ok("440524188001010014");
    assert_eq!(
        id.warnings(),
        &[IdWarning::RegionAbolished { last_year: 1993 }]
    );
    let region = id.region().expect("潮阳县 is in the history");
    assert_eq!(region.county.as_deref(), Some("潮阳县"));
    assert_eq!(region.province.as_deref(), Some("广东省"));
}

#[test]
fn current_region_gives_no_warning() {
    let id = ok("110101202311012176");
    assert!(id.warnings().is_empty());
    assert_eq!(
        id.region().and_then(|r| r.county).as_deref(),
        Some("东城区")
    );
}

#[test]
fn abolished_regions_warn() {
    let ledu = ok("632123198209270518");
    assert_eq!(
        ledu.warnings(),
        &[IdWarning::RegionAbolished { last_year: 2013 }]
    );
    let chongwen = ok(&with_check("11010319800101001"));
    assert_eq!(
        chongwen.warnings(),
        &[IdWarning::RegionAbolished { last_year: 2010 }]
    );
}

#[test]
fn unknown_region_is_only_a_warning() {
    let id = ok(&with_check("12345619800101001"));
    assert_eq!(id.warnings(), &[IdWarning::UnknownRegion]);
    assert_eq!(id.region(), None);
    assert_eq!(id.kind(), IdKind::Mainland);
    let zero = ok(&with_check("00000019800101001"));
    assert_eq!(zero.warnings(), &[IdWarning::UnknownRegion]);
}

#[test]
fn legacy_numbers_are_upgraded() {
    for (legacy, upgraded) in [
        ("632123820927051", "632123198209270518"),
        ("150102880730303", "150102198807303035"),
    ] {
        let id = ok(legacy);
        assert_eq!(id.as_str(), upgraded);
        assert_eq!(id.legacy(), Some(legacy));
        assert!(id.warnings().contains(&IdWarning::UpgradedFromLegacy));
        assert_eq!(ok(upgraded).birth_date(), id.birth_date());
        assert_eq!(ok(upgraded).sex(), id.sex());
    }
    let ledu = ok("632123820927051");
    assert_eq!(
        ledu.warnings(),
        &[
            IdWarning::UpgradedFromLegacy,
            IdWarning::RegionAbolished { last_year: 2013 }
        ]
    );
}

#[test]
fn legacy_numbers_with_new_prefixes_are_rejected() {
    for legacy in [
        "810000940823002",
        "820000940823002",
        "830000920130002",
        "911398901231002",
    ] {
        assert_eq!(err(legacy), IdError::LegacyPrefix, "{legacy}");
    }
    // Only the exact permit prefixes are special; 811234 is merely an unknown region.
    assert_eq!(ok("811234940823002").warnings().len(), 2);
}

#[test]
fn brief_invalid_vectors() {
    assert_eq!(err("110101202311012171"), IdError::CheckDigit);
    assert_eq!(err("230307196304054513"), IdError::CheckDigit);
    // 18 bytes of UTF-8, 17 characters: must be an error, not a panic.
    assert_eq!("1101051949123100é".len(), 18);
    assert_eq!(err("1101051949123100é"), IdError::NonAscii);
}

#[test]
fn thirtieth_of_february_fails_on_the_date() {
    let number = with_check("11010519490230002");
    assert_eq!(number.len(), 18);
    assert_eq!(err(&number), IdError::InvalidDate);
    // Leap years: 29 February exists in 2000, not in 1900 or 2023.
    assert!(parse(&with_check("11010520000229002"), today()).is_ok());
    assert_eq!(err(&with_check("11010519000229002")), IdError::InvalidDate);
    assert_eq!(err(&with_check("11010520230229002")), IdError::InvalidDate);
    // Month 13, day 0, year before 1800.
    assert_eq!(err(&with_check("11010519801301002")), IdError::InvalidDate);
    assert_eq!(err(&with_check("11010519800100002")), IdError::InvalidDate);
    assert_eq!(err(&with_check("11010517991231002")), IdError::InvalidDate);
    assert_eq!(err(&with_check("11010500000101002")), IdError::InvalidDate);
    // Legacy: 30 February 1982.
    assert_eq!(err("632123820230051"), IdError::InvalidDate);
}

#[test]
fn future_dates_fail() {
    let tomorrow = with_check("11010120250602001");
    assert_eq!(err(&tomorrow), IdError::FutureDate);
    let today_number = with_check("11010120250601001");
    assert_eq!(ok(&today_number).birth_date(), today());
    assert_eq!(err(&with_check("11010199991231001")), IdError::FutureDate);
    // The same number is valid once its birth date has come.
    assert!(parse(&tomorrow, date(2025, 6, 2)).is_ok());
}

#[test]
fn normalisation() {
    let canonical = "11010519491231002X";
    for input in [
        "11010519491231002x",
        "  11010519491231002X\t\n",
        "\u{3000}11010519491231002X\u{3000}",
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５１９４９１２３１００２ｘ",
        "\u{feff}11010519491231002X\u{200b}",
        "\u{a0}１10105１9491231002ｘ ",
    ] {
        assert_eq!(ok(input).as_str(), canonical, "{input:?}");
    }
    assert_eq!(
        ok(" ６３２１２３８２０９２７０５１ ").as_str(),
        "632123198209270518"
    );
}

#[test]
fn character_and_length_errors() {
    assert_eq!(err(""), IdError::Empty);
    assert_eq!(err(" \u{3000}\t"), IdError::Empty);
    assert_eq!(err("11010519491231002X张"), IdError::NonAscii);
    assert_eq!(err("张三"), IdError::NonAscii);
    // Non-ASCII wins over an earlier invalid ASCII character.
    assert_eq!(err("1-张"), IdError::NonAscii);
    assert_eq!(err("1101051949123100"), IdError::WrongLength { length: 16 });
    assert_eq!(
        err("11010519491231002X1"),
        IdError::InvalidCharacter { position: 18 }
    );
    assert_eq!(
        err("110105194912310021X"),
        IdError::InvalidCharacter { position: 19 }
    );
    assert_eq!(
        err("1101051949123100X2"),
        IdError::InvalidCharacter { position: 17 }
    );
    assert_eq!(
        err("110105 19491231002X"),
        IdError::InvalidCharacter { position: 7 }
    );
    assert_eq!(
        err(" 11010519491231002A"),
        IdError::InvalidCharacter { position: 18 }
    );
    assert_eq!(
        err("63212382092705X"),
        IdError::InvalidCharacter { position: 15 }
    );
    assert_eq!(err("X"), IdError::InvalidCharacter { position: 1 });
    assert_eq!(err("1"), IdError::WrongLength { length: 1 });
    assert_eq!(
        err(&"1".repeat(1000)),
        IdError::WrongLength { length: 1000 }
    );
}

#[test]
fn error_messages_and_codes() {
    let errors = [
        IdError::Empty,
        IdError::NonAscii,
        IdError::InvalidCharacter { position: 7 },
        IdError::WrongLength { length: 16 },
        IdError::LegacyPrefix,
        IdError::InvalidDate,
        IdError::FutureDate,
        IdError::CheckDigit,
    ];
    let mut codes = std::collections::HashSet::new();
    for error in errors {
        assert!(error.code().starts_with("id."));
        assert!(codes.insert(error.code()), "duplicate code");
        let message = error.to_string();
        assert!(!message.is_empty());
        let digits: String = message.chars().filter(char::is_ascii_digit).collect();
        let expected = match error {
            IdError::InvalidCharacter { position } => position.to_string(),
            IdError::WrongLength { length } => length.to_string(),
            _ => String::new(),
        };
        assert_eq!(digits, expected, "{message}");
    }
    assert_eq!(IdError::CheckDigit.code(), "id.check_digit");
}

#[test]
fn debug_does_not_show_the_number() {
    let id = ok("11010519491231002X");
    let debug = format!("{id:?}");
    assert_eq!(debug, "IdNumber { kind: Mainland, .. }");
    let legacy = ok("150102880730303");
    assert!(!format!("{legacy:?}").contains("150102"));
}

#[test]
fn serde_names_are_snake_case() {
    let json = |v: &dyn erased::Ser| v.json();
    assert_eq!(
        json(&IdKind::HongKongResidencePermit),
        "\"hong_kong_residence_permit\""
    );
    assert_eq!(
        json(&IdKind::ForeignPermanentResident),
        "\"foreign_permanent_resident\""
    );
    assert_eq!(json(&IdSex::Female), "\"female\"");
    assert_eq!(
        json(&IdWarning::UnknownRegion),
        r#"{"type":"unknown_region"}"#
    );
    assert_eq!(
        json(&IdWarning::RegionAbolished { last_year: 2010 }),
        r#"{"type":"region_abolished","last_year":2010}"#
    );
    let back: IdWarning =
        serde_json::from_str(r#"{"type":"region_abolished","last_year":2013}"#).expect("json");
    assert_eq!(back, IdWarning::RegionAbolished { last_year: 2013 });
    assert_eq!(
        IdWarning::RegionAbolished { last_year: 2010 }.to_string(),
        "the address code was abolished in 2010; the number remains valid"
    );
    assert_eq!(
        IdWarning::UpgradedFromLegacy.code(),
        "id.upgraded_from_legacy"
    );
    let region = region("110103").expect("崇文区");
    let value = serde_json::to_value(&region).expect("json");
    assert_eq!(value["code"], "110103");
    assert_eq!(value["last_year"], 2010);
}

/// A tiny object-safe wrapper so the test above can take different types.
mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).expect("json")
        }
    }
}

#[test]
fn regions_of_permits_and_foreigners() {
    let hk = ok("810000199408230021");
    assert_eq!(
        hk.region().and_then(|r| r.province).as_deref(),
        Some("香港特别行政区")
    );
    assert!(hk.warnings().is_empty());
    let tw = ok("830000199201300022");
    assert_eq!(
        tw.region().and_then(|r| r.province).as_deref(),
        Some("台湾省")
    );
    assert!(tw.warnings().is_empty());
    let mo = ok(&with_check("82000019920130002"));
    assert_eq!(mo.kind(), IdKind::MacauResidencePermit);
    assert_eq!(
        mo.region().and_then(|r| r.province).as_deref(),
        Some("澳门特别行政区")
    );
    assert!(mo.warnings().is_empty());

    let foreigner = ok("911398199012310021");
    let region = foreigner.region().expect("province 11");
    assert_eq!(region.code, "110000");
    assert_eq!(region.province.as_deref(), Some("北京市"));
    assert!(foreigner.warnings().is_empty());
    // An unknown province after the 9: no region, and still no warning.
    let unknown = ok(&with_check("99915619901231002"));
    assert_eq!(unknown.kind(), IdKind::ForeignPermanentResident);
    assert_eq!(unknown.region(), None);
    assert!(unknown.warnings().is_empty());
}

#[test]
fn equality_and_hash_follow_the_parse_result() {
    assert_eq!(ok("150102198807303035"), ok(" 150102198807303035 "));
    assert_ne!(ok("150102198807303035"), ok("150102880730303"));
    assert_eq!(
        ok("150102198807303035").as_str(),
        ok("150102880730303").as_str()
    );
}

mod card {
    use super::*;

    fn reading() -> CardReading {
        CardReading {
            name: "张三".into(),
            sex: "女".into(),
            ethnicity: "汉".into(),
            birth_date: "19491231".into(),
            address: "北京市东城区某街1号".into(),
            id_number: "11010519491231002X".into(),
            issuing_authority: "北京市公安局东城分局".into(),
            valid_from: "20150312".into(),
            valid_until: "长期".into(),
        }
    }

    fn validate(reading: &CardReading) -> Result<ValidatedCard, CardError> {
        validate_card(reading, today())
    }

    #[test]
    fn valid_reading() {
        let card = validate(&reading()).expect("valid");
        assert_eq!(card.id.as_str(), "11010519491231002X");
        assert_eq!(card.sex, IdSex::Female);
        assert_eq!(card.birth_date, date(1949, 12, 31));
        assert_eq!(card.valid_from, date(2015, 3, 12));
        assert_eq!(card.valid_until, CardValidity::LongTerm);
        assert!(!card.expired);
        assert!(!card.not_yet_valid);
        assert_eq!(card.name, "张三");
        assert_eq!(
            format!("{card:?}"),
            "ValidatedCard { expired: false, not_yet_valid: false, .. }"
        );
        assert_eq!(format!("{:?}", reading()), "CardReading { .. }");
    }

    #[test]
    fn formats_codes_padding() {
        let card = validate(&CardReading {
            name: " 张三   ".into(),
            sex: "2".into(),
            birth_date: "1949-12-31".into(),
            id_number: " １１０１０５１９４９１２３１００２ｘ".into(),
            valid_from: "2015.03.12".into(),
            valid_until: "2035-03-12".into(),
            ..reading()
        })
        .expect("valid");
        assert_eq!(card.name, "张三");
        assert_eq!(card.valid_until, CardValidity::Until(date(2035, 3, 12)));
        assert!(!card.expired);
    }

    #[test]
    fn expired_card_is_a_field_not_an_error() {
        let card = validate(&CardReading {
            valid_from: "20050312".into(),
            valid_until: "20250312".into(),
            ..reading()
        })
        .expect("valid");
        assert!(card.expired);
        // The last day of validity is still valid.
        let last_day = validate_card(
            &CardReading {
                valid_until: "20250601".into(),
                ..reading()
            },
            today(),
        )
        .expect("valid");
        assert!(!last_day.expired);
        let early = validate(&CardReading {
            valid_from: "20300101".into(),
            valid_until: "20400101".into(),
            ..reading()
        })
        .expect("valid");
        assert!(early.not_yet_valid);
    }

    #[test]
    fn errors_name_the_field() {
        let cases: Vec<(CardReading, CardError)> = vec![
            (
                CardReading {
                    id_number: " ".into(),
                    ..reading()
                },
                CardError::Missing { field: "id_number" },
            ),
            (
                CardReading {
                    id_number: "11010519491231002".into(),
                    ..reading()
                },
                CardError::Id(IdError::WrongLength { length: 17 }),
            ),
            (
                CardReading {
                    id_number: "110105194912310021".into(),
                    ..reading()
                },
                CardError::Id(IdError::CheckDigit),
            ),
            (
                CardReading {
                    name: "  ".into(),
                    ..reading()
                },
                CardError::Missing { field: "name" },
            ),
            (
                CardReading {
                    sex: "".into(),
                    ..reading()
                },
                CardError::Missing { field: "sex" },
            ),
            (
                CardReading {
                    sex: "F".into(),
                    ..reading()
                },
                CardError::Invalid { field: "sex" },
            ),
            (
                CardReading {
                    sex: "男".into(),
                    ..reading()
                },
                CardError::Mismatch { field: "sex" },
            ),
            (
                CardReading {
                    sex: "1".into(),
                    ..reading()
                },
                CardError::Mismatch { field: "sex" },
            ),
            (
                CardReading {
                    birth_date: "1949/12/31".into(),
                    ..reading()
                },
                CardError::Invalid {
                    field: "birth_date",
                },
            ),
            (
                CardReading {
                    birth_date: "19491301".into(),
                    ..reading()
                },
                CardError::Invalid {
                    field: "birth_date",
                },
            ),
            (
                CardReading {
                    birth_date: "19491230".into(),
                    ..reading()
                },
                CardError::Mismatch {
                    field: "birth_date",
                },
            ),
            (
                CardReading {
                    valid_from: "".into(),
                    ..reading()
                },
                CardError::Missing {
                    field: "valid_from",
                },
            ),
            (
                CardReading {
                    valid_from: "2015-0312".into(),
                    ..reading()
                },
                CardError::Invalid {
                    field: "valid_from",
                },
            ),
            (
                CardReading {
                    valid_until: "永久".into(),
                    ..reading()
                },
                CardError::Invalid {
                    field: "valid_until",
                },
            ),
            (
                CardReading {
                    valid_until: "20100101".into(),
                    ..reading()
                },
                CardError::Invalid {
                    field: "valid_until",
                },
            ),
            (
                CardReading {
                    valid_until: "".into(),
                    ..reading()
                },
                CardError::Missing {
                    field: "valid_until",
                },
            ),
        ];
        for (reading, expected) in cases {
            let error = validate(&reading).expect_err("invalid");
            assert_eq!(error, expected);
            let message = error.to_string();
            for value in [
                &reading.name,
                &reading.id_number,
                &reading.birth_date,
                &reading.sex,
            ] {
                let value = value.trim();
                if value.chars().count() >= 2 {
                    assert!(!message.contains(value), "{message}");
                }
            }
        }
        assert_eq!(CardError::Mismatch { field: "sex" }.code(), "card.mismatch");
        assert_eq!(CardError::Id(IdError::CheckDigit).code(), "id.check_digit");
        assert_eq!(CardError::Id(IdError::CheckDigit).field(), "id_number");
        assert_eq!(
            CardError::Invalid {
                field: "valid_until"
            }
            .field(),
            "valid_until"
        );
    }

    #[test]
    fn deserialises_from_json_with_missing_fields() {
        let reading: CardReading = serde_json::from_str(
            r#"{"name":"张三","sex":"2","birth_date":"19491231","id_number":"11010519491231002X",
                "valid_from":"20150312","valid_until":"长期","extra":"ignored"}"#,
        )
        .expect("json");
        assert_eq!(reading.address, "");
        assert!(validate(&reading).is_ok());
        let empty: CardReading = serde_json::from_str("{}").expect("json");
        assert_eq!(
            validate(&empty),
            Err(CardError::Missing { field: "id_number" })
        );
    }
}
