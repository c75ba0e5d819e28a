package cn.lgt.app

import android.app.Activity
import android.graphics.Color
import android.os.Bundle
import android.view.View
import android.view.ViewGroup
import android.view.WindowManager
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import cn.lgt.app.screens.AlertsScreen
import cn.lgt.app.screens.EnrollScreen
import cn.lgt.app.screens.LockedScreen
import cn.lgt.app.screens.TodayScreen
import cn.lgt.app.sync.SyncScheduler
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.chinese
import cn.lgt.app.ui.column
import cn.lgt.app.ui.dp
import cn.lgt.app.ui.text
import cn.lgt.core.LgtException
import cn.lgt.core.types.WatchlistAlert
import cn.lgt.field.userMessage
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/**
 * The one Activity: the screen's title, the discreet alert line, the message line and the
 * current [Screen] in a scroll view (framework Views only: no action bar, no AppCompat). Screens form a back stack. While the activity is started and the
 * phone is enrolled, the core's watching sync runs, and each of its attempts hands its next
 * time to [SyncScheduler], so the OS runs the sync at the core's time once the app is gone.
 */
class MainActivity : Activity() {
    val scope = MainScope()
    val app: FieldApp get() = application as FieldApp

    private val stack = ArrayDeque<Screen>()
    private lateinit var title: TextView
    private lateinit var alertLine: TextView
    private lateinit var message: TextView
    private lateinit var content: LinearLayout
    private lateinit var scroll: ScrollView
    private var watching: Job? = null
    private var alerts: Job? = null

    /** The screen on top. */
    val screen: Screen get() = stack.last()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // Until the first screen says otherwise, nothing may be captured.
        window.addFlags(WindowManager.LayoutParams.FLAG_SECURE)
        val root = column(0)
        title = root.text("", TextKind.HEADING, "title").apply {
            textSize = 20f
            setTextColor(Color.rgb(0x21, 0x21, 0x21))
            setBackgroundColor(Color.rgb(0xf2, 0xf2, 0xf2))
            setPadding(dp(16), dp(16), dp(16), dp(12))
        }
        alertLine = root.text("", TextKind.BODY, "alert-line").apply {
            // Discreet: the colours of an ordinary notice, no sound, no vibration, no pop-up.
            setBackgroundColor(Color.rgb(0xee, 0xee, 0xe6))
            setPadding(dp(16), dp(8), dp(16), dp(8))
            visibility = View.GONE
            setOnClickListener { show(AlertsScreen()) }
        }
        message = root.text("", TextKind.HINT, "message").apply {
            setPadding(dp(16), dp(4), dp(16), dp(4))
            visibility = View.GONE
        }
        content = column().apply {
            // The screen itself holds the focus, so that no field takes it (and scrolls) on its own.
            isFocusableInTouchMode = true
            descendantFocusability = ViewGroup.FOCUS_BEFORE_DESCENDANTS
        }
        scroll = ScrollView(this).apply { addView(content) }
        root.addView(scroll, LinearLayout.LayoutParams(-1, 0, 1f))
        setContentView(root)
        start()
    }

    /** The first screen: enrollment on a new phone, else the day once the store opens. */
    private fun start() {
        if (!app.hasStore) {
            replace(EnrollScreen())
            return
        }
        // Locked until the Keystore hands over the key (it may want the user first).
        replace(LockedScreen())
        launchSafely {
            app.unlock()
            onUnlocked()
        }
    }

    /** The store just opened: the day's list, or enrollment if it never completed. */
    suspend fun onUnlocked() {
        val enrolled = app.core?.sync?.status()?.enrollment != null
        replace(if (enrolled) TodayScreen() else EnrollScreen())
        if (enrolled) startForeground()
    }

    override fun onStart() {
        super.onStart()
        if (app.core != null && watching == null && stack.lastOrNull() !is EnrollScreen) startForeground()
    }

    override fun onStop() {
        super.onStop()
        stopForeground()
    }

    override fun onDestroy() {
        stack.forEach { it.onLeave() }
        scope.cancel()
        super.onDestroy()
    }

    @Deprecated("Activity.onBackPressed: the framework's back before API 33's OnBackInvokedCallback")
    override fun onBackPressed() {
        if (stack.size > 1) back() else super.onBackPressed()
    }

    /** Pushes [next] on the back stack. */
    fun show(next: Screen) {
        stack.addLast(next)
        render()
    }

    /** Makes [next] the only screen. */
    fun replace(next: Screen) {
        stack.forEach { it.onLeave() }
        stack.clear()
        stack.addLast(next)
        render()
    }

    /** Pops the top screen. */
    fun back() {
        if (stack.size <= 1) return
        stack.removeLast().onLeave()
        render()
    }

    /** Rebuilds the screen on top (after its data changed). */
    fun render() {
        val top = screen
        top.host = this
        if (top.personalData) {
            window.addFlags(WindowManager.LayoutParams.FLAG_SECURE)
        } else {
            window.clearFlags(WindowManager.LayoutParams.FLAG_SECURE)
        }
        title.text = getString(top.title)
        showMessage(null)
        content.removeAllViews()
        // Built once: a screen shown again (after a scan, after back) keeps what was typed.
        val view = top.view ?: column(0).also { top.build(it); top.view = it }
        content.addView(view)
        content.requestFocus()
        scroll.scrollTo(0, 0)
        launchSafely { top.load() }
    }

    /** A line for the user (a core's message in the UI's language), or none. */
    fun showMessage(text: String?) {
        message.text = text.orEmpty()
        message.visibility = if (text == null) View.GONE else View.VISIBLE
    }

    /** Runs [block] on the main thread; a core error becomes the message line (no personal value is in it). */
    fun launchSafely(block: suspend () -> Unit): Job = scope.launch {
        try {
            block()
        } catch (e: CancellationException) {
            throw e
        } catch (e: LgtException) {
            onCoreError(e)
        }
    }

    private suspend fun onCoreError(e: LgtException) {
        when (e) {
            // A revoked phone (or a signed wipe order) is wiped at once.
            is LgtException.Revoked -> {
                stopForeground()
                app.wipe()
                replace(EnrollScreen())
                showMessage(e.userMessage(chinese))
            }
            is LgtException.KeyUnavailable, is LgtException.WrongKey -> {
                replace(LockedScreen())
                showMessage(e.userMessage(chinese))
            }
            else -> showMessage(e.userMessage(chinese))
        }
    }

    /** The foreground's work while enrolled: live alerts, and the core's watching sync. */
    fun startForeground() {
        val core = app.core ?: return
        stopForeground()
        alerts = scope.launch { core.alerts.collect(::onAlert) }
        watching = launchSafely {
            core.sync.watch().collect { attempt ->
                // The core's retry timer decides when to try next; the OS job takes over from there.
                SyncScheduler.schedule(this, attempt.nextInMs.toLong())
            }
        }
    }

    fun stopForeground() {
        alerts?.cancel()
        watching?.cancel()
        alerts = null
        watching = null
    }

    /**
     * A possible watchlist match: one neutral line on top, nothing that alarms the person in
     * front of the coordinator; the report to the server is already queued by the core.
     */
    private fun onAlert(alert: WatchlistAlert) {
        alertLine.text = getString(R.string.alert_line)
        alertLine.visibility = View.VISIBLE
    }

    /** The alert line once the coordinator has read the alerts. */
    fun clearAlertLine() {
        alertLine.visibility = View.GONE
    }
}
