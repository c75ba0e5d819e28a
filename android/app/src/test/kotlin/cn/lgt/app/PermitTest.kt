package cn.lgt.app

import android.widget.ImageView
import cn.lgt.app.screens.PermitCheckScreen
import cn.lgt.app.screens.PermitScreen
import cn.lgt.app.screens.PersonScreen
import cn.lgt.app.screens.ScanScreen
import cn.lgt.common.CodeTableId
import cn.lgt.core.codeTable
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test

class PermitTest : AppTest() {
    @Test
    fun `a permit is issued, its signed QR shown and verified, then cancelled with a reason from the code table`() {
        val driver = enroll(server())
        driver.tap("today-register")
        driver.fillRegistration("测试丁", goodNumber)
        driver.tap("register-submit")
        driver.awaitScreen<PersonScreen>()
        driver.tap("person-apply")
        driver.awaitScreen<PermitScreen>()
        driver.awaitText("permit-state", "已受理")
        // The number the server reserved for this phone, or one typed when none is left.
        if ((driver.awaitView("field:permit.number") as android.widget.EditText).text.isEmpty()) {
            driver.type("permit.number", "SZ20260001")
        }
        driver.tap("permit-issue")
        driver.awaitText("permit-state", "已签发")
        driver.tap("permit-deliver")
        driver.awaitText("permit-state", "已发放")
        assertNotNull((driver.awaitView("permit-qr") as ImageView).drawable)
        driver.tap("permit-verify")
        driver.awaitText("permit-verdict", "有效：签名无误")
        driver.scrollTo("permit-qr")
        driver.screenshot("09-permit-qr")

        // The same code in front of another phone's camera: here, this phone's scanner.
        val permitId = (driver.activity.screen as PermitScreen).permitId
        val qrText = runBlocking { driver.app.core!!.permits.qrCode(permitId) }
        driver.activity.show(ScanScreen(R.string.scan_title, R.string.scan_any_hint) { driver.activity.show(PermitCheckScreen(it)) })
        val scan = driver.awaitScreen<ScanScreen>()
        assertTrue(scan.gate.offer(qrFrame(qrText), cn.lgt.app.camera.centreRegion(FRAME_W, FRAME_H)))
        driver.awaitScreen<PermitCheckScreen>()
        driver.awaitText("check-verdict", "有效：签名无误")
        driver.tap("check-open")
        driver.awaitScreen<PermitScreen>()

        val leftTheArea = codeTable(CodeTableId.CANCELLATION_REASON).entries.first { it.code == "3" }
        driver.pickCode("permit.cancel_reason", CodeTableId.CANCELLATION_REASON, "3")
        driver.tap("permit-cancel")
        driver.awaitText("permit-state", "已注销")
        driver.awaitText("permit-cancel-reason", "注销原因：" + leftTheArea.zh)
        assertEquals(null, driver.view("permit-qr"))
        driver.screenshot("10-permit-cancelled")
    }
}
