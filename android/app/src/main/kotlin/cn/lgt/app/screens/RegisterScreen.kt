package cn.lgt.app.screens

import android.text.InputType
import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.sync.SyncScheduler
import cn.lgt.app.ui.CodeField
import cn.lgt.app.ui.FormField
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.button
import cn.lgt.app.ui.chinese
import cn.lgt.app.ui.text
import cn.lgt.common.CodeTableId
import cn.lgt.common.Dwelling
import cn.lgt.common.IdSex
import cn.lgt.core.LgtException
import cn.lgt.core.ScanPayload
import cn.lgt.core.ScanResult
import cn.lgt.core.types.DocumentInput
import cn.lgt.core.types.PersonInput
import cn.lgt.core.types.RegistrationInput
import java.time.LocalDate

/**
 * Register a person at a dwelling: scan the document or the door plate, or type. The core
 * validates; each problem it returns is shown under its field, in the UI's language, and the
 * form keeps what was typed so the coordinator fixes just that.
 */
class RegisterScreen(private val houseCode: String? = null) : Screen() {
    override val title = R.string.register_title
    private val fields = mutableMapOf<String, FormField>()
    private val codes = mutableMapOf<String, CodeField>()

    override fun build(root: LinearLayout) {
        root.button(R.string.register_scan_document, "register-scan-document") {
            host.show(ScanScreen(R.string.scan_document_title, R.string.scan_document_hint, ::onScanned))
        }
        root.button(R.string.register_scan_plate, "register-scan-plate") {
            host.show(ScanScreen(R.string.scan_plate_title, R.string.scan_plate_hint, ::onScanned))
        }
        root.text(R.string.register_person, TextKind.HEADING)
        field(root, "person.name", R.string.field_name)
        code(root, "person.sex", R.string.field_sex, CodeTableId.SEX)
        code(root, "person.ethnicity", R.string.field_ethnicity, CodeTableId.ETHNICITY)
        field(root, "person.birth_date", R.string.field_birth_date, InputType.TYPE_CLASS_DATETIME)
        code(root, "document.type", R.string.field_document_type, CodeTableId.DOCUMENT_TYPE)
        field(root, "document.number", R.string.field_document_number)
        field(root, "household_address", R.string.field_household_address)
        field(root, "contact_phone", R.string.field_phone, InputType.TYPE_CLASS_PHONE)
        root.text(R.string.register_dwelling, TextKind.HEADING)
        field(root, "dwelling.house_code", R.string.field_house_code).value = houseCode.orEmpty()
        field(root, "dwelling.address", R.string.field_address)
        code(root, "dwelling.housing_type", R.string.field_housing_type, CodeTableId.HOUSING_TYPE)
        field(root, "moved_in", R.string.field_moved_in, InputType.TYPE_CLASS_DATETIME).value = LocalDate.now().toString()
        code(root, "reason_for_stay", R.string.field_reason, CodeTableId.REASON_FOR_STAY)
        code(root, "occupation", R.string.field_occupation, CodeTableId.OCCUPATION)
        root.button(R.string.register_submit, "register-submit") { submit() }
    }

    private fun field(root: LinearLayout, key: String, label: Int, type: Int = InputType.TYPE_CLASS_TEXT) =
        FormField(root, key, string(label), type).also { fields[key] = it }

    private fun code(root: LinearLayout, key: String, label: Int, table: CodeTableId) =
        CodeField(root, key, string(label), table).also { codes[key] = it }

    private fun value(key: String) = fields.getValue(key).value.trim()

    private fun optional(key: String) = value(key).ifEmpty { null }

    private fun input() = RegistrationInput(
        person = PersonInput(
            name = value("person.name"),
            formerName = null,
            sex = codes.getValue("person.sex").code,
            ethnicity = codes.getValue("person.ethnicity").code,
            birthDate = optional("person.birth_date"),
        ),
        document = DocumentInput(docType = codes.getValue("document.type").code, number = value("document.number")),
        householdAddress = value("household_address"),
        dwelling = Dwelling(
            houseCode = value("dwelling.house_code"),
            address = value("dwelling.address"),
            housingType = codes.getValue("dwelling.housing_type").code,
        ),
        movedIn = value("moved_in"),
        expectedStayUntil = null,
        reasonForStay = codes.getValue("reason_for_stay").code,
        occupation = codes.getValue("occupation").code,
        employer = null,
        landlord = null,
        householder = null,
        contactPhone = optional("contact_phone"),
    )

    private fun submit() = launch {
        fields.values.forEach { it.showError(null) }
        codes.values.forEach { it.showError(null) }
        val receipt = try {
            core.registrations.register(input())
        } catch (e: LgtException.Invalid) {
            showIssues(e)
            return@launch
        }
        host.app.visited += receipt.personId to value("person.name")
        // Sync as soon as a network is there.
        SyncScheduler.schedule(host, 0)
        host.back()
        host.show(PersonScreen(receipt.personId))
    }

    /** Each of the core's issues under its field; one the form has no field for goes to the message line. */
    private fun showIssues(e: LgtException.Invalid) {
        val chinese = host.chinese
        val elsewhere = mutableListOf<String>()
        e.fields.groupBy { it.field }.forEach { (field, issues) ->
            val message = issues.joinToString("；") { if (chinese) it.messageZh else it.messageEn }
            when {
                field in fields -> fields.getValue(field).showError(message)
                field in codes -> codes.getValue(field).showError(message)
                else -> elsewhere += message
            }
        }
        host.showMessage(string(R.string.register_fix) + elsewhere.joinToString("") { "\n$it" })
    }

    /** A document's number (with the sex and birth date it encodes), or a door plate's address. */
    private fun onScanned(result: ScanResult) {
        when (val payload = result.payload) {
            is ScanPayload.IdNumber -> {
                codes.getValue("document.type").code = "1"
                fields.getValue("document.number").value = payload.info.number
                fields.getValue("person.birth_date").value = payload.info.birthDate
                codes.getValue("person.sex").code = if (payload.info.sex == IdSex.MALE) "1" else "2"
            }
            is ScanPayload.InvalidIdNumber -> fields.getValue("document.number").apply {
                value = result.text.trim()
                showError(if (host.chinese) payload.issue.messageZh else payload.issue.messageEn)
            }
            is ScanPayload.DoorPlate -> {
                fields.getValue("dwelling.house_code").value = payload.houseCode
                payload.address?.let { fields.getValue("dwelling.address").value = it }
            }
            else -> host.showMessage(string(R.string.scan_unknown))
        }
    }
}
