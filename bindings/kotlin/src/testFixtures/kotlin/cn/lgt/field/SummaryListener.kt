package cn.lgt.field

import org.junit.platform.engine.TestExecutionResult
import org.junit.platform.launcher.TestExecutionListener
import org.junit.platform.launcher.TestIdentifier
import org.junit.platform.launcher.TestPlan

/**
 * Prints "N passed, N failed" on a line of its own when the run ends, for CI to read, with
 * ", N skipped" after it when an assumption aborted tests (the barcode corpus missing on a
 * fresh clone): a skipped test is neither passed nor failed.
 */
class SummaryListener : TestExecutionListener {
    private var passed = 0
    private var failed = 0
    private var skipped = 0

    override fun executionFinished(id: TestIdentifier, result: TestExecutionResult) {
        if (!id.isTest) return
        when (result.status) {
            TestExecutionResult.Status.SUCCESSFUL -> passed++
            TestExecutionResult.Status.ABORTED -> skipped++
            else -> failed++
        }
    }

    override fun testPlanExecutionFinished(plan: TestPlan) {
        println("$passed passed, $failed failed" + if (skipped > 0) ", $skipped skipped" else "")
    }
}
