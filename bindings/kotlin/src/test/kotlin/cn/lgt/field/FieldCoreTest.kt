package cn.lgt.field

import cn.lgt.common.CodeTableId
import cn.lgt.common.IdSex
import cn.lgt.common.PermitEvent
import cn.lgt.common.PermitState
import cn.lgt.core.FieldCore as NativeFieldCore
import cn.lgt.core.LgtException
import cn.lgt.core.StoreConfig
import cn.lgt.core.codeTable
import cn.lgt.core.types.DocumentInput
import cn.lgt.core.types.Durability
import cn.lgt.core.types.OperationState
import cn.lgt.core.wipeStore
import java.io.File
import java.time.LocalDate
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** The generated Kotlin and the hand-written layer against the real core, through JNA. */
class FieldCoreTest {
    @TempDir
    lateinit var tmp: File

    private val keys = MemoryKeys()
    private val clock = MovableClock()
    private val dir get() = File(tmp, "store").path

    private fun config() = StoreConfig(dir, "tester-1", Durability.NORMAL)

    private fun newStore() = runBlocking {
        FieldCore.create(config(), keys, clock)
    }

    @Test
    fun `register, find by number and by name`() = runBlocking {
        newStore().use { store ->
            val receipt = store.registrations.register(registration())
            assertTrue(receipt.newPerson)
            val found = store.registrations.findByDocumentNumber(idNumber())
            assertEquals(listOf(receipt.personId), found.map { it.personId })
            assertEquals("1988-05-12", found[0].person.birthDate)
            assertEquals(listOf(receipt.personId), store.registrations.findByName("测试甲").map { it.personId })
            assertEquals(emptyList<Any>(), store.registrations.findByName("测试乙"))
        }
    }

    @Test
    fun `an added identifier and the old one both find the person`() = runBlocking {
        newStore().use { store ->
            val personId = store.registrations.register(registration()).personId
            val newNumber = idNumber(sequence = 125)
            store.registrations.addIdentifier(personId, DocumentInput("1", newNumber))
            for (number in listOf(idNumber(), newNumber)) {
                assertEquals(listOf(personId), store.registrations.findByDocumentNumber(number).map { it.personId })
            }
            val export = store.registrations.exportPerson(personId)
            assertEquals(2, export.person.identifiers.size)
        }
    }

    @Test
    fun `permit lifecycle`() = runBlocking {
        newStore().use { store ->
            val personId = store.registrations.register(registration()).personId
            val permitId = store.permits.accept(personId).permit.id
            val issued = store.permits.apply(permitId, PermitEvent.Issue("SZ20260001"), baseVersion = 1u)
            assertEquals(PermitState.ISSUED, issued.permit.state)
            assertEquals("2027-11-29", issued.permit.endorsementDue)
            store.permits.apply(permitId, PermitEvent.Deliver)

            val early = assertThrows<LgtException.Refused> { runBlocking { store.permits.apply(permitId, PermitEvent.Endorse) } }
            assertEquals("permit.endorsement_not_due", early.code)

            clock.moveTo(LocalDate.of(2027, 11, 20))
            assertEquals("2028-11-29", store.permits.apply(permitId, PermitEvent.Endorse).permit.endorsementDue)
            clock.moveTo(LocalDate.of(2028, 12, 5))
            store.permits.apply(permitId, PermitEvent.Suspend)
            assertEquals(PermitState.DELIVERED, store.permits.apply(permitId, PermitEvent.Restore).permit.state)

            val stale = assertThrows<LgtException.Refused> {
                runBlocking { store.permits.apply(permitId, PermitEvent.Cancel("3"), baseVersion = 2u) }
            }
            assertEquals("permit.stale_version", stale.code)
            val cancelled = store.permits.apply(permitId, PermitEvent.Cancel("3"))
            assertEquals(PermitState.CANCELLED, cancelled.permit.state)
            assertEquals(7, store.permits.show(permitId).events.size)
        }
    }

    @Test
    fun `invalid registration lists every field in both languages without the values`() = runBlocking {
        newStore().use { store ->
            val bad = registration(name = "", number = "110105198805121239").copy(movedIn = "2026-02-30")
            val error = assertThrows<LgtException.Invalid> { runBlocking { store.registrations.register(bad) } }
            assertEquals("validation", error.code)
            val fields = error.fields.associateBy { it.field }
            assertEquals("id.check_digit", fields.getValue("document.number").code)
            assertEquals("不是 YYYY-MM-DD 格式的有效日期", fields.getValue("moved_in").messageZh)
            assertTrue(error.userMessage(chinese = true).startsWith("登记信息有"))
            assertFalse(error.toString().contains("110105198805121239"))
            assertEquals(emptyList<Any>(), store.outbox.list())
        }
    }

    @Test
    fun `identity number check`() = runBlocking {
        newStore().use { store ->
            val info = store.registrations.checkIdNumber(idNumber().lowercase())
            assertEquals(IdSex.MALE, info.sex)
            assertEquals("朝阳区", info.region?.county)
            val error = assertThrows<LgtException.Invalid> { store.registrations.checkIdNumber("12345") }
            assertEquals("id.wrong_length", error.code)
        }
    }

    @Test
    fun `a wrong key fails cleanly and the right key still opens`() = runBlocking {
        newStore().use { it.registrations.register(registration()) }
        val error = assertThrows<LgtException.WrongKey> {
            runBlocking { FieldCore.open(config(), MemoryKeys(), clock) }
        }
        assertEquals("store.wrong_key", error.code)
        assertEquals("密钥无法打开此数据库（密钥错误或已更换）", error.userMessage(chinese = true))
        FieldCore.open(config(), keys, clock).use { store ->
            assertEquals(1, store.registrations.findByDocumentNumber(idNumber()).size)
            assertNull(store.audit.verify().firstBroken)
        }
    }

    @Test
    fun `a key provider that throws a foreign exception fails the open, not the process`() {
        val throwing = object : cn.lgt.core.KeyProvider {
            override fun dataKey(): ByteArray = throw IllegalStateException("a bug in the shell")
            override fun destroyKey() {}
        }
        val error = assertThrows<LgtException.KeyUnavailable> {
            NativeFieldCore.create(config(), throwing, clock)
        }
        assertFalse(error.toString().contains("a bug in the shell"))
    }

    @Test
    fun `audit and outbox record ids only`() = runBlocking {
        newStore().use { store ->
            val receipt = store.registrations.register(registration())
            store.registrations.findByDocumentNumber(idNumber())
            val recent = store.audit.recent(10u)
            assertEquals(listOf("person.read", "registration.create", "store.create"), recent.map { it.action })
            assertFalse(recent.toString().contains(idNumber()))
            val pending = store.outbox.list(OperationState.PENDING)
            assertEquals(listOf(receipt.operationId), pending.map { it.opId })
            assertEquals(3uL, store.audit.verify().records)
        }
    }

    @Test
    fun `closed stores answer Closed, and wipe destroys the key then the files`() = runBlocking {
        val store = newStore()
        assertEquals("ok", store.integrityCheck())
        store.wipe()
        assertTrue(keys.destroyed)
        assertFalse(File(dir, "lgt.db").exists())
        val closed = assertThrows<LgtException.Closed> { runBlocking { store.storeId() } }
        assertEquals("store.closed", closed.code)
        store.close()
    }

    @Test
    fun `wipe a store without opening it, and read code tables`() = runBlocking {
        newStore().close()
        wipeStore(dir, MemoryKeys())
        assertFalse(File(dir, "lgt.db").exists())
        assertEquals("死亡", codeTable(CodeTableId.CANCELLATION_REASON).entries.first().zh)
    }
}
