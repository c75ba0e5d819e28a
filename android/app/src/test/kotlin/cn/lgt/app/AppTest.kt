package cn.lgt.app

import cn.lgt.app.camera.centreRegion
import cn.lgt.app.screens.EnrollScreen
import cn.lgt.app.screens.ScanScreen
import cn.lgt.app.screens.TodayScreen
import cn.lgt.common.CodeTableId
import cn.lgt.core.renderQr
import cn.lgt.field.SyncServer
import cn.lgt.field.idNumber
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode

/**
 * The app under Robolectric (API 35, Chinese, a 360x720 dp phone), its core the real host-built
 * library through JNA, its server the real `lgt-server` on loopback.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestApp::class, qualifiers = "zh-rCN-w360dp-h720dp-xhdpi")
@GraphicsMode(GraphicsMode.Mode.NATIVE)
abstract class AppTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private var started: AppDriver? = null
    private var servers = mutableListOf<SyncServer>()

    fun server(): SyncServer = SyncServer(tmp.newFolder()).also { servers += it }

    fun launch(): AppDriver = AppDriver.launch().also { started = it }

    @After
    fun stop() {
        started?.let { driver ->
            driver.controller.pause().stop().destroy()
            runBlocking { driver.app.lockStore() }
        }
        servers.forEach { it.close() }
    }

    /**
     * Enrolls a new phone as a coordinator would: "scan the enrollment code", the supervisor's
     * QR in front of the camera (a frame through the camera path), then the day's list.
     */
    fun enroll(server: SyncServer, roots: List<ByteArray> = emptyList()): AppDriver {
        val driver = launch()
        driver.awaitScreen<EnrollScreen>()
        driver.tap("enroll-scan")
        val scan = driver.awaitScreen<ScanScreen>()
        assertTrue("frame taken", scan.gate.offer(qrFrame(enrollmentQr(server, roots)), centreRegion(FRAME_W, FRAME_H)))
        driver.awaitScreen<TodayScreen>()
        return driver
    }

    companion object {
        const val FRAME_W = 640
        const val FRAME_H = 480

        /** [text] as a QR drawn by the core, in the middle of a 640x480 camera frame. */
        fun qrFrame(text: String) = renderQr(text, 3u).let { qr ->
            val size = qr.size.toInt()
            cameraPlane(qr.pixels, size, FRAME_W, FRAME_H, (FRAME_W - size) / 2, (FRAME_H - size) / 2)
        }

        /** A valid synthetic identity number and one with its check character changed. */
        val goodNumber = idNumber(birth = "19900304", sequence = 215)
        val badNumber = goodNumber.dropLast(1) + if (goodNumber.last() == '1') '2' else '1'
    }
}

/** Fills the registration form with synthetic data (the number as given). */
fun AppDriver.fillRegistration(name: String, number: String, houseCode: String = "HC2000301", address: String = "合成市第二区示例路3号301室") {
    type("person.name", name)
    pickCode("person.sex", CodeTableId.SEX, if (number[16].digitToInt() % 2 == 1) "1" else "2")
    pickCode("document.type", CodeTableId.DOCUMENT_TYPE, "1")
    type("document.number", number)
    type("household_address", "合成省第二县示例村二组")
    type("contact_phone", "19900005678")
    type("dwelling.house_code", houseCode)
    type("dwelling.address", address)
    type("moved_in", "2026-10-01")
}
