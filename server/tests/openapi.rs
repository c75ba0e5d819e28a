//! `openapi.json` describes the server: every documented route answers as documented on a
//! live server, nothing undocumented answers, and every protocol type serialises to the
//! schema the document gives it.

use std::collections::BTreeSet;

use lgt_protocol::*;
use serde_json::{json, Value};

fn doc() -> Value {
    serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is JSON")
}

/// A response object, through its `$ref` into `components/responses` when it has one.
fn response<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(reference) => {
            &doc["components"]["responses"][reference.trim_start_matches("#/components/responses/")]
        }
        None => response,
    }
}

/// Checks `value` against `schema` (the subset of OpenAPI 3.0 the document uses).
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], value, at);
    }
    if value.is_null() {
        assert_eq!(
            schema["nullable"],
            json!(true),
            "{at}: null where the schema does not allow it"
        );
        return;
    }
    match schema["type"].as_str() {
        Some("object") => {
            let fields = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: not an object"));
            let declared = schema["properties"].as_object().expect("properties");
            for (name, field) in fields {
                let property = declared
                    .get(name)
                    .unwrap_or_else(|| panic!("{at}: property {name} is not in the document"));
                check(doc, property, field, &format!("{at}.{name}"));
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                assert!(fields.contains_key(name), "{at}: required {name} missing");
            }
        }
        Some("array") => {
            for (i, item) in value.as_array().expect("array").iter().enumerate() {
                check(doc, &schema["items"], item, &format!("{at}[{i}]"));
            }
        }
        Some("string") => {
            let text = value
                .as_str()
                .unwrap_or_else(|| panic!("{at}: not a string"));
            if let Some(pattern) = schema["pattern"].as_str() {
                let pattern = regex::Regex::new(pattern).expect("a pattern");
                assert!(
                    pattern.is_match(text),
                    "{at}: {text} does not match {pattern}"
                );
            }
            if let Some(allowed) = schema["enum"].as_array() {
                assert!(
                    allowed.contains(&json!(text)),
                    "{at}: {text} is not in the enum"
                );
            }
        }
        Some("integer") => assert!(value.is_i64(), "{at}: not an integer"),
        Some("boolean") => assert!(value.is_boolean(), "{at}: not a boolean"),
        other => panic!("{at}: schema type {other:?} not handled"),
    }
}

fn conforms<T: serde::Serialize>(doc: &Value, name: &str, value: &T) {
    let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
    check(doc, &schema, &serde_json::to_value(value).unwrap(), name);
}

