//! The fuzz targets' inputs, replayed on stable by an ordinary `cargo test`.
//!
//! The targets' bodies live in `core/fuzz/src/lib.rs`, included here as a module: this test runs
//! the very code libFuzzer runs, on every committed seed (`core/fuzz/seeds/<target>/`, each of
//! which the target must still accept: a real encoding of the real type) and every regression
//! input (`core/fuzz/regressions/<target>/`: inputs that once crashed a target, which must now
//! run clean). See docs/testing.md, "Fuzzing".
//!
//! The seeds are written by the ignored test `write_seeds` below:
//! `cargo test -p lgt-core --test fuzz_replay -- --ignored write_seeds`.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
mod fuzz;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The input files of one folder (not its README or dot files), sorted; none if it is missing.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.is_file())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && name != "README.md"
        })
        .collect();
    files.sort();
    files
}

/// Every sub-folder of `dir` is named after a target (a misspelt one would never be replayed).
fn only_target_folders(dir: &Path) {
    for entry in fs::read_dir(dir).expect("the folder exists") {
        let path = entry.expect("a readable folder").path();
        if path.is_dir() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            assert!(
                fuzz::TARGETS.contains(&name),
                "{} is not named after a fuzz target ({:?})",
                path.display(),
                fuzz::TARGETS
            );
        }
    }
}

