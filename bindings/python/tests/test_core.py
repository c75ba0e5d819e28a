"""The generated Python module against the real core: every exported capability."""

import datetime

import pytest

import lgt_common
import lgt_core
import lgt_ffi
from conftest import MemoryKeys, MovableClock, config, id_number, registration


def test_register_then_find_by_number_and_name(core):
    registrations = core.registrations()
    receipt = registrations.register(registration(name="测试甲"))
    assert receipt.new_person and receipt.closed_registration_id is None

    by_number = registrations.find_by_document_number(id_number())
    assert [p.person_id for p in by_number] == [receipt.person_id]
    person = by_number[0]
    assert person.person.birth_date == "1988-05-12"
    assert person.identifiers[0].document.id_kind == lgt_common.IdKind.MAINLAND
    assert person.current_registration.status == lgt_core.RegistrationStatus.ACTIVE
    versions = set(person.current_registration.registration.code_versions)
    assert lgt_common.CodeTableId.OCCUPATION in versions

    assert [p.person_id for p in registrations.find_by_name(" 测试甲 ")] == [receipt.person_id]
    assert registrations.find_by_name("测试乙") == []


def test_registering_a_known_number_moves_the_person(core):
    registrations = core.registrations()
    first = registrations.register(registration(house="HC1000101"))
    second = registrations.register(registration(house="HC2000202"))
    assert second.person_id == first.person_id and not second.new_person
    assert second.closed_registration_id == first.registration_id


def test_add_identifier_keeps_the_old_number_finding_the_person(core):
    registrations = core.registrations()
    receipt = registrations.register(registration())
    new_number = id_number(sequence=125)
    added = registrations.add_identifier(
        receipt.person_id, lgt_core.DocumentInput(doc_type="1", number=new_number)
    )
    assert added.document.number == new_number
    for number in (id_number(), new_number):
        assert [p.person_id for p in registrations.find_by_document_number(number)] == [
            receipt.person_id
        ]
    with pytest.raises(lgt_ffi.LgtError.Refused) as refused:
        other = registrations.register(registration(name="测试乙", sequence=127))
        registrations.add_identifier(
            other.person_id, lgt_core.DocumentInput(doc_type="1", number=new_number)
        )
    assert refused.value.code == "conflict"


def test_export_holds_registrations_and_permits(core):
    receipt = core.registrations().register(registration())
    permit = core.permits().accept(receipt.person_id)
    export = core.registrations().export_person(receipt.person_id)
    assert export.person.person_id == receipt.person_id
    assert [r.id for r in export.registrations] == [receipt.registration_id]
    assert [p.permit.id for p in export.permits] == [permit.permit.id]


def test_permit_lifecycle(core, clock):
    permits = core.permits()
    person_id = core.registrations().register(registration()).person_id

    record = permits.accept(person_id)
    permit_id = record.permit.id
    assert record.permit.state == lgt_common.PermitState.ACCEPTED and record.permit.version == 1
    assert isinstance(record.events[0].event, lgt_common.PermitEvent.ACCEPT)

    issued = permits.apply(permit_id, 1, lgt_common.PermitEvent.ISSUE(number="SZ20260001"))
    assert issued.permit.state == lgt_common.PermitState.ISSUED
    assert issued.permit.issued_on == "2026-11-29"
    assert issued.permit.endorsement_due == "2027-11-29"
    permits.apply(permit_id, None, lgt_common.PermitEvent.DELIVER())

    with pytest.raises(lgt_ffi.LgtError.Refused) as early:
        permits.apply(permit_id, None, lgt_common.PermitEvent.ENDORSE())
    assert early.value.code == "permit.endorsement_not_due"
    assert "2027-10-29" in early.value.message_zh

    clock.move_to(datetime.date(2027, 11, 20))
    endorsed = permits.apply(permit_id, None, lgt_common.PermitEvent.ENDORSE())
    assert endorsed.permit.endorsement_due == "2028-11-29"

    clock.move_to(datetime.date(2028, 12, 5))
    assert permits.apply(permit_id, None, lgt_common.PermitEvent.SUSPEND()).permit.state == (
        lgt_common.PermitState.SUSPENDED
    )
    restored = permits.apply(permit_id, None, lgt_common.PermitEvent.RESTORE())
    assert restored.permit.state == lgt_common.PermitState.DELIVERED
    assert restored.permit.endorsement_due == "2029-11-29"

    moved = lgt_common.Dwelling(house_code="HC3000303", address="合成市第三区演示路3号", housing_type="3")
    changed = permits.apply(permit_id, None, lgt_common.PermitEvent.CHANGE_ADDRESS(dwelling=moved))
    assert changed.permit.dwelling == moved

    with pytest.raises(lgt_ffi.LgtError.Refused) as stale:
        permits.apply(permit_id, 2, lgt_common.PermitEvent.CANCEL(reason="3"))
    assert stale.value.code == "permit.stale_version"

    with pytest.raises(lgt_ffi.LgtError.Invalid) as reason:
        permits.apply(permit_id, None, lgt_common.PermitEvent.CANCEL(reason="no-such-reason"))
    assert reason.value.code == "permit.unknown_reason"

    cancelled = permits.apply(permit_id, changed.permit.version, lgt_common.PermitEvent.CANCEL(reason="3"))
    assert cancelled.permit.state == lgt_common.PermitState.CANCELLED
    assert cancelled.permit.cancel_reason == "3"
    kinds = [type(e.event).__name__.rsplit(".", 1)[-1] for e in permits.show(permit_id).events]
    assert kinds == [
        "ACCEPT", "ISSUE", "DELIVER", "ENDORSE", "SUSPEND", "RESTORE", "CHANGE_ADDRESS", "CANCEL"
    ]

    with pytest.raises(lgt_ffi.LgtError.Refused) as illegal:
        permits.apply(permit_id, None, lgt_common.PermitEvent.DELIVER())
    assert illegal.value.code == "permit.illegal_transition"


