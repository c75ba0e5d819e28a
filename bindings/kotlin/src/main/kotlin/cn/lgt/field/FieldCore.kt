package cn.lgt.field

import cn.lgt.common.Permit
import cn.lgt.common.PermitEvent
import cn.lgt.core.AlertListener
import cn.lgt.core.Audit
import cn.lgt.core.CheckOutcome
import cn.lgt.core.Clock
import cn.lgt.core.FieldCore as NativeFieldCore
import cn.lgt.core.IdNumberInfo
import cn.lgt.core.KeyProvider
import cn.lgt.core.LgtException
import cn.lgt.core.ListStatus
import cn.lgt.core.Outbox
import cn.lgt.core.Permits
import cn.lgt.core.Registrations
import cn.lgt.core.Scan
import cn.lgt.core.ScanOptions
import cn.lgt.core.ScanResult
import cn.lgt.core.StoreConfig
import cn.lgt.core.SyncAttempt
import cn.lgt.core.SyncEngine
import cn.lgt.core.SyncObserver
import cn.lgt.core.WatchOptions
import cn.lgt.core.Watchlist
import cn.lgt.core.WatchlistSubject
import cn.lgt.core.types.AuditRecord
import cn.lgt.core.types.AuditReport
import cn.lgt.core.types.BarcodeFormat
import cn.lgt.core.types.DocumentInput
import cn.lgt.core.types.DwellingRecord
import cn.lgt.core.types.Enrollment
import cn.lgt.core.types.Identifier
import cn.lgt.core.types.ListInfo
import cn.lgt.core.types.Operation
import cn.lgt.core.types.OperationState
import cn.lgt.core.types.PermitRecord
import cn.lgt.core.types.PersonExport
import cn.lgt.core.types.PersonRecord
import cn.lgt.core.types.RecheckReport
import cn.lgt.core.types.RegistrationInput
import cn.lgt.core.types.RegistrationReceipt
import cn.lgt.core.types.SyncReport
import cn.lgt.core.types.SyncStatus
import cn.lgt.core.types.WatchlistAlert
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.withContext

/**
 * The field core for Kotlin callers: every call is a suspend function that runs the blocking
 * core call (SQLite with an fsync per commit) on [dispatcher], never on the caller's thread.
 * Failures are thrown as [LgtException] subclasses, as the generated code throws them.
 *
 * ```
 * FieldCore.open(StoreConfig(dir, actor, Durability.FULL), keys).use { store ->
 *     val receipt = store.registrations.register(input)
 *     store.permits.accept(receipt.personId)
 * }
 * ```
 */
