package cn.lgt.field.android

// Android only: compiled with the Android app (android/pom.xml), never run (no Keystore on the
// JVM); see bindings/kotlin/android/README.md.

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import cn.lgt.core.KeyProvider
import cn.lgt.core.LgtException
import java.io.File
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The store's 32-byte data key, kept in [wrappedKeyFile] encrypted (AES-256-GCM) under a
 * non-exportable Android Keystore key: the wrapping key never leaves the Keystore, and the
 * data key never reaches disk in clear. A missing file creates a new data key, so a lost key
 * shows up as `LgtException.WrongKey` when an existing store is opened.
 *
 * The wrapping key is made (once, on first use):
 * - **for an unlocked device only** (`setUnlockedDeviceRequired`, API 28+): a phone taken
 *   while locked cannot unwrap the data key, even by an app process still running;
 * - **in StrongBox** where the phone has one (API 28+; `StrongBoxUnavailableException` falls
 *   back to the TEE), never in software-only storage by choice;
 * - **behind user authentication** when the app passes [userAuthenticationSeconds]: the key
 *   works for that many seconds after the user unlocked with the device credential or a
 *   strong biometric (API 30+: `setUserAuthenticationParameters`; before: the validity
 *   duration). Opening the store then fails with `keystore.auth_required` until the app has
 *   shown the system prompt (`BiometricPrompt` or `KeyguardManager`), and with
 *   `keystore.invalidated` once the Keystore has invalidated the key (the screen lock was
 *   removed): the data is then gone, and the app wipes the store and syncs it again.
 *
 * These properties are fixed when the key is made: changing [userAuthenticationSeconds] later
 * needs a new key (a new store).
 */
class KeystoreKeyProvider(
    private val wrappedKeyFile: File,
    private val alias: String = "lgt-field-data-key-wrapper",
    /** Seconds the key stays usable after the user authenticates; `null`: no authentication. */
    private val userAuthenticationSeconds: Int? = null,
) : KeyProvider {

    init {
        require(userAuthenticationSeconds == null || userAuthenticationSeconds > 0) {
            "userAuthenticationSeconds must be positive"
        }
    }

    override fun dataKey(): ByteArray = guarded {
        if (wrappedKeyFile.exists()) unwrap(wrappedKeyFile.readBytes()) else createDataKey()
    }

    /** Deleting the Keystore key first makes a wrapped copy left on flash unreadable. */
    override fun destroyKey() = guarded {
        keyStore().deleteEntry(alias)
        if (wrappedKeyFile.exists() && !wrappedKeyFile.delete()) throw IOException("delete failed")
    }

    private fun keyStore(): KeyStore = KeyStore.getInstance(KEYSTORE).apply { load(null) }

    private fun wrappingKey(): SecretKey =
        keyStore().getKey(alias, null) as SecretKey? ?: generateWrappingKey()

    private fun generateWrappingKey(): SecretKey {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
            try {
                return generate(strongBox = true)
            } catch (e: StrongBoxUnavailableException) {
                // No StrongBox on this phone: the TEE-backed Keystore below.
            }
        }
        return generate(strongBox = false)
    }

    private fun generate(strongBox: Boolean): SecretKey {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .setRandomizedEncryptionRequired(true)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
            spec.setUnlockedDeviceRequired(true)
            spec.setIsStrongBoxBacked(strongBox)
        }
        userAuthenticationSeconds?.let { seconds ->
            spec.setUserAuthenticationRequired(true)
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                spec.setUserAuthenticationParameters(
                    seconds,
                    KeyProperties.AUTH_DEVICE_CREDENTIAL or KeyProperties.AUTH_BIOMETRIC_STRONG,
                )
            } else {
                @Suppress("DEPRECATION")
                spec.setUserAuthenticationValidityDurationSeconds(seconds)
            }
        }
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE)
            .apply { init(spec.build()) }
            .generateKey()
    }

    private fun createDataKey(): ByteArray {
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance(TRANSFORMATION).apply { init(Cipher.ENCRYPT_MODE, wrappingKey()) }
        val wrapped = cipher.iv + cipher.doFinal(key)
        // Write beside, then rename: a crash never leaves a half-written key file.
        val partial = File(wrappedKeyFile.path + ".partial")
        partial.writeBytes(wrapped)
        if (!partial.renameTo(wrappedKeyFile)) throw IOException("rename failed")
        return key
    }

    private fun unwrap(wrapped: ByteArray): ByteArray {
        if (wrapped.size <= IV_BYTES) throw GeneralSecurityException("wrapped key too short")
        val cipher = Cipher.getInstance(TRANSFORMATION).apply {
            init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, wrapped, 0, IV_BYTES))
        }
        return cipher.doFinal(wrapped, IV_BYTES, wrapped.size - IV_BYTES)
    }

    private inline fun <T> guarded(block: () -> T): T = try {
        block()
    } catch (e: UserNotAuthenticatedException) {
        // Also what a key for an unlocked device only answers while the device is locked.
        throw unavailable("keystore.auth_required")
    } catch (e: KeyPermanentlyInvalidatedException) {
        throw unavailable("keystore.invalidated")
    } catch (e: GeneralSecurityException) {
        throw unavailable("keystore.failed")
    } catch (e: IOException) {
        throw unavailable("keystore.io")
    }

    private fun unavailable(code: String) =
        LgtException.KeyUnavailable(code, "the Android Keystore did not supply the data key", "Android 密钥库未能提供数据密钥")

    private companion object {
        const val KEYSTORE = "AndroidKeyStore"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
    }
}
