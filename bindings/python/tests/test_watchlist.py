"""The watchlist through the generated Python module: lists signed by `lgt` (the server side),
imported, checked, and alerts in the receipt and through the shell's listener."""

import datetime
import struct

import pytest

import lgt_common
import lgt_core
import lgt_ffi
from conftest import (
    LISTED_NAME,
    LISTED_NUMBER,
    CollectAlerts,
    id_number,
    registration,
)

DEFAULT_INSTRUCTIONS = "do not confront; verify the identity document; the hit has been reported"


def manifest_span(package):
    """Where the manifest JSON lies in a package: after the magic, the delegation section and
    the root's 64-byte signature."""
    offset = 8
    (length,) = struct.unpack_from(">I", package, offset)
    offset += 4 + length + 64
    (length,) = struct.unpack_from(">I", package, offset)
    return offset + 4, offset + 4 + length


def test_status_is_missing_then_current_then_out_of_date(core, clock, lists):
    watchlist = core.watchlist()
    missing = watchlist.status()
    assert missing.state == lgt_ffi.ListState.MISSING and missing.info is None
    assert missing.label == "no watchlist loaded"

    info = watchlist.import_list(lists.v1, [lists.root])
    assert (info.list_id, info.version, info.key_epoch) == ("wanted", 1, 1)
    current = watchlist.status()
    assert current.state == lgt_ffi.ListState.CURRENT and current.label == "list current"
    assert current.info == info

    clock.move_to(datetime.date(2026, 12, 7))
    stale = watchlist.status()
    assert stale.state == lgt_ffi.ListState.OUT_OF_DATE
    assert stale.label == "list out of date"
    # Hits still alert on an out-of-date list, and say so.
    outcome = watchlist.check_identity(lgt_ffi.WatchlistSubject(id_numbers=[LISTED_NUMBER]))
    assert outcome.list.state == lgt_ffi.ListState.OUT_OF_DATE
    assert [a.list_out_of_date for a in outcome.alerts] == [True]


def test_registering_a_listed_person_alerts_in_the_receipt_and_the_listener(core, lists):
    watchlist = core.watchlist()
    listener = CollectAlerts()
    watchlist.set_alert_listener(listener)
    watchlist.import_list(lists.v1, [lists.root])

    receipt = core.registrations().register(registration(name=LISTED_NAME, number=LISTED_NUMBER))
    [alert] = receipt.alerts
    assert alert.wording == "possible match: verify"
    assert alert.confidence == lgt_core.Confidence.EXACT and alert.score == 100
    assert alert.matched_on == lgt_common.MatchedOn.ID_NUMBER
    assert alert.person_id == receipt.person_id
    assert alert.details.entry_ref == "CASE-1"
    assert alert.instructions == "do not confront; call the duty officer"
    assert (alert.list_version, alert.list_out_of_date) == (1, False)
    assert listener.alerts == [alert]

    assert [a.alert_id for a in watchlist.alerts()] == [alert.alert_id]
    hits = [op for op in core.outbox().list(None) if op.kind == "watchlist.hit"]
    assert len(hits) == 1
    actions = [r.action for r in core.audit().recent(50)]
    assert "watchlist.alert" in actions and "watchlist.alert_view" in actions

    clean = core.registrations().register(registration(name="测试甲"))
    assert clean.alerts == [] and len(listener.alerts) == 1


def test_a_name_match_is_low_confidence_without_details(core, lists):
    watchlist = core.watchlist()
    watchlist.import_list(lists.v1, [lists.root])
    subject = lgt_ffi.WatchlistSubject(
        id_numbers=[], name="SHAN XIAODONG", birth_date="1981-02-02", sex="1"
    )
    [alert] = watchlist.check_identity(subject).alerts
    assert alert.confidence == lgt_core.Confidence.LOW
    assert alert.matched_on == lgt_common.MatchedOn.NAME_PINYIN and alert.score == 55
    assert alert.details is None
    assert alert.instructions == DEFAULT_INSTRUCTIONS
    assert alert.person_id is None

    # Above the pinyin score, the same name raises nothing.
    watchlist.set_threshold(60)
    assert watchlist.check_identity(subject).alerts == []


