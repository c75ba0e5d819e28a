import LgtCore
import SwiftUI

/// The day's list: what waits for sync, today's registrations, endorsements due within a
/// month, and the way to everything else.
struct TodayView: View {
    @EnvironmentObject var model: AppModel
    @State private var queue: UInt64 = 0
    @State private var listLine = ""
    @State private var due: [Permit] = []
    @State private var query = ""
    @State private var scanning = false

    var body: some View {
        List {
            Section {
                Text(L("today_queue", Int(queue)))
                Text(listLine).font(.footnote).foregroundColor(.secondary)
                NavigationLink(L("today_register"), value: Route.register(houseCode: nil))
                Button(L("today_scan")) { scanning = true }
                HStack {
                    TextField(L("today_search_hint"), text: $query)
                    Button(L("today_search")) { find(query) }
                }
            }
            Section(L("today_visited")) {
                if model.visited.isEmpty { Text(L("today_none")).foregroundColor(.secondary) }
                ForEach(model.visited, id: \.id) { person in NavigationLink(person.name, value: Route.person(person.id)) }
            }
            Section(L("today_due")) {
                if due.isEmpty { Text(L("today_none")).foregroundColor(.secondary) }
                ForEach(due, id: \.id) { permit in
                    NavigationLink(L("today_due_row", permit.number ?? "", permit.endorsementDue ?? ""), value: Route.person(permit.personId))
                }
            }
            Section {
                NavigationLink(L("today_sync"), value: Route.sync)
                NavigationLink(L("today_lock"), value: Route.lock)
            }
        }
        .privacySensitive()
        .navigationTitle(L("today_title"))
        .navigationDestination(isPresented: $scanning) {
            ScanView(title: L("scan_title"), hint: L("scan_any_hint"), onResult: onScanned)
        }
        .task { await load() }
        .refreshable { await load() }
    }

    private func load() async {
        guard let core = model.core else { return }
        model.run {
            queue = try await core.sync.status().queueDepth
            let list = try await core.watchlist.status()
            switch list.state {
            case .current: listLine = L("list_current", Int(list.info?.version ?? 0))
            case .outOfDate: listLine = L("list_out_of_date")
            case .missing: listLine = L("list_missing")
            }
            let horizon = ISO8601DateFormatter.string(from: Date().addingTimeInterval(31 * 86_400), timeZone: .current, formatOptions: [.withFullDate])
            due = try await core.sync.districtPermits()
                .filter { ($0.endorsementDue ?? "9999") <= horizon }
                .sorted { ($0.endorsementDue ?? "") < ($1.endorsementDue ?? "") }
        }
    }

    private func find(_ text: String) {
        guard let core = model.core, !text.isEmpty else { return }
        model.run {
            let found = text.contains(where: \.isNumber)
                ? try await core.registrations.find(documentNumber: text)
                : try await core.registrations.find(name: text)
            if let first = found.first { model.path.append(.person(first.personId)) } else { model.message = L("today_not_found") }
        }
    }

    private func onScanned(_ result: ScanResult) {
        switch result.payload {
        case .permit: model.message = result.permit.map { verdictLabel($0.verdict) } ?? L("verdict_none")
        case .idNumber(let info): find(info.number)
        case .doorPlate(let houseCode, _): model.path.append(.dwelling(houseCode))
        default: model.message = L("scan_unknown")
        }
    }
}
