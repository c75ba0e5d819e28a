package cn.lgt.app.screens

import android.graphics.Bitmap
import android.widget.ImageView
import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.sync.SyncScheduler
import cn.lgt.app.ui.CodeField
import cn.lgt.app.ui.FormField
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.button
import cn.lgt.app.ui.codeLabel
import cn.lgt.app.ui.column
import cn.lgt.app.ui.dp
import cn.lgt.app.ui.text
import cn.lgt.common.CodeTableId
import cn.lgt.common.PermitEvent
import cn.lgt.common.PermitState
import cn.lgt.core.renderQr
import cn.lgt.core.types.BarcodeFormat
import cn.lgt.core.types.PermitRecord

/**
 * A permit: its state and log, the actions its state allows (issue, deliver, endorse, suspend,
 * restore, cancel with a reason from the code table), and its signed QR, shown and verified
 * offline by the core. Every action names the version it was decided on, so a permit changed
 * meanwhile (by a sync) is refused rather than overwritten.
 */
class PermitScreen(val permitId: String) : Screen() {
    override val title = R.string.permit_title
    private lateinit var body: LinearLayout

    override fun build(root: LinearLayout) {
        body = host.column(0).also(root::addView)
    }

    override suspend fun load() = show(core.permits.show(permitId))

    private suspend fun show(record: PermitRecord) {
        val permit = record.permit
        body.removeAllViews()
        body.text(permit.number ?: string(R.string.permit_application), TextKind.HEADING, "permit-number")
        body.text(permitStateLabel(permit.state), tag = "permit-state")
        permit.endorsementDue?.let { body.text(string(R.string.permit_endorse_by, it), TextKind.HINT) }
        permit.cancelReason?.let {
            body.text(string(R.string.permit_cancelled_for, host.codeLabel(CodeTableId.CANCELLATION_REASON, it)), TextKind.HINT, "permit-cancel-reason")
        }
        actions(record)
        if (permit.state == PermitState.ISSUED || permit.state == PermitState.DELIVERED) qr()
        body.text(R.string.permit_log, TextKind.HEADING)
        record.events.forEach { event -> body.text(event.occurredOn + " · " + eventLabel(event.event), TextKind.HINT) }
    }

    private suspend fun actions(record: PermitRecord) {
        val version = record.permit.version
        fun act(label: Int, tag: String, event: () -> PermitEvent) = body.button(label, tag) {
            launch {
                val changed = core.permits.apply(permitId, event(), baseVersion = version)
                SyncScheduler.schedule(host, 0)
                show(changed)
            }
        }
        when (record.permit.state) {
            PermitState.ACCEPTED -> {
                val number = FormField(body, "permit.number", string(R.string.permit_number))
                number.value = core.sync.nextPermitNumber().orEmpty()
                act(R.string.permit_issue, "permit-issue") { PermitEvent.Issue(number.value.trim()) }
            }
            PermitState.ISSUED -> act(R.string.permit_deliver, "permit-deliver") { PermitEvent.Deliver }
            PermitState.DELIVERED -> {
                act(R.string.permit_endorse, "permit-endorse") { PermitEvent.Endorse }
                act(R.string.permit_suspend, "permit-suspend") { PermitEvent.Suspend }
            }
            PermitState.SUSPENDED -> act(R.string.permit_restore, "permit-restore") { PermitEvent.Restore }
            PermitState.CANCELLED -> return
        }
        body.text(R.string.permit_cancel_heading, TextKind.HEADING)
        val reason = CodeField(body, "permit.cancel_reason", string(R.string.permit_cancel_reason), CodeTableId.CANCELLATION_REASON)
        act(R.string.permit_cancel, "permit-cancel") { PermitEvent.Cancel(reason.code) }
    }

    /** The signed QR as the core renders it, and the core's offline verdict on it. */
    private suspend fun qr() {
        val text = core.permits.qrCode(permitId)
        val image = renderQr(text, QR_MODULE_PX)
        val size = image.size.toInt()
        val colours = IntArray(size * size) { i -> (image.pixels[i].toInt() and 0xff).let { v -> (0xff shl 24) or (v shl 16) or (v shl 8) or v } }
        val view = ImageView(host).apply {
            tag = "permit-qr"
            setImageBitmap(Bitmap.createBitmap(colours, size, size, Bitmap.Config.ARGB_8888))
        }
        body.addView(view, LinearLayout.LayoutParams(host.dp(240), host.dp(240)))
        val verdict = body.text("", TextKind.HINT, "permit-verdict")
        body.button(R.string.permit_verify, "permit-verify") {
            launch {
                val result = core.scanner().use { it.interpret(BarcodeFormat.QR, text) }
                verdict.text = result.permit?.let { verdictLabel(it.verdict) }.orEmpty()
            }
        }
    }

    private fun eventLabel(event: PermitEvent): String = string(
        when (event) {
            is PermitEvent.Accept -> R.string.event_accept
            is PermitEvent.Issue -> R.string.event_issue
            PermitEvent.Deliver -> R.string.event_deliver
            PermitEvent.Endorse -> R.string.event_endorse
            PermitEvent.Suspend -> R.string.event_suspend
            PermitEvent.Restore -> R.string.event_restore
            is PermitEvent.ChangeAddress -> R.string.event_change_address
            is PermitEvent.Cancel -> R.string.event_cancel
        },
    )

    private companion object {
        const val QR_MODULE_PX = 6u
    }
}
