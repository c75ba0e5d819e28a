package cn.lgt.app

import android.view.WindowManager
import cn.lgt.app.screens.PersonScreen
import cn.lgt.app.screens.RegisterScreen
import cn.lgt.app.screens.TodayScreen
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class RegisterTest : AppTest() {
    private fun secure(driver: AppDriver) = driver.activity.window.attributes.flags and WindowManager.LayoutParams.FLAG_SECURE != 0

    @Test
    fun `the core's field error is shown in Chinese under its field, and the fix registers`() {
        val driver = enroll(server())
        driver.tap("today-register")
        driver.awaitScreen<RegisterScreen>()
        assertTrue("the form holds personal data", secure(driver))
        driver.fillRegistration("测试丙", badNumber)
        driver.tap("register-submit")
        val error = driver.text("error:document.number")
        assertTrue("a Chinese message: $error", error.any { Character.UnicodeScript.of(it.code) == Character.UnicodeScript.HAN })
        assertFalse("no personal value in it", error.contains(badNumber))
        // Only the field at fault is marked, and what was typed stays.
        assertNull(driver.textOrNull("error:person.name"))
        assertEquals("测试丙", (driver.view("field:person.name") as android.widget.EditText).text.toString())
        driver.scrollTo("field:document.number")
        driver.screenshot("03-register-error")

        driver.type("document.number", goodNumber)
        driver.tap("register-submit")
        driver.awaitScreen<PersonScreen>()
        driver.awaitText("person-name", "测试丙")
        assertTrue(secure(driver))
        assertNotEquals(null, driver.view("person-dwelling"))
        driver.screenshot("04-person")

        driver.tap("person-dwelling")
        driver.awaitText("dwelling-address", "合成市第二区示例路3号301室")
        driver.awaitView("resident:" + driver.app.visited.single().first)
        driver.screenshot("05-dwelling")

        // The day's list holds the person registered today.
        driver.activity.onBackPressed()
        driver.activity.onBackPressed()
        driver.awaitScreen<TodayScreen>()
        driver.awaitView("visited:" + driver.app.visited.single().first)
    }
}
