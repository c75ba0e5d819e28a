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
import cn.lgt.common.PermitState
import cn.lgt.core.types.RegistrationStatus

/** A person: who they are, their documents, where they live, and their permits. */
class PersonScreen(private val personId: String) : Screen() {
    override val title = R.string.person_title
    private lateinit var body: LinearLayout

    override fun build(root: LinearLayout) {
        body = host.column(0).also(root::addView)
    }

    override suspend fun load() {
        // Audited by the core: opening a person is an access to their data.
        val export = core.registrations.exportPerson(personId)
        val person = export.person.person
        body.removeAllViews()
        body.text(person.name, TextKind.HEADING, "person-name")
        body.text(
            string(
                R.string.person_line,
                host.codeLabel(CodeTableId.SEX, person.sex),
                host.codeLabel(CodeTableId.ETHNICITY, person.ethnicity),
                person.birthDate,
            ),
        )
        body.text(R.string.person_documents, TextKind.HEADING)
        export.person.identifiers.forEach { identifier ->
            val document = identifier.document
            val line = host.codeLabel(CodeTableId.DOCUMENT_TYPE, document.docType) + " " + document.number
            body.text(if (identifier.supersededAt == null) line else string(R.string.person_superseded, line))
        }
        body.text(R.string.person_dwelling, TextKind.HEADING)
        export.registrations.filter { it.status == RegistrationStatus.ACTIVE }.forEach { record ->
            val registration = record.registration
            body.row(registration.dwelling.address, "person-dwelling") { host.show(DwellingScreen(registration.dwelling.houseCode)) }
            body.text(
                string(R.string.person_moved_in, registration.movedIn, host.codeLabel(CodeTableId.REASON_FOR_STAY, registration.reasonForStay)),
                TextKind.HINT,
            )
        }
        body.text(R.string.person_permits, TextKind.HEADING)
        export.permits.forEach { record ->
            val permit = record.permit
            val label = (permit.number ?: string(R.string.permit_application)) + " · " + permitStateLabel(permit.state)
            body.row(label, "permit:${permit.id}") { host.show(PermitScreen(permit.id)) }
        }
        if (export.permits.none { it.permit.state != PermitState.CANCELLED }) {
            body.button(R.string.person_apply, "person-apply") {
                launch {
                    val permit = core.permits.accept(personId).permit
                    host.show(PermitScreen(permit.id))
                }
            }
        }
    }
}

/** The label of a permit state, in the UI's language. */
fun Screen.permitStateLabel(state: PermitState): String = string(
    when (state) {
        PermitState.ACCEPTED -> R.string.permit_state_accepted
        PermitState.ISSUED -> R.string.permit_state_issued
        PermitState.DELIVERED -> R.string.permit_state_delivered
        PermitState.SUSPENDED -> R.string.permit_state_suspended
        PermitState.CANCELLED -> R.string.permit_state_cancelled
    },
)
