//! `lgt id check` against every test vector of the brief.

mod common;

use common::*;

fn check(lgt: &Lgt, number: &str) -> serde_json::Value {
    lgt.json(&["id", "check", number])
}

#[test]
fn every_valid_vector_gives_the_right_verdict_sex_and_birth_date() {
    let lgt = Lgt {
        dir: tempfile::tempdir().unwrap(),
    }; // id check needs no store
    let vectors = [
        (
            "11010519491231002X",
            "11010519491231002X",
            "female",
            "1949-12-31",
            "mainland",
        ),
        (
            "440524188001010014",
            "440524188001010014",
            "male",
            "1880-01-01",
            "mainland",
        ),
        (
            "110101202311012176",
            "110101202311012176",
            "male",
            "2023-11-01",
            "mainland",
        ),
        (
            "632123198209270518",
            "632123198209270518",
            "male",
            "1982-09-27",
            "mainland",
        ),
        (
            "632123820927051",
            "632123198209270518",
            "male",
            "1982-09-27",
            "mainland",
        ),
        (
            "150102198807303035",
            "150102198807303035",
            "male",
            "1988-07-30",
            "mainland",
        ),
        (
            "150102880730303",
            "150102198807303035",
            "male",
            "1988-07-30",
            "mainland",
        ),
        (
            "511702198002221308",
            "511702198002221308",
            "female",
            "1980-02-22",
            "mainland",
        ),
        (
            "360426199101010071",
            "360426199101010071",
            "male",
            "1991-01-01",
            "mainland",
        ),
        (
            "321083197812162119",
            "321083197812162119",
            "male",
            "1978-12-16",
            "mainland",
        ),
        (
            "230306196304054513",
            "230306196304054513",
            "male",
            "1963-04-05",
            "mainland",
        ),
        (
            "810000199408230021",
            "810000199408230021",
            "female",
            "1994-08-23",
            "hong_kong_residence_permit",
        ),
        (
            "830000199201300022",
            "830000199201300022",
            "female",
            "1992-01-30",
            "taiwan_residence_permit",
        ),
        (
            "911398199012310021",
            "911398199012310021",
            "female",
            "1990-12-31",
            "foreign_permanent_resident",
        ),
        (
            " １１０１０５１９４９１２３１００２ｘ ",
            "11010519491231002X",
            "female",
            "1949-12-31",
            "mainland",
        ),
    ];
    for (input, canonical, sex, birth, kind) in vectors {
        let v = check(&lgt, input);
        assert_eq!(v["valid"], true, "{input}");
        assert_eq!(v["number"], canonical, "{input}");
        assert_eq!(v["sex"], sex, "{input}");
        assert_eq!(v["birth_date"], birth, "{input}");
        assert_eq!(v["kind"], kind, "{input}");
    }
    let abolished = check(&lgt, "632123198209270518");
    assert!(abolished["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("abolished")));
}

#[test]
fn invalid_vectors_and_garbage_fail_cleanly() {
    let lgt = Lgt {
        dir: tempfile::tempdir().unwrap(),
    };
    let body = "11010519900230001";
    let feb30 = format!(
        "{body}{}",
        lgt_core::identity::check_character(body).unwrap()
    );
    let cases: Vec<(String, &str)> = vec![
        ("110101202311012171".into(), "check"),
        ("230307196304054513".into(), "check"),
        ("1101051949123100é".into(), ""),
        (feb30, "date"),
        ("110101209901010018".into(), ""),
        ("".into(), ""),
        ("hello".into(), ""),
        ("💥💥💥💥💥💥💥💥💥".into(), ""),
        ("1".repeat(10_000), ""),
        ("11010519491231002X11010519491231002X".into(), ""),
    ];
    for (input, hint) in cases {
        let out = lgt.run(&["id", "check", &input]);
        assert_clean_failure(&out);
        let err = stderr(&out);
        assert!(err.to_lowercase().contains(hint), "{input}: {err}");
        if input.len() > 3 {
            assert!(!err.contains(&input), "the error repeats the input: {err}");
        }
    }
}
