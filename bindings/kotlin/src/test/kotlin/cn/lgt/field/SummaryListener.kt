package cn.lgt.field

import org.junit.platform.engine.TestExecutionResult
import org.junit.platform.launcher.TestExecutionListener
import org.junit.platform.launcher.TestIdentifier
import org.junit.platform.launcher.TestPlan

/** Prints "N passed, N failed" on a line of its own when the run ends, for CI to read. */
class SummaryListener : TestExecutionListener {
    private var passed = 0
    private var failed = 0

    override fun executionFinished(id: TestIdentifier, result: TestExecutionResult) {
        if (!id.isTest) return
        if (result.status == TestExecutionResult.Status.SUCCESSFUL) passed++ else failed++
    }

    override fun testPlanExecutionFinished(plan: TestPlan) {
        println("$passed passed, $failed failed")
    }
}
