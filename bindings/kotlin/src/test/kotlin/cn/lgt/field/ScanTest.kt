package cn.lgt.field

import cn.lgt.common.PermitEvent
import cn.lgt.common.PermitState
import cn.lgt.core.LgtException
import cn.lgt.core.ScanOptions
import cn.lgt.core.ScanPayload
import cn.lgt.core.StoreConfig
import cn.lgt.core.renderQr
import cn.lgt.core.types.BarcodeFormat
import cn.lgt.core.types.Durability
import cn.lgt.core.types.PermitVerdict
import cn.lgt.core.types.ScanMode
import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assumptions
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** Scanning through the generated Kotlin and the hand-written layer. */
class ScanTest {
    @TempDir
    lateinit var tmp: File

    // LGT_BARCODE_CORPUS as for the Rust and Python suites, else -Dlgt.corpus (the pom's
    // default: shared/corpus/barcode beside the checkout).
    private val corpus = File(System.getenv("LGT_BARCODE_CORPUS") ?: System.getProperty("lgt.corpus") ?: "../../../shared/corpus/barcode")
    private val still = ScanOptions(mode = ScanMode.STILL)

    /**
     * A fresh clone has no corpus beside it: the test is skipped with one loud line, unless
     * LGT_REQUIRE_CORPUS=1 (CI), which makes a missing corpus fail it.
     */
    private fun requireCorpus(image: File) {
        if (image.exists()) return
        check(System.getenv("LGT_REQUIRE_CORPUS") != "1") {
            "barcode corpus not found at ${corpus.path}: set LGT_BARCODE_CORPUS (or -Dlgt.corpus=...) (LGT_REQUIRE_CORPUS=1 is set)"
        }
        val line = "SKIPPED: barcode corpus not found at ${corpus.path} " +
            "(set LGT_BARCODE_CORPUS=/path/to/shared/corpus/barcode, or LGT_REQUIRE_CORPUS=1 to fail instead)"
        System.err.println(line)
        Assumptions.assumeTrue(false, line)
    }

    private fun newStore(name: String = "store") = runBlocking {
        FieldCore.create(StoreConfig(File(tmp, name).path, "tester-1", Durability.NORMAL), MemoryKeys(), MovableClock())
    }

    @Test
    fun `a corpus image file decodes to its text`() = runBlocking {
        val image = File(corpus, "qrcode-1/1.png")
        requireCorpus(image)
        newStore().use { store ->
            store.scanner().use { scanner ->
                val result = checkNotNull(scanner.scanFile(image.path, still)) { "no code found" }
                assertEquals(BarcodeFormat.QR, result.format)
                assertEquals(File(corpus, "qrcode-1/1.txt").readText(), result.text)
                val missing = assertThrows<LgtException.Invalid> { runBlocking { scanner.scanFile(File(tmp, "none.png").path, still) } }
                assertEquals("scan.io", missing.code)
            }
        }
    }

    @Test
    fun `a permit QR on screen is verified offline from a camera frame`() = runBlocking {
        newStore().use { store ->
            val personId = store.registrations.register(registration()).personId
            val permitId = store.permits.accept(personId).permit.id
            store.permits.apply(permitId, PermitEvent.Issue("SZ20260001"))
            store.permits.apply(permitId, PermitEvent.Deliver)
            val qr = renderQr(store.permits.qrCode(permitId), 3u)
            // A camera plane with 16 bytes of row padding.
            val size = qr.size.toInt()
            val stride = size + 16
            val luma = ByteArray(stride * size) { i -> if (i % stride < size) qr.pixels[(i / stride) * size + i % stride] else 0x7f }
            store.scanner().use { scanner ->
                val result = checkNotNull(scanner.scanFrame(luma, size, size, stride, still)) { "no code found" }
                val payload = result.payload as ScanPayload.Permit
                assertEquals("SZ20260001", payload.claim?.permitNumber)
                assertEquals(PermitVerdict.VALID, result.permit?.verdict)
                assertEquals(PermitState.DELIVERED, result.permit?.localState)
                assertEquals(permitId, result.permit?.permitId)

                newStore("other").use { other ->
                    other.scanner().use { otherScanner ->
                        val unknown = otherScanner.interpret(BarcodeFormat.QR, result.text)
                        assertEquals(PermitVerdict.UNKNOWN_ISSUER, unknown.permit?.verdict)
                        otherScanner.trustIssuer(scanner.issuerPublicKey(), "office-1")
                        assertEquals(PermitVerdict.VALID, otherScanner.interpret(BarcodeFormat.QR, result.text).permit?.verdict)
                    }
                }
            }
        }
    }

    @Test
    fun `every code of one photo is read and interpreted`() = runBlocking {
        newStore().use { store ->
            // A permit QR and a door plate's QR side by side on white, 24 pixels apart.
            val personId = store.registrations.register(registration()).personId
            val permitId = store.permits.accept(personId).permit.id
            store.permits.apply(permitId, PermitEvent.Issue("SZ20260002"))
            val permit = renderQr(store.permits.qrCode(permitId), 3u)
            val plate = renderQr("mpbm=HC1000101", 3u)
            val gap = 24
            val (left, right) = permit.size.toInt() to plate.size.toInt()
            val width = left + right + 3 * gap
            val height = maxOf(left, right) + 2 * gap
            val luma = ByteArray(width * height) { 0xff.toByte() }
            for (y in 0 until left) permit.pixels.copyInto(luma, (gap + y) * width + gap, y * left, (y + 1) * left)
            for (y in 0 until right) plate.pixels.copyInto(luma, (gap + y) * width + 2 * gap + left, y * right, (y + 1) * right)
            store.scanner().use { scanner ->
                val results = scanner.scanFrameAll(luma, width, height, width, still)
                assertEquals(2, results.size)
                val verdict = results.firstNotNullOfOrNull { it.permit?.verdict }
                assertEquals(PermitVerdict.VALID, verdict)
                val door = results.map { it.payload }.filterIsInstance<ScanPayload.DoorPlate>().single()
                assertEquals("HC1000101", door.houseCode)

                val blank = ByteArray(64 * 64) { 0xff.toByte() }
                assertEquals(emptyList<Any>(), scanner.scanFrameAll(blank, 64, 64, 64, still))
            }
        }
    }
}
