// The field core for Swift callers: async functions that run the blocking core calls
// (SQLite with an fsync per commit) off the caller's actor, throwing LgtError as the
// generated code does. Not compiled on the project's Linux machines: see README.md.
import Foundation
import LgtCore

/// Runs blocking core work on a global queue and resumes the caller when it is done.
func offMain<T>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// One open store. Close it when done; its parts then throw `LgtError.Closed`. Wraps the
/// generated `LgtCore.FieldCore` (same name, module LgtCore) with async functions.
public final class FieldCore: @unchecked Sendable {
    private let core: LgtCore.FieldCore
    /// Registrations and identity-number checks.
    public let registrations: FieldRegistrations
    /// Residence permits.
    public let permits: FieldPermits
    /// The audit trail.
    public let audit: FieldAudit
    /// Operations awaiting sync.
    public let outbox: FieldOutbox
    /// The offline wanted-persons list.
    public let watchlist: FieldWatchlist
    /// Sync with the server.
    public let sync: FieldSync
    /// Watchlist alerts as they are raised by any call (register, find, check, re-check), once
    /// committed. One consumer; live only: alerts raised before it iterates are in the call's
    /// result and in `watchlist.alerts()`. A consumer more than 64 behind loses the oldest.
    public let alerts: AsyncStream<WatchlistAlert>

    private init(core: LgtCore.FieldCore) throws {
        self.core = core
        registrations = FieldRegistrations(inner: core.registrations())
        permits = FieldPermits(inner: core.permits())
        audit = FieldAudit(inner: core.audit())
        outbox = FieldOutbox(inner: core.outbox())
        sync = FieldSync(inner: core.sync())
        let watchlistHandle = core.watchlist()
        watchlist = FieldWatchlist(inner: watchlistHandle)
        let (stream, continuation) = AsyncStream.makeStream(of: WatchlistAlert.self, bufferingPolicy: .bufferingNewest(64))
        alerts = stream
        // The core holds one listener per store: this layer owns it and hands alerts to the stream.
        try watchlistHandle.setAlertListener(listener: StreamAlerts(continuation))
    }

    /// Creates a new store in `config.dir` under the key of `keys`, and opens it.
    public static func create(_ config: StoreConfig, keys: KeyProvider, clock: Clock? = nil) async throws -> FieldCore {
        try await offMain { try FieldCore(core: try LgtCore.FieldCore.create(config: config, keys: keys, clock: clock)) }
    }

    /// Opens the store in `config.dir`; a key that does not open it throws `LgtError.WrongKey`.
    public static func open(_ config: StoreConfig, keys: KeyProvider, clock: Clock? = nil) async throws -> FieldCore {
        try await offMain { try FieldCore(core: try LgtCore.FieldCore.open(config: config, keys: keys, clock: clock)) }
    }

    /// A scanner for one camera session (it keeps its decoders between frames).
    public func scanner() -> FieldScanner {
        FieldScanner(inner: core.scan())
    }

    /// SQLite's integrity check: "ok" or its complaints.
    public func integrityCheck() async throws -> String {
        try await offMain { [core] in try core.integrityCheck() }
    }

    /// Destroys the key through the `KeyProvider`, then the files. The store is closed after.
    public func wipe() async throws {
        try await offMain { [core] in try core.wipe() }
    }

    /// Closes the store after the calls in flight.
    public func close() {
        core.closeStore()
    }
}

/// Registrations of a `FieldCore`.
public final class FieldRegistrations: @unchecked Sendable {
    private let inner: Registrations
    init(inner: Registrations) { self.inner = inner }

    /// Validates and stores a registration; invalid input throws `LgtError.Invalid` with every field.
    public func register(_ input: RegistrationInput) async throws -> RegistrationReceipt {
        try await offMain { [inner] in try inner.register(input: input) }
    }

    /// Records a new identity number for a known person.
    public func addIdentifier(personId: String, document: DocumentInput) async throws -> Identifier {
        try await offMain { [inner] in try inner.addIdentifier(personId: personId, document: document) }
    }

    /// Persons holding or having held a document number. Audited.
    public func find(documentNumber: String) async throws -> [PersonRecord] {
        try await offMain { [inner] in try inner.findByDocumentNumber(number: documentNumber) }
    }

    /// A dwelling by house code (as on the door-plate QR) with every registration at it,
    /// current ones first: this phone's and, once synced, its district colleagues'. Audited.
    public func dwelling(houseCode: String) async throws -> DwellingRecord {
        try await offMain { [inner] in try inner.dwelling(houseCode: houseCode) }
    }

    /// Persons with this current or former name. Audited.
    public func find(name: String) async throws -> [PersonRecord] {
        try await offMain { [inner] in try inner.findByName(name: name) }
    }

    /// Everything stored about one person, for their own request. Audited.
    public func export(personId: String) async throws -> PersonExport {
        try await offMain { [inner] in try inner.exportPerson(personId: personId) }
    }

