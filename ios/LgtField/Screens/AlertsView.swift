import LgtCore
import SwiftUI

/// The standing watchlist alerts: a possible match to verify, what to do, and that the report
/// goes by itself. Nothing loud: no red, no sound, no haptics.
struct AlertsView: View {
    @EnvironmentObject var model: AppModel
    @State private var alerts: [WatchlistAlert] = []
    @State private var reported = false

    var body: some View {
        List {
            if alerts.isEmpty { Text(L("alerts_none")).foregroundColor(.secondary) }
            ForEach(alerts, id: \.alertId) { alert in
                Section {
                    Text(L("alert_wording")).font(.headline)
                    Text(L(alert.confidence == .exact ? "alert_exact" : "alert_low", Int(alert.score))).font(.footnote)
                    Text(L("alert_instructions", alert.instructions))
                    if alert.listOutOfDate { Text(L("list_out_of_date")).font(.footnote) }
                    if let id = alert.personId { NavigationLink(L("alert_open_person"), value: Route.person(id)) }
                }
            }
            if !alerts.isEmpty { Text(L(reported ? "alert_reported" : "alert_report_queued")).font(.footnote) }
        }
        .privacySensitive()
        .navigationTitle(L("alerts_title"))
        .task {
            model.alertPending = false
            model.run {
                guard let core = model.core else { return }
                alerts = try await core.watchlist.alerts()
                let reports = try await core.outbox.list().filter { $0.kind == "watchlist.hit" }
                reported = !reports.isEmpty && reports.allSatisfy { $0.state == .acknowledged }
            }
        }
    }
}

/// Sync status: enrollment, queue, last success and error, what is stuck and why, sync now.
struct SyncView: View {
    @EnvironmentObject var model: AppModel
    @State private var status: SyncStatus?

    var body: some View {
        List {
            if let status {
                if let enrollment = status.enrollment {
                    Text(L("sync_enrolled", enrollment.coordinator, enrollment.district))
                    Text(enrollment.serverUrl).font(.footnote)
                }
                Text(L("sync_queue", Int(status.queueDepth)))
                if let oldest = status.oldestPending { Text(L("sync_oldest", String(oldest.prefix(16)))).font(.footnote) }
                Text(L("sync_last", status.lastSuccess.map { String($0.prefix(19)) } ?? L("sync_never")))
                if let error = status.lastError { Text(L("sync_last_error", error)).font(.footnote) }
                Text(L("sync_numbers_left", Int(status.permitNumbersLeft))).font(.footnote)
                Section(L("sync_stuck")) {
                    if status.quarantined.isEmpty { Text(L("sync_stuck_none")).foregroundColor(.secondary) }
                    ForEach(status.quarantined, id: \.opId) { Text(L("sync_stuck_row", $0.kind, $0.reason)) }
                }
            }
            Button(L("sync_now")) {
                model.run {
                    guard let core = model.core else { return }
                    model.message = L("sync_running")
                    let report = try await core.sync.syncNow()
                    model.message = L("sync_done", Int(report.acknowledged), Int(report.pulled))
                    status = try await core.sync.status()
                }
            }
        }
        .navigationTitle(L("sync_title"))
        .task { model.run { status = try await model.core?.sync.status() } }
    }
}
