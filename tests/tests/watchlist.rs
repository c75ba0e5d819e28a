//! The watchlist over sync: packages published on the real server travel through the
//! `watchlist` bucket to phones that verify them against their pinned root; a listed person
//! registered on a phone alerts, and the hit report reaches the server exactly once.

use chrono::{Duration, Utc};
use lgt_core::crypto::{SigningKey, StretchParams};
use lgt_core::registration::RegistrationInput;
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::watchlist::{ListStatus, Subject, WatchlistPolicy};
use lgt_e2e::{backends, listed, BackendChoice, Fault, FaultProxy, Phone, TestServer};
use lgt_publisher::{Epoch, ListedPerson, PublishedList, Signer, Validity};

/// Test-only stretching cost (labelled so): the field cost would make each derivation slow.
const CHEAP: StretchParams = StretchParams::MINIMUM;

/// The list's publisher: a root key (pinned on phones) and a delegated signer.
struct Publisher {
    root: SigningKey,
    signer: Signer,
}

impl Publisher {
    fn new() -> Self {
        let root = SigningKey::generate().unwrap();
        let signer = Signer::delegate(
            &root,
            SigningKey::generate().unwrap(),
            Utc::now() + Duration::days(365),
        )
        .unwrap();
        Self { root, signer }
    }

    fn policy(&self) -> WatchlistPolicy {
        WatchlistPolicy {
            roots: vec![self.root.public_key()],
            min_stretch: CHEAP,
        }
    }

    fn snapshot(&self, version: u64, persons: &[ListedPerson]) -> (PublishedList, Vec<u8>) {
        let (list, package) = PublishedList::snapshot(
            "wanted-e2e",
            version,
            Epoch::new(1, CHEAP).unwrap(),
            persons,
            validity(),
            &self.signer,
        )
        .unwrap();
        (list, package.to_bytes())
    }
}

fn validity() -> Validity {
    Validity {
        created_at: Utc::now() - Duration::hours(1),
        expires_at: Utc::now() + Duration::days(7),
    }
}

fn people(seed: u64, count: usize) -> Vec<RegistrationInput> {
    let mut people = SyntheticPeople::new(seed, Utc::now().date_naive());
    (0..count).map(|_| people.next_registration()).collect()
}

fn publish(server: &TestServer, package: &[u8]) -> u64 {
    server
        .block_on(lgt_server::watchlist::publish(&server.db, package))
        .expect("publish")
        .version
}

fn version_in_use(phone: &Phone) -> Option<u64> {
    match phone.core.watchlist_status().unwrap() {
        ListStatus::Missing => None,
        ListStatus::Current(info) | ListStatus::OutOfDate(info) => Some(info.version),
    }
}

#[test]
fn a_published_list_alerts_on_the_phone_and_its_hit_reaches_the_server_once() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let proxy = FaultProxy::start(&server.url, 7, 0.0);
        let publisher = Publisher::new();
        let inputs = people(901, 3);
        let (wanted, other) = (&inputs[0], &inputs[1]);
        let (mut list, v1) =
            publisher.snapshot(1, &[listed("CASE-1", wanted), listed("CASE-2", other)]);
        assert_eq!(publish(&server, &v1), 1);

        let phone = Phone::new(902);
        phone.enroll(&proxy.url, &server.enrollment_code("c1", "110105"));
        phone.core.sync_pin_watchlist(&publisher.policy()).unwrap();
        let report = phone.core.sync_now().unwrap();
        assert_eq!(report.watchlist_refused, Vec::<String>::new());
        let imported: Vec<u64> = report
            .watchlist_imported
            .iter()
            .map(|i| i.version)
            .collect();
        assert_eq!(imported, vec![1], "{backend:?}");

        // An unlisted person raises nothing; the listed one alerts inside the registration.
        assert!(phone.core.register(&inputs[2]).unwrap().alerts.is_empty());
        let receipt = phone.core.register(wanted).unwrap();
        assert_eq!(receipt.alerts.len(), 1);
        let alert_id = receipt.alerts[0].alert_id.clone();
        assert_eq!(
            receipt.alerts[0].person_id.as_deref(),
            Some(receipt.person_id.as_str())
        );

        // The first push is applied but its answer lost: the phone sends it again.
        proxy.force_next(1, Fault::DropResponse);
        phone.sync_until_quiet(10);
        phone.sync_until_quiet(10);
        let hits = server
            .block_on(lgt_server::watchlist::hits(&server.db))
            .unwrap();
        assert_eq!(hits.len(), 1, "{backend:?}: {hits:?}");
        assert_eq!(hits[0].alert_id, alert_id);
        assert_eq!(
            hits[0].person_id.as_deref(),
            Some(receipt.person_id.as_str())
        );
        assert_eq!((hits[0].list_version, hits[0].score), (1, 100));
        assert_eq!(
            server.count("SELECT count(*) FROM ledger WHERE kind = 'watchlist.hit'"),
            1
        );

        // Version 2 takes the person off the list: the standing alert stops, and a new check
        // of the same identity number says nothing.
        let v2 = list
            .delta(
                2,
                &[],
                &[listed("CASE-1", wanted)],
                validity(),
                &publisher.signer,
            )
            .unwrap()
            .to_bytes();
        assert_eq!(publish(&server, &v2), 2);
        assert_eq!(phone.core.watchlist_alerts().unwrap().len(), 1);
        let report = phone.core.sync_now().unwrap();
        let imported: Vec<u64> = report
            .watchlist_imported
            .iter()
            .map(|i| i.version)
            .collect();
        assert_eq!(imported, vec![2]);
        assert_eq!(version_in_use(&phone), Some(2));
        assert!(phone.core.watchlist_alerts().unwrap().is_empty());
        let subject = Subject {
            id_numbers: vec![wanted.document.number.clone()],
            ..Subject::default()
        };
        let check = phone.core.watchlist_check_identity(&subject).unwrap();
        assert!(check.alerts.is_empty());

        // A phone enrolled later gets the snapshot and the delta in one sync, in order.
        let late = Phone::new(903);
        late.enroll(&server.url, &server.enrollment_code("c2", "110105"));
        late.core.sync_pin_watchlist(&publisher.policy()).unwrap();
        let report = late.core.sync_now().unwrap();
        let imported: Vec<u64> = report
            .watchlist_imported
            .iter()
            .map(|i| i.version)
            .collect();
        assert_eq!(imported, vec![1, 2]);
        assert!(late.core.register(wanted).unwrap().alerts.is_empty());
        assert_eq!(late.core.register(other).unwrap().alerts.len(), 1);
    }
}

