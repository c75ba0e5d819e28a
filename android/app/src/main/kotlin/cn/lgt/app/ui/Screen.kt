package cn.lgt.app.ui

import android.widget.LinearLayout
import cn.lgt.app.MainActivity
import cn.lgt.field.FieldCore

/**
 * One screen of the app, shown by [MainActivity] (one Activity, a back stack of screens). A
 * screen builds its views in [build] and loads what it shows in [load]; the activity sets
 * FLAG_SECURE while a screen with [personalData] is shown, so it never reaches a screenshot,
 * the recent-apps thumbnail or a screen cast.
 */
abstract class Screen {
    lateinit var host: MainActivity
        internal set

    /** The views [build] made, kept while the screen is on the stack. */
    internal var view: LinearLayout? = null

    /** The title's string resource. */
    abstract val title: Int

    /** Whether the screen shows personal data (then the window is FLAG_SECURE). */
    open val personalData: Boolean = true

    /** Builds the screen's views into [root]. */
    abstract fun build(root: LinearLayout)

    /** Loads what the screen shows, each time it comes on top (the core calls run off the main thread). */
    open suspend fun load() {}

    /** The screen is leaving (popped, or the activity is destroyed). */
    open fun onLeave() {}

    /** The open store; screens are shown only while it is open. */
    val core: FieldCore get() = checkNotNull(host.app.core) { "store locked" }

    fun string(res: Int, vararg args: Any): String = host.getString(res, *args)

    /** Runs [block] on the main thread; a core error is shown on the screen, never thrown. */
    fun launch(block: suspend () -> Unit) = host.launchSafely(block)
}
