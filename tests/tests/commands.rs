//! Signed server commands: the phone obeys only commands signed with the command key it
//! pinned at enrollment, for itself; a wipe locks its personal data until the shell wipes, a
//! minimum client version stops sync.

use lgt_core::crypto::SigningKey;
use lgt_core::sync::SyncError;
use lgt_core::Error;
use lgt_e2e::{backends, BackendChoice, Phone, TestServer};
use lgt_protocol::CommandAction;

fn enrolled(server: &TestServer, seed: u64) -> (Phone, String) {
    let mut phone = Phone::new(seed);
    phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
    phone.register(2);
    phone.sync_until_quiet(5);
    let device_id = phone.status().enrollment.unwrap().device_id;
    (phone, device_id)
}

fn issue(server: &TestServer, device_id: &str, action: CommandAction) {
    server
        .block_on(lgt_server::commands::issue(&server.db, device_id, action))
        .expect("command");
}

#[test]
fn a_signed_wipe_order_locks_personal_data_until_the_shell_wipes() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let (mut phone, device_id) = enrolled(&server, 71);
        phone.register(1);
        issue(&server, &device_id, CommandAction::Wipe);
        let result = phone.core.sync_now();
        assert!(
            matches!(result, Err(Error::Sync(SyncError::WipeOrdered))),
            "{backend:?}: {result:?}"
        );
        // What was queued before the order still reached the server.
        assert_eq!(phone.status().queue_depth, 0);
        assert_eq!(server.count("SELECT count(*) FROM ledger"), 3);
        // The order stands: personal data is locked, and sync says so again without asking.
        let persons = phone.core.sync_replica(lgt_protocol::Bucket::Records);
        assert!(matches!(persons, Err(Error::Sync(SyncError::WipeOrdered))));
        assert!(matches!(
            phone.core.sync_now(),
            Err(Error::Sync(SyncError::WipeOrdered))
        ));
    }
}

#[test]
fn a_command_not_signed_by_the_pinned_key_is_refused_and_the_sync_goes_on() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let (mut phone, device_id) = enrolled(&server, 72);
    // The server's key is swapped (an impostor server, or a stolen database): its commands
    // no longer verify against the key the phone pinned.
    let impostor = SigningKey::generate().unwrap();
    server.rows(&format!(
        "UPDATE server_keys SET pkcs8 = '{}' WHERE name = 'command'",
        lgt_protocol::hex(impostor.pkcs8())
    ));
    issue(&server, &device_id, CommandAction::Wipe);
    phone.register(1);
    let report = phone.core.sync_now().unwrap();
    assert_eq!(report.acknowledged, 1);
    assert_eq!(report.commands_refused.len(), 1);
    assert!(report.commands_refused[0].contains("does not verify"));
    phone.register(1);
    phone.sync_until_quiet(5);
}

#[test]
fn a_minimum_client_version_above_this_one_stops_sync_until_the_update() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let (phone, device_id) = enrolled(&server, 73);
    issue(
        &server,
        &device_id,
        CommandAction::MinClientVersion {
            version: "0.0.1".into(),
        },
    );
    phone.core.sync_now().unwrap();
    issue(
        &server,
        &device_id,
        CommandAction::MinClientVersion {
            version: "99.0.0".into(),
        },
    );
    for _ in 0..2 {
        match phone.core.sync_now() {
            Err(Error::Sync(SyncError::UpgradeRequired { minimum, .. })) => {
                assert_eq!(minimum, "99.0.0")
            }
            other => panic!("{other:?}"),
        }
    }
    // Offline work goes on meanwhile.
    assert!(phone
        .core
        .sync_replica(lgt_protocol::Bucket::Records)
        .is_ok());
}