class FieldCore private constructor(
    private val core: NativeFieldCore,
    private val dispatcher: CoroutineDispatcher,
) : AutoCloseable {

    private val registrationsHandle = core.registrations()
    private val permitsHandle = core.permits()
    private val auditHandle = core.audit()
    private val outboxHandle = core.outbox()
    private val watchlistHandle = core.watchlist()
    private val syncHandle = core.sync()
    private val alertFlow = MutableSharedFlow<WatchlistAlert>(
        extraBufferCapacity = ALERT_BUFFER,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )

    init {
        // The core holds one listener per store: this layer owns it and fans out through a Flow.
        watchlistHandle.setAlertListener(object : AlertListener {
            override fun onAlert(alert: WatchlistAlert) {
                alertFlow.tryEmit(alert)
            }
        })
    }

    /** Registrations and identity-number checks. */
    val registrations = FieldRegistrations(registrationsHandle, dispatcher)

    /** Residence permits. */
    val permits = FieldPermits(permitsHandle, dispatcher)

    /** The audit trail. */
    val audit = FieldAudit(auditHandle, dispatcher)

    /** Operations awaiting sync. */
    val outbox = FieldOutbox(outboxHandle, dispatcher)

    /** The offline wanted-persons list. */
    val watchlist = FieldWatchlist(watchlistHandle, dispatcher)

    /** Sync with the server. */
    val sync = FieldSync(syncHandle, dispatcher)

    /**
     * Watchlist alerts as they are raised by any call (register, find, check, re-check), once
     * committed. Live only: alerts raised while nobody collects are not replayed (they are in
     * the call's result and in [FieldWatchlist.alerts]); a collector more than 64 behind loses
     * the oldest.
     */
    val alerts: SharedFlow<WatchlistAlert> = alertFlow.asSharedFlow()

    /**
     * A scanner for one camera session (it keeps its decoders between frames). Close it when
     * the session ends.
     */
    fun scanner(): FieldScanner = FieldScanner(core.scan(), dispatcher)

    /** The store's random id. */
    suspend fun storeId(): String = withContext(dispatcher) { core.storeId() }

    /** SQLite's integrity check: "ok" or its complaints. */
    suspend fun integrityCheck(): String = withContext(dispatcher) { core.integrityCheck() }

    /** Destroys the key through the [KeyProvider], then the files. The store is closed after. */
    suspend fun wipe() = withContext(dispatcher) { core.wipe() }

    /** Closes the store (after calls in flight) and frees the native handles. */
    override fun close() {
        core.closeStore()
        listOf(registrationsHandle, permitsHandle, auditHandle, outboxHandle, watchlistHandle, syncHandle, core).forEach { it.close() }
    }

    companion object {
        private const val ALERT_BUFFER = 64

        /** Creates a new store in `config.dir` under the key of [keys], and opens it. */
        suspend fun create(config: StoreConfig, keys: KeyProvider, clock: Clock? = null, dispatcher: CoroutineDispatcher = Dispatchers.IO) =
            withContext(dispatcher) { FieldCore(NativeFieldCore.create(config, keys, clock), dispatcher) }

        /** Opens the store in `config.dir`; a key that does not open it throws [LgtException.WrongKey]. */
        suspend fun open(config: StoreConfig, keys: KeyProvider, clock: Clock? = null, dispatcher: CoroutineDispatcher = Dispatchers.IO) =
            withContext(dispatcher) { FieldCore(NativeFieldCore.open(config, keys, clock), dispatcher) }
    }
}

/** Registrations of a [FieldCore]. */
class FieldRegistrations internal constructor(
    private val inner: Registrations,
    private val dispatcher: CoroutineDispatcher,
) {
    /** Validates and stores a registration; invalid input throws [LgtException.Invalid] listing every field. */
    suspend fun register(input: RegistrationInput): RegistrationReceipt =
        withContext(dispatcher) { inner.register(input) }

    /** Records a new identity number for a known person. */
    suspend fun addIdentifier(personId: String, document: DocumentInput): Identifier =
        withContext(dispatcher) { inner.addIdentifier(personId, document) }

    /** Persons holding or having held a document number. Audited. */
    suspend fun findByDocumentNumber(number: String): List<PersonRecord> =
        withContext(dispatcher) { inner.findByDocumentNumber(number) }

    /** Persons with this current or former name. Audited. */
    suspend fun findByName(name: String): List<PersonRecord> =
        withContext(dispatcher) { inner.findByName(name) }

    /**
     * A dwelling by house code (as on the door-plate QR) with every registration at it, current
     * ones first: this phone's and, once synced, its district colleagues'. Audited.
     */
    suspend fun dwelling(houseCode: String): DwellingRecord =
        withContext(dispatcher) { inner.dwelling(houseCode) }

    /** Everything stored about one person, for their own request. Audited. */
    suspend fun exportPerson(personId: String): PersonExport =
        withContext(dispatcher) { inner.exportPerson(personId) }

    /** Parses an identity number as typed or scanned. Pure and fast: no dispatcher switch. */
    fun checkIdNumber(input: String): IdNumberInfo = inner.checkIdNumber(input)
}

