package cn.lgt.app

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Canvas
import android.graphics.Typeface
import android.os.Looper
import android.view.View
import android.view.ViewGroup
import android.widget.EditText
import android.widget.ScrollView
import android.widget.Spinner
import android.widget.TextView
import cn.lgt.app.camera.LumaPlane
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.dp
import cn.lgt.common.CodeTableId
import cn.lgt.core.codeTable
import cn.lgt.field.MemoryKeys
import cn.lgt.field.SyncServer
import java.io.File
import java.nio.ByteBuffer
import java.time.Duration
import java.time.Instant
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.robolectric.Robolectric
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ActivityController

/** The app with its key in memory: the Android Keystore does not exist on the JVM. */
class TestApp : FieldApp() {
    val keys = MemoryKeys()

    override fun keyProvider() = keys
}

/**
 * Drives the real app as a person would: taps tagged views, types into fields, waits for the
 * core's answers (which run off the main thread) by letting the main looper run.
 */
class AppDriver(val controller: ActivityController<MainActivity>) {
    val activity: MainActivity get() = controller.get()
    val app: TestApp get() = activity.application as TestApp

    /** Lets the main thread run what is posted to it, until [done] holds (core calls take real time). */
    fun until(what: String, timeoutMs: Long = 120_000, done: () -> Boolean) {
        val deadline = System.nanoTime() + timeoutMs * 1_000_000
        while (System.nanoTime() < deadline) {
            frame()
            if (done()) return
            Thread.sleep(20)
        }
        fail("timed out waiting for $what; message line: ${textOrNull("message")}")
    }

    inline fun <reified T : Screen> awaitScreen(): T {
        until("screen ${T::class.simpleName}") { activity.screen is T }
        return activity.screen as T
    }

    fun view(tag: String): View? = activity.window.decorView.findViewWithTag(tag)

    fun awaitView(tag: String): View {
        until("view $tag") { view(tag)?.isShown == true }
        return view(tag)!!
    }

    fun textOrNull(tag: String): String? = (view(tag) as TextView?)?.takeIf { it.isShown }?.text?.toString()

    fun text(tag: String): String = (awaitView(tag) as TextView).text.toString()

    fun awaitText(tag: String, expected: String) =
        until("$tag to read \"$expected\"") { textOrNull(tag) == expected }

    fun tap(tag: String) {
        assertTrue("$tag is not enabled", awaitView(tag).performClick())
        frame()
    }

    /** Runs what is due on the main thread, then one display frame (Robolectric's clock moves on 16 ms: layout happens). */
    fun frame() {
        val looper = shadowOf(Looper.getMainLooper())
        looper.idle()
        looper.idleFor(Duration.ofMillis(16))
    }

    /** Scrolls the screen so that the view tagged [tag] is near the top. */
    fun scrollTo(tag: String) {
        var view = awaitView(tag)
        var top = 0
        while (view.parent !is ScrollView) {
            top += view.top
            view = view.parent as View
        }
        (view.parent as ScrollView).scrollTo(0, top + view.top - activity.dp(96))
        frame()
    }

    fun type(field: String, value: String) {
        (awaitView("field:$field") as EditText).setText(value)
    }

    /** Picks the entry of a code table whose label is [label] (as shown). */
    fun pick(field: String, label: String) {
        val spinner = awaitView("field:$field") as Spinner
        val index = (0 until spinner.adapter.count).firstOrNull { spinner.adapter.getItem(it) == label }
            ?: fail("no $label in $field").let { 0 }
        spinner.setSelection(index)
    }

    /** Picks [code] of [table] by the label the screen shows for it (Chinese). */
    fun pickCode(field: String, table: CodeTableId, code: String) =
        pick(field, codeTable(table).entries.first { it.code == code }.zh)

    /** Where screenshots go (the pom sets it; `-Dlgt.screens.dir=../docs/screens` refreshes the committed ones). */
    private val screens = System.getProperty("lgt.screens.dir")?.let(::File)

