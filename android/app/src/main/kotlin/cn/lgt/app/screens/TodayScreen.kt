package cn.lgt.app.screens

import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.ui.FormField
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.button
import cn.lgt.app.ui.column
import cn.lgt.app.ui.row
import cn.lgt.app.ui.text
import cn.lgt.core.LgtException
import cn.lgt.core.ScanPayload
import cn.lgt.core.ScanResult
import cn.lgt.core.ListState
import java.time.LocalDate

/**
 * The day's list: what waits for sync, the people registered on this phone today, the
 * district's permits due for endorsement within a month, and the way to everything else
 * (register, scan, search, sync, lock).
 */
class TodayScreen : Screen() {
    override val title = R.string.today_title
    private lateinit var status: LinearLayout
    private lateinit var visited: LinearLayout
    private lateinit var due: LinearLayout
    private lateinit var search: FormField

    override fun build(root: LinearLayout) {
        status = host.column(0).also(root::addView)
        root.button(R.string.today_register, "today-register") { host.show(RegisterScreen()) }
        root.button(R.string.today_scan, "today-scan") {
            host.show(ScanScreen(R.string.scan_title, R.string.scan_any_hint, ::onScanned))
        }
        search = FormField(root, "search", string(R.string.today_search_hint))
        root.button(R.string.today_search, "today-search-go") { find(search.value.trim()) }
        root.text(R.string.today_visited, TextKind.HEADING)
        visited = host.column(0).also(root::addView)
        root.text(R.string.today_due, TextKind.HEADING)
        due = host.column(0).also(root::addView)
        root.button(R.string.today_sync, "today-sync") { host.show(SyncScreen()) }
        root.button(R.string.today_lock, "today-lock") { host.show(LockScreen()) }
    }

    override suspend fun load() {
        val sync = core.sync.status()
        val list = core.watchlist.status()
        status.removeAllViews()
        status.text(string(R.string.today_queue, sync.queueDepth.toLong()), tag = "today-queue")
        status.text(
            when (list.state) {
                ListState.CURRENT -> string(R.string.list_current, list.info?.version?.toLong() ?: 0L)
                ListState.OUT_OF_DATE -> string(R.string.list_out_of_date)
                ListState.MISSING -> string(R.string.list_missing)
            },
            TextKind.HINT,
        )
        visited.removeAllViews()
        host.app.visited.forEach { (personId, name) ->
            visited.row(name, "visited:$personId") { host.show(PersonScreen(personId)) }
        }
        if (host.app.visited.isEmpty()) visited.text(R.string.today_none, TextKind.HINT)
        due.removeAllViews()
        val horizon = LocalDate.now().plusDays(31).toString()
        core.sync.districtPermits()
            .filter { it.endorsementDue != null && it.endorsementDue!! <= horizon }
            .sortedBy { it.endorsementDue }
            .forEach { permit ->
                due.row(string(R.string.today_due_row, permit.number.orEmpty(), permit.endorsementDue!!), "due:${permit.id}") {
                    host.show(PersonScreen(permit.personId))
                }
            }
        if (due.childCount == 0) due.text(R.string.today_none, TextKind.HINT)
    }

    /** A document number (any digits) or a name. Both lookups are audited by the core. */
    private fun find(query: String) = launch {
        if (query.isEmpty()) return@launch
        val byNumber = query.any(Char::isDigit)
        val found = if (byNumber) core.registrations.findByDocumentNumber(query) else core.registrations.findByName(query)
        when (found.size) {
            0 -> host.showMessage(string(R.string.today_not_found))
            1 -> host.show(PersonScreen(found.single().personId))
            else -> host.show(PeopleScreen(found))
        }
    }

    /** A scanned code: a permit to verify, a person's document, or a door plate. */
    private fun onScanned(result: ScanResult) = launch {
        when (val payload = result.payload) {
            is ScanPayload.Permit -> host.show(PermitCheckScreen(result))
            is ScanPayload.IdNumber -> find(payload.info.number)
            is ScanPayload.DoorPlate -> openDwelling(payload.houseCode)
            else -> host.showMessage(string(R.string.scan_unknown))
        }
    }

    private suspend fun openDwelling(houseCode: String) {
        try {
            core.registrations.dwelling(houseCode)
            host.show(DwellingScreen(houseCode))
        } catch (e: LgtException.NotFound) {
            host.showMessage(string(R.string.today_dwelling_new))
            host.show(RegisterScreen(houseCode = houseCode))
        }
    }
}
