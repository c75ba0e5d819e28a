//! Signed server commands: the phone obeys only commands signed with the command key it
//! pinned at enrollment, for itself; a wipe locks its personal data until the shell wipes, a
//! minimum client version stops sync; the device key and the command key rotate.

use lgt_core::crypto::SigningKey;
use lgt_core::sync::SyncError;
use lgt_core::Error;
use lgt_e2e::{backends, BackendChoice, Fault, FaultProxy, Phone, TestServer};
use lgt_protocol::paths;
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
    // no longer verify against the key the phone pinned. (Stored wrapped under the server's
    // key file, as only its operator can.)
    let impostor = SigningKey::generate().unwrap();
    let (wrapped, _) = server.db.vault.wrap("command", impostor.pkcs8());
    server.rows(&format!(
        "UPDATE server_keys SET pkcs8 = '{wrapped}' WHERE name = 'command' RETURNING name"
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

fn device_key(server: &TestServer, device_id: &str) -> String {
    server.rows(&format!(
        "SELECT public_key FROM devices WHERE id = '{device_id}'"
    ))[0][0]
        .clone()
        .unwrap()
}

#[test]
fn the_device_key_rotates_on_a_signed_order_even_when_the_answer_is_lost() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let proxy = FaultProxy::start(&server.url, 9, 0.0);
        let mut phone = Phone::new(74);
        phone.enroll(&proxy.url, &server.enrollment_code("c1", "110105"));
        phone.register(1);
        phone.sync_until_quiet(5);
        let device_id = phone.status().enrollment.unwrap().device_id;
        let old_key = device_key(&server, &device_id);

        issue(&server, &device_id, CommandAction::RotateDeviceKey);
        // The server takes the new key, and its answer never reaches the phone.
        proxy.force_path(paths::DEVICE_KEY, Fault::DropResponse);
        let lost = phone.core.sync_now();
        assert!(
            matches!(lost, Err(Error::Sync(SyncError::Transient { .. }))),
            "{backend:?}: {lost:?}"
        );
        let new_key = device_key(&server, &device_id);
        assert_ne!(new_key, old_key);

        // Next time the old key is refused; the new one confirms, and the sync goes on.
        phone.register(1);
        let report = phone.core.sync_now().unwrap();
        assert!(report.device_key_rotated);
        assert_eq!(report.acknowledged, 1);
        assert_eq!(device_key(&server, &device_id), new_key);
        assert_eq!(server.count("SELECT count(*) FROM ledger"), 2);
        // Once only: a recovery or a later sync does not rotate again.
        let report = phone.core.sync_now().unwrap();
        assert!(!report.device_key_rotated);
        assert_eq!(device_key(&server, &device_id), new_key);
        let rotated = server.rows(&format!(
            "SELECT key_rotated_at FROM devices WHERE id = '{device_id}'"
        ));
        assert!(rotated[0][0].is_some());
    }
}

#[test]
fn the_server_rotates_its_command_key_and_phones_follow() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let (phone, device_id) = enrolled(&server, 75);
        let old_key = server.rows("SELECT pkcs8 FROM server_keys WHERE name = 'command'")[0][0]
            .clone()
            .unwrap();
        let rotation = server
            .block_on(lgt_server::commands::rotate_key(&server.db))
            .unwrap();
        assert_eq!(rotation.commands.len(), 1);
        // A command signed by the new key reaches the phone after the rotation: obeyed.
        issue(
            &server,
            &device_id,
            CommandAction::MinClientVersion {
                version: "0.0.1".into(),
            },
        );
        let report = phone.core.sync_now().unwrap();
        assert!(
            report.commands_refused.is_empty(),
            "{backend:?}: {report:?}"
        );

        // Whoever still holds the old key can no longer order the phone about.
        server.rows(&format!(
            "UPDATE server_keys SET pkcs8 = '{old_key}' WHERE name = 'command'"
        ));
        issue(&server, &device_id, CommandAction::Wipe);
        let report = phone.core.sync_now().unwrap();
        assert_eq!(report.commands_refused.len(), 1, "{report:?}");
        assert!(report.commands_refused[0].contains("does not verify"));

        // A recovery brings the whole bucket again: nothing is obeyed twice, and the
        // rotation (signed by the key it replaced) is not mistaken for a forgery.
        let bucket = format!("device:{device_id}:commands");
        let rotation_id = &rotation.commands[0].command_id;
        let data = server.entry(&bucket, rotation_id).unwrap();
        server.rewrite_entry(&bucket, rotation_id, Some(&format!("{data} ")), false);
        let report = phone.core.sync_now().unwrap();
        assert_eq!(report.recovered, vec![lgt_protocol::Bucket::Commands]);
        assert_eq!(
            report.commands_refused.len(),
            1,
            "only the forgery: {report:?}"
        );
    }
}
