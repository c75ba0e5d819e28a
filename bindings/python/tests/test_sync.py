"""Sync through the generated Python module against the real `lgt-server` on loopback: enroll,
sync now (async), status, a watching sync with its observer, the network hint and the
cancel handle, and the errors a shell must act on."""

import asyncio
import base64
import queue
import socket
import time

import pytest

import lgt_common
import lgt_core
import lgt_ffi
from conftest import MemoryKeys, config, registration

HOUR_MS = 3_600_000
# Long timers, so every attempt after the first comes from the network hint.
QUIET = lgt_ffi.WatchOptions(interval_ms=HOUR_MS, backoff_base_ms=HOUR_MS, backoff_cap_ms=HOUR_MS)


@pytest.fixture
def live_core(store_dir):
    """A store on the system clock: the server checks the device's signed time."""
    core = lgt_ffi.FieldCore.create(config(store_dir), MemoryKeys(), None)
    yield core
    core.close_store()


class Attempts(lgt_ffi.SyncObserver):
    """A sync observer that queues what it is told."""

    def __init__(self):
        self.attempts = queue.Queue()
        self.stopped = queue.Queue()

    def on_attempt(self, attempt):
        self.attempts.put(attempt)

    def on_stopped(self, error):
        self.stopped.put(error)

    def next_attempt(self):
        return self.attempts.get(timeout=60)


def enroll(core, server):
    return asyncio.run(core.sync().enroll(server.url, [server.pin], server.enrollment_code()))


def test_enroll_sync_now_and_status(live_core, sync_server):
    sync = live_core.sync()
    assert sync.status().enrollment is None
    with pytest.raises(lgt_ffi.LgtError.Refused) as refused:
        asyncio.run(sync.sync_now())
    assert refused.value.code == "sync.not_enrolled"

    enrollment = enroll(live_core, sync_server)
    assert (enrollment.coordinator, enrollment.district) == ("tester-1", "110105")
    assert enrollment.server_url == sync_server.url
    assert enrollment.server_pins == [sync_server.pin]
    receipt = live_core.registrations().register(registration())
    permit = live_core.permits().accept(receipt.person_id).permit
    assert sync.status().queue_depth == 2
    assert sync.district_permits() == []

    report = asyncio.run(sync.sync_now())
    assert report.acknowledged == 2 and report.quarantined == 0
    assert not report.audit_rollback_suspected
    # The district's permits as the server holds them (this phone's own, here).
    assert [p.id for p in sync.district_permits()] == [permit.id]
    status = sync.status()
    assert status.queue_depth == 0 and status.last_success is not None
    assert status.enrollment == enrollment
    assert {"permits", "records", "watchlist"} <= {b.bucket for b in status.buckets}
    records = next(b for b in status.buckets if b.bucket == "records")
    assert records.entries >= 1
    assert live_core.outbox().list(lgt_core.OperationState.PENDING) == []
    devices = sync_server.admin("devices")
    assert enrollment.device_id in str(devices)
    assert "sync.run" in [r.action for r in live_core.audit().recent(10)]

    with pytest.raises(lgt_ffi.LgtError.Refused) as again:
        enroll(live_core, sync_server)
    assert again.value.code == "sync.already_enrolled"


def test_a_colleagues_person_dwelling_and_permit_arrive_merged_and_act_offline(
    live_core, sync_server, tmp_path
):
    colleague = lgt_ffi.FieldCore.create(config(tmp_path / "colleague", "tester-2"), MemoryKeys(), None)
    try:
        enroll(live_core, sync_server)
        asyncio.run(
            colleague.sync().enroll(
                sync_server.url, [sync_server.pin], sync_server.enrollment_code("tester-2")
            )
        )
        mine = registration(sequence=311, house="HC2000202")
        receipt = live_core.registrations().register(mine)
        permit = live_core.permits().accept(receipt.person_id).permit
        asyncio.run(live_core.sync().sync_now())
        report = asyncio.run(colleague.sync().sync_now())
        # Person, registration, dwelling and permit, merged into the colleague's own tables.
        assert report.district_merged >= 4 and report.district_refused == []

        found = colleague.registrations().find_by_document_number(mine.document.number)
        assert [p.person_id for p in found] == [receipt.person_id]
        dwelling = colleague.registrations().dwelling("hc2000202")
        assert dwelling.house_code == "HC2000202"
        assert dwelling.dwelling.address == mine.dwelling.address
        assert [(r.id, r.status) for r in dwelling.registrations] == [
            (receipt.registration_id, lgt_core.RegistrationStatus.ACTIVE)
        ]
        cancelled = colleague.permits().apply(
            permit.id, None, lgt_common.PermitEvent.CANCEL(reason="3")
        )
        assert cancelled.permit.state == lgt_common.PermitState.CANCELLED
        with pytest.raises(lgt_ffi.LgtError.NotFound):
            colleague.registrations().dwelling("HC9999999")
    finally:
        colleague.close_store()


