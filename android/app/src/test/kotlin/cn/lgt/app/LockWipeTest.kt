package cn.lgt.app

import cn.lgt.app.screens.EnrollScreen
import cn.lgt.app.screens.LockScreen
import cn.lgt.app.screens.LockedScreen
import cn.lgt.app.screens.TodayScreen
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class LockWipeTest : AppTest() {
    @Test
    fun `lock closes the store, unlock opens it, and wipe destroys the key and the files`() {
        val driver = enroll(server())
        driver.tap("today-lock")
        driver.awaitScreen<LockScreen>()
        driver.screenshot("11-lock")
        driver.tap("lock-now")
        driver.awaitScreen<LockedScreen>()
        assertNull(driver.app.core)

        driver.tap("unlock")
        driver.awaitScreen<TodayScreen>()
        assertNotNull(driver.app.core)

        driver.tap("today-lock")
        driver.awaitScreen<LockScreen>()
        assertFalse("asked twice", driver.view("wipe-confirm")!!.isShown)
        driver.tap("wipe")
        driver.tap("wipe-confirm")
        driver.awaitScreen<EnrollScreen>()
        assertEquals("本机数据已清除。", driver.text("message"))
        assertTrue("the key is destroyed", driver.app.keys.destroyed)
        assertFalse("the files are gone", driver.app.storeDir.exists())
        assertNull(driver.app.core)
        assertEquals(FieldApp.UNENROLLED_ACTOR, driver.app.actor)
        driver.screenshot("02-enroll")
    }
}