    /// Parses an identity number as typed or scanned (pure and fast: runs on the caller).
    public func checkIdNumber(_ input: String) throws -> IdNumberInfo {
        try inner.checkIdNumber(input: input)
    }
}

/// Residence permits of a `FieldCore`.
public final class FieldPermits: @unchecked Sendable {
    private let inner: Permits
    init(inner: Permits) { self.inner = inner }

    /// Accepts an application for a person with an active registration.
    public func accept(personId: String) async throws -> PermitRecord {
        try await offMain { [inner] in try inner.accept(personId: personId) }
    }

    /// Applies a life-cycle event; with `baseVersion`, a permit changed since is refused.
    public func apply(_ event: PermitEvent, to permitId: String, baseVersion: UInt32? = nil) async throws -> PermitRecord {
        try await offMain { [inner] in try inner.apply(permitId: permitId, baseVersion: baseVersion, event: event) }
    }

    /// A permit with its event log. Audited.
    public func show(permitId: String) async throws -> PermitRecord {
        try await offMain { [inner] in try inner.show(permitId: permitId) }
    }

    /// The signed QR text of an issued or delivered permit; draw it with `renderQr`. Audited.
    public func qrCode(_ idOrNumber: String) async throws -> String {
        try await offMain { [inner] in try inner.qrCode(idOrNumber: idOrNumber) }
    }
}

/// The audit trail of a `FieldCore`.
public final class FieldAudit: @unchecked Sendable {
    private let inner: Audit
    init(inner: Audit) { self.inner = inner }

    /// Verifies the MAC chain.
    public func verify() async throws -> AuditReport {
        try await offMain { [inner] in try inner.verify() }
    }

    /// The latest records, newest first.
    public func recent(limit: UInt32) async throws -> [AuditRecord] {
        try await offMain { [inner] in try inner.recent(limit: limit) }
    }
}

/// The outbox of a `FieldCore`.
public final class FieldOutbox: @unchecked Sendable {
    private let inner: Outbox
    init(inner: Outbox) { self.inner = inner }

    /// Queued operations, optionally only those in `state`.
    public func list(state: OperationState? = nil) async throws -> [Operation] {
        try await offMain { [inner] in try inner.list(state: state) }
    }
}

/// Passes alerts from the core's listener to the `FieldCore.alerts` stream.
final class StreamAlerts: AlertListener {
    private let continuation: AsyncStream<WatchlistAlert>.Continuation
    init(_ continuation: AsyncStream<WatchlistAlert>.Continuation) { self.continuation = continuation }

    func onAlert(alert: WatchlistAlert) throws {
        continuation.yield(alert)
    }
}

/// The offline wanted-persons list of a `FieldCore`.
public final class FieldWatchlist: @unchecked Sendable {
    private let inner: Watchlist
    init(inner: Watchlist) { self.inner = inner }

    /// Verifies a list package against the app's pinned root keys and makes it the list in use;
    /// a forged, rolled-back or expired one throws `LgtError.Refused` and changes nothing.
    public func importList(_ listPackage: Data, pinnedRoots: [Data]) async throws -> ListInfo {
        try await offMain { [inner] in try inner.importList(listPackage: listPackage, pinnedRoots: pinnedRoots) }
    }

    /// The list in use: current, out of date ("list out of date"), or missing.
    public func status() async throws -> ListStatus {
        try await offMain { [inner] in try inner.status() }
    }

    /// Checks a scanned or typed subject; alerts also reach `FieldCore.alerts`.
    public func checkIdentity(_ subject: WatchlistSubject) async throws -> CheckOutcome {
        try await offMain { [inner] in try inner.checkIdentity(subject: subject) }
    }

    /// Alerts that stand, newest first. Audited.
    public func alerts() async throws -> [WatchlistAlert] {
        try await offMain { [inner] in try inner.alerts() }
    }

    /// Re-checks every local person after an import (long: one derivation per key).
    public func recheck() async throws -> RecheckReport {
        try await offMain { [inner] in try inner.recheck() }
    }

    /// The score below which name hits raise no alert (default 50).
    public func setThreshold(_ threshold: UInt8) async throws {
        try await offMain { [inner] in try inner.setThreshold(threshold: threshold) }
    }
}

/// A scanner of a `FieldCore` for one camera session.
public final class FieldScanner: @unchecked Sendable {
    private let inner: Scan
    init(inner: Scan) { self.inner = inner }

    /// Decodes one camera frame's luma plane (`CVPixelBuffer` plane 0 with its bytes-per-row);
    /// nil when the frame holds no code.
    public func scanFrame(_ luma: Data, width: UInt32, height: UInt32, rowStride: UInt32, options: ScanOptions) async throws -> ScanResult? {
        try await offMain { [inner] in
            try inner.scanFrame(luma: luma, width: width, height: height, rowStride: rowStride, options: options)
        }
    }

    /// Decodes a JPEG, PNG or WebP file; nil when it holds no code.
    public func scanFile(_ path: String, options: ScanOptions) async throws -> ScanResult? {
        try await offMain { [inner] in try inner.scanFile(path: path, options: options) }
    }

