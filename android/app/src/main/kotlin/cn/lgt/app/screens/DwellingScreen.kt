package cn.lgt.app.screens

import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.button
import cn.lgt.app.ui.codeLabel
import cn.lgt.app.ui.column
import cn.lgt.app.ui.row
import cn.lgt.app.ui.text
import cn.lgt.common.CodeTableId
import cn.lgt.core.types.RegistrationStatus

/** A dwelling by its house code and who lives there (this phone's and, once synced, the district's). */
class DwellingScreen(private val houseCode: String) : Screen() {
    override val title = R.string.dwelling_title
    private lateinit var body: LinearLayout

    override fun build(root: LinearLayout) {
        body = host.column(0).also(root::addView)
        root.button(R.string.dwelling_register, "dwelling-register") { host.show(RegisterScreen(houseCode)) }
    }

    override suspend fun load() {
        val record = core.registrations.dwelling(houseCode)
        body.removeAllViews()
        body.text(record.dwelling?.address ?: houseCode, TextKind.HEADING, "dwelling-address")
        record.dwelling?.let { body.text(host.codeLabel(CodeTableId.HOUSING_TYPE, it.housingType), TextKind.HINT) }
        record.landlord?.let { body.text(string(R.string.dwelling_landlord, it.name), TextKind.HINT) }
        body.text(R.string.dwelling_residents, TextKind.HEADING)
        record.registrations.filter { it.status == RegistrationStatus.ACTIVE }.forEach { registration ->
            body.row(registration.registration.person.name, "resident:${registration.personId}") {
                host.show(PersonScreen(registration.personId))
            }
        }
        val past = record.registrations.filter { it.status == RegistrationStatus.CLOSED }
        if (past.isNotEmpty()) {
            body.text(R.string.dwelling_moved_out, TextKind.HEADING)
            past.forEach { body.text(it.registration.person.name + " · " + it.closedAt.orEmpty().take(10), TextKind.HINT) }
        }
    }
}