/** Residence permits of a [FieldCore]. */
class FieldPermits internal constructor(
    private val inner: Permits,
    private val dispatcher: CoroutineDispatcher,
) {
    /** Accepts an application for a person with an active registration. */
    suspend fun accept(personId: String): PermitRecord = withContext(dispatcher) { inner.accept(personId) }

    /** Applies a life-cycle event; with [baseVersion], a permit changed since is refused. */
    suspend fun apply(permitId: String, event: PermitEvent, baseVersion: UInt? = null): PermitRecord =
        withContext(dispatcher) { inner.apply(permitId, baseVersion, event) }

    /** A permit with its event log. Audited. */
    suspend fun show(permitId: String): PermitRecord = withContext(dispatcher) { inner.show(permitId) }

    /** The signed QR text of an issued or delivered permit; draw it with `renderQr`. Audited. */
    suspend fun qrCode(idOrNumber: String): String = withContext(dispatcher) { inner.qrCode(idOrNumber) }
}

/** The audit trail of a [FieldCore]. */
class FieldAudit internal constructor(
    private val inner: Audit,
    private val dispatcher: CoroutineDispatcher,
) {
    /** Verifies the MAC chain. */
    suspend fun verify(): AuditReport = withContext(dispatcher) { inner.verify() }

    /** The latest records, newest first. */
    suspend fun recent(limit: UInt): List<AuditRecord> = withContext(dispatcher) { inner.recent(limit) }
}

/** The outbox of a [FieldCore]. */
class FieldOutbox internal constructor(
    private val inner: Outbox,
    private val dispatcher: CoroutineDispatcher,
) {
    /** Queued operations, optionally only those in [state]. */
    suspend fun list(state: OperationState? = null): List<Operation> =
        withContext(dispatcher) { inner.list(state) }
}

/** The offline wanted-persons list of a [FieldCore]. */
class FieldWatchlist internal constructor(
    private val inner: Watchlist,
    private val dispatcher: CoroutineDispatcher,
) {
    /**
     * Verifies a list package against the app's pinned root keys and makes it the list in use;
     * a forged, rolled-back or expired one throws [LgtException.Refused] and changes nothing.
     */
    suspend fun importList(listPackage: ByteArray, pinnedRoots: List<ByteArray>): ListInfo =
        withContext(dispatcher) { inner.importList(listPackage, pinnedRoots) }

    /** The list in use: current, out of date ("list out of date"), or missing. */
    suspend fun status(): ListStatus = withContext(dispatcher) { inner.status() }

    /** Checks a scanned or typed subject; alerts also reach [FieldCore.alerts]. */
    suspend fun checkIdentity(subject: WatchlistSubject): CheckOutcome =
        withContext(dispatcher) { inner.checkIdentity(subject) }

    /** Alerts that stand, newest first. Audited. */
    suspend fun alerts(): List<WatchlistAlert> = withContext(dispatcher) { inner.alerts() }

    /** Re-checks every local person after an import (long: one derivation per key). */
    suspend fun recheck(): RecheckReport = withContext(dispatcher) { inner.recheck() }

    /** The score below which name hits raise no alert (default 50). */
    suspend fun setThreshold(threshold: UByte) = withContext(dispatcher) { inner.setThreshold(threshold) }
}

