//! The server's hardening against a client that is not a phone: every refusal in the API's
//! JSON shape with a stable code, echoing nothing of the request; rate limits that a code
//! guesser, a code hammerer and a flooding device run into, while others go on; a cap on
//! requests in flight; weak (small-order) keys refused at enrollment and rotation. SQLite and
//! PostgreSQL.

use std::net::IpAddr;
use std::time::Duration;

use lgt_core::crypto::SigningKey;
use lgt_core::sync::Credentials;
use lgt_e2e::signer::{self, raw, signed_raw, RawAnswer};
use lgt_e2e::{backends, TestServer};
use lgt_protocol::{hex, paths, MAX_BODY_BYTES};
use lgt_server::{Limits, Rate};
use serde_json::json;

/// Synthetic personal values a malformed request carries; no answer may hold them.
const NAME: &str = "张三丰";
const ID_NUMBER: &str = "110105199003071234";

fn json_header() -> Vec<(&'static str, String)> {
    vec![("content-type", "application/json".into())]
}

/// Asserts the answer is `status` with an `ErrorBody` of `code` and none of the personal
/// values in its body.
fn refused(answer: &RawAnswer, status: u16, code: &str, what: &str) {
    assert_eq!(
        answer.status,
        status,
        "{what}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/json"),
        "{what}"
    );
    let error = answer.error();
    assert_eq!(error.code, code, "{what}: {}", error.message);
    let text = String::from_utf8_lossy(&answer.body);
    for personal in [NAME, ID_NUMBER] {
        assert!(!text.contains(personal), "{what} echoes {personal}: {text}");
    }
}