def test_a_server_with_another_key_or_no_pin_is_refused_before_the_code_is_sent(
    live_core, sync_server
):
    sync = live_core.sync()
    code = sync_server.enrollment_code()
    other = "sha256/" + base64.b64encode(bytes(32)).decode()
    with pytest.raises(lgt_ffi.LgtError.Offline) as untrusted:
        asyncio.run(sync.enroll(sync_server.url, [other], code))
    assert untrusted.value.code == "sync.untrusted_server"
    with pytest.raises(lgt_ffi.LgtError.Invalid) as unpinned:
        asyncio.run(sync.enroll(sync_server.url, [], code))
    assert unpinned.value.code == "sync.bad_server_address"
    with pytest.raises(lgt_ffi.LgtError.Invalid) as malformed:
        asyncio.run(sync.enroll(sync_server.url, ["md5/abc"], code))
    assert malformed.value.code == "invalid_argument"
    assert sync.status().enrollment is None
    # The code never left the phone: it still enrolls against the right pin.
    enrollment = asyncio.run(sync.enroll(sync_server.url, [sync_server.pin], code))
    assert enrollment.server_pins == [sync_server.pin]


def test_cancelling_sync_now_stops_the_sync_it_started(live_core, sync_server):
    enroll(live_core, sync_server)
    live_core.registrations().register(registration())
    port = int(sync_server.url.rsplit(":", 1)[1])
    sync_server.stop()
    # A server that takes connections and never answers: the sync waits on it (60 s).
    with socket.create_server(("127.0.0.1", port)):

        async def cancel_soon():
            task = asyncio.ensure_future(live_core.sync().sync_now())
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(cancel_soon())
        # Nothing lost: the registration waits for the next sync.
        assert live_core.sync().status().queue_depth == 1
        # Closing waits for the calls in flight: the cancelled sync is no longer one.
        started = time.monotonic()
        live_core.close_store()
        assert time.monotonic() - started < 5


def test_cancelling_enroll_stops_it(live_core, sync_server):
    code = sync_server.enrollment_code()
    # A server that takes connections and never answers the TLS handshake.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]

        async def cancel_soon():
            task = asyncio.ensure_future(
                live_core.sync().enroll(f"https://127.0.0.1:{port}", [sync_server.pin], code)
            )
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(cancel_soon())
        assert live_core.sync().status().enrollment is None
        # Closing waits for the calls in flight: the cancelled enrollment is no longer one.
        started = time.monotonic()
        live_core.close_store()
        assert time.monotonic() - started < 5


def test_an_unreachable_server_is_offline(live_core, sync_server):
    enroll(live_core, sync_server)
    sync_server.stop()
    with pytest.raises(lgt_ffi.LgtError.Offline) as offline:
        asyncio.run(live_core.sync().sync_now())
    assert offline.value.code == "sync.transient"
    assert "稍后" in offline.value.message_zh
    assert live_core.sync().status().last_error is not None


def test_a_revoked_device_is_told_to_wipe(live_core, sync_server):
    device = enroll(live_core, sync_server).device_id
    asyncio.run(live_core.sync().sync_now())
    sync_server.admin("revoke", device)
    with pytest.raises(lgt_ffi.LgtError.Revoked) as revoked:
        asyncio.run(live_core.sync().sync_now())
    assert revoked.value.code == "sync.revoked"

    # A watching sync stops on it and says why.
    observer = Attempts()
    live_core.sync().watch(QUIET, observer)
    assert isinstance(observer.next_attempt().error, lgt_ffi.LgtError.Revoked)
    assert isinstance(observer.stopped.get(timeout=60), lgt_ffi.LgtError.Revoked)


def test_a_watch_reports_attempts_wakes_on_the_network_hint_and_stops_when_cancelled(
    live_core, sync_server
):
    enroll(live_core, sync_server)
    observer = Attempts()
    subscription = live_core.sync().watch(QUIET, observer)

    first = observer.next_attempt()
    assert first.error is None and first.report is not None
    assert first.next_in_ms == HOUR_MS

    live_core.registrations().register(registration())
    live_core.sync().network_available()
    second = observer.next_attempt()
    assert second.report.acknowledged == 1

    subscription.cancel()
    assert subscription.is_cancelled()
    assert observer.stopped.get(timeout=60) is None
    assert observer.attempts.empty()
    assert live_core.sync().status().queue_depth == 0


def test_an_unreachable_server_is_retried_and_closing_the_store_ends_the_watch(
    live_core, sync_server
):
    enroll(live_core, sync_server)
    sync_server.stop()
    observer = Attempts()
    fast_retry = lgt_ffi.WatchOptions(interval_ms=HOUR_MS, backoff_base_ms=50, backoff_cap_ms=100)
    live_core.sync().watch(fast_retry, observer)
    for _ in range(2):
        attempt = observer.next_attempt()
        assert isinstance(attempt.error, lgt_ffi.LgtError.Offline)
        assert attempt.next_in_ms <= 100

    live_core.close_store()
    assert observer.stopped.get(timeout=60) is None
    with pytest.raises(lgt_ffi.LgtError.Closed):
        live_core.sync().status()



def test_a_list_published_on_the_server_arrives_by_sync_against_the_pinned_root(
    live_core, sync_server, live_lists, tmp_path
):
    enroll(live_core, sync_server)
    with pytest.raises(lgt_ffi.LgtError.Invalid):
        live_core.sync().pin_watchlist_roots([b"short"])
    live_core.sync().pin_watchlist_roots([live_lists.root])
    package = tmp_path / "v1.lgtwl"
    package.write_bytes(live_lists.v1)
    sync_server.admin("watchlist-publish", str(package))

    report = asyncio.run(live_core.sync().sync_now())
    assert [info.version for info in report.watchlist_imported] == [1]
    assert report.watchlist_refused == []
    assert live_core.watchlist().status().state == lgt_ffi.ListState.CURRENT