/** A scanner of a [FieldCore] for one camera session. */
class FieldScanner internal constructor(
    private val inner: Scan,
    private val dispatcher: CoroutineDispatcher,
) : AutoCloseable {
    /**
     * Decodes one camera frame's luma plane (CameraX `ImageProxy.planes[0]`: its buffer, width,
     * height and `rowStride`); null when the frame holds no code.
     */
    suspend fun scanFrame(luma: ByteArray, width: Int, height: Int, rowStride: Int, options: ScanOptions): ScanResult? =
        withContext(dispatcher) { inner.scanFrame(luma, width.toUInt(), height.toUInt(), rowStride.toUInt(), options) }

    /** Decodes a JPEG, PNG or WebP file; null when it holds no code. */
    suspend fun scanFile(path: String, options: ScanOptions): ScanResult? =
        withContext(dispatcher) { inner.scanFile(path, options) }

    /**
     * Decodes every code in one frame or photo (an identity document with a QR code and a
     * PDF417 side by side) and interprets each, in the order found; empty when it holds none.
     * Slower than [scanFrame]: for a still photo, not the camera loop.
     */
    suspend fun scanFrameAll(luma: ByteArray, width: Int, height: Int, rowStride: Int, options: ScanOptions): List<ScanResult> =
        withContext(dispatcher) { inner.scanFrameAll(luma, width.toUInt(), height.toUInt(), rowStride.toUInt(), options) }

    /** Decodes every code in a JPEG, PNG or WebP file and interprets each; empty when it holds none. */
    suspend fun scanFileAll(path: String, options: ScanOptions): List<ScanResult> =
        withContext(dispatcher) { inner.scanFileAll(path, options) }

    /** Interprets text another decoder read, with the same permit verification. */
    suspend fun interpret(format: BarcodeFormat, text: String): ScanResult =
        withContext(dispatcher) { inner.interpret(format, text) }

    /** This device's permit-issuer public key, for other devices to trust. */
    suspend fun issuerPublicKey(): ByteArray = withContext(dispatcher) { inner.issuerPublicKey() }

    /** Trusts another device's or office's issuer key. Audited. */
    suspend fun trustIssuer(publicKey: ByteArray, label: String) =
        withContext(dispatcher) { inner.trustIssuer(publicKey, label) }

    /** Revokes an issuer key: its codes read as unknown issuer from now on. Audited. */
    suspend fun revokeIssuer(keyId: String) = withContext(dispatcher) { inner.revokeIssuer(keyId) }

    /** Frees the native scanner. */
    override fun close() = inner.close()
}

/** Sync of a [FieldCore] with the server. */
class FieldSync internal constructor(
    private val inner: SyncEngine,
    private val dispatcher: CoroutineDispatcher,
) {
    /**
     * Enrolls this device under a supervisor's one-time code (the core runs it off-thread).
     * The server is trusted by its TLS key alone: [serverPins] holds the `sha256/...` pin the
     * supervisor hands out with the code (empty only for plain `http://` to loopback). A
     * server presenting another key throws [LgtException.Offline] `sync.untrusted_server`
     * before the code is sent.
     */
    suspend fun enroll(serverUrl: String, serverPins: List<String>, code: String): Enrollment =
        inner.enroll(serverUrl, serverPins, code)

    /**
     * Syncs once. Throws [LgtException.Offline] (retry later), [LgtException.AuthRequired]
     * (ask the user) or [LgtException.Revoked] (wipe the store now).
     */
    suspend fun syncNow(): SyncReport = inner.syncNow()

    /** Queue depth, last success, quarantined operations, bucket cursors. */
    suspend fun status(): SyncStatus = withContext(dispatcher) { inner.status() }

    /** The district's permits as last synced, colleagues' too (read-only; audited). */
    suspend fun districtPermits(): List<Permit> = withContext(dispatcher) { inner.districtPermits() }

    /**
     * Pins the watchlist root public keys (32 bytes each) that lists arriving by sync must be
     * signed under: the current root and, during a rotation, the next.
     */
    suspend fun pinWatchlistRoots(roots: List<ByteArray>) = withContext(dispatcher) { inner.pinWatchlistRoots(roots) }

    /** The next permit number the server reserved for this device, or null (sync to refill). */
    suspend fun nextPermitNumber(): String? = withContext(dispatcher) { inner.nextPermitNumber() }

    /**
     * A watching sync as a cold Flow: collecting starts it, every attempt is emitted, and
     * cancelling the collector cancels the subscription. An error that needs the user
     * (`AuthRequired`, `Revoked`) ends the Flow with that exception.
     */
    fun watch(options: WatchOptions = WatchOptions()): Flow<SyncAttempt> = callbackFlow {
        val subscription = inner.watch(options, object : SyncObserver {
            override fun onAttempt(attempt: SyncAttempt) {
                trySend(attempt)
            }

            override fun onStopped(error: LgtException?) {
                close(error)
            }
        })
        awaitClose {
            subscription.cancel()
            subscription.close()
        }
    }

    /** The network came back (connectivity callback): watching syncs try at once. */
    fun networkAvailable() = inner.networkAvailable()
}
