package cn.lgt.field.android

// Android only: not part of the Maven build and never compiled on the project's machines (the
// Android SDK is not reachable there). Copy into the app module; see bindings/kotlin/android/README.md.

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
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
 */
class KeystoreKeyProvider(
    private val wrappedKeyFile: File,
    private val alias: String = "lgt-field-data-key-wrapper",
) : KeyProvider {

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
        keyStore().getKey(alias, null) as SecretKey?
            ?: KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE).apply {
                init(
                    KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                        .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                        .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                        .setKeySize(256)
                        .build(),
                )
            }.generateKey()

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
