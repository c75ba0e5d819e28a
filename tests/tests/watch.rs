//! `sync --watch`'s timer: it retries by itself with backoff after transient failures, a
//! network-available hint wakes it before its backoff runs out, and stopping it ends it at
//! once.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lgt_core::sync::{Backoff, SyncAttempt, WatchOptions};
use lgt_e2e::{BackendChoice, Fault, FaultProxy, Phone, TestServer};

fn setup() -> (TestServer, FaultProxy, Phone) {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let proxy = FaultProxy::start(&server.url, 3, 0.0);
    let mut phone = Phone::new(61);
    phone.enroll(&proxy.url, &server.enrollment_code("c1", "110105"));
    phone.register(3);
    (server, proxy, phone)
}

#[test]
fn the_timer_retries_by_itself_with_backoff_until_the_server_answers() {
    let (_server, proxy, phone) = setup();
    proxy.force_next(4, Fault::Status(503));
    let options = WatchOptions {
        interval: Duration::from_secs(3600),
        backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
    };
    let failures = Arc::new(Mutex::new(Vec::new()));
    let seen = failures.clone();
    phone
        .core
        .sync_watch(options, move |attempt: &SyncAttempt| {
            match &attempt.result {
                Ok(_) => ControlFlow::Break(()),
                Err(e) => {
                    seen.lock().unwrap().push((e.code(), attempt.next_in));
                    ControlFlow::Continue(())
                }
            }
        })
        .wait()
        .unwrap();
    let failures = failures.lock().unwrap();
    assert_eq!(failures.len(), 4, "{failures:?}");
    for (code, next_in) in failures.iter() {
        assert_eq!(*code, "sync.transient");
        assert!(*next_in >= Duration::from_millis(10) && *next_in <= Duration::from_millis(100));
    }
    assert_eq!(phone.status().queue_depth, 0);
}

#[test]
fn a_network_hint_wakes_the_timer_before_its_backoff_ends() {
    let (_server, proxy, phone) = setup();
    proxy.force_next(1, Fault::DropRequest);
    let options = WatchOptions {
        interval: Duration::from_secs(3600),
        // Without the hint the retry would wait 15 to 30 s.
        backoff: Backoff::new(Duration::from_secs(30), Duration::from_secs(30)),
    };
    let started = Instant::now();
    let attempts = Arc::new(Mutex::new(0));
    let counted = attempts.clone();
    let running = phone
        .core
        .sync_watch(options, move |attempt: &SyncAttempt| {
            *counted.lock().unwrap() += 1;
            if attempt.result.is_ok() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
    std::thread::sleep(Duration::from_millis(300));
    running.network_available();
    running.wait().unwrap();
    assert_eq!(*attempts.lock().unwrap(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(phone.status().queue_depth, 0);
}

#[test]
fn a_stopped_watch_ends_at_once() {
    let (_server, _proxy, phone) = setup();
    let options = WatchOptions {
        interval: Duration::from_secs(3600),
        backoff: Backoff::new(Duration::from_secs(30), Duration::from_secs(30)),
    };
    // Waiting out an hour's interval after a successful attempt.
    let attempts = Arc::new(Mutex::new(0));
    let counted = attempts.clone();
    let running = phone.core.sync_watch(options, move |_: &SyncAttempt| {
        *counted.lock().unwrap() += 1;
        ControlFlow::Continue(())
    });
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    running.stop();
    running.wait().unwrap();
    assert_eq!(*attempts.lock().unwrap(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));

    // Stopped before its first attempt has an answer: nothing is reported.
    let reported = Arc::new(Mutex::new(0));
    let counted = reported.clone();
    let running = phone.core.sync_watch(options, move |_: &SyncAttempt| {
        *counted.lock().unwrap() += 1;
        ControlFlow::Continue(())
    });
    running.stop();
    running.wait().unwrap();
    assert_eq!(*reported.lock().unwrap(), 0);

    // Dropping the handle stops it too: the phone syncs no more.
    let reported = Arc::new(Mutex::new(0));
    let counted = reported.clone();
    drop(phone.core.sync_watch(options, move |_: &SyncAttempt| {
        *counted.lock().unwrap() += 1;
        ControlFlow::Continue(())
    }));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(*reported.lock().unwrap(), 0);
}