def test_invalid_registration_lists_every_field_in_both_languages_without_values(core):
    bad = registration(name="", number="110105198805121239")
    bad.moved_in = "2026-02-30"
    bad.contact_phone = "12"
    with pytest.raises(lgt_ffi.LgtError.Invalid) as error:
        core.registrations().register(bad)
    issues = {issue.field: issue for issue in error.value.fields}
    assert error.value.code == "validation"
    assert {"person.name", "document.number", "moved_in", "contact_phone"} <= issues.keys()
    assert issues["document.number"].code == "id.check_digit"
    assert issues["moved_in"].message_zh == "不是 YYYY-MM-DD 格式的有效日期"
    assert all(issue.message_zh and issue.message_en for issue in issues.values())
    text = repr(error.value)
    assert "110105198805121239" not in text and "2026-02-30" not in text
    assert core.outbox().list(None) == []


def test_check_id_number(core):
    registrations = core.registrations()
    info = registrations.check_id_number("  " + id_number().lower() + "\u3000")
    assert info.number == id_number()
    assert info.sex == lgt_common.IdSex.MALE and info.birth_date == "1988-05-12"
    assert info.region.county == "朝阳区"

    legacy = registrations.check_id_number("110105880512123")
    assert legacy.legacy_number == "110105880512123"
    assert lgt_common.IdWarning.UPGRADED_FROM_LEGACY() in legacy.warnings

    with pytest.raises(lgt_ffi.LgtError.Invalid) as wrong:
        registrations.check_id_number("1101051988")
    assert wrong.value.code == "id.wrong_length"
    assert "10" in wrong.value.message_zh and "1101051988" not in str(wrong.value)

    with pytest.raises(lgt_ffi.LgtError.Invalid) as future:
        registrations.check_id_number(id_number(birth="20270101"))
    assert future.value.code == "id.future_date"


def test_wrong_key_fails_cleanly_and_the_right_key_still_opens(store_dir, keys, clock):
    core = lgt_ffi.FieldCore.create(config(store_dir), keys, clock)
    person_id = core.registrations().register(registration()).person_id
    core.close_store()

    with pytest.raises(lgt_ffi.LgtError.WrongKey) as wrong:
        lgt_ffi.FieldCore.open(config(store_dir), MemoryKeys(), clock)
    assert wrong.value.code == "store.wrong_key"
    assert wrong.value.message_zh == "密钥无法打开此数据库（密钥错误或已更换）"

    reopened = lgt_ffi.FieldCore.open(config(store_dir), keys, clock)
    found = reopened.registrations().find_by_document_number(id_number())
    assert [p.person_id for p in found] == [person_id]
    assert reopened.audit().verify().first_broken is None
    reopened.close_store()


class FailingKeys(lgt_ffi.KeyProvider):
    def __init__(self, failure):
        self.failure = failure

    def data_key(self):
        return self.failure()

    def destroy_key(self):
        pass


def locked():
    raise lgt_ffi.LgtError.KeyUnavailable(
        code="key.locked", message_en="device locked", message_zh="设备已锁定"
    )


def crash():
    raise ValueError("a bug in the shell")


@pytest.mark.parametrize(
    "failure, expected, code",
    [
        (locked, lgt_ffi.LgtError.KeyUnavailable, "store.key_unavailable"),
        (lambda: bytes(16), lgt_ffi.LgtError.KeyUnavailable, "store.key_unavailable"),
        (crash, lgt_ffi.LgtError.KeyUnavailable, "store.key_unavailable"),
    ],
)
def test_key_provider_failures_arrive_as_errors(store_dir, clock, failure, expected, code):
    with pytest.raises(expected) as error:
        lgt_ffi.FieldCore.create(config(store_dir), FailingKeys(failure), clock)
    assert error.value.code == code
    assert "a bug in the shell" not in str(error.value)


