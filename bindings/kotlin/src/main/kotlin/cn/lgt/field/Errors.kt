package cn.lgt.field

import cn.lgt.core.LgtException

/** The stable code of any [LgtException], e.g. `store.wrong_key` or `permit.stale_version`. */
val LgtException.code: String
    get() = when (this) {
        is LgtException.Invalid -> code
        is LgtException.Refused -> code
        is LgtException.NotFound -> code
        is LgtException.WrongKey -> code
        is LgtException.KeyUnavailable -> code
        is LgtException.Store -> code
        is LgtException.Offline -> code
        is LgtException.AuthRequired -> code
        is LgtException.Revoked -> code
        is LgtException.Locked -> code
        is LgtException.Closed -> code
        is LgtException.Internal -> code
    }

/** The message for the user, in Chinese or English. Never holds a personal value. */
fun LgtException.userMessage(chinese: Boolean): String = when (this) {
    is LgtException.Invalid -> if (chinese) messageZh else messageEn
    is LgtException.Refused -> if (chinese) messageZh else messageEn
    is LgtException.NotFound -> if (chinese) messageZh else messageEn
    is LgtException.WrongKey -> if (chinese) messageZh else messageEn
    is LgtException.KeyUnavailable -> if (chinese) messageZh else messageEn
    is LgtException.Store -> if (chinese) messageZh else messageEn
    is LgtException.Offline -> if (chinese) messageZh else messageEn
    is LgtException.AuthRequired -> if (chinese) messageZh else messageEn
    is LgtException.Revoked -> if (chinese) messageZh else messageEn
    is LgtException.Locked -> if (chinese) messageZh else messageEn
    is LgtException.Closed -> if (chinese) messageZh else messageEn
    is LgtException.Internal -> if (chinese) messageZh else messageEn
}