def test_a_15_digit_number_matches_and_an_unlisted_one_does_not(core, lists):
    watchlist = core.watchlist()
    watchlist.import_list(lists.v1, [lists.root])
    legacy = LISTED_NUMBER[:6] + LISTED_NUMBER[8:17]
    [alert] = watchlist.check_identity(lgt_ffi.WatchlistSubject(id_numbers=[legacy])).alerts
    assert alert.details.entry_ref == "CASE-1"
    outcome = watchlist.check_identity(lgt_ffi.WatchlistSubject(id_numbers=[id_number()]))
    assert outcome.alerts == [] and outcome.list.state == lgt_ffi.ListState.CURRENT


def test_recheck_after_import_alerts_on_a_person_registered_before(core, lists):
    registrations = core.registrations()
    receipt = registrations.register(registration(name=LISTED_NAME, number=LISTED_NUMBER))
    assert receipt.alerts == []
    listener = CollectAlerts()
    watchlist = core.watchlist()
    watchlist.set_alert_listener(listener)
    watchlist.import_list(lists.v1, [lists.root])

    report = watchlist.recheck()
    assert report.persons == 1 and report.cleared == []
    assert [a.person_id for a in report.raised] == [receipt.person_id]
    assert listener.alerts == report.raised


def test_a_rollback_is_refused_and_the_newer_list_stays(core, lists):
    watchlist = core.watchlist()
    watchlist.import_list(lists.v1, [lists.root])
    assert watchlist.import_list(lists.v2, [lists.root]).version == 2
    with pytest.raises(lgt_ffi.LgtError.Refused) as refused:
        watchlist.import_list(lists.v1, [lists.root])
    assert refused.value.code == "watchlist.rollback"
    assert "回滚" in refused.value.message_zh
    assert watchlist.status().info.version == 2


def test_forged_and_unknown_lists_are_refused_and_change_nothing(core, lists):
    watchlist = core.watchlist()
    start, end = manifest_span(lists.v1)
    manifest = lists.v1[start:end]
    assert b'"version":1' in manifest
    forged = lists.v1[:start] + manifest.replace(b'"version":1', b'"version":7') + lists.v1[end:]
    cases = [
        (forged, "watchlist.bad_signature"),
        (lists.unknown_root, "watchlist.unknown_root"),
        (lists.v1[:-1] + bytes([lists.v1[-1] ^ 1]), "watchlist.payload_mismatch"),
        (b"not a list", "watchlist.malformed"),
    ]
    for package, code in cases:
        with pytest.raises(lgt_ffi.LgtError.Refused) as refused:
            watchlist.import_list(package, [lists.root])
        assert refused.value.code == code
        assert refused.value.message_zh.startswith("布控名单")
    assert watchlist.status().state == lgt_ffi.ListState.MISSING

    with pytest.raises(lgt_ffi.LgtError.Invalid) as invalid:
        watchlist.import_list(lists.v1, [lists.root[:16]])
    assert invalid.value.code == "invalid_argument"
    with pytest.raises(lgt_ffi.LgtError.Invalid):
        watchlist.check_identity(
            lgt_ffi.WatchlistSubject(id_numbers=[], name="x", birth_date="1981-2", sex="1")
        )


def test_a_listener_that_throws_does_not_undo_the_registration(core, lists):
    class Broken(lgt_ffi.AlertListener):
        def on_alert(self, alert):
            raise RuntimeError("shell bug")

    watchlist = core.watchlist()
    watchlist.set_alert_listener(Broken())
    watchlist.import_list(lists.v1, [lists.root])
    receipt = core.registrations().register(registration(name=LISTED_NAME, number=LISTED_NUMBER))
    assert len(receipt.alerts) == 1
    assert len(core.registrations().find_by_document_number(LISTED_NUMBER)) == 1


def test_the_watchlist_of_a_closed_store_answers_closed(core):
    watchlist = core.watchlist()
    core.close_store()
    with pytest.raises(lgt_ffi.LgtError.Closed):
        watchlist.status()