#[test]
fn every_refusal_is_json_with_a_stable_code_and_echoes_nothing() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let device = signer::device(&server, "110105");
        let revoked = signer::device(&server, "110105");
        server
            .block_on(lgt_server::admin::revoke(&server.db, &revoked.device_id))
            .unwrap();
        let key = hex(SigningKey::generate().unwrap().public_key().as_bytes());
        let enroll = |body: serde_json::Value| body.to_string().into_bytes();
        let too_large = vec![b' '; MAX_BODY_BYTES + 1];
        let too_many = json!({"operations": (0..501).map(|i| json!({
            "op_id": format!("op-{i}"), "kind": "permit.event", "record_id": "r",
            "payload_sha256": "00", "payload": "{}"})).collect::<Vec<_>>()})
        .to_string();
        let unsigned_push = json!({"operations": []}).to_string();
        let mut replayed = signer::signature_headers(&device, paths::PULL, b"{}");
        let first = raw(
            &server,
            "POST",
            paths::PULL,
            &replayed,
            b"{}".to_vec(),
            None,
        );
        assert_eq!(
            first.status, 400,
            "a signed, malformed pull is refused once"
        );
        // A signature over another body.
        let mut forged = signer::signature_headers(&device, paths::PUSH, b"{}");
        forged.retain(|(name, _)| *name != lgt_protocol::headers::NONCE);
        forged.push((lgt_protocol::headers::NONCE, "other-nonce".into()));

        type Case<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, String)>, Vec<u8>);
        let cases: Vec<(Case, u16, &str)> = vec![
            (("unknown route", "GET", "/v1/admin", vec![], vec![]), 404, "request.not_found"),
            (("metrics on the API listener", "GET", paths::METRICS, vec![], vec![]), 404, "request.not_found"),
            (("GET on a POST route", "GET", paths::PUSH, vec![], vec![]), 405, "request.method_not_allowed"),
            (("DELETE on health", "DELETE", paths::HEALTH, vec![], vec![]), 405, "request.method_not_allowed"),
            (("enroll, no content type", "POST", paths::ENROLL, vec![],
              enroll(json!({"code": "c", "public_key": key, "client_version": "1"}))), 415, "request.content_type"),
            (("enroll, text/plain", "POST", paths::ENROLL, vec![("content-type", "text/plain".into())],
              enroll(json!({"code": "c", "public_key": key, "client_version": "1"}))), 415, "request.content_type"),
            (("enroll, not JSON", "POST", paths::ENROLL, json_header(),
              format!("{{\"code\": \"{NAME}").into_bytes()), 400, "request.malformed"),
            (("enroll, a personal value where a string belongs", "POST", paths::ENROLL, json_header(),
              format!("{{\"code\": {ID_NUMBER}, \"public_key\": \"{key}\", \"client_version\": \"1\"}}").into_bytes()),
              400, "request.malformed"),
            (("enroll, a name where an object belongs", "POST", paths::ENROLL, json_header(),
              enroll(json!(NAME))), 400, "request.malformed"),
            (("enroll, a field missing", "POST", paths::ENROLL, json_header(),
              enroll(json!({"code": NAME, "client_version": "1"}))), 400, "request.malformed"),
            (("enroll, a key that is not hex", "POST", paths::ENROLL, json_header(),
              enroll(json!({"code": "c", "public_key": format!("+{}", &key[1..]), "client_version": "1"}))),
              400, "enroll.bad_key"),
            (("enroll, a short key", "POST", paths::ENROLL, json_header(),
              enroll(json!({"code": "c", "public_key": "00", "client_version": "1"}))), 400, "enroll.bad_key"),
            (("enroll, an unknown code", "POST", paths::ENROLL, json_header(),
              enroll(json!({"code": ID_NUMBER, "public_key": key, "client_version": NAME}))), 401, "enroll.invalid_code"),
            (("enroll, a body over the limit", "POST", paths::ENROLL, json_header(), too_large.clone()),
              413, "request.too_large"),
            (("push, unsigned", "POST", paths::PUSH, json_header(), unsigned_push.clone().into_bytes()),
              401, "auth.missing"),
            (("push, text/plain", "POST", paths::PUSH, vec![("content-type", "text/plain".into())],
              unsigned_push.into_bytes()), 415, "request.content_type"),
            (("push, a body over the limit", "POST", paths::PUSH, json_header(), too_large),
              413, "request.too_large"),
            (("push, signed over another body", "POST", paths::PUSH, forged, b"{\"operations\": []}".to_vec()),
              401, "auth.bad_signature"),
            (("pull, replayed", "POST", paths::PULL, std::mem::take(&mut replayed), b"{}".to_vec()),
              401, "auth.replay"),
        ];
        for ((what, method, path, headers, body), status, code) in cases {
            let answer = raw(&server, method, path, &headers, body, None);
            refused(&answer, status, code, what);
        }

        type Signed<'a> = (&'a str, &'a Credentials, &'a str, Vec<u8>, u16, &'a str);
        let signed_cases: Vec<Signed> = vec![
            ("pull, malformed", &device, paths::PULL,
             format!("{{\"cursors\": \"{NAME}\", \"limit\": 1, \"queue\": {{\"depth\": 0, \"oldest_pending\": null}}}}").into_bytes(),
             400, "request.malformed"),
            ("pull, a negative limit", &device, paths::PULL,
             br#"{"cursors": [], "limit": -1, "queue": {"depth": 0, "oldest_pending": null}}"#.to_vec(),
             400, "request.malformed"),
            ("push, cut short", &device, paths::PUSH, br#"{"operations": ["#.to_vec(), 400, "request.malformed"),
            ("push, 501 operations", &device, paths::PUSH, too_many.into_bytes(), 413, "push.too_many"),
            ("device key, not a key", &device, paths::DEVICE_KEY,
             enroll(json!({"public_key": ID_NUMBER, "proof": "00"})), 400, "device_key.bad_key"),
            ("device key, a proof by another key", &device, paths::DEVICE_KEY,
             enroll(json!({"public_key": key, "proof": "00".repeat(64)})), 400, "device_key.bad_proof"),
            ("numbers, revoked", &revoked, paths::NUMBERS, b"{}".to_vec(), 403, "device.revoked"),
        ];
        for (what, who, path, body, status, code) in signed_cases {
            refused(&signed_raw(&server, who, path, &body), status, code, what);
        }
        let devices = server.count("SELECT COUNT(*) FROM devices");
        assert_eq!(devices, 2, "no refused request enrolled anything");
        assert_eq!(
            server.count("SELECT COUNT(*) FROM ledger"),
            0,
            "nor pushed anything"
        );
    }
}

