package cn.lgt.field

import cn.lgt.core.Clock
import cn.lgt.core.DocumentInput
import cn.lgt.core.Dwelling
import cn.lgt.core.KeyProvider
import cn.lgt.core.LgtException
import cn.lgt.core.PersonInput
import cn.lgt.core.RegistrationInput
import java.security.SecureRandom
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneOffset

/** A key provider holding its key in memory (the apps use the Android Keystore / iOS Keychain). */
class MemoryKeys(val key: ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }) : KeyProvider {
    var destroyed = false

    override fun dataKey(): ByteArray {
        if (destroyed) throw LgtException.KeyUnavailable("key.destroyed", "key destroyed", "密钥已销毁")
        return key
    }

    override fun destroyKey() {
        destroyed = true
    }
}

/** A clock that stands still until moved. */
class MovableClock(var at: Instant = Instant.parse("2026-11-29T02:00:00Z")) : Clock {
    override fun nowUnixMillis(): Long = at.toEpochMilli()

    fun moveTo(day: LocalDate) {
        at = day.atTime(2, 0).toInstant(ZoneOffset.UTC)
    }
}

private val weights = intArrayOf(7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

/** A valid synthetic GB 11643 number; odd sequences are male. */
fun idNumber(birth: String = "19880512", sequence: Int = 123, region: String = "110105"): String {
    val body = region + birth + "%03d".format(sequence)
    val total = body.mapIndexed { i, c -> (c - '0') * weights[i] }.sum()
    return body + "10X98765432"[total % 11]
}

fun registration(name: String = "测试甲", sequence: Int = 123, number: String = idNumber(sequence = sequence)) =
    RegistrationInput(
        person = PersonInput(name = name, sex = if (sequence % 2 == 1) "1" else "2", ethnicity = "01"),
        document = DocumentInput(docType = "1", number = number),
        householdAddress = "合成省第一县演示村一组",
        dwelling = Dwelling(houseCode = "HC1000101", address = "合成市第一区演示路1号101室", housingType = "3"),
        movedIn = "2026-03-01",
        reasonForStay = "1",
        occupation = "1",
        contactPhone = "19900001234",
    )
