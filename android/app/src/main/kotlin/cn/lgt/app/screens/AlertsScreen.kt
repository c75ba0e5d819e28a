package cn.lgt.app.screens

import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.column
import cn.lgt.app.ui.row
import cn.lgt.app.ui.text
import cn.lgt.core.types.Confidence
import cn.lgt.core.types.OperationState

/**
 * The standing watchlist alerts, for the coordinator's eyes only: a possible match to verify,
 * never an accusation; what to do (the list entry's own instructions on an exact match, else
 * "do not confront"); and that the report has gone, or goes at the next sync, without anything
 * to press. Nothing here is loud: no red, no sound, no vibration.
 */
class AlertsScreen : Screen() {
    override val title = R.string.alerts_title
    private lateinit var body: LinearLayout

    override fun build(root: LinearLayout) {
        body = host.column(0).also(root::addView)
    }

    override suspend fun load() {
        host.clearAlertLine()
        val alerts = core.watchlist.alerts()
        val reports = core.outbox.list().filter { it.kind == "watchlist.hit" }
        val reported = reports.isNotEmpty() && reports.all { it.state == OperationState.ACKNOWLEDGED }
        body.removeAllViews()
        if (alerts.isEmpty()) body.text(R.string.alerts_none, TextKind.HINT)
        alerts.forEach { alert ->
            body.text(string(R.string.alert_wording), TextKind.HEADING, "alert-wording")
            body.text(
                string(if (alert.confidence == Confidence.EXACT) R.string.alert_exact else R.string.alert_low, alert.score.toInt()),
                TextKind.HINT,
            )
            body.text(string(R.string.alert_instructions, alert.instructions), tag = "alert-instructions")
            if (alert.listOutOfDate) body.text(R.string.list_out_of_date, TextKind.HINT)
            alert.personId?.let { id -> body.row(string(R.string.alert_open_person), "alert-person:$id") { host.show(PersonScreen(id)) } }
        }
        if (alerts.isNotEmpty()) {
            body.text(string(if (reported) R.string.alert_reported else R.string.alert_report_queued), TextKind.HINT, "alert-report")
        }
    }
}
