package cn.lgt.field

import cn.lgt.common.MatchedOn
import cn.lgt.core.LgtException
import cn.lgt.core.ListState
import cn.lgt.core.StoreConfig
import cn.lgt.core.WatchlistSubject
import cn.lgt.core.types.Confidence
import cn.lgt.core.types.Durability
import java.io.File
import java.time.LocalDate
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** The watchlist through the generated Kotlin and the hand-written layer (suspend calls, alert Flow). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WatchlistTest {
    @TempDir
    lateinit var tmp: File

    private lateinit var root: ByteArray
    private lateinit var v1: ByteArray
    private lateinit var v2: ByteArray

    @BeforeAll
    fun buildLists(@TempDir serverDir: File) {
        val server = ListServer(serverDir)
        root = server.root
        v1 = server.build(1, ListServer.LISTED_ENTRIES)
        v2 = server.build(2, "CASE-3,测试丙,2,1990-01-01,,synthetic case,\n", delta = true)
    }

    // One test instance builds the lists once; each test gets a fresh clock and store.
    private lateinit var clock: MovableClock

    @BeforeEach
    fun freshClock() {
        clock = MovableClock()
    }

    private fun newStore() = runBlocking {
        FieldCore.create(StoreConfig(File(tmp, "store-${System.nanoTime()}").path, "tester-1", Durability.NORMAL), MemoryKeys(), clock)
    }

    @Test
    fun `a listed person alerts through the receipt and the alerts Flow`() = runBlocking {
        newStore().use { store ->
            store.watchlist.importList(v1, listOf(root))
            // Subscribed before the registration runs (UNDISPATCHED starts collecting at once).
            val fromFlow = async(start = CoroutineStart.UNDISPATCHED) { store.alerts.first() }
            val receipt = store.registrations.register(registration(name = LISTED_NAME, sequence = 51, number = listedNumber))
            val alert = receipt.alerts.single()
            assertEquals("possible match: verify", alert.wording)
            assertEquals(Confidence.EXACT, alert.confidence)
            assertEquals(MatchedOn.ID_NUMBER, alert.matchedOn)
            assertEquals("CASE-1", alert.details?.entryRef)
            assertEquals("do not confront; call the duty officer", alert.instructions)
            assertEquals(receipt.personId, alert.personId)
            assertEquals(alert, withTimeout(10_000) { fromFlow.await() })
            assertEquals(listOf(alert.alertId), store.watchlist.alerts().map { it.alertId })
        }
    }

    @Test
    fun `a name match is low confidence without details, and the list goes out of date`() = runBlocking {
        newStore().use { store ->
            assertEquals(ListState.MISSING, store.watchlist.status().state)
            store.watchlist.importList(v1, listOf(root))
            assertEquals("list current", store.watchlist.status().label)
            val subject = WatchlistSubject(idNumbers = emptyList(), name = "单晓东", birthDate = "1981-02-02", sex = "1")
            val alert = store.watchlist.checkIdentity(subject).alerts.single()
            assertEquals(Confidence.LOW, alert.confidence)
            assertNull(alert.details)
            assertEquals("do not confront; verify the identity document; the hit has been reported", alert.instructions)

            clock.moveTo(LocalDate.of(2026, 12, 7))
            val status = store.watchlist.status()
            assertEquals(ListState.OUT_OF_DATE, status.state)
            assertEquals("list out of date", status.label)
        }
    }

    @Test
    fun `a rollback and a forged list are refused and the list in use stays`() = runBlocking {
        newStore().use { store ->
            store.watchlist.importList(v1, listOf(root))
            assertEquals(2uL, store.watchlist.importList(v2, listOf(root)).version)
            val rollback = assertThrows<LgtException.Refused> { runBlocking { store.watchlist.importList(v1, listOf(root)) } }
            assertEquals("watchlist.rollback", rollback.code)

            val forged = v2.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
            val refused = assertThrows<LgtException.Refused> { runBlocking { store.watchlist.importList(forged, listOf(root)) } }
            assertEquals("watchlist.payload_mismatch", refused.code)
            // Another real key (the Ed25519 base point) pinned instead of the list's root.
            val otherRoot = ByteArray(32) { if (it == 0) 0x58.toByte() else 0x66.toByte() }
            val stranger = assertThrows<LgtException.Refused> { runBlocking { store.watchlist.importList(v2, listOf(otherRoot)) } }
            assertEquals("watchlist.unknown_root", stranger.code)
            // The all-zero key is no key at all (a point of small order): refused as invalid.
            assertThrows<LgtException.Invalid> { runBlocking { store.watchlist.importList(v2, listOf(ByteArray(32))) } }
            assertEquals(2uL, store.watchlist.status().info?.version)
        }
    }
}
