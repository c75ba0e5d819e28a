package cn.lgt.app

import java.net.URLDecoder

/**
 * What the supervisor's enrollment QR carries: the server, the pin of its TLS key (one or
 * more `sha256/...`), the one-time code, and the watchlist root keys to pin (hex, optional):
 *
 * `lgt-enroll:?server=https%3A%2F%2F10.1.2.3%3A8443&pin=sha256%2F...&code=K7M2-...&root=ab12...`
 *
 * The QR is the trusted channel: whoever shows it vouches for the server and the list's roots.
 */
data class EnrollmentQr(val server: String, val pins: List<String>, val code: String, val watchlistRoots: List<ByteArray>) {
    companion object {
        const val PREFIX = "lgt-enroll:?"

        /** Null for any text that is not an enrollment QR. */
        fun parse(text: String): EnrollmentQr? {
            if (!text.startsWith(PREFIX)) return null
            val pairs = text.removePrefix(PREFIX).split('&').mapNotNull { pair ->
                val (key, value) = pair.split('=', limit = 2).takeIf { it.size == 2 } ?: return@mapNotNull null
                key to URLDecoder.decode(value, Charsets.UTF_8)
            }
            fun all(key: String) = pairs.filter { it.first == key }.map { it.second }
            val server = all("server").singleOrNull() ?: return null
            val code = all("code").singleOrNull() ?: return null
            val roots = all("root").map { hex -> hexBytes(hex) ?: return null }
            return EnrollmentQr(server, all("pin"), code, roots)
        }

        private fun hexBytes(hex: String): ByteArray? =
            if (hex.length % 2 != 0 || hex.any { Character.digit(it, 16) < 0 }) null
            else ByteArray(hex.length / 2) { ((Character.digit(hex[2 * it], 16) shl 4) + Character.digit(hex[2 * it + 1], 16)).toByte() }
    }
}