    /**
     * The window as the phone would draw it, saved as `<name>.png`. Robolectric's native
     * graphics ship no CJK font, so the text is set in Noto Sans CJK SC where Debian's
     * fonts-noto-cjk is installed (a test-only step; a phone has its own CJK fonts).
     */
    fun screenshot(name: String) {
        val dir = screens ?: return
        frame()
        val root = activity.window.decorView
        cjkTypeface?.let {
            applyTypeface(root, it)
            // The window lays itself out again with the new font's metrics.
            frame()
        }
        val bitmap = Bitmap.createBitmap(root.width, root.height, Bitmap.Config.ARGB_8888)
        root.draw(Canvas(bitmap))
        dir.mkdirs()
        File(dir, "$name.png").outputStream().use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
    }

    private fun applyTypeface(view: View, typeface: Typeface) {
        if (view is TextView) view.setTypeface(typeface, view.typeface?.style ?: Typeface.NORMAL)
        if (view is ViewGroup) (0 until view.childCount).forEach { applyTypeface(view.getChildAt(it), typeface) }
    }

    private val cjkTypeface: Typeface? by lazy {
        val font = File("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
        if (font.exists()) Typeface.Builder(font).setTtcIndex(2).build() else null
    }

    companion object {
        fun launch(): AppDriver = AppDriver(Robolectric.buildActivity(MainActivity::class.java).setup())
    }
}

/**
 * The enrollment QR the supervisor's console shows, for [server]: the code from
 * `lgt-server enrollment-code`, the server's pin, and the watchlist roots to pin.
 */
fun enrollmentQr(server: SyncServer, roots: List<ByteArray> = emptyList(), coordinator: String = "tester-1"): String {
    fun enc(s: String) = java.net.URLEncoder.encode(s, Charsets.UTF_8)
    return EnrollmentQr.PREFIX + "server=" + enc(server.url) + "&pin=" + enc(server.pin) +
        "&code=" + enc(server.enrollmentCode(coordinator)) +
        roots.joinToString("") { "&root=" + it.joinToString("") { b -> "%02x".format(b) } }
}

/**
 * A camera frame as Camera2's ImageReader hands it over in YUV_420_888: the luma plane in a
 * direct buffer with padded rows ([padding] bytes a row), [picture] (grey values, row-major)
 * drawn at ([left], [top]) on a mid-grey background, and the last row cut at the width, as a
 * camera's plane buffer ends.
 */
fun cameraPlane(picture: ByteArray, pictureWidth: Int, width: Int, height: Int, left: Int, top: Int, padding: Int = 64): LumaPlane {
    val stride = width + padding
    val buffer = ByteBuffer.allocateDirect((height - 1) * stride + width)
    for (y in 0 until height) {
        for (x in 0 until width) {
            val px = x - left
            val py = y - top
            val inside = px in 0 until pictureWidth && py >= 0 && py * pictureWidth + px < picture.size
            buffer.put(y * stride + x, if (inside) picture[py * pictureWidth + px] else 0x80.toByte())
        }
    }
    return LumaPlane(buffer, width, height, stride)
}

/** A PNG's luma (BT.601), decoded by Android's own BitmapFactory (Robolectric's native graphics). */
fun lumaOf(png: File): Triple<ByteArray, Int, Int> {
    val bitmap = checkNotNull(BitmapFactory.decodeFile(png.path)) { "cannot decode ${png.path}" }
    val w = bitmap.width
    val h = bitmap.height
    val argb = IntArray(w * h).also { bitmap.getPixels(it, 0, w, 0, 0, w, h) }
    val luma = ByteArray(w * h) { i ->
        val c = argb[i]
        ((299 * (c shr 16 and 0xff) + 587 * (c shr 8 and 0xff) + 114 * (c and 0xff)) / 1000).toByte()
    }
    return Triple(luma, w, h)
}

/** The watchlist's build time: now, as the real server and the phone's system clock see it. */
fun nowForLists(): String = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString()