#[test]
fn forged_and_rolled_back_packages_are_refused_and_the_rest_of_the_sync_goes_on() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let publisher = Publisher::new();
    let inputs = people(911, 2);
    let (_, v1) = publisher.snapshot(1, &[listed("CASE-1", &inputs[0])]);
    publish(&server, &v1);

    let mut phone = Phone::new(912);
    phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
    // Not pinned yet: the package is refused and reported, the sync itself succeeds.
    let report = phone.core.sync_now().unwrap();
    assert!(report.watchlist_imported.is_empty());
    assert_eq!(report.watchlist_refused.len(), 1);
    assert!(report.watchlist_refused[0].contains("no watchlist root is pinned"));
    assert_eq!(version_in_use(&phone), None);

    // A phone that already runs version 5 (side-loaded) refuses the server's version 1.
    let rollback_phone = Phone::new(913);
    rollback_phone.enroll(&server.url, &server.enrollment_code("c2", "110105"));
    rollback_phone
        .core
        .sync_pin_watchlist(&publisher.policy())
        .unwrap();
    let (_, v5) = publisher.snapshot(5, &[listed("CASE-1", &inputs[0])]);
    rollback_phone
        .core
        .watchlist_import(&v5, &publisher.policy())
        .unwrap();
    let report = rollback_phone.core.sync_now().unwrap();
    assert!(report.watchlist_imported.is_empty());
    assert!(
        report.watchlist_refused[0].contains("watchlist.rollback"),
        "{:?}",
        report.watchlist_refused
    );
    assert_eq!(version_in_use(&rollback_phone), Some(5));

    // A package signed under another root (a compromised server, say) is published as
    // version 2: the pinned phone keeps version 1, and its records still sync.
    phone.core.sync_pin_watchlist(&publisher.policy()).unwrap();
    let report = phone.core.sync_now().unwrap();
    assert_eq!(
        report
            .watchlist_imported
            .iter()
            .map(|i| i.version)
            .collect::<Vec<_>>(),
        Vec::<u64>::new(),
        "a package already pulled is not pulled again"
    );
    let forger = Publisher::new();
    let (_, forged) = forger.snapshot(2, &[listed("CASE-9", &inputs[1])]);
    publish(&server, &forged);
    phone.register(2);
    let report = phone.core.sync_now().unwrap();
    assert_eq!(report.acknowledged, 2);
    assert!(report.watchlist_imported.is_empty());
    assert!(
        report.watchlist_refused[0].contains("watchlist.unknown_root"),
        "{:?}",
        report.watchlist_refused
    );
    assert_eq!(phone.status().queue_depth, 0);
    assert!(phone.core.register(&inputs[1]).unwrap().alerts.is_empty());
}

#[test]
fn the_server_publishes_one_list_in_version_order() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let publisher = Publisher::new();
    let inputs = people(921, 2);
    let (mut list, v1) = publisher.snapshot(1, &[listed("CASE-1", &inputs[0])]);
    let refused = |package: &[u8]| {
        server
            .block_on(lgt_server::watchlist::publish(&server.db, package))
            .unwrap_err()
            .to_string()
    };
    let v2 = list
        .delta(
            2,
            &[listed("CASE-2", &inputs[1])],
            &[],
            validity(),
            &publisher.signer,
        )
        .unwrap()
        .to_bytes();
    assert!(refused(&v2).contains("must be a snapshot"));
    assert!(refused(b"not a package").contains("not a watchlist package"));
    publish(&server, &v1);
    assert!(refused(&v1).contains("not newer"));
    let (_, other) = PublishedList::snapshot(
        "another-list",
        3,
        Epoch::new(1, CHEAP).unwrap(),
        &[],
        validity(),
        &publisher.signer,
    )
    .unwrap();
    assert!(refused(&other.to_bytes()).contains("publishes list wanted-e2e"));
    let v3 = list
        .delta(
            3,
            &[],
            &[listed("CASE-1", &inputs[0])],
            validity(),
            &publisher.signer,
        )
        .unwrap()
        .to_bytes();
    assert!(refused(&v3).contains("applies to version Some(2)"));
    publish(&server, &v2);
    publish(&server, &v3);
    // A new snapshot replaces every earlier package in the bucket.
    let (_, v4) = publisher.snapshot(4, &[listed("CASE-2", &inputs[1])]);
    publish(&server, &v4);
    assert_eq!(
        server.count(
            "SELECT count(*) FROM bucket_entries WHERE bucket = 'watchlist' AND data IS NOT NULL"
        ),
        1
    );
}