def test_store_errors(store_dir, keys, clock):
    with pytest.raises(lgt_ffi.LgtError.Store) as missing:
        lgt_ffi.FieldCore.open(config(store_dir), keys, clock)
    assert missing.value.code == "store.missing"
    core = lgt_ffi.FieldCore.create(config(store_dir), keys, clock)
    with pytest.raises(lgt_ffi.LgtError.Store) as exists:
        lgt_ffi.FieldCore.create(config(store_dir), keys, clock)
    assert exists.value.code == "store.exists"
    with pytest.raises(lgt_ffi.LgtError.Invalid) as actor:
        lgt_ffi.FieldCore.open(config(store_dir, actor="张三"), keys, clock)
    assert actor.value.code == "invalid_argument"
    with pytest.raises(lgt_ffi.LgtError.NotFound) as not_found:
        core.permits().show("no-such-permit")
    assert not_found.value.code == "not_found"
    core.close_store()


def test_audit_records_ids_only_and_verifies(core):
    receipt = core.registrations().register(registration())
    core.registrations().find_by_document_number(id_number())
    recent = core.audit().recent(10)
    assert [r.action for r in recent] == ["person.read", "registration.create", "store.create"]
    assert all(r.actor == "tester-1" for r in recent)
    assert recent[0].record_id == receipt.person_id
    assert recent[1].record_id == receipt.registration_id
    assert id_number() not in repr(recent)
    report = core.audit().verify()
    assert report.first_broken is None and report.records == 3


def test_outbox_lists_each_change(core):
    receipt = core.registrations().register(registration())
    permit = core.permits().accept(receipt.person_id)
    pending = core.outbox().list(lgt_core.OperationState.PENDING)
    assert [op.kind for op in pending] == ["registration.create", "permit.event"]
    assert pending[0].op_id == receipt.operation_id
    assert pending[1].record_id == permit.permit.id
    assert len(pending[0].payload_hash) == 64
    assert core.outbox().list(lgt_core.OperationState.ACKNOWLEDGED) == []


def test_code_tables():
    reasons = lgt_ffi.code_table(lgt_common.CodeTableId.CANCELLATION_REASON)
    assert reasons.id == lgt_common.CodeTableId.CANCELLATION_REASON
    assert reasons.entries[0].code == "1" and reasons.entries[0].zh == "死亡"
    for table in lgt_common.CodeTableId:
        assert lgt_ffi.code_table(table).entries


def test_closed_store_answers_closed(core):
    registrations = core.registrations()
    core.close_store()
    core.close_store()
    with pytest.raises(lgt_ffi.LgtError.Closed):
        registrations.find_by_name("测试甲")
    with pytest.raises(lgt_ffi.LgtError.Closed):
        core.store_id()


def test_wipe_destroys_the_key_then_the_files(store_dir, keys, clock):
    core = lgt_ffi.FieldCore.create(config(store_dir), keys, clock)
    assert core.integrity_check() == "ok"
    core.registrations().register(registration())
    core.wipe()
    assert keys.destroyed
    assert not (store_dir / "lgt.db").exists()
    with pytest.raises(lgt_ffi.LgtError.Closed):
        core.registrations().find_by_name("测试甲")


def test_wipe_store_without_opening(store_dir, clock):
    keys = MemoryKeys()
    lgt_ffi.FieldCore.create(config(store_dir), keys, clock).close_store()
    lgt_ffi.wipe_store(str(store_dir), MemoryKeys())
    assert not (store_dir / "lgt.db").exists()


class BreakingClock(MovableClock):
    """A clock whose shell code throws once `broken` is set: a bug in the shell."""

    broken = False

    def now_unix_millis(self):
        if self.broken:
            raise RuntimeError("a bug in the shell's clock")
        return super().now_unix_millis()


def test_a_throwing_callback_mid_change_is_an_internal_error_and_writes_nothing(store_dir, keys):
    clock = BreakingClock()
    core = lgt_ffi.FieldCore.create(config(store_dir), keys, clock)
    clock.broken = True
    with pytest.raises(lgt_ffi.LgtError.Internal) as error:
        core.registrations().register(registration())
    assert error.value.code == "internal" and "a bug" not in str(error.value)
    clock.broken = False
    assert core.outbox().list(None) == []
    assert core.audit().verify() == lgt_core.AuditReport(records=1, first_broken=None)
    assert core.registrations().register(registration()).new_person
    core.close_store()
