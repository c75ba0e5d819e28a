package cn.lgt.app.screens

import android.view.View
import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.sync.SyncScheduler
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.button
import cn.lgt.app.ui.text

/**
 * Lock: close the store now (nothing personal readable until unlocked through the Keystore).
 * Wipe: the core destroys the key, then the files; asked twice.
 */
class LockScreen : Screen() {
    override val title = R.string.lock_title
    override val personalData = false

    override fun build(root: LinearLayout) {
        root.text(R.string.lock_explain, TextKind.HINT)
        root.button(R.string.lock_now, "lock-now") {
            launch {
                host.stopForeground()
                host.app.lockStore()
                host.replace(LockedScreen())
            }
        }
        root.text(R.string.wipe_explain, TextKind.HINT)
        wipeButtons(root)
    }
}

/** The store is closed: unlock it (the Keystore may ask for the screen lock), or wipe it unopened. */
class LockedScreen : Screen() {
    override val title = R.string.locked_title
    override val personalData = false

    override fun build(root: LinearLayout) {
        root.text(R.string.locked_explain, TextKind.HINT)
        root.button(R.string.unlock, "unlock") {
            launch {
                host.app.unlock()
                host.onUnlocked()
            }
        }
        wipeButtons(root)
    }
}

/** "Wipe", then "confirm": asked twice. */
private fun Screen.wipeButtons(root: LinearLayout) {
    lateinit var confirm: View
    root.button(R.string.wipe, "wipe") { confirm.visibility = View.VISIBLE }
    confirm = root.button(R.string.wipe_confirm, "wipe-confirm") { wipe(this) }.apply { visibility = View.GONE }
}

private fun wipe(screen: Screen) = screen.launch {
    val host = screen.host
    host.stopForeground()
    SyncScheduler.cancel(host)
    host.app.wipe()
    host.replace(EnrollScreen())
    host.showMessage(screen.string(R.string.wiped))
}
