import BackgroundTasks
import Foundation
import LgtCore

/// Background sync through BGTaskScheduler: a processing task that needs the network, no
/// earlier than the core's retry timer says (the OS may run it later, never sooner). The task
/// syncs the open store once; a locked store waits for the app.
enum BackgroundSync {
    static let identifier = "cn.lgt.field.sync"

    /// Registered once at launch (Info.plist: BGTaskSchedulerPermittedIdentifiers).
    static func register() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            run(task as! BGProcessingTask)
        }
    }

    static func schedule(afterMs: UInt64) {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        request.requiresExternalPower = false
        request.earliestBeginDate = Date(timeIntervalSinceNow: TimeInterval(afterMs) / 1000)
        // Submitting again replaces the pending request: the latest hint wins.
        try? BGTaskScheduler.shared.submit(request)
    }

    static func cancel() {
        BGTaskScheduler.shared.cancel(taskRequestWithIdentifier: identifier)
    }

    private static func run(_ task: BGProcessingTask) {
        let work = Task { @MainActor in
            guard let core = AppModel.shared.core else {
                task.setTaskCompleted(success: false)
                return
            }
            do {
                _ = try await core.sync.syncNow()
                schedule(afterMs: 300_000)
                task.setTaskCompleted(success: true)
            } catch let LgtError.Offline(_, _, _, retryAfterMs) {
                // The server said when, or the backoff's first step.
                schedule(afterMs: retryAfterMs ?? 30_000)
                task.setTaskCompleted(success: false)
            } catch {
                task.setTaskCompleted(success: false)
            }
        }
        // The OS took the time away: the core's sync stops at its next wait, nothing is lost.
        task.expirationHandler = { work.cancel() }
    }
}
