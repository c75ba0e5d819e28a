package cn.lgt.app

import android.app.job.JobInfo
import android.app.job.JobScheduler
import android.view.WindowManager
import cn.lgt.app.screens.SyncScreen
import cn.lgt.app.screens.TodayScreen
import cn.lgt.app.sync.BackgroundSync
import cn.lgt.app.sync.SyncScheduler
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test

class EnrollAndSyncTest : AppTest() {
    @Test
    fun `a new phone enrolls by scanning the supervisor's QR against the real server`() {
        server().let { server ->
            val driver = enroll(server)
            val enrollment = runBlocking { driver.app.core!!.sync.status().enrollment }
            assertNotNull(enrollment)
            assertEquals("tester-1", enrollment!!.coordinator)
            assertEquals(server.url, enrollment.serverUrl)
            // The store was reopened under the coordinator's account id.
            assertEquals("tester-1", driver.app.actor)
            driver.awaitText("today-queue", "待同步：0 项")
            driver.screenshot("01-today")

            // The app closed and opened again: the store opens (the Keystore's key) and the day shows.
            driver.controller.pause().stop().destroy()
            runBlocking { driver.app.lockStore() }
            val again = launch()
            again.awaitScreen<TodayScreen>()
            assertNotNull(again.app.core)
        }
    }

    @Test
    fun `sync status shows the queue, sync now sends it, and the OS job follows the core's timer`() {
        val server = server()
        val driver = enroll(server)
        // The foreground watch ran its first attempt; its next time became the job's earliest start.
        val jobs = driver.activity.service<JobScheduler>()
        driver.until("the sync job") { jobs.allPendingJobs.any { it.id == SyncScheduler.JOB_ID && it.minLatencyMillis == BackgroundSync.REGULAR_MS } }
        val job = jobs.allPendingJobs.single { it.id == SyncScheduler.JOB_ID }
        assertEquals(JobInfo.NETWORK_TYPE_ANY, job.networkType)
        assertEquals(JobInfo.BACKOFF_POLICY_EXPONENTIAL, job.backoffPolicy)
        assertEquals(SyncScheduler.BACKOFF_MS, job.initialBackoffMillis)

        driver.tap("today-register")
        driver.fillRegistration("测试乙", goodNumber)
        driver.tap("register-submit")
        driver.awaitView("person-name")
        driver.activity.onBackPressed()
        driver.awaitScreen<TodayScreen>()
        driver.awaitText("today-queue", "待同步：1 项")
        driver.tap("today-sync")
        driver.awaitScreen<SyncScreen>()
        // The sync screen shows no personal data: it may be captured.
        assertEquals(0, driver.activity.window.attributes.flags and WindowManager.LayoutParams.FLAG_SECURE)
        driver.awaitText("sync-queue", "待同步：1 项")
        assertNotEquals("上次同步：从未", driver.text("sync-last"))
        driver.tap("sync-now")
        driver.awaitText("sync-queue", "待同步：0 项")
        driver.awaitView("sync-stuck-none")
        assertTrue(driver.text("message").startsWith("同步完成：上传 1 项"))
        driver.screenshot("08-sync")

        // In the background: one run syncs; with the server gone, it asks JobScheduler's backoff.
        val background = BackgroundSync(driver.app)
        assertFalse(runBlocking { background.run() })
        assertTrue(background.outcome is BackgroundSync.Outcome.Synced)
        server.close()
        assertTrue(runBlocking { background.run() })
        assertEquals(BackgroundSync.Outcome.Retry("sync.transient", null), background.outcome)
    }
}
