package cn.lgt.field

import cn.lgt.common.Dwelling
import cn.lgt.core.Clock
import cn.lgt.core.KeyProvider
import cn.lgt.core.LgtException
import cn.lgt.core.types.DocumentInput
import cn.lgt.core.types.PersonInput
import cn.lgt.core.types.RegistrationInput
import java.io.File
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

/** The synthetic listed person: an exact hit on this number opens entry CASE-1. */
val listedNumber = idNumber(birth = "19820927", sequence = 51)
const val LISTED_NAME = "曾国强"

/**
 * A watchlist publisher in [dir], played by the `lgt` binary (`lgt watchlist keygen|build`): the
 * server side is not in the phone's API. Lists are built at [now] (default: the clock's start)
 * and run 7 days; tests on the system clock (a phone synced with a real server) pass the time.
 */
class ListServer(private val dir: File, private val now: String = "2026-11-29T02:00:00Z") {
    private val lgt = File(System.getProperty("lgt.bin") ?: "../../target/debug/lgt")

    /** The root public key the phone pins. */
    val root: ByteArray

    init {
        check(lgt.canExecute()) { "${lgt.path} is missing: run bindings/generate.sh (it builds lgt)" }
        run("watchlist", "keygen", "--dir", File(dir, "keys").path)
        root = File(dir, "keys/root.pub").readText().trim().chunked(2).map { it.toInt(16).toByte() }.toByteArray()
    }

    /** A signed snapshot (or, with [delta], a delta on the previous build) of CSV [entries]. */
    fun build(version: Int, entries: String, delta: Boolean = false): ByteArray {
        val csv = File(dir, "v$version.csv").apply { writeText(LIST_HEADER + entries) }
        val out = File(dir, "v$version.lgtwl")
        val args = mutableListOf(
            "watchlist", "build", "--csv", csv.path, "--keys", File(dir, "keys").path,
            "--state", File(dir, "state.bin").path, "--out", out.path, "--version", "$version", "--valid-days", "7",
        )
        if (delta) args += "--delta"
        run(*args.toTypedArray())
        return out.readBytes()
    }

    private fun run(vararg args: String) {
        val process = ProcessBuilder(lgt.path, "--json", "--now", now, *args)
            .redirectErrorStream(true)
            .start()
        val output = process.inputStream.bufferedReader().readText()
        check(process.waitFor() == 0) { "lgt ${args.take(2)} failed: $output" }
    }

    companion object {
        private const val LIST_HEADER = "entry_ref,name,sex,birth_date,id_numbers,case_summary,instructions\n"
        val LISTED_ENTRIES =
            "CASE-1,$LISTED_NAME,1,,$listedNumber,synthetic case,do not confront; call the duty officer\n" +
                "CASE-2,单晓东,1,1981-02-02,,synthetic case,\n"
    }
}

/** The real `lgt-server` on a loopback port over HTTPS (its self-signed key, pinned), SQLite in [data]. */
class SyncServer(private val data: File) : AutoCloseable {
    private val bin = File(System.getProperty("lgt.server.bin") ?: "../../target/debug/lgt-server")
    private val log = File(data, "server.log")
    private val process: Process

    /** Its base URL (`https://`). */
    val url: String

    /** The pin of its TLS key, handed out with the enrollment codes. */
    val pin: String

    init {
        check(bin.canExecute()) { "${bin.path} is missing: run bindings/generate.sh (it builds lgt-server)" }
        // The server refuses a data directory others may read (it holds keys and personal data).
        java.nio.file.Files.setPosixFilePermissions(
            data.toPath(),
            java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"),
        )
        process = ProcessBuilder(bin.path, "--data", data.path, "serve", "--listen", "127.0.0.1:0")
            .redirectError(log)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start()
        val listening = awaitListening()
        url = "https://" + field(listening, "addr")
        pin = field(listening, "tls_pin")
    }

    private fun field(line: String, name: String): String =
        checkNotNull(Regex(""""$name":"([^"]+)"""").find(line)) { line }.groupValues[1]

    /** The log line saying where the server listens. */
    private fun awaitListening(): String {
        val deadline = System.nanoTime() + 60_000_000_000
        while (System.nanoTime() < deadline) {
            if (log.exists()) {
                log.readLines().firstOrNull { it.contains(""""message":"listening"""") }?.let { return it }
            }
            check(process.isAlive) { "lgt-server exited: ${log.readText()}" }
            Thread.sleep(50)
        }
        error("lgt-server did not start listening")
    }

    /** A one-time enrollment code for [coordinator] (`lgt-server enrollment-code`). */
    fun enrollmentCode(coordinator: String = "tester-1", district: String = "110105"): String {
        val admin = ProcessBuilder(
            bin.path, "--data", data.path, "enrollment-code", "--coordinator", coordinator, "--district", district,
        ).redirectError(ProcessBuilder.Redirect.DISCARD).start()
        val output = admin.inputStream.bufferedReader().readText()
        check(admin.waitFor() == 0) { "enrollment-code failed" }
        return checkNotNull(Regex(""""code"\s*:\s*"([^"]+)"""").find(output)) { output }.groupValues[1]
    }

    /** Publishes a signed watchlist package to every device (`lgt-server watchlist-publish`). */
    fun publishWatchlist(listPackage: ByteArray) {
        val file = File(data, "published.lgtwl").apply { writeBytes(listPackage) }
        val admin = ProcessBuilder(bin.path, "--data", data.path, "watchlist-publish", file.path)
            .redirectErrorStream(true)
            .start()
        val output = admin.inputStream.bufferedReader().readText()
        check(admin.waitFor() == 0) { "watchlist-publish failed: $output" }
    }

    override fun close() {
        process.destroy()
        process.waitFor()
    }
}
