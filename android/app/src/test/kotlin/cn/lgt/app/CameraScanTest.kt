package cn.lgt.app

import cn.lgt.app.screens.ScanScreen
import cn.lgt.app.screens.TodayScreen
import cn.lgt.core.ScanResult
import cn.lgt.core.types.BarcodeFormat
import cn.lgt.core.types.ScanRegion
import java.io.File
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assume
import org.junit.Test

class CameraScanTest : AppTest() {
    // LGT_BARCODE_CORPUS as for the other suites, else -Dlgt.corpus (the pom's default).
    private val corpus = File(System.getenv("LGT_BARCODE_CORPUS") ?: System.getProperty("lgt.corpus") ?: "../../shared/corpus/barcode")

    @Test
    fun `a corpus photo goes through the camera frame path to the core, and frames are dropped while one decodes`() {
        val image = File(corpus, "qrcode-1/1.png")
        if (!image.exists()) {
            check(System.getenv("LGT_REQUIRE_CORPUS") != "1") { "barcode corpus not found at ${corpus.path} (LGT_REQUIRE_CORPUS=1 is set)" }
            System.err.println("SKIPPED: barcode corpus not found at ${corpus.path} (set LGT_BARCODE_CORPUS)")
            Assume.assumeTrue(false)
        }
        val driver = enroll(server())
        val (luma, width, height) = lumaOf(image)
        // The photo in a taller camera frame: 120 rows above and below that the region leaves out.
        val plane = cameraPlane(luma, width, width, height + 240, 0, 120)
        val region = ScanRegion(0u, 100u, width.toUInt(), (height + 40).toUInt())

        var read: ScanResult? = null
        driver.activity.show(ScanScreen(R.string.scan_title, R.string.scan_any_hint) { read = it })
        val scan = driver.awaitScreen<ScanScreen>()
        assertTrue("the first frame goes to the decoder", scan.gate.offer(plane, region))
        // The decode has not come back (the main thread has not run): the next frame is dropped uncopied.
        assertFalse(scan.gate.offer(plane, region))
        assertEquals(1L, scan.gate.framesDropped)
        driver.until("the code") { read != null }
        assertEquals(BarcodeFormat.QR, read!!.format)
        assertEquals(File(corpus, "qrcode-1/1.txt").readText(), read!!.text)
        // The scan screen closed itself after the first code.
        driver.awaitScreen<TodayScreen>()
    }
}