    /// Decodes every code in one frame or photo (an identity document with a QR code and a
    /// PDF417 side by side) and interprets each, in the order found; empty when it holds none.
    /// Slower than `scanFrame`: for a still photo, not the camera loop.
    public func scanFrameAll(_ luma: Data, width: UInt32, height: UInt32, rowStride: UInt32, options: ScanOptions) async throws -> [ScanResult] {
        try await offMain { [inner] in
            try inner.scanFrameAll(luma: luma, width: width, height: height, rowStride: rowStride, options: options)
        }
    }

    /// Decodes every code in a JPEG, PNG or WebP file and interprets each; empty when it holds none.
    public func scanFileAll(_ path: String, options: ScanOptions) async throws -> [ScanResult] {
        try await offMain { [inner] in try inner.scanFileAll(path: path, options: options) }
    }

    /// Interprets text another decoder read (e.g. VisionKit), with the same permit verification.
    public func interpret(_ text: String, format: BarcodeFormat) async throws -> ScanResult {
        try await offMain { [inner] in try inner.interpret(format: format, text: text) }
    }

    /// This device's permit-issuer public key, for other devices to trust.
    public func issuerPublicKey() async throws -> Data {
        try await offMain { [inner] in try inner.issuerPublicKey() }
    }

    /// Trusts another device's or office's issuer key. Audited.
    public func trustIssuer(_ publicKey: Data, label: String) async throws {
        try await offMain { [inner] in try inner.trustIssuer(publicKey: publicKey, label: label) }
    }

    /// Revokes an issuer key: its codes read as unknown issuer from now on. Audited.
    public func revokeIssuer(keyId: String) async throws {
        try await offMain { [inner] in try inner.revokeIssuer(keyId: keyId) }
    }
}

/// Sync of a `FieldCore` with the server.
public final class FieldSync: @unchecked Sendable {
    private let inner: SyncEngine
    init(inner: SyncEngine) { self.inner = inner }

    /// Enrolls this device under a supervisor's one-time code (the core runs it off-thread).
    /// The server is trusted by its TLS key alone: `serverPins` holds the `sha256/...` pin the
    /// supervisor hands out with the code (empty only for plain `http://` to loopback). A
    /// server presenting another key throws `LgtError.Offline` `sync.untrusted_server` before
    /// the code is sent.
    public func enroll(serverUrl: String, serverPins: [String], code: String) async throws -> Enrollment {
        try await inner.enroll(serverUrl: serverUrl, serverPins: serverPins, code: code)
    }

    /// Syncs once. Throws `LgtError.Offline` (retry later), `.AuthRequired` (ask the user) or
    /// `.Revoked` (wipe the store now).
    public func syncNow() async throws -> SyncReport {
        try await inner.syncNow()
    }

    /// Queue depth, last success, quarantined operations, bucket cursors.
    public func status() async throws -> SyncStatus {
        try await offMain { [inner] in try inner.status() }
    }

    /// The district's permits as last synced, colleagues' too (read-only; audited).
    public func districtPermits() async throws -> [Permit] {
        try await offMain { [inner] in try inner.districtPermits() }
    }

    /// The next permit number the server reserved for this device, or nil (sync to refill).
    public func nextPermitNumber() async throws -> String? {
        try await offMain { [inner] in try inner.nextPermitNumber() }
    }

    /// Pins the watchlist root public keys (32 bytes each) that lists arriving by sync must be
    /// signed under: the current root and, during a rotation, the next.
    public func pinWatchlistRoots(_ roots: [Data]) async throws {
        try await offMain { [inner] in try inner.pinWatchlistRoots(pinnedRoots: roots) }
    }

    /// A watching sync as a stream: iterating starts it, every attempt is yielded, ending the
    /// iteration (or its task) cancels the subscription; an error that needs the user
    /// (`AuthRequired`, `Revoked`) finishes the stream by throwing it.
    public func watch(_ options: WatchOptions) -> AsyncThrowingStream<SyncAttempt, Error> {
        AsyncThrowingStream { continuation in
            do {
                let subscription = try inner.watch(options: options, observer: StreamAttempts(continuation))
                continuation.onTermination = { _ in subscription.cancel() }
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }

    /// The network came back (`NWPathMonitor`): watching syncs try at once.
    public func networkAvailable() {
        inner.networkAvailable()
    }
}

/// Passes a watching sync's attempts to an `AsyncThrowingStream`.
final class StreamAttempts: SyncObserver {
    private let continuation: AsyncThrowingStream<SyncAttempt, Error>.Continuation
    init(_ continuation: AsyncThrowingStream<SyncAttempt, Error>.Continuation) { self.continuation = continuation }

    func onAttempt(attempt: SyncAttempt) throws {
        continuation.yield(attempt)
    }

    func onStopped(error: LgtError?) throws {
        continuation.finish(throwing: error)
    }
}
