import Foundation
import UIKit
import LgtCore
import LgtField

/// The process's state: the one open store (nil while locked), the enrollment, the alert line.
@MainActor
final class AppModel: ObservableObject {
    enum Phase { case enroll, locked, open }

    /// The one model of the process (the background task reaches the store through it).
    static let shared = AppModel()

    @Published private(set) var phase: Phase
    @Published var message: String?
    @Published var alertPending = false
    /// The navigation stack above the phase's screen.
    @Published var path: [Route] = []
    @Published var screenCaptured = false
    /// People registered since the store opened (id, name): memory only, gone when locked.
    @Published var visited: [(id: String, name: String)] = []
    private(set) var core: LgtField.FieldCore?

    private let storeDir: URL
    private var foreground: [Task<Void, Never>] = []

    private var keys: KeychainKeyProvider { KeychainKeyProvider(account: "store") }

    private var actor: String {
        get { UserDefaults.standard.string(forKey: "actor") ?? "unenrolled" }
        set { UserDefaults.standard.set(newValue, forKey: "actor") }
    }

    private init() {
        let support = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        storeDir = support.appendingPathComponent("store", isDirectory: true)
        let hasStore = FileManager.default.fileExists(atPath: storeDir.path)
        // Keychain items survive an uninstall: a key without its store is a previous install's.
        if !hasStore { try? keys.destroyKey() }
        phase = hasStore ? .locked : .enroll
        NotificationCenter.default.addObserver(forName: UIScreen.capturedDidChangeNotification, object: nil, queue: .main) { [weak self] _ in
            Task { @MainActor in self?.screenCaptured = UIScreen.main.isCaptured }
        }
    }

    /// Runs [work]; a core error becomes the message line (Revoked wipes the phone at once).
    func run(_ work: @escaping @MainActor () async throws -> Void) {
        Task {
            do {
                message = nil
                try await work()
            } catch let error as LgtError {
                if case .Revoked = error { await wipe() }
                message = error.userMessage
            } catch {
                message = L("error_unknown")
            }
        }
    }

    @discardableResult
    func unlock() async throws -> LgtField.FieldCore {
        if let core { return core }
        try FileManager.default.createDirectory(at: storeDir, withIntermediateDirectories: true,
                                                attributes: [.protectionKey: FileProtectionType.complete])
        let config = StoreConfig(dir: storeDir.path, actor: actor, durability: .full)
        let exists = FileManager.default.fileExists(atPath: storeDir.appendingPathComponent("lgt.db").path)
        let opened = exists ? try await LgtField.FieldCore.open(config, keys: keys) : try await LgtField.FieldCore.create(config, keys: keys)
        core = opened
        let enrolled = try await opened.sync.status().enrollment != nil
        phase = enrolled ? .open : .enroll
        if enrolled { startForeground() }
        return opened
    }

    func enroll(_ qr: EnrollmentQR) async throws {
        let store = try await unlock()
        let enrollment = try await store.sync.enroll(serverUrl: qr.server, serverPins: qr.pins, code: qr.code)
        if !qr.watchlistRoots.isEmpty { try await store.sync.pinWatchlistRoots(qr.watchlistRoots) }
        actor = enrollment.coordinator
        lock()
        try await unlock()
    }

    func lock() {
        stopForeground()
        core?.close()
        core = nil
        visited = []
        path = []
        phase = .locked
    }

    func wipe() async {
        stopForeground()
        BackgroundSync.cancel()
        if let core {
            try? await core.wipe()
            core.close()
        } else {
            try? wipeStore(dir: storeDir.path, keys: keys)
        }
        core = nil
        try? FileManager.default.removeItem(at: storeDir)
        UserDefaults.standard.removeObject(forKey: "actor")
        visited = []
        path = []
        phase = .enroll
        message = L("wiped")
    }

    /// While in front: live alerts, and the core's watching sync, each attempt handing its next
    /// time to BGTaskScheduler so the OS runs the sync when the app is gone.
    func startForeground() {
        guard let core, foreground.isEmpty, phase == .open else { return }
        foreground.append(Task { [weak self] in
            for await _ in core.alerts { self?.alertPending = true }
        })
        foreground.append(Task { [weak self] in
            do {
                for try await attempt in core.sync.watch(WatchOptions(intervalMs: 300_000, backoffBaseMs: 2_000, backoffCapMs: 600_000)) {
                    BackgroundSync.schedule(afterMs: attempt.nextInMs)
                }
            } catch let error as LgtError {
                if case .Revoked = error { await self?.wipe() }
                self?.message = error.userMessage
            } catch {}
        })
    }

    func stopForeground() {
        foreground.forEach { $0.cancel() }
        foreground = []
    }
}
