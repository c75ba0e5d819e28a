package cn.lgt.app.ui

import android.content.Context
import android.graphics.Color
import android.graphics.Typeface
import android.text.InputType
import android.view.View
import android.view.ViewGroup
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.Spinner
import android.widget.TextView
import cn.lgt.common.CodeEntry
import cn.lgt.common.CodeTableId
import cn.lgt.core.codeTable

// The app's small view layer: framework Views built in code (no AppCompat, no Compose, no
// layout inflation), each view a test looks for tagged with what it shows.

/** Whether the UI speaks Chinese (values-zh-rCN); English otherwise. */
val Context.chinese: Boolean get() = resources.configuration.locales[0].language == "zh"

fun Context.dp(value: Int): Int = (value * resources.displayMetrics.density).toInt()

/** A vertical column with the screen's padding. */
fun Context.column(padding: Int = 16): LinearLayout = LinearLayout(this).apply {
    orientation = LinearLayout.VERTICAL
    setPadding(dp(padding), dp(padding / 2), dp(padding), dp(padding / 2))
}

enum class TextKind { HEADING, BODY, HINT }

fun ViewGroup.text(value: CharSequence, kind: TextKind = TextKind.BODY, tag: String? = null): TextView =
    TextView(context).apply {
        text = value
        this.tag = tag
        when (kind) {
            TextKind.HEADING -> { textSize = 16f; setTypeface(typeface, Typeface.BOLD); setPadding(0, context.dp(12), 0, context.dp(4)) }
            TextKind.BODY -> { textSize = 15f; setTextColor(Color.rgb(0x21, 0x21, 0x21)) }
            TextKind.HINT -> { textSize = 13f; setTextColor(Color.DKGRAY) }
        }
        addView(this)
    }

fun ViewGroup.text(res: Int, kind: TextKind = TextKind.BODY, tag: String? = null): TextView =
    text(context.getString(res), kind, tag)

fun ViewGroup.button(label: CharSequence, tag: String? = null, onClick: () -> Unit): Button =
    Button(context).apply {
        text = label
        this.tag = tag
        isAllCaps = false
        setOnClickListener { onClick() }
        addView(this)
    }

fun ViewGroup.button(res: Int, tag: String? = null, onClick: () -> Unit): Button =
    button(context.getString(res), tag, onClick)

/** A row of a list: a line of text that opens something when tapped. */
fun ViewGroup.row(value: CharSequence, tag: String? = null, onClick: (() -> Unit)? = null): TextView =
    text(value, TextKind.BODY, tag).apply {
        setPadding(0, context.dp(10), 0, context.dp(10))
        if (onClick != null) {
            setTextColor(Color.rgb(0x1a, 0x4f, 0x8b))
            setOnClickListener { onClick() }
        }
    }

/**
 * A labelled input with the line under it where the core's message for that field appears.
 * [key] is the core's field name (`person.name`, `document.number`, ...): the view is tagged
 * `field:<key>` and its error line `error:<key>`.
 */
class FormField(parent: ViewGroup, val key: String, label: String, inputType: Int = InputType.TYPE_CLASS_TEXT) {
    val input: EditText
    private val error: ErrorLine

    init {
        parent.text(label, TextKind.HINT)
        input = EditText(parent.context).apply {
            this.inputType = inputType
            tag = "field:$key"
            parent.addView(this)
        }
        error = ErrorLine(parent, key)
    }

    var value: String
        get() = input.text.toString()
        set(v) = input.setText(v)

    fun showError(message: String?) = error.show(message)
}

/** The line under a field where the core's message for it appears (tagged `error:<key>`), hidden while empty. */
class ErrorLine(parent: ViewGroup, key: String) {
    private val line = parent.text("", TextKind.HINT, "error:$key").apply {
        setTextColor(Color.rgb(0xb0, 0x00, 0x20))
        visibility = View.GONE
    }

    fun show(message: String?) {
        line.text = message.orEmpty()
        line.visibility = if (message == null) View.GONE else View.VISIBLE
    }
}

/** A choice from one of the core's code tables, shown in the UI's language; its value is the code. */
class CodeField(parent: ViewGroup, val key: String, label: String, table: CodeTableId) {
    private val entries: List<CodeEntry> = codeTable(table).entries
    val spinner: Spinner
    private val error: ErrorLine

    init {
        parent.text(label, TextKind.HINT)
        val chinese = parent.context.chinese
        spinner = Spinner(parent.context, Spinner.MODE_DROPDOWN).apply {
            adapter = ArrayAdapter(parent.context, android.R.layout.simple_spinner_dropdown_item, entries.map { if (chinese) it.zh else it.en })
            tag = "field:$key"
            parent.addView(this)
        }
        error = ErrorLine(parent, key)
    }

    var code: String
        get() = entries[spinner.selectedItemPosition].code
        set(v) {
            val index = entries.indexOfFirst { it.code == v }
            if (index >= 0) spinner.setSelection(index)
        }

    fun showError(message: String?) = error.show(message)
}

/** The label of [code] in [table], in the UI's language (the code itself if unknown). */
fun Context.codeLabel(table: CodeTableId, code: String): String =
    codeTable(table).entries.firstOrNull { it.code == code }?.let { if (chinese) it.zh else it.en } ?: code