fn from(last: u8) -> Option<IpAddr> {
    Some(IpAddr::from([127, 0, 0, last]))
}

fn enroll_from(server: &TestServer, code: &str, source: Option<IpAddr>) -> RawAnswer {
    let key = hex(SigningKey::generate().unwrap().public_key().as_bytes());
    let body = json!({"code": code, "public_key": key, "client_version": "test"});
    raw(
        server,
        "POST",
        paths::ENROLL,
        &json_header(),
        body.to_string().into_bytes(),
        source,
    )
}

fn limited(answer: &RawAnswer, what: &str) {
    refused(answer, 429, "rate.limited", what);
    let wait: u64 = answer
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no retry-after"))
        .parse()
        .unwrap();
    assert!(wait >= 1, "{what}: retry-after {wait}");
}

#[test]
fn a_code_guesser_is_limited_and_a_right_code_from_elsewhere_still_enrolls() {
    for backend in backends() {
        let server = TestServer::start_limited(
            &backend,
            Limits {
                enroll_per_address: Some(Rate {
                    burst: 5,
                    per_minute: 1,
                }),
                ..Limits::off()
            },
        );
        let code = server.enrollment_code("coord", "110105");
        for i in 0..5 {
            let guess = format!("{:032x}", i);
            refused(
                &enroll_from(&server, &guess, from(2)),
                401,
                "enroll.invalid_code",
                "a guess",
            );
        }
        limited(&enroll_from(&server, "0123", from(2)), "the sixth guess");
        // Even the right code is not looked at from the guesser's address now.
        limited(
            &enroll_from(&server, &code, from(2)),
            "the right code from the guesser",
        );
        assert_eq!(server.count("SELECT COUNT(*) FROM devices"), 0);
        let unused = server.count("SELECT COUNT(*) FROM enrollment_codes WHERE used_by IS NULL");
        assert_eq!(unused, 1, "the code is still unused");

        let answer = enroll_from(&server, &code, from(3));
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(server.count("SELECT COUNT(*) FROM devices"), 1);
    }
}

#[test]
fn a_code_hammered_from_many_addresses_is_limited_and_other_codes_are_not() {
    for backend in backends() {
        let server = TestServer::start_limited(
            &backend,
            Limits {
                enroll_per_code: Some(Rate {
                    burst: 3,
                    per_minute: 1,
                }),
                ..Limits::off()
            },
        );
        let code = server.enrollment_code("coord", "110105");
        let answer = enroll_from(&server, &code, from(2));
        assert_eq!(answer.status, 200, "the phone enrolls");
        // Someone else tries the used code with keys of their own, from ever new addresses.
        for last in 3..5 {
            refused(
                &enroll_from(&server, &code, from(last)),
                401,
                "enroll.invalid_code",
                "a used code",
            );
        }
        limited(&enroll_from(&server, &code, from(9)), "the code hammered");
        let other = server.enrollment_code("coord", "110105");
        let answer = enroll_from(&server, &other, from(9));
        assert_eq!(answer.status, 200, "another code enrolls");
        assert_eq!(server.count("SELECT COUNT(*) FROM devices"), 2);
    }
}

