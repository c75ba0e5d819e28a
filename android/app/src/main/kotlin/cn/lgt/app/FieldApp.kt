package cn.lgt.app

import android.app.Application
import android.content.Context
import cn.lgt.core.KeyProvider
import cn.lgt.core.StoreConfig
import cn.lgt.core.types.Durability
import cn.lgt.field.FieldCore
import cn.lgt.field.android.KeystoreKeyProvider
import java.io.File
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * The process: owns the one open store (null while locked). The store and its wrapped key live
 * in `noBackupFilesDir`, never in a backup. Screens reach it through [MainActivity.core].
 */
open class FieldApp : Application() {
    private val lock = Mutex()

    /** The open store, or null while locked (never opened, locked by the user, or wiped). */
    @Volatile
    var core: FieldCore? = null
        private set

    /**
     * People registered on this phone since the store was opened (person id, name), for the
     * day's list: kept in memory only, gone when the store is locked.
     */
    val visited = mutableListOf<Pair<String, String>>()

    val storeDir: File get() = File(noBackupFilesDir, "store")

    /** Whether a store exists on this phone (it may be locked). */
    val hasStore: Boolean get() = storeDir.exists()

    /**
     * The store's data key: wrapped by a non-exportable Android Keystore key (StrongBox where
     * the phone has one, usable only while the device is unlocked). Tests override this: the
     * Keystore does not exist on the JVM.
     */
    open fun keyProvider(): KeyProvider = KeystoreKeyProvider(File(noBackupFilesDir, "data-key.wrapped"))

    /** The coordinator's account id once enrolled, recorded in the audit trail (an id, never a name). */
    var actor: String
        get() = prefs().getString(KEY_ACTOR, null) ?: UNENROLLED_ACTOR
        set(value) {
            prefs().edit().putString(KEY_ACTOR, value).apply()
        }

    /** Opens the store, creating it on first use; the open one if it is open already. */
    suspend fun unlock(): FieldCore = lock.withLock {
        core ?: run {
            val config = StoreConfig(storeDir.path, actor, Durability.FULL)
            val opened = if (hasStore) FieldCore.open(config, keyProvider()) else FieldCore.create(config, keyProvider())
            core = opened
            opened
        }
    }

    /** Closes the store: nothing personal is readable until [unlock] (the Keystore may ask the user). */
    suspend fun lockStore() = lock.withLock {
        core?.close()
        core = null
        visited.clear()
    }

    /** Destroys the key, then the files (the core's wipe), then the store's folder, and forgets the actor. */
    suspend fun wipe() = lock.withLock {
        val open = core
        if (open != null) {
            open.wipe()
            open.close()
        } else if (hasStore) {
            cn.lgt.core.wipeStore(storeDir.path, keyProvider())
        }
        core = null
        // The core removed its database files after the key; the folder is the app's.
        storeDir.deleteRecursively()
        visited.clear()
        prefs().edit().clear().apply()
    }

    private fun prefs() = getSharedPreferences("lgt-field", Context.MODE_PRIVATE)

    companion object {
        private const val KEY_ACTOR = "actor"
        const val UNENROLLED_ACTOR = "unenrolled"
    }
}