#[test]
fn every_seed_and_regression_input_runs_clean_through_its_target() {
    let root = fuzz_dir();
    only_target_folders(&root.join("seeds"));
    only_target_folders(&root.join("regressions"));
    let mut failures = Vec::new();
    let (mut seeds, mut regressions) = (0, 0);
    for target in fuzz::TARGETS {
        let seed_files = inputs(&root.join("seeds").join(target));
        assert!(!seed_files.is_empty(), "no seeds for {target}");
        let regression_files = inputs(&root.join("regressions").join(target));
        seeds += seed_files.len();
        regressions += regression_files.len();
        for (path, is_seed) in seed_files
            .iter()
            .map(|p| (p, true))
            .chain(regression_files.iter().map(|p| (p, false)))
        {
            let data = fs::read(path).expect("a readable input");
            match catch_unwind(AssertUnwindSafe(|| fuzz::run(target, &data))) {
                Ok(Some(accepted)) => {
                    if is_seed && !accepted {
                        failures.push(format!(
                            "{}: the seed is no longer accepted (write the seeds again)",
                            path.display()
                        ));
                    }
                }
                Ok(None) => unreachable!("{target} is a target"),
                Err(_) => failures.push(format!("{}: the target panicked", path.display())),
            }
        }
    }
    println!(
        "replayed {seeds} seeds and {regressions} regression inputs over {} targets",
        fuzz::TARGETS.len()
    );
    assert!(seeds > 0, "no input was read");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The fuzz crate's binaries are exactly the targets replayed here (CI runs every binary
/// `cargo fuzz list` names, so a target missing from [`fuzz::TARGETS`] would go unreplayed).
#[test]
fn the_fuzz_binaries_are_the_replayed_targets() {
    let root = fuzz_dir();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("core/fuzz/Cargo.toml");
    let mut binaries: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|section| {
            let line = section
                .lines()
                .find(|l| l.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    binaries.sort_unstable();
    let mut targets = fuzz::TARGETS.to_vec();
    targets.sort_unstable();
    assert_eq!(binaries, targets);
    for target in fuzz::TARGETS {
        assert!(
            root.join("fuzz_targets")
                .join(format!("{target}.rs"))
                .is_file(),
            "fuzz_targets/{target}.rs is missing"
        );
    }
}

/// Writes the seed corpora: small, synthetic, real encodings of the real types (no real
/// person's data). Run it after a wire type changes, and commit what it writes. Everything but
/// the watchlist package is the same bytes each time (its sealed details take fresh nonces).
#[test]
#[ignore = "writes core/fuzz/seeds; run by hand"]
fn write_seeds() {
    let root = fuzz_dir().join("seeds");
    for target in fuzz::TARGETS {
        let dir = root.join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("old seeds removed");
        }
        fs::create_dir_all(&dir).expect("seed folder");
        for (name, bytes) in seeds::of(target) {
            assert_eq!(
                fuzz::run(target, &bytes),
                Some(true),
                "{target}/{name} is not accepted"
            );
            fs::write(dir.join(name), bytes).expect("seed written");
        }
    }
}

mod seeds {
    use chrono::{DateTime, NaiveDate, Utc};
    use lgt_core::crypto::{sha256, SigningKey, StretchParams, EPOCH_SALT_LEN};
    use lgt_core::permit::{Permit, PermitEvent};
    use lgt_core::registration::Dwelling;
    use lgt_core::scan::permit_qr::{self, PermitClaim};
    use lgt_core::scan::render_qr;
    use lgt_protocol::*;
    use lgt_publisher::{Epoch, ListedPerson, PublishedList, Signer, Validity};
    use serde::Serialize;
    use serde_json::json;

    use super::fuzz::{fuzz_key, other_key, today, CARD_FIELDS, DEVICE_ID};

    type Seed = (&'static str, Vec<u8>);

    pub fn of(target: &str) -> Vec<Seed> {
        match target {
            "identity_parse" => identity_parse(),
            "watchlist_package" => watchlist_package(),
            "scan_payload" => scan_payload(),
            "scan_frame" => scan_frame(),
            "sync_answers" => sync_answers(),
            "signed_command" => signed_command(),
            "permit_qr" => permit_qr(),
            "card_reading" => card_reading(),
            "server_requests" => server_requests(),
            _ => unreachable!("{target}"),
        }
    }

    fn json<T: Serialize>(value: &T) -> Vec<u8> {
        serde_json::to_vec(value).expect("encodes")
    }

    fn text<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).expect("encodes")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a timestamp")
            .with_timezone(&Utc)
    }

    /// A synthetic 18-character identity number: `first17` and its MOD 11-2 check character.
    fn id18(first17: &str) -> String {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = first17
            .chars()
            .zip(WEIGHTS)
            .map(|(c, w)| c.to_digit(10).expect("digits") * w)
            .sum();
        let check = b"10X98765432"[(sum % 11) as usize] as char;
        format!("{first17}{check}")
    }

    /// Synthetic holder (male, born 1990-03-07, Beijing Dongcheng).
    fn holder() -> String {
        id18("11010119900307123")
    }

    fn dwelling() -> Dwelling {
        Dwelling {
            house_code: "FZ-0001".into(),
            address: "测试路1号".into(),
            housing_type: "2".into(),
        }
    }

    fn permit() -> Permit {
        Permit {
            id: "0190f5c2-0000-7000-8000-00000000a001".into(),
            person_id: "0190f5c2-0000-7000-8000-00000000b001".into(),
            registration_id: "0190f5c2-0000-7000-8000-00000000c001".into(),
            state: lgt_core::permit::PermitState::Delivered,
            version: 3,
            number: Some("FZ0001".into()),
            issued_on: Some(date(2025, 4, 1)),
            endorsement_due: Some(date(2026, 4, 1)),
            dwelling: dwelling(),
            cancel_reason: None,
        }
    }

    fn claim(from: NaiveDate, until: NaiveDate) -> PermitClaim {
        PermitClaim {
            permit_number: "FZ0001".into(),
            holder_ref: permit_qr::holder_ref(&[9; 32], &holder()),
            valid_from: from,
            valid_until: until,
            issuer_key_id: fuzz_key().public_key().key_id(),
        }
    }

    fn permit_code() -> String {
        permit_qr::sign(&claim(date(2025, 4, 1), date(2026, 4, 1)), fuzz_key()).expect("signed")
    }

    fn signed_command_text(action: CommandAction) -> String {
        let command = text(&Command {
            command_id: "0190f5c2-0000-7000-8000-00000000d001".into(),
            device_id: DEVICE_ID.into(),
            issued_at: 1_773_100_000,
            action,
        });
        text(&SignedCommand {
            signature: hex(&fuzz_key().sign(&command_signing_message(&command))),
            command,
        })
    }

    fn package() -> Vec<u8> {
        let root = SigningKey::from_pkcs8(fuzz_key().pkcs8()).expect("key");
        let key = SigningKey::from_pkcs8(other_key().pkcs8()).expect("key");
        let signer = Signer::delegate(&root, key, at("2027-01-01T00:00:00Z")).expect("delegated");
        let epoch = Epoch {
            number: 1,
            salt: [7; EPOCH_SALT_LEN],
            stretch: StretchParams::MINIMUM,
        };
        let person = ListedPerson {
            entry_ref: "FZ-CASE-1".into(),
            name: "测试甲".into(),
            sex: "1".into(),
            birth_date: date(1990, 3, 7),
            id_numbers: vec![holder()],
            case_summary: "synthetic fuzz seed".into(),
            instructions: "none".into(),
        };
        let validity = Validity {
            created_at: at("2026-03-01T00:00:00Z"),
            expires_at: at("2026-04-01T00:00:00Z"),
        };
        let (_, package) =
            PublishedList::snapshot("fuzz-list", 1, epoch, &[person], validity, &signer)
                .expect("a snapshot");
        package.to_bytes()
    }

    fn identity_parse() -> Vec<Seed> {
        let fullwidth: String = holder()
            .chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c))
            .collect();
        let with_x = (100..1000)
            .map(|seq| id18(&format!("44030519851120{seq}")))
            .find(|id| id.ends_with('X'))
            .expect("one in eleven ends with X");
        let card = json!({
            "name": "测试甲", "sex": "男", "ethnicity": "汉", "birth_date": "19900307",
            "address": "测试路1号", "id_number": holder(), "issuing_authority": "测试分局",
            "valid_from": "20200101", "valid_until": "20300101",
        });
        vec![
            ("id-18", holder().into_bytes()),
            ("id-18-lower-x", with_x.to_lowercase().into_bytes()),
            ("id-15-legacy", b"110101900307123".to_vec()),
            ("id-hong-kong", id18("81000019900307123").into_bytes()),
            ("id-foreigner", id18("93044019900307123").into_bytes()),
            (
                "id-full-width",
                format!("\u{3000}{fullwidth} ").into_bytes(),
            ),
            ("card-json", json(&card)),
        ]
    }

    fn watchlist_package() -> Vec<Seed> {
        let bytes = package();
        let payload = lgt_core::watchlist::ListPackage::from_bytes(&bytes)
            .expect("a package")
            .payload;
        vec![("snapshot-package", bytes), ("snapshot-payload", payload)]
    }

    fn scan_payload() -> Vec<Seed> {
        vec![
            ("id-number", holder().into_bytes()),
            ("permit-code", permit_code().into_bytes()),
            (
                "door-plate-url",
                b"https://dz.example.cn/q?mpbm=FZ-0001&dz=%E6%B5%8B%E8%AF%95%E8%B7%AF1%E5%8F%B7"
                    .to_vec(),
            ),
            (
                "door-plate-pairs",
                b"housecode=FZ-0001;address=Fuzz Road 1".to_vec(),
            ),
            ("ctid", b"CTID:0123456789abcdef".to_vec()),
        ]
    }

    fn frame(text: &str, module_px: u32, flags: u8, region: [u8; 4]) -> Vec<u8> {
        let image = render_qr(text, module_px).expect("rendered");
        let side = u8::try_from(image.size - 1).expect("at most 256 pixels a side");
        let mut bytes = vec![side, side, 0, flags];
        bytes.extend(region);
        bytes.extend(image.pixels);
        bytes
    }

    fn scan_frame() -> Vec<Seed> {
        vec![
            ("qr-id-number-still", frame(&holder(), 3, 1, [0; 4])),
            ("qr-door-plate-live", frame("mpbm=FZ-0001", 3, 0, [0; 4])),
            (
                "qr-id-number-region",
                frame(&holder(), 2, 3, [0, 0, 200, 200]),
            ),
        ]
    }

    fn sync_answers() -> Vec<Seed> {
        let issuer = IssuerEntry {
            public_key: hex(fuzz_key().public_key().as_bytes()),
            device_id: DEVICE_ID.into(),
            revoked_at: None,
        };
        let watchlist = WatchlistEntry::new(1, &package());
        let person = json!({
            "person_id": "0190f5c2-0000-7000-8000-00000000b001", "version": 1,
            "person": {"name": "测试甲"}, "identifiers": [], "merged_ids": [],
        });
        let entry = |key: &str, seq: i64, data: String| Entry {
            key: key.into(),
            seq,
            data: Some(data),
        };
        let page = |bucket, entries| BucketPage {
            bucket,
            entries,
            cursor: 7,
            has_more: false,
            checksum: Some(checksum_hex(0x00ff)),
        };
        let pull = PullResponse {
            buckets: vec![
                page(
                    Bucket::Records,
                    vec![entry(
                        "person:0190f5c2-0000-7000-8000-00000000b001",
                        1,
                        person.to_string(),
                    )],
                ),
                page(
                    Bucket::Permits,
                    vec![entry(&permit().id, 2, text(&permit()))],
                ),
                page(
                    Bucket::Watchlist,
                    vec![entry(&watchlist_key("fuzz-list", 1), 3, text(&watchlist))],
                ),
                page(
                    Bucket::Commands,
                    vec![entry(
                        "0190f5c2-0000-7000-8000-00000000d001",
                        4,
                        signed_command_text(CommandAction::Wipe),
                    )],
                ),
                page(
                    Bucket::Issuers,
                    vec![
                        entry(&fuzz_key().public_key().key_id(), 5, text(&issuer)),
                        Entry {
                            key: "gone".into(),
                            seq: 6,
                            data: None,
                        },
                    ],
                ),
            ],
        };
        let push = PushResponse {
            results: vec![
                OperationResult::New {
                    op_id: "op-1".into(),
                    outcome: Outcome::Applied,
                },
                OperationResult::New {
                    op_id: "op-2".into(),
                    outcome: Outcome::Conflict {
                        reason: "stale".into(),
                        server_version: Some(3),
                    },
                },
                OperationResult::Duplicate {
                    op_id: "op-3".into(),
                    outcome: Outcome::Rejected {
                        reason: "unknown operation kind".into(),
                    },
                },
                OperationResult::HashMismatch {
                    op_id: "op-4".into(),
                },
            ],
        };
        vec![
            (
                "enroll",
                json(&EnrollResponse {
                    device_id: DEVICE_ID.into(),
                    coordinator: "coord-fz".into(),
                    district: "440305".into(),
                    max_offline_secs: 259_200,
                    command_key: hex(fuzz_key().public_key().as_bytes()),
                }),
            ),
            ("push", json(&push)),
            ("pull", json(&pull)),
            (
                "numbers",
                json(&NumbersResponse {
                    numbers: vec![ReservedNumber {
                        number: "FZ0002".into(),
                        expires_at: 1_778_000_000,
                    }],
                }),
            ),
            (
                "device-key",
                json(&DeviceKeyResponse {
                    device_id: DEVICE_ID.into(),
                    rotated_at: 1_773_100_000,
                }),
            ),
            (
                "audit-anchor",
                json(&AuditAnchorResponse {
                    status: AnchorStatus::Challenge,
                    anchor_seq: Some(12),
                }),
            ),
            (
                "error",
                json(&ErrorBody {
                    code: codes::DEVICE_REVOKED.into(),
                    message: "the device was revoked".into(),
                }),
            ),
            ("permit-entry", json(&permit())),
            ("issuer-entry", json(&issuer)),
            ("watchlist-entry", json(&watchlist)),
            ("server-pin", ServerPin([7; 32]).to_string().into_bytes()),
        ]
    }

    fn signed_command() -> Vec<Seed> {
        let actions = [
            ("wipe", CommandAction::Wipe),
            (
                "min-client-version",
                CommandAction::MinClientVersion {
                    version: "0.2.0".into(),
                },
            ),
            (
                "trust-server-keys",
                CommandAction::TrustServerKeys {
                    pins: vec![ServerPin([7; 32]), ServerPin([8; 32])],
                },
            ),
            ("rotate-device-key", CommandAction::RotateDeviceKey),
            (
                "rotate-command-key",
                CommandAction::RotateCommandKey {
                    key: hex(other_key().public_key().as_bytes()),
                },
            ),
        ];
        let mut seeds = Vec::new();
        for (name, action) in actions {
            let entry = signed_command_text(action);
            let command: SignedCommand = serde_json::from_str(&entry).expect("decodes");
            let entry_name: &'static str = Box::leak(format!("entry-{name}").into_boxed_str());
            let command_name: &'static str = Box::leak(format!("command-{name}").into_boxed_str());
            seeds.push((entry_name, [&[0u8][..], entry.as_bytes()].concat()));
            seeds.push((
                command_name,
                [&[2u8][..], command.command.as_bytes()].concat(),
            ));
        }
        let wipe = serde_json::from_str::<SignedCommand>(&signed_command_text(CommandAction::Wipe))
            .expect("decodes");
        seeds.push((
            "command-wipe-plain-http",
            [&[3u8][..], wipe.command.as_bytes()].concat(),
        ));
        seeds
    }

    fn permit_qr() -> Vec<Seed> {
        let current = claim(date(2025, 4, 1), date(2026, 4, 1));
        let expired = claim(date(2024, 4, 1), date(2025, 4, 1));
        let later = claim(date(2026, 6, 1), date(2027, 6, 1));
        let qr = |claim: &PermitClaim| {
            let code = permit_qr::sign(claim, fuzz_key()).expect("signed");
            [&[0u8][..], code.as_bytes()].concat()
        };
        let body = |claim: &PermitClaim| [&[1u8][..], &json(claim)].concat();
        vec![
            ("code-valid", qr(&current)),
            ("code-expired", qr(&expired)),
            ("code-not-yet-valid", qr(&later)),
            ("claim-valid", body(&current)),
            ("claim-expired", body(&expired)),
            ("claim-not-yet-valid", body(&later)),
        ]
    }

    fn card_reading() -> Vec<Seed> {
        let older = id18("44030519700101002");
        let lines = |fields: [&str; 9]| fields.join("\n").into_bytes();
        assert_eq!(CARD_FIELDS.len(), 9);
        vec![
            (
                "lines-valid",
                lines([
                    "测试甲",
                    "男",
                    "汉",
                    "19900307",
                    "测试路1号",
                    &holder(),
                    "测试分局",
                    "20200101",
                    "20300101",
                ]),
            ),
            (
                "lines-long-term-padded",
                lines([
                    " 测试乙 ",
                    "2",
                    "回",
                    "1970-01-01",
                    "测试路2号",
                    &format!("{older}  "),
                    "测试分局",
                    "2016.05.01",
                    "长期",
                ]),
            ),
            (
                "json-valid",
                json(&json!({
                    "name": "测试甲", "sex": "1", "ethnicity": "汉", "birth_date": "1990.03.07",
                    "address": "测试路1号", "id_number": holder(), "issuing_authority": "测试分局",
                    "valid_from": "2020-01-01", "valid_until": "2030-01-01",
                })),
            ),
        ]
    }

    fn server_requests() -> Vec<Seed> {
        let accept = PermitEvent::Accept {
            person_id: "0190f5c2-0000-7000-8000-00000000b001".into(),
            registration_id: "0190f5c2-0000-7000-8000-00000000c001".into(),
            dwelling: dwelling(),
        };
        let permit_event = json!({
            "permit_id": "0190f5c2-0000-7000-8000-00000000a001", "base_version": 0,
            "occurred_on": today(), "event": accept,
        })
        .to_string();
        let issuer_key = text(&IssuerKeyPayload {
            public_key: hex(fuzz_key().public_key().as_bytes()),
        });
        let operation = |op: &str, kind: &str, record: &str, payload: String| PushOperation {
            op_id: op.into(),
            kind: kind.into(),
            record_id: record.into(),
            payload_sha256: hex(&sha256(payload.as_bytes())),
            payload,
        };
        let push = PushRequest {
            operations: vec![
                operation(
                    "0190f5c2-0000-7000-8000-00000000e001",
                    ISSUER_KEY_OPERATION,
                    &fuzz_key().public_key().key_id(),
                    issuer_key.clone(),
                ),
                operation(
                    "0190f5c2-0000-7000-8000-00000000e002",
                    "permit.event",
                    "0190f5c2-0000-7000-8000-00000000a001",
                    permit_event.clone(),
                ),
            ],
        };
        let other = other_key();
        let new_key = hex(other.public_key().as_bytes());
        let proof = hex(&other.sign(&device_key_proof_message(DEVICE_ID, &new_key)));
        let events: [(&'static str, PermitEvent); 8] = [
            ("event-accept", accept.clone()),
            (
                "event-issue",
                PermitEvent::Issue {
                    number: "FZ0001".into(),
                },
            ),
            ("event-deliver", PermitEvent::Deliver),
            ("event-endorse", PermitEvent::Endorse),
            ("event-suspend", PermitEvent::Suspend),
            ("event-restore", PermitEvent::Restore),
            (
                "event-change-address",
                PermitEvent::ChangeAddress {
                    dwelling: dwelling(),
                },
            ),
            ("event-cancel", PermitEvent::Cancel { reason: "1".into() }),
        ];
        let mut seeds = vec![
            (
                "enroll",
                json(&EnrollRequest {
                    code: "FZ-CODE-0001".into(),
                    public_key: hex(fuzz_key().public_key().as_bytes()),
                    client_version: "0.1.0".into(),
                }),
            ),
            ("push", json(&push)),
            (
                "pull",
                json(&PullRequest {
                    cursors: Bucket::ALL
                        .iter()
                        .map(|&bucket| BucketCursor { bucket, cursor: 3 })
                        .collect(),
                    limit: 100,
                    queue: QueueHealth {
                        depth: 2,
                        oldest_pending: Some("2026-03-10T08:00:00Z".into()),
                    },
                }),
            ),
            ("numbers", json(&NumbersRequest {})),
            (
                "device-key",
                json(&DeviceKeyRequest {
                    public_key: new_key,
                    proof,
                }),
            ),
            (
                "audit-anchor-proof",
                json(&AuditAnchorRequest {
                    head: AuditPoint {
                        seq: 40,
                        mac: hex(&[0xab; 32]),
                    },
                    proof: Some(AuditProof {
                        seq: 12,
                        mac: Some(hex(&[0xcd; 32])),
                    }),
                }),
            ),
            (
                "audit-anchor-head",
                json(&AuditAnchorRequest {
                    head: AuditPoint {
                        seq: 1,
                        mac: hex(&[0xef; 32]),
                    },
                    proof: None,
                }),
            ),
            ("payload-permit-event", permit_event.into_bytes()),
            ("payload-issuer-key", issuer_key.into_bytes()),
        ];
        for (name, event) in events {
            seeds.push((name, json(&event)));
        }
        seeds
    }
}
