//! HTTPS with the server's key pinned: phones enroll and sync over TLS, refuse a server that
//! presents another key before sending anything (not even the enrollment code), and follow
//! a key rotation only when the server's command key signed it.

use lgt_core::sync::SyncError;
use lgt_core::Error;
use lgt_e2e::{backends, tls_identity, BackendChoice, FaultProxy, Phone, TestServer};
use lgt_protocol::CommandAction;

#[test]
fn phones_enroll_and_sync_over_https_with_the_pinned_key() {
    for backend in backends() {
        let server = TestServer::start_tls(&backend);
        assert!(server.url.starts_with("https://"));
        let pin = server.pin.expect("a pinned server");
        let mut phone = Phone::new(81);
        phone.enroll_pinned(&server.url, pin, &server.enrollment_code("c1", "110105"));
        phone.register(3);
        assert_eq!(phone.sync_until_quiet(5), 1, "{backend:?}");
        assert_eq!(server.count("SELECT count(*) FROM ledger"), 3);
        let status = phone.status();
        assert_eq!(status.queue_depth, 0);
        assert_eq!(status.enrollment.unwrap().server_pins, vec![pin]);
    }
}

#[test]
fn a_server_presenting_another_key_gets_not_even_the_enrollment_code() {
    let server = TestServer::start_tls(&BackendChoice::Sqlite);
    let code = server.enrollment_code("c1", "110105");
    let phone = Phone::new(82);
    let wrong = tls_identity().pin();
    let refused = phone.core.sync_enroll(&server.url, &[wrong], &code);
    assert!(
        matches!(refused, Err(Error::Sync(SyncError::UntrustedServer))),
        "{refused:?}"
    );
    assert!(phone.status().enrollment.is_none());
    // HTTPS without a pin, or plain HTTP off loopback, is refused before any connection.
    for (url, pins) in [
        (server.url.as_str(), vec![]),
        ("http://192.0.2.1:8080", vec![]),
        (
            server.url.as_str().trim_start_matches("https://"),
            vec![wrong],
        ),
    ] {
        let refused = phone.core.sync_enroll(url, &pins, &code);
        assert!(
            matches!(
                refused,
                Err(Error::Sync(SyncError::BadServerAddress { .. }))
            ),
            "{url}: {refused:?}"
        );
    }
    // The one-time code never reached the server: it still works with the right pin.
    phone.enroll_pinned(&server.url, server.pin.unwrap(), &code);
    assert!(phone.status().enrollment.is_some());
}

#[test]
fn an_interceptor_gets_nothing_and_only_a_signed_rotation_moves_the_pin() {
    for backend in backends() {
        // The server behind a TLS-terminating load balancer, as operators run it at scale.
        let server = TestServer::start(&backend);
        let (old, new, interceptor) = (tls_identity(), tls_identity(), tls_identity());
        let balancer = FaultProxy::start_tls(&server.url, 5, 0.0, &old);
        let mut phone = Phone::new(84);
        phone.enroll_pinned(
            &balancer.url,
            old.pin(),
            &server.enrollment_code("c1", "110105"),
        );
        let device_id = phone.status().enrollment.unwrap().device_id;
        phone.register(2);

        balancer.present(&interceptor);
        let intercepted = phone.core.sync_now();
        assert!(
            matches!(intercepted, Err(Error::Sync(SyncError::UntrustedServer))),
            "{backend:?}: {intercepted:?}"
        );
        assert_eq!(server.count("SELECT count(*) FROM ledger"), 0);
        assert_eq!(phone.status().queue_depth, 2, "nothing lost");

        // The operator announces the new key beside the old one, by a signed command.
        balancer.present(&old);
        let trust = |pins| {
            server
                .block_on(lgt_server::commands::issue(
                    &server.db,
                    &device_id,
                    CommandAction::TrustServerKeys { pins },
                ))
                .expect("command")
        };
        // To every active device (`lgt-server trust-server-keys --all`).
        let announced = server
            .block_on(lgt_server::commands::issue_to_active(
                &server.db,
                CommandAction::TrustServerKeys {
                    pins: vec![old.pin(), new.pin()],
                },
            ))
            .expect("commands");
        assert_eq!(announced.len(), 1);
        assert_eq!(phone.sync_until_quiet(5), 1);
        assert_eq!(server.count("SELECT count(*) FROM ledger"), 2);
        let pins = phone.status().enrollment.unwrap().server_pins;
        assert_eq!(pins, vec![old.pin(), new.pin()]);

        // The balancer switches to the new certificate; then the old pin is retired.
        balancer.present(&new);
        phone.register(1);
        trust(vec![new.pin()]);
        assert_eq!(phone.sync_until_quiet(5), 1);
        assert_eq!(server.count("SELECT count(*) FROM ledger"), 3);
        assert_eq!(
            phone.status().enrollment.unwrap().server_pins,
            vec![new.pin()]
        );
        balancer.present(&old);
        let retired = phone.core.sync_now();
        assert!(
            matches!(retired, Err(Error::Sync(SyncError::UntrustedServer))),
            "{retired:?}"
        );
    }
}
