package cn.lgt.app.screens

import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.row
import cn.lgt.app.ui.text
import cn.lgt.core.ScanPayload
import cn.lgt.core.ScanResult
import cn.lgt.core.types.PermitVerdict

/** A permit QR someone showed: the core's offline verdict (signature, issuer, dates, local state). */
class PermitCheckScreen(private val result: ScanResult) : Screen() {
    override val title = R.string.permit_check_title

    override fun build(root: LinearLayout) {
        val verification = result.permit
        root.text(verification?.let { verdictLabel(it.verdict) } ?: string(R.string.verdict_none), TextKind.HEADING, "check-verdict")
        (result.payload as? ScanPayload.Permit)?.claim?.let { claim ->
            root.text(claim.permitNumber)
            root.text(string(R.string.permit_valid_between, claim.validFrom, claim.validUntil), TextKind.HINT)
        }
        verification?.localState?.let { root.text(string(R.string.permit_local_state, permitStateLabel(it)), TextKind.HINT) }
        verification?.permitId?.let { id -> root.row(string(R.string.permit_open), "check-open") { host.show(PermitScreen(id)) } }
    }
}

fun Screen.verdictLabel(verdict: PermitVerdict): String = string(
    when (verdict) {
        PermitVerdict.VALID -> R.string.verdict_valid
        PermitVerdict.FORGED -> R.string.verdict_forged
        PermitVerdict.UNKNOWN_ISSUER -> R.string.verdict_unknown_issuer
        PermitVerdict.EXPIRED -> R.string.verdict_expired
        PermitVerdict.NOT_YET_VALID -> R.string.verdict_not_yet_valid
        PermitVerdict.CANCELLED -> R.string.verdict_cancelled
        PermitVerdict.SUSPENDED -> R.string.verdict_suspended
    },
)
