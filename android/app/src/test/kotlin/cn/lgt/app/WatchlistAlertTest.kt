package cn.lgt.app

import android.app.NotificationManager
import android.graphics.drawable.ColorDrawable
import cn.lgt.app.screens.AlertsScreen
import cn.lgt.app.screens.PersonScreen
import cn.lgt.app.screens.SyncScreen
import cn.lgt.app.screens.TodayScreen
import cn.lgt.core.ListState
import cn.lgt.field.LISTED_NAME
import cn.lgt.field.ListServer
import cn.lgt.field.listedNumber
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowDialog
import org.robolectric.shadows.ShadowToast

class WatchlistAlertTest : AppTest() {
    @Test
    fun `a listed person raises a discreet alert, and its report goes without a tap`() {
        val server = server()
        // The list is signed by the publisher (played by lgt), published on the server, and its
        // root travels in the enrollment QR.
        val lists = ListServer(tmp.newFolder(), nowForLists())
        server.publishWatchlist(lists.build(1, ListServer.LISTED_ENTRIES))
        val driver = enroll(server, listOf(lists.root))
        driver.until("the list to arrive by sync") {
            runBlocking { driver.app.core!!.watchlist.status().state == ListState.CURRENT }
        }

        driver.tap("today-register")
        driver.fillRegistration(LISTED_NAME, listedNumber)
        driver.tap("register-submit")
        driver.awaitScreen<PersonScreen>()
        driver.awaitText("person-name", LISTED_NAME)
        // One neutral line: no dialog, no toast, no notification, no colour of alarm.
        val line = driver.awaitView("alert-line") as android.widget.TextView
        assertEquals(driver.activity.getString(R.string.alert_line), line.text.toString())
        assertEquals(0xffeeeee6.toInt(), (line.background as ColorDrawable).color)
        assertNull(ShadowDialog.getLatestDialog())
        assertNull(ShadowToast.getLatestToast())
        val notifications = shadowOf(driver.activity.service<NotificationManager>())
        assertEquals(0, notifications.allNotifications.size)
        driver.screenshot("06-alert-line")

        driver.tap("alert-line")
        driver.awaitScreen<AlertsScreen>()
        driver.awaitText("alert-wording", "可能匹配：请核实")
        assertTrue(driver.text("alert-instructions").contains("do not confront"))
        driver.awaitText("alert-report", driver.activity.getString(R.string.alert_report_queued))
        driver.screenshot("07-alerts")

        // The report is the core's watchlist.hit operation: the next sync sends it.
        driver.activity.show(SyncScreen())
        driver.tap("sync-now")
        driver.awaitText("sync-queue", "待同步：0 项")
        driver.activity.onBackPressed()
        driver.awaitScreen<AlertsScreen>()
        driver.awaitText("alert-report", driver.activity.getString(R.string.alert_reported))
        driver.activity.onBackPressed()
        driver.activity.onBackPressed()
        driver.awaitScreen<TodayScreen>()
    }
}
