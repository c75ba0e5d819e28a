package cn.lgt.field

import cn.lgt.common.PermitEvent
import cn.lgt.common.PermitState
import cn.lgt.core.LgtException
import cn.lgt.core.StoreConfig
import cn.lgt.core.WatchOptions
import cn.lgt.core.types.Durability
import java.io.File
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** Sync through the suspend layer against the real lgt-server on loopback. */
class SyncTest {
    @TempDir
    lateinit var tmp: File

    // The system clock: the server checks the device's signed time.
    private fun newStore() = runBlocking {
        FieldCore.create(StoreConfig(File(tmp, "store").path, "tester-1", Durability.NORMAL), MemoryKeys())
    }

    private fun server() = SyncServer(File(tmp, "server").apply { mkdirs() })

    @Test
    fun `enroll, register, sync now and read the status`() = runBlocking {
        server().use { server ->
            newStore().use { store ->
                val notEnrolled = assertThrows<LgtException.Refused> { runBlocking { store.sync.syncNow() } }
                assertEquals("sync.not_enrolled", notEnrolled.code)
                val enrollment = store.sync.enroll(server.url, listOf(server.pin), server.enrollmentCode())
                assertEquals("tester-1", enrollment.coordinator)
                store.registrations.register(registration())
                assertEquals(1uL, store.sync.status().queueDepth)

                val report = store.sync.syncNow()
                assertEquals(1uL, report.acknowledged)
                assertEquals(emptyList<cn.lgt.common.Permit>(), store.sync.districtPermits())
                val status = store.sync.status()
                assertEquals(0uL, status.queueDepth)
                assertNotNull(status.lastSuccess)
                assertEquals(enrollment, status.enrollment)
            }
        }
    }

    @Test
    fun `a colleague's person, dwelling and permit arrive merged and can be acted on offline`() = runBlocking {
        server().use { server ->
            newStore().use { store ->
                FieldCore.create(
                    StoreConfig(File(tmp, "colleague").path, "tester-2", Durability.NORMAL),
                    MemoryKeys(),
                ).use { colleague ->
                    store.sync.enroll(server.url, listOf(server.pin), server.enrollmentCode())
                    colleague.sync.enroll(server.url, listOf(server.pin), server.enrollmentCode("tester-2"))
                    val mine = registration(sequence = 411)
                    val receipt = store.registrations.register(mine)
                    val permit = store.permits.accept(receipt.personId).permit
                    store.sync.syncNow()
                    val report = colleague.sync.syncNow()
                    assertTrue(report.districtMerged >= 4uL, "merged: ${report.districtMerged}")
                    assertEquals(emptyList<String>(), report.districtRefused)

                    val found = colleague.registrations.findByDocumentNumber(mine.document.number)
                    assertEquals(listOf(receipt.personId), found.map { it.personId })
                    val dwelling = colleague.registrations.dwelling(mine.dwelling.houseCode)
                    assertEquals(mine.dwelling.address, dwelling.dwelling?.address)
                    assertEquals(listOf(receipt.registrationId), dwelling.registrations.map { it.id })
                    val cancelled = colleague.permits.apply(permit.id, PermitEvent.Cancel("3"))
                    assertEquals(PermitState.CANCELLED, cancelled.permit.state)
                    val unknown = assertThrows<LgtException.NotFound> {
                        runBlocking { colleague.registrations.dwelling("HC9999999") }
                    }
                    assertEquals("not_found", unknown.code)
                }
            }
        }
    }

    @Test
    fun `a server presenting another key is refused before the code is sent`() = runBlocking {
        server().use { server ->
            newStore().use { store ->
                val code = server.enrollmentCode()
                val otherKey = "sha256/" + java.util.Base64.getEncoder().encodeToString(ByteArray(32))
                val untrusted = assertThrows<LgtException.Offline> {
                    runBlocking { store.sync.enroll(server.url, listOf(otherKey), code) }
                }
                assertEquals("sync.untrusted_server", untrusted.code)
                assertNull(store.sync.status().enrollment)
                // The code never left the phone: it still works with the right pin.
                val enrollment = store.sync.enroll(server.url, listOf(server.pin), code)
                assertEquals(listOf(server.pin), enrollment.serverPins)
            }
        }
    }

    @Test
    fun `a watch is a Flow woken by the network hint, and a stopped server is Offline`() = runBlocking {
        server().use { server ->
            newStore().use { store ->
                store.sync.enroll(server.url, listOf(server.pin), server.enrollmentCode())
                val hour = 3_600_000uL
                val attempts = async(start = CoroutineStart.UNDISPATCHED) {
                    store.sync.watch(WatchOptions(hour, hour, hour)).take(2).toList()
                }
                // The first attempt runs at once; the second only because of the hint.
                while (store.sync.status().lastSuccess == null) Thread.sleep(20)
                store.registrations.register(registration())
                store.sync.networkAvailable()
                val (first, second) = withTimeout(60_000) { attempts.await() }
                assertNull(first.error)
                assertEquals(hour, first.nextInMs)
                assertEquals(1uL, second.report?.acknowledged)

                server.close()
                val offline = assertThrows<LgtException.Offline> { runBlocking { store.sync.syncNow() } }
                assertEquals("sync.transient", offline.code)
            }
        }
    }

    @Test
    fun `cancelling the coroutine of syncNow stops the sync`() = runBlocking {
        val store = newStore()
        val port = server().use { server ->
            store.sync.enroll(server.url, listOf(server.pin), server.enrollmentCode())
            server.url.substringAfterLast(':').toInt()
        }
        store.registrations.register(registration())
        // A server that takes connections and never answers: the sync waits on it (60 s).
        java.net.ServerSocket(port, 50, java.net.InetAddress.getLoopbackAddress()).use {
            val sync = launch(Dispatchers.IO) { store.sync.syncNow() }
            delay(500)
            sync.cancelAndJoin()
            // Nothing lost: the registration waits for the next sync.
            assertEquals(1uL, store.sync.status().queueDepth)
            // Closing waits for the calls in flight: the cancelled sync is no longer one.
            val started = System.nanoTime()
            store.close()
            assertTrue(System.nanoTime() - started < 5_000_000_000, "closed at once")
        }
    }
}
