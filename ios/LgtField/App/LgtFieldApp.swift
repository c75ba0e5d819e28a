// The iOS app. NEVER COMPILED: the project's machines have no Swift compiler (see ios/README.md).
import SwiftUI
import BackgroundTasks

@main
struct LgtFieldApp: App {
    @StateObject private var model = AppModel.shared
    @Environment(\.scenePhase) private var phase

    init() {
        BackgroundSync.register()
    }

    var body: some Scene {
        WindowGroup {
            RootView()
                .environmentObject(model)
                // iOS has no FLAG_SECURE: the app switcher's snapshot and a screen recording
                // see a plain cover instead of personal data.
                .overlay { if phase != .active || model.screenCaptured { PrivacyCover() } }
        }
        .onChange(of: phase) { newPhase in
            switch newPhase {
            case .active: model.startForeground()
            case .background: model.stopForeground()
            default: break
            }
        }
    }
}

/// The cover shown over everything while the app is not in front or the screen is recorded.
struct PrivacyCover: View {
    var body: some View {
        ZStack {
            Color(.systemBackground)
            Text(L("app_name")).font(.title)
        }
        .ignoresSafeArea()
    }
}

/// Enrollment, the locked store, or the day's work, with the discreet alert line on top.
struct RootView: View {
    @EnvironmentObject var model: AppModel

    var body: some View {
        NavigationStack(path: $model.path) {
            VStack(spacing: 0) {
                if model.alertPending {
                    NavigationLink(value: Route.alerts) {
                        Text(L("alert_line")).frame(maxWidth: .infinity, alignment: .leading).padding(8)
                    }
                    .background(Color(white: 0.93))
                    .foregroundColor(.primary)
                }
                if let message = model.message {
                    Text(message).font(.footnote).foregroundColor(.secondary).padding(.horizontal)
                }
                switch model.phase {
                case .enroll: EnrollView()
                case .locked: LockedView()
                case .open: TodayView()
                }
            }
            .navigationDestination(for: Route.self) { route in route.view }
        }
    }
}

/// Every screen reachable by navigation.
enum Route: Hashable {
    case register(houseCode: String?)
    case person(String)
    case dwelling(String)
    case permit(String)
    case alerts
    case sync
    case lock

    @ViewBuilder var view: some View {
        switch self {
        case .register(let houseCode): RegisterView(houseCode: houseCode)
        case .person(let id): PersonView(personId: id)
        case .dwelling(let code): DwellingView(houseCode: code)
        case .permit(let id): PermitView(permitId: id)
        case .alerts: AlertsView()
        case .sync: SyncView()
        case .lock: LockView()
        }
    }
}
