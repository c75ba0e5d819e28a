package cn.lgt.app.screens

import android.text.InputType
import android.widget.LinearLayout
import cn.lgt.app.EnrollmentQr
import cn.lgt.app.R
import cn.lgt.app.ui.FormField
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.button
import cn.lgt.app.ui.text

/**
 * Enrollment: scan the supervisor's QR (or type what it says), enroll with the server it
 * names under the pin it carries, pin the watchlist roots it carries, and reopen the store
 * under the coordinator's account id.
 */
class EnrollScreen : Screen() {
    override val title = R.string.enroll_title
    override val personalData = false
    private lateinit var server: FormField
    private lateinit var pin: FormField
    private lateinit var code: FormField

    override fun build(root: LinearLayout) {
        root.text(R.string.enroll_intro)
        root.button(R.string.enroll_scan, "enroll-scan") {
            launch {
                host.app.unlock()
                host.show(ScanScreen(R.string.scan_enroll_title, R.string.scan_enroll_hint, ::onScanned))
            }
        }
        root.text(R.string.enroll_or_type, TextKind.HEADING)
        server = FormField(root, "server", string(R.string.enroll_server), InputType.TYPE_TEXT_VARIATION_URI)
        pin = FormField(root, "pin", string(R.string.enroll_pin))
        code = FormField(root, "code", string(R.string.enroll_code))
        root.button(R.string.enroll_submit, "enroll-submit") {
            enroll(EnrollmentQr(server.value.trim(), listOf(pin.value.trim()).filter { it.isNotEmpty() }, code.value.trim(), emptyList()))
        }
    }

    private fun onScanned(result: cn.lgt.core.ScanResult) {
        val qr = EnrollmentQr.parse(result.text)
        if (qr == null) host.showMessage(string(R.string.enroll_not_a_code)) else enroll(qr)
    }

    private fun enroll(qr: EnrollmentQr) = launch {
        val app = host.app
        host.showMessage(string(R.string.enroll_running))
        val store = app.unlock()
        val enrollment = store.sync.enroll(qr.server, qr.pins, qr.code)
        if (qr.watchlistRoots.isNotEmpty()) store.sync.pinWatchlistRoots(qr.watchlistRoots)
        // The audit trail records the coordinator's account id from now on.
        app.actor = enrollment.coordinator
        app.lockStore()
        app.unlock()
        host.onUnlocked()
    }
}
