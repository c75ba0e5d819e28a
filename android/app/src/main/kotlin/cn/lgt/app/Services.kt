package cn.lgt.app

import android.content.Context

/** A system service every phone has (JobScheduler, CameraManager). */
inline fun <reified T : Any> Context.service(): T = checkNotNull(getSystemService(T::class.java)) { "no ${T::class.java.simpleName}" }
