package cn.lgt.app.sync

import android.app.job.JobInfo
import android.app.job.JobScheduler
import android.content.ComponentName
import android.content.Context
import cn.lgt.app.service

/**
 * Background sync through the OS's JobScheduler: one job, run when a network is there, no
 * earlier than the core's retry timer says, with exponential backoff when it fails. The
 * timer's hint comes from the foreground watch ([cn.lgt.app.MainActivity]) and from the
 * server's Retry-After ([SyncJobService]); the OS may run it later (Doze, app standby), never
 * sooner.
 */
object SyncScheduler {
    const val JOB_ID = 1301

    /** First backoff after a failed run; JobScheduler doubles it up to its own cap (5 h). */
    const val BACKOFF_MS = 30_000L

    fun schedule(context: Context, delayMs: Long) {
        val job = JobInfo.Builder(JOB_ID, ComponentName(context, SyncJobService::class.java))
            .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
            .setMinimumLatency(delayMs.coerceAtLeast(0))
            .setBackoffCriteria(BACKOFF_MS, JobInfo.BACKOFF_POLICY_EXPONENTIAL)
            .setPersisted(false)
            .build()
        // Scheduling the same id again replaces the pending job: the latest hint wins.
        context.service<JobScheduler>().schedule(job)
    }

    fun cancel(context: Context) {
        context.service<JobScheduler>().cancel(JOB_ID)
    }
}
