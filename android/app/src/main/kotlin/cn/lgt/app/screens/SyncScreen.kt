package cn.lgt.app.screens

import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.button
import cn.lgt.app.ui.column
import cn.lgt.app.ui.text

/**
 * Sync status: the enrollment, what waits (queue depth, oldest), the last success and the last
 * error, what is stuck (quarantined by the server) and why, and "sync now".
 */
class SyncScreen : Screen() {
    override val title = R.string.sync_title
    override val personalData = false
    private lateinit var body: LinearLayout

    override fun build(root: LinearLayout) {
        body = host.column(0).also(root::addView)
        root.button(R.string.sync_now, "sync-now") {
            launch {
                host.showMessage(string(R.string.sync_running))
                val report = core.sync.syncNow()
                host.showMessage(string(R.string.sync_done, report.acknowledged.toLong(), report.pulled.toLong()))
                load()
            }
        }
    }

    override suspend fun load() {
        val status = core.sync.status()
        body.removeAllViews()
        status.enrollment?.let {
            body.text(string(R.string.sync_enrolled, it.coordinator, it.district), tag = "sync-enrollment")
            body.text(it.serverUrl, TextKind.HINT)
        }
        body.text(string(R.string.sync_queue, status.queueDepth.toLong()), tag = "sync-queue")
        status.oldestPending?.let { body.text(string(R.string.sync_oldest, it.take(16)), TextKind.HINT) }
        body.text(string(R.string.sync_last, status.lastSuccess?.take(19) ?: string(R.string.sync_never)), tag = "sync-last")
        status.lastError?.let { body.text(string(R.string.sync_last_error, it), TextKind.HINT, "sync-error") }
        body.text(string(R.string.sync_numbers_left, status.permitNumbersLeft.toLong()), TextKind.HINT)
        body.text(R.string.sync_stuck, TextKind.HEADING)
        if (status.quarantined.isEmpty()) body.text(R.string.sync_stuck_none, TextKind.HINT, "sync-stuck-none")
        status.quarantined.forEach { body.text(string(R.string.sync_stuck_row, it.kind, it.reason), tag = "sync-stuck") }
    }
}