#[test]
fn every_protocol_type_matches_its_schema() {
    let doc = doc();
    conforms(
        &doc,
        "EnrollRequest",
        &EnrollRequest {
            code: "c".into(),
            public_key: "ab".repeat(32),
            client_version: "1".into(),
        },
    );
    conforms(
        &doc,
        "EnrollResponse",
        &EnrollResponse {
            device_id: "d".into(),
            coordinator: "c".into(),
            district: "110105".into(),
            max_offline_secs: 3600,
            command_key: "00".into(),
        },
    );
    let op = PushOperation {
        op_id: "o".into(),
        kind: "permit.event".into(),
        record_id: "r".into(),
        payload_sha256: "00".into(),
        payload: "{}".into(),
    };
    conforms(
        &doc,
        "PushRequest",
        &PushRequest {
            operations: vec![op],
        },
    );
    let outcomes = [
        Outcome::Applied,
        Outcome::Conflict {
            reason: "r".into(),
            server_version: Some(2),
        },
        Outcome::Conflict {
            reason: "r".into(),
            server_version: None,
        },
        Outcome::Rejected { reason: "r".into() },
    ];
    let mut results: Vec<OperationResult> = outcomes
        .iter()
        .flat_map(|o| {
            [
                OperationResult::New {
                    op_id: "o".into(),
                    outcome: o.clone(),
                },
                OperationResult::Duplicate {
                    op_id: "o".into(),
                    outcome: o.clone(),
                },
            ]
        })
        .collect();
    results.push(OperationResult::HashMismatch { op_id: "o".into() });
    conforms(&doc, "PushResponse", &PushResponse { results });
    conforms(
        &doc,
        "PullRequest",
        &PullRequest {
            cursors: Bucket::ALL
                .iter()
                .map(|b| BucketCursor {
                    bucket: *b,
                    cursor: 3,
                })
                .collect(),
            limit: 10,
            queue: QueueHealth {
                depth: 2,
                oldest_pending: Some("2026-01-01T00:00:00Z".into()),
            },
        },
    );
    let page = |has_more: bool| BucketPage {
        bucket: Bucket::Permits,
        entries: vec![
            Entry {
                key: "k".into(),
                seq: 1,
                data: Some("{}".into()),
            },
            Entry {
                key: "t".into(),
                seq: 2,
                data: None,
            },
        ],
        cursor: 2,
        has_more,
        checksum: (!has_more).then(|| checksum_hex(1)),
    };
    conforms(
        &doc,
        "PullResponse",
        &PullResponse {
            buckets: vec![page(true), page(false)],
        },
    );
    conforms(&doc, "WatchlistEntry", &WatchlistEntry::new(2, b"package"));
    for action in [
        CommandAction::Wipe,
        CommandAction::MinClientVersion {
            version: "0.2.0".into(),
        },
        CommandAction::TrustServerKeys {
            pins: vec![lgt_protocol::ServerPin([9; 32])],
        },
        CommandAction::RotateDeviceKey,
        CommandAction::RotateCommandKey { key: "ab".into() },
    ] {
        let command = Command {
            command_id: "c".into(),
            device_id: "d".into(),
            issued_at: 1,
            action,
        };
        conforms(&doc, "Command", &command);
        conforms(
            &doc,
            "SignedCommand",
            &SignedCommand {
                command: serde_json::to_string(&command).unwrap(),
                signature: "00".into(),
            },
        );
    }
    conforms(
        &doc,
        "DeviceKeyRequest",
        &lgt_protocol::DeviceKeyRequest {
            public_key: "ab".repeat(32),
            proof: "cd".repeat(64),
        },
    );
    conforms(
        &doc,
        "DeviceKeyResponse",
        &lgt_protocol::DeviceKeyResponse {
            device_id: "d".into(),
            rotated_at: 1,
        },
    );
    conforms(
        &doc,
        "IssuerKeyPayload",
        &lgt_protocol::IssuerKeyPayload {
            public_key: "ab".into(),
        },
    );
    for revoked_at in [None, Some(7)] {
        conforms(
            &doc,
            "IssuerEntry",
            &lgt_protocol::IssuerEntry {
                public_key: "ab".into(),
                device_id: "d".into(),
                revoked_at,
            },
        );
    }
    let head = lgt_protocol::AuditPoint {
        seq: 9,
        mac: "ab".into(),
    };
    for proof in [
        None,
        Some(lgt_protocol::AuditProof { seq: 4, mac: None }),
        Some(lgt_protocol::AuditProof {
            seq: 4,
            mac: Some("cd".into()),
        }),
    ] {
        conforms(
            &doc,
            "AuditAnchorRequest",
            &lgt_protocol::AuditAnchorRequest {
                head: head.clone(),
                proof,
            },
        );
    }
    for status in [
        lgt_protocol::AnchorStatus::Challenge,
        lgt_protocol::AnchorStatus::Anchored,
        lgt_protocol::AnchorStatus::RollbackSuspected,
    ] {
        conforms(
            &doc,
            "AuditAnchorResponse",
            &lgt_protocol::AuditAnchorResponse {
                status,
                anchor_seq: Some(9),
            },
        );
    }
    let record = AuditChainRecord {
        seq: 1,
        at: "2026-01-01T00:00:00.000000Z".into(),
        actor: "coord".into(),
        action: "person.read".into(),
        record_kind: "person".into(),
        record_id: "p-1".into(),
        prev_chain_hash: "00".repeat(32),
        chain_hash: "ab".repeat(32),
    };
    for records in [Vec::new(), vec![record]] {
        conforms(
            &doc,
            "AuditRecordsRequest",
            &AuditRecordsRequest {
                records,
                head: SignedAuditHead {
                    seq: 1,
                    chain_hash: "ab".repeat(32),
                    signature: "cd".repeat(64),
                },
            },
        );
    }
    for status in [
        AuditRecordsStatus::InStep,
        AuditRecordsStatus::Behind,
        AuditRecordsStatus::RollbackSuspected,
    ] {
        for held in [
            None,
            Some(AuditChainPoint {
                seq: 3,
                chain_hash: "ef".repeat(32),
            }),
        ] {
            conforms(
                &doc,
                "AuditRecordsResponse",
                &AuditRecordsResponse { status, held },
            );
        }
    }
    conforms(&doc, "NumbersRequest", &NumbersRequest {});
    conforms(
        &doc,
        "NumbersResponse",
        &NumbersResponse {
            numbers: vec![ReservedNumber {
                number: "11010500000001".into(),
                expires_at: 1,
            }],
        },
    );
    conforms(
        &doc,
        "ErrorBody",
        &ErrorBody {
            code: "c".into(),
            message: "m".into(),
        },
    );
    let documented: BTreeSet<&str> = doc["components"]["schemas"]["Bucket"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(documented, Bucket::ALL.iter().map(|b| b.as_str()).collect());
}

/// reqwest without its `json` feature: a JSON body by hand.
fn post_json(http: &reqwest::Client, url: String, value: &Value) -> reqwest::RequestBuilder {
    http.post(url)
        .header("content-type", "application/json")
        .body(value.to_string())
}

async fn answer(response: reqwest::Response) -> (String, Value) {
    let status = response.status().as_u16().to_string();
    let body = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn the_live_server_answers_as_documented() {
    let doc = doc();
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        // The console's, on a listener of its own: checked in the console tests.
        .filter(|path| !path.starts_with("/console/"))
        .collect();
    assert_eq!(
        documented,
        BTreeSet::from([
            paths::HEALTH,
            paths::ENROLL,
            paths::PUSH,
            paths::PULL,
            paths::NUMBERS,
            paths::DEVICE_KEY,
            paths::AUDIT_ANCHOR,
            paths::AUDIT_RECORDS
        ])
    );

    let data = tempfile::tempdir().unwrap();
    let db = lgt_server::Db::open(data.path(), None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(lgt_server::serve_with(
        listener,
        db.clone(),
        None,
        lgt_server::Limits::off(),
        std::future::pending(),
    ));
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_base = format!("http://{}", metrics_listener.local_addr().unwrap());
    tokio::spawn(lgt_server::serve_metrics(
        metrics_listener,
        std::future::pending(),
    ));
    let http = reqwest::Client::new();

    let documented_answer = |path: &str, method: &str, status: &str, body: &Value| {
        let response = response(&doc, &doc["paths"][path][method]["responses"][status]);
        assert!(
            response.is_object(),
            "{method} {path} answered an undocumented {status}"
        );
        let schema = &response["content"]["application/json"]["schema"];
        check(&doc, schema, body, &format!("{method} {path} {status}"));
    };

    let (status, body) = answer(
        http.get(format!("{base}{}", paths::HEALTH))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, "200");
    documented_answer(paths::HEALTH, "get", &status, &body);

    // The Ed25519 base point: a valid key (a point of large order), so only the code is wrong.
    let base_point = format!("58{}", "66".repeat(31));
    let unknown_code = json!({"code": "unknown", "public_key": base_point, "client_version": "1"});
    let bad_key = json!({"code": "unknown", "public_key": "00", "client_version": "1"});
    for (request, expected) in [(unknown_code, "401"), (bad_key, "400")] {
        let url = format!("{base}{}", paths::ENROLL);
        let (status, body) = answer(post_json(&http, url, &request).send().await.unwrap()).await;
        assert_eq!(status, expected);
        documented_answer(paths::ENROLL, "post", &status, &body);
    }

    for path in [
        paths::PUSH,
        paths::PULL,
        paths::NUMBERS,
        paths::AUDIT_RECORDS,
    ] {
        let url = format!("{base}{path}");
        let (status, body) = answer(post_json(&http, url, &json!({})).send().await.unwrap()).await;
        assert_eq!(status, "401");
        documented_answer(path, "post", &status, &body);
    }
    // The counters are on the operators' listener, not on the API's.
    let (status, body) = answer(
        http.get(format!("{base}{}", paths::METRICS))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, "404");
    assert_eq!(body["code"], "request.not_found", "{body}");
    let metrics = http
        .get(format!("{metrics_base}{}", paths::METRICS))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("lgt_requests_total{route=\"/v1/push\",status=\"401\"} 1"),
        "{text}"
    );
    let (status, body) = answer(http.get(format!("{base}/v1/admin")).send().await.unwrap()).await;
    assert_eq!(status, "404");
    assert_eq!(body["code"], "request.not_found", "{body}");

    limits_match_the_server(&doc, &http, &base, &db).await;
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

/// The number of hex digits a `^[0-9a-fA-F]{N}$` pattern asks for.
fn hex_digits(pattern: &str) -> usize {
    pattern
        .strip_prefix("^[0-9a-fA-F]{")
        .and_then(|rest| rest.strip_suffix("}$"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{pattern} is not a hex pattern"))
}

/// The document's constraints are the server's checks: each bound read from the document is
/// probed on the live server, just inside (accepted) and just outside (refused).
async fn limits_match_the_server(
    doc: &Value,
    http: &reqwest::Client,
    base: &str,
    db: &lgt_server::Db,
) {
    use lgt_common::crypto::{sha256, SigningKey};

    // Push: at most maxItems operations.
    let max_items = schema(doc, "PushRequest")["properties"]["operations"]["maxItems"]
        .as_u64()
        .unwrap();
    assert_eq!(max_items, MAX_PUSH_OPERATIONS as u64);

    // Keys: the pattern's length of hex digits, nothing else.
    for name in ["EnrollRequest", "DeviceKeyRequest"] {
        let pattern = schema(doc, name)["properties"]["public_key"]["pattern"]
            .as_str()
            .unwrap();
        assert_eq!(
            hex_digits(pattern),
            2 * 32,
            "{name}: an Ed25519 key is 32 bytes"
        );
    }
    let key = SigningKey::generate().unwrap();
    let key_hex = hex(key.public_key().as_bytes());
    let enroll = |public_key: String, code: &str| {
        post_json(
            http,
            format!("{base}{}", paths::ENROLL),
            &json!({"code": code, "public_key": public_key, "client_version": "1"}),
        )
        .send()
    };
    for bad in [
        key_hex[2..].to_owned(),
        format!("+{}", &key_hex[1..]),
        format!("{key_hex}00"),
    ] {
        let (status, body) = answer(enroll(bad, "unknown").await.unwrap()).await;
        assert_eq!(
            (status.as_str(), &body["code"]),
            ("400", &json!("enroll.bad_key"))
        );
    }
    let (status, body) = answer(enroll(key_hex.to_uppercase(), "unknown").await.unwrap()).await;
    assert_eq!(
        (status.as_str(), &body["code"]),
        ("401", &json!("enroll.invalid_code")),
        "upper case hex is hex"
    );

    // A device to sign with.
    let code = lgt_server::admin::create_enrollment_code(db, "c", "110105", 600, 3600)
        .await
        .unwrap()
        .code;
    let (status, enrolled) = answer(enroll(key_hex.clone(), &code).await.unwrap()).await;
    assert_eq!(status, "200", "{enrolled}");
    let device = enrolled["device_id"].as_str().unwrap().to_owned();
    let signed = |path: &'static str, nonce: String, body: Value| {
        let body = body.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let message = signing_message(
            "POST",
            path,
            timestamp,
            &nonce,
            &hex(&sha256(body.as_bytes())),
        );
        http.post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .header(headers::DEVICE, &device)
            .header(headers::TIMESTAMP, timestamp.to_string())
            .header(headers::NONCE, nonce)
            .header(headers::SIGNATURE, hex(&key.sign(&message)))
            .body(body)
            .send()
    };

    // Nonces: minLength to maxLength characters.
    let parameters = &doc["components"]["parameters"];
    let nonce = &parameters["Nonce"]["schema"];
    let (shortest, longest) = (
        nonce["minLength"].as_u64().unwrap() as usize,
        nonce["maxLength"].as_u64().unwrap() as usize,
    );
    for (length, expected) in [(shortest, "200"), (longest, "200"), (longest + 1, "401")] {
        let (status, body) = answer(
            signed(paths::NUMBERS, "n".repeat(length), json!({}))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, expected, "a nonce of {length}: {body}");
        if expected == "401" {
            assert_eq!(body["code"], "auth.bad_nonce");
        }
    }
    let signature = parameters["Signature"]["schema"]["pattern"]
        .as_str()
        .unwrap();
    assert_eq!(
        hex_digits(signature),
        2 * 64,
        "an Ed25519 signature is 64 bytes"
    );

    // Audit uploads: at most maxItems records, each text field at most maxLength characters
    // (not bytes), sequence numbers from minimum.
    let records_schema = &schema(doc, "AuditRecordsRequest")["properties"]["records"];
    assert_eq!(
        records_schema["maxItems"].as_u64().unwrap(),
        MAX_AUDIT_RECORDS as u64
    );
    let record_schema = &schema(doc, "AuditChainRecord")["properties"];
    for field in ["at", "actor", "action", "record_kind", "record_id"] {
        assert_eq!(
            record_schema[field]["maxLength"].as_u64().unwrap(),
            MAX_AUDIT_TEXT as u64,
            "{field}"
        );
    }
    assert_eq!(record_schema["seq"]["minimum"].as_i64().unwrap(), 1);
    let (mut next, mut prev) = (1i64, AUDIT_CHAIN_GENESIS);
    let chain = |count: usize, text: &str, from: i64, after: [u8; 32]| {
        let mut before = after;
        let records: Vec<AuditChainRecord> = (0..count as i64)
            .map(|i| {
                let seq = from + i;
                let hash = sha256(&audit_chain_input(&before, seq, "t", "a", "x", "k", text));
                let record = AuditChainRecord {
                    seq,
                    at: "t".into(),
                    actor: "a".into(),
                    action: "x".into(),
                    record_kind: "k".into(),
                    record_id: text.into(),
                    prev_chain_hash: hex(&before),
                    chain_hash: hex(&hash),
                };
                before = hash;
                record
            })
            .collect();
        let last = records.last().unwrap();
        let message = audit_head_signing_message(&device, last.seq, &last.chain_hash);
        let head = SignedAuditHead {
            seq: last.seq,
            chain_hash: last.chain_hash.clone(),
            signature: hex(&key.sign(&message)),
        };
        (
            serde_json::to_value(AuditRecordsRequest { records, head }).unwrap(),
            before,
        )
    };
    let longest = "界".repeat(MAX_AUDIT_TEXT);
    let too_long = "界".repeat(MAX_AUDIT_TEXT + 1);
    for (count, text, expected) in [
        (1, too_long.as_str(), ("400", "audit.malformed")),
        (1, longest.as_str(), ("200", "")),
        (MAX_AUDIT_RECORDS + 1, "r", ("413", "audit.too_many")),
        (MAX_AUDIT_RECORDS, "r", ("200", "")),
    ] {
        let (request, last) = chain(count, text, next, prev);
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let (status, body) =
            answer(signed(paths::AUDIT_RECORDS, nonce, request).await.unwrap()).await;
        assert_eq!(status, expected.0, "{count} records of {text}: {body}");
        if expected.0 == "200" {
            assert_eq!(body["status"], "in_step", "{body}");
            (next, prev) = (next + count as i64, last);
        } else {
            assert_eq!(body["code"], expected.1, "{body}");
        }
    }
    assert_eq!(next, 2 + MAX_AUDIT_RECORDS as i64);
    let (mut request, _) = chain(1, "r", next, prev);
    request["records"][0]["seq"] = json!(0);
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let (status, body) = answer(signed(paths::AUDIT_RECORDS, nonce, request).await.unwrap()).await;
    assert_eq!(
        (status.as_str(), &body["code"]),
        ("400", &json!("audit.malformed"))
    );

    // Pull: limit from minimum to maximum.
    let limit = &schema(doc, "PullRequest")["properties"]["limit"];
    let (least, most) = (
        limit["minimum"].as_i64().unwrap(),
        limit["maximum"].as_i64().unwrap(),
    );
    for (value, expected) in [
        (least - 1, "400"),
        (least, "200"),
        (most, "200"),
        (most + 1, "400"),
    ] {
        let request =
            json!({"cursors": [], "limit": value, "queue": {"depth": 0, "oldest_pending": null}});
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let (status, body) = answer(signed(paths::PULL, nonce, request).await.unwrap()).await;
        assert_eq!(status, expected, "limit {value}: {body}");
    }
}
