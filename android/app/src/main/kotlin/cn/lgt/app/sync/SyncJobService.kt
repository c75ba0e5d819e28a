package cn.lgt.app.sync

import android.app.job.JobParameters
import android.app.job.JobService
import cn.lgt.app.FieldApp
import cn.lgt.core.LgtException
import cn.lgt.core.types.SyncReport
import cn.lgt.field.code
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/** The background sync: one `syncNow` of the open store, then the next run or a backoff. */
class SyncJobService : JobService() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Main)
    private var running: Job? = null

    override fun onStartJob(params: JobParameters): Boolean {
        running = scope.launch {
            val reschedule = BackgroundSync(application as FieldApp).run()
            jobFinished(params, reschedule)
        }
        return true
    }

    /** The OS took the network or the time away: the core's sync stops at its next wait, nothing is lost. */
    override fun onStopJob(params: JobParameters): Boolean {
        running?.cancel()
        return true
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}

/**
 * What one background run does, apart from the service so that it can be driven directly.
 * A locked store (the user locked it, or the Keystore wants the user) is not opened here: the
 * job waits for the app. Returns whether JobScheduler should retry with its backoff.
 */
class BackgroundSync(private val app: FieldApp) {
    /** What the last run did, for the sync screen and the tests (codes and counts only). */
    sealed interface Outcome {
        data class Synced(val report: SyncReport) : Outcome
        data class Retry(val code: String, val afterMs: Long?) : Outcome
        data class Stopped(val code: String) : Outcome
        data object Locked : Outcome
    }

    var outcome: Outcome? = null
        private set

    suspend fun run(): Boolean {
        val core = app.core ?: return done(Outcome.Locked, reschedule = false)
        return try {
            val report = core.sync.syncNow()
            // Next regular run at the watch's interval; the foreground watch may move it.
            SyncScheduler.schedule(app, REGULAR_MS)
            done(Outcome.Synced(report), reschedule = false)
        } catch (e: LgtException.Offline) {
            val after = e.retryAfterMs?.toLong()
            if (after != null) {
                // The server said when: that time, not JobScheduler's backoff.
                SyncScheduler.schedule(app, after)
                done(Outcome.Retry(e.code, after), reschedule = false)
            } else {
                done(Outcome.Retry(e.code, null), reschedule = true)
            }
        } catch (e: LgtException.Revoked) {
            app.wipe()
            done(Outcome.Stopped(e.code), reschedule = false)
        } catch (e: LgtException) {
            // AuthRequired, Locked, ...: the user has to act; the app shows it on the sync screen.
            done(Outcome.Stopped(e.code), reschedule = false)
        }
    }

    private fun done(result: Outcome, reschedule: Boolean): Boolean {
        outcome = result
        return reschedule
    }

    companion object {
        /** The core's default watch interval (WatchOptions.intervalMs). */
        const val REGULAR_MS = 300_000L
    }
}