#[test]
fn a_device_flooding_requests_is_limited_and_another_device_is_not() {
    for backend in backends() {
        let server = TestServer::start_limited(
            &backend,
            Limits {
                per_device: Some(Rate {
                    burst: 5,
                    per_minute: 1,
                }),
                ..Limits::off()
            },
        );
        let flooder = signer::device(&server, "110105");
        let colleague = signer::device(&server, "110105");
        let push = |who| {
            let op = signer::op(
                &uuid::Uuid::now_v7().to_string(),
                "watchlist.hit",
                "alert",
                json!({}),
            );
            let body = json!({"operations": [op]}).to_string();
            signed_raw(&server, who, paths::PUSH, body.as_bytes())
        };
        // Unsigned requests naming the colleague spend nothing of its budget.
        for _ in 0..10 {
            let mut headers = json_header();
            headers.push((lgt_protocol::headers::DEVICE, colleague.device_id.clone()));
            let answer = raw(&server, "POST", paths::PUSH, &headers, b"{}".to_vec(), None);
            refused(
                &answer,
                401,
                "auth.missing",
                "unsigned, naming the colleague",
            );
        }
        for _ in 0..5 {
            assert_eq!(push(&flooder).status, 200);
        }
        limited(&push(&flooder), "the flooder's sixth push");
        let pull =
            json!({"cursors": [], "limit": 10, "queue": {"depth": 0, "oldest_pending": null}});
        limited(
            &signed_raw(&server, &flooder, paths::PULL, pull.to_string().as_bytes()),
            "the flooder's pull",
        );
        assert_eq!(
            server.count("SELECT COUNT(*) FROM ledger"),
            5,
            "the limited push wrote nothing"
        );
        for _ in 0..5 {
            assert_eq!(push(&colleague).status, 200, "the colleague is not limited");
        }
    }
}

#[test]
fn requests_beyond_the_cap_in_flight_are_answered_busy_at_once() {
    use std::io::Write as _;
    let server = TestServer::start_limited(
        &backends()[0],
        Limits {
            max_in_flight: Some(1),
            ..Limits::off()
        },
    );
    // A request whose body never finishes holds the one place.
    let address = server.url.trim_start_matches("http://");
    let mut slow = std::net::TcpStream::connect(address).unwrap();
    write!(
        slow,
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{",
        paths::ENROLL
    )
    .unwrap();
    slow.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let answer = raw(&server, "GET", paths::HEALTH, &[], Vec::new(), None);
    refused(&answer, 503, "server.busy", "a second request");
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    drop(slow);
    std::thread::sleep(Duration::from_millis(300));
    let answer = raw(&server, "GET", paths::HEALTH, &[], Vec::new(), None);
    assert_eq!(answer.status, 200, "the place is free again");
}

/// The attacker picks a weak key. Under the all-zero Ed25519 key (a point of small order) a
/// signature of zeros verifies for about one message in four, so a device enrolled with it, or
/// rotated to it, could be signed for by anyone (and its requests and audit heads would prove
/// nothing). Enrolling with it and rotating to it (with a proof of zeros) are refused; the
/// code stays unused and enrolls a real key afterwards, and the device keeps its own key.
#[test]
fn a_weak_key_is_refused_at_enrollment_and_at_rotation() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let zero = hex(&[0u8; 32]);
        let zeros = hex(&[0u8; 64]);
        let code = server.enrollment_code("c-weak", "110105");
        let body = json!({ "code": code, "public_key": zero, "client_version": "attacker" });
        let answer = raw(
            &server,
            "POST",
            paths::ENROLL,
            &json_header(),
            body.to_string().into_bytes(),
            None,
        );
        refused(&answer, 400, "enroll.bad_key", "enrolling the all-zero key");
        signer::enroll_key(&server, &SigningKey::generate().unwrap(), &code)
            .expect("the code is still unused");

        let device = signer::device(&server, "110105");
        let body = json!({ "public_key": zero, "proof": zeros });
        let answer = signed_raw(
            &server,
            &device,
            paths::DEVICE_KEY,
            body.to_string().as_bytes(),
        );
        refused(
            &answer,
            400,
            "device_key.bad_key",
            "rotating to the all-zero key",
        );
        // The device still signs with its own key.
        signer::pull(&server, &device);
    }
}
